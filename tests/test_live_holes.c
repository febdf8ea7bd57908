/* test_live_holes.c - a hostile client against `hostgate run` (the seed's
 * template, which allows *.example.com and denies x.malicious-domain.com
 * and every name not allowed), in network namespaces: TCP Fast Open, a
 * segment placed ahead of the stream's real start, conntrack-INVALID
 * segments, IPv4 and IPv6. Witnesses: a capture on the server's interface
 * and the server application's own log of the Host headers it read
 * (tests/live_server.py). Expected verdicts: ANFW's domain list rule
 * groups decide by the TLS SNI / HTTP Host the server receives
 * (https://docs.aws.amazon.com/network-firewall/latest/developerguide/stateful-rule-groups-domain-names.html):
 * a denied name's request must never reach the server application. Needs
 * root; skips otherwise. */
#include "live_util.h"

TestSuite(live_holes, .fini = teardown, .timeout = 240);

/* Client-to-server TCP segments with payload in the server's capture,
 * IPv4 and IPv6 alike (tcpdump prints each segment's payload length). */
static int payload_any(const char *filter)
{
	char *o = sh_out("tcpdump -n -r %s/s.pcap 'tcp and (%s)' 2>/dev/null | grep -cE 'length [1-9]'", dir, filter);
	int n = atoi(o);
	free(o);
	return n;
}

/* Stops the capture and the daemon; then the server application must have
 * read no request naming the denied host and `allowed` naming the allowed
 * one. */
static void stop_expect_server(int allowed)
{
	capture_stop('s');
	daemon_stop();
	char log[256];
	snprintf(log, sizeof(log), "%s/srv.log", dir);
	cr_expect_eq(server_saw("x.malicious-domain.com"), 0, "a denied request reached the server application: %s",
		     slurp(log));
	cr_expect_eq(server_saw("www.example.com"), allowed, "%s", slurp(log));
}

/* TFO: a SYN carrying the request (the client needs no cookie, the server
 * takes data without one) must not bring a denied Host to the server; an
 * allowed one still gets through (the client falls back to a plain SYN).
 * RFC 7413 §2: the data of a SYN is delivered to the application when the
 * server accepts it. */
Test(live_holes, tcp_fast_open_v4_v6)
{
	holes_setup("hht");
	sh("ip netns exec %ss sysctl -qw net.ipv4.tcp_fastopen=0x602", P);
	sh("ip netns exec %sc sysctl -qw net.ipv4.tcp_fastopen=0x5", P);
	/* The daemon's bounding capability set keeps only NET_ADMIN and
	 * NET_RAW (bits 12 and 13). */
	char *bnd = sh_out("grep CapBnd /proc/$(pgrep -P $(cat %s/daemon.pid))/status | awk '{print $2}'", dir);
	cr_expect_str_eq(bnd, "0000000000003000\n", "CapBnd %s", bnd);
	free(bnd);

	expect_curl("--tcp-fastopen --local-port 41001 -H 'Host: x.malicious-domain.com' http://198.51.100.10:8081/",
		    "000");
	expect_curl("--tcp-fastopen --local-port 41002 -H 'Host: x.malicious-domain.com' -g "
		    "'http://[2001:db8:88::10]:8081/'",
		    "000");
	expect_curl("--tcp-fastopen --local-port 41003 -H 'Host: www.example.com' http://198.51.100.10:8081/", "200");
	expect_curl("--tcp-fastopen --local-port 41004 -H 'Host: www.example.com' -g 'http://[2001:db8:88::10]:8081/'",
		    "200");
	stop_expect_server(2);
	cr_expect_eq(payload_any("src port 41001 or src port 41002"), 0,
		     "payload of a denied TFO flow reached the server");
}

static void scapy(const char *mode, const char *dst, int sport)
{
	sh("ip netns exec %sc timeout 20 " PY " %s/tests/live_client.py %s %s 8081 %d x.malicious-domain.com "
	   ">>%s/client.log 2>&1",
	   P, srcdir, mode, dst, sport, dir);
}

/* The real start of the stream comes after a segment placed further on:
 * the daemon knows the start from the SYN, holds the later segment, and
 * decides on the real first bytes. */
Test(live_holes, stream_start_desync_v4_v6)
{
	holes_setup("hhd");
	client_no_rst();
	scapy("desync", "198.51.100.10", 41011);
	scapy("desync", "2001:db8:88::10", 41012);
	/* The real start of the stream never reaches the server (nor, with
	 * it missing, the allowed request placed after it). */
	stop_expect_server(0);
	cr_expect_eq(payload_any("src port 41011 or src port 41012"), 0,
		     "payload of the desynchronised flows reached the server");
	char log[256];
	snprintf(log, sizeof(log), "%s/client.log", dir);
	char *text = slurp(log);
	cr_expect(strstr(text, "desync sent"), "the client did not run: %s", text);
	free(text);
}

/* Segments conntrack calls INVALID (payload without ACK, a SYN-ACK from
 * the client) carry a denied Host: none reaches the server's interface. */
Test(live_holes, conntrack_invalid_v4_v6)
{
	holes_setup("hhi");
	client_no_rst();
	scapy("invalid-noack", "198.51.100.10", 41021);
	scapy("invalid-noack", "2001:db8:88::10", 41022);
	scapy("invalid-synack", "198.51.100.10", 41023);
	scapy("invalid-synack", "2001:db8:88::10", 41024);
	capture_stop('s');
	daemon_stop();
	cr_expect_eq(payload_any("src port 41021 or src port 41022 or src port 41023 or src port 41024"), 0,
		     "an INVALID segment with payload reached the server's interface");
}

/* A verdict belongs to one connection: a client that reuses the port of an
 * allowed flow (same addresses, ports, protocol) for a denied name gets a
 * new decision, not the allow (the sets' key carries the conntrack id). */
Test(live_holes, tuple_reuse_v4_v6)
{
	holes_setup("hhr");
	expect_curl("--local-port 41031 -H 'Host: www.example.com' http://198.51.100.10:8081/", "200");
	expect_curl("--local-port 41031 -H 'Host: x.malicious-domain.com' http://198.51.100.10:8081/", "000");
	expect_curl("--local-port 41032 -H 'Host: www.example.com' -g 'http://[2001:db8:88::10]:8081/'", "200");
	expect_curl("--local-port 41032 -H 'Host: x.malicious-domain.com' -g 'http://[2001:db8:88::10]:8081/'", "000");
	/* (A denied flow's port is not reusable at once: conntrack takes a new
	 * SYN on its still-established entry for the old connection, whose
	 * deny element drops it; fail closed until the entry times out.) */
	stop_expect_server(2);
}

/* A request longer than the stream depth (16 KiB to the server): 20 KB of
 * HTTP headers, a 20 KB TLS ClientHello. No rule can see the name in the
 * first 16 KiB (HTTP's Host is read once the head ends; the SNI once the
 * hello is whole), so the flow is decided there: an alert (sid 9900008,
 * hostgate's stream-depth) and a drop, never held forever nor passed with
 * bytes no rule saw. */
Test(live_holes, stream_depth_v4_v6)
{
	holes_setup("hhz");
	expect_curl("--local-port 41041 -H \"X-Big: $(head -c 20000 /dev/zero | tr '\\0' a)\" "
		    "-H 'Host: www.example.com' http://198.51.100.10:8081/",
		    "000");
	expect_curl("--local-port 41042 -H \"X-Big: $(head -c 20000 /dev/zero | tr '\\0' a)\" "
		    "-H 'Host: www.example.com' -g 'http://[2001:db8:88::10]:8081/'",
		    "000");
	sh("ip netns exec %sc timeout 20 " PY " %s/tests/live_client.py big-hello 198.51.100.10 443 41043 "
	   "www.example.com >>%s/client.log 2>&1",
	   P, srcdir, dir);
	sh("ip netns exec %sc timeout 20 " PY " %s/tests/live_client.py big-hello 2001:db8:88::10 443 41044 "
	   "www.example.com >>%s/client.log 2>&1",
	   P, srcdir, dir);
	capture_stop('s');
	daemon_stop();
	char p[256];
	snprintf(p, sizeof(p), "%s/alerts.json", dir);
	for (int port = 41041; port <= 41044; port++)
		cr_expect_eq(port_sid_alerts(p, port, 9900008), 1, "no stream-depth alert for port %d: %s", port,
			     slurp(p));
	cr_expect_eq(server_saw("www.example.com"), 0, "a request past the depth reached the server application");
	cr_expect_eq(payload_any("src port 41041 or src port 41042 or src port 41043 or src port 41044"), 0,
		     "bytes of a flow past the depth reached the server");
}

/* A drop rule whose pcre cannot be run on the request (an exponential
 * pattern on a hostile URI stops at the match limit, Suricata's
 * detect.pcre.match-limit) must not let the flow through as if the rule had
 * not matched: it is dropped with hostgate's match-error alert (sid
 * 9900009), and replay of the client's capture logs the same. A request
 * the pattern rejects at once is answered. */
Test(live_holes, pcre_error_drops_v4_v6)
{
	setup("hhe");
	char rules[256];
	snprintf(rules, sizeof(rules), "%s/pcre.rules", dir);
	write_file("pcre.rules", "drop http any any -> any any (msg:\"hostile pcre\"; flow:to_server; http.uri; "
				 "content:\"a\"; pcre:\"/(a+)+$/\"; sid:710; rev:1;)\n");
	capture_start('c', "c0");
	daemon_start(rules, NULL);
	const char *as = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
	char args[256];
	expect_curl("--local-port 41061 http://198.51.100.10/hello.txt", "404");
	snprintf(args, sizeof(args), "--local-port 41062 http://198.51.100.10/%s", as);
	expect_curl(args, "000");
	snprintf(args, sizeof(args), "--local-port 41063 -g 'http://[2001:db8:88::10]/%s'", as);
	expect_curl(args, "000");
	capture_stop('c');
	daemon_stop();
	char alerts[256];
	snprintf(alerts, sizeof(alerts), "%s/alerts.json", dir);
	for (int port = 41061; port <= 41063; port++)
		cr_expect_eq(port_sid_alerts(alerts, port, 9900009), port == 41061 ? 0 : 1,
			     "match-error alerts of port %d: %s", port, slurp(alerts));
	expect_replay_agrees(rules, alerts);
}

/* Held packets survive a reload: a request in three segments, the first
 * two held when SIGHUP comes, the third after it (before the client's
 * retransmission timer: held past it, a request stalls, reload or not, and
 * is decided as at the depth). The new rules decide the
 * whole request from the real start of the stream (the held segments come
 * back to the new inspector after a handshake rebuilt from the SYN the
 * daemon saw): the allowed one is answered, the denied one never reaches
 * the server (a daemon that forgot the stream's start would take the third
 * segment for it and pass the flow). */
Test(live_holes, reload_keeps_held_prefix_v4_v6)
{
	holes_setup("hhp");
	char log[256];
	snprintf(log, sizeof(log), "%s/client.log", dir);
	const char *const host[] = {"www.example.com", "x.malicious-domain.com"};
	const char *const dst[] = {"198.51.100.10", "2001:db8:88::10"};
	for (int k = 0; k < 4; k++) {
		sh("rm -f %s", log);
		sh("ip netns exec %sc timeout 20 " PY " %s/tests/live_client.py split3 %s 8081 %d %s "
		   "$(pgrep -P $(cat %s/daemon.pid)) >%s 2>&1",
		   P, srcdir, dst[k % 2], 41051 + k, host[k / 2], dir, log);
		char *o = slurp(log);
		if (k < 2)
			cr_expect(strstr(o, "answer: HTTP/1.0 200"), "allowed request over a reload: %s", o);
		else
			cr_expect(!strstr(o, "200"), "denied request over a reload answered: %s", o);
		free(o);
	}
	stop_expect_server(2);
}

/* A datagram larger than the way on: with MTU 1280 on every link, a
 * 2000-byte UDP datagram leaves its client as fragments, the gateway
 * reassembles it (conntrack needs it whole), the daemon holds and allows it
 * (no rule is about it: §3.3, unmatched traffic passes) and sends it on as
 * fragments again: the server application gets it whole. IPv4 and IPv6
 * (RFC 8200 §5: 1280 is IPv6's minimum MTU). */
Test(live_holes, reinjected_datagram_fragmented_v4_v6)
{
	holes_setup("hhf");
	sh("ip -n %sc link set %sc0 mtu 1280; ip -n %sg link set %sg0 mtu 1280; ip -n %sg link set %sg1 mtu 1280; "
	   "ip -n %ss link set %ss0 mtu 1280",
	   P, P, P, P, P, P, P, P);
	sh("ip netns exec %sc timeout 20 " PY " %s/tests/live_client.py udp-big 198.51.100.10 8081 41061 allowed "
	   ">>%s/client.log 2>&1",
	   P, srcdir, dir);
	sh("ip netns exec %sc timeout 20 " PY " %s/tests/live_client.py udp-big 2001:db8:88::10 8081 41062 allowed "
	   ">>%s/client.log 2>&1",
	   P, srcdir, dir);
	msleep(1000);
	capture_stop('s');
	daemon_stop();
	char log[256];
	snprintf(log, sizeof(log), "%s/srv.log", dir);
	cr_expect_eq(count_lines(log, "UDP 41061 2000", NULL), 1, "IPv4: %s", slurp(log));
	cr_expect_eq(count_lines(log, "UDP 41062 2000", NULL), 1, "IPv6: %s", slurp(log));
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	char *text = slurp(log);
	cr_expect(strstr(text, "\"injected_as_fragments\":2"), "%s", text);
	free(text);
}

/* Segments whose payload names host (an HTTP Host header; with sni, the
 * name anywhere, as a ClientHello's server_name carries it), in the
 * server's capture (its interface: what the gateway let through), IPv4
 * and IPv6 alike. */
static int capture_names_in(const char *host, bool sni)
{
	char *o = sh_out("tcpdump -n -A -r %s/s.pcap tcp 2>/dev/null | grep -c '%s%s'", dir, sni ? "" : "Host: ", host);
	int n = atoi(o);
	free(o);
	return n;
}

static int capture_names(const char *host)
{
	return capture_names_in(host, false);
}

/* Occurrences of what in text. */
static int occurrences(const char *text, const char *what)
{
	int n = 0;
	for (const char *t = strstr(text, what); t; t = strstr(t + 1, what))
		n++;
	return n;
}

/* The daemon's log (its stats line at exit) says what. */
static void expect_daemon_said(const char *what)
{
	char log[256];
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	char *text = slurp(log);
	cr_expect(strstr(text, what), "the daemon did not say %s: %s", what, text);
	free(text);
}

/* Runs the insertion client (live_client.py MODE ... HOST EXTRA) on v4
 * and v6 (client ports port and port + 1; the server's port: 443 for the
 * TLS modes, else 8081) and returns its output; in the background (bg),
 * writing client0.log and client1.log, returns NULL. */
static char *insertion_run(const char *mode, int port, const char *host, const char *extra, bool bg)
{
	const char *const dst[] = {"198.51.100.10", "2001:db8:88::10"};
	int dport = strstr(mode, "tls") ? 443 : 8081;
	for (int k = 0; k < 2; k++)
		sh("%sip netns exec %sc timeout 20 " PY " %s/tests/live_client.py %s %s %d %d %s %s >%s%s/client%d.log "
		   "2>&1%s",
		   bg ? "(" : "", P, srcdir, mode, dst[k], dport, port + k, host, extra, bg ? "" : ">", dir, bg ? k : 0,
		   bg ? " &)" : "");
	if (bg)
		return NULL;
	char log[256];
	snprintf(log, sizeof(log), "%s/client0.log", dir);
	return slurp(log);
}

static char *insertion(const char *mode, int port, const char *host)
{
	return insertion_run(mode, port, host, "", false);
}

/* Insertion after the verdict: the daemon inspects a request naming an
 * allowed host, in a segment the server will discard; then the client sends
 * the same sequence range again naming a denied host, in a segment the
 * server accepts. The flow may leave the daemon's path only once the server
 * acknowledged what was inspected, and until then bytes that differ from
 * the inspected ones are dropped: neither the server's interface nor its
 * application ever sees the denied name. ANFW decides a domain list rule on
 * the SNI / Host the flow carries (the page cited at the top): the name the
 * server reads is the one that must have been decided. */
static void expect_no_insertion(const char *mode, int port)
{
	bool tls = strstr(mode, "tls") != NULL;
	holes_setup(tls ? "hit" : mode[0] == 'p' ? "hip" : mode[0] == 'o' ? "hio" : "hif");
	client_no_rst();
	/* The gateway's own reverse-path filter stays out of it: the daemon's
	 * table must refuse a forged ACK by itself. */
	sh("ip netns exec %sg sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.%sg0.rp_filter=0", P, P);
	char *out = insertion(mode, port, "x.malicious-domain.com");
	cr_expect(strstr(out, "sent"), "the client did not run: %s", out);
	capture_stop('s');
	daemon_stop();
	char log[256];
	snprintf(log, sizeof(log), "%s/srv.log", dir);
	cr_expect_eq(server_saw("x.malicious-domain.com"), 0, "%s: the denied request reached the server application: %s",
		     mode, slurp(log));
	cr_expect_eq(capture_names_in("x.malicious-domain.com", tls), 0,
		     "%s: the denied name reached the server's interface", mode);
	/* the capture saw the inspected segment, which the server discarded */
	cr_expect_gt(capture_names_in("www.example.com", tls), 0, "%s: the capture saw nothing", mode);
	cr_expect(!strstr(out, "answer: HTTP"), "%s: the re-sent request was answered: %s", mode, out);
	free(out);
	/* The daemon's account: one differing re-send dropped a family, no
	 * flow allowed (the server never acknowledged the inspected bytes). */
	expect_daemon_said("\"await_differ_dropped\":2,");
	expect_daemon_said("\"await_settled\":0,");
}

/* (a) The inspected segment carries a timestamp older than the one of the
 * SYN: the server discards it (PAWS, RFC 7323 §5.3). */
Test(live_holes, insertion_paws_v4_v6)
{
	expect_no_insertion("paws", 41071);
}

/* (a) with TLS: the ClientHello the daemon inspected names an allowed
 * host, the one the server reads a denied one (ANFW's TLS_SNI, the page
 * cited at the top). The capture is the witness (s_server logs no SNI). */
Test(live_holes, insertion_paws_tls_v4_v6)
{
	expect_no_insertion("paws-tls", 41079);
}

/* (b) The inspected segment acknowledges far below the server's window:
 * the server discards it (RFC 5961 §5.2). */
Test(live_holes, insertion_old_ack_v4_v6)
{
	expect_no_insertion("old-ack", 41073);
}

/* (c) As (a), with an ACK of the inspected range forged from the client's
 * side carrying the server's address: only what comes from the server's
 * side may count as the server's acknowledgement. */
Test(live_holes, insertion_forged_ack_v4_v6)
{
	expect_no_insertion("forged-ack", 41075);
}

/* (d) A benign retransmission: the inspected segment is lost to the server
 * (PAWS) and sent again unchanged: the server reads it and answers. */
Test(live_holes, insertion_retransmit_v4_v6)
{
	holes_setup("hir");
	client_no_rst();
	char *out = insertion("retrans", 41077, "www.example.com");
	stop_expect_server(2);
	cr_expect_eq(occurrences(out, "answer: HTTP/1.0 200"), 2, "the retransmitted requests: %s", out);
	free(out);
	/* the same bytes again went on, and the server's ACK allowed the flow */
	expect_daemon_said("\"await_resent\":2,");
	expect_daemon_said("\"await_settled\":2,");
}

/* A flow waiting for the server's ACK at a reload keeps waiting (the hold
 * entry and its released bytes outlive the inspector): a differing re-send
 * after the reload is dropped, and the same bytes again still complete the
 * exchange (the flow is neither allowed unchecked nor stalled). */
Test(live_holes, insertion_over_reload_v4_v6)
{
	holes_setup("hiu");
	client_no_rst();
	char pid[256];
	snprintf(pid, sizeof(pid), "$(pgrep -P $(cat %s/daemon.pid))", dir);
	char *out = insertion_run("reload", 41081, "x.malicious-domain.com", pid, false);
	cr_expect_eq(occurrences(out, "answer: HTTP/1.0 200"), 2, "after the reload: %s", out);
	free(out);
	stop_expect_server(2);
	cr_expect_eq(capture_names("x.malicious-domain.com"), 0, "the denied name reached the server's interface");
	expect_daemon_said("\"await_differ_dropped\":2,");
}

/* A restart forgets the flows waiting for the server's ACK: the next
 * segment of such a flow finds no entry and is reset, never allowed. */
Test(live_holes, insertion_over_restart_v4_v6)
{
	holes_setup("hiz");
	client_no_rst();
	char go[256];
	snprintf(go, sizeof(go), "%s/restarted", dir);
	insertion_run("restart", 41083, "x.malicious-domain.com", go, true);
	char log[256];
	for (int k = 0; k < 2; k++) {
		snprintf(log, sizeof(log), "%s/client%d.log", dir, k);
		cr_assert(wait_for(log, "first sent", 10000), "the client did not start: %s", slurp(log));
	}
	daemon_stop();
	daemon_start(SEED, NULL);
	sh("touch %s", go);
	for (int k = 0; k < 2; k++) {
		snprintf(log, sizeof(log), "%s/client%d.log", dir, k);
		cr_expect(wait_for(log, "restart sent", 12000), "the client did not finish: %s", slurp(log));
		char *out = slurp(log);
		cr_expect(strstr(out, "reset") && !strstr(out, "answer:"), "after the restart: %s", out);
		free(out);
	}
	stop_expect_server(0);
	cr_expect_eq(capture_names("x.malicious-domain.com"), 0, "the denied name reached the server's interface");
	expect_daemon_said("\"no_syn_reset\":2,");
}
