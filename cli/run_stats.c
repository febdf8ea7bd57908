/* run_stats.c - `hostgate run`'s messages and its periodic stats event
 * (one JSON line on stderr). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "run_live.h"

uint64_t live_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void live_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	flockfile(stderr); /* one line, whichever thread (run_count.c) */
	fputs("hostgate: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

void live_print_stats(struct live *L)
{
	struct hg_hold_stats hs;
	struct hg_act_stats as;
	struct hg_inspect_stats is;
	hg_hold_get_stats(L->hold, &hs);
	hg_act_get_stats(L->act, &as);
	hg_inspector_stats(L->ins, &is);
	struct hg_kept_stats ks;
	hg_kept_get_stats(L->kept, &ks);
	struct hg_await_stats aw;
	hg_await_get_stats(L->await, &aw);
	uint64_t lost = 0, alerts = 0, queue_full = 0;
	for (int k = 0; k < 2; k++) {
		struct hg_eventlog *log = k ? L->flows : L->alerts;
		if (log) {
			struct hg_eventlog_stats es;
			hg_eventlog_stats(log, &es);
			lost += es.events_lost;
			if (!k)
				alerts = es.events_written;
			queue_full += es.events_queue_full;
		}
	}
	live_custom_sample(L);
	uint64_t now = live_now_us();
	char ts[40];
	hg_log_time_format(ts, sizeof(ts), now);
	flockfile(stderr); /* one line, whichever thread logs (run_count.c) */
	fprintf(stderr,
		"{\"timestamp\":\"%s\",\"event_type\":\"stats\",\"stats\":{\"frames\":%llu,\"undecodable\":%llu,"
		"\"held\":%llu,\"released\":%llu,\"discarded\":%llu,\"passthrough\":%llu,\"held_now\":%llu,"
		"\"hold_flows\":%llu,\"over_flow_cap\":%llu,\"over_total_cap\":%llu,\"hold_table_full\":%llu,"
		"\"verdicts\":{\"pass\":%llu,\"drop\":%llu,\"reject\":%llu},\"flows\":%llu,\"evictions\":%llu,"
		"\"set_commits\":%llu,\"set_errors\":%llu,\"injected\":%llu,\"inject_errors\":%llu,"
		"\"resets\":%llu,\"alert_frames\":%llu,\"source_errors\":%llu,\"log_lost\":%llu,\"log_queue_full\":%llu,"
		"\"reloads\":%llu,\"reload_failures\":%llu,\"reload_revoked\":%llu,\"kept_flows\":%llu,"
		"\"kept_bytes\":%llu,\"kept_over_flow_cap\":%llu,\"kept_evicted\":%llu,\"syn_data_refused\":%llu,\"no_syn_reset\":%llu,\"refed_after_reload\":%llu,\"injected_as_fragments\":%llu,"
		"\"ack_copies\":%llu,\"await_flows\":%llu,\"await_started\":%llu,\"await_settled\":%llu,"
		"\"await_resent\":%llu,\"await_differ_dropped\":%llu,\"await_unknown_dropped\":%llu,"
		"\"await_conflicts_dropped\":%llu,\"await_over_cap\":%llu,\"await_slow\":%llu,"
		"\"match_errors\":%llu",
		ts, (unsigned long long)L->st.frames, (unsigned long long)L->st.undecodable,
		(unsigned long long)hs.held, (unsigned long long)hs.released, (unsigned long long)hs.discarded,
		(unsigned long long)L->st.passthrough, (unsigned long long)hs.pkts_now,
		(unsigned long long)hs.flows, (unsigned long long)hs.over_flow_cap,
		(unsigned long long)hs.over_total_cap, (unsigned long long)hs.table_full,
		(unsigned long long)L->st.flows_decided[HG_VERDICT_PASS],
		(unsigned long long)L->st.flows_decided[HG_VERDICT_DROP],
		(unsigned long long)L->st.flows_decided[HG_VERDICT_REJECT], (unsigned long long)is.flows.flows,
		(unsigned long long)is.flows.ended[HG_FLOW_END_EVICTED], (unsigned long long)as.commits,
		(unsigned long long)as.commit_errors, (unsigned long long)as.injected,
		(unsigned long long)as.inject_errors, (unsigned long long)as.resets,
		(unsigned long long)L->st.alert_frames, (unsigned long long)L->st.source_errors,
		(unsigned long long)(lost + L->metrics.lost), (unsigned long long)queue_full, (unsigned long long)L->st.reloads,
		(unsigned long long)L->st.reload_failures, (unsigned long long)L->st.revoked,
		(unsigned long long)ks.flows, (unsigned long long)ks.bytes_now, (unsigned long long)ks.over_flow_cap,
		(unsigned long long)ks.evicted, (unsigned long long)L->st.syn_data_refused,
		(unsigned long long)L->st.no_syn_reset, (unsigned long long)L->st.refed,
		(unsigned long long)as.fragmented, (unsigned long long)L->st.ack_copies,
		(unsigned long long)aw.flows_now, (unsigned long long)aw.started, (unsigned long long)aw.settled,
		(unsigned long long)aw.resent, (unsigned long long)aw.differ, (unsigned long long)aw.unknown,
		(unsigned long long)L->st.await_conflicts, (unsigned long long)aw.over_cap, (unsigned long long)aw.slow,
		(unsigned long long)is.match_errors);
	/* packets per custom action dimension value since the daemon started
	 * (the values are letters, digits, '-', '_', ' ': table.h) */
	fputs(",\"custom_actions\":{", stderr);
	for (size_t i = 0; i < L->custom.n; i++)
		fprintf(stderr, "%s\"%s\":%llu", i ? "," : "", L->custom.v[i].value,
			(unsigned long long)L->custom.v[i].total);
	fprintf(stderr, "},\"custom_read_errors\":%llu}}\n", (unsigned long long)L->custom.read_errors);
	funlockfile(stderr);
	const uint64_t totals[LIVE_METRIC_N] = {
		L->st.flows_decided[HG_VERDICT_PASS], L->st.flows_decided[HG_VERDICT_DROP],
		L->st.flows_decided[HG_VERDICT_REJECT], alerts, hs.held, hs.released, hs.discarded,
		lost + L->metrics.lost,
	};
	live_write_metrics(L, totals, now);
	live_write_custom_metrics(L, now);
}
