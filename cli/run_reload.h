/* run_reload.h - the reload's re-decision of allowed flows (run_reload.c):
 * it sees only what it reads and writes (the kept copies, the actuator,
 * the alert log, the inspector's configuration), not the daemon's state. */
#ifndef HOSTGATE_CLI_RUN_RELOAD_H
#define HOSTGATE_CLI_RUN_RELOAD_H

#include <stdio.h>

#include "hostgate/actuate.h"
#include "hostgate/held_flow.h"
#include "hostgate/hold.h"
#include "replay_run.h"


/* A message on stderr, prefixed "hostgate: " (run_stats.c). */
void live_log(const char *fmt, ...) HG_PRINTF(1, 2);

struct redecide {
	/* the context */
	struct hg_kept *kept;
	struct hg_actuator *act;
	struct hg_eventlog *alerts;
	const struct hg_inspect_config *inspect;
	const char *table;
	uint32_t verdict_timeout;
	const struct hg_ruleset *rs;
	uint64_t now;
	/* the work */
	struct hg_inspector *ins;
	bool logging; /* second pass: only the revoked flows, alerts logged */
	HG_VEC(struct hg_hold_key) revoke; /* sorted for the second pass */
	size_t checked, still, undecided, no_bytes;
};

/* Logs prefix, the number of allowed flows in the verdict sets less minus,
 * and the suffix (a format), once a thread of its own has counted them
 * (run_count.c): the count never holds up held packets. quiet_zero: no
 * line when the number is 0. */
void live_count_allowed(const char *table, long minus, bool quiet_zero, const char *prefix, const char *suffix_fmt,
			...) HG_PRINTF(5, 6);
/* Decides every kept flow again on engine e: the first pass collects the
 * flows to revoke, the second (rd->logging) logs their alerts. -1 when no
 * inspector could be made. */
int live_redecide_pass(struct redecide *rd, struct hg_engine *e);
/* The revoked flows' deny elements committed (undo: deleted again), before
 * the replacing transaction. 0 or -errno. */
int live_deny_revoked(struct redecide *rd, bool undo);
/* After the new table is in: alerts, allow elements deleted, kept copies
 * dropped, and the reload's counts logged. */
void live_finish_revoke(struct redecide *rd, struct hg_engine *e);

#endif
