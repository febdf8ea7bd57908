/* live_util.h - what the namespace tests of `hostgate run` share: the
 * client - gateway - server topology (bench/live-topo.sh) with servers, the
 * daemon started and stopped in the gateway, captures, curl, and readers
 * of the logs. Static in each test program (criterion test files). */
#ifndef HOSTGATE_TEST_LIVE_UTIL_H
#define HOSTGATE_TEST_LIVE_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sh_util.h"
#include "hostgate/util.h"

#define PY "/usr/bin/python3"
#define SEED "rulesets/seed-zero-trust.yaml"

static char P[16];      /* namespace prefix of the running test */
static char dir[128];   /* its scratch directory */
static const char *bin, *srcdir;


static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return xstrdup("");
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(f);
	fclose(mem);
	return buf;
}

/* Writes text to the file name in the test's scratch directory. */
static inline void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static inline void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits up to ms for text to appear in a file. */
static inline bool wait_for(const char *path, const char *text, int ms)
{
	for (int t = 0; t < ms; t += 50) {
		char *s = slurp(path);
		bool ok = strstr(s, text) != NULL;
		free(s);
		if (ok)
			return true;
		msleep(50);
	}
	return false;
}

static inline void teardown(void)
{
	if (!P[0])
		return;
	for (const char *n = "gsc"; *n; n++) {
		sh("ip netns pids %s%c 2>/dev/null | xargs -r kill -9 2>/dev/null", P, *n);
		sh("ip netns del %s%c 2>/dev/null", P, *n);
	}
	if (dir[0])
		sh("rm -rf %s", dir);
	P[0] = 0;
}

/* The topology of bench/live-topo.sh, servers started in the server
 * namespace: s_server on 443 (allowed names) and 4443 (denied ones: it
 * serves one connection at a time, and a denied client leaves it waiting
 * for a ClientHello that never comes), http.server on 80 and 8080. */
static inline void setup(const char *prefix)
{
	if (geteuid() != 0)
		cr_skip_test("live namespace tests need root: skipped");
	if (access("/usr/sbin/nft", X_OK) || access("/usr/bin/openssl", X_OK) || access("/usr/bin/curl", X_OK) ||
	    access("/usr/bin/tcpdump", X_OK) || access(PY, X_OK))
		cr_skip_test("nft, openssl, curl, tcpdump or python3 missing: skipped");
	bin = getenv("HG_BIN");
	srcdir = getenv("HG_SRCDIR");
	cr_assert(bin && srcdir, "HG_BIN and HG_SRCDIR must be set");
	snprintf(P, sizeof(P), "%s%d", prefix, (int)getpid() % 1000);
	snprintf(dir, sizeof(dir), "/tmp/hg-live-%s", P);
	sh("rm -rf %s; mkdir -p %s", dir, dir);
	cr_assert_eq(sh(". %s/bench/live-topo.sh && topo_up %s", srcdir, P), 0, "topology");
	cr_assert_eq(sh("cd %s && timeout 20 openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
			"-out cert.pem -days 2 -subj /CN=test >/dev/null 2>&1",
			dir),
		     0);
	for (int port = 443; port <= 4443; port += 4000)
		sh("cd %s && (ip netns exec %ss timeout 300 openssl s_server -www -accept %d -cert cert.pem "
		   "-key key.pem -quiet >/dev/null 2>&1 &)",
		   dir, P, port);
	sh("cd %s && (ip netns exec %ss timeout 300 " PY " -m http.server 80 --bind :: >/dev/null 2>&1 &)", dir, P);
	sh("cd %s && (ip netns exec %ss timeout 300 " PY " -m http.server 8080 --bind :: >/dev/null 2>&1 &)", dir,
	   P);
	msleep(800);
}

/* Starts the daemon in the gateway; waits for it to say it runs. */
static inline void daemon_start(const char *rules, const char *extra)
{
	sh("rm -f %s/daemon.log", dir);
	sh("cd %s && (ip netns exec %sg timeout 300 %s run %s --inside %sg0 --alert-log %s/alerts.json "
	   "--flow-log %s/flows.json --stats-interval 0 %s >>%s/daemon.log 2>&1 & echo $! >%s/daemon.pid)",
	   srcdir, P, bin, rules, P, dir, dir, extra ? extra : "", dir, dir);
	char path[256];
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	cr_assert(wait_for(path, "running:", 8000), "daemon did not start: %s", slurp(path));
}

static inline void daemon_signal(const char *sig)
{
	/* daemon.pid is the `timeout` guarding it: signal its child. */
	sh("kill -%s $(pgrep -P $(cat %s/daemon.pid)) 2>/dev/null", sig, dir);
}

static inline void daemon_stop(void)
{
	daemon_signal("TERM");
	char path[256];
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	cr_assert(wait_for(path, "stopping", 5000), "daemon did not stop");
	/* daemon.pid is the `timeout` guarding it: gone once the daemon
	 * exited, after LeakSanitizer's scan at exit. */
	for (int t = 0; t < 10000 && !sh("kill -0 $(cat %s/daemon.pid) 2>/dev/null", dir); t += 50)
		msleep(50);
	/* Under ASan/UBSan (build-asan) the daemon's reports land in its log:
	 * memory errors, undefined behaviour, and leaks at exit (when the
	 * environment asks LeakSanitizer, as scripts/test does). */
	char *log = slurp(path);
	cr_expect(!strstr(log, "ERROR: AddressSanitizer") && !strstr(log, "ERROR: LeakSanitizer") &&
			  !strstr(log, "runtime error:"),
		  "the daemon's sanitizers: %s", log);
	free(log);
}

/* tcpdump in a namespace, writing ns.pcap; stopped by capture_stop. */
static inline void capture_start(char ns, const char *ifsuffix)
{
	sh("(ip netns exec %s%c timeout 120 tcpdump -U -n -i %s%s -w %s/%c.pcap 2>%s/%c.tcpdump & echo $! "
	   ">%s/%c.tdpid)",
	   P, ns, P, ifsuffix, dir, ns, dir, ns, dir, ns);
	char path[256];
	snprintf(path, sizeof(path), "%s/%c.tcpdump", dir, ns);
	cr_assert(wait_for(path, "listening", 5000), "tcpdump did not start");
}

static inline void capture_stop(char ns)
{
	msleep(300);
	sh("kill -TERM $(cat %s/%c.tdpid) 2>/dev/null; sleep 0.5", dir, ns);
}

/* curl in the client namespace: the HTTP status ("000" on failure). */
static inline char *curl(const char *args)
{
	char *o = sh_out("ip netns exec %sc timeout 10 curl -sk -m 3 -o /dev/null -w '%%{http_code}' %s 2>/dev/null",
			 P, args);
	return o;
}

static inline void expect_curl(const char *args, const char *code)
{
	char *o = curl(args);
	cr_expect_str_eq(o, code, "curl %s: got %s, want %s", args, o, code);
	free(o);
}

/* Client-to-server TCP segments carrying payload in a capture, matching a
 * pcap filter. */
static inline int payload_segments(char ns, const char *filter)
{
	char *o = sh_out("tcpdump -n -r %s/%c.pcap '(%s) and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) "
			 "!= 0)' 2>/dev/null | wc -l",
			 dir, ns, filter);
	int n = atoi(o);
	free(o);
	return n;
}

/* The alert lines of a log as sorted "sid src_port dest_ip dest_port" keys. */
static inline char *alert_keys(const char *path)
{
	return sh_out("sed -n 's/.*\"src_port\":\\([0-9]*\\),\"dest_ip\":\"\\([^\"]*\\)\",\"dest_port\":\\([0-9]*\\)"
		      ".*\"signature_id\":\\([0-9]*\\).*/\\4 \\1 \\2 \\3/p' %s | sort",
		      path);
}

/* Replay of the client's capture (c.pcap) under the same rules logs the
 * same alerts as the daemon did (alerts: its alert log). */
static inline void expect_replay_agrees(const char *rules, const char *alerts)
{
	char rp[256];
	snprintf(rp, sizeof(rp), "%s/replay-alerts.json", dir);
	cr_assert_eq(sh("cd %s && timeout 60 %s replay %s --home-net 10.88.0.0/24,fd88::/64 %s/c.pcap "
			"--alert-log %s >/dev/null",
			srcdir, bin, rules, dir, rp),
		     0);
	char *live = alert_keys(alerts), *replay = alert_keys(rp);
	cr_expect(strlen(live) > 0);
	cr_expect_str_eq(live, replay, "live alerts:\n%s\nreplay alerts:\n%s", live, replay);
	free(live);
	free(replay);
}

/* The recording server (tests/live_server.py) on 8081, its log srv.log. */
static inline void recording_server_start(void)
{
	sh("cd %s && (ip netns exec %ss timeout 200 " PY " %s/tests/live_server.py 8081 %s/srv.log "
	   ">/dev/null 2>&1 &)",
	   dir, P, srcdir, dir);
	msleep(500);
}

/* The recording server, a capture on the server's side and the daemon. */
static inline void holes_setup(const char *prefix)
{
	setup(prefix);
	recording_server_start();
	capture_start('s', "s0");
	daemon_start(SEED, NULL);
}

/* Drops the client kernel's RSTs for scapy's ports (its socket layer knows
 * nothing of scapy's connections). */
static inline void client_no_rst(void)
{
	sh("ip netns exec %sc nft -f - <<'EOF'\n"
	   "table inet hgtest {\n chain o {\n  type filter hook output priority 0\n  tcp flags rst drop\n }\n}\nEOF",
	   P);
}

static inline int count_lines(const char *path, const char *a, const char *b)
{
	char *s = slurp(path);
	int n = 0;
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		n += strstr(line, a) && (!b || strstr(line, b));
	free(s);
	return n;
}

/* Alert lines of the log at path from client port `port` with signature sid. */
static inline int port_sid_alerts(const char *path, int port, unsigned sid)
{
	char a[64], b[64];
	snprintf(a, sizeof(a), "\"src_port\":%d,", port);
	snprintf(b, sizeof(b), "\"signature_id\":%u,", sid);
	return count_lines(path, a, b);
}

/* Elements of allow4 (both directions) of the flow from client port cport
 * to 198.51.100.10:80. */
static inline int verdict_elements(int cport)
{
	char *o = sh_out("ip netns exec %sg nft list set inet hostgate allow4 | grep -oE "
			 "'10\\.88\\.0\\.2 \\. %d \\. 198\\.51\\.100\\.10 \\. 80 |198\\.51\\.100\\.10 \\. 80 \\. "
			 "10\\.88\\.0\\.2 \\. %d ' | wc -l",
			 P, cport, cport);
	int n = atoi(o);
	free(o);
	return n;
}

/* Requests naming host the server application read (srv.log). */
static inline int server_saw(const char *host)
{
	char path[256], want[300];
	snprintf(path, sizeof(path), "%s/srv.log", dir);
	snprintf(want, sizeof(want), " %s", host);
	return count_lines(path, "HOST ", want);
}

#endif
