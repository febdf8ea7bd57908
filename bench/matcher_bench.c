/* matcher_bench.c - lookups per second of the domain matcher on a list of
 * 1M targets (hits and misses), against a naive linear scan of the same list
 * measured in the same run; prints the build time, memory and the ratio.
 * Usage: matcher_bench [N_TARGETS]   (never fails on time) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostgate/domain.h"

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic names, so runs compare. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const tlds[] = {"com", "net", "org", "io", "de", "co.uk"};

/* A random name of 2-3 labels below a TLD, e.g. "kqzfa.bmxq.com". */
static char *random_name(void)
{
	char buf[96];
	size_t n = 0;
	int labels = 2 + (int)(rng() % 2);
	for (int l = 0; l < labels; l++) {
		int len = 3 + (int)(rng() % 10);
		for (int i = 0; i < len; i++)
			buf[n++] = (char)('a' + rng() % 26);
		buf[n++] = '.';
	}
	const char *tld = tlds[rng() % (sizeof(tlds) / sizeof(tlds[0]))];
	memcpy(buf + n, tld, strlen(tld) + 1);
	return strdup(buf);
}

/* What a list without an index has to do: test every target in turn. */
static bool naive_lookup(char *const *targets, size_t n, const char *name, uint32_t *index)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++) {
		const char *t = targets[i];
		size_t tl = strlen(t);
		if (t[0] == '.') {
			/* dotprefix + endswith: ".name" ends with ".example.com" */
			if ((len == tl - 1 && strcasecmp(name, t + 1) == 0) ||
			    (len >= tl && strcasecmp(name + len - tl, t) == 0)) {
				*index = (uint32_t)i;
				return true;
			}
		} else if (len == tl && strcasecmp(name, t) == 0) {
			*index = (uint32_t)i;
			return true;
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	if (n < 100)
		n = 100;
	char **targets = malloc(n * sizeof(*targets));
	for (size_t i = 0; i < n; i++) {
		char *name = random_name();
		if (i % 2) { /* every other target is a dot (wildcard) target */
			size_t l = strlen(name);
			char *w = malloc(l + 2);
			w[0] = '.';
			memcpy(w + 1, name, l + 1);
			free(name);
			name = w;
		}
		targets[i] = name;
	}

	double t0 = now();
	struct hg_domain_matcher *m = hg_domain_matcher_new(n);
	for (size_t i = 0; i < n; i++)
		hg_domain_matcher_add(m, targets[i], strlen(targets[i]), (uint32_t)i);
	double build = now() - t0;
	printf("matcher: %zu targets built in %.3f s, %.1f MB\n", hg_domain_matcher_count(m), build,
	       (double)hg_domain_matcher_bytes(m) / 1e6);

	/* Queries: hits are exact targets, subdomains of dot targets (in
	 * upper case now and then); misses are fresh random names. */
	enum { NQ = 1 << 16 };
	char **hits = malloc(NQ * sizeof(*hits)), **misses = malloc(NQ * sizeof(*misses));
	for (size_t i = 0; i < NQ; i++) {
		const char *t = targets[rng() % n];
		char buf[128];
		if (t[0] == '.')
			snprintf(buf, sizeof(buf), "%s%s", (i % 3) ? "www" : "A.B", t);
		else
			snprintf(buf, sizeof(buf), "%s", t);
		if (i % 4 == 0)
			for (char *p = buf; *p; p++)
				*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		hits[i] = strdup(buf);
		misses[i] = random_name();
	}

	const size_t rounds = 40; /* 40 x 65536 = 2.6M lookups each */
	size_t found = 0;
	uint32_t idx;
	t0 = now();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < NQ; i++)
			found += hg_domain_matcher_lookup(m, hits[i], strlen(hits[i]), &idx);
	double th = now() - t0;
	size_t missed = 0;
	t0 = now();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < NQ; i++)
			missed += !hg_domain_matcher_lookup(m, misses[i], strlen(misses[i]), &idx);
	double tm = now() - t0;
	double hit_rate = (double)(rounds * NQ) / th, miss_rate = (double)(rounds * NQ) / tm;
	printf("matcher: hits %.2f M lookups/s (%zu/%zu matched), misses %.2f M lookups/s (%zu/%zu missed)\n",
	       hit_rate / 1e6, found, rounds * NQ, miss_rate / 1e6, missed, rounds * NQ);

	/* Real traffic repeats names: hits drawn from a hot set of 4096
	 * targets of the same list (the table stays 1M entries). */
	t0 = now();
	found = 0;
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < NQ; i++) {
			const char *q = hits[i & 4095];
			found += hg_domain_matcher_lookup(m, q, strlen(q), &idx);
		}
	double thot = now() - t0;
	printf("matcher: hot-set hits %.2f M lookups/s (%zu matched)\n", (double)(rounds * NQ) / thot / 1e6,
	       found);

	/* The naive scan is slow: a few hundred queries give a stable rate.
	 * Its answers are checked against the matcher's on the way. */
	const size_t nq = n >= 100000 ? 200 : 2000;
	size_t disagree = 0;
	t0 = now();
	for (size_t i = 0; i < nq; i++) {
		const char *q = (i % 2) ? misses[i] : hits[i];
		uint32_t a = 0, b = 0;
		bool fa = naive_lookup(targets, n, q, &a);
		bool fb = hg_domain_matcher_lookup(m, q, strlen(q), &b);
		disagree += fa != fb || (fa && a != b);
	}
	double tn = now() - t0;
	double naive_rate = (double)nq / tn;
	printf("naive linear scan: %.0f lookups/s over %zu queries (%zu disagreements)\n", naive_rate, nq,
	       disagree);
	printf("ratio matcher/naive: hits %.0fx, misses %.0fx\n", hit_rate / naive_rate, miss_rate / naive_rate);

	hg_domain_matcher_free(m);
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	for (size_t i = 0; i < NQ; i++) {
		free(hits[i]);
		free(misses[i]);
	}
	free(targets);
	free(hits);
	free(misses);
	return 0;
}
