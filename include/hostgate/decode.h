/* decode.h - the packet decoder (link layer, VLAN, IPv4/IPv6 with extension
 * headers, TCP/UDP/ICMP) and IP fragment reassembly.
 *
 * hg_decode() turns one captured frame into a struct hg_packet whose
 * pointers borrow the frame's bytes. A malformed frame is counted under a
 * reason (struct hg_decode_stats) and skipped, never fatal. Fragments are
 * decoded up to L3 and flagged HG_PKT_F_FRAGMENT: hand them to
 * hg_defrag_add(), which returns each completed datagram decoded like any
 * other packet. Neither allocates per packet; defrag memory is capped. */
#ifndef HOSTGATE_DECODE_H
#define HOSTGATE_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "hostgate/ipset.h"

/* Why a frame was not decoded. HG_DR_OK is not an error, and neither is
 * HG_DR_UNSUPPORTED_L3 (ARP, LLDP, ...: counted and skipped). */
enum hg_decode_reason {
	HG_DR_OK,
	HG_DR_UNSUPPORTED_L3,      /* not IPv4/IPv6 (ARP, STP, 802.3 length, ...) */
	HG_DR_UNSUPPORTED_LINKTYPE,
	HG_DR_TRUNCATED_L2,        /* frame shorter than its link header / tags */
	HG_DR_BAD_L2,              /* link header contents invalid (NFLOG TLV, ...) */
	HG_DR_TOO_MANY_VLANS,
	HG_DR_TRUNCATED_IP,        /* shorter than the fixed IP header */
	HG_DR_BAD_IP_VERSION,      /* version nibble not 4/6 (or not the link's) */
	HG_DR_BAD_IHL,             /* IPv4 IHL < 5 or header beyond the bytes */
	HG_DR_IP_LEN_TOO_SMALL,    /* IPv4 total length < header length */
	HG_DR_IP_LEN_TOO_BIG,      /* IP length claims more bytes than the frame has */
	HG_DR_IPV6_BAD_EXT,        /* extension header truncated or beyond the packet */
	HG_DR_IPV6_TOO_MANY_EXT,
	HG_DR_BAD_FRAGMENT,        /* offset+len > 65535, non-final not 8-aligned, ... */
	HG_DR_TRUNCATED_TCP,
	HG_DR_BAD_TCP_OFFSET,      /* data offset < 5 or beyond the segment */
	HG_DR_TRUNCATED_UDP,
	HG_DR_BAD_UDP_LEN,         /* UDP length < 8 or beyond the datagram */
	HG_DR_TRUNCATED_ICMP,
	HG_DR__COUNT
};

/* "ok", "unsupported-l3", "truncated-l2", "bad-ip-version", ... */
const char *hg_decode_reason_name(enum hg_decode_reason r);

enum {
	HG_PKT_F_FRAGMENT = 1u << 0,     /* an IP fragment: L4 not decoded, see frag */
	HG_PKT_F_REASSEMBLED = 1u << 1,  /* rebuilt from fragments by hg_defrag_add */
	HG_PKT_F_FRAG_OVERLAP = 1u << 2, /* reassembled with overlapping fragments whose
					    bytes differed (evasion; first data won) */
	HG_PKT_F_SNAPPED = 1u << 3,      /* capture shorter than the datagram: the
					    payload is cut (snaplen, NFLOG copy range) */
	HG_PKT_F_IPV4_OPTIONS = 1u << 4,
	HG_PKT_F_IPV6_EXT = 1u << 5,     /* extension headers were walked */
	HG_PKT_F_ATOMIC_FRAG = 1u << 6,  /* IPv6 fragment header with offset 0, M 0 */
};

#define HG_DECODE_MAX_VLANS 4
#define HG_DECODE_MAX_IPV6_EXT 8

/* One decoded packet. Pointers borrow the frame (or the defrag context's
 * output buffer for reassembled packets). */
struct hg_packet {
	uint64_t ts_us;          /* capture time, microseconds since the epoch */
	uint32_t wire_len;       /* frame length on the wire (flow byte counts) */
	uint16_t flags;          /* HG_PKT_F_* */
	uint8_t family;          /* 4 or 6 */
	uint8_t ip_proto;        /* L4 protocol after extension headers */
	uint8_t ttl;             /* TTL / hop limit */
	uint8_t n_vlan;
	uint16_t vlan[HG_DECODE_MAX_VLANS]; /* VLAN ids, outermost first */
	struct hg_ip src, dst;   /* IPv4 mapped ::ffff:a.b.c.d */
	uint32_t mark;           /* NFLOG: the packet's mark (NFULA_MARK), else 0; the
				    live table puts the conntrack id there */
	const char *nflog_prefix; /* NFLOG: the logging rule's prefix (borrowed,
				     NUL-terminated), else NULL */

	/* L3: the datagram, trimmed to its IP length (or to the capture). */
	const uint8_t *l3;
	uint32_t l3_len;
	uint32_t l3_hlen;        /* IPv4 header incl. options; IPv6 40 + ext headers */

	/* L4 (not for fragments). */
	const uint8_t *l4;
	uint32_t l4_len;
	uint16_t sport, dport;   /* TCP/UDP; 0 otherwise */
	uint8_t tcp_flags;       /* HG_TCP_* as on the wire */
	uint16_t tcp_window;
	uint32_t tcp_seq, tcp_ack;
	uint8_t icmp_type, icmp_code; /* ICMP and ICMPv6 */
	const uint8_t *payload;  /* TCP/UDP payload (ICMP: after the 8-byte header) */
	uint32_t payload_len;

	/* Fragment (HG_PKT_F_FRAGMENT). */
	struct {
		uint32_t id;           /* IPv4 16-bit id, IPv6 32-bit */
		uint16_t offset;       /* bytes */
		bool more;             /* MF / M */
		uint8_t next;          /* IPv4: protocol; IPv6: fragment header's next */
		uint16_t unfrag_len;   /* IPv6: bytes before the fragment header */
		const uint8_t *data;   /* the fragment's bytes */
		uint32_t len;
	} frag;

	enum hg_decode_reason reason; /* set when hg_decode() returns false */
};

/* Counters; zero-initialise. Not thread-safe: one per decoding thread. */
struct hg_decode_stats {
	uint64_t frames;         /* frames handed to hg_decode */
	uint64_t decoded;        /* returned true (fragments included) */
	uint64_t ipv4, ipv6, tcp, udp, icmp, other_l4;
	uint64_t fragments;      /* frames that were fragments */
	uint64_t snapped;
	uint64_t reason[HG_DR__COUNT]; /* by reason; reason[HG_DR_OK] == decoded */
};

/* True for the link types hg_decode() reads (pcap_datalink() values):
 * DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW (12 or 14 by
 * platform, and LINKTYPE_RAW 101), DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP,
 * DLT_NFLOG. */
bool hg_linktype_supported(int dlt);

/* Decodes one frame. caplen bytes are present, wirelen were on the wire.
 * Returns true with p filled, or false with p->reason set; either way st
 * counts it. */
bool hg_decode(struct hg_decode_stats *st, int dlt, uint64_t ts_us, const uint8_t *frame,
	       uint32_t caplen, uint32_t wirelen, struct hg_packet *p);

/* Decodes an IP datagram (IPv4 or IPv6 by its version nibble) into p
 * (whose ts_us/wire_len/vlan the caller has set). snapped: the bytes may
 * stop short of the IP length (capture cut). Counts into st except
 * st->frames. Used by hg_decode and by defrag for reassembled datagrams. */
bool hg_decode_ip(struct hg_decode_stats *st, const uint8_t *ip, uint32_t len, bool snapped,
		  struct hg_packet *p);

/* ---- IP fragment reassembly (runtime/defrag.c) ------------------------- */

struct hg_defrag_config {
	uint32_t max_datagrams;  /* in flight; default 4096 */
	uint64_t max_bytes;      /* buffer bytes across datagrams; default 16 MiB */
	uint32_t timeout_us;     /* since the first fragment, packet time; default 30 s */
};

struct hg_defrag_stats {
	uint64_t fragments;      /* fragments accepted */
	uint64_t reassembled;    /* datagrams completed */
	uint64_t timeouts;       /* datagrams dropped incomplete after the timeout */
	uint64_t evictions;      /* datagrams dropped for room (count or bytes cap) */
	uint64_t overlaps;       /* fragments overlapping earlier data */
	uint64_t conflicts;      /* ... whose bytes differed (evasion) */
	uint64_t bad;            /* inconsistent fragments dropped (past the end, ...) */
	uint64_t nomem;          /* fragments dropped: no buffer under the caps */
	uint64_t in_flight;      /* datagrams now */
	uint64_t bytes;          /* buffer bytes now */
};

struct hg_defrag;

/* cfg may be NULL (defaults); zero fields take defaults. NULL on OOM. */
struct hg_defrag *hg_defrag_new(const struct hg_defrag_config *cfg);
void hg_defrag_free(struct hg_defrag *d);

enum hg_defrag_result {
	HG_DEFRAG_HELD,    /* kept; the datagram is not complete yet */
	HG_DEFRAG_DONE,    /* out holds the whole datagram, decoded */
	HG_DEFRAG_DROPPED, /* shed (bad, caps, or the datagram failed to decode) */
};

/* Feeds a fragment (a packet hg_decode flagged HG_PKT_F_FRAGMENT). On DONE,
 * out's pointers refer to d's output buffer, valid until the next call on
 * d. Overlapping bytes keep the first data received; a conflict sets
 * HG_PKT_F_FRAG_OVERLAP on out. Expires datagrams older than the timeout
 * (relative to frag->ts_us) first. */
enum hg_defrag_result hg_defrag_add(struct hg_defrag *d, const struct hg_packet *frag,
				    struct hg_decode_stats *st, struct hg_packet *out);

/* Drops incomplete datagrams whose timeout passed at now_us. */
void hg_defrag_expire(struct hg_defrag *d, uint64_t now_us);
void hg_defrag_get_stats(const struct hg_defrag *d, struct hg_defrag_stats *out);

#endif
