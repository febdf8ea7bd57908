/* decode.c - one captured frame to a struct hg_packet: link layers, VLAN
 * tags, IPv4 (options skipped), IPv6 extension chains, TCP/UDP/ICMP.
 * Every length is a claim checked against what the frame holds (STYLE.md 7). */
#include "hostgate/decode.h"

#include <string.h>

#include <pcap/dlt.h>

/* LINKTYPE_RAW as written in files; libpcap maps it to DLT_RAW, but a
 * caller passing link-layer header type numbers should work too. */
#define HG_LINKTYPE_RAW 101

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_8021Q 0x8100
#define ETH_8021AD 0x88a8
#define ETH_QINQ_OLD 0x9100

#define NFULA_MARK 2
#define NFULA_PAYLOAD 9
#define NFULA_PREFIX 10

static const char *const reason_names[HG_DR__COUNT] = {
	[HG_DR_OK] = "ok",
	[HG_DR_UNSUPPORTED_L3] = "unsupported-l3",
	[HG_DR_UNSUPPORTED_LINKTYPE] = "unsupported-linktype",
	[HG_DR_TRUNCATED_L2] = "truncated-l2",
	[HG_DR_BAD_L2] = "bad-l2",
	[HG_DR_TOO_MANY_VLANS] = "too-many-vlans",
	[HG_DR_TRUNCATED_IP] = "truncated-ip",
	[HG_DR_BAD_IP_VERSION] = "bad-ip-version",
	[HG_DR_BAD_IHL] = "bad-ihl",
	[HG_DR_IP_LEN_TOO_SMALL] = "ip-len-too-small",
	[HG_DR_IP_LEN_TOO_BIG] = "ip-len-too-big",
	[HG_DR_IPV6_BAD_EXT] = "ipv6-bad-ext",
	[HG_DR_IPV6_TOO_MANY_EXT] = "ipv6-too-many-ext",
	[HG_DR_BAD_FRAGMENT] = "bad-fragment",
	[HG_DR_TRUNCATED_TCP] = "truncated-tcp",
	[HG_DR_BAD_TCP_OFFSET] = "bad-tcp-offset",
	[HG_DR_TRUNCATED_UDP] = "truncated-udp",
	[HG_DR_BAD_UDP_LEN] = "bad-udp-len",
	[HG_DR_TRUNCATED_ICMP] = "truncated-icmp",
};

const char *hg_decode_reason_name(enum hg_decode_reason r)
{
	if ((unsigned)r >= HG_DR__COUNT)
		return "unknown";
	return reason_names[r];
}

/* Integers are read with shifts from bytes the caller has bounds-checked. */
static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
/* A netlink attribute's length or type: the host's own byte order. */
static inline uint16_t rd16host(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool fail(struct hg_packet *p, enum hg_decode_reason r)
{
	p->reason = r;
	return false;
}

bool hg_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case HG_LINKTYPE_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_NFLOG:
		return true;
	default:
		return false;
	}
}

/* ---- L4 ---------------------------------------------------------------- */

/* TCP header (RFC 9293 §3.1): ports, seq, ack, data offset (4 bits, in
 * 32-bit words, >= 5), flags, window, checksum, urgent, options. */
static bool decode_tcp(struct hg_decode_stats *st, struct hg_packet *p, bool snapped)
{
	const uint8_t *h = p->l4;
	uint32_t n = p->l4_len;

	if (n < 20)
		return fail(p, HG_DR_TRUNCATED_TCP);
	uint32_t off = (uint32_t)(h[12] >> 4) * 4;
	if (off < 20 || off > n)
		return fail(p, HG_DR_BAD_TCP_OFFSET);
	p->sport = rd16(h);
	p->dport = rd16(h + 2);
	p->tcp_seq = rd32(h + 4);
	p->tcp_ack = rd32(h + 8);
	p->tcp_flags = h[13];
	p->tcp_window = rd16(h + 14);
	p->payload = h + off;
	p->payload_len = n - off;
	st->tcp++;
	(void)snapped;
	return true;
}

/* UDP header (RFC 768): ports, length (header + data, >= 8), checksum. */
static bool decode_udp(struct hg_decode_stats *st, struct hg_packet *p, bool snapped)
{
	const uint8_t *h = p->l4;
	uint32_t n = p->l4_len;

	if (n < 8)
		return fail(p, HG_DR_TRUNCATED_UDP);
	uint32_t ulen = rd16(h + 4);
	if (ulen < 8)
		return fail(p, HG_DR_BAD_UDP_LEN);
	if (ulen > n) {
		if (!snapped)
			return fail(p, HG_DR_BAD_UDP_LEN);
		ulen = n; /* the capture cut it: keep what is there */
	}
	p->sport = rd16(h);
	p->dport = rd16(h + 2);
	p->payload = h + 8;
	p->payload_len = ulen - 8;
	st->udp++;
	return true;
}

static bool decode_l4(struct hg_decode_stats *st, struct hg_packet *p, bool snapped)
{
	switch (p->ip_proto) {
	case 6:
		return decode_tcp(st, p, snapped);
	case 17:
		return decode_udp(st, p, snapped);
	case 1:
	case 58:
		/* ICMP (RFC 792) / ICMPv6 (RFC 4443): type, code, checksum, then
		 * 4 bytes of type-specific data. */
		if (p->l4_len < 4)
			return fail(p, HG_DR_TRUNCATED_ICMP);
		p->icmp_type = p->l4[0];
		p->icmp_code = p->l4[1];
		if (p->l4_len >= 8) {
			p->payload = p->l4 + 8;
			p->payload_len = p->l4_len - 8;
		}
		st->icmp++;
		return true;
	default:
		st->other_l4++;
		return true;
	}
}

/* ---- L3 ---------------------------------------------------------------- */

/* IPv4 header (RFC 791 §3.1): version/IHL, TOS, total length, id,
 * flags/fragment offset, TTL, protocol, checksum (not verified: the kernel
 * already did, and a capture may hold offloaded packets), src, dst, options. */
static bool decode_ipv4(struct hg_decode_stats *st, const uint8_t *ip, uint32_t len,
			bool snapped, struct hg_packet *p)
{
	if (len < 20)
		return fail(p, HG_DR_TRUNCATED_IP);
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return fail(p, HG_DR_BAD_IHL);
	uint32_t tot = rd16(ip + 2);
	if (tot < ihl)
		return fail(p, HG_DR_IP_LEN_TOO_SMALL);
	if (tot > len) {
		if (!snapped)
			return fail(p, HG_DR_IP_LEN_TOO_BIG);
		p->flags |= HG_PKT_F_SNAPPED;
		st->snapped++;
		tot = len;
	}
	/* tot < len: Ethernet padding (or trailer) after the datagram, trimmed. */
	p->family = 4;
	p->ttl = ip[8];
	p->ip_proto = ip[9];
	hg_ip_from_v4(&p->src, ip + 12);
	hg_ip_from_v4(&p->dst, ip + 16);
	p->l3 = ip;
	p->l3_len = tot;
	p->l3_hlen = ihl;
	if (ihl > 20)
		p->flags |= HG_PKT_F_IPV4_OPTIONS;
	st->ipv4++;

	uint16_t fo = rd16(ip + 6);
	uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
	bool mf = fo & 0x2000;
	if (off || mf) {
		uint32_t flen = tot - ihl;
		/* A datagram is at most 65535 bytes (RFC 791): more is the
		 * "ping of death". Non-final fragments carry 8-byte multiples. */
		if (off + flen + ihl > 65535 || (mf && (flen % 8 || flen == 0)))
			return fail(p, HG_DR_BAD_FRAGMENT);
		p->flags |= HG_PKT_F_FRAGMENT;
		p->frag.id = rd16(ip + 4);
		p->frag.offset = (uint16_t)off;
		p->frag.more = mf;
		p->frag.next = p->ip_proto;
		p->frag.data = ip + ihl;
		p->frag.len = flen;
		st->fragments++;
		return true;
	}
	p->l4 = ip + ihl;
	p->l4_len = tot - ihl;
	return decode_l4(st, p, p->flags & HG_PKT_F_SNAPPED);
}

/* IPv6 header (RFC 8200 §3): version/class/label, payload length, next
 * header, hop limit, src, dst; then the extension header chain (§4). */
static bool decode_ipv6(struct hg_decode_stats *st, const uint8_t *ip, uint32_t len,
			bool snapped, struct hg_packet *p)
{
	if (len < 40)
		return fail(p, HG_DR_TRUNCATED_IP);
	uint32_t plen = rd16(ip + 4);
	/* A payload length of 0 with data means a jumbogram (RFC 2675),
	 * which no link we read can carry: treated as a bad length. */
	if (plen == 0 && ip[6] != 59 && len > 40)
		return fail(p, HG_DR_IP_LEN_TOO_BIG);
	uint32_t tot = 40 + plen;
	if (tot > len) {
		if (!snapped)
			return fail(p, HG_DR_IP_LEN_TOO_BIG);
		p->flags |= HG_PKT_F_SNAPPED;
		st->snapped++;
		tot = len;
	}
	p->family = 6;
	p->ttl = ip[7];
	memcpy(p->src.b, ip + 8, 16);
	memcpy(p->dst.b, ip + 24, 16);
	p->l3 = ip;
	p->l3_len = tot;
	st->ipv6++;

	uint8_t nh = ip[6];
	uint32_t off = 40;
	for (unsigned n_ext = 0;; n_ext++) {
		uint32_t hl;
		switch (nh) {
		case 0:   /* hop-by-hop options */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
			/* next header, length in 8-octet units not counting the first */
			if (tot - off < 2)
				return fail(p, HG_DR_IPV6_BAD_EXT);
			hl = ((uint32_t)ip[off + 1] + 1) * 8;
			break;
		case 51: /* AH (RFC 4302 §2.2): length in 4-octet units minus 2 */
			if (tot - off < 2)
				return fail(p, HG_DR_IPV6_BAD_EXT);
			hl = ((uint32_t)ip[off + 1] + 2) * 4;
			break;
		case 44: /* fragment (RFC 8200 §4.5): 8 bytes */
			hl = 8;
			break;
		default:
			goto l4;
		}
		if (n_ext >= HG_DECODE_MAX_IPV6_EXT)
			return fail(p, HG_DR_IPV6_TOO_MANY_EXT);
		if (hl > tot - off)
			return fail(p, HG_DR_IPV6_BAD_EXT);
		p->flags |= HG_PKT_F_IPV6_EXT;
		if (nh == 44) {
			const uint8_t *fh = ip + off;
			uint16_t fo = rd16(fh + 2);
			uint32_t foff = fo & 0xfff8u;
			bool m = fo & 1;
			if (foff == 0 && !m) {
				/* Atomic fragment (RFC 6946): a whole datagram. */
				p->flags |= HG_PKT_F_ATOMIC_FRAG;
				nh = fh[0];
				off += hl;
				continue;
			}
			uint32_t flen = tot - off - 8;
			if (foff + flen > 65535 || (m && (flen % 8 || flen == 0)))
				return fail(p, HG_DR_BAD_FRAGMENT);
			p->flags |= HG_PKT_F_FRAGMENT;
			p->ip_proto = 44;
			p->l3_hlen = off + 8;
			p->frag.id = rd32(fh + 4);
			p->frag.offset = (uint16_t)foff;
			p->frag.more = m;
			p->frag.next = fh[0];
			p->frag.unfrag_len = (uint16_t)off;
			p->frag.data = fh + 8;
			p->frag.len = flen;
			st->fragments++;
			return true;
		}
		nh = ip[off];
		off += hl;
	}
l4:
	p->ip_proto = nh;
	p->l3_hlen = off;
	if (nh == 59) { /* no next header */
		p->l4 = ip + off;
		p->l4_len = 0;
		st->other_l4++;
		return true;
	}
	p->l4 = ip + off;
	p->l4_len = tot - off;
	return decode_l4(st, p, p->flags & HG_PKT_F_SNAPPED);
}

static bool ip_dispatch(struct hg_decode_stats *st, const uint8_t *ip, uint32_t len,
			bool snapped, struct hg_packet *p)
{
	if (len < 1)
		return fail(p, HG_DR_TRUNCATED_IP);
	switch (ip[0] >> 4) {
	case 4:
		return decode_ipv4(st, ip, len, snapped, p);
	case 6:
		return decode_ipv6(st, ip, len, snapped, p);
	default:
		return fail(p, HG_DR_BAD_IP_VERSION);
	}
}

static bool count(struct hg_decode_stats *st, struct hg_packet *p, bool ok)
{
	if (ok) {
		p->reason = HG_DR_OK;
		st->decoded++;
	}
	st->reason[p->reason]++;
	return ok;
}

bool hg_decode_ip(struct hg_decode_stats *st, const uint8_t *ip, uint32_t len, bool snapped,
		  struct hg_packet *p)
{
	return count(st, p, ip_dispatch(st, ip, len, snapped, p));
}

/* An ethertype after the link header: VLAN tags (802.1Q 0x8100, 802.1ad
 * 0x88a8, the pre-standard QinQ 0x9100: 2 bytes TCI, 2 bytes inner type),
 * then IPv4 or IPv6. The ethertype must agree with the IP version. */
static bool decode_ethertype(struct hg_decode_stats *st, uint16_t et, const uint8_t *b,
			     uint32_t n, bool snapped, struct hg_packet *p)
{
	while (et == ETH_8021Q || et == ETH_8021AD || et == ETH_QINQ_OLD) {
		if (p->n_vlan >= HG_DECODE_MAX_VLANS)
			return fail(p, HG_DR_TOO_MANY_VLANS);
		if (n < 4)
			return fail(p, HG_DR_TRUNCATED_L2);
		p->vlan[p->n_vlan++] = rd16(b) & 0x0fff;
		et = rd16(b + 2);
		b += 4;
		n -= 4;
	}
	if (et == ETH_IPV4 || et == ETH_IPV6) {
		if (n >= 1 && (b[0] >> 4) != (et == ETH_IPV4 ? 4 : 6))
			return fail(p, HG_DR_BAD_IP_VERSION);
		return ip_dispatch(st, b, n, snapped, p);
	}
	return fail(p, HG_DR_UNSUPPORTED_L3);
}

/* DLT_NULL / DLT_LOOP: a 4-byte address family, in the capturing host's
 * order (NULL) or network order (LOOP); either is accepted, since files
 * travel between hosts. AF_INET is 2 everywhere; AF_INET6 is 10 (Linux),
 * 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
static bool decode_null(struct hg_decode_stats *st, const uint8_t *b, uint32_t n,
			bool snapped, struct hg_packet *p)
{
	if (n < 4)
		return fail(p, HG_DR_TRUNCATED_L2);
	uint32_t af = rd32(b);
	if (af & 0xffff0000u)
		af = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
	switch (af) {
	case 2:
		if (n >= 5 && (b[4] >> 4) != 4)
			return fail(p, HG_DR_BAD_IP_VERSION);
		break;
	case 10: case 24: case 28: case 30:
		if (n >= 5 && (b[4] >> 4) != 6)
			return fail(p, HG_DR_BAD_IP_VERSION);
		break;
	default:
		return fail(p, HG_DR_UNSUPPORTED_L3);
	}
	return ip_dispatch(st, b + 4, n - 4, snapped, p);
}

/* DLT_NFLOG: nfgenmsg (family, version, resource id: 4 bytes), then TLVs,
 * the netlink attributes of the NFULNL message: length (16 bits, includes
 * the 4-byte TLV header) and type (16 bits) in the host's byte order
 * (LINKTYPE_NFLOG; libpcap swaps them when it reads a file written on a
 * host of the other order), value, padded to 4 bytes. NFULA_PAYLOAD carries the IP packet. The copy
 * range may cut the packet, so an IP length beyond the payload is a cut,
 * not an error. */
static bool decode_nflog(struct hg_decode_stats *st, const uint8_t *b, uint32_t n,
			 struct hg_packet *p)
{
	if (n < 4)
		return fail(p, HG_DR_TRUNCATED_L2);
	if (b[1] != 0) /* version: NFNETLINK_V0 */
		return fail(p, HG_DR_BAD_L2);
	uint32_t off = 4, mark = 0;
	const char *prefix = NULL;
	while (n - off >= 4) {
		uint32_t tl = rd16host(b + off);
		uint32_t type = rd16host(b + off + 2) & 0x3fff; /* minus NLA_F_* bits */
		if (tl < 4 || tl > n - off)
			return fail(p, HG_DR_BAD_L2);
		if (type == NFULA_PAYLOAD) {
			bool ok = ip_dispatch(st, b + off + 4, tl - 4, true, p);
			p->mark = mark;
			p->nflog_prefix = prefix;
			return ok;
		}
		if (type == NFULA_MARK && tl >= 8)
			mark = rd32(b + off + 4); /* the value is big-endian (nla_put_be32) */
		/* The rule's log prefix, a string with its NUL (ignored without). */
		if (type == NFULA_PREFIX && tl > 4 && memchr(b + off + 4, 0, tl - 4))
			prefix = (const char *)b + off + 4;
		uint32_t padded = (tl + 3) & ~3u;
		if (padded > n - off)
			break;
		off += padded;
	}
	/* No payload TLV: a log message without packet bytes. */
	return fail(p, HG_DR_TRUNCATED_L2);
}

static bool decode_link(struct hg_decode_stats *st, int dlt, const uint8_t *b, uint32_t n,
			bool snapped, struct hg_packet *p)
{
	switch (dlt) {
	case DLT_EN10MB:
		/* dst(6) src(6) ethertype(2) */
		if (n < 14)
			return fail(p, HG_DR_TRUNCATED_L2);
		return decode_ethertype(st, rd16(b + 12), b + 14, n - 14, snapped, p);
	case DLT_LINUX_SLL:
		/* packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2) */
		if (n < 16)
			return fail(p, HG_DR_TRUNCATED_L2);
		return decode_ethertype(st, rd16(b + 14), b + 16, n - 16, snapped, p);
	case DLT_LINUX_SLL2:
		/* protocol(2) reserved(2) ifindex(4) ARPHRD(2) pkt type(1)
		 * addr len(1) addr(8) */
		if (n < 20)
			return fail(p, HG_DR_TRUNCATED_L2);
		return decode_ethertype(st, rd16(b), b + 20, n - 20, snapped, p);
	case DLT_RAW:
	case HG_LINKTYPE_RAW:
		return ip_dispatch(st, b, n, snapped, p);
	case DLT_IPV4:
		if (n >= 1 && (b[0] >> 4) != 4)
			return fail(p, HG_DR_BAD_IP_VERSION);
		return ip_dispatch(st, b, n, snapped, p);
	case DLT_IPV6:
		if (n >= 1 && (b[0] >> 4) != 6)
			return fail(p, HG_DR_BAD_IP_VERSION);
		return ip_dispatch(st, b, n, snapped, p);
	case DLT_NULL:
	case DLT_LOOP:
		return decode_null(st, b, n, snapped, p);
	case DLT_NFLOG:
		return decode_nflog(st, b, n, p);
	default:
		return fail(p, HG_DR_UNSUPPORTED_LINKTYPE);
	}
}

bool hg_decode(struct hg_decode_stats *st, int dlt, uint64_t ts_us, const uint8_t *frame,
	       uint32_t caplen, uint32_t wirelen, struct hg_packet *p)
{
	memset(p, 0, sizeof(*p));
	p->ts_us = ts_us;
	p->wire_len = wirelen > caplen ? wirelen : caplen;
	st->frames++;
	bool ok = decode_link(st, dlt, frame, caplen, caplen < wirelen, p);
	return count(st, p, ok);
}
