/* diag.h - diagnostics as data with a source location (STYLE.md 4).
 *
 * Every loader and check appends records here instead of printing; the CLI
 * prints them all as "FILE:LINE:COL: error: MESSAGE" and exits 2 when any
 * error was recorded. Nothing is applied or emitted after an error. */
#ifndef HOSTGATE_DIAG_H
#define HOSTGATE_DIAG_H

#include <stdio.h>

#include "hostgate/util.h"

/* A position in an input file. file is owned by the ruleset's arena (or is a
 * string literal); line and col count from 1; 0 means "unknown". */
struct hg_loc {
	const char *file;
	uint32_t line;
	uint32_t col;
};

enum hg_diag_level { HG_DIAG_ERROR, HG_DIAG_WARNING, HG_DIAG_NOTE };

struct hg_diag_record {
	enum hg_diag_level level;
	struct hg_loc loc;
	char *msg;
};

struct hg_diag {
	HG_VEC(struct hg_diag_record) recs;
	size_t errors;
	size_t warnings;
	/* Past this many errors further ones are counted but not stored, so
	 * a hostile file cannot grow the list without bound. */
	size_t max_records;
	/* --strict: every warning is recorded as an error. */
	bool strict;
};

void hg_diag_init(struct hg_diag *d);
void hg_diag_fini(struct hg_diag *d);
void hg_diag_error(struct hg_diag *d, struct hg_loc loc, const char *fmt, ...) HG_PRINTF(3, 4);
void hg_diag_warn(struct hg_diag *d, struct hg_loc loc, const char *fmt, ...) HG_PRINTF(3, 4);
void hg_diag_note(struct hg_diag *d, struct hg_loc loc, const char *fmt, ...) HG_PRINTF(3, 4);
void hg_diag_vadd(struct hg_diag *d, enum hg_diag_level lvl, struct hg_loc loc, const char *fmt,
		  va_list ap) HG_PRINTF(4, 0);
/* Prints every record in the order recorded. */
void hg_diag_print(const struct hg_diag *d, FILE *out);
static inline bool hg_diag_failed(const struct hg_diag *d) { return d->errors > 0; }

/* Suggests the nearest of candidates[] to word (NULL-terminated list), or
 * NULL when nothing is close. Used for "unknown key 'Tragets'; did you mean
 * 'Targets'?" */
const char *hg_diag_nearest(const char *word, const char *const *candidates);

#endif
