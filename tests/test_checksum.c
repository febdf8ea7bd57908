/* test_checksum.c - what the daemon puts on the wire by itself
 * (runtime/actuate.c): the Internet checksum against RFC 1071's and RFC
 * 1624's worked examples, re-injected datagrams and resets against packets
 * built by an independent implementation (scapy 2.5, `raw(IP()/TCP()...)`,
 * vectors below), and, as root in namespaces of the test's own, against the
 * kernel's own parsing: a fixed datagram is delivered where a broken one is
 * dropped, a reset ends the client's connection where one with a bad
 * checksum does not. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sh_util.h"
#include "hostgate/actuate.h"

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's
 * complement), so their checksum is 220d; and a buffer that carries its own
 * checksum sums to zero. */
/* The datagram b decoded, as the daemon hands it to the actuator. */
static struct hg_packet dec(const uint8_t *b, size_t n)
{
	struct hg_decode_stats st = {0};
	struct hg_packet p = {.wire_len = (uint32_t)n};
	cr_assert(hg_decode_ip(&st, b, (uint32_t)n, false, &p), "test datagram does not decode");
	return p;
}

Test(checksum, rfc1071_example)
{
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	cr_assert_eq(hg_inet_checksum(b, sizeof(b)), 0x220d);
	uint8_t c[10];
	memcpy(c, b, 8);
	c[8] = 0x22, c[9] = 0x0d;
	cr_assert_eq(hg_inet_checksum(c, sizeof(c)), 0);
	/* An odd length: the last byte is padded with a zero (§4.1). */
	const uint8_t odd[] = {0x01, 0x02, 0x03};
	cr_assert_eq(hg_inet_checksum(odd, 3), (uint16_t)~(0x0102 + 0x0300));
}

/* RFC 1624 §4: a header checksum of 0xdd2f with a 16-bit field 0x5555
 * that becomes 0x3285: the right new checksum is 0x0000 (eqn. 3), not
 * 0xffff (RFC 1141's eqn. 2). The header is one whose checksum is 0xdd2f
 * with its identification 0x5555 (computed for this test). */
Test(checksum, rfc1624_example)
{
	uint8_t d[64];
	size_t n = unhex("4500001e55550000401100000a0034490a000002" /* IPv4, id 5555, csum 0 */
			 "03e807d0000a0000" "e01f",                /* UDP 1000 -> 2000, 2 bytes */
			 d);
	cr_assert(hg_l4_checksum_fix(d, n));
	cr_assert_eq(d[10] << 8 | d[11], 0xdd2f, "the header of the example: 0x%04x", d[10] << 8 | d[11]);
	d[4] = 0x32, d[5] = 0x85;
	cr_assert(hg_l4_checksum_fix(d, n));
	cr_assert_eq(d[10] << 8 | d[11], 0x0000, "RFC 1624 eqn. 3: 0x%04x", d[10] << 8 | d[11]);
}

/* Packets written by scapy; each goes through with its checksums cleared
 * (the partial checksum of an NFLOG copy) and must come out identical. */
static const struct {
	const char *name, *hex;
} known[] = {
	{"tcp4", "45000033123440003f065d890a000001c00002079c4001bb000003e8000007d0501801f6a641000068656c6c6f20776f726c64"},
	{"udp6", "60000000001c113e20010db800000000000000000000000120010db800010000000000000000000714e901bb001cfe5871"
		 "75696320696e697469616c207061796c6f6164"},
	{"tcp6", "6000000000260640fd00000000000000000000000000000220010db8000000000000000000000009c7380050fffffff000"
		 "00004d50110040de550000474554202f20485454502f312e310d0a0d0a"},
	/* RFC 768: a UDP checksum that computes to zero is sent as ffff. */
	{"udp4 zero sum", "4500001e00000000401166cd0a0000010a00000203e807d0000affffe01f"},
};

Test(checksum, known_packets)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(known); i++) {
		uint8_t want[256], got[256];
		size_t n = unhex(known[i].hex, want);
		memcpy(got, want, n);
		bool v4 = (got[0] >> 4) == 4;
		size_t l4 = v4 ? 20 : 40, off = got[v4 ? 9 : 6] == 6 ? 16 : 6;
		got[l4 + off] = got[l4 + off + 1] = 0x5a; /* garbage, as NFLOG may hand it */
		if (v4)
			got[10] = got[11] = 0;
		cr_assert(hg_l4_checksum_fix(got, n), "%s", known[i].name);
		cr_assert_arr_eq(got, want, n, "%s: not the bytes scapy computes", known[i].name);
	}
	/* Not a whole TCP/UDP datagram: left unchanged. */
	uint8_t frag[64];
	size_t n = unhex(known[0].hex, frag);
	frag[6] = 0x20; /* more fragments */
	cr_assert_not(hg_l4_checksum_fix(frag, n));
}

/* The reset for a client segment, as scapy builds it: from the server,
 * seq = the segment's ack, ack = its seq + its length (+1 for SYN, FIN;
 * wrapping), RST|ACK, window 0, DF, TTL 64. */
Test(checksum, reset_builder)
{
	uint8_t seg[256], rst[128], want[128];
	size_t n = unhex(known[0].hex, seg);
	struct hg_packet p = dec(seg, n);
	size_t r = hg_tcp_reset_build(&p, rst, sizeof(rst));
	size_t wn = unhex("450000280000400040066ec8c00002070a00000101bb9c40000007d0000003f3501400003a0a0000", want);
	cr_assert_eq(r, wn);
	cr_assert_arr_eq(rst, want, wn, "IPv4 reset differs from scapy's");
	n = unhex(known[2].hex, seg); /* FIN with 18 bytes at seq fffffff0 */
	p = dec(seg, n);
	r = hg_tcp_reset_build(&p, rst, sizeof(rst));
	wn = unhex("600000000014064020010db8000000000000000000000009fd0000000000000000000000000000020050c738000000"
		   "4d0000000350140000bd330000",
		   want);
	cr_assert_eq(r, wn);
	cr_assert_arr_eq(rst, want, wn, "IPv6 reset differs from scapy's");
	n = unhex(known[1].hex, seg); /* UDP: no reset */
	p = dec(seg, n);
	cr_assert_eq(hg_tcp_reset_build(&p, rst, sizeof(rst)), 0);
	n = unhex(known[0].hex, seg);
	p = dec(seg, n);
	cr_assert_eq(hg_tcp_reset_build(&p, rst, 20), 0, "no room");
}

/* ---------------------------------------- the kernel's own parsing */

static char peer[32];

static void cleanup(void)
{
	if (peer[0])
		sh("ip netns del %s 2>/dev/null", peer);
	peer[0] = 0;
}

static int netns_fd(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* This process in a namespace of its own ("here", 10.77.0.1, fd77::1)
 * joined by a veth pair to the peer namespace (10.77.0.2, fd77::2). Both
 * ends verify checksums themselves (rx offload off: veth would otherwise
 * mark locally made packets as checked). Returns the peer's fd. */
static int two_namespaces(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (namespaces, raw sockets): skipped");
	if (access("/usr/sbin/ethtool", X_OK))
		cr_skip_test("ethtool not installed: skipped");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	snprintf(peer, sizeof(peer), "hgck%d", (int)getpid());
	cr_assert_eq(sh("ip netns add %s && ip link set lo up && ip link add hgck0 type veth peer name hgck1 && "
			"ip link set hgck1 netns %s && ip addr add 10.77.0.1/24 dev hgck0 && "
			"ip addr add fd77::1/64 dev hgck0 nodad && ip link set hgck0 up && "
			"ip -n %s addr add 10.77.0.2/24 dev hgck1 && ip -n %s addr add fd77::2/64 dev hgck1 nodad && "
			"ip -n %s link set hgck1 up && ip -n %s link set lo up && ethtool -K hgck0 rx off >/dev/null && "
			"ip netns exec %s ethtool -K hgck1 rx off >/dev/null",
			peer, peer, peer, peer, peer, peer, peer),
		     0);
	int fd = netns_fd(peer);
	cr_assert(fd >= 0);
	return fd;
}

/* A socket made in namespace nsfd (then back to here). */
static int socket_in(int nsfd, int here, int domain, int type, int proto)
{
	cr_assert_eq(setns(nsfd, CLONE_NEWNET), 0);
	int s = socket(domain, type, proto);
	cr_assert_eq(setns(here, CLONE_NEWNET), 0);
	cr_assert(s >= 0, "socket: %s", strerror(errno));
	return s;
}

static void set_rcvtimeo(int s, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Sends an IP datagram through a raw socket of its family, untouched. */
static void send_as_is(int raw, const uint8_t *d, size_t n)
{
	struct sockaddr_in to4 = {.sin_family = AF_INET};
	struct sockaddr_in6 to6 = {.sin6_family = AF_INET6};
	bool v6 = (d[0] >> 4) == 6;
	memcpy(&to4.sin_addr, d + 16, 4);
	memcpy(&to6.sin6_addr, d + 24, 16);
	cr_assert_eq(sendto(raw, d, n, 0, v6 ? (struct sockaddr *)&to6 : (struct sockaddr *)&to4,
			    v6 ? sizeof(to6) : sizeof(to4)),
		     (ssize_t)n);
}

/* A UDP datagram with a broken checksum: dropped by the peer's stack as it
 * is, delivered once re-injected (checksum recomputed), IPv4 and IPv6. */
Test(checksum_kernel, reinjected_datagram_is_accepted, .fini = cleanup)
{
	int pfd = two_namespaces(), here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	char err[200];
	struct hg_actuator *a = hg_act_new("hgck", err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	for (int v6 = 0; v6 < 2; v6++) {
		int u = socket_in(pfd, here, v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(2000)};
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(2000)};
		cr_assert_eq(bind(u, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
				  v6 ? sizeof(sin6) : sizeof(sin)),
			     0);
		set_rcvtimeo(u, 300);
		uint8_t d[128];
		size_t n = v6 ? unhex("6000000000111140fd770000000000000000000000000001fd770000000000000000000000000002"
				      "03e807d000110000" "6869206b65726e656c",
				      d)
			      : unhex("450000250000000040110000" "0a4d0001" "0a4d0002" "03e807d000110000"
				      "6869206b65726e656c",
				      d);
		/* Broken: checksum fixed, then one bit of it flipped. */
		uint8_t bad[128];
		memcpy(bad, d, n);
		hg_l4_checksum_fix(bad, n);
		bad[(v6 ? 40 : 20) + 7] ^= 1;
		int raw = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
		int one = 1;
		if (v6)
			setsockopt(raw, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof(one));
		send_as_is(raw, bad, n);
		char buf[64];
		cr_assert_lt(recv(u, buf, sizeof(buf), 0), 0, "v%d: the peer took a datagram with a bad checksum (no "
			     "verification: the test could not fail)", v6 ? 6 : 4);
		/* ... and counted it as one (UDP InCsumErrors). */
		char *o = v6 ? sh_out("ip netns exec %s awk '$1 == \"Udp6InCsumErrors\" {print $2}' /proc/net/snmp6", peer)
			     : sh_out("ip netns exec %s awk '/^Udp:/ {if (!c) {for (i = 1; i <= NF; i++) if ($i == "
				      "\"InCsumErrors\") c = i} else print $c}' /proc/net/snmp",
				      peer);
		cr_assert_eq(atoi(o), 1, "v%d: InCsumErrors %s", v6 ? 6 : 4, o);
		free(o);
		/* The same bytes as held (garbage checksum), re-injected. */
		bad[(v6 ? 40 : 20) + 6] ^= 0x55;
		struct hg_packet bp = dec(bad, n);
		cr_assert_eq(hg_act_inject(a, &bp), 0);
		ssize_t got = recv(u, buf, sizeof(buf), 0);
		cr_assert_eq(got, 9, "v%d: the re-injected datagram was not delivered (%s)", v6 ? 6 : 4,
			     got < 0 ? strerror(errno) : "short");
		cr_assert_arr_eq(buf, "hi kernel", 9);
		close(raw);
		close(u);
	}
	hg_act_free(a);
	close(here);
	close(pfd);
}

/* A client here connected to a server in the peer; the peer captures the
 * client's data segment and answers it with a reset: one with a broken
 * checksum leaves the connection up, the built one ends it (ECONNRESET). */
Test(checksum_kernel, reset_ends_the_connection, .fini = cleanup)
{
	int pfd = two_namespaces(), here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (int v6 = 0; v6 < 2; v6++) {
		cr_assert_eq(setns(pfd, CLONE_NEWNET), 0);
		char err[200];
		struct hg_actuator *a = hg_act_new("hgck", err, sizeof(err)); /* sends from the peer */
		int ls = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		int cap = socket(AF_PACKET, SOCK_DGRAM, htons(v6 ? ETH_P_IPV6 : ETH_P_IP));
		int raw = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
		unsigned ifi = if_nametoindex("hgck1");
		cr_assert_eq(setns(here, CLONE_NEWNET), 0);
		cr_assert_not_null(a, "%s", err);
		cr_assert(ls >= 0 && cap >= 0 && raw >= 0 && ifi);
		int one = 1;
		if (v6)
			setsockopt(raw, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof(one));
		struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(v6 ? ETH_P_IPV6 : ETH_P_IP),
					 .sll_ifindex = (int)ifi};
		cr_assert_eq(bind(cap, (struct sockaddr *)&ll, sizeof(ll)), 0);
		set_rcvtimeo(cap, 1000);
		struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(8000)};
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(8000)};
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		cr_assert_eq(bind(ls, v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4, v6 ? sizeof(s6) : sizeof(s4)), 0);
		cr_assert_eq(listen(ls, 4), 0);
		inet_pton(AF_INET, "10.77.0.2", &s4.sin_addr);
		inet_pton(AF_INET6, "fd77::2", &s6.sin6_addr);
		int c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		cr_assert_eq(connect(c, v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4, v6 ? sizeof(s6) : sizeof(s4)),
			     0, "%s", strerror(errno));
		cr_assert_eq(send(c, "GET", 3, 0), 3);
		/* The client's data segment as the peer saw it. */
		uint8_t seg[2048];
		ssize_t sn;
		for (;;) {
			sn = recv(cap, seg, sizeof(seg), 0);
			cr_assert_gt(sn, 0, "no segment captured");
			size_t l4 = v6 ? 40 : (size_t)(seg[0] & 15) * 4;
			bool tcp = seg[v6 ? 6 : 9] == 6, from_client = seg[l4 + 2] == 0x1f && seg[l4 + 3] == 0x40;
			size_t plen = (size_t)sn - l4 - (size_t)(seg[l4 + 12] >> 4) * 4;
			if (tcp && from_client && plen == 3)
				break;
		}
		uint8_t rst[128];
		struct hg_packet sp = dec(seg, (size_t)sn);
		size_t rn = hg_tcp_reset_build(&sp, rst, sizeof(rst));
		cr_assert_gt(rn, 0);
		rst[rn - 3] ^= 1; /* a bit of the checksum flipped */
		send_as_is(raw, rst, rn);
		usleep(200000);
		char b;
		set_rcvtimeo(c, 200);
		cr_assert_lt(recv(c, &b, 1, 0), 0);
		cr_assert_eq(errno, EAGAIN, "v%d: a reset with a bad checksum was taken (%s): the test could not fail",
			     v6 ? 6 : 4, strerror(errno));
		cr_assert_eq(hg_act_tcp_reset(a, &sp), 0);
		usleep(200000);
		cr_assert_lt(recv(c, &b, 1, 0), 0);
		cr_assert_eq(errno, ECONNRESET, "v%d: the built reset did not end the connection (%s)", v6 ? 6 : 4,
			     strerror(errno));
		close(c);
		close(ls);
		close(cap);
		close(raw);
		hg_act_free(a);
	}
	close(here);
	close(pfd);
}
