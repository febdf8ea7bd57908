/* held_flow.c - the live daemon's policy for held flows (held_flow.h):
 * the handshake the inspector is fed, what a verdict means for a held
 * flow and its packets, the verdict written per connection. Used by the
 * packet path and by the reload's re-decision alike. */
#include "hostgate/held_flow.h"

#include <string.h>

/* A decided flow whose packets still reach us this long after its verdict
 * was written lost its set entry (timeout): write it again. */
#define REWRITE_US 2000000ull

/* One rebuilt handshake segment into ins: k 0 the SYN, 1 the SYN-ACK. */
static void feed_segment(struct hg_inspector *ins, const struct hg_packet *p, int k)
{
	uint8_t h[60];
	size_t ipl = p->family == 4 ? 20 : 40, tot = ipl + 20;
	memset(h, 0, tot);
	const struct hg_ip *s = k ? &p->dst : &p->src, *d = k ? &p->src : &p->dst;
	if (p->family == 4) {
		h[0] = 0x45;
		h[2] = (uint8_t)(tot >> 8);
		h[3] = (uint8_t)tot;
		h[8] = p->ttl;
		h[9] = 6;
		memcpy(h + 12, s->b + 12, 4);
		memcpy(h + 16, d->b + 12, 4);
	} else {
		h[0] = 0x60;
		h[5] = 20;
		h[6] = 6;
		h[7] = p->ttl;
		memcpy(h + 8, s->b, 16);
		memcpy(h + 24, d->b, 16);
	}
	uint8_t *t = h + ipl;
	uint16_t sp = k ? p->dport : p->sport, dp = k ? p->sport : p->dport;
	uint32_t seq = k ? p->tcp_ack - 1 : p->tcp_seq - 1, ack = k ? p->tcp_seq : 0;
	t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp;
	t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 5 << 4;
	t[13] = k ? (HG_TCP_SYN | HG_TCP_ACK) : HG_TCP_SYN;
	t[14] = 0xff, t[15] = 0xff;
	struct hg_decode_stats ds = {0};
	struct hg_packet hp = {.ts_us = p->ts_us, .wire_len = (uint32_t)tot};
	if (hg_decode_ip(&ds, h, (uint32_t)tot, false, &hp))
		hg_inspector_packet(ins, &hp, NULL);
}

void hg_held_feed_handshake(struct hg_inspector *ins, const struct hg_packet *p, bool syn)
{
	if (syn)
		feed_segment(ins, p, 0);
	feed_segment(ins, p, 1);
}

enum hg_held_prep hg_held_prepare(struct hg_inspector *ins, struct hg_held_flow *hf, const struct hg_packet *p)
{
	bool tcp = p->ip_proto == 6;
	if (tcp && hg_held_is_syn(p))
		return HG_HELD_INSPECT;
	if (tcp && (!hf || !hf->syn_seen))
		return HG_HELD_NO_START;
	if (!hf)
		return HG_HELD_INSPECT;
	if (hf->refeed) {
		/* The new inspector gets the handshake rebuilt from the SYN
		 * the daemon saw (the real start of the stream), then the
		 * held packets in order as if they came now. */
		hf->refeed = false;
		if (tcp) {
			struct hg_packet hs = *p;
			hs.tcp_seq = hf->isn + 1;
			hg_held_feed_handshake(ins, &hs, true);
			hf->synack_fed = true;
		}
		return HG_HELD_REFEED;
	}
	if (tcp && !hf->synack_fed && (p->tcp_flags & HG_TCP_ACK)) {
		/* The SYN came through us; the SYN-ACK passes without us. */
		hg_held_feed_handshake(ins, p, false);
		hf->synack_fed = true;
	}
	return HG_HELD_INSPECT;
}

enum hg_verdict hg_held_verdict(struct hg_flow *flow, const struct hg_packet *p, enum hg_verdict v)
{
	const struct hg_iflow *fi = hg_flow_user(flow);
	if (v == HG_VERDICT_UNDECIDED && p->payload_len && hg_eng_flow_app_seen(&fi->ef))
		return HG_VERDICT_PASS;
	return v;
}

enum hg_held_action hg_held_decide(struct hg_held_flow *hf, struct hg_flow *flow, const struct hg_packet *p,
				   enum hg_verdict *v)
{
	if (hg_held_is_syn(p)) {
		hf->syn_seen = true;
		hf->isn = p->tcp_seq;
	}
	*v = hg_held_verdict(flow, p, *v);
	switch (*v) {
	case HG_VERDICT_UNDECIDED: {
		/* A bare ACK tells the engine nothing: it goes on, unless
		 * something before it is held (order). */
		bool carries = p->payload_len || (p->tcp_flags & (HG_TCP_FIN | HG_TCP_RST)) || p->ip_proto != 6;
		return !carries && !hf->q.n_pkts ? HG_HELD_SEND : HG_HELD_HOLD;
	}
	case HG_VERDICT_PASS:
		if (hf->state == HG_HELD_S_PASSED)
			return HG_HELD_ALLOWED;
		hf->state = HG_HELD_S_PASSED;
		return HG_HELD_ALLOW;
	default:
		if (hf->state == HG_HELD_S_DENIED)
			return HG_HELD_DENIED;
		hf->state = HG_HELD_S_DENIED;
		return HG_HELD_DENY;
	}
}

void hg_held_key(const struct hg_packet *p, struct hg_hold_key *k)
{
	*k = (struct hg_hold_key){.src = p->src, .dst = p->dst, .sport = p->sport, .dport = p->dport,
				  .proto = p->ip_proto, .ct_id = p->mark};
}

void hg_held_write_verdict(struct hg_actuator *act, struct hg_held_flow *hf, const struct hg_flow *f,
			   uint32_t ct_id, bool allow, uint32_t timeout_s, uint64_t now_us)
{
	struct hg_act_tuple t = {.cli = f->cli, .srv = f->srv, .cport = f->cport, .sport = f->sport,
				 .proto = f->proto, .ct_id = ct_id};
	hg_act_verdict(act, &t, allow, timeout_s);
	hf->verdict_us = now_us;
	hf->ct_id = ct_id;
}

bool hg_held_verdict_stale(const struct hg_held_flow *hf, const struct hg_packet *p, uint64_t now_us)
{
	return hf->ct_id != p->mark || now_us - hf->verdict_us > REWRITE_US;
}

enum hg_verdict hg_held_redecide(struct hg_inspector *ins, const uint8_t *pkts, size_t n_bytes, uint64_t now_us)
{
	struct hg_decode_stats ds = {0};
	size_t off = 0, len;
	const uint8_t *dg;
	bool first = true;
	while (hg_kept_next(pkts, n_bytes, &off, &dg, &len)) {
		struct hg_packet p = {.ts_us = now_us, .wire_len = (uint32_t)len};
		if (!hg_decode_ip(&ds, dg, (uint32_t)len, false, &p))
			continue;
		/* The live path checked the stream's start when it allowed
		 * the flow: the handshake is rebuilt from the first copy. */
		if (first && p.ip_proto == 6 && (p.tcp_flags & (HG_TCP_SYN | HG_TCP_ACK)) == HG_TCP_ACK)
			hg_held_feed_handshake(ins, &p, true);
		first = false;
		struct hg_flow *flow = NULL;
		enum hg_verdict v = hg_inspector_packet(ins, &p, &flow);
		if (v != HG_VERDICT_UNDECIDED)
			return v;
		if (flow && hg_held_verdict(flow, &p, v) == HG_VERDICT_PASS)
			return HG_VERDICT_PASS;
	}
	return HG_VERDICT_UNDECIDED;
}
