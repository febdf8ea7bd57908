/* test_settings_netns.c - FlowTimeouts and StreamExceptionPolicy in the
 * kernel: the table `hostgate apply` loads into a gateway namespace between
 * a client and a server namespace (real TCP through real conntrack). The
 * idle timeout itself is not waited for (ANFW's minimum is 60 s): the
 * test reads the conntrack entry's timeout, then deletes the entry, which
 * is what the timeout does, and sends on the connection. Skips, visibly,
 * when not root. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfn_text.h"
#include "sh_util.h"

#define PY "/usr/bin/python3"

static char ns_c[64], ns_g[64], ns_s[64], rules_path[128];
static pid_t server = -1;

static void cleanup(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	if (ns_c[0])
		sh("ip netns pids %s 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del %s 2>/dev/null; "
		   "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
		   ns_s, ns_c, ns_g, ns_s);
	if (rules_path[0])
		unlink(rules_path);
}

/* client -- gateway -- server, 10.0.1.0/24 and 10.0.2.0/24. */
static void topology(void)
{
	int pid = (int)getpid();
	snprintf(ns_c, sizeof(ns_c), "hgsetc%d", pid);
	snprintf(ns_g, sizeof(ns_g), "hgsetg%d", pid);
	snprintf(ns_s, sizeof(ns_s), "hgsets%d", pid);
	cr_assert_eq(sh("ip netns add %s && ip netns add %s && ip netns add %s", ns_c, ns_g, ns_s), 0);
	cr_assert_eq(sh("ip -n %s link add sc%d type veth peer name sg%d netns %s && "
			"ip -n %s link add ss%d type veth peer name sh%d netns %s",
			ns_c, pid, pid, ns_g, ns_s, pid, pid, ns_g), 0);
	cr_assert_eq(sh("ip -n %s addr add 10.0.1.2/24 dev sc%d && ip -n %s link set sc%d up && "
			"ip -n %s route add default via 10.0.1.1 && "
			"ip -n %s addr add 10.0.1.1/24 dev sg%d && ip -n %s link set sg%d up && "
			"ip -n %s addr add 10.0.2.1/24 dev sh%d && ip -n %s link set sh%d up && "
			"ip netns exec %s sysctl -qw net.ipv4.ip_forward=1 && "
			"ip -n %s addr add 10.0.2.2/24 dev ss%d && ip -n %s link set ss%d up && "
			"ip -n %s route add default via 10.0.2.1",
			ns_c, pid, ns_c, pid, ns_c, ns_g, pid, ns_g, pid, ns_g, pid, ns_g, pid, ns_g, ns_s, pid, ns_s,
			pid, ns_s), 0);
	server = fork();
	cr_assert(server >= 0);
	if (server == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		/* An echo server that keeps each connection open. */
		execlp("ip", "ip", "netns", "exec", ns_s, PY, "-c",
		       "import socket, threading\n"
		       "def conn(c):\n"
		       "    while True:\n"
		       "        d = c.recv(100)\n"
		       "        if not d: break\n"
		       "        c.sendall(b'echo:' + d)\n"
		       "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
		       "s.bind(('0.0.0.0', 8080)); s.listen(16)\n"
		       "while True:\n"
		       "    threading.Thread(target=conn, args=(s.accept()[0],), daemon=True).start()\n",
		       (char *)NULL);
		_exit(127);
	}
}

/* Writes a policy with the given StatefulEngineOptions lines and group
 * source (RulesSource's lines). */
static void write_rules(const char *engine, const char *source)
{
	snprintf(rules_path, sizeof(rules_path), "/tmp/hg_settings_%d.yaml", (int)getpid());
	FILE *f = fopen(rules_path, "w");
	cr_assert_not_null(f);
	fprintf(f,
		CFN_TELNET_GROUP "%s"
		CFN_POLICY_FORWARD
		"        StatefulRuleGroupReferences: [{ResourceArn: !Ref G}]\n"
		"        StatefulEngineOptions:\n%s",
		source, engine);
	fclose(f);
}

static const char telnet_rule[] = "          RulesString: \"drop tcp $HOME_NET any -> any 23 (sid:1;)\"\n";

/* Applies a policy that the kernel decides alone (no daemon). */
static void apply(const char *engine)
{
	write_rules(engine, telnet_rule);
	cr_assert_eq(sh("ip netns exec %s '%s' apply --home-net 10.0.1.0/24 %s >/dev/null", ns_g, getenv("HG_BIN"),
			rules_path), 0, "hostgate apply");
}

/* A connection to the server: one echo, then (in the gateway) the
 * conntrack entry's remaining timeout is printed and the entry deleted,
 * then one more send. Exit 0: echoed again; 4: no answer; 5: reset.
 * The conntrack timeout is written to stdout. */
static int connection_after_forget(char **ct_out, const char *first)
{
	char *out = sh_out(
		"ip netns exec %s " PY " -c \"\n"
		"import socket, subprocess, sys\n"
		"s = socket.create_connection(('10.0.2.2', 8080), timeout=3)\n"
		"s.sendall(b'%s')\n"
		"assert s.recv(100).startswith(b'echo:')\n"
		"sel = ['-p', 'tcp', '--dport', '8080', '--sport', str(s.getsockname()[1])]\n"
		"ct = subprocess.run(['ip', 'netns', 'exec', '%s', 'conntrack', '-L'] + sel,"
		" capture_output=True, text=True).stdout\n"
		"print('CT', ct.replace(chr(10), ' '), flush=True)\n"
		"subprocess.run(['ip', 'netns', 'exec', '%s', 'conntrack', '-D'] + sel, capture_output=True)\n"
		"s.sendall(b'b'); s.settimeout(2)\n"
		"try:\n"
		"    d = s.recv(100)\n"
		"    print('RC', 0 if d == b'echo:b' else 4)\n"
		"except ConnectionResetError:\n"
		"    print('RC', 5)\n"
		"except OSError:\n"
		"    print('RC', 4)\n"
		"\" 2>&1",
		ns_c, first, ns_g, ns_g);
	char *rc = strstr(out, "RC ");
	int r = rc ? atoi(rc + 3) : -1;
	*ct_out = out;
	return r;
}

/* The seconds left on the established entry: "tcp 6 SECONDS ESTABLISHED". */
static long ct_seconds(const char *out)
{
	const char *p = strstr(out, "CT tcp");
	if (!p)
		return -1;
	long proto, secs;
	return sscanf(p + 6, "%ld %ld", &proto, &secs) == 2 ? secs : -1;
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("not root: network namespaces unavailable, skipped");
	if (access(PY, X_OK) || sh("command -v conntrack >/dev/null"))
		cr_skip_test(PY " or conntrack not installed: skipped");
}

/* API FlowTimeouts: "After the idle timeout passes, data packets are
 * dropped, however, the next TCP SYN packet is considered a new flow";
 * API StatefulEngineOptions.StreamExceptionPolicy: DROP "fails closed and
 * drops all subsequent traffic", REJECT drops and sends a TCP reset,
 * CONTINUE applies the rules without context (reference/anfw.md §3.2).
 * The conntrack entry of the established flow must carry the policy's
 * idle timeout (120 s), not the kernel's five days. */
Test(settings_netns, idle_timeout_and_stream_exception_in_kernel, .fini = cleanup, .timeout = 120)
{
	need_root();
	topology();
	static const struct {
		const char *engine;
		int want;
		long idle;
	} cases[] = {
		{"          StreamExceptionPolicy: DROP\n          FlowTimeouts: {TcpIdleTimeoutSeconds: 120}\n", 4, 120},
		{"          StreamExceptionPolicy: REJECT\n", 5, 350},
		{"          StreamExceptionPolicy: CONTINUE\n          FlowTimeouts: {TcpIdleTimeoutSeconds: 600}\n", 0,
		 600},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		apply(cases[i].engine);
		char *out = NULL;
		int rc = -1;
		/* The server may take a moment to listen: retry the first. */
		for (int t = 0; t < 30; t++) {
			free(out);
			rc = connection_after_forget(&out, "a");
			if (rc >= 0)
				break;
			usleep(100000);
		}
		long secs = ct_seconds(out);
		cr_expect(secs > cases[i].idle - 30 && secs <= cases[i].idle,
			  "case %zu: established entry times out in %ld s, want the idle timeout %ld; output:\n%s", i,
			  secs, cases[i].idle, out);
		cr_expect_eq(rc, cases[i].want, "case %zu: after the entry is gone, got %d want %d; output:\n%s", i, rc,
			     cases[i].want, out);
		free(out);
	}
}

/* With rules that need the daemon, held packets (the SYN included) are
 * re-injected by it and their conntrack entry starts in output: the idle
 * timeout must be set there too. The allowlisted HTTP flow passes, its
 * entry carries the default 350 s, and once forgotten it is dropped
 * (StreamExceptionPolicy DROP, the default). */
Test(settings_netns, idle_timeout_of_flows_the_daemon_released, .fini = cleanup, .timeout = 120)
{
	need_root();
	topology();
	write_rules("          RuleOrder: DEFAULT_ACTION_ORDER\n",
		    "          RulesSourceList:\n"
		    "            GeneratedRulesType: ALLOWLIST\n"
		    "            TargetTypes: [HTTP_HOST]\n"
		    "            Targets: [.example.com]\n");
	int pid = (int)getpid();
	char log[128];
	snprintf(log, sizeof(log), "/tmp/hg_settings_%d.log", pid);
	sh("(ip netns exec %s timeout 100 '%s' run %s --inside sg%d --home-net 10.0.1.0/24 --stats-interval 0 "
	   ">%s 2>&1 &)",
	   ns_g, getenv("HG_BIN"), rules_path, pid, log);
	bool up = false;
	for (int i = 0; i < 100 && !up; i++) {
		up = sh("grep -q 'running:' %s", log) == 0;
		if (!up)
			usleep(100000);
	}
	cr_assert(up, "the daemon did not start");
	char *out = NULL;
	int rc = -1;
	for (int t = 0; t < 30 && rc < 0; t++) {
		free(out);
		rc = connection_after_forget(&out, "GET / HTTP/1.1\\r\\nHost: www.example.com\\r\\n\\r\\n");
		if (rc < 0)
			usleep(100000);
	}
	long secs = ct_seconds(out);
	cr_expect(secs > 320 && secs <= 350, "established entry times out in %ld s, want 350; output:\n%s", secs, out);
	cr_expect_eq(rc, 4, "forgotten, then dropped midstream; output:\n%s", out);
	free(out);
	sh("ip netns pids %s | xargs -r kill 2>/dev/null; rm -f %s", ns_g, log);
}
