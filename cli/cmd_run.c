/* cmd_run.c - `hostgate run`: the live daemon. Applies the table, reads the
 * held client-to-server packets from NFLOG, decides each flow with the same
 * inspector as replay, writes the verdict into the kernel's sets and
 * re-injects (or discards, or resets) what it held.
 *
 * Failure behaviour (what the table guarantees without us): packets the
 * kernel holds are dropped, so while the daemon is gone undecided flows
 * stay blocked (fail closed) and decided ones keep their set entries until
 * those time out. On start and on SIGHUP the table is replaced in one
 * transaction that deletes every object but the verdict sets, which are
 * kept with their elements (and remaining timeouts): flows decided by an
 * earlier ruleset or an earlier daemon keep their verdict; new flows get
 * the new rules. A ruleset
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
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sys/capability.h>

#include "run_live.h"

/* Frames read before the verdict batch is committed even if more wait. */
#define BURST_MAX 256
/* A decided flow whose packets still reach us this long after its verdict
 * was written lost its set entry (timeout): write it again. */
#define REWRITE_US 2000000ull


static volatile sig_atomic_t sig_stop, sig_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_hup = 1;
	else
		sig_stop = 1;
}

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
	fputs("hostgate: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------ options */

static const char run_usage[] =
	"usage: hostgate run RULES... --inside IF[,IF...] [--nflog-group N] [--alert-log F]\n"
	"       [--flow-log F] [--log-format anfw|eve] [--stats-interval S] [--user NAME]\n"
	"       [--remove-on-exit] [--verdict-timeout S] [--home-net CIDR,...] [--config FILE]\n"
	"       [--reload-keep-bytes N] [--reload-keep-flow-bytes N]\n";

static int parse_u32(const char *opt, const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || !*v || *end || n < lo || n > hi) {
		fprintf(stderr, "hostgate: %s wants a number in %u..%u, not '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

static int parse_args(struct live *L, int argc, char **argv);

/* --config FILE: `key: value` lines with the long options' names (`rules:`
 * adds a rule file); '#' starts a comment. Read before the command line,
 * which overrides it. Strings are kept for the process's life. */
static int read_config(struct live *L, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "hostgate: %s: %s\n", path, strerror(errno));
		return -1;
	}
	HG_VEC(char *) av = {0};
	hg_vec_push(&av, xstrdup("run"));
	char line[4096];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = line;
		char *hash = strchr(s, '#');
		if (hash)
			*hash = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			s[--n] = 0;
		if (!n)
			continue;
		char *colon = strchr(s, ':');
		if (!colon) {
			fprintf(stderr, "%s:%u:1: error: expected 'key: value'\n", path, lineno);
			rc = -1;
			continue;
		}
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!strcmp(s, "rules")) {
			hg_vec_push(&av, xstrdup(v));
			continue;
		}
		if (!strcmp(s, "remove-on-exit")) {
			if (!*v || !strcmp(v, "true") || !strcmp(v, "yes"))
				hg_vec_push(&av, xstrdup("--remove-on-exit"));
			continue;
		}
		hg_vec_push(&av, xasprintf("--%s", s));
		hg_vec_push(&av, xstrdup(v));
	}
	fclose(f);
	if (!rc)
		rc = parse_args(L, (int)av.n, av.v);
	/* The strings stay referenced by L (files, paths): never freed. */
	hg_vec_free(&av);
	return rc;
}

static int parse_args(struct live *L, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int r = hg_rules_args_option(&L->ra, argc, argv, &i);
		if (r > 0 && !strcmp(argv[i - 1], "--home-net"))
			L->home_net_given = true;
		if (!r)
			r = run_opts_option(&L->ro, argc, argv, &i);
		if (r < 0)
			return -1;
		if (r)
			continue;
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (!strcmp(a, "--remove-on-exit")) {
			L->remove_on_exit = true;
		} else if (a[0] == '-' && a[1] && !has_val) {
			fprintf(stderr, "hostgate: %s needs a value (or is unknown)\n", a);
			return -1;
		} else if (!strcmp(a, "--inside")) {
			char *list = xstrdup(argv[++i]);
			for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
				hg_vec_push(&L->inside, tok);
			/* list is referenced by L->inside: kept for the process's life */
		} else if (!strcmp(a, "--nflog-group")) {
			uint32_t g;
			if (parse_u32(a, argv[++i], 0, 65535, &g))
				return -1;
			L->nft.nflog_group = (uint16_t)g;
		} else if (!strcmp(a, "--alert-log-group")) {
			uint32_t g;
			if (parse_u32(a, argv[++i], 0, 65535, &g))
				return -1;
			L->nft.alert_log_group = (uint16_t)g;
		} else if (!strcmp(a, "--stats-interval")) {
			if (parse_u32(a, argv[++i], 0, 86400, &L->stats_interval))
				return -1;
		} else if (!strcmp(a, "--verdict-timeout")) {
			if (parse_u32(a, argv[++i], 1, 86400 * 7, &L->verdict_timeout))
				return -1;
		} else if (!strcmp(a, "--hold-flows")) {
			if (parse_u32(a, argv[++i], 16, 1u << 24, &L->holdc.max_flows))
				return -1;
		} else if (!strcmp(a, "--reload-keep-bytes")) {
			uint32_t n;
			if (parse_u32(a, argv[++i], 0, UINT32_MAX, &n))
				return -1;
			L->keptc.total_bytes = n;
		} else if (!strcmp(a, "--reload-keep-flow-bytes")) {
			if (parse_u32(a, argv[++i], 256, 65536, &L->keptc.flow_bytes))
				return -1;
		} else if (!strcmp(a, "--user")) {
			L->user = argv[++i];
		} else if (!strcmp(a, "--config")) {
			if (read_config(L, argv[++i]))
				return -1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "hostgate: unknown option '%s'\n", a);
			return -1;
		} else {
			hg_vec_push(&L->ra.files, a);
		}
	}
	return 0;
}

/* HOME_NET when neither --home-net nor the rules say: the networks of the
 * inside interfaces (link-local addresses left out). */
static char *inside_networks(const struct live *L)
{
	struct ifaddrs *ifa0;
	if (getifaddrs(&ifa0) < 0)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	if (!m) {
		freeifaddrs(ifa0);
		return NULL;
	}
	bool first = true;
	for (struct ifaddrs *ifa = ifa0; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || !ifa->ifa_netmask)
			continue;
		bool ours = false;
		for (size_t i = 0; i < L->inside.n; i++)
			ours |= !strcmp(ifa->ifa_name, L->inside.v[i]);
		if (!ours)
			continue;
		struct hg_ip ip = {{0}};
		int bits = 0;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			const uint8_t *mk = (const uint8_t *)&((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr;
			ip.b[10] = ip.b[11] = 0xff;
			for (int k = 0; k < 4; k++) {
				ip.b[12 + k] = a[k] & mk[k];
				bits += __builtin_popcount(mk[k]);
			}
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			const uint8_t *a = ((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr.s6_addr;
			const uint8_t *mk = ((struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr.s6_addr;
			if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
				continue;
			for (int k = 0; k < 16; k++) {
				ip.b[k] = a[k] & mk[k];
				bits += __builtin_popcount(mk[k]);
			}
		} else {
			continue;
		}
		char buf[64];
		hg_ip_format(&ip, buf, sizeof(buf));
		fprintf(m, "%s%s/%d", first ? "" : ",", buf, bits);
		first = false;
	}
	fclose(m);
	freeifaddrs(ifa0);
	if (first) {
		free(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------ logging */

static void on_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct live *L = ud;
	run_log_alert(L->alerts, L->rs, ev, a);
}

static void key_of_flow(const struct hg_flow *f, struct hg_hold_key *k)
{
	memset(k, 0, sizeof(*k));
	k->src = f->cli;
	k->dst = f->srv;
	k->sport = f->cport;
	k->dport = f->sport;
	k->proto = f->proto;
}

static void on_flow_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	struct live *L = ud;
	run_log_flow_end(L->flows, ev, why);
	/* Whatever is still held for it is dropped: fail closed. */
	struct hg_hold_key k;
	key_of_flow(ev->flow, &k);
	hg_hold_remove(L->hold, &k);
}

static void on_kernel_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct live *L = ud;
	run_log_alert(L->alerts, L->rs, ev, a);
}

static void print_stats(struct live *L)
{
	struct hg_hold_stats hs;
	struct hg_act_stats as;
	struct hg_inspect_stats is;
	hg_hold_get_stats(L->hold, &hs);
	hg_act_get_stats(L->act, &as);
	hg_inspector_stats(L->ins, &is);
	struct hg_kept_stats ks;
	hg_kept_get_stats(L->kept, &ks);
	uint64_t lost = 0;
	for (int k = 0; k < 2; k++) {
		struct hg_eventlog *log = k ? L->flows : L->alerts;
		if (log) {
			struct hg_eventlog_stats es;
			hg_eventlog_stats(log, &es);
			lost += es.events_lost;
		}
	}
	char ts[40];
	hg_log_time_format(ts, sizeof(ts), live_now_us());
	fprintf(stderr,
		"{\"timestamp\":\"%s\",\"event_type\":\"stats\",\"stats\":{\"frames\":%llu,\"undecodable\":%llu,"
		"\"held\":%llu,\"released\":%llu,\"discarded\":%llu,\"passthrough\":%llu,\"held_now\":%llu,"
		"\"hold_flows\":%llu,\"over_flow_cap\":%llu,\"over_total_cap\":%llu,\"hold_table_full\":%llu,"
		"\"verdicts\":{\"pass\":%llu,\"drop\":%llu,\"reject\":%llu},\"flows\":%llu,\"evictions\":%llu,"
		"\"set_commits\":%llu,\"set_errors\":%llu,\"injected\":%llu,\"inject_errors\":%llu,"
		"\"resets\":%llu,\"alert_frames\":%llu,\"source_errors\":%llu,\"log_lost\":%llu,"
		"\"reloads\":%llu,\"reload_failures\":%llu,\"reload_revoked\":%llu,\"kept_flows\":%llu,"
		"\"kept_bytes\":%llu,\"kept_over_flow_cap\":%llu,\"kept_evicted\":%llu}}\n",
		ts, (unsigned long long)L->st.frames, (unsigned long long)L->st.undecodable,
		(unsigned long long)hs.held, (unsigned long long)hs.released, (unsigned long long)hs.discarded,
		(unsigned long long)L->st.passthrough, (unsigned long long)hs.pkts_now,
		(unsigned long long)hs.flows, (unsigned long long)hs.over_flow_cap,
		(unsigned long long)hs.over_total_cap, (unsigned long long)(hs.table_full + L->st.refused_full),
		(unsigned long long)L->st.flows_decided[HG_VERDICT_PASS],
		(unsigned long long)L->st.flows_decided[HG_VERDICT_DROP],
		(unsigned long long)L->st.flows_decided[HG_VERDICT_REJECT], (unsigned long long)is.flows.flows,
		(unsigned long long)is.flows.ended[HG_FLOW_END_EVICTED], (unsigned long long)as.commits,
		(unsigned long long)as.commit_errors, (unsigned long long)as.injected,
		(unsigned long long)as.inject_errors, (unsigned long long)as.resets,
		(unsigned long long)L->st.alert_frames, (unsigned long long)L->st.source_errors,
		(unsigned long long)lost, (unsigned long long)L->st.reloads,
		(unsigned long long)L->st.reload_failures, (unsigned long long)L->st.revoked,
		(unsigned long long)ks.flows, (unsigned long long)ks.bytes_now, (unsigned long long)ks.over_flow_cap,
		(unsigned long long)ks.evicted);
}

/* ------------------------------------------------------- the hot path */

static void inject_cb(void *ud, const uint8_t *data, size_t len)
{
	struct live *L = ud;
	hg_act_inject(L->act, data, len);
}

/* Commits the verdicts queued during one poll round. The packets of the
 * flows they allow were re-injected already: an allowed flow pays the
 * decision, not the transaction. */
static void flush_batch(struct live *L)
{
	if (hg_act_pending(L->act))
		hg_act_commit(L->act);
}

/* The kernel holds only packets of established TCP flows: the SYN and the
 * SYN-ACK passed without us. The inspector must see a handshake (the rules
 * say flow:established), so it gets one rebuilt from the first held
 * segment: the client's ISN is its seq - 1, the server's its ack - 1. */
void live_feed_handshake(struct hg_inspector *ins, const struct hg_packet *p, uint64_t ts)
{
	uint8_t b[2][60];
	size_t ipl = p->family == 4 ? 20 : 40, tot = ipl + 20;
	for (int k = 0; k < 2; k++) {
		uint8_t *h = b[k];
		memset(h, 0, tot);
		const struct hg_ip *s = k ? &p->dst : &p->src, *d = k ? &p->src : &p->dst;
		if (p->family == 4) {
			h[0] = 0x45;
			h[2] = (uint8_t)(tot >> 8);
			h[3] = (uint8_t)tot;
			h[8] = p->ttl;
			h[9] = 6;
			memcpy(h + 12, s->b + 12, 4);
			memcpy(h + 16, d->b + 12, 4);
		} else {
			h[0] = 0x60;
			h[5] = 20;
			h[6] = 6;
			h[7] = p->ttl;
			memcpy(h + 8, s->b, 16);
			memcpy(h + 24, d->b, 16);
		}
		uint8_t *t = h + ipl;
		uint16_t sp = k ? p->dport : p->sport, dp = k ? p->sport : p->dport;
		uint32_t seq = k ? p->tcp_ack - 1 : p->tcp_seq - 1, ack = k ? p->tcp_seq : 0;
		t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp;
		t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
		for (int i = 0; i < 4; i++) {
			t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
			t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
		}
		t[12] = 5 << 4;
		t[13] = k ? (HG_TCP_SYN | HG_TCP_ACK) : HG_TCP_SYN;
		t[14] = 0xff, t[15] = 0xff;
		hg_inspector_frame(ins, LINKTYPE_RAW, ts, h, (uint32_t)tot, (uint32_t)tot, NULL);
	}
}

static void key_of_packet(const struct hg_packet *p, struct hg_hold_key *k)
{
	memset(k, 0, sizeof(*k));
	k->src = p->src;
	k->dst = p->dst;
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->ip_proto;
}

/* Re-injects a released packet and keeps a copy for the next reload. */
struct inject_keep {
	struct live *L;
	const struct hg_hold_key *key;
	uint64_t now;
};

static void inject_keep_cb(void *ud, const uint8_t *data, size_t len)
{
	struct inject_keep *ik = ud;
	hg_act_inject(ik->L->act, data, len);
	hg_kept_add(ik->L->kept, ik->key, data, len, ik->now);
}

static void write_verdict(struct live *L, struct hg_hold_flow *hf, bool allow, uint64_t now)
{
	struct hg_act_tuple t = {
		.cli = hf->key.src, .srv = hf->key.dst,
		.cport = hf->key.sport, .sport = hf->key.dport, .proto = hf->key.proto,
	};
	hg_act_verdict(L->act, &t, allow, L->verdict_timeout);
	hf->verdict_us = now;
}

static void handle_held(struct live *L, const struct hg_frame *fr)
{
	L->st.frames++;
	struct hg_packet p;
	if (!hg_decode(&L->dec, fr->linktype, fr->ts_us, fr->data, fr->caplen, fr->wirelen, &p) ||
	    (p.flags & (HG_PKT_F_FRAGMENT | HG_PKT_F_SNAPPED))) {
		/* Not something we can release whole: it stays dropped. */
		L->st.undecodable++;
		return;
	}
	struct hg_hold_key k;
	key_of_packet(&p, &k);
	bool known = hg_hold_get(L->hold, &k, false, NULL) != NULL;
	if (!known && p.ip_proto == 6 && (p.tcp_flags & (HG_TCP_SYN | HG_TCP_ACK)) == HG_TCP_ACK)
		live_feed_handshake(L->ins, &p, fr->ts_us);
	struct hg_flow *flow = NULL;
	enum hg_verdict v = hg_inspector_frame(L->ins, fr->linktype, fr->ts_us, fr->data, fr->caplen,
					       fr->wirelen, &flow);
	/* Looked up again: the frame may have ended (and forgotten) a flow. */
	struct hg_hold_flow *hf = hg_hold_get(L->hold, &k, true, NULL);
	if (!hf || !flow) {
		L->st.refused_full += !hf;
		return;
	}
	hf->flow_id = flow->flow_id;
	const struct hg_iflow *fi = hg_flow_user(flow);
	/* Undecided, but every app-layer rule has had its look: nothing later
	 * in this flow needs the daemon (§3.3: unmatched traffic passes). */
	if (v == HG_VERDICT_UNDECIDED && hg_eng_flow_app_seen(&fi->ef) && p.payload_len)
		v = HG_VERDICT_PASS;
	uint64_t now = live_now_us();
	const uint8_t *l3 = p.l3;
	size_t l3len = p.l3_len;

	switch (v) {
	case HG_VERDICT_UNDECIDED: {
		bool carries = p.payload_len || (p.tcp_flags & (HG_TCP_FIN | HG_TCP_RST)) || p.ip_proto != 6;
		if (!carries && !hf->n_pkts) {
			/* A bare ACK tells the engine nothing: let it through now. */
			L->st.passthrough++;
			hg_act_inject(L->act, l3, l3len);
		} else {
			hg_hold_push(L->hold, hf, l3, l3len);
		}
		break;
	}
	case HG_VERDICT_PASS: {
		/* What decided the flow is kept (released packets and this one):
		 * a reload decides it again with the new rules. */
		bool decided_now = hf->state != HG_HOLD_PASSED;
		struct inject_keep ik = {.L = L, .key = &k, .now = now};
		if (decided_now) {
			hf->state = HG_HOLD_PASSED;
			L->st.flows_decided[HG_VERDICT_PASS]++;
			write_verdict(L, hf, true, now);
		} else if (now - hf->verdict_us > REWRITE_US) {
			write_verdict(L, hf, true, now);
		}
		/* Sent now, what was held first: the verdict is committed at the
		 * end of this poll round, and until the kernel holds it the
		 * flow's next packets come here again, in order, and are sent the
		 * same way. */
		if (hf->n_pkts) {
			if (decided_now)
				hg_hold_release(L->hold, hf, inject_keep_cb, &ik);
			else
				hg_hold_release(L->hold, hf, inject_cb, L);
		}
		if (decided_now)
			hg_kept_add(L->kept, &k, l3, l3len, now);
		hg_act_inject(L->act, l3, l3len);
		break;
	}
	case HG_VERDICT_DROP:
	case HG_VERDICT_REJECT:
		if (hf->state != HG_HOLD_DENIED) {
			hf->state = HG_HOLD_DENIED;
			L->st.flows_decided[v]++;
			write_verdict(L, hf, false, now);
			hg_hold_discard(L->hold, hf);
			if (v == HG_VERDICT_REJECT && p.ip_proto == 6)
				hg_act_tcp_reset(L->act, l3, l3len);
		} else if (now - hf->verdict_us > REWRITE_US) {
			write_verdict(L, hf, false, now);
		}
		break;
	}
}

static void handle_alert_frame(struct live *L, const struct hg_frame *fr)
{
	L->st.alert_frames++;
	hg_inspector_frame(L->ains, fr->linktype, fr->ts_us, fr->data, fr->caplen, fr->wirelen, NULL);
}

/* Reads what is ready without blocking (the descriptor is non-blocking:
 * libpcap reports EAGAIN as an error, which here means "drained"). */
static int drain_source(struct live *L, struct hg_source *s, bool held)
{
	int n = 0;
	struct hg_frame fr;
	for (; n < BURST_MAX; n++) {
		errno = 0;
		enum hg_source_result r = hg_source_next(s, &fr);
		if (r == HG_SOURCE_FRAME) {
			if (held)
				handle_held(L, &fr);
			else
				handle_alert_frame(L, &fr);
			continue;
		}
		if (r == HG_SOURCE_ERROR && errno != EAGAIN && errno != EWOULDBLOCK &&
		    !strstr(hg_source_error(s), "temporarily unavailable")) {
			L->st.source_errors++;
			if (L->st.source_errors < 10 || !(L->st.source_errors % 1000))
				live_log("nflog: %s", hg_source_error(s));
		}
		break;
	}
	return n;
}

/* ------------------------------------------------------ table & rules */

static bool is_verdict_set(const char *name, size_t n)
{
	static const char *const sets[] = {"allow4", "deny4", "allow6", "deny6"};
	for (size_t i = 0; i < HG_ARRAY_LEN(sets); i++)
		if (strlen(sets[i]) == n && !memcmp(sets[i], name, n))
			return true;
	return false;
}

/* Writes the first lines of the replacing transaction: the deletion of
 * every object of the table now in the kernel except the verdict sets,
 * which the new table then declares again unchanged (a no-op), so their
 * elements survive by construction: nothing is listed, parsed or re-added
 * element by element. Chains are flushed before any is deleted (jumps and
 * set references go with their rules). The names come from a terse
 * listing (no elements). 0, with nothing written when there is no table
 * yet; -1 when the table holds something we cannot name (the caller then
 * replaces the whole table). */
static int delete_all_but_verdicts(struct hg_actuator *act, const char *table, FILE *out)
{
	char cmd[128], *text = NULL, *err = NULL;
	snprintf(cmd, sizeof(cmd), "list table inet %s", table);
	if (hg_act_nft(act, cmd, &text, &err) < 0) {
		bool absent = err && strstr(err, "No such file or directory");
		free(text);
		free(err);
		return absent ? 0 : -1;
	}
	char *dels = NULL, *flushes = NULL;
	size_t dl = 0, fl = 0;
	FILE *d = open_memstream(&dels, &dl), *f = open_memstream(&flushes, &fl);
	int rc = d && f ? 0 : -1;
	for (char *line = text, *next; !rc && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* Objects are the lines one tab deep that open a block. */
		if (line[0] != '\t' || line[1] == '\t' || line[strlen(line) - 1] != '{')
			continue;
		char kind[16], name[128];
		if (sscanf(line + 1, "%15s %127s {", kind, name) != 2) {
			rc = -1;
			break;
		}
		if (!strcmp(kind, "chain")) {
			fprintf(f, "flush chain inet %s %s\n", table, name);
			fprintf(d, "delete chain inet %s %s\n", table, name);
		} else if (!strcmp(kind, "set") || !strcmp(kind, "map")) {
			if (!is_verdict_set(name, strlen(name)))
				fprintf(d, "delete %s inet %s %s\n", kind, table, name);
		} else if (!strcmp(kind, "flowtable") || !strcmp(kind, "counter") || !strcmp(kind, "quota") ||
			   !strcmp(kind, "limit")) {
			fprintf(d, "delete %s inet %s %s\n", kind, table, name);
		} else {
			rc = -1;
		}
	}
	if (d)
		fclose(d);
	if (f)
		fclose(f);
	if (!rc)
		fprintf(out, "table inet %s {}\n%s%s", table, flushes ? flushes : "", dels ? dels : "");
	free(dels);
	free(flushes);
	free(text);
	free(err);
	return rc;
}

/* The generation of the first table this daemon applies: one past the
 * generation of the table in the kernel (an earlier daemon's: its flows
 * then go through the verdict sets once more), else random. Never 0. */
static uint16_t start_generation(struct live *L)
{
	char cmd[128], *text = NULL, *err = NULL;
	snprintf(cmd, sizeof(cmd), "list table inet %s", L->nft.table);
	uint16_t gen = 0;
	if (hg_act_nft(L->act, cmd, &text, &err) == 0 && text) {
		/* nft lists `ct mark set ct mark & M | G` with M folded: take G. */
		const char *at = strstr(text, "ct mark set ct mark & 0x");
		const char *bar = at ? strchr(at, '|') : NULL;
		unsigned long g;
		if (bar && sscanf(bar, "| 0x%lx", &g) == 1)
			gen = (uint16_t)((g >> 16) + 1);
	}
	free(text);
	free(err);
	if (!gen && getrandom(&gen, sizeof(gen), 0) != sizeof(gen))
		gen = (uint16_t)live_now_us();
	return gen ? gen : 1;
}

/* Loads the rules, builds the engine and replaces the table (keeping the
 * verdict-set elements). At a reload (revoke), the flows the daemon
 * allowed are decided again by the new rules: those no longer allowed get
 * deny elements in the same transaction. On any failure nothing changes:
 * 0 or -1. */
static int load_and_apply(struct live *L, struct hg_ruleset **rs_out, struct hg_engine **e_out, bool revoke)
{
	if (!L->home_net_given) {
		free(L->home_net_auto);
		L->home_net_auto = inside_networks(L);
		L->ra.load.home_net = L->home_net_auto;
	}
	struct hg_ruleset *rs = hg_rules_args_load(&L->ra);
	if (!rs)
		return -1;
	struct hg_engine *e = hg_engine_new(rs);
	if (!e) {
		live_log("cannot build the engine: %s", strerror(errno));
		hg_ruleset_free(rs);
		return -1;
	}
	struct redecide rd = {.L = L, .rs = rs, .now = live_now_us()};
	if (revoke && live_redecide_pass(&rd, e) < 0) {
		live_log("cannot decide the allowed flows again: %s", strerror(errno));
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return -1;
	}
	uint16_t gen = L->gen ? (uint16_t)(L->gen + 1) : start_generation(L);
	gen = gen ? gen : 1;
	/* First try keeping the verdict sets (flows decided by an earlier
	 * daemon or ruleset keep their verdicts); if that transaction fails
	 * (an object we do not know, a verdict set of another shape), the
	 * whole table is replaced and those flows are decided again. */
	char *err = NULL;
	int r = -ENOMEM;
	for (int keep = 1; keep >= 0; keep--) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			break;
		struct hg_nft_opts o = L->nft;
		o.keep_verdict_sets = keep && delete_all_but_verdicts(L->act, L->nft.table, m) == 0;
		o.ct_mark_gen = gen;
		r = hg_emit_nft(m, rs, &o);
		if (!r)
			live_put_revoked(&rd, m);
		fclose(m);
		if (!r) {
			free(err);
			err = NULL;
			r = hg_apply_nft_text(buf, false, &err);
		}
		free(buf);
		if (!r || !o.keep_verdict_sets)
			break;
		live_log("cannot keep the verdict sets (%s): replacing the whole table", err ? strtok(err, "\n") : "?");
	}
	if (r) {
		live_log("cannot apply the table: %s", err ? err : strerror(-r));
		free(err);
		hg_vec_free(&rd.revoke);
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return -1;
	}
	L->gen = gen;
	if (revoke)
		live_finish_revoke(&rd, e);
	hg_vec_free(&rd.revoke);
	*rs_out = rs;
	*e_out = e;
	return 0;
}

static int make_inspectors(struct live *L, struct hg_engine *e, struct hg_inspector **ins,
			   struct hg_inspector **ains)
{
	struct hg_inspect_callbacks cb = {.alert = on_alert, .flow_end = on_flow_end, .ud = L};
	struct hg_inspect_callbacks acb = {.alert = on_kernel_alert, .ud = L};
	*ins = hg_inspector_new(e, &L->ro.inspect, &cb);
	struct hg_inspect_config ac = L->ro.inspect;
	ac.flow.max_flows = 4096;
	*ains = hg_inspector_new(e, &ac, &acb);
	if (!*ins || !*ains) {
		hg_inspector_free(*ins);
		hg_inspector_free(*ains);
		return -1;
	}
	return 0;
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
	flush_batch(L);
	struct hg_ruleset *rs;
	struct hg_engine *e;
	struct hg_inspector *ins, *ains;
	if (load_and_apply(L, &rs, &e, true) < 0) {
		L->st.reload_failures++;
		live_log("reload failed: still running the previous ruleset");
		return;
	}
	if (make_inspectors(L, e, &ins, &ains) < 0) {
		/* The table is already the new one; the old engine keeps
		 * deciding until the next reload. */
		L->st.reload_failures++;
		live_log("reload: cannot set up the engine: %s", strerror(errno));
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return;
	}
	/* Old flows end (flow log) and their held packets are dropped: their
	 * clients retransmit and the new rules decide them afresh. */
	hg_inspector_free(L->ins);
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

/* ---------------------------------------------------------- privileges */

/* Keeps CAP_NET_ADMIN (verdict sets, reload) and CAP_NET_RAW (re-injection)
 * and nothing else; switches to user when given. */
static int drop_privileges(const char *user, const char *const *logs, size_t n_logs)
{
	if (user) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			live_log("--user %s: no such user", user);
			return -1;
		}
		/* The logs were opened (created) as root: the user must be able to
		 * reopen them at SIGHUP. */
		for (size_t i = 0; i < n_logs; i++)
			if (logs[i] && strcmp(logs[i], "-") && chown(logs[i], pw->pw_uid, pw->pw_gid) < 0)
				live_log("cannot give %s to %s: %s", logs[i], user, strerror(errno));
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			live_log("cannot switch to user %s: %s", user, strerror(errno));
			return -1;
		}
	}
	cap_t caps = cap_init();
	cap_value_t keep[] = {CAP_NET_ADMIN, CAP_NET_RAW};
	int rc = 0;
	if (!caps || cap_set_flag(caps, CAP_PERMITTED, 2, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 2, keep, CAP_SET) || cap_set_proc(caps)) {
		live_log("cannot drop capabilities: %s", strerror(errno));
		rc = -1;
	}
	cap_free(caps);
	/* Nothing we exec may regain what we dropped. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return rc;
}

/* ---------------------------------------------------------------- main */

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
	if (parse_args(L, argc, argv) < 0) {
		fputs(run_usage, stderr);
		goto out;
	}
	if (!L->ra.files.n || !L->inside.n) {
		fprintf(stderr, "hostgate: run needs rule files and --inside\n%s", run_usage);
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
	if (load_and_apply(L, &L->rs, &L->engine, false) < 0) {
		status = HG_EXIT_USAGE;
		goto out;
	}
	if (make_inspectors(L, L->engine, &L->ins, &L->ains) < 0) {
		live_log("cannot set up the engine: %s", strerror(errno));
		goto out;
	}
	long carried = live_allowed_flows(L);
	if (carried > 0)
		live_log("%ld allowed flows carried over keep their verdict (no copy: a reload cannot decide them "
		       "again)",
		       carried);
	L->alerts = run_open_log(L->ro.alert_log, &L->ro, L->rs);
	L->flows = run_open_log(L->ro.flow_log, &L->ro, L->rs);
	if ((L->ro.alert_log && !L->alerts) || (L->ro.flow_log && !L->flows))
		goto out;
	if (L->alerts)
		hg_eventlog_set_flush_each(L->alerts, true);
	if (L->flows)
		hg_eventlog_set_flush_each(L->flows, true);
	L->src = open_nflog(L->nft.nflog_group, (int)L->nft.snaplen);
	L->asrc = open_nflog(L->nft.alert_log_group, 65535);
	if (!L->src || !L->asrc)
		goto out;
	const char *logs[] = {L->ro.alert_log, L->ro.flow_log};
	if (drop_privileges(L->user, logs, 2) < 0)
		goto out;

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
				drain_source(L, L->src, true);
			if (pf[1].revents)
				drain_source(L, L->asrc, false);
		}
		flush_batch(L);
		uint64_t now = live_now_us();
		if (now >= next_expire) {
			hg_inspector_expire(L->ins, now);
			hg_inspector_expire(L->ains, now);
			next_expire = now + 1000000u;
		}
		if (L->stats_interval && now >= next_stats) {
			print_stats(L);
			next_stats = now + (uint64_t)L->stats_interval * 1000000u;
		}
	}
	flush_batch(L);
	live_log("stopping");
	print_stats(L);
	status = 0;
	if (L->remove_on_exit) {
		char *e2 = NULL;
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "delete table inet %s", L->nft.table);
		if (hg_act_nft(L->act, cmd, NULL, &e2) < 0)
			live_log("cannot remove the table: %s", e2 ? e2 : "?");
		free(e2);
	}
out:
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
	hg_hold_free(L->hold);
	hg_kept_free(L->kept);
	hg_act_free(L->act);
	free(L->home_net_auto);
	hg_rules_args_fini(&L->ra);
	hg_vec_free(&L->inside);
	free(L);
	return status;
}
