/* run_live.h - the state of `hostgate run` and the functions of its files:
 * cmd_run.c (main, signals, reload) calls run_opts.c, run_table.c,
 * run_path.c, run_priv.c and run_stats.c; run_table.c calls the re-decision
 * (run_reload.h, which sees only its narrow context). No file calls back
 * into cmd_run.c. */
#ifndef HOSTGATE_CLI_RUN_LIVE_H
#define HOSTGATE_CLI_RUN_LIVE_H

#include <stdio.h>

#include "hostgate/actuate.h"
#include "hostgate/apply.h"
#include "hostgate/held_flow.h"
#include "hostgate/hold.h"
#include "hostgate/source.h"
#include "hostgate/table.h"
#include "run_reload.h"

struct live_stats {
	uint64_t frames, undecodable, passthrough;
	uint64_t flows_decided[4];
	uint64_t alert_frames, source_errors, reloads, reload_failures;
	uint64_t revoked;
	uint64_t syn_data_refused, no_syn_reset, refed;
	uint64_t ack_copies, await_conflicts;
};

/* The metrics of --metrics-log (run_metrics.c): EMF events per interval. */
enum { LIVE_METRIC_N = 8, LIVE_LATENCY_SAMPLES = 100 };
struct live_metrics {
	const char *path;              /* --metrics-log; NULL: none */
	uint64_t prev[LIVE_METRIC_N];  /* totals at the previous event */
	uint32_t lat_us[LIVE_LATENCY_SAMPLES]; /* sampled verdict latencies */
	uint32_t lat_n;
	uint64_t lat_seen;             /* decisions in this interval */
	uint64_t rng;
	uint64_t lost;                 /* lines that could not be written */
};

/* The custom actions' packets (run_custom.c), per dimension value, read
 * from the kernel's counters (table.h). */
struct live_custom_value {
	char value[HG_CA_VALUE_MAX + 1];
	uint64_t last;     /* the counter at the last reading */
	uint64_t total;    /* packets since the daemon started */
	uint64_t interval; /* packets since the last EMF event */
	bool present;      /* in the table at the last reading */
};
struct live_custom {
	struct live_custom_value *v;
	size_t n, cap;
	bool primed;          /* the first reading (the baseline) was taken */
	uint64_t read_errors; /* readings that failed (tried again next time) */
};

struct live {
	/* configuration */
	struct hg_rules_args ra;
	struct run_opts ro;
	struct hg_nft_opts nft;
	HG_VEC(const char *) inside;
	char *inside_storage;
	char *home_net_auto;
	uint32_t stats_interval;
	uint32_t verdict_timeout;
	uint32_t log_queue_bytes; /* per event log, its writer's queue */
	int nice;                 /* the packet path's scheduling priority */
	const char *user;
	bool remove_on_exit;
	struct hg_hold_config holdc;
	struct hg_kept_config keptc;

	/* state */
	struct hg_ruleset *rs;
	struct hg_engine *engine;
	struct hg_inspector *ins;  /* held packets; its flows' areas: struct hg_held_flow */
	struct hg_inspector *ains; /* kernel-decided alerts: events only */
	struct hg_source *src, *asrc;
	struct hg_actuator *act;
	struct hg_hold *hold; /* the held packets' caps (the queues are in the flows) */
	struct hg_kept *kept; /* allowed flows' packets, decided again at SIGHUP */
	struct hg_await_pool *await; /* passed flows' released bytes until the server's ACK */
	uint16_t gen;         /* the applied table's generation (ct mark) */
	bool dropping_inspector; /* its flows end, their verdicts stay in the kernel */
	struct hg_eventlog *alerts, *flows;
	struct hg_decode_stats dec;
	struct live_stats st;
	struct live_metrics metrics;
	struct live_custom custom;
};

/* ------------------------------------------- run_stats.c: messages */

/* A message on stderr, prefixed "hostgate: ". */
void live_log(const char *fmt, ...) HG_PRINTF(1, 2);
/* Wall-clock microseconds (the timestamps of events). */
uint64_t live_now_us(void);
/* The stats event: one JSON line on stderr (and the EMF event). */
void live_print_stats(struct live *L);

/* ------------------------------------- run_metrics.c: EMF metrics */

/* A flow's decision took us (from the deciding packet's capture). */
void live_note_verdict_latency(struct live *L, uint64_t us);
/* Appends the EMF event of the interval to --metrics-log (no-op without):
 * totals in metric order (PassedFlows, DroppedFlows, RejectedFlows,
 * Alerts, HeldPackets, ReleasedPackets, DiscardedPackets, LostEvents). */
void live_write_metrics(struct live *L, const uint64_t totals[LIVE_METRIC_N], uint64_t now_us);

/* Appends the interval's EMF events of the custom actions (one per
 * dimension value: [FirewallName, CustomAction] and with
 * AvailabilityZone, metric Packets) and starts the next interval. */
void live_write_custom_metrics(struct live *L, uint64_t now_us);

/* ---------------------------------- run_custom.c: custom action counts */

/* Reads the custom action counters back from the kernel and adds what
 * they counted since the last reading (the first reading is the
 * baseline); a failed read is counted and tried again next time. */
void live_custom_sample(struct live *L);
/* The table was replaced whole: its counters start again from zero. */
void live_custom_table_replaced(struct live *L);
/* Whether a reload keeps counter object `counter`: one of ours whose
 * value is among the n values the new table publishes. */
bool live_custom_keeps(const char *const *values, size_t n, const char *counter);
void live_custom_free(struct live *L);

/* ------------------------------------------------ run_opts.c: options */

/* Fills L from the command line (and the --config files it names); the
 * usage is run_usage. cli_parse's result: CLI_HELP printed the usage. */
extern const struct cli_usage run_usage;
int live_parse_args(struct live *L, int argc, char **argv);
/* HOME_NET from the inside interfaces' networks (malloc'd), or NULL. */
char *live_inside_networks(const struct live *L);

/* --------------------------------------------- run_path.c: the hot path */

/* Reads what is ready on s (held packets, or the kernel's alert copies). */
int live_drain_source(struct live *L, struct hg_source *s, bool held);
/* Commits the verdicts queued during one poll round. */
void live_flush_batch(struct live *L);
/* hg_inspector_carry's choice at a reload: every flow's state goes to the
 * new inspector, which rebuilds the handshake at its next packet. */
bool live_carry_flow(void *ud, void *area);
/* The inspectors of held packets and of kernel-decided alerts, on e. */
int live_make_inspectors(struct live *L, struct hg_engine *e, struct hg_inspector **ins,
			 struct hg_inspector **ains);
/* ------------------------- run_await.c: passed, until the server's ACK */

/* A TCP flow passed by p: its held packets and p released, their bytes
 * kept (kept: the reload's copy). True: it waits for the server's ACK (no
 * allow yet); false: nothing was released, allow it now (sent already). */
bool live_await_pass(struct live *L, struct hg_held_flow *hf, const struct hg_packet *p, struct hg_kept_rec *kept,
		     uint64_t now);
/* A client segment of a flow that waits: sent on or dropped. */
void live_await_client(struct live *L, struct hg_held_flow *hf, const struct hg_packet *p);
/* An ACK copy (HG_NFLOG_PREFIX_ACK): the flow it settles is allowed. */
void live_await_ack(struct live *L, const struct hg_packet *p, uint64_t now);

/* ------------------------------------------------ run_table.c: the table */

/* Loads the rules, builds the engine and replaces the table (keeping the
 * verdict-set elements; at a reload, revoke, denying the allowed flows the
 * new rules no longer allow). Nothing changes on failure: 0 or -1. */
int live_load_and_apply(struct live *L, struct hg_ruleset **rs_out, struct hg_engine **e_out, bool revoke);

/* ------------------------------------------------ run_priv.c: privileges */

/* Keeps CAP_NET_ADMIN and CAP_NET_RAW only; switches to user when given. */
int live_drop_privileges(const char *user, const char *const *logs, size_t n_logs);

#endif
