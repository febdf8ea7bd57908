/* test_live_evasion.c - the neighbours of issue 11's holes, against
 * `hostgate run` under the seed's template in network namespaces: a
 * client (scapy, tests/live_client.py) that makes the inspector read the
 * allowlisted x.xxxxxxxx.example.com while leading the server's stack to
 * read x.malicious-domain.com, by urgent data, by overlapping segments
 * with different bytes (Linux's out-of-order queue keeping the later
 * copy), by a hole filled with other bytes than those queued past it
 * (SACK permitted), and by a segment at the server's right window edge
 * resent with other bytes. IPv4 and IPv6; a benign client making the same
 * moves with the allowed name only is answered.
 *
 * Witnesses: the server application's own log of the Host it read
 * (tests/live_server.py), a capture on the server's interface, the
 * daemon's alert log, and `hostgate replay` of the client's capture.
 *
 * Expected verdicts: ANFW's domain lists decide by the HTTP Host the server
 * receives (https://docs.aws.amazon.com/network-firewall/latest/developerguide/stateful-rule-groups-domain-names.html),
 * so a denied name must never reach the server application. ANFW's
 * engine, Suricata in IPS mode, keeps the first of overlapping data and
 * rewrites later different copies on the wire
 * (https://docs.suricata.io/en/latest/ips/ips-concept.html, "TCP stream
 * engine"), and its urgent-data policies include drop
 * (suricata.yaml stream.reassembly.urgent.policy): hostgate cannot rewrite
 * re-injected segments, so both drop the flow with an alert (stream-overlap
 * sid 9900001, stream-urgent sid 9900010). Needs root; skips otherwise. */
#include "live_util.h"

TestSuite(live_evasion, .fini = teardown, .timeout = 240);

#define GOOD "x.xxxxxxxx.example.com"
#define DENIED "x.malicious-domain.com"

/* The client's moves (tests/live_client.py) to the server's IPv4 and IPv6
 * addresses from ports sport, sport+1 (and with MODE+benign the benign ones
 * from sport+2, sport+3), in one process. */
static void client(const char *mode, int sport)
{
	sh("ip netns exec %sc timeout 60 " PY " %s/tests/live_client.py %s 198.51.100.10,2001:db8:88::10 8081 %d " DENIED
	   " >>%s/client.log 2>&1",
	   P, srcdir, mode, sport, dir);
}

/* Client-to-server bytes of the denied name in the server's capture. */
static int denied_bytes_at_server(void)
{
	char *o = sh_out("tcpdump -n -A -r %s/s.pcap 'tcp dst port 8081' 2>/dev/null | grep -c malicious-domain", dir);
	int n = atoi(o);
	free(o);
	return n;
}

/* How a neighbour ends when it is closed. */
enum {
	/* the attack's first copy (the allowed name) is what the server reads:
	 * it answers the attack flows as well */
	ATTACK_ANSWERED = 1 << 0,
	/* the copy naming the denied host comes after the server acknowledged
	 * the inspected one: an old duplicate its stack discards (RFC 9293
	 * §3.10.7.4), forwarded by the kernel's fast path once the flow is
	 * allowed, so it may cross the server's interface */
	OLD_DUPLICATE_CROSSES = 1 << 1,
};

/* One neighbour: the attack from ports base and base+1 (IPv4, IPv6), the
 * benign moves from base+2 and base+3; sid, when not 0, is the alert each
 * attack flow must get. Returns after the daemon stopped. */
static void neighbour(const char *prefix, const char *mode, int base, unsigned sid, const char *server_sysctl,
		      unsigned how)
{
	setup(prefix);
	if (server_sysctl) /* before the server's socket takes its buffer sizes */
		sh("ip netns exec %ss sysctl -qw %s", P, server_sysctl);
	recording_server_start();
	capture_start('s', "s0");
	capture_start('c', "c0");
	daemon_start(SEED, NULL);
	client_no_rst();
	char both[64];
	snprintf(both, sizeof(both), "%s+benign", mode);
	client(both, base);
	capture_stop('s');
	capture_stop('c');
	daemon_stop();

	char log[256];
	snprintf(log, sizeof(log), "%s/client.log", dir);
	cr_expect_eq(count_lines(log, " sent (window ", NULL), 4, "the client did not run: %s", slurp(log));
	snprintf(log, sizeof(log), "%s/srv.log", dir);
	cr_expect_eq(server_saw(DENIED), 0, "%s: the denied name reached the server application: %s", mode,
		     slurp(log));
	cr_expect_eq(server_saw(GOOD), how & ATTACK_ANSWERED ? 4 : 2,
		     "%s: the benign client (v4, v6) was not answered: %s", mode, slurp(log));
	if (!(how & OLD_DUPLICATE_CROSSES))
		cr_expect_eq(denied_bytes_at_server(), 0, "%s: bytes of the denied name reached the server's interface",
			     mode);
	if (!sid)
		return;
	snprintf(log, sizeof(log), "%s/alerts.json", dir);
	char want[64], port[32];
	snprintf(want, sizeof(want), "\"signature_id\":%u,", sid);
	for (int k = 0; k < 4; k++) {
		snprintf(port, sizeof(port), "\"src_port\":%d,", base + k);
		cr_expect_eq(count_lines(log, port, want), k < 2, "%s port %d: %s", mode, base + k, slurp(log));
	}
	expect_replay_agrees(SEED, log);
}

/* "Host" preceded by an urgent "Z": the inspector reads a header ZHost and
 * the allowed Host; Linux's receiver takes the Z out of band (RFC 6093 §3,
 * without SO_OOBINLINE) and the server reads the denied Host first. */
Test(live_evasion, urgent_data_v4_v6)
{
	neighbour("hnu", "urgent", 42001, 9900010, NULL, 0);
}

/* The tail naming the allowed host out of order, then from the same start
 * a longer tail naming the denied one (Linux's out-of-order queue replaces
 * the queued segment with it), then the head. */
Test(live_evasion, overlap_replaced_out_of_order_v4_v6)
{
	neighbour("hno", "overlap", 42011, 9900001, NULL, 0);
}

/* SACK trick: the tail queued past a hole, then the hole filled by the
 * whole request naming the denied host (Linux delivers the in-order fill,
 * the inspector kept the queued tail's bytes). */
Test(live_evasion, sack_hole_filled_differently_v4_v6)
{
	neighbour("hns", "sack-fill", 42021, 9900001, NULL, 0);
}

/* The server's window is 2920 bytes (tcp_rmem 8192): the tail with the
 * Host starts exactly at its right edge (conntrack takes a segment whose
 * first byte is at the edge, Linux's receiver drops it), the head fills
 * the window, the flow is decided on the inspected tail, then the tail
 * comes again naming the denied host. The bytes that decided the flow
 * never reached the server: the resent copy must be compared with them
 * (the flow stays on the daemon's path until the server acknowledged what
 * was inspected), not passed. */
Test(live_evasion, window_edge_resent_differently_v4_v6)
{
	/* A hole on main at cb1d7a2 (the resent copy reached the server
	 * application, v4 and v6); closed by a06f52d (a passed flow stays on
	 * the daemon's path until the server acknowledged the inspected
	 * bytes, and other bytes sent again are refused). */
	neighbour("hnw", "window-edge", 42031, 0, "net.ipv4.tcp_rmem='8192 8192 8192'", 0);
}

/* The same with the tail from two bytes before the edge, across it: Linux
 * 6.18's receiver queues such a segment whole (it SACKs it), as the
 * inspector took it, so the server answers the allowed name and the resent
 * copy naming the denied host is an old duplicate it discards. */
Test(live_evasion, window_straddle_resent_differently_v4_v6)
{
	neighbour("hnx", "window-straddle", 42041, 0, "net.ipv4.tcp_rmem='8192 8192 8192'",
		  ATTACK_ANSWERED | OLD_DUPLICATE_CROSSES);
}
