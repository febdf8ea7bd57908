/* engine_match.c - Suricata content matching on one sticky buffer: absolute
 * (offset, depth, startswith, endswith) and relative (distance, within)
 * windows, negation, nocase, the dotprefix transform, and backtracking of
 * relative matches, as the detection engine does it (reference/anfw.md §6;
 * Suricata payload-keywords: startswith = depth:len offset:0, endswith =
 * isdataat:!1,relative). */
#include "engine_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

/* Suricata caps content inspection recursion (inspection-recursion-limit);
 * a hostile buffer cannot make one rule cost more than this many steps. */
#define MATCH_BUDGET 3000
/* Suricata's pcre match-limit default (detect.pcre.match-limit). A pattern
 * that backtracks without end on a hostile buffer stops there; that is an
 * engine error, not a "no match" (a drop rule must not let it through):
 * the caller drops the flow (HG_EVASION_MATCH_ERROR). */
#define PCRE_MATCH_LIMIT 3500
#define PCRE_DEPTH_LIMIT 1500

struct mctx {
	const struct hg_match *const *m;
	void *const *re;
	size_t n;
	const uint8_t *buf;
	size_t len;
	int budget;
	bool error; /* a pcre search failed: no answer, whatever the rest says */
};

static bool is_relative(const struct hg_match *m)
{
	if (m->kind == HG_MATCH_PCRE)
		return m->pcre_relative;
	return m->distance != INT32_MIN || m->within != INT32_MIN;
}

void *hg_eng_pcre_compile(const struct hg_match *m)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)m->pcre, PCRE2_ZERO_TERMINATED,
				       m->pcre_options | PCRE2_NEVER_UTF, &err, &off, NULL);
	if (re)
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter if no JIT */
	return re;
}

void hg_eng_pcre_free(void *re)
{
	pcre2_code_free(re);
}

/* One match block and one context a thread, made at its first pcre: they
 * were allocated and freed at every search, on the packet path. */
static _Thread_local pcre2_match_data *pcre_md;
static _Thread_local pcre2_match_context *pcre_ctx;
static _Thread_local bool pcre_fail_alloc; /* tests: hg_eng_pcre_fail_alloc() */

void hg_eng_pcre_fail_alloc(bool fail)
{
	pcre2_match_data_free(pcre_md);
	pcre2_match_context_free(pcre_ctx);
	pcre_md = NULL;
	pcre_ctx = NULL;
	pcre_fail_alloc = fail;
}

static bool pcre_thread_init(void)
{
	if (pcre_md && pcre_ctx)
		return true;
	if (pcre_fail_alloc)
		return false;
	if (!pcre_md)
		pcre_md = pcre2_match_data_create(1, NULL);
	if (!pcre_ctx && (pcre_ctx = pcre2_match_context_create(NULL))) {
		pcre2_set_match_limit(pcre_ctx, PCRE_MATCH_LIMIT);
		pcre2_set_depth_limit(pcre_ctx, PCRE_DEPTH_LIMIT);
	}
	return pcre_md && pcre_ctx;
}

/* One pcre search: Suricata runs a relative pattern on the buffer from the
 * previous match's end (so '^' anchors there) and an absolute one on the
 * whole buffer; a retry for a later relative successor starts one byte
 * after the last match. [*s, *e) is the match in buf. False and c->error
 * when the search could not be run or gave up (no pattern: it failed to
 * compile here though the loader compiled it; no memory; a match, depth or
 * heap limit): the answer is unknown, never "no match". */
static bool pcre_find(struct mctx *c, void *re, size_t base, size_t from, size_t *s, size_t *e)
{
	if (base > c->len || from > c->len - base)
		return false;
	if (!re || !pcre_thread_init()) {
		c->error = true;
		return false;
	}
	int rc = pcre2_match(re, (PCRE2_SPTR)c->buf + base, c->len - base, from, 0, pcre_md, pcre_ctx);
	if (rc < 0) {
		if (rc != PCRE2_ERROR_NOMATCH)
			c->error = true;
		return false;
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(pcre_md);
	*s = base + ov[0];
	*e = base + (ov[1] >= ov[0] ? ov[1] : ov[0]);
	return true;
}

static bool match_from(struct mctx *c, size_t i, size_t prev_end);

/* match_from() for a pcre: negated ones must not match from their start;
 * others backtrack like contents when a relative match follows. */
static bool pcre_step(struct mctx *c, size_t i, size_t prev_end)
{
	const struct hg_match *m = c->m[i];
	size_t base = m->pcre_relative ? prev_end : 0, s, e, from = 0;
	if (m->negated) {
		if (pcre_find(c, c->re[i], base, 0, &s, &e) || c->error)
			return false;
		return match_from(c, i + 1, prev_end);
	}
	bool next_relative = i + 1 < c->n && is_relative(c->m[i + 1]);
	while (pcre_find(c, c->re[i], base, from, &s, &e)) {
		if (match_from(c, i + 1, e))
			return true;
		if (c->error || !next_relative || --c->budget < 0)
			return false;
		from = s - base + 1;
	}
	return false;
}

static bool bytes_eq(const uint8_t *a, const uint8_t *b, size_t n, bool nocase)
{
	if (!nocase)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (hg_lower(a[i]) != hg_lower(b[i]))
			return false;
	return true;
}

/* The window [lo, hi) a match of m must lie in, given where the previous
 * match of this buffer ended. Snort/Suricata: depth counts from offset;
 * within counts from the previous end plus distance. */
static bool window(const struct hg_match *m, size_t len, size_t prev_end, size_t *lo_out,
		   size_t *hi_out)
{
	int64_t lo = 0, hi = (int64_t)len;
	int64_t off = m->offset >= 0 ? m->offset : 0;

	if (m->offset >= 0)
		lo = off;
	if (m->depth >= 0 && off + m->depth < hi)
		hi = off + m->depth;
	if (m->startswith) {
		lo = 0;
		if ((int64_t)m->len < hi)
			hi = (int64_t)m->len;
	}
	if (is_relative(m)) {
		int64_t d = m->distance != INT32_MIN ? m->distance : 0;
		int64_t s = (int64_t)prev_end + d;
		if (s > lo)
			lo = s;
		if (m->within != INT32_MIN && (int64_t)prev_end + d + m->within < hi)
			hi = (int64_t)prev_end + d + m->within;
	}
	if (lo < 0)
		lo = 0;
	if (hi < lo || hi - lo < (int64_t)m->len)
		return false;
	*lo_out = (size_t)lo;
	*hi_out = (size_t)hi;
	return true;
}

/* Next occurrence of m starting at or after *pos inside [lo, hi); endswith
 * pins it to the end of the buffer. */
static bool find_next(const struct mctx *c, const struct hg_match *m, size_t lo, size_t hi,
		      size_t *pos)
{
	size_t start = *pos < lo ? lo : *pos;
	if (m->endswith) {
		if (m->len > c->len)
			return false;
		size_t only = c->len - m->len;
		if (only < start || only + m->len > hi)
			return false;
		if (!bytes_eq(c->buf + only, m->bytes, m->len, m->nocase))
			return false;
		*pos = only;
		return true;
	}
	for (size_t s = start; s + m->len <= hi; s++) {
		if (m->len && !m->nocase) {
			const uint8_t *q = memchr(c->buf + s, m->bytes[0], hi - m->len - s + 1);
			if (!q)
				return false;
			s = (size_t)(q - c->buf);
		}
		if (bytes_eq(c->buf + s, m->bytes, m->len, m->nocase)) {
			*pos = s;
			return true;
		}
	}
	return false;
}

static bool match_from(struct mctx *c, size_t i, size_t prev_end)
{
	if (i == c->n)
		return true;
	if (c->error || --c->budget < 0)
		return false;
	const struct hg_match *m = c->m[i];
	size_t lo, hi, pos = 0;

	if (m->kind == HG_MATCH_PCRE)
		return pcre_step(c, i, prev_end);
	if (m->negated) {
		/* The content must not occur in its window; a negated match does
		 * not move the relative anchor. */
		if (window(m, c->len, prev_end, &lo, &hi) && find_next(c, m, lo, hi, &pos))
			return false;
		return match_from(c, i + 1, prev_end);
	}
	if (!window(m, c->len, prev_end, &lo, &hi))
		return false;
	bool next_relative = i + 1 < c->n && is_relative(c->m[i + 1]);
	while (find_next(c, m, lo, hi, &pos)) {
		if (match_from(c, i + 1, pos + m->len))
			return true;
		/* Only a relative successor can profit from a later occurrence. */
		if (c->error || !next_relative || m->endswith || --c->budget < 0)
			return false;
		pos++;
	}
	return false;
}

int hg_eng_content_match(const struct hg_match *const *m, void *const *re, size_t n,
			 const uint8_t *buf, size_t len, bool dotprefix)
{
	uint8_t tmp[HG_ENG_DOTPREFIX_MAX + 1];

	if (dotprefix) {
		/* "adding the dot allows google.com to match against
		 * content:\".google.com\"" (Suricata transforms, §6). */
		if (len > HG_ENG_DOTPREFIX_MAX)
			return false;
		tmp[0] = '.';
		if (len)
			memcpy(tmp + 1, buf, len);
		buf = tmp;
		len++;
	}
	struct mctx c = {.m = m, .re = re, .n = n, .buf = buf, .len = len, .budget = MATCH_BUDGET};
	bool hit = match_from(&c, 0, 0);
	return c.error ? HG_ENG_MATCH_ERROR : hit ? HG_ENG_MATCH : HG_ENG_NO_MATCH;
}
