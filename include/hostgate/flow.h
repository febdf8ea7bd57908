/* flow.h - the flow table: bidirectional flows keyed by (addresses, ports,
 * protocol), the same in both directions, in a fixed-size table.
 *
 * Memory is fixed at creation (max_flows entries, each with a user area the
 * caller sizes); when full the flow closest to its timeout is evicted. Every
 * flow that ends (timeout, eviction, FIN/RST close, port reuse, flush) goes
 * through the end callback exactly once, so the flow log sees them all.
 * Time is packet time: the table never reads the clock. Not thread-safe:
 * one table per thread. */
#ifndef HOSTGATE_FLOW_H
#define HOSTGATE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostgate/decode.h"
#include "hostgate/engine.h" /* enum hg_dir, HG_TCP_* */
#include "hostgate/stream.h"

enum hg_flow_state {
	HG_FLOW_S_NEW,         /* TCP: before the handshake completed; others: one way */
	HG_FLOW_S_ESTABLISHED, /* TCP: 3-way handshake done (or midstream, both ways);
				others: packets seen both ways */
	HG_FLOW_S_CLOSING,     /* TCP: a FIN seen */
	HG_FLOW_S_CLOSED,      /* TCP: FIN both ways, or RST */
	HG_FLOW__NSTATES
};

/* Timeouts group protocols as Suricata does. */
enum hg_flow_pclass { HG_FLOW_PC_TCP, HG_FLOW_PC_UDP, HG_FLOW_PC_OTHER, HG_FLOW__NPC };

enum hg_flow_end {
	HG_FLOW_END_TIMEOUT,  /* idle past its state's timeout */
	HG_FLOW_END_EVICTED,  /* made room for a new flow (table full) */
	HG_FLOW_END_REUSED,   /* a new SYN on a closed flow's tuple started another */
	HG_FLOW_END_FLUSH,    /* hg_flow_table_flush: end of capture / shutdown */
};
const char *hg_flow_end_name(enum hg_flow_end r); /* "timeout", "evicted", ... */
const char *hg_flow_state_name(enum hg_flow_state s);

enum {
	HG_FLOW_F_MIDSTREAM = 1u << 0,   /* TCP picked up without its SYN */
	HG_FLOW_F_SYN = 1u << 1,         /* client SYN seen */
	HG_FLOW_F_SYNACK = 1u << 2,      /* server SYN-ACK seen */
	HG_FLOW_F_FIN_CLIENT = 1u << 3,
	HG_FLOW_F_FIN_SERVER = 1u << 4,
	HG_FLOW_F_RST = 1u << 5,
	HG_FLOW_F_FRAGMENTS = 1u << 6,   /* a reassembled datagram belonged to it */
	HG_FLOW_F_FRAG_OVERLAP = 1u << 7,/* ... with conflicting overlaps (evasion) */
	HG_FLOW_F_ESTABLISHED = 1u << 8, /* reached ESTABLISHED (stays set after close) */
};

/* Canonical key: the lower (address, port) end first, padding zeroed. */
struct hg_flow_key {
	struct hg_ip a, b;
	uint16_t pa, pb;
	uint8_t proto;
	uint8_t pad[3];
};

struct hg_flow_dirstats {
	uint64_t pkts, bytes;     /* bytes: frame lengths on the wire */
	uint8_t ttl_min, ttl_max;
	uint8_t tcp_flags;        /* OR of the flags sent */
};

struct hg_flow {
	/* Identity. */
	uint64_t flow_id;         /* unique per table, > 0, < 2^63 */
	struct hg_ip cli, srv;    /* client is the SYN sender (see hg_flow_packet) */
	uint16_t cport, sport;
	uint8_t proto;
	uint8_t family;           /* 4 or 6 */
	uint8_t state;            /* enum hg_flow_state */
	uint8_t pclass;           /* enum hg_flow_pclass */
	uint16_t flags;           /* HG_FLOW_F_* */
	uint64_t first_us, last_us;
	struct hg_flow_dirstats d[2]; /* [HG_DIR_TO_SERVER], [HG_DIR_TO_CLIENT] */
	uint32_t isn[2];          /* TCP initial sequence numbers (SYN, SYN-ACK) */
	struct hg_stream stream[2]; /* first bytes per direction (TCP) */

	/* The table's bookkeeping. */
	struct hg_flow_key key;
	uint32_t hash;
	uint32_t hnext;           /* hash chain */
	uint32_t lprev, lnext;    /* list of its (pclass, state) timeout class */
	uint8_t list;
	uint8_t in_use;
	uint64_t lru_us;          /* last_us when last moved in its list */
};

struct hg_flow_config {
	uint32_t max_flows;       /* default 65536 */
	uint64_t memcap;          /* bytes for flows + buckets; 0: no cap beyond max_flows */
	size_t user_size;         /* bytes of caller data per flow (zeroed at creation) */
	/* Idle timeouts in seconds per protocol class and state; 0 takes the
	 * default: TCP new 30, established 300, closing 30, closed 10; UDP and
	 * others new 30, established 300 (closing/closed: as new). */
	uint32_t timeout_s[HG_FLOW__NPC][HG_FLOW__NSTATES];
	/* Called for every flow that ends, before its memory is reused. May
	 * read the flow and its user area, not call back into the table. */
	void (*end_cb)(void *ud, struct hg_flow *f, enum hg_flow_end why);
	void *ud;
	/* Stream buffers of ended flows go back here (may be NULL: then the
	 * caller must not feed streams). */
	struct hg_stream_ctx *streams;
};

struct hg_flow_stats {
	uint64_t flows;           /* in the table now */
	uint64_t created;
	uint64_t ended[4];        /* by enum hg_flow_end */
	uint64_t midstream;
	uint64_t lookups;
	uint64_t max_flows;       /* the effective cap after memcap */
	uint64_t bytes;           /* memory of the table */
};

struct hg_flow_table;

/* NULL with errno: EINVAL (memcap cannot hold one flow), ENOMEM. */
struct hg_flow_table *hg_flow_table_new(const struct hg_flow_config *cfg);
/* Ends nothing: call hg_flow_table_flush first for the callback. */
void hg_flow_table_free(struct hg_flow_table *t);

/* Finds or creates the flow of a decoded (non-fragment) packet, updates its
 * counters, state and timestamps, and returns it with *dir set (and *created
 * when it is new). Expires idle flows (at most once per second of packet
 * time) and evicts when full. Never NULL for an IP packet.
 * The client: the sender of a SYN without ACK. A TCP flow whose first
 * packet is not such a SYN is flagged MIDSTREAM; its client is the receiver
 * of a SYN-ACK, else the side with the higher port, else (equal ports) the
 * sender. For UDP and other protocols the first packet's sender.
 * Streams are not fed here: for TCP call hg_stream_packet(streams,
 * &f->stream[*dir], p) for as long as the first bytes are wanted. */
struct hg_flow *hg_flow_packet(struct hg_flow_table *t, const struct hg_packet *p,
			       enum hg_dir *dir, bool *created);

/* The flow of p's 5-tuple (either direction) if the table has it; looks
 * only: no packet is counted, nothing is created or expired. */
struct hg_flow *hg_flow_find(struct hg_flow_table *t, const struct hg_packet *p);
/* The same by canonical key. */
struct hg_flow *hg_flow_find_key(struct hg_flow_table *t, const struct hg_flow_key *k);
/* A flow of t with the identity of from (another table's: key, client,
 * server, protocol) that has seen no packet: its user area zeroed, its
 * idle clock started at now_us (the NEW timeout of its class), and its
 * first packet starts it as a new flow's would (created). For a caller
 * that replaces its table but keeps per-flow state of its own (the live
 * daemon's reload). NULL when t has the key already; evicts when full. */
struct hg_flow *hg_flow_adopt(struct hg_flow_table *t, const struct hg_flow *from, uint64_t now_us);
/* Calls fn for every flow (fn must not add or end flows of t). */
void hg_flow_table_foreach(struct hg_flow_table *t, void (*fn)(void *ud, struct hg_flow *f), void *ud);
/* Ends flows idle past their timeout at now_us. */
void hg_flow_table_expire(struct hg_flow_table *t, uint64_t now_us);
/* Ends every flow (reason FLUSH), oldest activity first. */
void hg_flow_table_flush(struct hg_flow_table *t);

void *hg_flow_user(struct hg_flow *f);
void hg_flow_get_stats(const struct hg_flow_table *t, struct hg_flow_stats *out);

/* The canonical key of a packet; *swapped: the packet's source is key.b. */
void hg_flow_key_make(const struct hg_packet *p, struct hg_flow_key *k, bool *swapped);

/* True once the flow was established (see enum hg_flow_state), closing or
 * closed after that included. */
static inline bool hg_flow_established(const struct hg_flow *f)
{
	return f->flags & HG_FLOW_F_ESTABLISHED;
}
/* Packets of this direction so far, including the current one. */
static inline bool hg_flow_first_in_dir(const struct hg_flow *f, enum hg_dir d)
{
	return f->d[d].pkts == 1;
}

#endif
