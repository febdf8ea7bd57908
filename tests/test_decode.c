/* test_decode.c - the decoder on hand-built frames of every link type, VLAN
 * stacks, IPv4 options, IPv6 extension chains and malformed headers (every
 * truncation point of every valid frame), fragment reassembly, and real
 * pcap files read through the source. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/dlt.h>

#include "hostgate/decode.h"
#include "hostgate/flow.h"
#include "hostgate/source.h"
#include "hostgate/stream.h"

/* Hex with any spaces to bytes; returns the length. */
static size_t hex(const char *s, uint8_t *out)
{
	size_t n = 0;
	while (*s) {
		if (*s == ' ' || *s == '\n') {
			s++;
			continue;
		}
		unsigned v;
		cr_assert(sscanf(s, "%2x", &v) == 1, "bad hex at %s", s);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* 10.0.0.1:1234 -> 10.0.0.2:443 TCP PSH|ACK seq 100, payload "hello". */
#define V4_TCP "45 00 00 2d 12 34 40 00 40 06 00 00 0a 00 00 01 0a 00 00 02" \
	" 04 d2 01 bb 00 00 00 64 00 00 00 00 50 18 ff ff 00 00 00 00 68 65 6c 6c 6f"
/* [2001:db8::1]:12345 -> [2001:db8::2]:53 UDP, payload "abcde". */
#define V6_UDP "60 00 00 00 00 0d 11 40" \
	" 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01" \
	" 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02" \
	" 30 39 00 35 00 0d 00 00 61 62 63 64 65"
#define ETH "02 00 00 00 00 02 02 00 00 00 00 01"

struct lt_case {
	const char *name;
	int dlt;
	const char *frame;
	int family;        /* 0: expect failure with reason */
	enum hg_decode_reason reason;
	int n_vlan;
	uint16_t vlan0, vlan1;
};

static const struct lt_case lt_cases[] = {
	{"ether v4", DLT_EN10MB, ETH " 08 00 " V4_TCP, 4},
	{"ether v6", DLT_EN10MB, ETH " 86 dd " V6_UDP, 6},
	{"ether 802.1q", DLT_EN10MB, ETH " 81 00 00 64 08 00 " V4_TCP, 4, 0, 1, 100},
	{"ether qinq 88a8", DLT_EN10MB, ETH " 88 a8 00 c8 81 00 00 64 86 dd " V6_UDP, 6, 0, 2, 200, 100},
	{"ether qinq 9100", DLT_EN10MB, ETH " 91 00 00 0a 81 00 0f ff 08 00 " V4_TCP, 4, 0, 2, 10, 4095},
	{"ether arp", DLT_EN10MB, ETH " 08 06 00 01 08 00 06 04 00 01 02 00 00 00 00 01 0a 00 00 01"
	 " 00 00 00 00 00 00 0a 00 00 02", 0, HG_DR_UNSUPPORTED_L3},
	{"ether 802.3 length", DLT_EN10MB, ETH " 00 26 42 42 03 00 00", 0, HG_DR_UNSUPPORTED_L3},
	{"ether v4 type v6 body", DLT_EN10MB, ETH " 08 00 " V6_UDP, 0, HG_DR_BAD_IP_VERSION},
	{"ether 5 vlans", DLT_EN10MB, ETH " 81 00 00 01 81 00 00 02 81 00 00 03 81 00 00 04"
	 " 81 00 00 05 08 00 " V4_TCP, 0, HG_DR_TOO_MANY_VLANS},
	{"sll v4", DLT_LINUX_SLL, "00 00 00 01 00 06 02 00 00 00 00 01 00 00 08 00 " V4_TCP, 4},
	{"sll vlan v6", DLT_LINUX_SLL, "00 04 00 01 00 06 02 00 00 00 00 01 00 00 81 00 00 07 86 dd "
	 V6_UDP, 6, 0, 1, 7},
	{"sll2 v6", DLT_LINUX_SLL2, "86 dd 00 00 00 00 00 02 00 01 00 06 02 00 00 00 00 01 00 00 "
	 V6_UDP, 6},
	{"raw v4", DLT_RAW, V4_TCP, 4},
	{"raw v6", DLT_RAW, V6_UDP, 6},
	{"linktype_raw 101", 101, V6_UDP, 6},
	{"ipv4", DLT_IPV4, V4_TCP, 4},
	{"ipv4 holding v6", DLT_IPV4, V6_UDP, 0, HG_DR_BAD_IP_VERSION},
	{"ipv6", DLT_IPV6, V6_UDP, 6},
	{"null le inet", DLT_NULL, "02 00 00 00 " V4_TCP, 4},
	{"null le inet6 darwin", DLT_NULL, "1e 00 00 00 " V6_UDP, 6},
	{"null be inet6 linux", DLT_NULL, "00 00 00 0a " V6_UDP, 6},
	{"null ipx", DLT_NULL, "17 00 00 00 00 00", 0, HG_DR_UNSUPPORTED_L3},
	{"loop inet6 openbsd", DLT_LOOP, "00 00 00 18 " V6_UDP, 6},
	{"loop inet", DLT_LOOP, "00 00 00 02 " V4_TCP, 4},
	{"loop inet holding v6", DLT_LOOP, "00 00 00 02 " V6_UDP, 0, HG_DR_BAD_IP_VERSION},
	{"nflog v4", DLT_NFLOG, "02 00 00 05 08 00 01 00 08 00 03 00 07 00 0a 00 61 62 63 00"
	 " 31 00 09 00 " V4_TCP " 00 00 00", 4},
	{"nflog v6", DLT_NFLOG, "0a 00 00 05 39 00 09 00 " V6_UDP " 00 00 00", 6},
	{"nflog no payload", DLT_NFLOG, "02 00 00 05 08 00 01 00 08 00 03 00", 0, HG_DR_TRUNCATED_L2},
	{"nflog tlv len 2", DLT_NFLOG, "02 00 00 05 02 00 09 00 45 00", 0, HG_DR_BAD_L2},
	{"nflog tlv too long", DLT_NFLOG, "02 00 00 05 40 00 09 00 " V4_TCP, 0, HG_DR_BAD_L2},
	{"nflog version 1", DLT_NFLOG, "02 01 00 05 31 00 09 00 " V4_TCP, 0, HG_DR_BAD_L2},
	{"802.11", DLT_IEEE802_11, "08 00 00 00", 0, HG_DR_UNSUPPORTED_LINKTYPE},
};

/* The NFLOG vectors above were captured on a little-endian host; their
 * TLV headers are netlink attributes, in the capturing host's order, which
 * libpcap gives us in ours (LINKTYPE_NFLOG). Rewritten here into this
 * host's order (nothing changes on a little-endian one). */
static void nflog_to_host(uint8_t *f, size_t n)
{
	for (size_t off = 4; n - off >= 4 && off < n;) {
		uint16_t len = (uint16_t)(f[off] | f[off + 1] << 8), type = (uint16_t)(f[off + 2] | f[off + 3] << 8);
		memcpy(f + off, &len, 2);
		memcpy(f + off + 2, &type, 2);
		if (len < 4)
			break;
		off += (len + 3u) & ~3u;
	}
}

static void check_fields(const struct lt_case *c, const struct hg_packet *p)
{
	if (c->family == 4) {
		cr_expect_eq(p->family, 4, "%s", c->name);
		cr_expect_eq(p->ip_proto, 6, "%s", c->name);
		cr_expect_eq(p->sport, 1234, "%s", c->name);
		cr_expect_eq(p->dport, 443, "%s", c->name);
		cr_expect_eq(p->tcp_seq, 100, "%s", c->name);
		cr_expect_eq(p->tcp_flags, HG_TCP_PSH | HG_TCP_ACK, "%s", c->name);
		cr_expect_eq(p->ttl, 64, "%s", c->name);
		cr_expect(hg_ip_is_v4(&p->src), "%s", c->name);
		cr_expect_eq(p->src.b[15], 1, "%s", c->name);
		cr_expect_eq(p->dst.b[15], 2, "%s", c->name);
		cr_assert_eq(p->payload_len, 5, "%s", c->name);
		cr_expect(!memcmp(p->payload, "hello", 5), "%s", c->name);
	} else {
		cr_expect_eq(p->family, 6, "%s", c->name);
		cr_expect_eq(p->ip_proto, 17, "%s", c->name);
		cr_expect_eq(p->sport, 12345, "%s", c->name);
		cr_expect_eq(p->dport, 53, "%s", c->name);
		cr_expect(!hg_ip_is_v4(&p->src), "%s", c->name);
		cr_expect_eq(p->src.b[0], 0x20, "%s", c->name);
		cr_assert_eq(p->payload_len, 5, "%s", c->name);
		cr_expect(!memcmp(p->payload, "abcde", 5), "%s", c->name);
	}
	cr_expect_eq(p->n_vlan, c->n_vlan, "%s", c->name);
	if (c->n_vlan > 0)
		cr_expect_eq(p->vlan[0], c->vlan0, "%s", c->name);
	if (c->n_vlan > 1)
		cr_expect_eq(p->vlan[1], c->vlan1, "%s", c->name);
}

Test(decode, linktypes)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(lt_cases); i++) {
		const struct lt_case *c = &lt_cases[i];
		uint8_t f[512];
		size_t n = hex(c->frame, f);
		if (c->dlt == DLT_NFLOG)
			nflog_to_host(f, n);
		struct hg_decode_stats st = {0};
		struct hg_packet p;
		bool ok = hg_decode(&st, c->dlt, 7, f, (uint32_t)n, (uint32_t)n, &p);
		if (c->family) {
			cr_assert(ok, "%s: %s", c->name, hg_decode_reason_name(p.reason));
			check_fields(c, &p);
			cr_expect_eq(st.reason[HG_DR_OK], 1);
		} else {
			cr_assert(!ok, "%s decoded", c->name);
			cr_expect_eq(p.reason, c->reason, "%s: got %s", c->name,
				     hg_decode_reason_name(p.reason));
			cr_expect_eq(st.reason[c->reason], 1, "%s", c->name);
		}
		cr_expect_eq(st.frames, 1);
		cr_expect_eq(p.ts_us, 7);
		cr_expect_eq(hg_linktype_supported(c->dlt), c->reason != HG_DR_UNSUPPORTED_LINKTYPE,
			     "%s", c->name);
	}
}

/* Every prefix of every valid frame: counted under some reason, never a
 * crash (ASan runs this); a prefix that still decodes must be whole. With
 * the wire length kept (a snaplen cut), whatever decodes is a prefix of
 * the real payload. */
Test(decode, every_truncation)
{
	uint64_t total = 0, failed = 0;
	for (size_t i = 0; i < HG_ARRAY_LEN(lt_cases); i++) {
		const struct lt_case *c = &lt_cases[i];
		if (!c->family)
			continue;
		uint8_t f[512];
		size_t n = hex(c->frame, f);
		if (c->dlt == DLT_NFLOG)
			nflog_to_host(f, n);
		for (size_t cut = 0; cut < n; cut++) {
			/* a copy of exactly cut bytes so ASan sees any overread */
			uint8_t *b = malloc(cut ? cut : 1);
			memcpy(b, f, cut);
			struct hg_decode_stats st = {0};
			struct hg_packet p;
			total++;
			if (hg_decode(&st, c->dlt, 0, b, (uint32_t)cut, (uint32_t)cut, &p)) {
				/* only the NFLOG TLV padding may go */
				cr_expect_eq(c->dlt, DLT_NFLOG, "%s cut %zu decoded", c->name, cut);
				check_fields(c, &p);
			} else {
				failed++;
				cr_expect_neq(p.reason, HG_DR_OK);
				cr_expect_eq(st.reason[p.reason], 1);
			}
			if (hg_decode(&st, c->dlt, 0, b, (uint32_t)cut, (uint32_t)n, &p) && p.payload_len) {
				const char *want = c->family == 4 ? "hello" : "abcde";
				cr_expect(p.payload_len <= 5);
				cr_expect(!memcmp(p.payload, want, p.payload_len), "%s cut %zu", c->name, cut);
			}
			free(b);
		}
	}
	cr_expect_gt(failed, total * 9 / 10);
}

/* An NFLOG record as the kernel hands it to libpcap: struct nlattr
 * headers in the host's byte order (the old reader took them as
 * little-endian, wrong on big-endian hosts). A TLV whose length reads 0x0c00
 * the other way round is skipped by its real length, 12. */
Test(decode, nflog_tlvs_in_host_byte_order)
{
	uint8_t f[256] = {2, 0, 0, 5}; /* AF_INET, NFNETLINK_V0, group 5 */
	size_t n = 4;
	struct nlattr_like {
		uint16_t len, type;
	} a = {12, 10 /* NFULA_PREFIX */};
	memcpy(f + n, &a, 4);
	memcpy(f + n + 4, "prefix\0\0", 8);
	n += 12;
	uint8_t ip[64];
	size_t ipn = hex(V4_TCP, ip);
	a = (struct nlattr_like){(uint16_t)(4 + ipn), 9 /* NFULA_PAYLOAD */};
	memcpy(f + n, &a, 4);
	memcpy(f + n + 4, ip, ipn);
	n += 4 + ipn;
	struct hg_decode_stats st = {0};
	struct hg_packet p;
	cr_assert(hg_decode(&st, DLT_NFLOG, 0, f, (uint32_t)n, (uint32_t)n, &p), "%s",
		  hg_decode_reason_name(p.reason));
	cr_expect_eq(p.family, 4);
	cr_expect_eq(p.payload_len, 5);
	cr_expect(!memcmp(p.payload, "hello", 5));
}

Test(decode, link_truncation_reason)
{
	uint8_t f[512];
	size_t n = hex(ETH " 81 00 00 64 08 00 " V4_TCP, f);
	struct hg_decode_stats st = {0};
	struct hg_packet p;
	for (size_t cut = 0; cut < 18; cut++) {
		cr_assert(!hg_decode(&st, DLT_EN10MB, 0, f, (uint32_t)cut, (uint32_t)cut, &p));
		cr_expect_eq(p.reason, HG_DR_TRUNCATED_L2, "cut %zu", cut);
	}
	cr_assert(!hg_decode(&st, DLT_EN10MB, 0, f, 18, 18, &p));
	cr_expect_eq(p.reason, HG_DR_TRUNCATED_IP);
	cr_assert(!hg_decode(&st, DLT_EN10MB, 0, f, 40, 40, &p));
	cr_expect_eq(p.reason, HG_DR_IP_LEN_TOO_BIG);
	cr_expect_eq(st.reason[HG_DR_TRUNCATED_L2], 18);
	cr_assert(hg_decode(&st, DLT_EN10MB, 0, f, (uint32_t)n, (uint32_t)n, &p));
}

struct ip_case {
	const char *name;
	const char *ip; /* raw IP datagram (DLT_RAW) */
	enum hg_decode_reason reason;
	uint8_t proto;
	uint32_t payload_len;
	uint16_t flags; /* HG_PKT_F_* expected set */
};

static const struct ip_case ip_cases[] = {
	{"v4 options", "46 00 00 31 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02 01 01 01 00"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00 50 18 ff ff 00 00 00 00 68 65 6c 6c 6f",
	 HG_DR_OK, 6, 5, HG_PKT_F_IPV4_OPTIONS},
	{"v4 trailing padding trimmed", "45 00 00 2d 12 34 40 00 40 06 00 00 0a 00 00 01 0a 00 00 02"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00 50 18 ff ff 00 00 00 00 68 65 6c 6c 6f 00 00 00 00",
	 HG_DR_OK, 6, 5},
	{"v4 tcp options", "45 00 00 35 12 34 40 00 40 06 00 00 0a 00 00 01 0a 00 00 02"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00 70 18 ff ff 00 00 00 00 02 04 05 b4 01 01 01 00"
	 " 68 65 6c 6c 6f", HG_DR_OK, 6, 5},
	{"v4 icmp echo", "45 00 00 20 00 01 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02"
	 " 08 00 00 00 00 01 00 01 61 62 63 64", HG_DR_OK, 1, 4},
	{"v4 gre", "45 00 00 18 00 01 00 00 40 2f 00 00 0a 00 00 01 0a 00 00 02 00 00 08 00",
	 HG_DR_OK, 47, 0},
	{"bad version", "55 00 00 14 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02",
	 HG_DR_BAD_IP_VERSION},
	{"ihl 4", "44 00 00 14 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02", HG_DR_BAD_IHL},
	{"ihl past end", "4f 00 00 14 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02", HG_DR_BAD_IHL},
	{"total < ihl", "45 00 00 13 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02",
	 HG_DR_IP_LEN_TOO_SMALL},
	{"total too big", "45 00 00 40 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02",
	 HG_DR_IP_LEN_TOO_BIG},
	{"tcp short", "45 00 00 20 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00", HG_DR_TRUNCATED_TCP},
	{"tcp doff 4", "45 00 00 28 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00 40 18 ff ff 00 00 00 00", HG_DR_BAD_TCP_OFFSET},
	{"tcp doff past end", "45 00 00 28 00 01 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00 60 18 ff ff 00 00 00 00", HG_DR_BAD_TCP_OFFSET},
	{"udp len 7", "45 00 00 1d 00 01 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02"
	 " 30 39 00 35 00 07 00 00 61", HG_DR_BAD_UDP_LEN},
	{"udp len past ip", "45 00 00 1d 00 01 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02"
	 " 30 39 00 35 00 10 00 00 61", HG_DR_BAD_UDP_LEN},
	{"udp len shorter trims", "45 00 00 1f 00 01 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02"
	 " 30 39 00 35 00 09 00 00 61 62 63", HG_DR_OK, 17, 1},
	{"udp short", "45 00 00 1a 00 01 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 30 39 00 35 00 07",
	 HG_DR_TRUNCATED_UDP},
	{"icmp short", "45 00 00 16 00 01 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02 08 00",
	 HG_DR_TRUNCATED_ICMP},
	{"v4 ping of death", "45 00 00 1c 00 01 1f ff 40 11 00 00 0a 00 00 01 0a 00 00 02"
	 " 00 00 00 00 00 00 00 00", HG_DR_BAD_FRAGMENT},
	{"v4 MF not 8-aligned", "45 00 00 19 00 01 20 00 40 11 00 00 0a 00 00 01 0a 00 00 02"
	 " 00 00 00 00 00", HG_DR_BAD_FRAGMENT},
	/* IPv6: hop-by-hop(8) -> routing(24) -> destination options(8) -> TCP */
	{"v6 ext chain", "60 00 00 00 00 3d 00 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 2b 00 01 04 00 00 00 00"
	 " 3c 02 00 01 00 00 00 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 03"
	 " 06 00 01 04 00 00 00 00"
	 " 04 d2 01 bb 00 00 00 64 00 00 00 00 50 18 ff ff 00 00 00 00 68",
	 HG_DR_OK, 6, 1, HG_PKT_F_IPV6_EXT},
	/* AH (payload len 4 -> 24 bytes) -> UDP */
	{"v6 ah", "60 00 00 00 00 21 33 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 11 04 00 00 00 00 01 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00"
	 " 30 39 00 35 00 09 00 00 7a", HG_DR_OK, 17, 1, HG_PKT_F_IPV6_EXT},
	{"v6 atomic fragment", "60 00 00 00 00 11 2c 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 11 00 00 00 00 00 00 07 30 39 00 35 00 09 00 00 7a", HG_DR_OK, 17, 1, HG_PKT_F_ATOMIC_FRAG},
	{"v6 no next header", "60 00 00 00 00 00 3b 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02",
	 HG_DR_OK, 59, 0},
	{"v6 ext past end", "60 00 00 00 00 08 3c 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 06 01 00 00 00 00 00 00", HG_DR_IPV6_BAD_EXT},
	{"v6 ext 1 byte", "60 00 00 00 00 01 00 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 06", HG_DR_IPV6_BAD_EXT},
	{"v6 9 dest opts", "60 00 00 00 00 48 3c 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00"
	 " 3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00"
	 " 3c 00 01 04 00 00 00 00 3c 00 01 04 00 00 00 00 3b 00 01 04 00 00 00 00",
	 HG_DR_IPV6_TOO_MANY_EXT},
	{"v6 jumbo", "60 00 00 00 00 00 00 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
	 " 3b 00 c2 04 00 01 00 00", HG_DR_IP_LEN_TOO_BIG},
	{"v6 plen too big", "60 00 00 00 00 10 3b 40"
	 " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02",
	 HG_DR_IP_LEN_TOO_BIG},
	{"v6 short", "60 00 00 00 00 00 3b 40 20 01", HG_DR_TRUNCATED_IP},
};

Test(decode, ip_table)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(ip_cases); i++) {
		const struct ip_case *c = &ip_cases[i];
		uint8_t f[512];
		size_t n = hex(c->ip, f);
		struct hg_decode_stats st = {0};
		struct hg_packet p;
		bool ok = hg_decode(&st, DLT_RAW, 0, f, (uint32_t)n, (uint32_t)n, &p);
		cr_expect_eq(p.reason, c->reason, "%s: got %s", c->name, hg_decode_reason_name(p.reason));
		cr_expect_eq(ok, c->reason == HG_DR_OK, "%s", c->name);
		if (!ok)
			continue;
		cr_expect_eq(p.ip_proto, c->proto, "%s", c->name);
		cr_expect_eq(p.payload_len, c->payload_len, "%s", c->name);
		cr_expect_eq(p.flags & c->flags, c->flags, "%s flags %#x", c->name, p.flags);
	}
}

Test(decode, reason_names)
{
	for (int r = 0; r < HG_DR__COUNT; r++) {
		const char *n = hg_decode_reason_name((enum hg_decode_reason)r);
		cr_assert(n && *n && strcmp(n, "unknown"), "reason %d", r);
	}
	cr_expect_str_eq(hg_decode_reason_name(HG_DR_BAD_TCP_OFFSET), "bad-tcp-offset");
	cr_expect_str_eq(hg_decode_reason_name(HG_DR__COUNT), "unknown");
}

/* ---- fragments ---------------------------------------------------------- */

static size_t v4_frag(uint8_t *b, uint16_t id, uint16_t off, bool mf, const uint8_t *data,
		      size_t len)
{
	static const uint8_t hdr[20] = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0,
					10, 0, 0, 1, 10, 0, 0, 2};
	memcpy(b, hdr, 20);
	size_t tot = 20 + len;
	b[2] = (uint8_t)(tot >> 8), b[3] = (uint8_t)tot;
	b[4] = (uint8_t)(id >> 8), b[5] = (uint8_t)id;
	uint16_t fo = (uint16_t)((off / 8) | (mf ? 0x2000 : 0));
	b[6] = (uint8_t)(fo >> 8), b[7] = (uint8_t)fo;
	memcpy(b + 20, data, len);
	return tot;
}

static size_t v6_frag(uint8_t *b, uint32_t id, uint16_t off, bool mf, const uint8_t *data,
		      size_t len)
{
	uint8_t f[64];
	size_t n = hex("60 00 00 00 00 00 2c 40 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"
		       " 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02", f);
	memcpy(b, f, n);
	size_t pl = 8 + len;
	b[4] = (uint8_t)(pl >> 8), b[5] = (uint8_t)pl;
	uint8_t *fh = b + 40;
	fh[0] = 17, fh[1] = 0;
	uint16_t fo = (uint16_t)(off | (mf ? 1 : 0));
	fh[2] = (uint8_t)(fo >> 8), fh[3] = (uint8_t)fo;
	fh[4] = (uint8_t)(id >> 24), fh[5] = (uint8_t)(id >> 16), fh[6] = (uint8_t)(id >> 8),
	fh[7] = (uint8_t)id;
	memcpy(b + 48, data, len);
	return 48 + len;
}

/* A UDP datagram 10.0.0.1:5000 -> :53 with 40 payload bytes 'A'+i. */
static size_t udp_body(uint8_t *u)
{
	size_t len = 48;
	u[0] = 0x13, u[1] = 0x88, u[2] = 0, u[3] = 53, u[4] = 0, u[5] = (uint8_t)len, u[6] = u[7] = 0;
	for (size_t i = 8; i < len; i++)
		u[i] = (uint8_t)('A' + i - 8);
	return len;
}

struct frag_run {
	struct hg_defrag *d;
	struct hg_decode_stats st;
	struct hg_packet out;
	int done;
};

static enum hg_defrag_result feed(struct frag_run *r, int v, uint32_t id, uint16_t off, bool mf,
				  const uint8_t *data, size_t len, uint64_t ts)
{
	uint8_t b[256];
	size_t n = v == 4 ? v4_frag(b, (uint16_t)id, off, mf, data, len)
			  : v6_frag(b, id, off, mf, data, len);
	struct hg_packet p;
	cr_assert(hg_decode(&r->st, DLT_RAW, ts, b, (uint32_t)n, (uint32_t)n, &p), "%s",
		  hg_decode_reason_name(p.reason));
	cr_assert(p.flags & HG_PKT_F_FRAGMENT);
	enum hg_defrag_result res = hg_defrag_add(r->d, &p, &r->st, &r->out);
	if (res == HG_DEFRAG_DONE)
		r->done++;
	return res;
}

static void expect_udp(const struct hg_packet *p, int family)
{
	cr_assert_eq(p->family, family);
	cr_assert_eq(p->ip_proto, 17);
	cr_expect_eq(p->sport, 5000);
	cr_expect_eq(p->dport, 53);
	cr_assert_eq(p->payload_len, 40);
	for (int i = 0; i < 40; i++)
		cr_expect_eq(p->payload[i], 'A' + i, "byte %d", i);
	cr_expect(p->flags & HG_PKT_F_REASSEMBLED);
	cr_expect(!(p->flags & HG_PKT_F_FRAGMENT));
}

Test(defrag, in_order_and_reverse_both_families)
{
	uint8_t u[64];
	cr_assert_eq(udp_body(u), 48);
	for (int v = 4; v <= 6; v += 2) {
		for (int rev = 0; rev < 2; rev++) {
			struct frag_run r = {.d = hg_defrag_new(NULL)};
			cr_assert(r.d);
			/* 3 fragments: [0,16) [16,32) [32,48) */
			int order[3] = {0, 1, 2};
			if (rev)
				order[0] = 2, order[2] = 0;
			for (int k = 0; k < 3; k++) {
				int i = order[k];
				enum hg_defrag_result res =
					feed(&r, v, 77, (uint16_t)(i * 16), i < 2, u + i * 16, 16, 1000);
				cr_expect_eq(res, k == 2 ? HG_DEFRAG_DONE : HG_DEFRAG_HELD, "v%d rev %d k %d", v, rev, k);
			}
			cr_assert_eq(r.done, 1);
			expect_udp(&r.out, v);
			cr_expect(!(r.out.flags & HG_PKT_F_FRAG_OVERLAP));
			struct hg_defrag_stats ds;
			hg_defrag_get_stats(r.d, &ds);
			cr_expect_eq(ds.reassembled, 1);
			cr_expect_eq(ds.in_flight, 0);
			cr_expect_eq(ds.bytes, 0);
			hg_defrag_free(r.d);
		}
	}
}

Test(defrag, overlap_first_wins)
{
	uint8_t u[64], evil[16];
	size_t n = udp_body(u);
	(void)n;
	memset(evil, 'X', sizeof(evil));
	for (int conflicting = 0; conflicting < 2; conflicting++) {
		struct frag_run r = {.d = hg_defrag_new(NULL)};
		cr_assert_eq(feed(&r, 4, 9, 0, true, u, 24, 0), HG_DEFRAG_HELD);
		/* overlaps [16,24) of the first and brings [24,32) */
		cr_assert_eq(feed(&r, 4, 9, 16, true, conflicting ? evil : u + 16, 16, 0), HG_DEFRAG_HELD);
		cr_assert_eq(feed(&r, 4, 9, 32, false, u + 32, 16, 0), HG_DEFRAG_DONE);
		/* first data wins: bytes [16,24) stay; [24,32) came from the
		 * second fragment only */
		cr_assert_eq(r.out.payload_len, 40);
		for (int i = 0; i < 40; i++) {
			uint8_t want = (conflicting && i >= 16 && i < 24) ? 'X' : (uint8_t)('A' + i);
			cr_expect_eq(r.out.payload[i], want, "byte %d", i);
		}
		cr_expect_eq(!!(r.out.flags & HG_PKT_F_FRAG_OVERLAP), conflicting);
		struct hg_defrag_stats ds;
		hg_defrag_get_stats(r.d, &ds);
		cr_expect_eq(ds.overlaps, 1);
		cr_expect_eq(ds.conflicts, (uint64_t)conflicting);
		hg_defrag_free(r.d);
	}
}

Test(defrag, timeout_and_caps)
{
	uint8_t u[64];
	udp_body(u);
	struct hg_defrag_config cfg = {.max_datagrams = 2, .timeout_us = 30000000};
	struct frag_run r = {.d = hg_defrag_new(&cfg)};
	cr_assert_eq(feed(&r, 4, 1, 0, true, u, 16, 1000000), HG_DEFRAG_HELD);
	/* 31 s later the first datagram is gone: its tail alone stays held */
	cr_assert_eq(feed(&r, 4, 1, 16, false, u + 16, 32, 32000000), HG_DEFRAG_HELD);
	struct hg_defrag_stats ds;
	hg_defrag_get_stats(r.d, &ds);
	cr_expect_eq(ds.timeouts, 1);
	cr_expect_eq(ds.in_flight, 1);
	/* three more datagrams with two slots: the oldest are evicted */
	feed(&r, 4, 2, 0, true, u, 16, 32000001);
	feed(&r, 4, 3, 0, true, u, 16, 32000002);
	hg_defrag_get_stats(r.d, &ds);
	cr_expect_eq(ds.evictions, 1);
	cr_expect_eq(ds.in_flight, 2);
	hg_defrag_expire(r.d, 100000000);
	hg_defrag_get_stats(r.d, &ds);
	cr_expect_eq(ds.in_flight, 0);
	cr_expect_eq(ds.bytes, 0);
	cr_expect_eq(r.done, 0);
	hg_defrag_free(r.d);

	/* byte cap: each datagram buffer costs its bitmap and data */
	struct hg_defrag_config small = {.max_bytes = 8000};
	r = (struct frag_run){.d = hg_defrag_new(&small)};
	for (uint32_t id = 0; id < 50; id++)
		feed(&r, 6, id, 0, true, u, 16, 5);
	hg_defrag_get_stats(r.d, &ds);
	cr_expect_leq(ds.bytes, 8000);
	cr_expect_gt(ds.evictions, 40);
	hg_defrag_free(r.d);
}

Test(defrag, inconsistent_ends)
{
	uint8_t u[64];
	udp_body(u);
	struct frag_run r = {.d = hg_defrag_new(NULL)};
	cr_assert_eq(feed(&r, 4, 5, 16, true, u + 16, 16, 0), HG_DEFRAG_HELD);
	/* a last fragment ending before data already held */
	cr_expect_eq(feed(&r, 4, 5, 8, false, u + 8, 8, 0), HG_DEFRAG_DROPPED);
	cr_assert_eq(feed(&r, 4, 5, 32, false, u + 32, 16, 0), HG_DEFRAG_HELD);
	/* past the known end */
	cr_expect_eq(feed(&r, 4, 5, 48, false, u, 8, 0), HG_DEFRAG_DROPPED);
	cr_assert_eq(feed(&r, 4, 5, 0, true, u, 16, 0), HG_DEFRAG_DONE);
	expect_udp(&r.out, 4);
	struct hg_defrag_stats ds;
	hg_defrag_get_stats(r.d, &ds);
	cr_expect_eq(ds.bad, 2);
	hg_defrag_free(r.d);
}

/* ---- real captures through source + decode + defrag + flow + stream ---- */

struct replay_counts {
	uint64_t frames, decoded, flows, ended, reassembled, stream_bytes;
	int files, skipped;
};

static void count_end(void *ud, struct hg_flow *f, enum hg_flow_end why)
{
	struct replay_counts *c = ud;
	(void)f, (void)why;
	c->ended++;
}

static int replay(const char *path, struct replay_counts *c)
{
	char err[512];
	struct hg_source *src = hg_source_open_file(path, err, sizeof(err));
	if (!src) {
		c->skipped++;
		return -1;
	}
	struct hg_stream_ctx *sc = hg_stream_ctx_new(NULL);
	struct hg_flow_config fc = {.max_flows = 4096, .end_cb = count_end, .ud = c, .streams = sc};
	struct hg_flow_table *ft = hg_flow_table_new(&fc);
	struct hg_defrag *df = hg_defrag_new(NULL);
	struct hg_decode_stats st = {0};
	struct hg_frame fr;
	enum hg_source_result rc;
	while ((rc = hg_source_next(src, &fr)) == HG_SOURCE_FRAME) {
		struct hg_packet pk, re, *p = &pk;
		c->frames++;
		if (!hg_decode(&st, fr.linktype, fr.ts_us, fr.data, fr.caplen, fr.wirelen, &pk))
			continue;
		if (pk.flags & HG_PKT_F_FRAGMENT) {
			if (hg_defrag_add(df, &pk, &st, &re) != HG_DEFRAG_DONE)
				continue;
			c->reassembled++;
			p = &re;
		}
		enum hg_dir dir;
		bool created;
		struct hg_flow *f = hg_flow_packet(ft, p, &dir, &created);
		cr_assert(f);
		if (p->ip_proto == 6)
			hg_stream_packet(sc, &f->stream[dir], p);
	}
	c->files++;
	c->decoded += st.decoded;
	struct hg_flow_stats fs;
	hg_flow_get_stats(ft, &fs);
	c->flows += fs.created;
	hg_flow_table_flush(ft);
	struct hg_stream_stats ss;
	hg_stream_get_stats(sc, &ss);
	c->stream_bytes += ss.bytes;
	cr_expect_eq(ss.buffers, 0, "%s: stream buffers left", path);
	hg_flow_table_free(ft);
	hg_stream_ctx_free(sc);
	hg_defrag_free(df);
	hg_source_close(src);
	return rc == HG_SOURCE_ERROR ? -2 : 0;
}

Test(source, small_pcap)
{
	const char *root = getenv("HG_SRCDIR");
	cr_assert(root, "HG_SRCDIR not set");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/decode-mini.pcap", root);
	char err[512];
	struct hg_source *src = hg_source_open_file(path, err, sizeof(err));
	cr_assert(src, "%s", err);
	cr_expect_eq(hg_source_linktype(src), DLT_EN10MB);
	struct hg_decode_stats st = {0};
	struct hg_frame fr;
	uint64_t first_ts = 0;
	int n = 0;
	while (hg_source_next(src, &fr) == HG_SOURCE_FRAME) {
		struct hg_packet p;
		if (!n)
			first_ts = fr.ts_us;
		hg_decode(&st, fr.linktype, fr.ts_us, fr.data, fr.caplen, fr.wirelen, &p);
		n++;
	}
	hg_source_close(src);
	/* see tests/data/make_decode_pcap.py: 12 frames; an ARP; 2 fragments */
	cr_expect_eq(n, 12);
	cr_expect_eq(first_ts, 1700000000123456ull);
	cr_expect_eq(st.reason[HG_DR_UNSUPPORTED_L3], 1);
	cr_expect_eq(st.fragments, 2);
	cr_expect_eq(st.tcp, 7);
	cr_expect_eq(st.ipv6, 2);

	struct replay_counts c = {0};
	cr_assert_eq(replay(path, &c), 0);
	/* TCP flow, IPv6 UDP flow, the reassembled UDP datagram's flow */
	cr_expect_eq(c.flows, 3);
	cr_expect_eq(c.ended, 3);
	cr_expect_eq(c.reassembled, 1);
	cr_expect_eq(c.stream_bytes, strlen("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n") + 5);
}

Test(source, errors)
{
	char err[512];
	cr_expect_null(hg_source_open_file("/nonexistent/x.pcap", err, sizeof(err)));
	cr_expect(strstr(err, "/nonexistent/x.pcap"), "%s", err);
	/* a pcap of an unsupported link type (802.11 radiotap, 127) */
	char path[] = "/tmp/hg-test-decode-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	static const uint8_t ghdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
					 0, 0, 0, 0, 0xff, 0xff, 0, 0, 127, 0, 0, 0};
	cr_assert_eq(write(fd, ghdr, sizeof(ghdr)), (ssize_t)sizeof(ghdr));
	close(fd);
	cr_expect_null(hg_source_open_file(path, err, sizeof(err)));
	cr_expect(strstr(err, "unsupported link type 127"), "%s", err);
	unlink(path);
}

/* Every capture of the shared corpus (when present): no crash, counts. */
static void walk(const char *dir, struct replay_counts *c, int depth)
{
	DIR *d = opendir(dir);
	if (!d || depth > 4) {
		if (d)
			closedir(d);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		struct stat sb;
		if (stat(p, &sb))
			continue;
		if (S_ISDIR(sb.st_mode)) {
			walk(p, c, depth + 1);
			continue;
		}
		size_t l = strlen(e->d_name);
		if ((l > 5 && !strcmp(e->d_name + l - 5, ".pcap")) ||
		    (l > 7 && !strcmp(e->d_name + l - 7, ".pcapng")) ||
		    (l > 4 && !strcmp(e->d_name + l - 4, ".cap")))
			replay(p, c);
	}
	closedir(d);
}

Test(source, corpus, .timeout = 600)
{
	const char *shared = getenv("HG_SHARED");
	char dir[1024];
	struct stat sb;
	if (!shared || snprintf(dir, sizeof(dir), "%s/corpus/pcaps", shared) <= 0 ||
	    stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
		cr_skip_test("no corpus at $HG_SHARED/corpus/pcaps");
	}
	struct replay_counts c = {0};
	walk(dir, &c, 0);
	fprintf(stderr,
		"corpus: %d files read, %d refused (link type/format), %llu frames, %llu decoded, "
		"%llu flows, %llu reassembled, %llu stream bytes\n",
		c.files, c.skipped, (unsigned long long)c.frames, (unsigned long long)c.decoded,
		(unsigned long long)c.flows, (unsigned long long)c.reassembled,
		(unsigned long long)c.stream_bytes);
	cr_expect_gt(c.files, 0);
	cr_expect_eq(c.flows, c.ended);
}

/* NFLOG's NFULA_PREFIX (the logging rule's `log prefix`): the live daemon
 * tells a copied server ACK (table.h HG_NFLOG_PREFIX_ACK) from a held packet
 * by it. A prefix without its NUL is no prefix. */
Test(decode, nflog_prefix)
{
	const char *const frames[] = {
		"02 00 00 05 08 00 01 00 08 00 03 00 08 00 0a 00 61 62 63 00 31 00 09 00 " V4_TCP " 00 00 00",
		/* length 7: "abc" without its NUL (the 00 is padding) */
		"02 00 00 05 07 00 0a 00 61 62 63 00 31 00 09 00 " V4_TCP " 00 00 00",
		"0a 00 00 05 39 00 09 00 " V6_UDP " 00 00 00",
	};
	const char *const want[] = {"abc", NULL, NULL};
	for (size_t i = 0; i < HG_ARRAY_LEN(frames); i++) {
		uint8_t f[512];
		size_t n = hex(frames[i], f);
		nflog_to_host(f, n);
		struct hg_decode_stats st = {0};
		struct hg_packet p;
		cr_assert(hg_decode(&st, DLT_NFLOG, 0, f, (uint32_t)n, (uint32_t)n, &p), "frame %zu", i);
		if (want[i])
			cr_expect(p.nflog_prefix && !strcmp(p.nflog_prefix, want[i]), "frame %zu", i);
		else
			cr_expect_null(p.nflog_prefix, "frame %zu", i);
	}
}
