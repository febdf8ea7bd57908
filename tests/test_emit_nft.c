/* test_emit_nft.c - the nft emitter: hand-built IR checked for what the
 * kernel decides and what it holds, the real nft's check mode accepting the
 * text, determinism, and golden files for every ruleset in rulesets/.
 *
 * Golden files: rulesets/<stem>.nft next to each rulesets/<stem>.{yaml,json,
 * rules,txt}. To regenerate them after an intended change, run
 *     HG_UPDATE_GOLDEN=1 build-x/tests/test_emit_nft
 * or `ninja -C build-x update-golden`, and review the diff before committing. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostgate/emit.h"
#include "hostgate/ir.h"
#include "hostgate/table.h"
#include "ruleset_args.h"

/* ------------------------------------------------------------ IR kit */

static void set_cidrs(struct hg_ipset *s, const char *const *cidrs)
{
	for (; *cidrs; cidrs++) {
		struct hg_ip lo, hi;
		cr_assert(hg_ip_parse_cidr(*cidrs, &lo, &hi), "bad test CIDR %s", *cidrs);
		hg_ipset_add(s, &lo, &hi);
	}
}

static const char *const home_cidrs[] = {"10.0.0.0/8", "192.168.0.0/16", "fd00::/8", NULL};
static const char *const any_cidrs[] = {"::/0", NULL};

static struct hg_ruleset *rs_new(enum hg_rule_order order)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = hg_arena_alloc(rs->arena, sizeof(*p));
	p->name = "UnitPolicy";
	p->stateless_default = HG_SL_FORWARD;
	p->stateless_fragment_default = HG_SL_FORWARD;
	p->rule_order = order;
	set_cidrs(&p->home_net, home_cidrs);
	hg_ipset_copy(&p->external_net, &p->home_net);
	hg_ipset_complement(&p->external_net);
	rs->policy = p;
	return rs;
}

static struct hg_rule_group *group_add(struct hg_ruleset *rs, const char *name, enum hg_group_type type)
{
	struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){"unit.rules", 1, 1}, name, type);
	struct hg_policy *p = rs->policy;
	struct hg_group_ref **refs = type == HG_GROUP_STATEFUL ? &p->stateful_refs : &p->stateless_refs;
	size_t *n = type == HG_GROUP_STATEFUL ? &p->n_stateful_refs : &p->n_stateless_refs;
	struct hg_group_ref *v = hg_arena_alloc(rs->arena, (*n + 1) * sizeof(*v));
	if (*n)
		memcpy(v, *refs, *n * sizeof(*v));
	v[*n].group = g;
	v[*n].priority = (uint32_t)(*n + 1) * 10;
	*refs = v;
	(*n)++;
	return g;
}

enum { NET_ANY, NET_HOME, NET_EXT };

static void net_set(const struct hg_ruleset *rs, struct hg_ipset *s, int net, const char *cidr)
{
	if (cidr) {
		const char *const one[] = {cidr, NULL};
		set_cidrs(s, one);
	} else if (net == NET_HOME) {
		hg_ipset_copy(s, &rs->policy->home_net);
	} else if (net == NET_EXT) {
		hg_ipset_copy(s, &rs->policy->external_net);
	} else {
		set_cidrs(s, any_cidrs);
	}
}

/* "act proto src sport -> dst dport": cidr arguments override the nets;
 * port 0 means any. */
static struct hg_rule *rule_add(struct hg_ruleset *rs, struct hg_rule_group *g, enum hg_action act,
				enum hg_proto proto, int src, const char *src_cidr, int dst, const char *dst_cidr,
				uint16_t dport, uint32_t sid)
{
	struct hg_rule *r = hg_arena_alloc(rs->arena, sizeof(*r));
	r->loc = (struct hg_loc){"unit.rules", (uint32_t)g->n_rules + 1, 1};
	r->action = act;
	r->proto = proto;
	r->sid = sid;
	r->rev = 1;
	r->group = g;
	net_set(rs, &r->src_set, src, src_cidr);
	net_set(rs, &r->dst_set, dst, dst_cidr);
	hg_portset_add(&r->sport_set, 0, 65535);
	if (dport)
		hg_portset_add(&r->dport_set, dport, dport);
	else
		hg_portset_add(&r->dport_set, 0, 65535);
	bool transport = proto == HG_PROTO_IP || proto == HG_PROTO_TCP || proto == HG_PROTO_UDP ||
			 proto == HG_PROTO_ICMP;
	r->cls = transport ? HG_CLASS_IP_ONLY : HG_CLASS_APP;
	struct hg_rule **v = hg_arena_alloc(rs->arena, (g->n_rules + 1) * sizeof(*v));
	if (g->n_rules)
		memcpy(v, g->rules, g->n_rules * sizeof(*v));
	v[g->n_rules++] = r;
	g->rules = v;
	return r;
}

static struct hg_stateless_rule *sl_add(struct hg_ruleset *rs, struct hg_rule_group *g, uint32_t prio,
					enum hg_sl_action act)
{
	struct hg_stateless_rule *r = hg_arena_alloc(rs->arena, sizeof(*r));
	r->loc = (struct hg_loc){"unit.yaml", prio, 1};
	r->priority = prio;
	r->action = act;
	r->any_source = r->any_destination = r->any_sport = r->any_dport = true;
	struct hg_stateless_rule **v = hg_arena_alloc(rs->arena, (g->n_srules + 1) * sizeof(*v));
	if (g->n_srules)
		memcpy(v, g->srules, g->n_srules * sizeof(*v));
	v[g->n_srules++] = r;
	g->srules = v;
	return r;
}

static char *emit(const struct hg_ruleset *rs, const struct hg_nft_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	cr_assert_not_null(mem);
	int r = hg_emit_nft(mem, rs, o);
	fclose(mem);
	cr_assert_eq(r, 0, "hg_emit_nft: %s", strerror(-r));
	return buf;
}

/* ------------------------------------------------------- real nft */

/* Runs `unshare -n nft -c -f FILE` (check mode needs CAP_NET_ADMIN; a
 * fresh network namespace keeps the host's tables out of it), as an
 * unprivileged user `unshare -rn` (a user namespace of its own gives it
 * CAP_NET_ADMIN there). Returns 0 when nft accepts, 1 when it rejects (its
 * stderr in *msg), -1 when the check cannot run here. */
static int nft_check(const char *text, char **msg)
{
	*msg = NULL;
	const char *ns = geteuid() == 0 ? "-n" : "-rn";
	if (access("/usr/sbin/nft", X_OK) || access("/usr/bin/unshare", X_OK))
		return -1;
	char probe[64];
	snprintf(probe, sizeof(probe), "/usr/bin/unshare %s true 2>/dev/null", ns);
	if (system(probe) != 0)
		return -1;
	char path[] = "/tmp/hg-nft-XXXXXX", errpath[] = "/tmp/hg-nfterr-XXXXXX";
	int fd = mkstemp(path), efd = mkstemp(errpath);
	cr_assert(fd >= 0 && efd >= 0);
	size_t len = strlen(text);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(efd, 2);
		dup2(efd, 1);
		execl("/usr/bin/unshare", "unshare", ns, "/usr/sbin/nft", "-c", "-f", path, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	unlink(path);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	if (rc == 127)
		rc = -1;
	if (rc > 0) {
		FILE *f = fdopen(efd, "r");
		char *e = calloc(1, 8192);
		fseek(f, 0, SEEK_SET);
		size_t n = fread(e, 1, 8191, f);
		e[n] = '\0';
		fclose(f);
		*msg = e;
		rc = 1;
	} else {
		close(efd);
	}
	unlink(errpath);
	return rc;
}

/* Set when a text could not be given to nft: the test then ends as a
 * skip (nft_check_done), never as a pass that checked nothing. */
static bool nft_unchecked;

static void assert_nft_accepts(const char *text)
{
	char *msg;
	int r = nft_check(text, &msg);
	if (r < 0) {
		nft_unchecked = true;
		return;
	}
	cr_assert_eq(r, 0, "nft -c rejected the emitted text:\n%s\n--- text ---\n%s", msg, text);
}

/* The last statement of a test that gave text to nft. */
static void nft_check_done(void)
{
	if (nft_unchecked)
		cr_skip_test("nft -c could not run here (needs nft, unshare and root or an unprivileged user "
			     "namespace): the rest was checked, the text was not given to nft: skipped");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ------------------------------------------------------ unit tests */

/* The seed's shape plus 5-tuple rules: domain-list rules are APP class and
 * cannot match a TCP first packet, so the TCP drop on port 9999 is decided
 * by the kernel on the SYN (§2.2: IP-only rules look at the first packet),
 * while TLS flows are held for the daemon. */
Test(emit_nft, mixed_policy_decides_and_holds)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	struct hg_rule_group *g = group_add(rs, "Mixed", HG_GROUP_STATEFUL);
	struct hg_rule *tls = rule_add(rs, g, HG_ACT_PASS, HG_PROTO_TLS, NET_HOME, NULL, NET_EXT, NULL, 0, 1);
	tls->flow = HG_FLOW_TO_SERVER | HG_FLOW_ESTABLISHED;
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, NULL, 9999, 2);
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_IP, NET_ANY, NULL, NET_ANY, "198.51.100.7/32", 0, 3);
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_IP, NET_ANY, NULL, NET_ANY, "2001:db8::/32", 0, 4);
	struct hg_rule *rej = rule_add(rs, g, HG_ACT_REJECT, HG_PROTO_TCP, NET_ANY, NULL, NET_ANY, "203.0.113.0/24", 25, 5);
	rej->noalert = true;
	rule_add(rs, g, HG_ACT_ALERT, HG_PROTO_UDP, NET_HOME, NULL, NET_ANY, NULL, 53, 6);

	struct hg_nft_opts o;
	hg_nft_opts_defaults(&o);
	char *a = emit(rs, &o);
	char *b = emit(rs, &o);
	cr_assert_str_eq(a, b, "emitting twice must give identical bytes");

	cr_assert(strstr(a, "table inet hostgate {}\ndelete table inet hostgate\ntable inet hostgate {\n"));
	cr_assert(strstr(a, "kernel-decided stateful rules: 5 of 6; daemon hold: yes"), "%s", a);
	cr_assert(strstr(a, "elements = { 10.0.0.0/8, 192.168.0.0/16 }"), "home_net4:\n%s", a);
	cr_assert(strstr(a, "elements = { fd00::/8 }"), "home_net6");
	/* one map per family and class: sources mix HOME_NET and any, so
	 * the source is in the key (HOME_NET as its ranges) */
	cr_assert(strstr(a, "ct direction original meta l4proto . ip saddr . ip daddr . th dport vmap @k1"), "%s", a);
	cr_assert(strstr(a, "ct direction reply meta l4proto . ip daddr . ip saddr . th sport vmap @k1"), "%s", a);
	cr_assert(strstr(a, "tcp . 10.0.0.0/8 . 0.0.0.0/0 . 9999 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "tcp . 192.168.0.0/16 . 0.0.0.0/0 . 9999 : goto hg_drop_log"), "%s", a);
	/* the ip rule after it: tcp/udp with every port minus what the
	 * earlier rule decides, other protocols as proto ranges */
	cr_assert(strstr(a, "udp . 0.0.0.0/0 . 198.51.100.7 . 0-65535 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "tcp . 0.0.0.0/0 . 198.51.100.7 . 0-9998 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "18-255 . 198.51.100.7 : goto hg_drop_log"), "%s", a);
	cr_assert_null(strstr(a, "@k5"), "four maps at most:\n%s", a);
	cr_assert(strstr(a, "198.51.100.7 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "2001:db8::/32 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "tcp . 0.0.0.0/0 . 203.0.113.0/24 . 25 : goto hg_reject"), "%s", a);
	cr_assert(strstr(a, "# sid 2 unit.rules:2: drop tcp"), "source rule named:\n%s", a);
	/* alert: logged on the first packet, decides nothing */
	cr_assert(strstr(a, "ct direction original ct state new ip saddr @home_net4 meta l4proto . th dport @alert1 "
			    "log group 8 snaplen 128"),
		  "%s", a);
	cr_assert(strstr(a, "set alert1 {"), "%s", a);
	cr_assert(strstr(a, "@deny4 ct mark set ct mark & 0x0000ffff drop"), "%s", a);
	/* allowed earlier, in no set now (its element timed out): still allowed */
	cr_assert(strstr(a, "ct mark & 0xffff0000 != 0 ct mark set ct mark & 0x0000ffff | 0x00010000 accept"), "%s", a);
	cr_assert(strstr(a, "@allow6 ct mark set ct mark & 0x0000ffff | 0x00010000 accept"), "%s", a);
	/* An allowed flow's bulk: one ct mark compare (the table's generation,
	 * default 1), after the kernel's own rules (A.) and before the verdict
	 * sets. */
	const char *mark = strstr(a, "ct mark & 0xffff0000 == 0x00010000 accept\n");
	cr_assert(mark && mark < strstr(a, "@deny4 ct mark set") && mark > strstr(a, "@alert1 log group"), "%s", a);
	/* Held packets reach the daemon one by one, not in batches of 100 or
	 * after 1 s (nfnetlink_log's defaults). */
	/* Every state is held, SYNs included (the stream's start; Fast Open
	 * data), and conntrack-INVALID packets are dropped before the hold. */
	const char *inval = strstr(a, "\t\tct state invalid drop\n");
	const char *hold = strstr(a, "\t\tmeta l4proto { tcp, udp } meta mark set ct id log group 7 snaplen 65535 queue-threshold 1 drop\n");
	/* The server's ACKs of flows not yet allowed are copied to the daemon
	 * (a passed flow is allowed once the server acknowledged what was
	 * inspected), only when they come from the server's side: a reverse
	 * path through the interface they came in on (table.h). */
	const char *copy = strstr(a, "\t\tct direction reply tcp flags & (syn | ack) == ack fib saddr . iif oif exists log "
				     "prefix \"hg-ack\" group 7 snaplen 128 queue-threshold 1\n\t\tct direction reply accept\n");
	cr_assert(inval && copy && hold && inval < copy && copy < hold, "%s", a);
	/* A verdict is one connection's: the sets' key ends with the conntrack
	 * id (through the mark), set before the first lookup. */
	const char *prep = strstr(a, "\t\tmeta mark set ct id\n\t\tip saddr . th sport . ip daddr . th dport . meta mark @deny4");
	cr_assert(prep && prep > mark, "%s", a);
	cr_assert(strstr(a, "type ipv6_addr . inet_service . ipv6_addr . inet_service . mark\n"), "%s", a);
	cr_assert(strstr(a, "meta l4proto { tcp, udp } meta mark set ct id log group 7 snaplen 65535 queue-threshold 1 drop"));
	cr_assert(strstr(a, "timeout 3600s"));
	/* reply-orientation section: nothing outside the kernel can decide a
	 * first packet here */
	cr_assert(strstr(a, "# C. kernel-decided rules"), "%s", a);
	assert_nft_accepts(a);
	cr_assert_eq(hg_emit_nft_rule_count(rs, &o), hg_emit_nft_rule_count(rs, &o));
	cr_assert_gt(hg_emit_nft_rule_count(rs, &o), 10);
	free(a);
	free(b);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* A UDP first packet carries payload, so a DNS pass rule ahead of a UDP
 * drop (strict order) could decide it first: that drop stays with the
 * daemon, while the TCP drop after it is still the kernel's. */
Test(emit_nft, app_rule_keeps_udp_rule_out_of_kernel)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_STRICT);
	struct hg_rule_group *g = group_add(rs, "Strict", HG_GROUP_STATEFUL);
	rule_add(rs, g, HG_ACT_PASS, HG_PROTO_DNS, NET_HOME, NULL, NET_ANY, NULL, 0, 1);
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_UDP, NET_HOME, NULL, NET_ANY, NULL, 53, 2);
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, NULL, 53, 3);
	char *a = emit(rs, NULL);
	cr_assert(strstr(a, "kernel-decided stateful rules: 1 of 3"), "%s", a);
	cr_assert(strstr(a, "tcp . 53 : goto hg_drop_log"), "%s", a);
	cr_assert_null(strstr(a, "udp . 53 :"), "%s", a);
	/* the daemon-decided rules are UDP, the kernel's TCP: reply
	 * orientation stays exact, so section C is there */
	cr_assert(strstr(a, "# C. kernel-decided"), "%s", a);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* A flow:to_server rule could decide the SYN itself, so SYNs are held too
 * and a TCP rule after it is no longer the kernel's. */
Test(emit_nft, packet_rule_on_syn_holds_new_flows)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_STRICT);
	struct hg_rule_group *g = group_add(rs, "Syn", HG_GROUP_STATEFUL);
	struct hg_rule *r = rule_add(rs, g, HG_ACT_PASS, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, NULL, 443, 1);
	r->flow = HG_FLOW_TO_SERVER;
	r->cls = HG_CLASS_PACKET;
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_TCP, NET_ANY, NULL, NET_ANY, NULL, 0, 2);
	char *a = emit(rs, NULL);
	cr_assert(strstr(a, "kernel-decided stateful rules: 0 of 2"), "%s", a);
	cr_assert(strstr(a, "meta l4proto { tcp, udp } meta mark set ct id log group 7 snaplen 65535 queue-threshold 1 drop"), "SYNs held:\n%s", a);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* A bare ACK of an undecided flow passes in the kernel (it tells the
 * daemon nothing), unless a rule on tcp.flags or dsize could match it:
 * Suricata's header and payload keywords (tcp.flags:A; dsize:0) single out
 * exactly that packet, and replay would log an alert live never saw. */
Test(emit_nft, bare_ack_shortcut_only_without_shape_rules)
{
	for (int shaped = 0; shaped < 2; shaped++) {
		struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
		struct hg_rule_group *g = group_add(rs, "Ack", HG_GROUP_STATEFUL);
		struct hg_rule *r = rule_add(rs, g, HG_ACT_ALERT, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, NULL, 0, 1);
		r->flow = HG_FLOW_TO_SERVER;
		r->cls = HG_CLASS_PACKET;
		if (shaped) {
			r->has_dsize = true;
			r->dsize = (struct hg_dsize){.mode = '='};
		}
		char *a = emit(rs, NULL);
		cr_assert(strstr(a, "meta l4proto { tcp, udp } meta mark set ct id log group"), "held:\n%s", a);
		cr_assert_eq(count(a, "tcp flags & (syn | fin | rst | urg) == 0 ip"), shaped ? 0 : 2, "%s", a);
		assert_nft_accepts(a);
		free(a);
		hg_ruleset_free(rs);
	}
	nft_check_done();
}

/* Strict order with only 5-tuple rules and aws:drop_strict: everything is
 * decided on the first packet, in the kernel; nothing is held. */
Test(emit_nft, drop_strict_in_kernel)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_STRICT);
	rs->policy->default_actions = HG_SDA_DROP_STRICT | HG_SDA_ALERT_STRICT;
	struct hg_rule_group *g = group_add(rs, "Allow", HG_GROUP_STATEFUL);
	rule_add(rs, g, HG_ACT_PASS, HG_PROTO_TCP, NET_HOME, NULL, NET_EXT, NULL, 443, 1);
	rule_add(rs, g, HG_ACT_PASS, HG_PROTO_UDP, NET_HOME, NULL, NET_ANY, "10.0.0.2/32", 53, 2);
	char *a = emit(rs, NULL);
	cr_assert(strstr(a, "daemon hold: no"), "%s", a);
	cr_assert(strstr(a, "# D. aws:drop_strict"), "%s", a);
	cr_assert(strstr(a, "ct direction original ct state new log group 8 snaplen 128 queue-threshold 1\n"), "%s", a);
	cr_assert_null(strstr(a, "log group 7"), "%s", a);
	cr_assert_null(strstr(a, "# C. kernel-decided"), "%s", a);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* §3.1: stateless rules by priority, ports only for TCP/UDP, TCP flags as
 * flags/masks (several entries: any of them), defaults and fragments. */
Test(emit_nft, stateless_layer)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	rs->policy->stateless_default = HG_SL_DROP;
	rs->policy->stateless_fragment_default = HG_SL_PASS;
	struct hg_rule_group *g = group_add(rs, "SL", HG_GROUP_STATELESS);
	struct hg_stateless_rule *late = sl_add(rs, g, 20, HG_SL_FORWARD);
	hg_portset_add(&late->dst_ports, 443, 443);
	hg_portset_add(&late->dst_ports, 8000, 8080);
	late->any_dport = false;
	struct hg_stateless_rule *syn = sl_add(rs, g, 10, HG_SL_DROP);
	syn->tcp_flags = hg_arena_alloc(rs->arena, 2 * sizeof(*syn->tcp_flags));
	syn->tcp_flags[0] = (struct hg_tcp_flags){0x02, 0x12}; /* SYN without ACK */
	syn->tcp_flags[1] = (struct hg_tcp_flags){0x01, 0};    /* only FIN of all eight */
	syn->n_tcp_flags = 2;
	const char *const src[] = {"192.0.2.0/24", "2001:db8:1::/48", NULL};
	set_cidrs(&syn->sources, src);
	syn->any_source = false;
	struct hg_stateless_rule *icmp = sl_add(rs, g, 30, HG_SL_PASS);
	icmp->protocols[0] |= 1u << 1;
	icmp->protocols[58 >> 3] |= 1u << (58 & 7);
	struct hg_stateless_rule *never = sl_add(rs, g, 40, HG_SL_PASS);
	never->protocols[0] |= 1u << 1; /* ICMP with ports: ports apply only to TCP/UDP */
	hg_portset_add(&never->src_ports, 7, 7);
	never->any_sport = false;

	char *a = emit(rs, NULL);
	const char *p10 = strstr(a, "ip saddr { 192.0.2.0/24 } meta l4proto tcp tcp flags & 0x12 == 0x02 drop");
	const char *p10b = strstr(a, "ip saddr { 192.0.2.0/24 } meta l4proto tcp tcp flags & 0xff == 0x01 drop");
	const char *p10c = strstr(a, "ip6 saddr { 2001:db8:1::/48 } meta l4proto tcp tcp flags & 0x12 == 0x02 drop");
	const char *p20 = strstr(a, "meta l4proto { tcp, udp } th dport { 443, 8000-8080 } goto stateful");
	const char *p30 = strstr(a, "meta l4proto { icmp, ipv6-icmp } accept");
	cr_assert(p10 && p10b && p10c && p20 && p30, "%s", a);
	cr_assert(p10 < p20 && p20 < p30, "priority order");
	cr_assert(strstr(a, "# never matches"), "%s", a);
	/* Fragments are judged in prerouting before conntrack's defrag
	 * (priority -400): non-UDP ones dropped (§3.1), UDP ones through the
	 * stateless rules and the fragment default (aws:pass here: the mark
	 * that lets the reassembled datagram through forward). */
	const char *fr = strstr(a, "chain fragments {\n\t\ttype filter hook prerouting priority -450;");
	cr_assert(fr, "%s", a);
	cr_assert(strstr(fr, "meta l4proto != udp drop\n"), "%s", a);
	cr_assert(strstr(fr, "# StatelessFragmentDefaultActions\n\t\tmeta mark set meta mark | 0x10000000 accept\n\t}"), "%s", a);
	/* The reassembled datagram follows its first fragment's mark. */
	cr_assert(strstr(a, "meta mark & 0x30000000 == 0x20000000 meta mark set meta mark & 0xcfffffff goto stateful"));
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* Without stateless rules the fragments chain needs no packet mark when the
 * fragment default is drop or the whole datagram's path anyway: it drops
 * what §3.1 drops ("silently drops packet fragments for other protocols";
 * API FirewallPolicy StatelessFragmentDefaultActions) and forward reads no
 * mark. A fragment default that differs from the stateless default keeps
 * the mark. Helper chains appear only when a verdict names them. */
Test(emit_nft, fragments_chain_plain_without_stateless_rules)
{
	static const struct {
		enum hg_sl_action sl, frag;
		const char *last; /* the fragment chain's last rule */
		bool marks;
	} cases[] = {
		{HG_SL_FORWARD, HG_SL_FORWARD, "fib daddr type != local meta l4proto != udp drop\n\t}", false},
		{HG_SL_PASS, HG_SL_PASS, "fib daddr type != local meta l4proto != udp drop\n\t}", false},
		{HG_SL_FORWARD, HG_SL_DROP, "fib daddr type != local drop\n\t}", false},
		{HG_SL_FORWARD, HG_SL_PASS, "meta mark set meta mark | 0x10000000 accept\n\t}", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
		rs->policy->stateless_default = cases[i].sl;
		rs->policy->stateless_fragment_default = cases[i].frag;
		struct hg_rule_group *g = group_add(rs, "G", HG_GROUP_STATEFUL);
		rule_add(rs, g, HG_ACT_DROP, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, "198.51.100.0/24", 25, 1);
		char *a = emit(rs, NULL);
		const char *fr = strstr(a, "chain fragments {");
		cr_assert(fr, "%s", a);
		const char *end = strstr(fr, "\n\t}");
		const char *last = strstr(fr, cases[i].last);
		cr_assert(last && last + strlen(cases[i].last) - 3 == end, "case %zu:\n%s", i, a);
		cr_assert_eq(strstr(a, "meta mark & 0x30000000 ==") != NULL, cases[i].marks, "case %zu:\n%s", i, a);
		cr_assert(strstr(a, "chain hg_drop_log {"), "%s", a);
		cr_assert(!strstr(a, "chain hg_pass_log") && !strstr(a, "chain hg_reject") && !strstr(a, "chain hg_alert"),
			  "%s", a);
		assert_nft_accepts(a);
		free(a);
		hg_ruleset_free(rs);
	}
	nft_check_done();
}

/* Custom actions (API ActionDefinition: PublishMetricAction "publishes
 * the specified metrics to Amazon CloudWatch for the matching packet";
 * API Dimension: "Network Firewall sets the dimension name to
 * CustomAction and you provide the dimension value", pattern
 * ^[a-zA-Z0-9-_ ]+$): one counter object per dimension value, counted by
 * every rule and default that publishes it, once per packet. */
Test(emit_nft, custom_actions_count_in_named_counters)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	struct hg_policy *pol = rs->policy;
	struct hg_rule_group *g = group_add(rs, "SL", HG_GROUP_STATELESS);
	static const char *telnet_names[] = {"CountTelnet", "AlsoTelnet"};
	static const char *telnet_dims[] = {"telnet", "telnet"}; /* same value twice: counted once */
	struct hg_stateless_rule *t = sl_add(rs, g, 10, HG_SL_DROP);
	t->protocols[0] |= 1u << 6;
	hg_portset_add(&t->dst_ports, 23, 23);
	t->any_dport = false;
	t->custom_actions = telnet_names;
	t->custom_dimensions = telnet_dims;
	t->n_custom_actions = 2;
	static const char *udp_names[] = {"CountUdp"};
	static const char *udp_dims[] = {"udp seen-by_gw 2"};
	struct hg_stateless_rule *u = sl_add(rs, g, 20, HG_SL_FORWARD);
	u->protocols[17 >> 3] |= 1u << (17 & 7);
	u->custom_actions = udp_names;
	u->custom_dimensions = udp_dims;
	u->n_custom_actions = 1;
	static const char *def_names[] = {"Rest"}, *def_dims[] = {"rest"};
	static const char *frag_names[] = {"Frags"}, *frag_dims[] = {"udp seen-by_gw 2"};
	pol->stateless_default = HG_SL_PASS;
	pol->stateless_default_custom = def_names;
	pol->stateless_default_dimensions = def_dims;
	pol->n_stateless_default_custom = 1;
	pol->stateless_fragment_default = HG_SL_DROP;
	pol->stateless_fragment_custom = frag_names;
	pol->stateless_fragment_dimensions = frag_dims;
	pol->n_stateless_fragment_custom = 1;

	char *a = emit(rs, NULL);
	/* one object per value, spaces written as '.' (table.h) */
	cr_expect_eq(count(a, "\tcounter hg_ca_telnet {"), 1u, "%s", a);
	cr_expect_eq(count(a, "\tcounter hg_ca_udp.seen-by_gw.2 {"), 1u, "%s", a);
	cr_expect_eq(count(a, "\tcounter hg_ca_rest {"), 1u, "%s", a);
	/* rules in forward and in fragments (prerouting), defaults each in its chain */
	cr_expect_eq(count(a, "th dport 23 counter name \"hg_ca_telnet\" drop\n"), 2u, "%s", a);
	cr_expect_eq(count(a, "counter name \"hg_ca_telnet\" counter name"), 0u, "%s", a);
	cr_expect(strstr(a, "meta l4proto udp counter name \"hg_ca_udp.seen-by_gw.2\" goto stateful\n"), "%s", a);
	cr_expect(strstr(a, "# StatelessDefaultActions\n\t\tcounter name \"hg_ca_rest\" accept\n"), "%s", a);
	cr_expect(strstr(a, "# StatelessFragmentDefaultActions\n\t\tcounter name \"hg_ca_udp.seen-by_gw.2\" drop\n"),
		  "%s", a);
	/* the name reads back as the value, and only our names do */
	char v[HG_CA_VALUE_MAX + 1], n[HG_CA_NAME_MAX];
	cr_expect(hg_ca_counter_value(v, "hg_ca_udp.seen-by_gw.2") && !strcmp(v, "udp seen-by_gw 2"));
	cr_expect(!hg_ca_counter_value(v, "hg_ca_") && !hg_ca_counter_value(v, "hg_tcp_idle_350"));
	cr_expect(!hg_ca_counter_name(n, "a.b") && !hg_ca_counter_name(n, ""));
	char big[HG_CA_VALUE_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect(!hg_ca_counter_name(n, big));
	big[HG_CA_VALUE_MAX] = '\0';
	cr_expect(hg_ca_counter_name(n, big) && hg_ca_counter_value(v, n) && !strcmp(v, big));
	char *b = emit(rs, NULL);
	cr_expect_str_eq(a, b, "emitting twice gives the same text");
	free(b);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* A threat list of 10,000 addresses in 5-tuple rules becomes one map
 * (per family and shape), not 10,000 nft rules; nft loads it. */
Test(emit_nft, ten_thousand_rules_become_few)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	struct hg_rule_group *g = group_add(rs, "Threats", HG_GROUP_STATEFUL);
	char cidr[64];
	for (uint32_t i = 0; i < 10000; i++) {
		snprintf(cidr, sizeof(cidr), "100.%u.%u.%u/32", 64 + (i >> 16), (i >> 8) & 0xff, i & 0xff);
		if (i % 2)
			rule_add(rs, g, HG_ACT_DROP, HG_PROTO_IP, NET_HOME, NULL, NET_ANY, cidr, 0, i + 1);
		else
			rule_add(rs, g, HG_ACT_DROP, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, cidr, (uint16_t)(1000 + i % 7), i + 1);
	}
	rule_add(rs, g, HG_ACT_PASS, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, "100.64.0.0/10", 443, 20001);
	size_t n = hg_emit_nft_rule_count(rs, NULL);
	/* A fixed part does not grow with the rules: the verdict-set and
	 * hold rules, the fragments chain (§3.1, about ten). */
	cr_assert_leq(n, 50, "%zu nft rules", n);
	char *a = emit(rs, NULL);
	/* tcp rules one element each; ip rules tcp (around port 443, which
	 * the pass rule decides first in DEFAULT_ACTION_ORDER: two pieces)
	 * and udp, plus three ranges of other protocols */
	cr_assert_eq(count(a, ": goto hg_drop_log"), 5000 + 5000 * 6, "every rule present: %zu",
		     count(a, ": goto hg_drop_log"));
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* Overlapping rules share one map (the kernel refuses overlapping
 * intervals): the later rule keeps only what earlier ones leave, split into
 * disjoint pieces; a rule fully covered by an earlier element is dead and
 * left out. */
Test(emit_nft, overlaps_resolved_in_one_map)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_STRICT);
	struct hg_rule_group *g = group_add(rs, "Ov", HG_GROUP_STATEFUL);
	rule_add(rs, g, HG_ACT_PASS, HG_PROTO_IP, NET_ANY, NULL, NET_ANY, "198.51.100.0/24", 0, 1);
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_IP, NET_ANY, NULL, NET_ANY, "198.51.100.9/32", 0, 2); /* dead */
	rule_add(rs, g, HG_ACT_DROP, HG_PROTO_IP, NET_ANY, NULL, NET_ANY, "198.51.0.0/16", 0, 3);   /* overlaps */
	char *a = emit(rs, NULL);
	cr_assert_null(strstr(a, "198.51.100.9"), "%s", a);
	cr_assert(strstr(a, "ct direction original meta l4proto . ip daddr vmap @k1"), "%s", a);
	cr_assert_null(strstr(a, "@k3"), "one map for tcp/udp, one for the rest:\n%s", a);
	cr_assert(strstr(a, "tcp . 198.51.100.0/24 : accept"), "%s", a);
	cr_assert(strstr(a, "tcp . 198.51.0.0-198.51.99.255 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "udp . 198.51.101.0-198.51.255.255 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "18-255 . 198.51.101.0-198.51.255.255 : goto hg_drop_log"), "%s", a);
	cr_assert_null(strstr(a, "198.51.0.0/16"), "%s", a);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* STRICT_ORDER: an alert before a pass still alerts, so alert sets come
 * before the verdict maps; an alert after the pass leaves out what the
 * pass decides first, and the alert keys form one disjoint union. */
Test(emit_nft, strict_alerts_before_maps)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_STRICT);
	struct hg_rule_group *g = group_add(rs, "Al", HG_GROUP_STATEFUL);
	rule_add(rs, g, HG_ACT_ALERT, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, "198.51.100.0/24", 0, 1);
	rule_add(rs, g, HG_ACT_PASS, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, "198.51.0.0/16", 443, 2);
	rule_add(rs, g, HG_ACT_ALERT, HG_PROTO_TCP, NET_HOME, NULL, NET_ANY, NULL, 443, 3);
	char *a = emit(rs, NULL);
	const char *al = strstr(a, "ct direction original ct state new ip saddr @home_net4 meta l4proto . ip daddr . th dport "
				   "@alert1 log group 8 snaplen 128");
	const char *k = strstr(a, "ct direction original ip saddr @home_net4 meta l4proto . ip daddr . th dport vmap @k1");
	cr_assert(al && k && al < k, "%s", a);
	cr_assert(strstr(a, "tcp . 198.51.100.0/24 . 0-65535,"), "%s", a);
	cr_assert(strstr(a, "tcp . 0.0.0.0-198.50.255.255 . 443,"), "%s", a);
	cr_assert(strstr(a, "tcp . 198.52.0.0-255.255.255.255 . 443,"), "%s", a);
	/* IPv6 has only sid 3, whose destination is any */
	cr_assert(strstr(a, "ct state new ip6 saddr @home_net6 meta l4proto . th dport @alert2 log group 8"), "%s", a);
	cr_assert_null(strstr(a, "@alert3"), "one set per family and class:\n%s", a);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* "<>" rules match either orientation; inside interfaces restrict filtering. */
Test(emit_nft, bidirectional_and_inside_ifs)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	struct hg_rule_group *g = group_add(rs, "Bi", HG_GROUP_STATEFUL);
	struct hg_rule *r = rule_add(rs, g, HG_ACT_DROP, HG_PROTO_TCP, NET_ANY, "10.1.0.0/16", NET_ANY,
				     "203.0.113.5/32", 22, 1);
	r->bidirectional = true;
	struct hg_nft_opts o;
	hg_nft_opts_defaults(&o);
	const char *ifs[] = {"veth-in0", "lan1"};
	o.inside_ifs = ifs;
	o.n_inside_ifs = 2;
	o.table = "hg_test";
	o.ct_mark_gen = 0xbeef; /* the live daemon's generation, in the mark's high half */
	char *a = emit(rs, &o);
	cr_assert(strstr(a, "table inet hg_test {}\ndelete table inet hg_test\n"));
	cr_assert(strstr(a, "ct mark & 0xffff0000 == 0xbeef0000 accept\n"), "%s", a);
	cr_assert(strstr(a, "@allow4 ct mark set ct mark & 0x0000ffff | 0xbeef0000 accept\n"), "%s", a);
	cr_assert(strstr(a, "iifname != { \"veth-in0\", \"lan1\" } oifname != { \"veth-in0\", \"lan1\" } accept"), "%s", a);
	cr_assert(strstr(a, "tcp . 10.1.0.0/16 . 203.0.113.5 . 0-65535 . 22 : goto hg_drop_log"), "%s", a);
	cr_assert(strstr(a, "tcp . 203.0.113.5 . 10.1.0.0/16 . 22 . 0-65535 : goto hg_drop_log"), "%s", a);
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

Test(emit_nft, refuses_unfinalized_and_bad_table_names)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	FILE *f = fopen("/dev/null", "w");
	cr_assert_eq(hg_emit_nft(f, rs, NULL), -EINVAL, "no policy: not finalized");
	hg_ruleset_free(rs);
	rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	struct hg_nft_opts o;
	hg_nft_opts_defaults(&o);
	o.table = "x; flush ruleset";
	cr_assert_eq(hg_emit_nft(f, rs, &o), -EINVAL);
	fclose(f);
	hg_ruleset_free(rs);
}

/* An empty policy (no groups, nothing held) is still a valid table. */
Test(emit_nft, empty_policy_is_valid_nft)
{
	struct hg_ruleset *rs = rs_new(HG_ORDER_DEFAULT_ACTION);
	char *a = emit(rs, NULL);
	cr_assert(strstr(a, "daemon hold: no"));
	cr_assert_null(strstr(a, "log group 7"));
	assert_nft_accepts(a);
	free(a);
	hg_ruleset_free(rs);
	nft_check_done();
}

/* ------------------------------------- 10k rules: count and meaning */

/* A reading of what section A of the emitted text decides for the first
 * packet of a flow in its original direction: the maps and alert sets
 * parsed back from the text, and the rules walked as the kernel would. */
struct t_range {
	struct hg_ip lo, hi;
};

struct t_elem {
	struct t_range d[5];
	char verdict[40];
};

struct t_map {
	char name[32];
	size_t nd;
	struct t_elem *el;
	size_t n, cap;
};

enum { TF_PROTO, TF_SADDR, TF_DADDR, TF_SPORT, TF_DPORT };

struct t_rule {
	int fam;         /* 4, 6, 0: either */
	int pre_s, pre_d; /* 0 none, 1 home_net, 2 external_net */
	int field[5];
	size_t nf;
	bool alert;
	const struct t_map *map;
};

struct t_pkt {
	int fam;
	unsigned proto;
	struct hg_ip s, d;
	uint16_t sp, dp;
};

static void t_num(struct hg_ip *ip, unsigned v)
{
	memset(ip, 0, sizeof(*ip));
	ip->b[14] = (uint8_t)(v >> 8);
	ip->b[15] = (uint8_t)v;
}

static void t_parse_part(const char *txt, bool addr, struct t_range *r)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", txt);
	char *dash = strchr(buf, '-');
	if (addr) {
		struct hg_ip lo, hi;
		if (dash) {
			*dash = '\0';
			cr_assert(hg_ip_parse_cidr(buf, &r->lo, &hi), "bad %s", txt);
			cr_assert(hg_ip_parse_cidr(dash + 1, &lo, &r->hi), "bad %s", txt);
		} else {
			cr_assert(hg_ip_parse_cidr(buf, &r->lo, &r->hi), "bad %s", txt);
		}
		return;
	}
	static const struct { const char *n; unsigned v; } names[] = {
		{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"ipv6-icmp", 58}};
	for (size_t i = 0; i < HG_ARRAY_LEN(names); i++)
		if (!strcmp(buf, names[i].n)) {
			t_num(&r->lo, names[i].v);
			r->hi = r->lo;
			return;
		}
	unsigned lo, hi;
	if (dash) {
		cr_assert_eq(sscanf(buf, "%u-%u", &lo, &hi), 2, "bad %s", txt);
	} else {
		cr_assert_eq(sscanf(buf, "%u", &lo), 1, "bad %s", txt);
		hi = lo;
	}
	t_num(&r->lo, lo);
	t_num(&r->hi, hi);
}

/* Splits s at " . " into at most 5 parts (in place). */
static size_t t_split(char *s, char **parts)
{
	size_t n = 0;
	parts[n++] = s;
	for (char *p; n < 5 && (p = strstr(s, " . ")); s = p + 3) {
		*p = '\0';
		parts[n++] = p + 3;
	}
	return n;
}

static int t_field(const char *f, int *fam)
{
	if (!strcmp(f, "meta l4proto"))
		return TF_PROTO;
	if (!strncmp(f, "ip6 ", 4))
		*fam = 6, f += 4;
	else if (!strncmp(f, "ip ", 3))
		*fam = 4, f += 3;
	else if (!strncmp(f, "th ", 3))
		f += 3;
	if (!strcmp(f, "saddr"))
		return TF_SADDR;
	if (!strcmp(f, "daddr"))
		return TF_DADDR;
	if (!strcmp(f, "sport"))
		return TF_SPORT;
	if (!strcmp(f, "dport"))
		return TF_DPORT;
	cr_assert_fail("unknown key field %s", f);
	return -1;
}

/* Parses the maps and sets kN / alertN and the original-direction rules
 * of section A. */
static void t_parse(char *text, struct t_map *maps, size_t *n_maps, struct t_rule *rules, size_t *n_rules)
{
	*n_maps = *n_rules = 0;
	struct t_map *cur = NULL;
	bool in_a = false;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == '\t')
			line++;
		char name[32];
		if ((sscanf(line, "map %31s {", name) == 1 || sscanf(line, "set %31s {", name) == 1) &&
		    (name[0] == 'k' || !strncmp(name, "alert", 5))) {
			cr_assert_lt(*n_maps, 64);
			cur = &maps[(*n_maps)++];
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->name, sizeof(cur->name), "%s", name);
			continue;
		}
		if (cur) {
			if (!strncmp(line, "type ", 5)) {
				char *parts[5];
				char *colon = strstr(line, " : ");
				if (colon)
					*colon = '\0';
				cur->nd = t_split(line + 5, parts);
				for (size_t i = 0; i < cur->nd; i++)
					cr_assert(strcmp(parts[i], "inet_proto") || i == 0);
			} else if (!strcmp(line, "}") && cur->cap) {
				cur = NULL;
			} else if (*line && *line != '#' && strncmp(line, "flags", 5) && strncmp(line, "elements", 8) &&
				   strcmp(line, "}")) {
				struct t_elem el = {0};
				char *colon = strstr(line, " : ");
				if (colon) {
					*colon = '\0';
					snprintf(el.verdict, sizeof(el.verdict), "%s", colon + 3);
				}
				size_t l = strlen(el.verdict);
				if (l && el.verdict[l - 1] == ',')
					el.verdict[l - 1] = '\0';
				l = strlen(line);
				if (l && line[l - 1] == ',')
					line[l - 1] = '\0';
				char *parts[5];
				size_t n = t_split(line, parts);
				cr_assert_eq(n, cur->nd, "element arity in %s", cur->name);
				for (size_t i = 0; i < n; i++)
					t_parse_part(parts[i], strchr(parts[i], '.') || strchr(parts[i], ':'), &el.d[i]);
				if (cur->n == cur->cap) {
					cur->cap = cur->cap ? 2 * cur->cap : 1024;
					cur->el = realloc(cur->el, cur->cap * sizeof(*cur->el));
				}
				cur->el[cur->n++] = el;
			} else if (!strncmp(line, "elements", 8) && !cur->cap) {
				cur->cap = 1024;
				cur->el = calloc(cur->cap, sizeof(*cur->el));
			}
			continue;
		}
		if (!strncmp(line, "# A. ", 5))
			in_a = true;
		else if (!strncmp(line, "# B. ", 5))
			in_a = false;
		if (!in_a || *line == '#' || strncmp(line, "ct direction original ", 22))
			continue;
		struct t_rule r = {0};
		char *p = line + 22;
		if (!strncmp(p, "ct state new ", 13))
			p += 13;
		for (;;) {
			if (!strncmp(p, "meta nfproto ipv4 ", 18))
				r.fam = 4, p += 18;
			else if (!strncmp(p, "meta nfproto ipv6 ", 18))
				r.fam = 6, p += 18;
			else if (strstr(p, " @home_net") == strchr(p, ' ') + 6 || strstr(p, " @external_net") == strchr(p, ' ') + 6) {
				char ip[8], side[8], set[32];
				cr_assert_eq(sscanf(p, "%7s %7s @%31s ", ip, side, set), 3, "%s", p);
				r.fam = strcmp(ip, "ip6") ? 4 : 6;
				*(strcmp(side, "saddr") ? &r.pre_d : &r.pre_s) = strncmp(set, "home", 4) ? 2 : 1;
				p += strlen(ip) + strlen(side) + strlen(set) + 4;
			} else {
				break;
			}
		}
		char *at = strstr(p, " vmap @");
		char *mapname;
		if (at) {
			*at = '\0';
			mapname = at + 7;
		} else {
			at = strstr(p, " @alert");
			cr_assert_not_null(at, "section A rule of an unknown form: %s", line);
			*at = '\0';
			mapname = at + 2;
			r.alert = true;
			*strchr(mapname, ' ') = '\0';
		}
		char *parts[5];
		r.nf = t_split(p, parts);
		for (size_t i = 0; i < r.nf; i++)
			r.field[i] = t_field(parts[i], &r.fam);
		for (size_t i = 0; i < *n_maps; i++)
			if (!strcmp(maps[i].name, mapname))
				r.map = &maps[i];
		cr_assert_not_null(r.map, "no map %s", mapname);
		cr_assert_lt(*n_rules, 64);
		rules[(*n_rules)++] = r;
	}
}

static bool t_in(const struct t_range *r, const struct hg_ip *v)
{
	return hg_ip_cmp(&r->lo, v) <= 0 && hg_ip_cmp(v, &r->hi) <= 0;
}

/* What the parsed section A does with the first packet: the verdict of
 * the first map that has its key ("" when none), and whether it was
 * copied for alerts on the way. Every key lies in at most one element. */
static const char *t_kernel(const struct t_rule *rules, size_t n, const struct hg_policy *pol,
			    const struct t_pkt *k, bool *alerted)
{
	*alerted = false;
	for (size_t i = 0; i < n; i++) {
		const struct t_rule *r = &rules[i];
		if (r->fam && r->fam != k->fam)
			continue;
		if (r->pre_s && !hg_ipset_contains(r->pre_s == 1 ? &pol->home_net : &pol->external_net, &k->s))
			continue;
		if (r->pre_d && !hg_ipset_contains(r->pre_d == 1 ? &pol->home_net : &pol->external_net, &k->d))
			continue;
		struct hg_ip key[5];
		for (size_t f = 0; f < r->nf; f++) {
			switch (r->field[f]) {
			case TF_PROTO: t_num(&key[f], k->proto); break;
			case TF_SADDR: key[f] = k->s; break;
			case TF_DADDR: key[f] = k->d; break;
			case TF_SPORT: t_num(&key[f], k->sp); break;
			default: t_num(&key[f], k->dp); break;
			}
		}
		const struct t_elem *hit = NULL;
		for (size_t e = 0; e < r->map->n; e++) {
			const struct t_elem *el = &r->map->el[e];
			bool in = true;
			for (size_t f = 0; f < r->nf && in; f++)
				in = t_in(&el->d[f], &key[f]);
			if (!in)
				continue;
			cr_assert_null(hit, "overlapping elements in %s", r->map->name);
			hit = el;
		}
		if (!hit)
			continue;
		if (r->alert)
			*alerted = true;
		else
			return hit->verdict;
	}
	return "";
}

static bool t_ports(const struct hg_portset *s, unsigned proto, uint16_t port)
{
	if (s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535)
		return true;
	return (proto == 6 || proto == 17) && hg_portset_contains(s, port);
}

static bool t_rule_matches(const struct hg_rule *r, const struct t_pkt *k)
{
	switch (r->proto) {
	case HG_PROTO_TCP: if (k->proto != 6) return false; break;
	case HG_PROTO_UDP: if (k->proto != 17) return false; break;
	case HG_PROTO_ICMP: if (k->proto != (k->fam == 4 ? 1u : 58u)) return false; break;
	default: break;
	}
	for (int swap = 0; swap < (r->bidirectional ? 2 : 1); swap++) {
		const struct hg_ipset *s = swap ? &r->dst_set : &r->src_set, *d = swap ? &r->src_set : &r->dst_set;
		const struct hg_portset *sp = swap ? &r->dport_set : &r->sport_set;
		const struct hg_portset *dp = swap ? &r->sport_set : &r->dport_set;
		if (hg_ipset_contains(s, &k->s) && hg_ipset_contains(d, &k->d) && t_ports(sp, k->proto, k->sp) &&
		    t_ports(dp, k->proto, k->dp))
			return true;
	}
	return false;
}

static const char *t_verdict(const struct hg_rule *r)
{
	switch (r->action) {
	case HG_ACT_PASS: return r->alert_on_pass ? "goto hg_pass_log" : "accept";
	case HG_ACT_DROP: return r->noalert ? "drop" : "goto hg_drop_log";
	default: return r->noalert ? "goto hg_reject" : "goto hg_reject_log";
	}
}

static int t_rank(enum hg_action a)
{
	return a == HG_ACT_PASS ? 0 : a == HG_ACT_DROP ? 1 : a == HG_ACT_REJECT ? 2 : 3;
}

/* DEFAULT_ACTION_ORDER within one group: action, priority, position. */
static int t_cmp(const void *a, const void *b)
{
	const struct hg_rule *x = *(const struct hg_rule *const *)a, *y = *(const struct hg_rule *const *)b;
	if (t_rank(x->action) != t_rank(y->action))
		return t_rank(x->action) - t_rank(y->action);
	if (hg_rule_priority(x) != hg_rule_priority(y))
		return hg_rule_priority(x) < hg_rule_priority(y) ? -1 : 1;
	return x->loc.line < y->loc.line ? -1 : x->loc.line > y->loc.line;
}

static uint64_t t_rng = 0x9e3779b97f4a7c15ull;

static uint32_t t_rand(void)
{
	t_rng ^= t_rng << 13;
	t_rng ^= t_rng >> 7;
	t_rng ^= t_rng << 17;
	return (uint32_t)(t_rng >> 11);
}

/* A random address inside s (within one of its ranges). */
static void t_pick(const struct hg_ipset *s, struct hg_ip *out)
{
	const struct hg_iprange *r = &s->r[t_rand() % s->n];
	*out = r->lo;
	for (int i = 8; i < 16; i++)
		out->b[i] = (uint8_t)(r->lo.b[i] | (t_rand() & (r->lo.b[i] ^ r->hi.b[i])));
	if (hg_ip_cmp(out, &r->hi) > 0 || hg_ip_cmp(out, &r->lo) < 0)
		*out = r->lo;
}

static uint16_t t_port(const struct hg_portset *s)
{
	const struct hg_portrange *r = &s->r[t_rand() % s->n];
	return (uint16_t)(r->lo + t_rand() % ((unsigned)r->hi - r->lo + 1));
}

/* The bench's generator (bench/compile-scale gen_rules): 10k rules mixing
 * drop/pass/alert/reject, tcp/udp/ip, shared /24s, port lists and ranges,
 * flow: rules. Compiled, they stay within 50 nft rules, nft loads them,
 * and for 2000 sampled first packets the maps give the verdict of the
 * first matching kernel-decided rule in evaluation order. */
Test(emit_nft, bench_10k_mixed_rules_few_and_exact, .timeout = 300)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert_not_null(src, "HG_SRCDIR not set (run through meson test)");
	char path[] = "/tmp/hg-10k-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	char *cmd = xasprintf("bash -c 'eval \"$(sed -n \"/^gen_rules()/,/^}/p\" \"$1\")\"; gen_rules 10000 \"$2\"' "
			      "_ '%s/bench/compile-scale' '%s'", src, path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	free(cmd);

	struct hg_load_opts lo;
	hg_load_opts_defaults(&lo);
	struct hg_diag d;
	hg_diag_init(&d);
	struct hg_ruleset *rs = hg_ruleset_new();
	bool ok = hg_load_file(rs, path, &lo, &d) && hg_ruleset_finalize(rs, &lo, &d);
	if (!ok)
		hg_diag_print(&d, stderr);
	cr_assert(ok);
	unlink(path);
	const struct hg_policy *pol = rs->policy;
	cr_assert_eq(pol->rule_order, HG_ORDER_DEFAULT_ACTION);

	size_t n = hg_emit_nft_rule_count(rs, NULL);
	cr_log_info("10k mixed rules: %zu nft rules", n);
	/* A fixed part does not grow with the rules: the verdict-set and
	 * hold rules and the fragments chain (§3.1, about ten rules). */
	cr_assert_leq(n, 50, "%zu nft rules", n);
	char *a = emit(rs, NULL), *b = emit(rs, NULL);
	cr_assert_str_eq(a, b, "emitting twice must give identical bytes");
	assert_nft_accepts(a);

	/* The reference: IP-only rules in evaluation order (here all of them
	 * are the kernel's: the flow: rules are established-only and cannot
	 * decide a first packet). */
	const struct hg_rule **v = calloc(10000, sizeof(*v));
	size_t nv = 0, nall = 0;
	for (size_t gi = 0; gi < rs->n_groups; gi++)
		for (size_t i = 0; i < rs->groups[gi]->n_rules; i++) {
			nall++;
			if (rs->groups[gi]->rules[i]->cls == HG_CLASS_IP_ONLY)
				v[nv++] = rs->groups[gi]->rules[i];
		}
	cr_assert_eq(nall, 10000);
	qsort(v, nv, sizeof(*v), t_cmp);
	char head[96];
	snprintf(head, sizeof(head), "kernel-decided stateful rules: %zu of 10000;", nv);
	cr_assert(strstr(a, head), "expected \"%s\"", head);

	static struct t_map maps[64];
	struct t_rule rules[64];
	size_t n_maps, n_rules;
	t_parse(a, maps, &n_maps, rules, &n_rules);
	cr_assert_gt(n_rules, 0);

	size_t decided = 0, alerted = 0;
	for (int i = 0; i < 2000; i++) {
		struct t_pkt k = {0};
		const struct hg_rule *r = v[t_rand() % nv];
		bool random = t_rand() % 10 == 0;
		t_pick(random ? &pol->external_net : &r->dst_set, &k.d);
		k.fam = hg_ip_is_v4(&k.d) ? 4 : 6;
		/* a source of the same family, mostly inside HOME_NET */
		for (int tries = 0; tries < 64; tries++) {
			t_pick(t_rand() % 8 ? &pol->home_net : &pol->external_net, &k.s);
			if (hg_ip_is_v4(&k.s) == (k.fam == 4))
				break;
		}
		if (hg_ip_is_v4(&k.s) != (k.fam == 4))
			continue;
		unsigned pr = t_rand() % 10;
		k.proto = pr < 5 ? 6 : pr < 8 ? 17 : pr < 9 ? (k.fam == 4 ? 1 : 58) : 47;
		k.sp = (uint16_t)(1024 + t_rand() % 64512);
		k.dp = t_rand() % 3 ? t_port(&r->dport_set) : (uint16_t)(t_rand() % 65536);
		if (k.proto != 6 && k.proto != 17)
			k.sp = k.dp = 0;

		const char *want = "";
		bool want_alert = false;
		for (size_t x = 0; x < nv; x++) {
			if (!t_rule_matches(v[x], &k))
				continue;
			if (v[x]->action == HG_ACT_ALERT) {
				want_alert = true;
				continue;
			}
			want = t_verdict(v[x]);
			break;
		}
		bool got_alert;
		const char *got = t_kernel(rules, n_rules, pol, &k, &got_alert);
		char sb[64], db[64];
		hg_ip_format(&k.s, sb, sizeof(sb));
		hg_ip_format(&k.d, db, sizeof(db));
		cr_assert_str_eq(got, want, "proto %u %s:%u -> %s:%u: kernel \"%s\", rules \"%s\"", k.proto, sb, k.sp, db,
				 k.dp, got, want);
		if (!*want)
			cr_assert_eq(got_alert, want_alert, "proto %u %s:%u -> %s:%u: alert copy %d, rules %d", k.proto,
				     sb, k.sp, db, k.dp, got_alert, want_alert);
		decided += *want != '\0';
		alerted += !*want && want_alert;
	}
	cr_log_info("sampled 2000 first packets: %zu decided, %zu alerted only", decided, alerted);
	/* the sample must exercise both */
	cr_assert_gt(decided, 500);
	cr_assert_gt(alerted, 20);
	for (size_t i = 0; i < n_maps; i++)
		free(maps[i].el);
	free(v);
	free(a);
	free(b);
	hg_ruleset_free(rs);
	hg_diag_fini(&d);
	nft_check_done();
}

/* ------------------------------------------------- golden rulesets */

static bool is_input(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json") ||
		       !strcmp(dot, ".rules") || !strcmp(dot, ".txt"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


Test(golden, rulesets)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert_not_null(src, "HG_SRCDIR not set (run through meson test)");
	char *cwd = getcwd(NULL, 0);
	cr_assert_eq(chdir(src), 0, "chdir %s", src);
	bool update = getenv("HG_UPDATE_GOLDEN") && !strcmp(getenv("HG_UPDATE_GOLDEN"), "1");
	DIR *dir = opendir("rulesets");
	cr_assert_not_null(dir);
	char *names[512];
	size_t n = 0;
	for (struct dirent *de; (de = readdir(dir)) && n < HG_ARRAY_LEN(names);)
		if (is_input(de->d_name))
			names[n++] = xstrdup(de->d_name);
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_str);
	cr_assert_gt(n, 0, "no rulesets found");

	size_t checked = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("rulesets/%s", names[i]);
		char *stem = xstrdup(names[i]);
		*strrchr(stem, '.') = '\0';
		if (i && !strncmp(names[i - 1], stem, strlen(stem)) && names[i - 1][strlen(stem)] == '.')
			cr_assert_fail("two rulesets share the stem %s: their goldens would collide", stem);
		char *golden = xasprintf("rulesets/%s.nft", stem);

		struct hg_load_opts lo;
		hg_load_opts_defaults(&lo);
		char *args = ruleset_args(path);
		struct hg_param refs[8];
		ruleset_args_apply(args, &lo, refs, HG_ARRAY_LEN(refs));
		struct hg_diag d;
		hg_diag_init(&d);
		struct hg_ruleset *rs = hg_ruleset_new();
		bool ok = hg_load_file(rs, path, &lo, &d) && hg_ruleset_finalize(rs, &lo, &d);
		if (!ok)
			hg_diag_print(&d, stderr);
		cr_assert(ok, "%s does not load", path);

		char *a = emit(rs, NULL), *b = emit(rs, NULL);
		cr_assert_str_eq(a, b, "%s: emitting twice gave different bytes", path);
		assert_nft_accepts(a);
		if (update) {
			FILE *f = fopen(golden, "w");
			cr_assert_not_null(f, "%s: %s", golden, strerror(errno));
			fputs(a, f);
			cr_assert_eq(fclose(f), 0);
			cr_log_info("wrote %s", golden);
		} else {
			char *want = NULL;
			size_t wlen = 0;
			int r = hg_read_file(golden, 64u << 20, &want, &wlen);
			cr_assert_eq(r, 0, "%s missing: run with HG_UPDATE_GOLDEN=1 (ninja update-golden) and review it",
				     golden);
			cr_assert_str_eq(a, want, "%s differs from %s; if intended, regenerate with HG_UPDATE_GOLDEN=1",
					 path, golden);
			free(want);
		}
		checked++;
		free(a);
		free(b);
		hg_ruleset_free(rs);
		hg_diag_fini(&d);
		free(args);
		free(path);
		free(stem);
		free(golden);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	cr_assert_eq(chdir(cwd), 0);
	free(cwd);
	/* The issue's nine: see test_apply_netns.c. */
	cr_assert_geq(checked, 9, "only %zu rulesets checked", checked);
	nft_check_done();
}
