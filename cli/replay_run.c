/* replay_run.c - a capture through one or more inspectors in lockstep, with
 * the ANFW alert and flow logs, and the per-flow records the replay, test
 * and diff commands print or compare. */
#include "replay_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostgate/source.h"

void run_opts_defaults(struct run_opts *o)
{
	memset(o, 0, sizeof(*o));
	hg_inspect_config_defaults(&o->inspect);
	o->log_format = HG_LOG_ANFW;
	o->availability_zone = "local";
}

enum {
	OPT_MAX_FLOWS = CLI_OPT_RUN,
	OPT_STREAM_DEPTH,
	OPT_OVERLAP_POLICY,
	OPT_ALERT_LOG,
	OPT_FLOW_LOG,
	OPT_LOG_FORMAT,
};

static const struct cli_opt run_opts_table[] = {
	{"max-flows", "N", OPT_MAX_FLOWS, "flows tracked at once (oldest evicted beyond)"},
	{"stream-depth", "BYTES", OPT_STREAM_DEPTH, "client bytes inspected per flow"},
	{"overlap-policy", "drop|first", OPT_OVERLAP_POLICY, "conflicting TCP overlaps: drop the flow (default), or first wins (replay)"},
	{"alert-log", "FILE", OPT_ALERT_LOG, "write ANFW alert log lines to FILE"},
	{"flow-log", "FILE", OPT_FLOW_LOG, "write ANFW flow log lines to FILE"},
	{"log-format", "anfw|eve", OPT_LOG_FORMAT, "log line format (default anfw)"},
	{0},
};

static int run_opts_set(void *ud, int val, const char *v)
{
	struct run_opts *o = ud;
	uint32_t n;
	switch (val) {
	case OPT_MAX_FLOWS:
		if (cli_parse_u32("max-flows", v, 1, 100000000u, &n))
			return -1;
		o->inspect.flow.max_flows = n;
		return 0;
	case OPT_STREAM_DEPTH:
		if (cli_parse_u32("stream-depth", v, 1, 100000000u, &n))
			return -1;
		o->inspect.stream.depth_to_server = n;
		return 0;
	case OPT_OVERLAP_POLICY:
		if (!strcmp(v, "first"))
			o->inspect.stream.policy = HG_STREAM_POLICY_FIRST_WINS;
		else if (!strcmp(v, "drop"))
			o->inspect.stream.policy = HG_STREAM_POLICY_DROP;
		else {
			fprintf(stderr, "hostgate: --overlap-policy wants first or drop, not '%s'\n", v);
			return -1;
		}
		return 0;
	case OPT_ALERT_LOG:
		o->alert_log = v;
		return 0;
	case OPT_FLOW_LOG:
		o->flow_log = v;
		return 0;
	case OPT_LOG_FORMAT:
		if (!hg_log_format_parse(v, &o->log_format)) {
			fprintf(stderr, "hostgate: --log-format wants anfw or eve, not '%s'\n", v);
			return -1;
		}
		return 0;
	}
	return -1;
}

struct cli_group run_opts_group(struct run_opts *o)
{
	return (struct cli_group){"inspection and log options", run_opts_table, run_opts_set, o};
}

int run_cmdline(const struct cli_usage *u, struct cli_group *own, size_t n_own, int argc, char **argv,
		struct hg_rules_args *ra, struct run_opts *ro)
{
	hg_load_opts_defaults(&ra->load);
	run_opts_defaults(ro);
	struct cli_group groups[4] = {hg_rules_args_group(ra), run_opts_group(ro)};
	size_t n = 2;
	for (size_t i = 0; i < n_own && n < HG_ARRAY_LEN(groups); i++)
		groups[n++] = own[i];
	int first;
	enum cli_result r = cli_parse(u, groups, n, argc, argv, &first);
	if (r == CLI_OK)
		hg_rules_args_positional(ra, argc, argv, first);
	return r;
}

static char *slice_dup(struct hg_slice s)
{
	return s.p ? xstrndup((const char *)s.p, s.len) : NULL;
}

void flow_record_fill(struct flow_record *r, const struct hg_engine *e, const struct hg_flow *f,
		      const struct hg_iflow *fi)
{
	r->flow_id = f->flow_id;
	r->cli = f->cli;
	r->srv = f->srv;
	r->cport = f->cport;
	r->sport = f->sport;
	r->proto = f->proto;
	r->first_us = f->first_us;
	r->app = fi->app.proto;
	r->sni = slice_dup(fi->app.tls_sni);
	r->tls_no_sni = fi->app.proto == HG_APP_TLS && (fi->app.ssl_state & HG_SSL_CLIENT_HELLO) &&
			!fi->app.tls_sni.p;
	r->host = slice_dup(fi->app.http_host);
	r->quic_sni = slice_dup(fi->app.quic_sni);
	r->dns_query = slice_dup(fi->app.dns_query);
	r->verdict = hg_iflow_verdict(fi);
	r->evasion = fi->evasion;
	for (int d = 0; d < 2; d++) {
		r->pkts[d] = f->d[d].pkts;
		r->bytes[d] = f->d[d].bytes;
	}
	r->sl_dropped = fi->ef.sl_dropped;
	r->sl_passed = fi->ef.sl_passed;
	struct hg_eng_decider dec;
	if (hg_engine_flow_decider(e, &fi->ef, &dec) && dec.kind != HG_DECIDER_NONE) {
		r->by = dec.layer;
		if (dec.srule)
			r->sl_priority = dec.srule->r->priority;
		r->sid = dec.sid;
		r->msg = xstrdup(dec.msg ? dec.msg : "");
		r->group = dec.group ? xstrdup(dec.group->name) : NULL;
	} else if (fi->forced != HG_VERDICT_UNDECIDED && !hg_eng_flow_decided(&fi->ef)) {
		r->msg = xstrdup("evasion policy");
	}
}

void flow_record_free(struct flow_record *r)
{
	free(r->sni);
	free(r->host);
	free(r->quic_sni);
	free(r->dns_query);
	free(r->msg);
	free(r->group);
	for (size_t i = 0; i < r->alert_msgs.n; i++)
		free(r->alert_msgs.v[i]);
	hg_vec_free(&r->alert_sids);
	hg_vec_free(&r->alert_msgs);
	hg_vec_free(&r->alert_actions);
}

/* One inspector and what it writes. */
struct lane {
	struct hg_inspector *ins;
	struct hg_engine *engine;
	const struct hg_ruleset *rs;
	struct hg_eventlog *alerts, *flows;
	record_fn sink;
	void *sink_ud;
	/* Alerts of flows still alive, until their record is emitted: kept in
	 * the record being built, found by flow_id. */
	HG_VEC(struct flow_record *) open;
};

static struct flow_record *open_record(struct lane *l, uint64_t flow_id, bool create)
{
	for (size_t i = l->open.n; i-- > 0;)
		if (l->open.v[i]->flow_id == flow_id)
			return l->open.v[i];
	if (!create)
		return NULL;
	struct flow_record *r = xcalloc(1, sizeof(*r));
	r->flow_id = flow_id;
	hg_vec_push(&l->open, r);
	return r;
}

static const char *end_reason(enum hg_flow_end why)
{
	switch (why) {
	case HG_FLOW_END_TIMEOUT:
	case HG_FLOW_END_REUSED:
		return "timeout";
	case HG_FLOW_END_EVICTED:
		return "forced";
	default:
		return "shutdown";
	}
}

static void on_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct lane *l = ud;
	if (l->sink) {
		/* Keep a bounded list of alerts per flow for the record. */
		struct flow_record *r = open_record(l, ev->flow->flow_id, true);
		if (r->alert_sids.n < 32) {
			hg_vec_push(&r->alert_sids, a->sid);
			hg_vec_push(&r->alert_msgs, xstrdup(a->msg));
			hg_vec_push(&r->alert_actions, a->alert_action);
		}
	}
	run_log_alert(l->alerts, l->rs, ev, a);
}

void run_log_alert(struct hg_eventlog *log, const struct hg_ruleset *rs, const struct hg_inspect_event *ev,
		   const struct hg_alert *a)
{
	if (!log)
		return;
	struct hg_log_flow lf;
	struct hg_log_tls tls;
	struct hg_log_http http;
	struct hg_log_alert la;
	hg_inspect_log_flow(ev->flow, ev->iflow, &lf, &tls, &http);
	hg_log_alert_from_engine(&la, a, rs->policy ? rs->policy->arn : NULL);
	hg_eventlog_alert(log, &lf, &la, ev->ts_us, ev->dir == HG_DIR_TO_SERVER);
}

void run_log_flow_end(struct hg_eventlog *log, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	if (!log)
		return;
	struct hg_log_flow lf;
	struct hg_log_tls tls;
	struct hg_log_http http;
	hg_inspect_log_flow(ev->flow, ev->iflow, &lf, &tls, &http);
	lf.reason = end_reason(why);
	hg_eventlog_netflow(log, &lf, ev->flow->last_us);
}

static void on_flow_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	struct lane *l = ud;
	run_log_flow_end(l->flows, ev, why);
	if (!l->sink)
		return;
	struct flow_record *r = open_record(l, ev->flow->flow_id, false);
	struct flow_record fresh = {0};
	if (r) {
		/* Remove it from the open list (order does not matter). */
		for (size_t i = 0; i < l->open.n; i++)
			if (l->open.v[i] == r) {
				l->open.v[i] = l->open.v[--l->open.n];
				break;
			}
		fresh = *r;
		free(r);
	}
	flow_record_fill(&fresh, l->engine, ev->flow, ev->iflow);
	l->sink(l->sink_ud, &fresh);
	flow_record_free(&fresh);
}

struct hg_eventlog *run_open_log(const char *path, const struct run_opts *o, const struct hg_ruleset *rs)
{
	if (!path)
		return NULL;
	int err = 0;
	struct hg_eventlog *log = hg_eventlog_open(path, o->log_format, rs->firewall_name, o->availability_zone, &err);
	if (!log)
		fprintf(stderr, "hostgate: %s: %s\n", path, strerror(-err));
	return log;
}

/* Progress of a long replay, on standard error and only when it is a
 * terminal (a pipe or a log file gets nothing): packets, flows, how far
 * into the file, the rate; redrawn at most every interval_ms, erased at the
 * end. The file offset is estimated from the records' sizes (a pcap record
 * is a 16-byte header and its captured bytes), so no reader state is needed. */
struct progress {
	bool on;
	char *path; /* escaped for the terminal */
	uint64_t file_bytes, read_bytes, frames;
	uint64_t t0_us, last_us, interval_us;
	bool drawn;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void progress_start(struct progress *p, const char *path)
{
	memset(p, 0, sizeof(*p));
	struct stat st;
	if (!isatty(STDERR_FILENO) || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	p->on = true;
	p->path = cli_term_escape(path);
	p->file_bytes = (uint64_t)st.st_size;
	p->read_bytes = 24; /* the file header */
	p->t0_us = p->last_us = mono_us();
	/* HG_PROGRESS_MS: the redraw interval (tests set 0 to see it on a
	 * small capture); default 250 ms. */
	const char *ms = getenv("HG_PROGRESS_MS");
	p->interval_us = (ms ? strtoull(ms, NULL, 10) : 250) * 1000u;
}

static void progress_frame(struct progress *p, const struct hg_inspector *ins, uint32_t caplen)
{
	if (!p->on)
		return;
	p->frames++;
	p->read_bytes += 16 + caplen;
	if ((p->frames & 1023) && p->interval_us)
		return;
	uint64_t now = mono_us();
	if (now - p->last_us < p->interval_us)
		return;
	p->last_us = now;
	struct hg_inspect_stats st;
	hg_inspector_stats(ins, &st);
	double secs = (double)(now - p->t0_us) / 1e6;
	unsigned pct = p->file_bytes ? (unsigned)(p->read_bytes * 100 / p->file_bytes) : 0;
	fprintf(stderr, "\rreplay: %llu packets, %llu flows, %u%% of %s, %.0f packets/s\033[K",
		(unsigned long long)p->frames, (unsigned long long)st.flows.created, pct > 99 ? 99 : pct, p->path,
		secs > 0 ? (double)p->frames / secs : 0.0);
	p->drawn = true;
}

static void progress_end(struct progress *p)
{
	if (p->drawn)
		fputs("\r\033[K", stderr);
	free(p->path);
}

/* Packets per custom action dimension value, summed as CloudWatch sums
 * one metric over every rule that publishes it (API Dimension: "Network
 * Firewall sets the dimension name to CustomAction and you provide the
 * dimension value"), a rule's packet once per value: what the kernel's
 * counters count live (table.h). */
struct custom_sum {
	const char *dim;
	uint64_t n;
};
struct custom_sums { /* an HG_VEC of them */
	struct custom_sum *v;
	size_t n, cap;
};

static void custom_add(struct custom_sums *v, const char *const *dims, size_t n_dims, uint64_t n)
{
	for (size_t i = 0; i < n_dims; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(dims[i], dims[j]);
		for (size_t k = 0; k < v->n && !seen; k++)
			if (!strcmp(v->v[k].dim, dims[i])) {
				v->v[k].n += n;
				seen = true;
			}
		if (!seen)
			hg_vec_push(v, ((struct custom_sum){dims[i], n}));
	}
}

/* Custom actions count the packets their rule or default took (§3.1:
 * they publish a CloudWatch metric; we count): "value=packets, ...". */
static void custom_counts(const struct hg_inspector *ins, const struct hg_ruleset *rs, char *buf, size_t len)
{
	size_t n;
	const uint64_t *hits = hg_inspector_stateless_hits(ins, &n);
	const struct hg_engine *e = hg_inspector_engine(ins);
	const struct hg_policy *pol = rs->policy;
	struct custom_sums v = {0};
	for (size_t i = 0; i + 2 < n; i++) {
		const struct hg_sl_rank *sr = hg_engine_stateless_rule(e, (uint32_t)i);
		if (sr)
			custom_add(&v, sr->r->custom_dimensions, sr->r->n_custom_actions, hits[i]);
	}
	custom_add(&v, pol->stateless_default_dimensions, pol->n_stateless_default_custom, hits[n - 2]);
	custom_add(&v, pol->stateless_fragment_dimensions, pol->n_stateless_fragment_custom, hits[n - 1]);
	buf[0] = '\0';
	for (size_t k = 0, used = 0; k < v.n && used < len; k++, used = strlen(buf))
		snprintf(buf + used, len - used, "%s%s=%llu", used ? ", " : "", v.v[k].dim,
			 (unsigned long long)v.v[k].n);
	hg_vec_free(&v);
}

int run_capture(const char *path, const struct hg_ruleset *const *rs, size_t n, const struct run_opts *o,
		record_fn *sinks, void **sink_ud, struct run_stats *stats)
{
	char err[256];
	int status = 0;
	struct hg_source *src = hg_source_open_file(path, err, sizeof(err));
	if (!src) {
		fprintf(stderr, "hostgate: %s: %s\n", path, err);
		return 2;
	}
	struct lane *lanes = xcalloc(n, sizeof(*lanes));
	for (size_t i = 0; i < n; i++) {
		struct lane *l = &lanes[i];
		l->rs = rs[i];
		l->sink = sinks ? sinks[i] : NULL;
		l->sink_ud = sink_ud ? sink_ud[i] : NULL;
		l->engine = hg_engine_new(rs[i]);
		/* Logs belong to the first lane only (replay has one). */
		if (i == 0) {
			l->alerts = run_open_log(o->alert_log, o, rs[i]);
			l->flows = run_open_log(o->flow_log, o, rs[i]);
			if ((o->alert_log && !l->alerts) || (o->flow_log && !l->flows))
				status = 2;
		}
		struct hg_inspect_callbacks cb = {.alert = on_alert, .flow_end = on_flow_end, .ud = l};
		l->ins = l->engine ? hg_inspector_new(l->engine, &o->inspect, &cb) : NULL;
		if (!l->ins) {
			fprintf(stderr, "hostgate: cannot set up the engine: %s\n", strerror(errno));
			status = 2;
		}
	}
	if (status)
		goto out;
	struct hg_frame fr;
	enum hg_source_result r;
	struct progress prog;
	progress_start(&prog, path);
	uint64_t frame = 0;
	while ((r = hg_source_next(src, &fr)) == HG_SOURCE_FRAME) {
		frame++;
		for (size_t i = 0; i < n; i++) {
			enum hg_verdict v = hg_inspector_frame(lanes[i].ins, fr.linktype, fr.ts_us, fr.data, fr.caplen,
							       fr.wirelen, NULL);
			if (i == 0 && o->packets)
				/* Frames count from 1, as in tshark's frame.number. */
				fprintf(o->packets, "{\"packet\":%llu,\"verdict\":\"%s\",\"decided_by\":\"%s\"}\n",
					(unsigned long long)frame, hg_verdict_name(v),
					hg_layer_name(hg_inspector_last_by(lanes[i].ins)));
		}
		progress_frame(&prog, lanes[0].ins, fr.caplen);
	}
	progress_end(&prog);
	if (r == HG_SOURCE_ERROR)
		/* A truncated capture: what was read is reported; the error too. */
		fprintf(stderr, "hostgate: %s: %s (replayed what was read)\n", path, hg_source_error(src));
	for (size_t i = 0; i < n; i++)
		hg_inspector_flush(lanes[i].ins);
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		hg_inspector_stats(lanes[0].ins, &stats->ins);
		custom_counts(lanes[0].ins, rs[0], stats->custom, sizeof(stats->custom));
	}
out:
	for (size_t i = 0; i < n; i++) {
		struct lane *l = &lanes[i];
		hg_inspector_free(l->ins);
		for (int k = 0; k < 2; k++) {
			struct hg_eventlog *log = k ? l->flows : l->alerts;
			if (!log)
				continue;
			struct hg_eventlog_stats es;
			hg_eventlog_flush(log);
			hg_eventlog_stats(log, &es);
			if (stats)
				stats->log_lost += es.events_lost;
			if (es.events_lost)
				fprintf(stderr, "hostgate: %s: %llu events could not be written: %s\n",
					k ? o->flow_log : o->alert_log, (unsigned long long)es.events_lost,
					strerror(es.last_errno));
			hg_eventlog_close(log);
		}
		for (size_t k = 0; k < l->open.n; k++) {
			flow_record_free(l->open.v[k]);
			free(l->open.v[k]);
		}
		hg_vec_free(&l->open);
		hg_engine_free(l->engine);
	}
	free(lanes);
	hg_source_close(src);
	if (!status && stats && stats->log_lost)
		status = 1;
	return status;
}

void format_endpoint(char *buf, size_t len, const struct hg_ip *ip, uint16_t port)
{
	char a[64];
	hg_ip_format(ip, a, sizeof(a));
	if (hg_ip_is_v4(ip))
		snprintf(buf, len, "%s:%u", a, port);
	else
		snprintf(buf, len, "[%s]:%u", a, port);
}

void print_summary(FILE *out, const struct run_stats *st)
{
	const struct hg_inspect_stats *s = &st->ins;
	fprintf(out,
		"summary: %llu packets, %llu flows: %llu pass, %llu drop, %llu reject; %llu alerts; "
		"%llu skipped",
		(unsigned long long)s->frames, (unsigned long long)s->flows.created,
		(unsigned long long)s->verdicts[HG_VERDICT_PASS], (unsigned long long)s->verdicts[HG_VERDICT_DROP],
		(unsigned long long)s->verdicts[HG_VERDICT_REJECT], (unsigned long long)s->alerts,
		(unsigned long long)s->skipped);
	const char *sep = " (";
	for (int r = 1; r < HG_DR__COUNT; r++) {
		if (!s->decode.reason[r])
			continue;
		fprintf(out, "%s%s %llu", sep, hg_decode_reason_name((enum hg_decode_reason)r),
			(unsigned long long)s->decode.reason[r]);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputc(')', out);
	if (s->flows.ended[HG_FLOW_END_EVICTED])
		fprintf(out, "; %llu flows evicted", (unsigned long long)s->flows.ended[HG_FLOW_END_EVICTED]);
	if (s->defrag.timeouts || s->defrag.evictions)
		fprintf(out, "; fragments: %llu timeouts, %llu evicted", (unsigned long long)s->defrag.timeouts,
			(unsigned long long)s->defrag.evictions);
	if (s->fragments_dropped)
		fprintf(out, "; %llu fragments dropped by the stateless layer", (unsigned long long)s->fragments_dropped);
	if (s->match_errors)
		fprintf(out, "; %llu flows dropped: a pcre could not be run (match-error)",
			(unsigned long long)s->match_errors);
	if (st->custom[0])
		fprintf(out, "; custom actions: %s", st->custom);
	if (s->stream.nomem)
		fprintf(out, "; %llu streams unbuffered (cap)", (unsigned long long)s->stream.nomem);
	if (st->log_lost)
		fprintf(out, "; %llu log events LOST", (unsigned long long)st->log_lost);
	fputc('\n', out);
}

void record_list_sink(void *ud, struct flow_record *r)
{
	struct record_list *l = ud;
	struct flow_record k = *r;
	k.sni = r->sni ? xstrdup(r->sni) : NULL;
	k.host = r->host ? xstrdup(r->host) : NULL;
	k.quic_sni = r->quic_sni ? xstrdup(r->quic_sni) : NULL;
	k.dns_query = r->dns_query ? xstrdup(r->dns_query) : NULL;
	k.msg = r->msg ? xstrdup(r->msg) : NULL;
	k.group = r->group ? xstrdup(r->group) : NULL;
	memset(&k.alert_sids, 0, sizeof(k.alert_sids));
	memset(&k.alert_msgs, 0, sizeof(k.alert_msgs));
	memset(&k.alert_actions, 0, sizeof(k.alert_actions));
	hg_vec_push(&l->v, k);
}

void record_list_free(struct record_list *l)
{
	for (size_t i = 0; i < l->v.n; i++)
		flow_record_free(&l->v.v[i]);
	hg_vec_free(&l->v);
}
