/* replay_run.h - running a capture through an inspector, and what replay,
 * test and diff keep of each ended flow. */
#ifndef HOSTGATE_REPLAY_RUN_H
#define HOSTGATE_REPLAY_RUN_H

#include "cli.h"
#include "hostgate/inspect.h"

/* What the commands keep of an ended flow (strings copied). */
struct flow_record {
	uint64_t flow_id;
	struct hg_ip cli, srv;
	uint16_t cport, sport;
	uint8_t proto;
	uint64_t first_us;
	enum hg_app_proto app;
	char *sni, *host, *quic_sni; /* NULL when absent */
	char *dns_query;             /* first question name of a DNS request */
	bool tls_no_sni;
	enum hg_verdict verdict;
	enum hg_layer by;      /* decided_by */
	uint32_t sl_priority;  /* by a stateless rule: its priority */
	uint32_t sl_dropped, sl_passed; /* packets the stateless layer took */
	uint32_t sid;          /* deciding rule's sid, 0 if none */
	char *msg;             /* deciding rule's msg or description */
	char *group;           /* deciding group name, NULL for the policy */
	HG_VEC(uint32_t) alert_sids;
	HG_VEC(char *) alert_msgs;
	HG_VEC(const char *) alert_actions;
	uint64_t pkts[2], bytes[2];
	uint32_t evasion;
};

void flow_record_fill(struct flow_record *r, const struct hg_engine *e, const struct hg_flow *f,
		      const struct hg_iflow *fi);
void flow_record_free(struct flow_record *r);
/* The alerts of a flow arrive before its end: records are built in a
 * scratch list keyed by flow_id until then. */

struct run_opts {
	struct hg_inspect_config inspect;
	const char *alert_log, *flow_log;
	enum hg_log_format log_format;
	const char *availability_zone;
	/* replay --packets: one JSON line per frame (its verdict and the
	 * layer that decided it), for the first engine; NULL: none. */
	FILE *packets;
};

void run_opts_defaults(struct run_opts *o);
/* --max-flows, --stream-depth, --overlap-policy, --alert-log, --flow-log,
 * --log-format as a cli_parse group applying to o. */
struct cli_group run_opts_group(struct run_opts *o);

/* The command line of replay, test and diff: rule options, run options and
 * the command's own groups; the positional arguments into ra->files.
 * Returns cli_parse's result (CLI_HELP: usage printed, exit 0). */
int run_cmdline(const struct cli_usage *u, struct cli_group *own, size_t n_own, int argc, char **argv,
		struct hg_rules_args *ra, struct run_opts *ro);

/* Per-flow sink: called at each flow's end with its finished record. */
typedef void (*record_fn)(void *ud, struct flow_record *r);

struct run_stats {
	struct hg_inspect_stats ins;
	/* Custom actions (publish-metric) and the packets they counted:
	 * "CountTelnet 3, ..." (empty when the policy has none). */
	char custom[512];
	uint64_t log_lost;
};

/* Replays path through engine(s) built from each ruleset: n engines fed the
 * same packets in lockstep (diff uses two). sinks[i] gets engine i's flows.
 * Returns 0, or 2 with a message on stderr (unreadable capture). */
int run_capture(const char *path, const struct hg_ruleset *const *rs, size_t n, const struct run_opts *o,
		record_fn *sinks, void **sink_ud, struct run_stats *stats);

/* A list of records (test and diff keep a capture's flows). */
struct record_list {
	HG_VEC(struct flow_record) v;
};
/* A record_fn: appends a copy of r (without its alert list). */
void record_list_sink(void *ud, struct flow_record *r);
void record_list_free(struct record_list *l);

/* The event-log side of a run, shared by replay and the live daemon:
 * opens path as the options say (NULL for no path, or after a message on
 * failure), writes an alert or an ended flow as ANFW/EVE lines (log may be
 * NULL: nothing written). */
struct hg_eventlog *run_open_log(const char *path, const struct run_opts *o, const struct hg_ruleset *rs);
void run_log_alert(struct hg_eventlog *log, const struct hg_ruleset *rs, const struct hg_inspect_event *ev,
		   const struct hg_alert *a);
void run_log_flow_end(struct hg_eventlog *log, const struct hg_inspect_event *ev, enum hg_flow_end why);

void print_summary(FILE *out, const struct run_stats *st);
void format_endpoint(char *buf, size_t len, const struct hg_ip *ip, uint16_t port);

#endif
