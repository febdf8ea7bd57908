/* hold.h - the live daemon's hold queue: client-to-server packets of flows
 * still being decided, kept per flow in arrival order until the verdict
 * releases (re-injects) or discards them.
 *
 * Bounded: at most max_flows flows, flow_pkts packets and flow_bytes bytes
 * per flow, total_bytes overall; a packet over a cap is refused and
 * counted (the kernel already dropped it: the client retransmits). */
#ifndef HOSTGATE_HOLD_H
#define HOSTGATE_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostgate/await.h"
#include "hostgate/ipset.h"

/* A flow as the held packets show it (client to server), padding zeroed. */
struct hg_hold_key {
	struct hg_ip src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
	/* The connection's conntrack id (the verdict's key: table.h) in the
	 * kept copies' keys; 0 in the hold table's, whose entry is the 5-tuple
	 * from its SYN on (a new SYN ends it and starts another). */
	uint32_t ct_id;
};

enum hg_hold_state {
	HG_HOLD_UNDECIDED,
	HG_HOLD_PASSED, /* allow entries written */
	HG_HOLD_DENIED, /* deny entries written */
};

struct hg_hold_pkt;

struct hg_hold_flow {
	struct hg_hold_key key;
	uint64_t flow_id;      /* the inspector's flow, 0 until known */
	uint64_t verdict_us;   /* when the verdict was last written */
	uint8_t state;         /* enum hg_hold_state */
	bool syn_seen;         /* TCP: its SYN came through us (the stream's start) */
	bool synack_fed;       /* TCP: the inspector got the rebuilt SYN-ACK */
	uint32_t ct_id;        /* the conntrack id whose verdict was written last */
	uint32_t isn;          /* TCP: the client's initial sequence number (its SYN) */
	bool refeed;           /* the inspector was replaced (reload): its next packet
				  rebuilds the handshake and brings the held ones back */
	uint32_t n_pkts, bytes;
	struct hg_await aw;    /* TCP, passed: until the server acknowledged the
				  inspected bytes (the caller ends it: hg_await_end) */
	/* private */
	struct hg_hold_pkt *head, *tail;
	uint32_t hnext;
	bool in_use;
};

struct hg_hold_config {
	uint32_t max_flows;   /* default 65536 */
	uint32_t flow_pkts;   /* default 64 */
	uint32_t flow_bytes;  /* default 256 KiB */
	uint64_t total_bytes; /* default 64 MiB */
};

struct hg_hold_stats {
	uint64_t flows;          /* tracked now */
	uint64_t pkts_now, bytes_now;
	uint64_t held, released, discarded;
	uint64_t over_flow_cap, over_total_cap, table_full;
};

struct hg_hold;

void hg_hold_config_defaults(struct hg_hold_config *c);
/* NULL with errno on failure. */
struct hg_hold *hg_hold_new(const struct hg_hold_config *c);
void hg_hold_free(struct hg_hold *h);

/* Finds the flow of key; with create, adds it (zeroed, UNDECIDED) when
 * absent and sets *created. NULL when absent (or the table is full). */
struct hg_hold_flow *hg_hold_get(struct hg_hold *h, const struct hg_hold_key *key, bool create,
				 bool *created);
/* Copies one datagram to the end of the flow's queue. False over a cap. */
bool hg_hold_push(struct hg_hold *h, struct hg_hold_flow *f, const uint8_t *data, size_t len);
/* Hands the queued packets in order to fn, then frees them. */
void hg_hold_release(struct hg_hold *h, struct hg_hold_flow *f,
		     void (*fn)(void *ud, const uint8_t *data, size_t len), void *ud);
/* Frees the queued packets unsent. */
void hg_hold_discard(struct hg_hold *h, struct hg_hold_flow *f);
/* Forgets the flow (its packets discarded). No-op when absent. */
void hg_hold_remove(struct hg_hold *h, const struct hg_hold_key *key);
/* Calls fn for every tracked flow (fn must not remove flows). */
void hg_hold_foreach(struct hg_hold *h, void (*fn)(void *ud, struct hg_hold_flow *f), void *ud);

void hg_hold_get_stats(const struct hg_hold *h, struct hg_hold_stats *out);

/* The seeded hash of a 5-tuple that the hold table and the kept copies
 * (kept.c) index by. */
uint32_t hg_hold_key_hash(uint64_t seed, const struct hg_hold_key *k);

/* The kept copies: for each flow the daemon allowed, the client packets
 * it saw up to its decision, so that a reload can decide the flow again
 * under the new rules. Bounded: flow_bytes per flow (a flow over it keeps
 * a record without bytes: it cannot be decided again), total_bytes and
 * max_flows overall (over them the oldest records are evicted, counted).
 * A flow without bytes keeps its verdict at a reload. */
struct hg_kept_config {
	uint32_t max_flows;   /* default 65536 */
	uint32_t flow_bytes;  /* default 4 KiB */
	uint64_t total_bytes; /* default 16 MiB */
};

struct hg_kept_stats {
	uint64_t flows, bytes_now;  /* records now (with or without bytes), bytes */
	uint64_t kept, over_flow_cap, evicted;
};

struct hg_kept;

void hg_kept_config_defaults(struct hg_kept_config *c);
/* NULL with errno on failure. */
struct hg_kept *hg_kept_new(const struct hg_kept_config *c);
void hg_kept_free(struct hg_kept *k);
/* Appends a copy of one datagram to key's record (created when absent,
 * stamped now_us). Over the per-flow cap the record loses its bytes (and
 * takes no more): false. */
bool hg_kept_add(struct hg_kept *k, const struct hg_hold_key *key, const uint8_t *data, size_t len,
		 uint64_t now_us);
void hg_kept_remove(struct hg_kept *k, const struct hg_hold_key *key);
/* Calls fn for every record, oldest first: its datagrams as a sequence of
 * (2-byte big-endian length, bytes), n_bytes 0 for a record without bytes;
 * fn returns true to remove the record. fn must not add or remove. */
void hg_kept_foreach(struct hg_kept *k,
		     bool (*fn)(void *ud, const struct hg_hold_key *key, const uint8_t *pkts, size_t n_bytes,
				uint64_t created_us),
		     void *ud);
/* Steps through a record's datagrams: false at the end. */
bool hg_kept_next(const uint8_t *pkts, size_t n_bytes, size_t *off, const uint8_t **dg, size_t *len);
void hg_kept_get_stats(const struct hg_kept *k, struct hg_kept_stats *out);

#endif
