/* run_path.c - `hostgate run`'s hot path: a held packet from NFLOG to the
 * inspector, its verdict into the kernel's sets, and what was held sent on
 * (re-injected), discarded or reset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostgate/table.h"

#include "run_live.h"

/* Frames read before the verdict batch is committed even if more wait. */
#define BURST_MAX 256
/* A decided flow whose packets still reach us this long after its verdict
 * was written lost its set entry (timeout): write it again. */
#define REWRITE_US 2000000ull

static void on_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct live *L = ud;
	run_log_alert(L->alerts, L->rs, ev, a);
}

/* The hold table's key: client to server, padding zeroed, no ct id. */
static void hold_key(struct hg_hold_key *k, const struct hg_ip *src, const struct hg_ip *dst, uint16_t sport,
		     uint16_t dport, uint8_t proto)
{
	*k = (struct hg_hold_key){.src = *src, .dst = *dst, .sport = sport, .dport = dport, .proto = proto};
}

static void key_of_flow(const struct hg_flow *f, struct hg_hold_key *k)
{
	hold_key(k, &f->cli, &f->srv, f->cport, f->sport, f->proto);
}

static void on_flow_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	struct live *L = ud;
	run_log_flow_end(L->flows, ev, why);
	/* Whatever is still held for it is dropped: fail closed. */
	struct hg_hold_key k;
	key_of_flow(ev->flow, &k);
	struct hg_hold_flow *hf = hg_hold_get(L->hold, &k, false, NULL);
	/* An allowed connection's elements go with it (its conntrack id may
	 * come back with the next connection on the tuple); the SYN that ended
	 * it (port reuse) is sent on only after the commit. Not when the whole
	 * inspector goes (reload, exit): the kernel keeps those verdicts. */
	if (hf && hf->state == HG_HOLD_PASSED && hf->ct_id && !L->dropping_inspector) {
		struct hg_act_tuple t = {.cli = k.src, .srv = k.dst, .cport = k.sport, .sport = k.dport,
					 .proto = k.proto, .ct_id = hf->ct_id};
		hg_act_forget(L->act, &t);
	}
	/* A reload replaces the inspector, not the flows: the entry, its
	 * stream start and its held packets stay, for the new inspector. */
	if (hf && L->dropping_inspector && L->reloading) {
		hf->refeed = true;
		hf->synack_fed = false;
		return;
	}
	if (hf)
		hg_await_end(L->await, &hf->aw, false);
	hg_hold_remove(L->hold, &k);
}

static void on_kernel_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct live *L = ud;
	run_log_alert(L->alerts, L->rs, ev, a);
}


static void inject_cb(void *ud, const uint8_t *data, size_t len)
{
	struct live *L = ud;
	hg_act_inject(L->act, data, len);
}

/* Commits the verdicts queued during one poll round. The packets of the
 * flows they allow were re-injected already: an allowed flow pays the
 * decision, not the transaction. */
void live_flush_batch(struct live *L)
{
	if (hg_act_pending(L->act))
		hg_act_commit(L->act);
}

/* Feeds ins the handshake of the TCP flow of p rebuilt from its sequence
 * numbers: the SYN-ACK (the server's ISN is p's ack - 1), and with syn
 * also the SYN (the client's ISN taken as p's seq - 1). The live path feeds
 * the real SYN (the table holds it) and rebuilds only the SYN-ACK, which
 * passes without us; the reload rebuilds both from a kept copy whose
 * stream start the live path checked when it allowed the flow. */
void live_feed_handshake(struct hg_inspector *ins, const struct hg_packet *p, uint64_t ts, bool syn)
{
	uint8_t b[2][60];
	size_t ipl = p->family == 4 ? 20 : 40, tot = ipl + 20;
	for (int k = syn ? 0 : 1; k < 2; k++) {
		uint8_t *h = b[k];
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
		hg_inspector_frame(ins, LINKTYPE_RAW, ts, h, (uint32_t)tot, (uint32_t)tot, NULL);
	}
}

static void key_of_packet(const struct hg_packet *p, struct hg_hold_key *k)
{
	hold_key(k, &p->src, &p->dst, p->sport, p->dport, p->ip_proto);
}

/* Re-injects a released packet and keeps a copy for the next reload. */
struct inject_keep {
	struct live *L;
	const struct hg_hold_key *key;
	uint64_t now;
};

static void inject_keep_cb(void *ud, const uint8_t *data, size_t len)
{
	struct inject_keep *ik = ud;
	hg_act_inject(ik->L->act, data, len);
	hg_kept_add(ik->L->kept, ik->key, data, len, ik->now);
}

/* The verdict of the connection p belongs to (its conntrack id, which the
 * table put in its mark), both directions. Not for a SYN: the conntrack
 * entry of a held SYN dies with it (the re-injected SYN makes another). */
void live_write_verdict(struct live *L, struct hg_hold_flow *hf, uint32_t ct_id, bool allow, uint64_t now)
{
	struct hg_act_tuple t = {
		.cli = hf->key.src, .srv = hf->key.dst, .cport = hf->key.sport, .sport = hf->key.dport,
		.proto = hf->key.proto, .ct_id = ct_id,
	};
	hg_act_verdict(L->act, &t, allow, L->verdict_timeout);
	hf->verdict_us = now;
	hf->ct_id = ct_id;
}

static void write_verdict(struct live *L, struct hg_hold_flow *hf, const struct hg_packet *p, bool allow,
			  uint64_t now)
{
	if (p->ip_proto == 6 && (p->tcp_flags & (HG_TCP_SYN | HG_TCP_ACK)) == HG_TCP_SYN)
		return;
	live_write_verdict(L, hf, p->mark, allow, now);
}

/* Whether a decided flow's verdict must be written (again): not yet for
 * this connection, or long enough ago that its elements may be gone. */
static bool verdict_stale(const struct hg_hold_flow *hf, const struct hg_packet *p, uint64_t now)
{
	return hf->ct_id != p->mark || now - hf->verdict_us > REWRITE_US;
}

static void handle_held(struct live *L, const struct hg_frame *fr);

struct saved {
	HG_VEC(uint8_t *) pkts;
	HG_VEC(size_t) lens;
};

static void save_cb(void *ud, const uint8_t *data, size_t len)
{
	struct saved *sv = ud;
	uint8_t *c = malloc(len);
	if (!c)
		return; /* dropped: fail closed, the client sends it again */
	memcpy(c, data, len);
	hg_vec_push(&sv->pkts, c);
	hg_vec_push(&sv->lens, len);
}

/* The first packet of a held flow after a reload: the new inspector gets
 * the handshake rebuilt from the SYN the daemon saw (the real start of the
 * stream) and then the packets held so far, in order, as if they came now
 * (decided, re-held or dropped by the new rules); then p goes on as usual. */
static void refeed(struct live *L, struct hg_hold_flow *hf, const struct hg_packet *p, uint64_t ts)
{
	hf->refeed = false;
	if (p->ip_proto == 6) {
		struct hg_packet hs = *p;
		hs.tcp_seq = hf->isn + 1;
		live_feed_handshake(L->ins, &hs, ts, true);
		hf->synack_fed = true;
	}
	struct saved sv = {0};
	hg_hold_release(L->hold, hf, save_cb, &sv);
	L->st.refed += sv.pkts.n;
	for (size_t i = 0; i < sv.pkts.n; i++) {
		struct hg_frame f = {.linktype = LINKTYPE_RAW, .ts_us = ts, .data = sv.pkts.v[i],
				     .caplen = (uint32_t)sv.lens.v[i], .wirelen = (uint32_t)sv.lens.v[i]};
		L->st.frames--; /* counted once, when it came */
		handle_held(L, &f);
		free(sv.pkts.v[i]);
	}
	hg_vec_free(&sv.pkts);
	hg_vec_free(&sv.lens);
}

static void handle_held(struct live *L, const struct hg_frame *fr)
{
	L->st.frames++;
	struct hg_packet p;
	bool decoded = hg_decode(&L->dec, fr->linktype, fr->ts_us, fr->data, fr->caplen, fr->wirelen, &p);
	if (decoded && p.nflog_prefix && !strcmp(p.nflog_prefix, HG_NFLOG_PREFIX_ACK)) {
		/* Not held: a copy of a server's ACK (its headers only). */
		live_await_ack(L, &p, live_now_us());
		return;
	}
	if (!decoded || (p.flags & (HG_PKT_F_FRAGMENT | HG_PKT_F_SNAPPED))) {
		/* Not something we can release whole: it stays dropped. */
		L->st.undecodable++;
		return;
	}
	struct hg_hold_key k;
	key_of_packet(&p, &k);
	bool tcp = p.ip_proto == 6, syn = tcp && (p.tcp_flags & (HG_TCP_SYN | HG_TCP_ACK)) == HG_TCP_SYN;
	if (syn && p.payload_len) {
		/* TCP Fast Open (or any SYN with data): refused. The client
		 * sends a plain SYN again and the data after the handshake,
		 * where it is inspected like any other (RFC 7413 §4.2.1). */
		L->st.syn_data_refused++;
		return;
	}
	if (tcp && !syn) {
		struct hg_hold_flow *h0 = hg_hold_get(L->hold, &k, false, NULL);
		if (!h0 || !h0->syn_seen) {
			/* We never saw this flow's SYN (a restart, an evicted
			 * entry): where its stream starts is unknown, so nothing
			 * of it can be allowed. Resolved now rather than held
			 * forever: a reset, and the client connects again. */
			L->st.no_syn_reset++;
			if (!(p.tcp_flags & HG_TCP_RST))
				hg_act_tcp_reset(L->act, p.l3, p.l3_len);
			return;
		}
		if (h0->aw.active) {
			/* Passed, the server's ACK not seen yet: compared with
			 * what was released, not inspected again. */
			live_await_client(L, h0, &p);
			return;
		}
		if (h0->refeed) {
			refeed(L, h0, &p, fr->ts_us);
		} else if (!h0->synack_fed && (p.tcp_flags & HG_TCP_ACK)) {
			live_feed_handshake(L->ins, &p, fr->ts_us, false);
			h0->synack_fed = true;
		}
	} else if (!tcp) {
		struct hg_hold_flow *h0 = hg_hold_get(L->hold, &k, false, NULL);
		if (h0 && h0->refeed)
			refeed(L, h0, &p, fr->ts_us);
	}
	struct hg_flow *flow = NULL;
	enum hg_verdict v = hg_inspector_frame(L->ins, fr->linktype, fr->ts_us, fr->data, fr->caplen,
					       fr->wirelen, &flow);
	/* No flow (a frame the inspector skipped): nothing to hold it for,
	 * and no entry made that no flow's end would remove. */
	if (!flow)
		return;
	/* Looked up again: the frame may have ended (and forgotten) a flow. */
	struct hg_hold_flow *hf = hg_hold_get(L->hold, &k, true, NULL);
	if (!hf) {
		L->st.refused_full++;
		return;
	}
	hf->flow_id = flow->flow_id;
	if (syn) {
		hf->syn_seen = true;
		hf->isn = p.tcp_seq;
		/* A SYN that ended an allowed connection on its tuple queued the
		 * destruction of that one's elements: in the kernel before the
		 * SYN goes on (and its conntrack entry takes the old one's
		 * place). */
		if (hg_act_pending(L->act))
			live_flush_batch(L);
	}
	const struct hg_iflow *fi = hg_flow_user(flow);
	/* Undecided, but every app-layer rule has had its look: nothing later
	 * in this flow needs the daemon (§3.3: unmatched traffic passes). */
	if (v == HG_VERDICT_UNDECIDED && hg_eng_flow_app_seen(&fi->ef) && p.payload_len)
		v = HG_VERDICT_PASS;
	uint64_t now = live_now_us();
	const uint8_t *l3 = p.l3;
	size_t l3len = p.l3_len;

	switch (v) {
	case HG_VERDICT_UNDECIDED: {
		bool carries = p.payload_len || (p.tcp_flags & (HG_TCP_FIN | HG_TCP_RST)) || p.ip_proto != 6;
		if (!carries && !hf->n_pkts) {
			/* A bare ACK tells the engine nothing: let it through now. */
			L->st.passthrough++;
			hg_act_inject(L->act, l3, l3len);
		} else {
			hg_hold_push(L->hold, hf, l3, l3len);
		}
		break;
	}
	case HG_VERDICT_PASS: {
		/* What decided the flow is kept (released packets and this one):
		 * a reload decides it again with the new rules. */
		bool decided_now = hf->state != HG_HOLD_PASSED;
		struct hg_hold_key kk = k; /* the kept copy is the connection's */
		kk.ct_id = p.mark;
		struct inject_keep ik = {.L = L, .key = &kk, .now = now};
		if (decided_now) {
			hf->state = HG_HOLD_PASSED;
			L->st.flows_decided[HG_VERDICT_PASS]++;
			live_note_verdict_latency(L, now > fr->ts_us ? now - fr->ts_us : 0);
			if (tcp && !syn) {
				/* Allowed once the server acknowledged what was
				 * inspected (run_await.c); what was held is sent
				 * on now. */
				if (!live_await_pass(L, hf, &p, &kk, now))
					write_verdict(L, hf, &p, true, now);
				break;
			}
			write_verdict(L, hf, &p, true, now);
		} else if (verdict_stale(hf, &p, now)) {
			write_verdict(L, hf, &p, true, now);
		}
		/* Sent now, what was held first: the verdict is committed at the
		 * end of this poll round, and until the kernel holds it the
		 * flow's next packets come here again, in order, and are sent the
		 * same way. */
		if (hf->n_pkts) {
			if (decided_now)
				hg_hold_release(L->hold, hf, inject_keep_cb, &ik);
			else
				hg_hold_release(L->hold, hf, inject_cb, L);
		}
		if (decided_now)
			hg_kept_add(L->kept, &kk, l3, l3len, now);
		hg_act_inject(L->act, l3, l3len);
		break;
	}
	case HG_VERDICT_DROP:
	case HG_VERDICT_REJECT:
		if (hf->state != HG_HOLD_DENIED) {
			hf->state = HG_HOLD_DENIED;
			L->st.flows_decided[v]++;
			live_note_verdict_latency(L, now > fr->ts_us ? now - fr->ts_us : 0);
			write_verdict(L, hf, &p, false, now);
			hg_hold_discard(L->hold, hf);
			if (v == HG_VERDICT_REJECT && p.ip_proto == 6)
				hg_act_tcp_reset(L->act, l3, l3len);
		} else if (verdict_stale(hf, &p, now)) {
			write_verdict(L, hf, &p, false, now);
		}
		break;
	}
}

static void handle_alert_frame(struct live *L, const struct hg_frame *fr)
{
	L->st.alert_frames++;
	hg_inspector_frame(L->ains, fr->linktype, fr->ts_us, fr->data, fr->caplen, fr->wirelen, NULL);
}

/* Reads what is ready without blocking (the descriptor is non-blocking:
 * libpcap reports EAGAIN as an error, which here means "drained"). */
int live_drain_source(struct live *L, struct hg_source *s, bool held)
{
	int n = 0;
	struct hg_frame fr;
	for (; n < BURST_MAX; n++) {
		errno = 0;
		enum hg_source_result r = hg_source_next(s, &fr);
		if (r == HG_SOURCE_FRAME) {
			if (held)
				handle_held(L, &fr);
			else
				handle_alert_frame(L, &fr);
			continue;
		}
		if (r == HG_SOURCE_ERROR && errno != EAGAIN && errno != EWOULDBLOCK &&
		    !strstr(hg_source_error(s), "temporarily unavailable")) {
			L->st.source_errors++;
			if (L->st.source_errors < 10 || !(L->st.source_errors % 1000))
				live_log("nflog: %s", hg_source_error(s));
		}
		break;
	}
	return n;
}


int live_make_inspectors(struct live *L, struct hg_engine *e, struct hg_inspector **ins,
			 struct hg_inspector **ains)
{
	struct hg_inspect_callbacks cb = {.alert = on_alert, .flow_end = on_flow_end, .ud = L};
	struct hg_inspect_callbacks acb = {.alert = on_kernel_alert, .ud = L};
	*ins = hg_inspector_new(e, &L->ro.inspect, &cb);
	struct hg_inspect_config ac = L->ro.inspect;
	ac.flow.max_flows = 4096;
	*ains = hg_inspector_new(e, &ac, &acb);
	if (!*ins || !*ains) {
		hg_inspector_free(*ins);
		hg_inspector_free(*ains);
		return -1;
	}
	return 0;
}
