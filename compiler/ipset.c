/* ipset.c - address and port sets as sorted, disjoint, non-adjacent closed
 * ranges: CIDR parsing, set algebra (union, subtract, complement in one
 * linear merge each) and O(log n) membership for the engine. */
#include "hostgate/ipset.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <string.h>

/* Arithmetic happens on 128-bit integers; struct hg_ip stays bytes in
 * network order so it can be hashed, compared and printed as is. */
typedef unsigned __int128 u128;
#define U128_MAX (~(u128)0)

static u128 ip_to_u(const struct hg_ip *ip)
{
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | ip->b[i];
	return v;
}

static struct hg_ip u_to_ip(u128 v)
{
	struct hg_ip ip;
	for (int i = 15; i >= 0; i--) {
		ip.b[i] = (uint8_t)v;
		v >>= 8;
	}
	return ip;
}

void hg_ip_from_v4(struct hg_ip *ip, const uint8_t v4[4])
{
	memset(ip->b, 0, 10);
	ip->b[10] = ip->b[11] = 0xff;
	memcpy(ip->b + 12, v4, 4);
}

int hg_ip_cmp(const struct hg_ip *a, const struct hg_ip *b)
{
	return memcmp(a->b, b->b, 16);
}

/* Strict decimal prefix length: digits only, no sign, no leading zero. */
static bool parse_prefix(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

bool hg_ip_parse_cidr(const char *s, struct hg_ip *lo, struct hg_ip *hi)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	struct hg_ip ip;
	unsigned bits; /* prefix length in the 128-bit space */
	if (memchr(buf, ':', alen)) {
		if (inet_pton(AF_INET6, buf, ip.b) != 1)
			return false;
		bits = 128;
		if (slash && !parse_prefix(slash + 1, 128, &bits))
			return false;
	} else {
		uint8_t v4[4];
		if (inet_pton(AF_INET, buf, v4) != 1)
			return false;
		hg_ip_from_v4(&ip, v4);
		unsigned p = 32;
		if (slash && !parse_prefix(slash + 1, 32, &p))
			return false;
		bits = 96 + p;
	}
	u128 v = ip_to_u(&ip);
	u128 host = bits == 128 ? 0 : (bits == 0 ? U128_MAX : (U128_MAX >> bits));
	*lo = u_to_ip(v & ~host);
	*hi = u_to_ip((v & ~host) | host);
	return true;
}

void hg_ip_format(const struct hg_ip *ip, char *buf, size_t len)
{
	if (!len)
		return;
	if (hg_ip_is_v4(ip)) {
		if (!inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)len))
			buf[0] = '\0';
	} else if (!inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len)) {
		buf[0] = '\0';
	}
}

/* ------------------------------------------------------------ range algebra */

/* Address sets and port sets are the same thing over different spaces:
 * sorted, disjoint, non-adjacent closed ranges of unsigned integers from 0
 * to a maximum. The algebra below is written once over 128-bit values; a
 * range kind says how one range of each set type is read and written. */
struct rkind {
	size_t size; /* bytes of one range */
	u128 max;    /* the top of the space */
	void (*get)(const void *range, u128 *lo, u128 *hi);
	void (*put)(void *range, u128 lo, u128 hi);
};

/* A set of either type seen through its kind: the ranges and their count. */
struct rset {
	const struct rkind *k;
	void **r;
	size_t *n;
};

static inline void *range_at(const struct rkind *k, const void *r, size_t i)
{
	return (unsigned char *)r + i * k->size;
}

static inline void range_get(const struct rkind *k, const void *r, size_t i, u128 *lo, u128 *hi)
{
	k->get(range_at(k, r, i), lo, hi);
}

struct rbuild {
	const struct rkind *k;
	void *r;
	size_t n, cap;
};

/* Appends [lo, hi], coalescing with the last range when they overlap or
 * touch. Inputs arrive sorted by lo, which is what keeps merges linear. */
static void rb_push(struct rbuild *b, u128 lo, u128 hi)
{
	const struct rkind *k = b->k;
	if (b->n) {
		u128 llo, last;
		range_get(k, b->r, b->n - 1, &llo, &last);
		if (last == k->max || lo <= last + 1) {
			if (hi > last)
				k->put(range_at(k, b->r, b->n - 1), llo, hi);
			return;
		}
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->r = xreallocarray(b->r, b->cap, k->size);
	}
	k->put(range_at(k, b->r, b->n++), lo, hi);
}

static void rb_finish(struct rbuild *b, struct rset s)
{
	free(*s.r);
	*s.r = b->r;
	*s.n = b->n;
}

static void ranges_free(struct rset s)
{
	free(*s.r);
	*s.r = NULL;
	*s.n = 0;
}

static void ranges_copy(struct rset dst, const void *src, size_t n)
{
	void *r = NULL;
	if (n) {
		r = xreallocarray(NULL, n, dst.k->size);
		memcpy(r, src, n * dst.k->size);
	}
	free(*dst.r);
	*dst.r = r;
	*dst.n = n;
}

static void ranges_all(struct rset s)
{
	*s.r = xreallocarray(*s.r, 1, s.k->size);
	s.k->put(*s.r, 0, s.k->max);
	*s.n = 1;
}

static bool ranges_is_all(const struct rkind *k, const void *r, size_t n)
{
	u128 lo, hi;
	if (n != 1)
		return false;
	range_get(k, r, 0, &lo, &hi);
	return lo == 0 && hi == k->max;
}

static void ranges_union(struct rset dst, const void *src, size_t sn)
{
	const struct rkind *k = dst.k;
	if (sn == 0)
		return;
	struct rbuild b = {.k = k};
	size_t i = 0, j = 0, dn = *dst.n;
	while (i < dn || j < sn) {
		u128 dlo = 0, dhi = 0, slo = 0, shi = 0;
		if (i < dn)
			range_get(k, *dst.r, i, &dlo, &dhi);
		if (j < sn)
			range_get(k, src, j, &slo, &shi);
		if (j == sn || (i < dn && dlo <= slo)) {
			rb_push(&b, dlo, dhi);
			i++;
		} else {
			rb_push(&b, slo, shi);
			j++;
		}
	}
	rb_finish(&b, dst);
}

static void ranges_subtract(struct rset dst, const void *src, size_t sn)
{
	const struct rkind *k = dst.k;
	size_t dn = *dst.n;
	if (dn == 0 || sn == 0)
		return;
	struct rbuild b = {.k = k};
	size_t j = 0;
	for (size_t i = 0; i < dn; i++) {
		u128 lo, hi, slo, shi;
		range_get(k, *dst.r, i, &lo, &hi);
		/* Skip holes entirely below this range. */
		while (j < sn && (range_get(k, src, j, &slo, &shi), shi < lo))
			j++;
		size_t m = j;
		bool empty = false;
		while (m < sn && (range_get(k, src, m, &slo, &shi), slo <= hi)) {
			if (slo > lo)
				rb_push(&b, lo, slo - 1);
			if (shi >= hi) {
				empty = true;
				break;
			}
			lo = shi + 1;
			m++;
		}
		if (!empty)
			rb_push(&b, lo, hi);
		/* A hole reaching past hi may cut the next range too: resume at it. */
		j = m;
	}
	rb_finish(&b, dst);
}

static void ranges_complement(struct rset s)
{
	const struct rkind *k = s.k;
	struct rbuild b = {.k = k};
	u128 next = 0;
	bool done = false;
	for (size_t i = 0; i < *s.n; i++) {
		u128 lo, hi;
		range_get(k, *s.r, i, &lo, &hi);
		if (lo > next)
			rb_push(&b, next, lo - 1);
		if (hi == k->max) {
			done = true;
			break;
		}
		next = hi + 1;
	}
	if (!done)
		rb_push(&b, next, k->max);
	rb_finish(&b, s);
}

/* ------------------------------------------------------------ address sets */

static void iprange_get(const void *range, u128 *lo, u128 *hi)
{
	const struct hg_iprange *r = range;
	*lo = ip_to_u(&r->lo);
	*hi = ip_to_u(&r->hi);
}

static void iprange_put(void *range, u128 lo, u128 hi)
{
	struct hg_iprange *r = range;
	r->lo = u_to_ip(lo);
	r->hi = u_to_ip(hi);
}

static const struct rkind ip_kind = {sizeof(struct hg_iprange), U128_MAX, iprange_get, iprange_put};

static struct rset ipset_view(struct hg_ipset *s)
{
	return (struct rset){&ip_kind, (void **)&s->r, &s->n};
}

void hg_ipset_free(struct hg_ipset *s)
{
	ranges_free(ipset_view(s));
}

void hg_ipset_copy(struct hg_ipset *dst, const struct hg_ipset *src)
{
	ranges_copy(ipset_view(dst), src->r, src->n);
}

/* Room for one more range. The struct has no capacity field, so ask the
 * allocator what the block really holds and grow geometrically: appending
 * n ranges one by one stays O(n) overall. */
static void ipset_reserve_one(struct hg_ipset *s)
{
	size_t have = s->r ? malloc_usable_size(s->r) / sizeof(*s->r) : 0;
	if (s->n + 1 <= have)
		return;
	size_t want = s->n < 4 ? 4 : s->n * 2;
	s->r = xreallocarray(s->r, want, sizeof(*s->r));
}

void hg_ipset_add(struct hg_ipset *s, const struct hg_ip *lo, const struct hg_ip *hi)
{
	if (hg_ip_cmp(lo, hi) > 0)
		return;
	u128 ulo = ip_to_u(lo), uhi = ip_to_u(hi);
	/* First range whose hi reaches ulo - 1 (could touch or overlap). */
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		u128 mh = ip_to_u(&s->r[mid].hi);
		if (mh != U128_MAX && mh + 1 < ulo)
			a = mid + 1;
		else
			b = mid;
	}
	/* Ranges [a, e) merge with the new one. */
	size_t e = a;
	while (e < s->n && (uhi == U128_MAX || ip_to_u(&s->r[e].lo) <= uhi + 1)) {
		if (ip_to_u(&s->r[e].lo) < ulo)
			ulo = ip_to_u(&s->r[e].lo);
		if (ip_to_u(&s->r[e].hi) > uhi)
			uhi = ip_to_u(&s->r[e].hi);
		e++;
	}
	if (e == a) { /* nothing to merge: insert at a */
		ipset_reserve_one(s);
		memmove(&s->r[a + 1], &s->r[a], (s->n - a) * sizeof(*s->r));
		s->n++;
	} else if (e > a + 1) { /* several collapse into r[a] */
		memmove(&s->r[a + 1], &s->r[e], (s->n - e) * sizeof(*s->r));
		s->n -= e - a - 1;
	}
	s->r[a].lo = u_to_ip(ulo);
	s->r[a].hi = u_to_ip(uhi);
}

static int cmp_iprange(const void *a, const void *b)
{
	return hg_ip_cmp(&((const struct hg_iprange *)a)->lo, &((const struct hg_iprange *)b)->lo);
}

void hg_ipset_normalize(struct hg_ipset *s)
{
	if (s->n < 2)
		return;
	qsort(s->r, s->n, sizeof(*s->r), cmp_iprange);
	struct rbuild b = {.k = &ip_kind};
	for (size_t i = 0; i < s->n; i++)
		rb_push(&b, ip_to_u(&s->r[i].lo), ip_to_u(&s->r[i].hi));
	rb_finish(&b, ipset_view(s));
}

void hg_ipset_all(struct hg_ipset *s)
{
	ranges_all(ipset_view(s));
}

void hg_ipset_union(struct hg_ipset *dst, const struct hg_ipset *src)
{
	ranges_union(ipset_view(dst), src->r, src->n);
}

void hg_ipset_subtract(struct hg_ipset *dst, const struct hg_ipset *src)
{
	ranges_subtract(ipset_view(dst), src->r, src->n);
}

void hg_ipset_complement(struct hg_ipset *s)
{
	ranges_complement(ipset_view(s));
}

bool hg_ipset_contains(const struct hg_ipset *s, const struct hg_ip *ip)
{
	/* Find the last range whose lo <= ip. */
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (hg_ip_cmp(&s->r[mid].lo, ip) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && hg_ip_cmp(ip, &s->r[lo - 1].hi) <= 0;
}

bool hg_ipset_is_all(const struct hg_ipset *s)
{
	return ranges_is_all(&ip_kind, s->r, s->n);
}

bool hg_ipset_equal(const struct hg_ipset *a, const struct hg_ipset *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->r, b->r, a->n * sizeof(*a->r)) == 0);
}

bool hg_ipset_intersects(const struct hg_ipset *a, const struct hg_ipset *b)
{
	size_t i = 0, j = 0;
	while (i < a->n && j < b->n) {
		if (hg_ip_cmp(&a->r[i].hi, &b->r[j].lo) < 0)
			i++;
		else if (hg_ip_cmp(&b->r[j].hi, &a->r[i].lo) < 0)
			j++;
		else
			return true;
	}
	return false;
}

/* --------------------------------------------------------------- port sets */

static void portrange_get(const void *range, u128 *lo, u128 *hi)
{
	const struct hg_portrange *r = range;
	*lo = r->lo;
	*hi = r->hi;
}

static void portrange_put(void *range, u128 lo, u128 hi)
{
	struct hg_portrange *r = range;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
}

static const struct rkind port_kind = {sizeof(struct hg_portrange), 65535, portrange_get, portrange_put};

static struct rset portset_view(struct hg_portset *s)
{
	return (struct rset){&port_kind, (void **)&s->r, &s->n};
}

void hg_portset_free(struct hg_portset *s)
{
	ranges_free(portset_view(s));
}

void hg_portset_copy(struct hg_portset *dst, const struct hg_portset *src)
{
	ranges_copy(portset_view(dst), src->r, src->n);
}

void hg_portset_add(struct hg_portset *s, uint16_t lo, uint16_t hi)
{
	if (lo > hi)
		return;
	struct hg_portrange one = {lo, hi};
	struct hg_portset t = {&one, 1};
	hg_portset_union(s, &t);
}

void hg_portset_all(struct hg_portset *s)
{
	ranges_all(portset_view(s));
}

void hg_portset_union(struct hg_portset *dst, const struct hg_portset *src)
{
	ranges_union(portset_view(dst), src->r, src->n);
}

void hg_portset_subtract(struct hg_portset *dst, const struct hg_portset *src)
{
	ranges_subtract(portset_view(dst), src->r, src->n);
}

void hg_portset_complement(struct hg_portset *s)
{
	ranges_complement(portset_view(s));
}

bool hg_portset_contains(const struct hg_portset *s, uint16_t port)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->r[mid].lo <= port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && port <= s->r[lo - 1].hi;
}

bool hg_portset_is_all(const struct hg_portset *s)
{
	return ranges_is_all(&port_kind, s->r, s->n);
}

bool hg_portset_equal(const struct hg_portset *a, const struct hg_portset *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->r, b->r, a->n * sizeof(*a->r)) == 0);
}
