/* diag.c - the diagnostics collector. Records are kept in order and printed
 * once, so every error of a run is reported together (pfctl-style). */
#include "hostgate/diag.h"

#include <stdlib.h>
#include <string.h>

void hg_diag_init(struct hg_diag *d)
{
	memset(d, 0, sizeof(*d));
	d->max_records = 1000;
}

void hg_diag_fini(struct hg_diag *d)
{
	for (size_t i = 0; i < d->recs.n; i++)
		free(d->recs.v[i].msg);
	hg_vec_free(&d->recs);
}

void hg_diag_vadd(struct hg_diag *d, enum hg_diag_level lvl, struct hg_loc loc, const char *fmt, va_list ap)
{
	if (lvl == HG_DIAG_WARNING && d->strict)
		lvl = HG_DIAG_ERROR;
	if (lvl == HG_DIAG_ERROR)
		d->errors++;
	else if (lvl == HG_DIAG_WARNING)
		d->warnings++;
	if (d->max_records && d->recs.n >= d->max_records)
		return;
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		hg_oom();
	struct hg_diag_record r = {.level = lvl, .loc = loc, .msg = msg};
	hg_vec_push(&d->recs, r);
}

#define HG_DIAG_FN(name, lvl)                                                          \
	void name(struct hg_diag *d, struct hg_loc loc, const char *fmt, ...)          \
	{                                                                              \
		va_list ap;                                                            \
		va_start(ap, fmt);                                                     \
		hg_diag_vadd(d, lvl, loc, fmt, ap);                                    \
		va_end(ap);                                                            \
	}
HG_DIAG_FN(hg_diag_error, HG_DIAG_ERROR)
HG_DIAG_FN(hg_diag_warn, HG_DIAG_WARNING)
HG_DIAG_FN(hg_diag_note, HG_DIAG_NOTE)

void hg_diag_print(const struct hg_diag *d, FILE *out)
{
	static const char *const names[] = {"error", "warning", "note"};
	for (size_t i = 0; i < d->recs.n; i++) {
		const struct hg_diag_record *r = &d->recs.v[i];
		const char *file = r->loc.file ? r->loc.file : "hostgate";
		if (r->loc.line)
			fprintf(out, "%s:%u:%u: %s: %s\n", file, r->loc.line, r->loc.col ? r->loc.col : 1,
				names[r->level], r->msg);
		else
			fprintf(out, "%s: %s: %s\n", file, names[r->level], r->msg);
	}
	size_t stored_errors = 0;
	for (size_t i = 0; i < d->recs.n; i++)
		stored_errors += d->recs.v[i].level == HG_DIAG_ERROR;
	if (d->errors > stored_errors)
		fprintf(out, "hostgate: error: %zu more errors not shown\n", d->errors - stored_errors);
}

const char *hg_diag_nearest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; candidates[i]; i++) {
		size_t dist = hg_levenshtein(word, candidates[i]);
		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	size_t len = strlen(word);
	size_t limit = len <= 4 ? 1 : len <= 10 ? 3 : 4;
	return best_d <= limit ? best : NULL;
}
