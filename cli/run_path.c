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

static void on_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct live *L = ud;
	run_log_alert(L->alerts, L->rs, ev, a);
}

static void on_flow_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	struct live *L = ud;
	const struct hg_flow *f = ev->flow;
	struct hg_held_flow *hf = ev->area;
	/* A flow a reload carried over that no packet started: nothing to log. */
	if (f->d[HG_DIR_TO_SERVER].pkts || f->d[HG_DIR_TO_CLIENT].pkts)
		run_log_flow_end(L->flows, ev, why);
	/* An allowed connection's elements go with it (its conntrack id may
	 * come back with the next connection on the tuple); the SYN that ended
	 * it (port reuse) is sent on only after the commit. Not when the whole
	 * inspector goes (reload, exit): the kernel keeps those verdicts. */
	if (hf->state == HG_HELD_S_PASSED && hf->ct_id && !L->dropping_inspector) {
		struct hg_act_tuple t = {.cli = f->cli, .srv = f->srv, .cport = f->cport, .sport = f->sport,
					 .proto = f->proto, .ct_id = hf->ct_id};
		hg_act_forget(L->act, &t);
	}
	/* Whatever is still held for it is dropped: fail closed. */
	hg_hold_discard(L->hold, &hf->q);
	hg_await_end(L->await, &hf->aw, false);
}

static void on_kernel_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct live *L = ud;
	run_log_alert(L->alerts, L->rs, ev, a);
}

/* Commits the verdicts queued during one poll round. The packets of the
 * flows they allow were re-injected already: an allowed flow pays the
 * decision, not the transaction. */
void live_flush_batch(struct live *L)
{
	if (hg_act_pending(L->act))
		hg_act_commit(L->act);
}

static void handle_packet(struct live *L, const struct hg_packet *p);

/* A held packet brought back after a reload, as if it came now (with the
 * packet that brought it). */
struct refeed {
	struct live *L;
	uint64_t ts_us;
};

static void refeed_cb(void *ud, const struct hg_packet *p)
{
	struct refeed *rf = ud;
	struct hg_packet q = *p;
	q.ts_us = rf->ts_us;
	rf->L->st.refed++;
	handle_packet(rf->L, &q);
}

/* Re-injects a released packet and keeps a copy for the next reload. */
struct inject_keep {
	struct live *L;
	struct hg_kept_rec *kept;
};

static void inject_cb(void *ud, const struct hg_packet *p)
{
	struct live *L = ud;
	hg_act_inject(L->act, p);
}

static void inject_keep_cb(void *ud, const struct hg_packet *p)
{
	struct inject_keep *ik = ud;
	hg_act_inject(ik->L->act, p);
	hg_kept_add(ik->L->kept, ik->kept, p->l3, p->l3_len);
}

/* The verdict of the connection p belongs to (its conntrack id, which the
 * table put in its mark), both directions. Not for a SYN: the conntrack
 * entry of a held SYN dies with it (the re-injected SYN makes another). */
static void write_verdict(struct live *L, struct hg_held_flow *hf, const struct hg_flow *flow,
			  const struct hg_packet *p, bool allow, uint64_t now)
{
	if (!hg_held_is_syn(p))
		hg_held_write_verdict(L->act, hf, flow, p->mark, allow, L->verdict_timeout, now);
}

/* A flow just allowed: what decided it is kept (the held packets and p),
 * so a reload decides it again with the new rules, and sent on now, what
 * was held first. Its verdict is committed at the end of this poll round;
 * until the kernel holds it the flow's next packets come here again, in
 * order, and are sent the same way. A TCP flow's allow waits for the
 * server's ACK of what was inspected (run_await.c). */
static void allow_now(struct live *L, struct hg_held_flow *hf, struct hg_flow *flow, const struct hg_packet *p,
		      uint64_t now)
{
	L->st.flows_decided[HG_VERDICT_PASS]++;
	live_note_verdict_latency(L, now > p->ts_us ? now - p->ts_us : 0);
	struct hg_hold_key kk;
	hg_held_key(p, &kk);
	struct hg_kept_rec *kept = hg_kept_start(L->kept, &kk, now);
	if (p->ip_proto == 6 && !hg_held_is_syn(p)) {
		if (!live_await_pass(L, hf, p, kept, now))
			write_verdict(L, hf, flow, p, true, now);
		return;
	}
	write_verdict(L, hf, flow, p, true, now);
	hg_hold_release(L->hold, &hf->q, inject_keep_cb, &(struct inject_keep){L, kept});
	hg_kept_add(L->kept, kept, p->l3, p->l3_len);
	hg_act_inject(L->act, p);
}

/* One decoded client packet of a held flow: its flow looked up in the
 * inspector's table (the only table), the handshake the inspector needs,
 * the verdict, and what it means for the packet and the ones held. */
static void handle_packet(struct live *L, const struct hg_packet *p)
{
	bool syn = hg_held_is_syn(p);
	if (syn && p->payload_len) {
		/* TCP Fast Open (or any SYN with data): refused. The client
		 * sends a plain SYN again and the data after the handshake,
		 * where it is inspected like any other (RFC 7413 §4.2.1). */
		L->st.syn_data_refused++;
		return;
	}
	struct hg_flow *flow = syn ? NULL : hg_inspector_find(L->ins, p);
	struct hg_held_flow *hf = flow ? hg_inspect_area(flow) : NULL;
	if (hf && hf->aw.active) {
		/* Passed, the server's ACK not seen yet: compared with what
		 * was released, not inspected again. */
		live_await_client(L, hf, p);
		return;
	}
	switch (hg_held_prepare(L->ins, hf, p)) {
	case HG_HELD_NO_START:
		/* We never saw this flow's SYN (a restart, an evicted flow):
		 * where its stream starts is unknown, so nothing of it can be
		 * allowed. Resolved now rather than held forever: a reset,
		 * and the client connects again. */
		L->st.no_syn_reset++;
		if (!(p->tcp_flags & HG_TCP_RST))
			hg_act_tcp_reset(L->act, p);
		return;
	case HG_HELD_REFEED:
		/* The packets held so far go to the new rules first, in order
		 * (decided, held again or dropped), counted once when they came. */
		hg_hold_release(L->hold, &hf->q, refeed_cb, &(struct refeed){L, p->ts_us});
		break;
	case HG_HELD_INSPECT:
		break;
	}
	enum hg_verdict v = hg_inspector_packet(L->ins, p, &flow);
	/* No flow (a packet the inspector skipped): nothing to hold it for. */
	if (!flow)
		return;
	/* The flow's state now: the packet may have ended the flow looked up
	 * above and started another. */
	hf = hg_inspect_area(flow);
	/* A SYN that ended an allowed connection on its tuple queued the
	 * destruction of that one's elements: in the kernel before the SYN
	 * goes on (and its conntrack entry takes the old one's place). Only
	 * then: other flows' verdicts wait for the round's commit (a commit
	 * before every SYN that found one queued was 0.6 commits a flow under
	 * load, and sat between the SYN and its server). */
	if (syn && hg_act_pending_removals(L->act))
		live_flush_batch(L);
	uint64_t now = live_now_us();
	switch (hg_held_decide(hf, flow, p, &v)) {
	case HG_HELD_SEND:
		L->st.passthrough++;
		hg_act_inject(L->act, p);
		break;
	case HG_HELD_HOLD:
		hg_hold_push(L->hold, &hf->q, p);
		break;
	case HG_HELD_ALLOW:
		allow_now(L, hf, flow, p, now);
		break;
	case HG_HELD_ALLOWED:
		if (hg_held_verdict_stale(hf, p, now))
			write_verdict(L, hf, flow, p, true, now);
		hg_hold_release(L->hold, &hf->q, inject_cb, L);
		hg_act_inject(L->act, p);
		break;
	case HG_HELD_DENY:
		L->st.flows_decided[v]++;
		live_note_verdict_latency(L, now > p->ts_us ? now - p->ts_us : 0);
		write_verdict(L, hf, flow, p, false, now);
		hg_hold_discard(L->hold, &hf->q);
		if (v == HG_VERDICT_REJECT && p->ip_proto == 6)
			hg_act_tcp_reset(L->act, p);
		break;
	case HG_HELD_DENIED:
		if (hg_held_verdict_stale(hf, p, now))
			write_verdict(L, hf, flow, p, false, now);
		break;
	}
}

/* A frame from NFLOG: decoded once, here. */
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
	handle_packet(L, &p);
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


bool live_carry_flow(void *ud, void *area)
{
	(void)ud;
	struct hg_held_flow *hf = area;
	hf->refeed = true;
	hf->synack_fed = false;
	return true;
}

int live_make_inspectors(struct live *L, struct hg_engine *e, struct hg_inspector **ins,
			 struct hg_inspector **ains)
{
	struct hg_inspect_callbacks cb = {.alert = on_alert, .flow_end = on_flow_end, .ud = L};
	struct hg_inspect_callbacks acb = {.alert = on_kernel_alert, .ud = L};
	struct hg_inspect_config c = L->ro.inspect;
	c.user_size = sizeof(struct hg_held_flow);
	*ins = hg_inspector_new(e, &c, &cb);
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
