/* test_domain.c - domain-list target validation (good and bad names with the
 * offset of the offending character) and the matcher's ANFW semantics
 * (reference/anfw.md §1.2): exact names, leading-dot wildcards on a label
 * boundary, case, trailing dot, first-in-list index, a 100k-name list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hostgate/domain.h"

Test(domain_valid, good)
{
	static const char *const good[] = {
		"example.com", ".example.com", "a.b.c.d.e.f", "xn--bcher-kva.example", "_dmarc.example.com",
		"123.example.com", "10.2.0.14", "EXAMPLE.COM", "example.com.", ".example.com.", "a-b.c-d.com",
		"localhost", "a",
		/* 63-character label */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *why = NULL;
		size_t off = 0;
		cr_expect(hg_domain_valid(good[i], strlen(good[i]), &why, &off), "'%s': %s @%zu", good[i],
			  why ? why : "", off);
	}
}

Test(domain_valid, bad_with_offsets)
{
	static const struct {
		const char *name;
		size_t off;
		const char *why; /* a substring of the message */
	} bad[] = {
		{"*.example.com", 0, "use a leading dot ('.example.com')"},
		{"www.*.com", 4, "'*' is not domain-list syntax"},
		{"exa_mple..com", 9, "empty label (two dots)"},
		{"..example.com", 1, "empty label (two dots)"},
		{"example.com..", 12, "empty label (two dots)"},
		{"..", 1, "empty label"},
		{".", 0, "'.'"},
		{"", 0, "empty"},
		{"-bad.com", 0, "starts with '-'"},
		{"ok.-bad.com", 3, "starts with '-'"},
		{"bad-.com", 3, "ends with '-'"},
		{"a b.com", 1, "whitespace"},
		{"exam!ple.com", 4, "invalid character"},
		{"example.com/path", 11, "invalid character"},
		{"example.com:443", 11, "invalid character"},
		{"b\xc3\xbc" "cher.de", 1, "xn--"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", 63, "63"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		size_t off = 999;
		cr_expect(!hg_domain_valid(bad[i].name, strlen(bad[i].name), &why, &off), "'%s' accepted",
			  bad[i].name);
		if (!why)
			continue;
		cr_expect_eq(off, bad[i].off, "'%s': offset %zu, want %zu (%s)", bad[i].name, off, bad[i].off, why);
		cr_expect(strstr(why, bad[i].why), "'%s': message '%s' lacks '%s'", bad[i].name, why, bad[i].why);
	}
}

Test(domain_valid, star_message_exact)
{
	const char *why;
	size_t off;
	cr_assert(!hg_domain_valid("*.example.com", 13, &why, &off));
	cr_assert_str_eq(why, "'*' is not domain-list syntax; use a leading dot ('.example.com') to match a "
			      "domain and its subdomains");
}

Test(domain_valid, total_length)
{
	/* 4 labels of 63 + 3 dots = 255 > 253; 253 exactly is fine. */
	char name[300];
	char l63[64];
	memset(l63, 'a', 63);
	l63[63] = 0;
	snprintf(name, sizeof(name), "%s.%s.%s.%s", l63, l63, l63, l63);
	const char *why;
	size_t off;
	cr_assert(!hg_domain_valid(name, strlen(name), &why, &off));
	cr_assert(strstr(why, "253"), "%s", why);
	cr_assert_eq(off, 253);
	name[253] = 0; /* 63.63.63.61 = 253 */
	cr_assert(hg_domain_valid(name, 253, &why, &off), "%s", why);
	/* The wildcard dot and a trailing dot do not count. */
	char w[300];
	snprintf(w, sizeof(w), ".%s.", name);
	cr_assert(hg_domain_valid(w, strlen(w), &why, &off), "%s", why);
}

/* ------------------------------------------------------------ matcher */

static struct hg_domain_matcher *build(const char *const *targets, size_t n)
{
	struct hg_domain_matcher *m = hg_domain_matcher_new(n);
	for (size_t i = 0; i < n; i++)
		hg_domain_matcher_add(m, targets[i], strlen(targets[i]), (uint32_t)i);
	return m;
}

static int look(const struct hg_domain_matcher *m, const char *name)
{
	uint32_t idx = 12345;
	if (!hg_domain_matcher_lookup(m, name, strlen(name), &idx))
		return -1;
	return (int)idx;
}

Test(matcher, anfw_semantics)
{
	static const char *const targets[] = {
		".example.com",    /* 0 */
		"abc.test.org",    /* 1 */
		"api.github.com",  /* 2 */
		".Amazonaws.COM",  /* 3: targets fold case too */
		"exact.net.",      /* 4: trailing dot ignored */
	};
	struct hg_domain_matcher *m = build(targets, 5);
	cr_assert_eq(hg_domain_matcher_count(m), 5);
	static const struct {
		const char *q;
		int idx;
	} cases[] = {
		/* §1.2: ".example.com matches example.com and all subdomains" */
		{"example.com", 0},
		{"www.example.com", 0},
		{"a.b.example.com", 0},
		{"fooexample.com", -1}, /* label boundary */
		{"example.com.evil", -1},
		{"xample.com", -1},
		{"com", -1},
		/* exact names match only themselves */
		{"abc.test.org", 1},
		{"x.abc.test.org", -1},
		{"test.org", -1},
		{"bc.test.org", -1},
		/* case: ASCII folding, no locale */
		{"WWW.EXAMPLE.COM", 0},
		{"Api.GitHub.com", 2},
		{"s3.us-east-1.amazonaws.com", 3},
		/* one trailing dot of the query is ignored */
		{"abc.test.org.", 1},
		{"www.example.com.", 0},
		{"exact.net", 4},
		{"exact.net.", 4},
		{"abc.test.org..", -1},
		/* odd shapes */
		{"", -1},
		{".", -1},
		{".example.com", 0}, /* dotprefix gives "..example.com": ends with ".example.com" */
		{"a..example.com", 0},
		{".abc.test.org", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(look(m, cases[i].q), cases[i].idx, "'%s'", cases[i].q);
	hg_domain_matcher_free(m);
}

Test(matcher, first_in_list_order_wins)
{
	static const char *const targets[] = {
		"www.example.com",  /* 0 exact */
		".example.com",     /* 1 wildcard */
		".www.example.com", /* 2 wildcard, more specific but later */
		".com",             /* 3 */
		"www.example.com",  /* 4 duplicate: keeps 0 */
	};
	struct hg_domain_matcher *m = build(targets, 5);
	cr_assert_eq(look(m, "www.example.com"), 0);
	cr_assert_eq(look(m, "a.www.example.com"), 1);
	cr_assert_eq(look(m, "example.com"), 1);
	cr_assert_eq(look(m, "other.com"), 3);
	cr_assert_eq(look(m, "org"), -1);
	hg_domain_matcher_free(m);

	/* Reversed: the apex wildcard comes last, so the earlier ones win. */
	static const char *const rev[] = {".com", ".www.example.com", "www.example.com"};
	m = build(rev, 3);
	cr_assert_eq(look(m, "www.example.com"), 0);
	cr_assert_eq(look(m, "x.www.example.com"), 0);
	hg_domain_matcher_free(m);

	/* Indexes given out of order: the smallest still wins. */
	m = hg_domain_matcher_new(0);
	hg_domain_matcher_add(m, ".example.com", 12, 7);
	hg_domain_matcher_add(m, "a.example.com", 13, 3);
	hg_domain_matcher_add(m, ".example.com", 12, 2);
	cr_assert_eq(look(m, "a.example.com"), 2);
	cr_assert_eq(look(m, "b.example.com"), 2);
	hg_domain_matcher_free(m);
}

Test(matcher, long_hostile_names)
{
	static const char *const targets[] = {".example.com", "x.org"};
	struct hg_domain_matcher *m = build(targets, 2);
	/* A 4000-byte name ending in a listed domain still matches (as the
	 * dotprefix/endswith content would); one not ending in it does not. */
	static char big[4100];
	memset(big, 'a', 4000);
	memcpy(big + 4000, ".example.com", 13);
	cr_assert_eq(look(m, big), 0);
	big[4000] = 'b';
	cr_assert_eq(look(m, big), -1);
	/* Many labels. */
	for (int i = 0; i < 4000; i += 2) {
		big[i] = 'q';
		big[i + 1] = '.';
	}
	memcpy(big + 4000, "x.org", 6);
	cr_assert_eq(look(m, big), -1); /* exact target, longer name */
	memcpy(big + 4000, "example.com", 12);
	cr_assert_eq(look(m, big), 0);
	/* Only dots. */
	memset(big, '.', 4000);
	big[4000] = 0;
	cr_assert_eq(look(m, big), -1);
	hg_domain_matcher_free(m);
}

Test(matcher, empty_and_null)
{
	struct hg_domain_matcher *m = hg_domain_matcher_new(0);
	cr_assert_eq(look(m, "example.com"), -1);
	cr_assert_eq(hg_domain_matcher_count(m), 0);
	hg_domain_matcher_free(m);
	hg_domain_matcher_free(NULL);
}

/* 100k names, built in list order without a size hint (the table grows),
 * each found at its own index; subdomains of the wildcards found; near
 * misses not found. */
Test(matcher, hundred_thousand_names)
{
	enum { N = 100000 };
	static char names[N][40];
	struct hg_domain_matcher *m = hg_domain_matcher_new(0);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "%sh%d.d%d.example%d.com", i % 2 ? "." : "", i, i % 97,
			 i % 13);
		hg_domain_matcher_add(m, names[i], strlen(names[i]), (uint32_t)i);
	}
	cr_assert_eq(hg_domain_matcher_count(m), N);
	cr_assert_gt(hg_domain_matcher_bytes(m), 0);
	char q[64];
	for (int i = 0; i < N; i++) {
		const char *bare = names[i] + (i % 2);
		cr_assert_eq(look(m, bare), i, "%s", bare);
		snprintf(q, sizeof(q), "www.%s", bare);
		cr_assert_eq(look(m, q), i % 2 ? i : -1, "%s", q);
		snprintf(q, sizeof(q), "x%s", bare);
		cr_assert_eq(look(m, q), -1, "%s", q);
	}
	hg_domain_matcher_free(m);
}

/* ------------------------------------------------- random cross-check */

/* The reference: ANFW semantics written the plain way, one target at a
 * time in list order (the first match is the smallest index). */
struct ref_target {
	char key[300]; /* lower-cased, no wildcard dot, no trailing dot */
	bool wild;
};

static void ref_norm(const char *t, struct ref_target *r)
{
	size_t len = strlen(t);
	r->wild = len && t[0] == '.';
	if (r->wild) {
		t++;
		len--;
	}
	if (len && t[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		r->key[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
	r->key[len] = 0;
}

static int ref_lookup(const struct ref_target *r, size_t n, const char *name, size_t len)
{
	char q[5000];
	if (len && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		q[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	q[len] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(r[i].key);
		if (kl == 0)
			continue; /* "." or "": the matcher ignores it */
		if (len == kl && memcmp(q, r[i].key, kl) == 0)
			return (int)i;
		if (r[i].wild && len > kl && q[len - kl - 1] == '.' && memcmp(q + len - kl, r[i].key, kl) == 0)
			return (int)i;
	}
	return -1;
}

static uint64_t xr_state;

static uint32_t xr(uint32_t n)
{
	xr_state ^= xr_state << 13;
	xr_state ^= xr_state >> 7;
	xr_state ^= xr_state << 17;
	return (uint32_t)(xr_state % n);
}

/* A label from a small pool (so that names collide often), mixed case,
 * now and then long (to go past the matcher's inline key size). */
static size_t rand_label(char *out)
{
	static const char *const pool[] = {"a", "b", "ab", "www", "x-y", "_s", "ex", "exa", "com", "co",
					   "uk", "7", "mail", "api-1", "z0"};
	size_t n;
	if (xr(20) == 0) {
		n = 20 + xr(44);
		for (size_t i = 0; i < n; i++)
			out[i] = (char)('a' + xr(3));
	} else {
		const char *p = pool[xr(HG_ARRAY_LEN(pool))];
		n = strlen(p);
		memcpy(out, p, n);
	}
	for (size_t i = 0; i < n; i++)
		if (xr(4) == 0 && out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 32);
	return n;
}

static size_t rand_name(char *out, unsigned max_labels)
{
	size_t n = 0;
	unsigned labels = 1 + xr(max_labels);
	for (unsigned l = 0; l < labels; l++) {
		if (l)
			out[n++] = '.';
		n += rand_label(out + n);
	}
	out[n] = 0;
	return n;
}

/* One list, its matcher built as told, every query checked against the
 * reference one at a time and as one batch. */
static void cross_check(unsigned seed, size_t n_targets, int how)
{
	xr_state = 0x9e3779b97f4a7c15ull * (seed + 1);
	char(*targets)[600] = calloc(n_targets, sizeof(*targets));
	struct ref_target *ref = calloc(n_targets, sizeof(*ref));
	for (size_t i = 0; i < n_targets; i++) {
		char *t = targets[i];
		size_t n = 0;
		if (i > 0 && xr(10) == 0) { /* a duplicate, maybe of the other kind or case */
			const char *d = targets[xr((uint32_t)i)];
			n = strlen(d);
			memcpy(t, d, n + 1);
			if (xr(2))
				t[0] = (char)(t[0] == '.' ? 'A' : t[0]);
		} else {
			if (xr(2))
				t[n++] = '.';
			n += rand_name(t + n, 4);
			if (n > 250)
				n = 250; /* stay a valid length */
			while (n > 1 && t[n - 1] == '.')
				n--;
			if (xr(10) == 0)
				t[n++] = '.';
			t[n] = 0;
		}
		ref_norm(t, &ref[i]);
	}
	struct hg_domain_matcher *m;
	if (how == 0) { /* announced count: sealed after the last add */
		m = hg_domain_matcher_new(n_targets);
	} else if (how == 1) { /* no count: the build table (below 1024) */
		m = hg_domain_matcher_new(0);
	} else { /* sealed early (at a third, then two thirds), more adds
		  * after each; 2 ends in the reopened table, 3 sealed */
		m = hg_domain_matcher_new(n_targets / 3 + 1);
	}
	for (size_t i = 0; i < n_targets; i++)
		hg_domain_matcher_add(m, targets[i], strlen(targets[i]), (uint32_t)i);
	if (how == 3)
		hg_domain_matcher_seal(m);

	enum { NQ = 3000 };
	static char qbuf[NQ][700];
	static const char *qn[NQ];
	static size_t ql[NQ];
	for (size_t i = 0; i < NQ; i++) {
		char *q = qbuf[i];
		size_t n = 0;
		unsigned shape = xr(8);
		if (shape < 4) { /* a target or a name below it */
			const struct ref_target *r = &ref[xr((uint32_t)n_targets)];
			if (shape >= 2)
				n += rand_name(q, 3), q[n++] = '.';
			memcpy(q + n, r->key, strlen(r->key));
			n += strlen(r->key);
			if (shape == 3 && n > 3)
				q[xr((uint32_t)n)] ^= 0x20; /* flip case (or a dot into '\x0e') */
		} else if (shape == 4) { /* odd dots */
			n = rand_name(q, 5);
			q[xr((uint32_t)n)] = '.';
			if (xr(2))
				q[0] = '.';
		} else if (shape == 5) { /* long: past 253 and the window */
			while (n < 240 + xr(300)) {
				n += rand_label(q + n);
				q[n++] = '.';
			}
			n += rand_name(q + n, 3);
		} else { /* random, up to 12 labels (many candidates) */
			n = rand_name(q, 12);
		}
		if (xr(8) == 0)
			q[n++] = '.';
		if (xr(30) == 0)
			q[n++] = '.';
		q[n] = 0;
		qn[i] = q;
		ql[i] = n;
	}
	static uint32_t bidx[NQ];
	static bool bfound[NQ];
	hg_domain_matcher_lookup_batch(m, NQ, qn, ql, bidx, bfound);
	size_t hits = 0;
	for (size_t i = 0; i < NQ; i++) {
		int want = ref_lookup(ref, n_targets, qn[i], ql[i]);
		uint32_t idx = 12345;
		bool f = hg_domain_matcher_lookup(m, qn[i], ql[i], &idx);
		int got = f ? (int)idx : -1;
		cr_assert_eq(got, want, "seed %u how %d: '%s' -> %d, reference %d", seed, how, qn[i], got, want);
		cr_assert_eq(bfound[i], f, "seed %u how %d: batch found differs on '%s'", seed, how, qn[i]);
		if (f)
			cr_assert_eq(bidx[i], idx, "seed %u how %d: batch index differs on '%s'", seed, how, qn[i]);
		hits += f;
	}
	cr_assert_gt(hits, NQ / 10, "the queries should hit often (%zu)", hits);
	cr_assert_lt(hits, NQ, "and miss sometimes");
	hg_domain_matcher_free(m);
	free(targets);
	free(ref);
}

Test(matcher, random_cross_check_sealed)
{
	for (unsigned seed = 0; seed < 8; seed++)
		cross_check(seed, 50 + seed * 300, 0);
	cross_check(100, 20000, 0);
}

Test(matcher, random_cross_check_unsealed)
{
	for (unsigned seed = 0; seed < 8; seed++)
		cross_check(seed, 50 + seed * 120, 1);
}

Test(matcher, random_cross_check_reopened)
{
	for (unsigned seed = 0; seed < 6; seed++) {
		cross_check(seed, 40 + seed * 200, 2);
		cross_check(seed, 40 + seed * 200, 3);
	}
}

/* Keys of every label count from 1 to 127 (a 253-byte name has at most
 * 127 non-empty labels) against names of hundreds of labels: every count
 * is a candidate, past what a batch slot holds; and targets of nothing but
 * dots (invalid, never matched) must not upset the label bookkeeping. */
Test(matcher, many_label_counts)
{
	enum { N = 127 };
	static char t[N][260];
	for (int order = 0; order < 2; order++) {
		struct hg_domain_matcher *m = hg_domain_matcher_new(N + 2);
		for (int i = 0; i < N; i++) {
			int labels = order ? N - i : i + 1; /* 1..127 or 127..1 */
			size_t n = 0;
			t[i][n++] = '.';
			for (int l = 0; l < labels; l++) {
				if (l)
					t[i][n++] = '.';
				t[i][n++] = 'a';
			}
			t[i][n] = 0;
			hg_domain_matcher_add(m, t[i], n, (uint32_t)i);
		}
		char dots[255];
		memset(dots, '.', 254);
		dots[254] = 0;
		hg_domain_matcher_add(m, dots, 253, N);
		hg_domain_matcher_add(m, dots, 254, N + 1);
		static char q[1000];
		size_t n = 0;
		for (int l = 0; l < 300; l++)
			n += (size_t)snprintf(q + n, sizeof(q) - n, l ? ".A" : "a");
		cr_assert_eq(look(m, q), 0, "order %d", order);
		/* 5 labels: matched by the 1..5-label wildcards */
		cr_assert_eq(look(m, "a.a.a.a.a"), order ? N - 5 : 0);
		cr_assert_eq(look(m, "b.a.a"), order ? N - 2 : 0);
		cr_assert_eq(look(m, dots), -1);
		const char *names[3] = {q, "a.a.a.a.a", dots};
		size_t lens[3] = {n, 9, 200};
		uint32_t idx[3];
		bool found[3];
		hg_domain_matcher_lookup_batch(m, 3, names, lens, idx, found);
		cr_assert(found[0] && idx[0] == 0);
		cr_assert(found[1] && idx[1] == (uint32_t)(order ? N - 5 : 0));
		cr_assert(!found[2]);
		hg_domain_matcher_free(m);
	}
}
