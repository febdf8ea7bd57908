/* test_ipset.c - CIDR parsing and the set algebra of address and port sets,
 * as tables of cases plus randomized comparisons against a bitmap model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hostgate/ipset.h"

static void fmt_range(const struct hg_iprange *r, char *buf, size_t len)
{
	char a[64], b[64];
	hg_ip_format(&r->lo, a, sizeof(a));
	hg_ip_format(&r->hi, b, sizeof(b));
	snprintf(buf, len, "%s-%s", a, b);
}

/* "lo-hi lo-hi ..." for assertions that show the whole set. */
static const char *fmt_set(const struct hg_ipset *s)
{
	static char out[4096];
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->n && n < sizeof(out) - 200; i++) {
		char r[160];
		fmt_range(&s->r[i], r, sizeof(r));
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? " " : "", r);
	}
	return out;
}

static void set_of(struct hg_ipset *s, const char *const *cidrs)
{
	hg_ipset_free(s);
	for (; *cidrs; cidrs++) {
		struct hg_ip lo, hi;
		cr_assert(hg_ip_parse_cidr(*cidrs, &lo, &hi), "%s", *cidrs);
		hg_ipset_add(s, &lo, &hi);
	}
}

static struct hg_ip ip(const char *s)
{
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr(s, &lo, &hi), "%s", s);
	return lo;
}

static bool has(const struct hg_ipset *s, const char *addr)
{
	struct hg_ip x = ip(addr);
	return hg_ipset_contains(s, &x);
}

Test(cidr, parse_table)
{
	static const struct {
		const char *in, *range; /* NULL range: must be rejected */
	} cases[] = {
		{"10.0.0.0/8", "10.0.0.0-10.255.255.255"},
		{"10.1.2.3", "10.1.2.3-10.1.2.3"},
		{"10.1.2.3/32", "10.1.2.3-10.1.2.3"},
		{"192.168.1.77/24", "192.168.1.0-192.168.1.255"}, /* host bits masked */
		{"0.0.0.0/0", "0.0.0.0-255.255.255.255"},
		{"172.16.0.0/12", "172.16.0.0-172.31.255.255"},
		{"2001:db8::/32", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::1", "::1-::1"},
		{"::/0", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"fc00::/7", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::ffff:1.2.3.4/120", "1.2.3.0-1.2.3.255"}, /* mapped form = IPv4 */
		{"10.0.0.0/33", NULL},
		{"10.0.0.0/", NULL},
		{"10.0.0.0/08", NULL},
		{"10.0.0.0/-1", NULL},
		{"10.0.0.0/8/8", NULL},
		{"10.0.0/8", NULL},
		{"10.0.0.256", NULL},
		{"010.0.0.1", NULL},
		{" 10.0.0.1", NULL},
		{"::/129", NULL},
		{"2001:db8:::1", NULL},
		{"any", NULL},
		{"", NULL},
		{"/8", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hg_ip lo, hi;
		bool ok = hg_ip_parse_cidr(cases[i].in, &lo, &hi);
		if (!cases[i].range) {
			cr_expect(!ok, "'%s' should be rejected", cases[i].in);
			continue;
		}
		cr_expect(ok, "'%s' should parse", cases[i].in);
		if (!ok)
			continue;
		char got[200];
		struct hg_iprange r = {lo, hi};
		fmt_range(&r, got, sizeof(got));
		cr_expect_str_eq(got, cases[i].range, "%s", cases[i].in);
	}
}

Test(cidr, format_and_family)
{
	char buf[64];
	struct hg_ip a = ip("192.0.2.1");
	cr_assert(hg_ip_is_v4(&a));
	hg_ip_format(&a, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.0.2.1");
	struct hg_ip b = ip("2001:DB8:0:0:0:0:0:1");
	cr_assert(!hg_ip_is_v4(&b));
	hg_ip_format(&b, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2001:db8::1"); /* RFC 5952 */
	uint8_t v4[4] = {198, 51, 100, 7};
	struct hg_ip c;
	hg_ip_from_v4(&c, v4);
	struct hg_ip d = ip("198.51.100.7");
	cr_assert_eq(hg_ip_cmp(&c, &d), 0);
	cr_assert_lt(hg_ip_cmp(&a, &c), 0);
}

Test(ipset, add_merges_and_sorts)
{
	struct hg_ipset s = {0};
	set_of(&s, (const char *const[]){"10.0.1.0/24", "10.0.0.0/24", "10.0.3.0/24", "10.0.2.0/25",
					 "10.0.2.128/25", "192.168.0.0/16", "10.0.0.7", NULL});
	/* 10.0.0.0/24 .. 10.0.3.0/24 touch each other: one range. */
	cr_assert_str_eq(fmt_set(&s), "10.0.0.0-10.0.3.255 192.168.0.0-192.168.255.255");
	hg_ipset_free(&s);
}

Test(ipset, normalize_bulk)
{
	struct hg_ipset s = {0};
	s.r = malloc(3 * sizeof(*s.r));
	const char *in[] = {"10.0.2.0/24", "10.0.0.0/23", "10.0.1.128/25"};
	for (int i = 0; i < 3; i++)
		cr_assert(hg_ip_parse_cidr(in[i], &s.r[i].lo, &s.r[i].hi));
	s.n = 3;
	hg_ipset_normalize(&s);
	cr_assert_str_eq(fmt_set(&s), "10.0.0.0-10.0.2.255");
	hg_ipset_free(&s);
}

Test(ipset, complement_covers_both_families)
{
	struct hg_ipset home = {0}, ext = {0};
	set_of(&home, (const char *const[]){"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", NULL});
	hg_ipset_copy(&ext, &home);
	hg_ipset_complement(&ext);
	cr_assert(!hg_ipset_intersects(&home, &ext));
	cr_assert(has(&ext, "8.8.8.8"));
	cr_assert(has(&ext, "2001:db8::1"));
	cr_assert(has(&ext, "172.32.0.0"));
	cr_assert(has(&ext, "9.255.255.255"));
	cr_assert(!has(&ext, "172.31.255.255"));
	cr_assert(!has(&ext, "fd12::1"));
	struct hg_ipset all = {0};
	hg_ipset_copy(&all, &home);
	hg_ipset_union(&all, &ext);
	cr_assert(hg_ipset_is_all(&all));
	hg_ipset_complement(&ext);
	cr_assert(hg_ipset_equal(&ext, &home), "%s", fmt_set(&ext));
	/* Complement of everything is empty, and back. */
	hg_ipset_complement(&all);
	cr_assert_eq(all.n, 0);
	hg_ipset_complement(&all);
	cr_assert(hg_ipset_is_all(&all));
	hg_ipset_free(&home);
	hg_ipset_free(&ext);
	hg_ipset_free(&all);
}

Test(ipset, subtract_table)
{
	static const struct {
		const char *a[4], *b[4], *want;
	} cases[] = {
		{{"10.0.0.0/24"}, {"10.0.0.5"}, "10.0.0.0-10.0.0.4 10.0.0.6-10.0.0.255"},
		{{"10.0.0.0/24"}, {"10.0.0.0/25"}, "10.0.0.128-10.0.0.255"},
		{{"10.0.0.0/24"}, {"10.0.0.0/8"}, ""},
		{{"10.0.0.0/24", "10.0.2.0/24"}, {"10.0.0.128/25", "10.0.1.0/24", "10.0.2.0/26"},
		 "10.0.0.0-10.0.0.127 10.0.2.64-10.0.2.255"},
		/* One hole cutting two ranges. */
		{{"10.0.0.0/24", "10.0.2.0/24"}, {"10.0.0.200", "10.0.0.250/31"}, "10.0.0.0-10.0.0.199 "
		 "10.0.0.201-10.0.0.249 10.0.0.252-10.0.0.255 10.0.2.0-10.0.2.255"},
		{{"0.0.0.0/0"}, {"10.0.0.0/8", "11.0.0.0/8"}, "0.0.0.0-9.255.255.255 12.0.0.0-255.255.255.255"},
		{{"::/0"}, {"::/1"}, "8000::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hg_ipset a = {0}, b = {0};
		const char *av[5] = {0}, *bv[5] = {0};
		memcpy(av, cases[i].a, sizeof(cases[i].a));
		memcpy(bv, cases[i].b, sizeof(cases[i].b));
		set_of(&a, av);
		set_of(&b, bv);
		hg_ipset_subtract(&a, &b);
		cr_expect_str_eq(fmt_set(&a), cases[i].want, "case %zu", i);
		cr_expect(!hg_ipset_intersects(&a, &b), "case %zu", i);
		hg_ipset_free(&a);
		hg_ipset_free(&b);
	}
}

Test(ipset, contains_edges)
{
	struct hg_ipset s = {0};
	set_of(&s, (const char *const[]){"10.0.0.0/30", "10.0.0.8/30", "::/128", NULL});
	const struct {
		const char *ip;
		bool in;
	} cases[] = {
		{"10.0.0.0", true},  {"10.0.0.3", true},  {"10.0.0.4", false}, {"10.0.0.7", false},
		{"10.0.0.8", true},  {"10.0.0.11", true}, {"10.0.0.12", false}, {"9.255.255.255", false},
		{"::", true},        {"::1", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hg_ip x = ip(cases[i].ip);
		cr_expect_eq(hg_ipset_contains(&s, &x), cases[i].in, "%s", cases[i].ip);
	}
	struct hg_ipset empty = {0};
	struct hg_ip x = ip("10.0.0.1");
	cr_assert(!hg_ipset_contains(&empty, &x));
	hg_ipset_free(&s);
}

/* ---------------------------------------------------- model checks */

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* A universe of 512 addresses 10.0.0.0-10.0.1.255 mirrored in a bitmap. */
enum { U = 512 };
static struct hg_ip uip(unsigned k)
{
	uint8_t v4[4] = {10, 0, (uint8_t)(k >> 8), (uint8_t)k};
	struct hg_ip x;
	hg_ip_from_v4(&x, v4);
	return x;
}

static void random_set(struct hg_ipset *s, bool *bits)
{
	memset(bits, 0, U);
	int n = (int)rnd(6);
	for (int i = 0; i < n; i++) {
		unsigned a = rnd(U), b = a + rnd(64);
		if (b >= U)
			b = U - 1;
		struct hg_ip lo = uip(a), hi = uip(b);
		hg_ipset_add(s, &lo, &hi);
		for (unsigned k = a; k <= b; k++)
			bits[k] = true;
	}
}

static void assert_model(const struct hg_ipset *s, const bool *bits, const char *op)
{
	for (unsigned k = 0; k < U; k++) {
		struct hg_ip x = uip(k);
		cr_assert_eq(hg_ipset_contains(s, &x), bits[k], "%s: address %u: %s", op, k, fmt_set(s));
	}
	/* Invariants: sorted, disjoint, not adjacent. */
	for (size_t i = 0; i < s->n; i++) {
		cr_assert_leq(hg_ip_cmp(&s->r[i].lo, &s->r[i].hi), 0);
		if (i) {
			struct hg_ip next = s->r[i - 1].hi;
			for (int b = 15; b >= 0 && ++next.b[b] == 0; b--)
				;
			cr_assert_gt(hg_ip_cmp(&s->r[i].lo, &next), 0, "%s: adjacent or overlapping", op);
		}
	}
}

Test(ipset, random_against_bitmap)
{
	for (int round = 0; round < 500; round++) {
		struct hg_ipset a = {0}, b = {0}, t = {0};
		bool ab[U], bb[U], want[U];
		random_set(&a, ab);
		random_set(&b, bb);
		assert_model(&a, ab, "add");

		hg_ipset_copy(&t, &a);
		hg_ipset_union(&t, &b);
		for (unsigned k = 0; k < U; k++)
			want[k] = ab[k] || bb[k];
		assert_model(&t, want, "union");

		hg_ipset_copy(&t, &a);
		hg_ipset_subtract(&t, &b);
		for (unsigned k = 0; k < U; k++)
			want[k] = ab[k] && !bb[k];
		assert_model(&t, want, "subtract");

		bool inter = false;
		for (unsigned k = 0; k < U; k++)
			inter |= ab[k] && bb[k];
		cr_assert_eq(hg_ipset_intersects(&a, &b), inter);

		hg_ipset_copy(&t, &a);
		hg_ipset_complement(&t);
		for (unsigned k = 0; k < U; k++)
			want[k] = !ab[k];
		assert_model(&t, want, "complement");
		hg_ipset_complement(&t);
		cr_assert(hg_ipset_equal(&t, &a));
		hg_ipset_free(&a);
		hg_ipset_free(&b);
		hg_ipset_free(&t);
	}
}

/* ------------------------------------------------------------- ports */

static void port_model(const struct hg_portset *s, const bool *bits, const char *op)
{
	for (unsigned p = 0; p < 65536; p++)
		cr_assert_eq(hg_portset_contains(s, (uint16_t)p), bits[p], "%s: port %u", op, p);
	for (size_t i = 1; i < s->n; i++)
		cr_assert_gt(s->r[i].lo, s->r[i - 1].hi + 1u, "%s: not merged", op);
}

Test(portset, random_against_bitmap)
{
	static bool ab[65536], bb[65536], want[65536];
	for (int round = 0; round < 60; round++) {
		struct hg_portset a = {0}, b = {0}, t = {0};
		memset(ab, 0, sizeof(ab));
		memset(bb, 0, sizeof(bb));
		for (int side = 0; side < 2; side++) {
			int n = (int)rnd(5);
			for (int i = 0; i < n; i++) {
				unsigned lo = rnd(65536), hi = lo + rnd(3000);
				if (round % 7 == 0)
					lo = 0; /* the edges */
				if (hi > 65535 || round % 11 == 0)
					hi = 65535;
				hg_portset_add(side ? &b : &a, (uint16_t)lo, (uint16_t)hi);
				for (unsigned p = lo; p <= hi; p++)
					(side ? bb : ab)[p] = true;
			}
		}
		port_model(&a, ab, "add");
		hg_portset_copy(&t, &a);
		hg_portset_union(&t, &b);
		for (unsigned p = 0; p < 65536; p++)
			want[p] = ab[p] || bb[p];
		port_model(&t, want, "union");
		hg_portset_copy(&t, &a);
		hg_portset_subtract(&t, &b);
		for (unsigned p = 0; p < 65536; p++)
			want[p] = ab[p] && !bb[p];
		port_model(&t, want, "subtract");
		hg_portset_copy(&t, &a);
		hg_portset_complement(&t);
		for (unsigned p = 0; p < 65536; p++)
			want[p] = !ab[p];
		port_model(&t, want, "complement");
		hg_portset_free(&a);
		hg_portset_free(&b);
		hg_portset_free(&t);
	}
}

Test(portset, all_and_equal)
{
	struct hg_portset a = {0}, b = {0};
	hg_portset_all(&a);
	cr_assert(hg_portset_is_all(&a));
	hg_portset_add(&b, 0, 1023);
	hg_portset_add(&b, 1024, 65535);
	cr_assert_eq(b.n, 1);
	cr_assert(hg_portset_equal(&a, &b));
	hg_portset_complement(&b);
	cr_assert_eq(b.n, 0);
	hg_portset_free(&a);
	hg_portset_free(&b);
}
