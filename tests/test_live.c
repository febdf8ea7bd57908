/* test_live.c - `hostgate run` end to end in network namespaces: client -
 * gateway - server, real clients (curl, openssl s_client) and servers
 * (openssl s_server, python http.server), tcpdump as the witness of what
 * reached the server, the alert log, fail-closed and restart, a reload, a
 * kernel-only drop, a reject, and replay of the client's capture agreeing
 * with what live decided. Needs root; skips otherwise. Every command runs
 * under `timeout` and .fini removes namespaces and processes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live_util.h"

TestSuite(live, .fini = teardown, .timeout = 240);

/* Allowed SNI / Host pass, denied ones fail with no payload byte reaching
 * the server, one alert per denied flow, IPv4 and IPv6; a ClientHello split
 * over two segments; replay of the client capture gives the same alerts. */
Test(live, allow_deny_and_replay)
{
	setup("hla");
	capture_start('s', "s0");
	capture_start('c', "c0");
	daemon_start(SEED, NULL);
	char p[256], a[512];
	snprintf(p, sizeof(p), "%s/alerts.json", dir);

	expect_curl("--resolve foo.example.com:443:198.51.100.10 https://foo.example.com/", "200");
	expect_curl("--resolve api.github.com:443:[2001:db8:88::10] https://api.github.com/", "200");
	expect_curl("-H 'Host: www.example.com' http://198.51.100.10/", "200");
	expect_curl("-H 'Host: api.github.com' -g 'http://[2001:db8:88::10]/'", "200");
	char *o = sh_out("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ip netns exec %sc timeout 10 openssl s_client -quiet "
			 "-connect 198.51.100.10:443 -servername sub.amazonaws.com 2>/dev/null | head -1",
			 P);
	cr_expect(strstr(o, "200"), "s_client to an allowed SNI: '%s'", o);
	free(o);

	/* Denied, each from its own client port so the captures tell them apart. */
	expect_curl("--local-port 40001 --resolve other.org:4443:198.51.100.10 https://other.org:4443/", "000");
	expect_curl("--local-port 40002 -H 'Host: x.malicious-domain.com' http://198.51.100.10/", "000");
	expect_curl("--local-port 40003 -H 'Host: other.org' -g 'http://[2001:db8:88::10]/'", "000");
	o = sh_out("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ip netns exec %sc timeout 5 openssl s_client -quiet "
		   "-connect 198.51.100.10:4443 -servername phishing-site.net 2>/dev/null | head -1",
		   P);
	cr_expect(!strstr(o, "200"), "s_client to a denied SNI got through: '%s'", o);
	free(o);

	/* A ClientHello over two segments (MSS 360) is decided once whole. */
	sh("ip -n %sc link set %sc0 mtu 400", P, P);
	expect_curl("--local-port 40004 --resolve www.example.com:443:198.51.100.10 https://www.example.com/", "200");
	expect_curl("--local-port 40005 --resolve deny.example.org:4443:198.51.100.10 https://deny.example.org:4443/",
		    "000");
	sh("ip -n %sc link set %sc0 mtu 1500", P, P);

	capture_stop('s');
	capture_stop('c');
	daemon_stop();

	for (int port = 40001; port <= 40005; port += 2) {
		snprintf(a, sizeof(a), "src port %d", port);
		cr_expect_eq(payload_segments('s', a), 0, "payload of denied flow from port %d reached the server",
			     port);
	}
	cr_expect_geq(payload_segments('c', "src port 40004 and dst port 443"), 2,
		      "the ClientHello was not split");
	cr_expect_geq(payload_segments('s', "src port 40004"), 2, "the split ClientHello did not arrive");

	cr_expect_eq(count_lines(p, "\"src_port\":40001,", NULL), 1, "%s", slurp(p));
	cr_expect_eq(count_lines(p, "\"src_port\":40001,\"dest_ip\":\"198.51.100.10\",\"dest_port\":4443",
				 "\"signature_id\":7,\"rev\":1,\"signature\":\"not matching any TLS allowlisted FQDNs\""),
		     1);
	/* Both groups' drop rules match x.malicious-domain.com: the engine
	 * (like Suricata) logs each, on the one flow. */
	cr_expect_eq(count_lines(p, "\"src_port\":40002,", NULL), 2, "%s", slurp(p));
	cr_expect_eq(count_lines(p, "\"src_port\":40002,\"dest_ip\":\"198.51.100.10\",\"dest_port\":80",
				 "\"signature_id\":3,\"rev\":1,\"signature\":\"matching HTTP denylisted FQDNs\""),
		     1, "%s", slurp(p));
	cr_expect_eq(count_lines(p, "\"src_port\":40002,", "\"signature_id\":8,"), 1);
	cr_expect_eq(count_lines(p, "\"src_port\":40003,\"dest_ip\":\"2001:db8:88::10\",\"dest_port\":80",
				 "\"signature_id\":8,"),
		     1);
	cr_expect_eq(count_lines(p, "\"src_port\":40005,", "\"signature_id\":7,"), 1);
	cr_expect_geq(count_lines(p, "\"sni\":\"phishing-site.net\"", "\"action\":\"blocked\""), 1);
	/* Allowed flows raise no alert. */
	cr_expect_eq(count_lines(p, "\"src_port\":40004,", NULL), 0);

	/* Replay of what the client sent decides the same. */
	expect_replay_agrees(SEED, p);
}

/* Daemon gone: new flows fail (the kernel keeps holding); restarted: they
 * pass, and flows decided before keep their set entries. SIGHUP with a
 * broken ruleset keeps the old one; with a good one it reloads. */
Test(live, fail_closed_restart_reload)
{
	setup("hlf");
	char rules[256];
	snprintf(rules, sizeof(rules), "%s/rules.yaml", dir);
	sh("cp %s/" SEED " %s", srcdir, rules);
	daemon_start(rules, NULL);
	expect_curl("--local-port 40020 -H 'Host: www.example.com' http://198.51.100.10/", "200");
	cr_expect_eq(verdict_elements(40020), 2, "the allowed flow's verdict is not in allow4");

	daemon_signal("KILL");
	msleep(300);
	/* This one stays held; its retransmissions may reach the restarted
	 * daemon, which then decides it (so counting all elements would not
	 * tell a loss: the flows are told apart by client port). */
	expect_curl("--local-port 40021 -H 'Host: www.example.com' http://198.51.100.10/", "000");

	daemon_start(rules, NULL);
	expect_curl("-H 'Host: www.example.com' http://198.51.100.10/", "200");

	/* A broken ruleset at SIGHUP: still running, still deciding. */
	sh("echo 'Resources: [broken' > %s", rules);
	daemon_signal("HUP");
	char lp[256];
	snprintf(lp, sizeof(lp), "%s/daemon.log", dir);
	cr_expect(wait_for(lp, "reload failed", 5000), "%s", slurp(lp));
	expect_curl("-H 'Host: www.example.com' http://198.51.100.10/", "200");
	expect_curl("-H 'Host: other.org' http://198.51.100.10/", "000");

	/* A good one: the new rules decide new flows. */
	expect_curl("--local-port 40022 -H 'Host: www.example.com' http://198.51.100.10/", "200");
	sh("sed 's/\"api.github.com\"/\"other.org\"/' %s/" SEED " > %s/r.yaml && mv %s/r.yaml %s", srcdir, dir, dir,
	   rules);
	daemon_signal("HUP");
	cr_expect(wait_for(lp, "reloaded", 5000), "%s", slurp(lp));
	expect_curl("-H 'Host: other.org' http://198.51.100.10/", "200");
	/* A reload keeps what this daemon decided (it knows those flows). */
	cr_expect_eq(verdict_elements(40022), 2, "verdict elements lost over a reload");
	char *log = slurp(lp);
	cr_expect(!strstr(log, "cannot keep the verdict sets"), "%s", log);
	free(log);
	daemon_stop();
}

/* A 5-tuple DROP the kernel decides alone: the flow fails and the daemon
 * never holds a packet of it (only the alert copy reaches it); a REJECT
 * resets the client at once. */
Test(live, kernel_drop_and_reject)
{
	setup("hlk");
	char rules[256];
	snprintf(rules, sizeof(rules), "%s/r2.rules", dir);
	write_file("r2.rules", "drop tcp $HOME_NET any -> $EXTERNAL_NET 8080 (msg:\"kernel drop 8080\"; sid:500; rev:1;)\n"
			       "reject tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; content:\"reject.example.net\"; "
			       "nocase; msg:\"rejected SNI\"; flow:to_server, established; sid:501; rev:1;)\n");
	daemon_start(rules, NULL);
	char *nft = sh_out("ip netns exec %sg nft list table inet hostgate", P);
	cr_expect(strstr(nft, "vmap @k"), "the drop is not in the kernel:\n%s", nft);
	free(nft);
	expect_curl("--local-port 40010 http://198.51.100.10:8080/", "000");
	expect_curl("http://198.51.100.10:80/", "200");

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = sh("ip netns exec %sc timeout 10 curl -sk -m 5 -o /dev/null --resolve "
		    "reject.example.net:443:198.51.100.10 https://reject.example.net/",
		    P);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect(rc == 35 || rc == 56, "curl to a rejected SNI: exit %d (want a reset: 35 or 56)", rc);
	cr_expect(secs < 4.0, "the reset took %.1f s (a drop would time out)", secs);
	daemon_stop();

	char p[256], fl[256];
	snprintf(p, sizeof(p), "%s/alerts.json", dir);
	snprintf(fl, sizeof(fl), "%s/flows.json", dir);
	cr_expect_eq(count_lines(p, "\"signature_id\":500,", "\"src_port\":40010,"), 1, "%s", slurp(p));
	cr_expect_eq(count_lines(p, "\"signature_id\":501,", "\"verdict\":{\"action\":\"reject\"}"), 1);
	/* The daemon's flow table (held packets) never had the 8080 flow. */
	cr_expect_eq(count_lines(fl, "\"dest_port\":8080", NULL), 0, "%s", slurp(fl));
	cr_expect_geq(count_lines(fl, "\"dest_port\":80,", NULL), 1, "%s", slurp(fl));
}

/* A line-counting server (srv: one file srv-PORT.txt per client port, one
 * line per line received) and a client (cli HOST PORT: an HTTP request for
 * HOST, then "tick N" every 100 ms) for the long-lived connection tests. */
static void write_tickers(const char *srv, const char *cli)
{
	/* Server: one file per client port, one line per line received. */
	FILE *f = fopen(srv, "w");
	cr_assert_not_null(f);
	fprintf(f, "import socket, threading\n"
		   "def serve(c, port):\n"
		   "    with open('%s/srv-%%d.txt' %% port, 'a', buffering=1) as out:\n"
		   "        buf = b''\n"
		   "        while True:\n"
		   "            d = c.recv(4096)\n"
		   "            if not d: return\n"
		   "            buf += d\n"
		   "            while b'\\n' in buf:\n"
		   "                line, buf = buf.split(b'\\n', 1)\n"
		   "                out.write(line.decode(errors='replace') + '\\n')\n"
		   "s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
		   "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
		   "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n"
		   "s.bind(('::', 8000)); s.listen(8)\n"
		   "while True:\n"
		   "    c, a = s.accept()\n"
		   "    threading.Thread(target=serve, args=(c, a[1]), daemon=True).start()\n",
		dir);
	fclose(f);
	/* Client: an HTTP request, then "tick N" every 100 ms (to the server's
	 * IPv4 address, or the one given). */
	f = fopen(cli, "w");
	cr_assert_not_null(f);
	fputs("import socket, sys, time\n"
	      "host, port = sys.argv[1], int(sys.argv[2])\n"
	      "addr = sys.argv[3] if len(sys.argv) > 3 else '198.51.100.10'\n"
	      "v6 = ':' in addr\n"
	      "s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)\n"
	      "s.bind(('::' if v6 else '0.0.0.0', port)); s.connect((addr, 8000))\n"
	      "s.sendall(('GET / HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n' % host).encode())\n"
	      "for i in range(600):\n"
	      "    time.sleep(0.1)\n"
	      "    s.sendall(b'tick %d\\n' % i)\n",
	      f);
	fclose(f);
}

/* Writes the ticker scripts, starts the line-recording server in the
 * server namespace; cli gets the client script's path, lp the daemon log's
 * (256 bytes each). */
static void start_ticker_server(char *cli, char *lp)
{
	char srv[256];
	snprintf(srv, sizeof(srv), "%s/lines.py", dir);
	snprintf(cli, 256, "%s/ticker.py", dir);
	snprintf(lp, 256, "%s/daemon.log", dir);
	write_tickers(srv, cli);
	sh("(ip netns exec %ss timeout 120 " PY " %s >%s/srv.err 2>&1 &)", P, srv, dir);
	msleep(300);
}

/* SIGHUP revokes: three long-lived connections, each sending a line every
 * 100 ms after an HTTP request the seed allows (Host a.amazonaws.com over
 * IPv4 and over IPv6, api.github.com). New rules drop .amazonaws.com: those
 * connections' later lines no longer reach the server (their counts stop)
 * and the new rules' alerts are logged; the api.github.com one keeps
 * flowing across the same reload. Fails if a reload keeps every verdict (or the ct mark lets an
 * allowed flow bypass the sets forever). */
Test(live, reload_revokes_flows_no_longer_allowed)
{
	setup("hlr");
	char rules[256], cli[256], lp[256], p[256];
	snprintf(rules, sizeof(rules), "%s/rules.yaml", dir);
	snprintf(p, sizeof(p), "%s/alerts.json", dir);
	sh("cp %s/" SEED " %s", srcdir, rules);
	start_ticker_server(cli, lp);
	daemon_start(rules, NULL);
	sh("(ip netns exec %sc timeout 60 " PY " %s a.amazonaws.com 40030 >%s/a.err 2>&1 &)", P, cli, dir);
	sh("(ip netns exec %sc timeout 60 " PY " %s api.github.com 40031 >%s/b.err 2>&1 &)", P, cli, dir);
	sh("(ip netns exec %sc timeout 60 " PY " %s a.amazonaws.com 40032 2001:db8:88::10 >%s/c.err 2>&1 &)", P, cli,
	   dir);

	char fa[256], fb[256], fc[256];
	snprintf(fa, sizeof(fa), "%s/srv-40030.txt", dir);
	snprintf(fb, sizeof(fb), "%s/srv-40031.txt", dir);
	snprintf(fc, sizeof(fc), "%s/srv-40032.txt", dir);
	cr_assert(wait_for(fa, "tick 10", 8000), "the allowed connection A does not flow: %s", slurp(lp));
	cr_assert(wait_for(fb, "tick 10", 8000), "the allowed connection B does not flow: %s", slurp(lp));
	cr_assert(wait_for(fc, "tick 10", 8000), "the allowed IPv6 connection C does not flow: %s", slurp(lp));

	/* New rules: .amazonaws.com no longer allowed. */
	sh("sed 's/\"\\.amazonaws\\.com\"/\"\\.amazonaws\\.invalid\"/' %s/" SEED " > %s/r.yaml && mv %s/r.yaml %s",
	   srcdir, dir, dir, rules);
	/* The table's generation (in the allowed flows' ct mark) changes. */
	char *gen0 = sh_out("ip netns exec %sg nft list chain inet hostgate stateful | grep -o '@allow4 ct mark set.*'", P);
	daemon_signal("HUP");
	cr_assert(wait_for(lp, "reloaded", 5000), "%s", slurp(lp));
	char *gen1 = sh_out("ip netns exec %sg nft list chain inet hostgate stateful | grep -o '@allow4 ct mark set.*'", P);
	cr_expect(strstr(gen0, "ct mark set") && strstr(gen1, "ct mark set") && strcmp(gen0, gen1),
		  "generation not changed: '%s' then '%s'", gen0, gen1);
	free(gen0);
	free(gen1);
	msleep(500); /* lines in flight at the reload */
	int a0 = count_lines(fa, "tick", NULL), b0 = count_lines(fb, "tick", NULL), c0 = count_lines(fc, "tick", NULL);
	msleep(2000);
	int a1 = count_lines(fa, "tick", NULL), b1 = count_lines(fb, "tick", NULL), c1 = count_lines(fc, "tick", NULL);
	cr_expect_eq(a1, a0, "the revoked connection still reaches the server: %d then %d lines\n%s", a0, a1,
		     slurp(lp));
	cr_expect_eq(c1, c0, "the revoked IPv6 connection still reaches the server: %d then %d lines\n%s", c0, c1,
		     slurp(lp));
	cr_expect_geq(b1, b0 + 10, "the still-allowed connection stopped at the reload: %d then %d lines\n%s", b0,
		      b1, slurp(lp));
	char *log = slurp(lp);
	cr_expect(strstr(log, "3 allowed flows decided again: 2 revoked, 1 still allowed, 0 undecided (kept allowed)"),
		  "%s", log);
	free(log);
	/* Counted off the packet path (run_count.c), so a line of its own. */
	cr_expect(wait_for(lp, "reload: 0 allowed flows without a kept copy", 2000), "%s", slurp(lp));
	/* The new rules' alert for the revoked flow: the allowlist's HTTP
	 * default drop (sid 8, as in allow_deny_and_replay). */
	cr_expect(wait_for(p, "\"src_port\":40030,", 2000), "no alert for the revoked flow: %s", slurp(p));
	cr_expect_eq(count_lines(p, "\"src_port\":40030,\"dest_ip\":\"198.51.100.10\",\"dest_port\":8000",
				 "\"signature_id\":8,"),
		     1, "%s", slurp(p));
	cr_expect(wait_for(p, "\"src_port\":40032,", 2000), "no alert for the revoked IPv6 flow: %s", slurp(p));
	cr_expect_eq(count_lines(p, "\"src_port\":40032,\"dest_ip\":\"2001:db8:88::10\",\"dest_port\":8000",
				 "\"signature_id\":8,"),
		     1, "%s", slurp(p));
	cr_expect_eq(count_lines(p, "\"src_port\":40031,", NULL), 0, "%s", slurp(p));
	/* A's verdict moved from allow4 to deny4 (both directions), C's from
	 * allow6 to deny6; B's stayed. */
	for (int k = 0; k < 5; k++) {
		static const char *const set[] = {"allow4", "deny4", "allow4", "allow6", "deny6"};
		static const int port[] = {40030, 40030, 40031, 40032, 40032}, want[] = {0, 2, 2, 0, 2};
		char *o = sh_out("ip netns exec %sg nft list set inet hostgate %s | grep -oE '\\. %d \\.' | wc -l", P,
				 set[k], port[k]);
		cr_expect_eq(atoi(o), want[k], "%s elements of port %d: %s", set[k], port[k], o);
		free(o);
	}
	/* A new flow to A is decided by the new rules. */
	expect_curl("-H 'Host: a.amazonaws.com' http://198.51.100.10/", "000");
	expect_curl("-H 'Host: api.github.com' http://198.51.100.10/", "200");
	daemon_stop();
}

/* A long-lived allowed flow outlives its allow elements: the fast path
 * (its ct mark) never refreshes them, so with --verdict-timeout 2 they are
 * gone after a few seconds while the flow goes on. Without kept copies to
 * decide it again (--reload-keep-bytes 0), a reload that changes the table
 * generation must still let it flow: it was allowed and nothing revoked
 * it. Fails if a flow marked by an earlier generation and in no set is
 * held again (the daemon would see it mid-stream and drop it). */
/* A restarted daemon never saw the flows the earlier one allowed end, so it
 * could not destroy their elements when a new connection takes their
 * tuple (and conntrack may give it the freed entry's id, the verdict key's
 * last field): the earlier daemon's verdict elements go at the start. An
 * allowed connection still open then flows on, carried by its conntrack
 * mark; a new connection on the earlier allowed tuple with a denied name
 * is decided afresh: nothing of it reaches the server. */
Test(live, restart_forgets_earlier_verdicts)
{
	setup("hlx");
	char cli[256], lp[256], fb[256];
	snprintf(fb, sizeof(fb), "%s/srv-40051.txt", dir);
	start_ticker_server(cli, lp);
	daemon_start(SEED, NULL);
	sh("(ip netns exec %sc timeout 60 " PY " %s api.github.com 40051 >%s/b.err 2>&1 &)", P, cli, dir);
	cr_assert(wait_for(fb, "tick 5", 8000), "the allowed connection does not flow: %s", slurp(lp));
	expect_curl("--local-port 40050 -H 'Host: www.example.com' http://198.51.100.10/", "200");
	cr_expect_eq(verdict_elements(40050), 2, "the allowed flow's verdict is not in allow4");

	daemon_signal("KILL");
	msleep(300);
	daemon_start(SEED, NULL);
	cr_expect(wait_for(lp, "verdicts of an earlier daemon removed", 2000), "%s", slurp(lp));
	cr_expect_eq(verdict_elements(40050), 0, "an earlier daemon's allow elements survived the restart:\n%s",
		     sh_out("ip netns exec %sg nft list set inet hostgate allow4", P));
	int b0 = count_lines(fb, "tick", NULL);
	msleep(1500);
	int b1 = count_lines(fb, "tick", NULL);
	cr_expect_geq(b1, b0 + 8, "the allowed connection stopped at the restart: %d then %d lines\n%s", b0, b1,
		      slurp(lp));

	capture_start('s', "s0");
	expect_curl("--local-port 40050 -H 'Host: x.malicious-domain.com' http://198.51.100.10/", "000");
	capture_stop('s');
	cr_expect_eq(payload_segments('s', "src port 40050"), 0,
		     "a new connection on the earlier allowed tuple got a denied name to the server");
	daemon_stop();
}

Test(live, reload_keeps_long_lived_flows)
{
	setup("hll");
	char cli[256], lp[256], fb[256];
	snprintf(fb, sizeof(fb), "%s/srv-40041.txt", dir);
	start_ticker_server(cli, lp);
	daemon_start(SEED, "--verdict-timeout 2 --reload-keep-bytes 0");
	sh("(ip netns exec %sc timeout 60 " PY " %s api.github.com 40041 >%s/b.err 2>&1 &)", P, cli, dir);
	cr_assert(wait_for(fb, "tick 10", 8000), "the allowed connection does not flow: %s", slurp(lp));
	msleep(3500); /* its allow elements time out; the flow goes on */
	char *o = sh_out("ip netns exec %sg nft list set inet hostgate allow4 | grep -oE '\\. 40041 \\.' | wc -l", P);
	cr_expect_eq(atoi(o), 0, "allow elements of port 40041 still there: %s", o);
	free(o);
	daemon_signal("HUP");
	cr_assert(wait_for(lp, "reloaded", 5000), "%s", slurp(lp));
	msleep(500);
	int b0 = count_lines(fb, "tick", NULL);
	msleep(2000);
	int b1 = count_lines(fb, "tick", NULL);
	cr_expect_geq(b1, b0 + 10, "the long-lived connection stopped at the reload: %d then %d lines\n%s", b0, b1,
		      slurp(lp));
	daemon_stop();
}
