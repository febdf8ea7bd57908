/* run_live.h - the state of `hostgate run` (cmd_run.c), shared with the
 * reload's re-decision of allowed flows (run_reload.c). */
#ifndef HOSTGATE_CLI_RUN_LIVE_H
#define HOSTGATE_CLI_RUN_LIVE_H

#include <stdio.h>

#include "hostgate/actuate.h"
#include "hostgate/apply.h"
#include "hostgate/hold.h"
#include "hostgate/source.h"
#include "replay_run.h"

#define LINKTYPE_RAW 101

struct live_stats {
	uint64_t frames, undecodable, passthrough, refused_full;
	uint64_t flows_decided[4];
	uint64_t alert_frames, source_errors, reloads, reload_failures;
	uint64_t revoked;
};

struct live {
	/* configuration */
	struct hg_rules_args ra;
	struct run_opts ro;
	struct hg_nft_opts nft;
	HG_VEC(const char *) inside;
	char *inside_storage;
	char *home_net_auto;
	bool home_net_given;
	uint32_t stats_interval;
	uint32_t verdict_timeout;
	const char *user;
	bool remove_on_exit;
	struct hg_hold_config holdc;
	struct hg_kept_config keptc;

	/* state */
	struct hg_ruleset *rs;
	struct hg_engine *engine;
	struct hg_inspector *ins;  /* held packets */
	struct hg_inspector *ains; /* kernel-decided alerts: events only */
	struct hg_source *src, *asrc;
	struct hg_actuator *act;
	struct hg_hold *hold;
	struct hg_kept *kept; /* allowed flows' packets, decided again at SIGHUP */
	uint16_t gen;         /* the applied table's generation (ct mark) */
	struct hg_eventlog *alerts, *flows;
	struct hg_decode_stats dec;
	struct live_stats st;
};

/* A message on stderr, prefixed "hostgate: ". */
void live_log(const char *fmt, ...) HG_PRINTF(1, 2);
/* Wall-clock microseconds (the timestamps of events). */
uint64_t live_now_us(void);
/* Feeds ins the SYN and SYN-ACK of the TCP flow of p (its first held
 * segment), rebuilt from its sequence numbers. */
void live_feed_handshake(struct hg_inspector *ins, const struct hg_packet *p, uint64_t ts);

/* ---------------------------------------- deciding again at reload */

struct redecide {
	struct live *L;
	const struct hg_ruleset *rs;
	struct hg_inspector *ins;
	uint64_t now;
	bool logging; /* second pass: only the revoked flows, alerts logged */
	HG_VEC(struct hg_hold_key) revoke; /* sorted for the second pass */
	size_t checked, still, undecided, no_bytes;
};

/* Allowed flows in the verdict sets now (2 elements each); -1 unknown. */
long live_allowed_flows(struct live *L);
/* Decides every kept flow again on engine e: the first pass collects the
 * flows to revoke, the second (rd->logging) logs their alerts. -1 when no
 * inspector could be made. */
int live_redecide_pass(struct redecide *rd, struct hg_engine *e);
/* The revoked flows' deny elements, as lines of the replacing transaction. */
void live_put_revoked(const struct redecide *rd, FILE *m);
/* After the new table is in: alerts, allow elements deleted, kept copies
 * dropped, and the reload's counts logged. */
void live_finish_revoke(struct redecide *rd, struct hg_engine *e);

#endif
