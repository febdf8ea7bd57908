/* run_reload.c - `hostgate run` at SIGHUP: the flows the daemon allowed,
 * decided again by the new rules from their kept client packets; the ones
 * no longer allowed get deny elements in the transaction that replaces
 * the table, their allow elements deleted and their alerts logged after. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "run_reload.h"

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct hg_hold_key));
}

static void on_redecide_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	struct redecide *rd = ud;
	if (rd->logging)
		run_log_alert(rd->alerts, rd->rs, ev, a);
}

static bool redecide_cb(void *ud, const struct hg_hold_key *key, const uint8_t *pkts, size_t n,
			uint64_t created_us)
{
	struct redecide *rd = ud;
	if (rd->logging) {
		if (!bsearch(key, rd->revoke.v, rd->revoke.n, sizeof(*key), key_cmp))
			return false;
		hg_held_redecide(rd->ins, pkts, n, rd->now);
		return true; /* denied now: nothing more to decide */
	}
	/* A flow whose allow elements timed out is decided again too: the
	 * table's earlier-generation rule still lets it through while
	 * conntrack tracks it, so a deny element is what stops it. */
	(void)created_us;
	if (!n) {
		rd->no_bytes++;
		return false;
	}
	rd->checked++;
	enum hg_verdict v = hg_held_redecide(rd->ins, pkts, n, rd->now);
	if (v == HG_VERDICT_DROP || v == HG_VERDICT_REJECT)
		hg_vec_push(&rd->revoke, *key);
	else if (v == HG_VERDICT_PASS)
		rd->still++;
	else
		rd->undecided++; /* the new rules want more than was kept: kept allowed */
	return false;
}

int live_redecide_pass(struct redecide *rd, struct hg_engine *e)
{
	struct hg_inspect_callbacks cb = {.alert = on_redecide_alert, .ud = rd};
	struct hg_inspect_config c = *rd->inspect;
	struct hg_kept_stats ks;
	hg_kept_get_stats(rd->kept, &ks);
	c.flow.max_flows = (uint32_t)(ks.flows > 1024 ? ks.flows + 1 : 1024);
	rd->ins = hg_inspector_new(e, &c, &cb);
	if (!rd->ins)
		return -1;
	hg_kept_foreach(rd->kept, redecide_cb, rd);
	hg_inspector_free(rd->ins);
	rd->ins = NULL;
	if (!rd->logging && rd->revoke.n) {
		/* Sorted for the second pass, once each (two records of one
		 * connection: it was decided twice). */
		qsort(rd->revoke.v, rd->revoke.n, sizeof(*rd->revoke.v), key_cmp);
		size_t n = 1;
		for (size_t i = 1; i < rd->revoke.n; i++)
			if (key_cmp(&rd->revoke.v[i], &rd->revoke.v[n - 1]))
				rd->revoke.v[n++] = rd->revoke.v[i];
		rd->revoke.n = n;
	}
	return 0;
}

static bool revoked_cb(void *ud, const struct hg_hold_key *key, const uint8_t *pkts, size_t n, uint64_t created_us)
{
	(void)pkts, (void)n, (void)created_us;
	const struct redecide *rd = ud;
	return bsearch(key, rd->revoke.v, rd->revoke.n, sizeof(*key), key_cmp) != NULL;
}

static struct hg_act_tuple tuple_of(const struct hg_hold_key *k)
{
	return (struct hg_act_tuple){.cli = k->src, .srv = k->dst, .cport = k->sport, .sport = k->dport,
				     .proto = k->proto, .ct_id = k->ct_id};
}

/* The deny elements of the revoked flows, committed before the table that
 * revokes them replaces the old one: deny is looked up before allow and
 * before the new generation marks anything, so no packet of theirs passes
 * under the new rules (under the old ones they are denied a moment
 * early). Through netlink: nft 1.0.6 cannot parse a ct id in element text.
 * undo deletes them again (the reload failed). 0 or -errno. */
int live_deny_revoked(struct redecide *rd, bool undo)
{
	for (size_t i = 0; i < rd->revoke.n; i++) {
		struct hg_act_tuple t = tuple_of(&rd->revoke.v[i]);
		if (undo)
			hg_act_undeny(rd->act, &t);
		else
			hg_act_verdict(rd->act, &t, false, rd->verdict_timeout);
	}
	return rd->revoke.n ? hg_act_commit(rd->act) : 0;
}

/* After the new table is in: alerts of the revoked flows (the new rules'
 * sids), their allow elements deleted (one batch; one by one when an
 * element is already gone), their kept bytes dropped. */
void live_finish_revoke(struct redecide *rd, struct hg_engine *e)
{
	if (rd->revoke.n) {
		rd->logging = true;
		if (live_redecide_pass(rd, e) < 0)
			live_log("reload: cannot log the revoked flows' alerts: %s", strerror(errno));
		/* One transaction; if any element is gone (timed out: ENOENT
		 * fails the whole of it), flow by flow, each failure said. */
		for (size_t i = 0; i < rd->revoke.n; i++) {
			struct hg_act_tuple t = tuple_of(&rd->revoke.v[i]);
			hg_act_unallow(rd->act, &t);
		}
		int r = hg_act_commit(rd->act);
		size_t failed = 0, gone = 0;
		for (size_t i = 0; r && i < rd->revoke.n; i++) {
			struct hg_act_tuple t = tuple_of(&rd->revoke.v[i]);
			hg_act_unallow(rd->act, &t);
			int r1 = hg_act_commit(rd->act);
			gone += r1 == -ENOENT;
			failed += r1 && r1 != -ENOENT;
		}
		if (failed)
			live_log("reload: the allow elements of %zu revoked flows could not be deleted (%s); their deny "
				 "elements stop them",
				 failed, hg_act_last_error(rd->act));
		if (gone)
			live_log("reload: %zu revoked flows had no allow elements left (timed out)", gone);
		hg_kept_foreach(rd->kept, revoked_cb, rd); /* left by a failed second pass */
	}
	struct hg_kept_stats ks;
	hg_kept_get_stats(rd->kept, &ks);
	live_log("reload: %zu allowed flows decided again: %zu revoked, %zu still allowed, %zu undecided (kept "
		 "allowed)",
		 rd->checked, rd->revoke.n, rd->still, rd->undecided);
	/* What was not decided again (no copy: evicted, over the per-flow
	 * cap) keeps its verdict: the allowed flows in the sets now, less the
	 * ones decided again and kept. (Flows carried over a restart have no
	 * elements: they keep theirs by their conntrack mark.) */
	live_count_allowed(rd->table, (long)(rd->still + rd->undecided), false, "reload: ",
			   " allowed flows without a kept copy keep their verdict (evicted: "
			   "%llu copies so far, over the per-flow cap: %zu)",
			   (unsigned long long)ks.evicted, rd->no_bytes);
}
