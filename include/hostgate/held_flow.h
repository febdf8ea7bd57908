/* held_flow.h - the live daemon's policy for held flows, one place for the
 * packet path and for the reload that decides kept flows again: the
 * daemon's state of one flow (struct hg_held_flow, the caller area of the
 * inspector's flow: the flow table is the only table), what "decided"
 * means for a held flow, and the handshake the inspector needs (the table
 * holds a client's packets only: the SYN-ACK passes without us). */
#ifndef HOSTGATE_HELD_FLOW_H
#define HOSTGATE_HELD_FLOW_H

#include "hostgate/actuate.h"
#include "hostgate/await.h"
#include "hostgate/hold.h"
#include "hostgate/inspect.h"

enum hg_held_state {
	HG_HELD_S_UNDECIDED,
	HG_HELD_S_PASSED, /* allow elements written */
	HG_HELD_S_DENIED, /* deny elements written */
};

/* The daemon's state of one flow, in its inspector flow's caller area
 * (hg_inspect_area; zeroed when the flow is made, moved by memcpy at a
 * reload). Later stages of the daemon add their per-flow state here. */
struct hg_held_flow {
	struct hg_hold_queue q; /* its held packets */
	uint64_t verdict_us;    /* when its verdict was last written */
	uint32_t ct_id;         /* the conntrack id whose verdict was written last */
	uint32_t isn;           /* TCP: the client's initial sequence number (its SYN) */
	uint8_t state;          /* enum hg_held_state */
	bool syn_seen;          /* TCP: its SYN came through us (the stream's start) */
	bool synack_fed;        /* TCP: the inspector got the rebuilt SYN-ACK */
	bool refeed;            /* the inspector was replaced (reload): its next packet
				   rebuilds the handshake and brings the held ones back */
	struct hg_await aw;     /* TCP, passed: until the server acknowledged the
				   inspected bytes (the caller ends it: hg_await_end) */
};

/* A client SYN (without ACK). */
static inline bool hg_held_is_syn(const struct hg_packet *p)
{
	return p->ip_proto == 6 && (p->tcp_flags & (HG_TCP_SYN | HG_TCP_ACK)) == HG_TCP_SYN;
}

/* Feeds ins the handshake of the TCP flow of the client packet p rebuilt
 * from its sequence numbers: the SYN-ACK (the server's ISN is p's ack - 1),
 * and with syn also the SYN (the client's ISN taken as p's seq - 1). */
void hg_held_feed_handshake(struct hg_inspector *ins, const struct hg_packet *p, bool syn);

enum hg_held_prep {
	HG_HELD_INSPECT,  /* hand p to the inspector */
	HG_HELD_NO_START, /* TCP without its SYN seen: where its stream starts is
			     unknown, nothing of it may pass (a reset resolves it) */
	HG_HELD_REFEED,   /* the inspector was replaced: the handshake is fed; the
			     caller brings the held packets back (hg_hold_release
			     through its own path), then hands p over */
};
/* Before a client packet of a held flow (hf: its state, NULL when the
 * inspector has no flow for it) reaches the inspector: feeds the
 * handshake it needs. */
enum hg_held_prep hg_held_prepare(struct hg_inspector *ins, struct hg_held_flow *hf, const struct hg_packet *p);

/* The inspector's verdict on a held flow's packet, as the daemon takes it:
 * undecided, but every app-layer rule had its look at a payload (nothing
 * later in the flow can need the daemon: §3.3, unmatched traffic passes):
 * PASS. */
enum hg_verdict hg_held_verdict(struct hg_flow *flow, const struct hg_packet *p, enum hg_verdict v);

enum hg_held_action {
	HG_HELD_SEND,    /* undecided, nothing to hold (a bare ACK): sent on now */
	HG_HELD_HOLD,    /* undecided: held */
	HG_HELD_ALLOW,   /* allowed now: allow written, held packets sent (and kept), p sent */
	HG_HELD_ALLOWED, /* allowed before: sent (the verdict written again when stale) */
	HG_HELD_DENY,    /* denied now: deny written, held packets discarded (reject: reset) */
	HG_HELD_DENIED,  /* denied before: dropped (the verdict written again when stale) */
};
/* After the inspector (v its verdict, flow its flow, hf that flow's
 * state): what the daemon does with p; *v becomes the verdict taken
 * (hg_held_verdict), hf's state follows it. */
enum hg_held_action hg_held_decide(struct hg_held_flow *hf, struct hg_flow *flow, const struct hg_packet *p,
				   enum hg_verdict *v);

/* Queues the verdict of connection ct_id of flow f (its identity, client
 * to server), both directions, and notes it in hf. */
void hg_held_write_verdict(struct hg_actuator *act, struct hg_held_flow *hf, const struct hg_flow *f,
			   uint32_t ct_id, bool allow, uint32_t timeout_s, uint64_t now_us);
/* Whether a decided flow's verdict must be written (again): not yet for
 * this connection, or long enough ago that its elements may be gone. */
bool hg_held_verdict_stale(const struct hg_held_flow *hf, const struct hg_packet *p, uint64_t now_us);

/* The kept copy's key of p's connection (client to server, the conntrack
 * id from the mark). */
void hg_held_key(const struct hg_packet *p, struct hg_hold_key *k);

/* The verdict of ins's rules on a kept flow's client packets (hg_kept_*
 * records), fed as the packet path feeds them: the handshake rebuilt from
 * the first, the same hg_held_verdict. */
enum hg_verdict hg_held_redecide(struct hg_inspector *ins, const uint8_t *pkts, size_t n_bytes, uint64_t now_us);

#endif
