/* matcher_bench.c - lookups per second of the domain matcher on a list of
 * 1M targets (hits and misses), against a naive linear scan of the same list
 * measured in the same run; prints the build time, memory and the ratio,
 * and this machine's memory latency (a pointer chase) as the floor of a
 * lookup that misses every cache. CPU time (the VM is shared).
 * Usage: matcher_bench [N_TARGETS]   (never fails on time) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the VM is shared */
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

/* Names stored back to back, with pointers and lengths. */
struct qset {
	char *bytes;
	size_t used, cap, n;
	const char **name;
	size_t *len;
};

static struct qset qset_new(size_t n)
{
	struct qset q = {.cap = n * 64};
	q.bytes = malloc(q.cap);
	q.name = malloc(n * sizeof(*q.name));
	q.len = malloc(n * sizeof(*q.len));
	return q;
}

static void qset_add(struct qset *q, const char *s)
{
	size_t l = strlen(s);
	if (q->used + l + 1 > q->cap)
		abort(); /* names are < 64 bytes */
	memcpy(q->bytes + q->used, s, l + 1);
	q->name[q->n] = q->bytes + q->used;
	q->len[q->n++] = l;
	q->used += l + 1;
}

static void qset_free(struct qset *q)
{
	free(q->bytes);
	free(q->name);
	free(q->len);
}

/* A query that target t matches: itself, or a subdomain of a dot target. */
static void hit_query(struct qset *q, const char *t, size_t i)
{
	char buf[128];
	if (t[0] == '.')
		snprintf(buf, sizeof(buf), "%s%s", (i % 3) ? "www" : "A.B", t);
	else
		snprintf(buf, sizeof(buf), "%s", t);
	if (i % 4 == 0)
		for (char *p = buf; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	qset_add(q, buf);
}

/* Nanoseconds of one dependent load from a block of bytes read in random
 * order (one cycle through all its cache lines, as a table probed at random
 * is read): the latency a lookup pays for each line it needs that no cache
 * holds, which no code can beat one load at a time. Huge pages as the
 * matcher's. */
static double chase_ns(size_t bytes)
{
	const size_t huge = 2u << 20, line = 64 / sizeof(size_t);
	size_t alloc = (bytes + huge - 1) & ~(huge - 1);
	size_t *a = aligned_alloc(huge, alloc);
	madvise(a, alloc, MADV_HUGEPAGE);
	size_t n = bytes / 64;
	size_t *perm = malloc(n * sizeof(*perm));
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng() % (i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		a[perm[i] * line] = perm[(i + 1) % n] * line;
	free(perm);
	size_t p = 0, steps = 2000000;
	for (size_t i = 0; i < n; i++) /* warm the TLB and caches once */
		p = a[p];
	double t0 = now();
	for (size_t i = 0; i < steps; i++)
		p = a[p];
	double t = now() - t0;
	volatile size_t sink = p;
	(void)sink;
	free(a);
	return t / (double)steps * 1e9;
}

enum { BATCH = 32 };

/* Lookups per second, one call per name; checks every answer. */
static double run_one(const struct hg_domain_matcher *m, const struct qset *q, size_t rounds, bool expect)
{
	size_t right = 0;
	uint32_t idx;
	double t0 = now();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < q->n; i++)
			right += hg_domain_matcher_lookup(m, q->name[i], q->len[i], &idx) == expect;
	double t = now() - t0;
	if (right != rounds * q->n)
		printf("matcher: WRONG: %zu of %zu answers as expected\n", right, rounds * q->n);
	return (double)(rounds * q->n) / t;
}

/* The same through hg_domain_matcher_lookup_batch, BATCH names a call;
 * its answers must equal the one-at-a-time ones. */
static double run_batch(const struct hg_domain_matcher *m, const struct qset *q, size_t rounds, bool expect)
{
	size_t right = 0;
	uint32_t idx[BATCH];
	bool found[BATCH];
	double t0 = now();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < q->n; i += BATCH) {
			size_t c = HG_MIN((size_t)BATCH, q->n - i);
			hg_domain_matcher_lookup_batch(m, c, q->name + i, q->len + i, idx, found);
			for (size_t j = 0; j < c; j++)
				right += found[j] == expect;
		}
	double t = now() - t0;
	if (right != rounds * q->n)
		printf("matcher: WRONG (batch): %zu of %zu answers as expected\n", right, rounds * q->n);
	size_t differ = 0;
	for (size_t i = 0; i < q->n; i += BATCH) {
		size_t c = HG_MIN((size_t)BATCH, q->n - i);
		hg_domain_matcher_lookup_batch(m, c, q->name + i, q->len + i, idx, found);
		for (size_t j = 0; j < c; j++) {
			uint32_t one = 0;
			bool f = hg_domain_matcher_lookup(m, q->name[i + j], q->len[i + j], &one);
			differ += f != found[j] || (f && one != idx[j]);
		}
	}
	if (differ)
		printf("matcher: WRONG: batch and one-at-a-time differ on %zu names\n", differ);
	return (double)(rounds * q->n) / t;
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

	/* Query sets of NQ names each, stored back to back (as names sit in
	 * packet buffers) with their lengths:
	 *  - random hits: targets drawn uniformly from the whole list (exact
	 *    targets as written, dot targets as "www.<t>" or "A.B.<t>"; one in
	 *    four upper-cased);
	 *  - misses: fresh random names;
	 *  - zipf: hits whose target has Zipf(1) popularity over the list,
	 *    as real traffic asks for popular names far more often;
	 *  - hot set: the first 4096 random hits over and over. */
	enum { NQ = 1 << 16 };
	struct qset hits = qset_new(NQ), misses = qset_new(NQ), zipf = qset_new(NQ), hot = qset_new(NQ);
	double *cdf = malloc(n * sizeof(*cdf)), sum = 0;
	for (size_t r = 0; r < n; r++)
		cdf[r] = sum += 1.0 / (double)(r + 1);
	for (size_t i = 0; i < NQ; i++) {
		hit_query(&hits, targets[rng() % n], i);
		char *miss = random_name();
		qset_add(&misses, miss);
		free(miss);
		/* rank r is target (r * 7919) mod n: a fixed shuffle, so popular
		 * names are spread over the table */
		double u = (double)(rng() >> 11) / 9007199254740992.0 * sum;
		size_t lo = 0, hi = n - 1;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		hit_query(&zipf, targets[(lo * 7919) % n], i);
	}
	for (size_t i = 0; i < NQ; i++)
		qset_add(&hot, hits.name[i & 4095]);
	free(cdf);

	const size_t rounds = 40; /* 40 x 65536 = 2.6M lookups each */
	const struct {
		const char *what;
		struct qset *q;
		bool expect;
	} sets[] = {{"random hits", &hits, true},
		    {"misses", &misses, false},
		    {"zipf hits", &zipf, true},
		    {"hot-set hits", &hot, true}};
	double hit_rate = 0, miss_rate = 0;
	for (size_t k = 0; k < HG_ARRAY_LEN(sets); k++) {
		double one = run_one(m, sets[k].q, rounds, sets[k].expect);
		double batch = run_batch(m, sets[k].q, rounds, sets[k].expect);
		printf("matcher: %-13s %6.2f M lookups/s one at a time, %6.2f M lookups/s in batches of %d\n",
		       sets[k].what, one / 1e6, batch / 1e6, BATCH);
		if (k == 0)
			hit_rate = one;
		if (k == 1)
			miss_rate = one;
	}

	/* The naive scan is slow: a few hundred queries give a stable rate.
	 * Its answers are checked against the matcher's on the way. */
	const size_t nq = n >= 100000 ? 200 : 2000;
	size_t disagree = 0;
	t0 = now();
	for (size_t i = 0; i < nq; i++) {
		const char *q = (i % 2) ? misses.name[i] : hits.name[i];
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

	/* The floor: a lookup whose name is not cached needs at least one
	 * line of a table far larger than the caches. */
	printf("memory latency (pointer chase): 256 KB %.1f ns, 4 MB %.1f ns, %.0f MB (the matcher's size) %.1f ns\n",
	       chase_ns(256u << 10), chase_ns(4u << 20), (double)hg_domain_matcher_bytes(m) / 1e6,
	       chase_ns(hg_domain_matcher_bytes(m)));

	hg_domain_matcher_free(m);
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	qset_free(&hits);
	qset_free(&misses);
	qset_free(&zipf);
	qset_free(&hot);
	free(targets);
	return 0;
}
