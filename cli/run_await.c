/* run_await.c - `hostgate run`: a TCP flow the daemon passed stays on its
 * path until the server has acknowledged the bytes that were inspected
 * (await.h; issue 11, insertion after the verdict). At the verdict the held
 * packets are released and their bytes kept; the allow elements are written
 * when an ACK copy (table.h HG_NFLOG_PREFIX_ACK: the server's, from its
 * side) covers them. Until then the client's segments come here: the same
 * bytes again go on, other bytes in the released range are dropped.
 *
 * Reload: the await state lives in the hold entry, which a reload keeps;
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
	struct hg_hold_flow *hf;
	const struct hg_hold_key *kept_key;
	uint64_t now;
};

static bool release_one(struct live *L, struct hg_hold_flow *hf, const struct hg_packet *p)
{
	if (hg_await_release(L->await, &hf->aw, p->tcp_seq, p->payload, p->payload_len))
		return true;
	L->st.await_conflicts++;
	return false;
}

static void release_cb(void *ud, const uint8_t *data, size_t len)
{
	struct release *r = ud;
	struct hg_decode_stats ds = {0};
	struct hg_packet p;
	if (!hg_decode(&ds, LINKTYPE_RAW, r->now, data, (uint32_t)len, (uint32_t)len, &p) || p.ip_proto != 6 ||
	    !release_one(r->L, r->hf, &p))
		return;
	hg_act_inject(r->L->act, data, len);
	hg_kept_add(r->L->kept, r->kept_key, data, len, r->now);
}

bool live_await_pass(struct live *L, struct hg_hold_flow *hf, const struct hg_packet *p,
		     const struct hg_hold_key *kept_key, uint64_t now)
{
	hg_await_begin(L->await, &hf->aw, hf->isn + 1, p->mark, now);
	struct release r = {.L = L, .hf = hf, .kept_key = kept_key, .now = now};
	if (hf->n_pkts)
		hg_hold_release(L->hold, hf, release_cb, &r);
	if (release_one(L, hf, p)) {
		hg_kept_add(L->kept, kept_key, p->l3, p->l3_len, now);
		hg_act_inject(L->act, p->l3, p->l3_len);
	}
	if (!hg_await_empty(&hf->aw))
		return true;
	/* Decided before any byte (nothing to wait for): allowed at once. */
	hg_await_end(L->await, &hf->aw, false);
	return false;
}

void live_await_client(struct live *L, struct hg_hold_flow *hf, const struct hg_packet *p)
{
	enum hg_await_cmp c = hg_await_compare(L->await, &hf->aw, p->tcp_seq, p->payload, p->payload_len);
	if (c == HG_AWAIT_NEW || c == HG_AWAIT_SAME) {
		hg_act_inject(L->act, p->l3, p->l3_len);
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
	/* The copy goes server to client; the hold entry is keyed client to
	 * server. */
	struct hg_hold_key k = {.src = p->dst, .dst = p->src, .sport = p->dport, .dport = p->sport, .proto = 6};
	struct hg_hold_flow *hf = hg_hold_get(L->hold, &k, false, NULL);
	if (!hf || !hf->aw.active || !hg_await_acked(&hf->aw, p->mark, p->tcp_ack))
		return;
	uint32_t ct_id = hf->aw.ct_id;
	hg_await_end(L->await, &hf->aw, true);
	live_write_verdict(L, hf, ct_id, true, now);
}

static void end_cb(void *ud, struct hg_hold_flow *hf)
{
	struct live *L = ud;
	hg_await_end(L->await, &hf->aw, false);
}

void live_await_free(struct live *L)
{
	if (L->hold && L->await)
		hg_hold_foreach(L->hold, end_cb, L);
	hg_await_pool_free(L->await);
	L->await = NULL;
}
