/* run_await.c - `hostgate run`: a TCP flow the daemon passed stays on its
 * path until the server has acknowledged the bytes that were inspected
 * (await.h; issue 11, insertion after the verdict). At the verdict the held
 * packets are released and their bytes kept; the allow elements are written
 * when an ACK copy (table.h HG_NFLOG_PREFIX_ACK: the server's, from its
 * side) covers them. Until then the client's segments come here: the same
 * bytes again go on, other bytes in the released range are dropped.
 *
 * Reload: the await state lives in the flow's area (struct hg_held_flow),
 * which a reload carries to the new inspector;
 * awaiting flows are not shown to the new inspector (they are decided: the
 * reload decides them again from their kept copy, and a revoked one gets
 * deny elements, which the kernel looks up before anything else). Restart:
 * the state dies with the daemon, and the flow's next segment finds no
 * entry and is reset (run_path.c), never allowed unchecked. */
#include <string.h>

#include "run_live.h"

/* Keeps a released held packet's bytes and sends it on; one that says
 * something else over bytes released before it is dropped. */
struct release {
	struct live *L;
	struct hg_held_flow *hf;
	struct hg_kept_rec *kept;
};

static bool release_one(struct live *L, struct hg_held_flow *hf, const struct hg_packet *p)
{
	if (hg_await_release(L->await, &hf->aw, p->tcp_seq, p->payload, p->payload_len))
		return true;
	L->st.await_conflicts++;
	return false;
}

static void release_cb(void *ud, const struct hg_packet *p)
{
	struct release *r = ud;
	if (p->ip_proto != 6 || !release_one(r->L, r->hf, p))
		return;
	hg_act_inject(r->L->act, p);
	hg_kept_add(r->L->kept, r->kept, p->l3, p->l3_len);
}

bool live_await_pass(struct live *L, struct hg_held_flow *hf, const struct hg_packet *p, struct hg_kept_rec *kept,
		     uint64_t now)
{
	hg_await_begin(L->await, &hf->aw, hf->isn + 1, p->mark, now);
	struct release r = {.L = L, .hf = hf, .kept = kept};
	hg_hold_release(L->hold, &hf->q, release_cb, &r);
	if (release_one(L, hf, p)) {
		hg_kept_add(L->kept, kept, p->l3, p->l3_len);
		hg_act_inject(L->act, p);
	}
	if (!hg_await_empty(&hf->aw))
		return true;
	/* Decided before any byte (nothing to wait for): allowed at once. */
	hg_await_end(L->await, &hf->aw, false);
	return false;
}

void live_await_client(struct live *L, struct hg_held_flow *hf, const struct hg_packet *p)
{
	/* Still waiting long after the verdict: the server's ACKs do not come
	 * in the way packets to it go out (asymmetric routing fails the
	 * table's reverse-path check), so the flow never leaves this path. */
	if (hg_await_slow(L->await, &hf->aw, live_now_us())) {
		struct hg_await_stats st;
		hg_await_get_stats(L->await, &st);
		if (st.slow <= 10)
			live_log("a passed flow still waits for its server's ACK %llu s after the verdict: its client "
				 "packets keep coming through the daemon (do the server's packets come in on the "
				 "interface its route goes out on?)",
				 HG_AWAIT_SLOW_US / 1000000);
	}
	enum hg_await_cmp c = hg_await_compare(L->await, &hf->aw, p->tcp_seq, p->payload, p->payload_len);
	if (c == HG_AWAIT_NEW || c == HG_AWAIT_SAME) {
		hg_act_inject(L->act, p);
		return;
	}
	/* Other bytes than the server may already have (or than were
	 * inspected): never sent on. The client, if honest, sends the same
	 * again. */
	struct hg_await_stats st;
	hg_await_get_stats(L->await, &st);
	uint64_t n = st.differ + st.unknown;
	if (n < 10 || !(n % 1000))
		live_log("a re-sent segment of a passed flow %s the bytes inspected: dropped (%llu so far)",
			 c == HG_AWAIT_DIFFERS ? "differs from" : "cannot be compared with", (unsigned long long)n);
}

void live_await_ack(struct live *L, const struct hg_packet *p, uint64_t now)
{
	L->st.ack_copies++;
	if (p->ip_proto != 6 || !p->l4)
		return;
	/* The copy goes server to client: the flow's lookup is the same both
	 * ways. */
	struct hg_flow *f = hg_inspector_find(L->ins, p);
	struct hg_held_flow *hf = f ? hg_inspect_area(f) : NULL;
	if (!hf || !hf->aw.active || !hg_await_acked(&hf->aw, p->mark, p->tcp_ack))
		return;
	uint32_t ct_id = hf->aw.ct_id;
	hg_await_end(L->await, &hf->aw, true);
	hg_held_write_verdict(L->act, hf, f, ct_id, true, L->verdict_timeout, now);
}
