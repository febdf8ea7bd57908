/* test_apply_netns.c - the emitted table in a real kernel, inside throwaway
 * network namespaces: `hostgate apply` of every ruleset, the atomicity of a
 * failed apply (the previous table stays byte for byte), check mode, and a
 * forward path client - gateway - server where a kernel-decided 5-tuple
 * drop blocks one port, another passes, and a flow that needs the daemon is
 * held (fails closed) when no daemon runs. Needs root; skips otherwise. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sh_util.h"
#include "hostgate/apply.h"
#include "hostgate/emit.h"
#include "hostgate/ir.h"
#include "ruleset_args.h"

#define PY "/usr/bin/python3"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("network namespace tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN): skipped");
	if (access("/usr/sbin/nft", X_OK) || (access("/usr/sbin/ip", X_OK) && access("/sbin/ip", X_OK)))
		cr_skip_test("nft or ip not installed: skipped");
}


struct ns {
	char name[64];
};

/* Namespaces and the server of the running test, released by its .fini
 * even when an assertion ends the test early. */
static struct ns *live_ns[4];
static pid_t live_server;

static void cleanup(void)
{
	if (live_server > 0) {
		kill(live_server, SIGTERM);
		waitpid(live_server, NULL, 0);
		live_server = 0;
	}
	for (size_t i = 0; i < HG_ARRAY_LEN(live_ns); i++)
		if (live_ns[i] && live_ns[i]->name[0]) {
			sh("ip netns del %s 2>/dev/null", live_ns[i]->name);
			live_ns[i]->name[0] = '\0';
			live_ns[i] = NULL;
		}
}

static void ns_add(struct ns *ns, const char *role)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(live_ns); i++)
		if (!live_ns[i]) {
			live_ns[i] = ns;
			break;
		}
	snprintf(ns->name, sizeof(ns->name), "hg-test-%d-%s", (int)getpid(), role);
	sh("ip netns del %s 2>/dev/null", ns->name);
	cr_assert_eq(sh("ip netns add %s", ns->name), 0, "ip netns add %s", ns->name);
	sh("ip netns exec %s ip link set lo up", ns->name);
}

/* What a child reports from inside a namespace. */
struct in_ns_result {
	int ret;
	char err[4000];
};

typedef int (*in_ns_fn)(void *ud, char *err, size_t errlen);

/* Runs fn in a forked child that joined ns (setns), so the library call
 * under test talks to that namespace's kernel tables. */
static struct in_ns_result in_ns(const struct ns *ns, in_ns_fn fn, void *ud)
{
	struct in_ns_result res = {0};
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		char path[128];
		snprintf(path, sizeof(path), "/run/netns/%s", ns->name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct in_ns_result r = {0};
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
			r.ret = -999;
		} else {
			r.ret = fn(ud, r.err, sizeof(r.err));
		}
		ssize_t w = write(pfd[1], &r, sizeof(r));
		_exit(w == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], &res, sizeof(res));
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	cr_assert_eq(n, (ssize_t)sizeof(res), "child in %s died", ns->name);
	cr_assert_neq(res.ret, -999, "cannot join namespace %s", ns->name);
	return res;
}

static int apply_text_fn(void *ud, char *err, size_t errlen)
{
	const char *const *args = ud; /* text, "check" or NULL */
	char *e = NULL;
	int r = hg_apply_nft_text(args[0], args[1] != NULL, &e);
	snprintf(err, errlen, "%s", e ? e : "");
	free(e);
	return r;
}

static int apply_ruleset_fn(void *ud, char *err, size_t errlen)
{
	const struct hg_ruleset *rs = ud;
	char *e = NULL;
	int r = hg_apply_ruleset(rs, NULL, false, &e);
	snprintf(err, errlen, "%s", e ? e : "");
	free(e);
	return r;
}

/* ------------------------------------------------------------ IR kit */

static void set_cidr(struct hg_ipset *s, const char *cidr)
{
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr(cidr, &lo, &hi), "%s", cidr);
	hg_ipset_add(s, &lo, &hi);
}

static struct hg_ruleset *rs_new(const char *home)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = hg_arena_alloc(rs->arena, sizeof(*p));
	p->name = "NetnsPolicy";
	p->stateless_default = HG_SL_FORWARD;
	p->stateless_fragment_default = HG_SL_FORWARD;
	p->rule_order = HG_ORDER_DEFAULT_ACTION;
	set_cidr(&p->home_net, home);
	hg_ipset_copy(&p->external_net, &p->home_net);
	hg_ipset_complement(&p->external_net);
	struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){"netns.rules", 1, 1}, "G", HG_GROUP_STATEFUL);
	p->stateful_refs = hg_arena_alloc(rs->arena, sizeof(*p->stateful_refs));
	p->stateful_refs[0].group = g;
	p->n_stateful_refs = 1;
	g->rules = hg_arena_alloc(rs->arena, 8 * sizeof(*g->rules));
	rs->policy = p;
	return rs;
}

/* "act proto $HOME_NET any -> any dport" */
static struct hg_rule *rule_add(struct hg_ruleset *rs, enum hg_action act, enum hg_proto proto, uint16_t dport,
				uint32_t sid)
{
	struct hg_rule_group *g = rs->policy->stateful_refs[0].group;
	struct hg_rule *r = hg_arena_alloc(rs->arena, sizeof(*r));
	r->loc = (struct hg_loc){"netns.rules", (uint32_t)g->n_rules + 1, 1};
	r->action = act;
	r->proto = proto;
	r->sid = sid;
	r->group = g;
	hg_ipset_copy(&r->src_set, &rs->policy->home_net);
	set_cidr(&r->dst_set, "::/0");
	hg_portset_add(&r->sport_set, 0, 65535);
	hg_portset_add(&r->dport_set, dport ? dport : 0, dport ? dport : 65535);
	r->cls = proto == HG_PROTO_TCP || proto == HG_PROTO_IP ? HG_CLASS_IP_ONLY : HG_CLASS_APP;
	g->rules[g->n_rules++] = r;
	return r;
}

/* ------------------------------------------------------------- tests */

static const char broken_text[] =
	"table inet hostgate {}\n"
	"delete table inet hostgate\n"
	"table inet hostgate {\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tip saddr @no_such_set drop\n"
	"\t}\n"
	"}\n";

static bool is_input(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json") ||
		       !strcmp(dot, ".rules") || !strcmp(dot, ".txt"));
}

/* Every ruleset through the real binary, then a broken transaction that
 * must leave the last good table exactly as it was. */
Test(apply_netns, rulesets_and_atomic_failure, .fini = cleanup)
{
	need_root();
	const char *src = getenv("HG_SRCDIR"), *bin = getenv("HG_BIN");
	cr_assert(src && bin, "HG_SRCDIR / HG_BIN not set (run through meson test)");
	static struct ns ns;
	ns_add(&ns, "apply");

	/* A table from the library itself, so the test means something even
	 * while the loaders are placeholders. */
	struct hg_ruleset *rs = rs_new("10.0.1.0/24");
	rule_add(rs, HG_ACT_DROP, HG_PROTO_TCP, 9999, 1);
	rule_add(rs, HG_ACT_PASS, HG_PROTO_TLS, 0, 2);
	struct in_ns_result r = in_ns(&ns, apply_ruleset_fn, rs);
	cr_assert_eq(r.ret, 0, "hg_apply_ruleset: %s", r.err);
	hg_ruleset_free(rs);

	DIR *dir = opendir(src);
	cr_assert_not_null(dir);
	closedir(dir);
	char *list = sh_out("ls %s/rulesets", src);
	size_t applied = 0;
	for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n")) {
		if (!is_input(name))
			continue;
		char *rpath = xasprintf("%s/rulesets/%s", src, name), *args = ruleset_args(rpath);
		char *out = sh_out("cd %s && ip netns exec %s %s apply %s%s 2>&1; echo \"rc=$?\"", src, ns.name, bin,
				   args, rpath);
		free(rpath);
		free(args);
		cr_assert(strstr(out, "applied table inet hostgate") && strstr(out, "rc=0"), "apply %s:\n%s", name,
			  out);
		free(out);
		char *listing = sh_out("ip netns exec %s nft list table inet hostgate 2>&1", ns.name);
		cr_assert(strstr(listing, "chain forward") && strstr(listing, "set allow4"), "%s:\n%s", name, listing);
		free(listing);
		applied++;
	}
	free(list);
	/* The list: the seed, an allowlist and a denylist in
	 * CloudFormation JSON, a describe-rule-group JSON, a 5-tuple group, a
	 * Suricata group, a STRICT_ORDER policy, a stateless group, 100k names. */
	cr_assert_geq(applied, 9, "only %zu rulesets applied", applied);
	cr_log_info("%zu rulesets applied", applied);

	char *before = sh_out("ip netns exec %s nft list table inet hostgate", ns.name);
	cr_assert(strstr(before, "table inet hostgate"));

	/* The broken text deletes the table first, in the same transaction:
	 * its failure must undo the delete too. */
	const char *args[2] = {broken_text, NULL};
	r = in_ns(&ns, apply_text_fn, args);
	cr_assert_eq(r.ret, -EINVAL);
	/* nft 1.0.6 reports the kernel's ENOENT against the batch, not the set */
	cr_assert(strstr(r.err, "Error"), "libnftables error text expected, got: %s", r.err);
	char *after = sh_out("ip netns exec %s nft list table inet hostgate", ns.name);
	cr_assert_str_eq(before, after, "a failed apply changed the table");

	/* Check mode accepts a good table and changes nothing. */
	const char *good = "table inet hostgate {}\ndelete table inet hostgate\n"
			   "table inet hostgate {\n\tchain c {\n\t}\n}\n";
	const char *cargs[2] = {good, "check"};
	r = in_ns(&ns, apply_text_fn, cargs);
	cr_assert_eq(r.ret, 0, "%s", r.err);
	char *after2 = sh_out("ip netns exec %s nft list table inet hostgate", ns.name);
	cr_assert_str_eq(before, after2, "check mode changed the table");
	/* ... and rejects the broken one. */
	const char *bargs[2] = {broken_text, "check"};
	r = in_ns(&ns, apply_text_fn, bargs);
	cr_assert_eq(r.ret, -EINVAL);

	free(before);
	free(after);
	free(after2);
	cleanup();
}

/* ------------------------------------------------ the forward path */

static const char server_py[] =
	"import socket, threading, sys\n"
	"def serve(port):\n"
	"    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"    s.bind(('0.0.0.0', port)); s.listen(16)\n"
	"    while True:\n"
	"        c, _ = s.accept()\n"
	"        try:\n"
	"            d = c.recv(100)\n"
	"            c.sendall(b'echo:' + d)\n"
	"        finally:\n"
	"            c.close()\n"
	"for p in (8080, 9999, 8443):\n"
	"    threading.Thread(target=serve, args=(p,), daemon=True).start()\n"
	"print('ready', flush=True)\n"
	"threading.Event().wait()\n";

/* 0: connected and echoed; 2: connect failed; 3: connected, no echo.
 * sport 0: any source port. */
static int client_from(const struct ns *c, int port, int sport)
{
	return sh("ip netns exec %s " PY " -c \"\n"
		  "import socket, sys\n"
		  "try:\n"
		  "    s = socket.create_connection(('10.0.2.2', %d), timeout=2, source_address=('10.0.1.2', %d))\n"
		  "except OSError:\n"
		  "    sys.exit(2)\n"
		  "s.sendall(b'hi'); s.settimeout(2)\n"
		  "try:\n"
		  "    sys.exit(0 if s.recv(100) == b'echo:hi' else 3)\n"
		  "except OSError:\n"
		  "    sys.exit(3)\n"
		  "\"",
		  c->name, port, sport);
}

static int client(const struct ns *c, int port)
{
	return client_from(c, port, 0);
}

Test(apply_netns, forward_path, .fini = cleanup)
{
	need_root();
	if (access(PY, X_OK))
		cr_skip_test(PY " not installed: skipped");
	static struct ns c, g, s;
	ns_add(&c, "cli");
	ns_add(&g, "gw");
	ns_add(&s, "srv");
	int pid = (int)getpid();
	cr_assert_eq(sh("ip link add hgc%d type veth peer name hgg%d && ip link add hgs%d type veth peer name hgh%d", pid,
			pid, pid, pid), 0);
	cr_assert_eq(sh("ip link set hgc%d netns %s && ip link set hgg%d netns %s && "
			"ip link set hgh%d netns %s && ip link set hgs%d netns %s",
			pid, c.name, pid, g.name, pid, g.name, pid, s.name), 0);
	cr_assert_eq(sh("ip -n %s addr add 10.0.1.2/24 dev hgc%d && ip -n %s link set hgc%d up && "
			"ip -n %s route add default via 10.0.1.1",
			c.name, pid, c.name, pid, c.name), 0);
	cr_assert_eq(sh("ip -n %s addr add 10.0.1.1/24 dev hgg%d && ip -n %s link set hgg%d up && "
			"ip -n %s addr add 10.0.2.1/24 dev hgh%d && ip -n %s link set hgh%d up && "
			"ip netns exec %s sysctl -qw net.ipv4.ip_forward=1",
			g.name, pid, g.name, pid, g.name, pid, g.name, pid, g.name), 0);
	cr_assert_eq(sh("ip -n %s addr add 10.0.2.2/24 dev hgs%d && ip -n %s link set hgs%d up && "
			"ip -n %s route add default via 10.0.2.1",
			s.name, pid, s.name, pid, s.name), 0);

	pid_t srv = fork();
	cr_assert(srv >= 0);
	if (srv == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execlp("ip", "ip", "netns", "exec", s.name, PY, "-c", server_py, (char *)NULL);
		_exit(127);
	}
	live_server = srv;
	/* Wait for the server to listen (no timing asserted, only readiness). */
	bool up = false;
	for (int i = 0; i < 50 && !up; i++) {
		up = client(&c, 8080) == 0;
		if (!up)
			usleep(100000);
	}
	cr_assert(up, "no path client -> server without a ruleset");
	cr_assert_eq(client(&c, 9999), 0, "port 9999 reachable before the ruleset");

	/* drop tcp $HOME_NET any -> any 9999: decided in the kernel on the SYN. */
	struct hg_ruleset *rs = rs_new("10.0.1.0/24");
	rule_add(rs, HG_ACT_DROP, HG_PROTO_TCP, 9999, 1);
	struct in_ns_result r = in_ns(&g, apply_ruleset_fn, rs);
	cr_assert_eq(r.ret, 0, "%s", r.err);
	hg_ruleset_free(rs);
	cr_assert_eq(client(&c, 9999), 2, "the kernel-decided drop must stop the handshake");
	cr_assert_eq(client(&c, 8080), 0, "another port still passes");

	/* Add a TLS rule: flows now need the daemon. Without one, every
	 * client packet is held, the SYN included (the daemon learns the
	 * stream's start from it): fail closed, the handshake never completes.
	 * The 9999 drop is still the kernel's. */
	rs = rs_new("10.0.1.0/24");
	rule_add(rs, HG_ACT_DROP, HG_PROTO_TCP, 9999, 1);
	rule_add(rs, HG_ACT_PASS, HG_PROTO_TLS, 0, 2);
	r = in_ns(&g, apply_ruleset_fn, rs);
	cr_assert_eq(r.ret, 0, "%s", r.err);
	hg_ruleset_free(rs);
	cr_assert_eq(client(&c, 8443), 2, "an undecided flow (its SYN first) must be held when no daemon runs");
	cr_assert_eq(client(&c, 9999), 2);

	/* A verdict is one connection's: its key ends with the conntrack id
	 * (table.h). An allow element of the same 5-tuple but another
	 * connection (a client reusing its port after an allowed flow) does not
	 * release a new flow. (Released flows: tests/test_live*.c, where the
	 * daemon learns the id.) The set reads back exactly. */
	cr_assert_eq(sh("ip netns exec %s nft add element inet hostgate allow4 "
			"'{ 10.0.1.2 . 40123 . 10.0.2.2 . 8443 . 12345, 10.0.2.2 . 8443 . 10.0.1.2 . 40123 . 12345 }'",
			g.name), 0);
	char *els = sh_out("ip netns exec %s nft list set inet hostgate allow4", g.name);
	cr_assert(strstr(els, "10.0.1.2 . 40123 . 10.0.2.2 . 8443 . 0x00003039"), "%s", els);
	free(els);
	cr_assert_eq(client_from(&c, 8443, 40123), 2, "another connection's allow element must not release a flow");

	cleanup();
}
