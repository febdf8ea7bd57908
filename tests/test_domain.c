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
