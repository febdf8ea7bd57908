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

/* ------------------------------------------------------------ address sets */

struct ubuild {
	struct hg_iprange *r;
	size_t n, cap;
};

/* Appends [lo, hi], coalescing with the last range when they overlap or
 * touch. Inputs arrive sorted by lo, which is what keeps merges linear. */
static void ub_push(struct ubuild *b, u128 lo, u128 hi)
{
	if (b->n) {
		u128 last = ip_to_u(&b->r[b->n - 1].hi);
		if (last == U128_MAX || lo <= last + 1) {
			if (hi > last)
				b->r[b->n - 1].hi = u_to_ip(hi);
			return;
		}
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->r = xreallocarray(b->r, b->cap, sizeof(*b->r));
	}
	b->r[b->n].lo = u_to_ip(lo);
	b->r[b->n].hi = u_to_ip(hi);
	b->n++;
}

static void ub_finish(struct ubuild *b, struct hg_ipset *dst)
{
	free(dst->r);
	dst->r = b->r;
	dst->n = b->n;
}

void hg_ipset_free(struct hg_ipset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

void hg_ipset_copy(struct hg_ipset *dst, const struct hg_ipset *src)
{
	struct hg_iprange *r = NULL;
	if (src->n) {
		r = xreallocarray(NULL, src->n, sizeof(*r));
		memcpy(r, src->r, src->n * sizeof(*r));
	}
	free(dst->r);
	dst->r = r;
	dst->n = src->n;
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
	struct ubuild b = {0};
	for (size_t i = 0; i < s->n; i++)
		ub_push(&b, ip_to_u(&s->r[i].lo), ip_to_u(&s->r[i].hi));
	ub_finish(&b, s);
}

void hg_ipset_all(struct hg_ipset *s)
{
	s->r = xreallocarray(s->r, 1, sizeof(*s->r));
	memset(&s->r[0].lo, 0, sizeof(s->r[0].lo));
	memset(&s->r[0].hi, 0xff, sizeof(s->r[0].hi));
	s->n = 1;
}

void hg_ipset_union(struct hg_ipset *dst, const struct hg_ipset *src)
{
	if (src->n == 0)
		return;
	struct ubuild b = {0};
	size_t i = 0, j = 0;
	while (i < dst->n || j < src->n) {
		const struct hg_iprange *x;
		if (j == src->n || (i < dst->n && hg_ip_cmp(&dst->r[i].lo, &src->r[j].lo) <= 0))
			x = &dst->r[i++];
		else
			x = &src->r[j++];
		ub_push(&b, ip_to_u(&x->lo), ip_to_u(&x->hi));
	}
	ub_finish(&b, dst);
}

void hg_ipset_subtract(struct hg_ipset *dst, const struct hg_ipset *src)
{
	if (dst->n == 0 || src->n == 0)
		return;
	struct ubuild b = {0};
	size_t j = 0;
	for (size_t i = 0; i < dst->n; i++) {
		u128 lo = ip_to_u(&dst->r[i].lo), hi = ip_to_u(&dst->r[i].hi);
		/* Skip holes entirely below this range. */
		while (j < src->n && ip_to_u(&src->r[j].hi) < lo)
			j++;
		size_t k = j;
		bool empty = false;
		while (k < src->n && ip_to_u(&src->r[k].lo) <= hi) {
			u128 slo = ip_to_u(&src->r[k].lo), shi = ip_to_u(&src->r[k].hi);
			if (slo > lo)
				ub_push(&b, lo, slo - 1);
			if (shi >= hi) {
				empty = true;
				break;
			}
			lo = shi + 1;
			k++;
		}
		if (!empty)
			ub_push(&b, lo, hi);
		/* A hole reaching past hi may cut the next range too: resume at it. */
		j = k;
	}
	ub_finish(&b, dst);
}

void hg_ipset_complement(struct hg_ipset *s)
{
	struct ubuild b = {0};
	u128 next = 0;
	bool done = false;
	for (size_t i = 0; i < s->n; i++) {
		u128 lo = ip_to_u(&s->r[i].lo), hi = ip_to_u(&s->r[i].hi);
		if (lo > next)
			ub_push(&b, next, lo - 1);
		if (hi == U128_MAX) {
			done = true;
			break;
		}
		next = hi + 1;
	}
	if (!done)
		ub_push(&b, next, U128_MAX);
	ub_finish(&b, s);
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
	return s->n == 1 && ip_to_u(&s->r[0].lo) == 0 && ip_to_u(&s->r[0].hi) == U128_MAX;
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

struct pbuild {
	struct hg_portrange *r;
	size_t n, cap;
};

static void pb_push(struct pbuild *b, unsigned lo, unsigned hi)
{
	if (b->n && lo <= (unsigned)b->r[b->n - 1].hi + 1) {
		if (hi > b->r[b->n - 1].hi)
			b->r[b->n - 1].hi = (uint16_t)hi;
		return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->r = xreallocarray(b->r, b->cap, sizeof(*b->r));
	}
	b->r[b->n].lo = (uint16_t)lo;
	b->r[b->n].hi = (uint16_t)hi;
	b->n++;
}

static void pb_finish(struct pbuild *b, struct hg_portset *dst)
{
	free(dst->r);
	dst->r = b->r;
	dst->n = b->n;
}

void hg_portset_free(struct hg_portset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

void hg_portset_copy(struct hg_portset *dst, const struct hg_portset *src)
{
	struct hg_portrange *r = NULL;
	if (src->n) {
		r = xreallocarray(NULL, src->n, sizeof(*r));
		memcpy(r, src->r, src->n * sizeof(*r));
	}
	free(dst->r);
	dst->r = r;
	dst->n = src->n;
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
	s->r = xreallocarray(s->r, 1, sizeof(*s->r));
	s->r[0].lo = 0;
	s->r[0].hi = 65535;
	s->n = 1;
}

void hg_portset_union(struct hg_portset *dst, const struct hg_portset *src)
{
	if (src->n == 0)
		return;
	struct pbuild b = {0};
	size_t i = 0, j = 0;
	while (i < dst->n || j < src->n) {
		const struct hg_portrange *x;
		if (j == src->n || (i < dst->n && dst->r[i].lo <= src->r[j].lo))
			x = &dst->r[i++];
		else
			x = &src->r[j++];
		pb_push(&b, x->lo, x->hi);
	}
	pb_finish(&b, dst);
}

void hg_portset_subtract(struct hg_portset *dst, const struct hg_portset *src)
{
	if (dst->n == 0 || src->n == 0)
		return;
	struct pbuild b = {0};
	size_t j = 0;
	for (size_t i = 0; i < dst->n; i++) {
		unsigned lo = dst->r[i].lo, hi = dst->r[i].hi;
		while (j < src->n && src->r[j].hi < lo)
			j++;
		size_t k = j;
		bool empty = false;
		while (k < src->n && src->r[k].lo <= hi) {
			if (src->r[k].lo > lo)
				pb_push(&b, lo, src->r[k].lo - 1u);
			if (src->r[k].hi >= hi) {
				empty = true;
				break;
			}
			lo = src->r[k].hi + 1u;
			k++;
		}
		if (!empty)
			pb_push(&b, lo, hi);
		j = k;
	}
	pb_finish(&b, dst);
}

void hg_portset_complement(struct hg_portset *s)
{
	struct pbuild b = {0};
	unsigned next = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].lo > next)
			pb_push(&b, next, s->r[i].lo - 1u);
		next = s->r[i].hi + 1u;
	}
	if (next <= 65535)
		pb_push(&b, next, 65535);
	pb_finish(&b, s);
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
	return s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535;
}

bool hg_portset_equal(const struct hg_portset *a, const struct hg_portset *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->r, b->r, a->n * sizeof(*a->r)) == 0);
}
