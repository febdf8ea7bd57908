/* hold.h - the live daemon's held packets: per flow, the client-to-server
 * datagrams of a flow still being decided, in arrival order until the
 * verdict releases (re-injects) or discards them. A queue lives in its
 * flow's own state (the inspector's flow area, held_flow.h); struct hg_hold
 * holds the caps and counts them all. A packet is kept decoded (its
 * struct hg_packet, pointing into the copy): released, it is not parsed
 * again.
 *
 * Bounded: at most max_flows flows holding packets at once, flow_pkts
 * packets and flow_bytes bytes per flow, total_bytes overall; a packet
 * over a cap is refused and counted (the kernel already dropped it: the
 * client retransmits). */
#ifndef HOSTGATE_HOLD_H
#define HOSTGATE_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostgate/decode.h"
#include "hostgate/ipset.h"

/* A flow as the held packets show it (client to server), padding zeroed,
 * with the connection's conntrack id (the verdict's key: table.h): the
 * key of a kept copy. */
struct hg_hold_key {
	struct hg_ip src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
	uint32_t ct_id;
};

struct hg_hold_pkt;

/* One flow's held packets (in its flow area; zeroed is empty). */
struct hg_hold_queue {
	struct hg_hold_pkt *head, *tail;
	uint32_t n_pkts, bytes;
};

struct hg_hold_config {
	uint32_t max_flows;   /* flows holding packets at once; default 65536 */
	uint32_t flow_pkts;   /* default 64 */
	uint32_t flow_bytes;  /* default 256 KiB */
	uint64_t total_bytes; /* default 64 MiB */
};

struct hg_hold_stats {
	uint64_t flows;          /* holding packets now */
	uint64_t pkts_now, bytes_now;
	uint64_t held, released, discarded;
	uint64_t over_flow_cap, over_total_cap, table_full;
};

struct hg_hold;

void hg_hold_config_defaults(struct hg_hold_config *c);
/* NULL with errno on failure. */
struct hg_hold *hg_hold_new(const struct hg_hold_config *c);
/* Every queue must have been released or discarded first. */
void hg_hold_free(struct hg_hold *h);

/* Copies one decoded datagram (p->l3, p->l3_len) to the end of q. False
 * over a cap (table_full: q was empty and max_flows flows hold packets). */
bool hg_hold_push(struct hg_hold *h, struct hg_hold_queue *q, const struct hg_packet *p);
/* Hands the queued packets in order to fn (each valid for the call), then
 * frees them; q is empty when fn runs (fn may push to it again). */
void hg_hold_release(struct hg_hold *h, struct hg_hold_queue *q,
		     void (*fn)(void *ud, const struct hg_packet *p), void *ud);
/* Frees the queued packets unsent. */
void hg_hold_discard(struct hg_hold *h, struct hg_hold_queue *q);

void hg_hold_get_stats(const struct hg_hold *h, struct hg_hold_stats *out);

/* The kept copies: for each flow the daemon allowed, the client packets
 * it saw up to its decision, so that a reload can decide the flow again
 * under the new rules. A record outlives its flow: an allowed flow leaves
 * the daemon's path at its verdict, so its inspector flow times out while
 * the connection lives on, and a reload must still revoke it. Records
 * form one list, oldest first, bounded: flow_bytes per flow (a flow over
 * it keeps a record without bytes: it cannot be decided again),
 * total_bytes and max_flows overall (over them the oldest records are
 * evicted, counted). A flow without bytes keeps its verdict at a reload. */
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
struct hg_kept_rec;

void hg_kept_config_defaults(struct hg_kept_config *c);
/* NULL with errno on failure. */
struct hg_kept *hg_kept_new(const struct hg_kept_config *c);
void hg_kept_free(struct hg_kept *k);
/* A new record for key (a connection just allowed), stamped now_us: the
 * newest, the oldest evicted over max_flows. NULL when nothing is kept
 * (total_bytes 0) or on no memory (counted as evicted). The record stays
 * valid until the next hg_kept_start or hg_kept_foreach (appending evicts
 * only older records). */
struct hg_kept_rec *hg_kept_start(struct hg_kept *k, const struct hg_hold_key *key, uint64_t now_us);
/* Appends a copy of one datagram to r (NULL: no-op). Over the per-flow
 * cap the record loses its bytes (and takes no more): false. */
bool hg_kept_add(struct hg_kept *k, struct hg_kept_rec *r, const uint8_t *data, size_t len);
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
