/* fuzz_matcher.c - libFuzzer target for the domain matcher: the input's
 * lines before an empty line are targets, the lines after are queried
 * names (any bytes); every answer, one at a time and batched, sealed and
 * not, must equal a plain reference of the ANFW semantics. */
#include <stdlib.h>
#include <string.h>

#include "hostgate/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_LINES = 256 };

struct line {
	const char *p;
	size_t n;
};

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool eq_fold(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return false;
	return true;
}

/* The first target in list order that name matches, or -1. */
static int reference(const struct line *t, size_t nt, const char *name, size_t len)
{
	if (len && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < nt; i++) {
		const char *k = t[i].p;
		size_t kl = t[i].n;
		bool wild = kl && k[0] == '.';
		if (wild) {
			k++;
			kl--;
		}
		if (kl && k[kl - 1] == '.')
			kl--;
		if (kl == 0 || kl > 253 || k[0] == '.')
			continue; /* ignored, or invalid ("..a": an empty first label) and never matched */
		if (len == kl && eq_fold(name, k, kl))
			return (int)i;
		if (wild && len > kl && name[len - kl - 1] == '.' && eq_fold(name + len - kl, k, kl))
			return (int)i;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line t[MAX_LINES], q[MAX_LINES];
	size_t nt = 0, nq = 0;
	bool queries = false;
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (!queries && n == 0)
			queries = true;
		else if (!queries && nt < MAX_LINES)
			t[nt++] = (struct line){p, n};
		else if (queries && nq < MAX_LINES)
			q[nq++] = (struct line){p, n};
		p += n + 1;
	}
	for (int how = 0; how < 2; how++) {
		/* 0: announced count, sealed; 1: no count, the build table */
		struct hg_domain_matcher *m = hg_domain_matcher_new(how == 0 ? nt : 0);
		for (size_t i = 0; i < nt; i++)
			hg_domain_matcher_add(m, t[i].p, t[i].n, (uint32_t)i);
		const char *names[MAX_LINES];
		size_t lens[MAX_LINES];
		uint32_t bidx[MAX_LINES];
		bool bfound[MAX_LINES];
		for (size_t i = 0; i < nq; i++) {
			/* a copy of exactly its bytes, so ASan sees any over-read */
			char *c = malloc(q[i].n ? q[i].n : 1);
			memcpy(c, q[i].p, q[i].n);
			names[i] = c;
			lens[i] = q[i].n;
		}
		hg_domain_matcher_lookup_batch(m, nq, names, lens, bidx, bfound);
		for (size_t i = 0; i < nq; i++) {
			uint32_t idx = 0;
			bool f = hg_domain_matcher_lookup(m, names[i], lens[i], &idx);
			int want = reference(t, nt, names[i], lens[i]);
			if ((f ? (int)idx : -1) != want || f != bfound[i] || (f && bidx[i] != idx))
				abort();
			free((void *)names[i]);
		}
		hg_domain_matcher_free(m);
	}
	return 0;
}
