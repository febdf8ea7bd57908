/* cmd_run.c - `hostgate run`: the live daemon. Applies the table, reads the
 * held client-to-server packets from NFLOG, decides each flow with the same
 * inspector as replay, writes the verdict into the kernel's sets and
 * re-injects (or discards, or resets) what it held.
 *
 * Failure behaviour (what the table guarantees without us): packets the
 * kernel holds are dropped, so while the daemon is gone undecided flows
 * stay blocked (fail closed) and decided ones keep their set entries until
 * those time out. On SIGHUP the table is replaced in one transaction that
 * deletes every object but the verdict sets, which are kept with their
 * elements (and remaining timeouts): flows decided by an earlier ruleset
 * keep their verdict; new flows get the new rules. On start the verdict
 * sets are emptied in that transaction (run_table.c says why): flows an
 * earlier daemon allowed go on by their conntrack mark. A ruleset
 * that fails to load or apply at SIGHUP leaves the old one running.
 *
 * Revoking at SIGHUP: every apply gets a new table generation, which the
 * allow rules write into the flow's ct mark and the fast path compares, so
 * after a reload each allowed flow goes once more through the verdict sets.
 * The daemon keeps (bounded: struct hg_kept_config) the client packets of
 * each flow it allowed, up to its decision; at SIGHUP it feeds them to a
 * fresh inspector on the new rules, and the flows that are no longer PASS
 * get a deny element in the very transaction that replaces the table (deny
 * is looked up before allow, and before the new generation marks anything),
 * their allow elements deleted after, and an alert as the new rules log it.
 * Flows without kept bytes (over the per-flow cap, evicted, or decided by
 * an earlier daemon) keep their verdict: counted and logged. The
 * re-decision is in run_reload.c. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_live.h"

static volatile sig_atomic_t sig_stop, sig_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_hup = 1;
	else
		sig_stop = 1;
}

static void reload(struct live *L)
{
	live_log("SIGHUP: reloading %zu rule file%s, reopening logs", L->ra.files.n,
	       L->ra.files.n == 1 ? "" : "s");
	for (int k = 0; k < 2; k++) {
		struct hg_eventlog *log = k ? L->flows : L->alerts;
		if (log && hg_eventlog_reopen(log) < 0)
			live_log("cannot reopen %s: %s", k ? L->ro.flow_log : L->ro.alert_log, strerror(errno));
	}
	live_flush_batch(L);
	struct hg_ruleset *rs;
	struct hg_engine *e;
	struct hg_inspector *ins, *ains;
	if (live_load_and_apply(L, &rs, &e, true) < 0) {
		L->st.reload_failures++;
		live_log("reload failed: still running the previous ruleset");
		return;
	}
	if (live_make_inspectors(L, e, &ins, &ains) < 0) {
		/* The table is already the new one; the old engine keeps
		 * deciding until the next reload. */
		L->st.reload_failures++;
		live_log("reload: cannot set up the engine: %s", strerror(errno));
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return;
	}
	/* The daemon's state of each flow (stream start, held packets,
	 * verdict) moves to the new inspector, which gets the handshake and
	 * the held packets back at the flow's next packet: the new rules
	 * decide them. Then the old flows end (flow log). */
	size_t lost = hg_inspector_carry(L->ins, ins, live_now_us(), live_carry_flow, L);
	if (lost)
		live_log("reload: %zu flows could not be carried over (their held packets dropped)", lost);
	L->dropping_inspector = true;
	hg_inspector_free(L->ins);
	L->dropping_inspector = false;
	hg_inspector_free(L->ains);
	hg_engine_free(L->engine);
	hg_ruleset_free(L->rs);
	L->rs = rs;
	L->engine = e;
	L->ins = ins;
	L->ains = ains;
	L->st.reloads++;
	live_log("reloaded");
}


static struct hg_source *open_nflog(unsigned group, int snaplen)
{
	char dev[32], err[256];
	snprintf(dev, sizeof(dev), "nflog:%u", group);
	struct hg_source *s = hg_source_open_live(dev, snaplen, 100, err, sizeof(err));
	if (!s) {
		live_log("%s", err);
		return NULL;
	}
	/* No queue threshold to set here: nfnetlink_log would batch up to 100
	 * packets or 1 s per group, but the table's log rules carry
	 * `queue-threshold 1`, so every held packet is sent as it comes. */
	int fd = hg_source_fd(s);
	if (fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		live_log("%s: cannot make the descriptor non-blocking", dev);
		hg_source_close(s);
		return NULL;
	}
	return s;
}

int cmd_run(int argc, char **argv)
{
	struct live *L = xcalloc(1, sizeof(*L));
	int status = HG_EXIT_USAGE;
	hg_load_opts_defaults(&L->ra.load);
	run_opts_defaults(&L->ro);
	hg_nft_opts_defaults(&L->nft);
	hg_hold_config_defaults(&L->holdc);
	hg_kept_config_defaults(&L->keptc);
	L->stats_interval = 60;
	L->log_queue_bytes = 4u << 20;
	L->nice = -10;
	int parsed = live_parse_args(L, argc, argv);
	if (parsed == CLI_HELP)
		status = HG_EXIT_OK;
	if (parsed != CLI_OK)
		goto out;
	if (!L->ra.files.n || !L->inside.n) {
		cli_usage_error(&run_usage, "needs rule files and --inside");
		goto out;
	}
	for (size_t i = 0; i < L->inside.n; i++)
		if (!if_nametoindex(L->inside.v[i])) {
			fprintf(stderr, "hostgate: --inside %s: no such interface\n", L->inside.v[i]);
			goto out;
		}
	L->nft.inside_ifs = L->inside.v;
	L->nft.n_inside_ifs = L->inside.n;
	if (!L->verdict_timeout)
		L->verdict_timeout = L->nft.verdict_timeout;
	/* Live runs forever: flows the daemon sees are bounded, not the capture. */
	L->holdc.max_flows = L->holdc.max_flows ? L->holdc.max_flows : 65536;
	/* Held flows are decided at the stream depth, never held forever
	 * nor passed with bytes no rule saw (an alert and a drop). */
	L->ro.inspect.decide_at_depth = true;
	/* Every held segment is re-injected: with first-wins the server's
	 * stack may keep the copy no rule read. */
	if (L->ro.inspect.stream.policy != HG_STREAM_POLICY_DROP) {
		cli_usage_error(&run_usage, "--overlap-policy first is for replay: live, the server may keep the "
					    "overlapping copy that was not inspected");
		goto out;
	}
	if (!L->ro.inspect.flow.max_flows)
		L->ro.inspect.flow.max_flows = L->holdc.max_flows;
	status = 1;

	char err[256];
	L->act = hg_act_new(L->nft.table, err, sizeof(err));
	if (!L->act) {
		live_log("%s", err);
		goto out;
	}
	L->hold = hg_hold_new(&L->holdc);
	if (!L->hold) {
		live_log("hold queue: %s", strerror(errno));
		goto out;
	}
	L->keptc.max_flows = L->holdc.max_flows;
	L->kept = hg_kept_new(&L->keptc);
	if (!L->kept) {
		live_log("reload copies: %s", strerror(errno));
		goto out;
	}
	L->await = hg_await_pool_new(NULL);
	if (!L->await) {
		live_log("released bytes: %s", strerror(errno));
		goto out;
	}
	if (live_load_and_apply(L, &L->rs, &L->engine, false) < 0) {
		status = HG_EXIT_USAGE;
		goto out;
	}
	if (live_make_inspectors(L, L->engine, &L->ins, &L->ains) < 0) {
		live_log("cannot set up the engine: %s", strerror(errno));
		goto out;
	}
	L->alerts = run_open_log(L->ro.alert_log, &L->ro, L->rs);
	L->flows = run_open_log(L->ro.flow_log, &L->ro, L->rs);
	if ((L->ro.alert_log && !L->alerts) || (L->ro.flow_log && !L->flows))
		goto out;
	L->src = open_nflog(L->nft.nflog_group, (int)L->nft.snaplen);
	L->asrc = open_nflog(L->nft.alert_log_group, 65535);
	if (!L->src || !L->asrc)
		goto out;
	if (L->metrics.path) { /* created now, so it can be given to --user */
		int mfd = open(L->metrics.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (mfd < 0) {
			live_log("%s: %s", L->metrics.path, strerror(errno));
			goto out;
		}
		close(mfd);
	}
	/* Every new flow waits for this process twice (its SYN, its first
	 * bytes), while the kernel forwards everything else in softirq, ahead
	 * of any task: at the default priority a held packet waited behind
	 * the host's other work (p50 0.2-0.5 ms with a load of 10 on two
	 * cores, 20-90 us at -10). Before the drop (CAP_SYS_NICE); the log
	 * writer threads, started later, inherit it. */
	if (L->nice && setpriority(PRIO_PROCESS, 0, L->nice) < 0)
		live_log("--nice %d: %s (the packet path keeps its priority)", L->nice, strerror(errno));
	const char *logs[] = {L->ro.alert_log, L->ro.flow_log, L->metrics.path};
	if (live_drop_privileges(L->user, logs, 3) < 0)
		goto out;
	/* Events go to a bounded queue that a writer thread of each log
	 * drains: a slow disk or a stdout pipe nobody reads never holds a
	 * packet (a full queue counts lost events). Started after the drop,
	 * so the threads hold no more privileges than the daemon. */
	for (int k = 0; k < 2; k++) {
		struct hg_eventlog *log = k ? L->flows : L->alerts;
		int r = log ? hg_eventlog_set_async(log, L->log_queue_bytes) : 0;
		if (r) {
			live_log("event log writer: %s", strerror(-r));
			goto out;
		}
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	live_log("running: table inet %s, hold group %u, alert group %u, inside %s%s, HOME_NET %s",
	       L->nft.table, L->nft.nflog_group, L->nft.alert_log_group, L->inside.v[0],
	       L->inside.n > 1 ? ",..." : "", L->ra.load.home_net ? L->ra.load.home_net : "(rules' or default)");

	uint64_t next_stats = live_now_us() + (uint64_t)L->stats_interval * 1000000u;
	uint64_t next_expire = live_now_us() + 1000000u;
	while (!sig_stop) {
		if (sig_hup) {
			sig_hup = 0;
			reload(L);
		}
		struct pollfd pf[2] = {
			{.fd = hg_source_fd(L->src), .events = POLLIN},
			{.fd = hg_source_fd(L->asrc), .events = POLLIN},
		};
		int pr = poll(pf, 2, 250);
		if (pr < 0 && errno != EINTR) {
			live_log("poll: %s", strerror(errno));
			break;
		}
		if (pr > 0) {
			if (pf[0].revents)
				live_drain_source(L, L->src, true);
			if (pf[1].revents)
				live_drain_source(L, L->asrc, false);
		}
		live_flush_batch(L);
		uint64_t now = live_now_us();
		if (now >= next_expire) {
			hg_inspector_expire(L->ins, now);
			hg_inspector_expire(L->ains, now);
			next_expire = now + 1000000u;
		}
		if (L->stats_interval && now >= next_stats) {
			live_print_stats(L);
			next_stats = now + (uint64_t)L->stats_interval * 1000000u;
		}
	}
	live_flush_batch(L);
	live_log("stopping");
	live_print_stats(L);
	status = 0;
	if (L->remove_on_exit) {
		char *e2 = NULL;
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "delete table inet %s", L->nft.table);
		if (hg_apply_nft_text(cmd, false, &e2) < 0)
			live_log("cannot remove the table: %s", e2 ? e2 : "?");
		free(e2);
	}
out:
	L->dropping_inspector = true;
	hg_inspector_free(L->ins);
	hg_inspector_free(L->ains);
	hg_source_close(L->src);
	hg_source_close(L->asrc);
	for (int k = 0; k < 2; k++) {
		struct hg_eventlog *log = k ? L->flows : L->alerts;
		if (!log)
			continue;
		struct hg_eventlog_stats es;
		hg_eventlog_flush(log);
		hg_eventlog_stats(log, &es);
		if (es.events_lost)
			live_log("%llu events could not be written", (unsigned long long)es.events_lost);
		hg_eventlog_close(log);
	}
	hg_engine_free(L->engine);
	hg_ruleset_free(L->rs);
	hg_await_pool_free(L->await); /* every wait ended with its flow */
	hg_hold_free(L->hold);
	hg_kept_free(L->kept);
	hg_act_free(L->act);
	free(L->home_net_auto);
	live_custom_free(L);
	hg_rules_args_fini(&L->ra);
	hg_vec_free(&L->inside);
	free(L);
	return status;
}
