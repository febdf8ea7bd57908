/* run_table.c - `hostgate run`'s table: loads the rules and replaces the
 * table in the kernel in one transaction that keeps the verdict sets at a
 * reload (and denies the flows the new rules revoke), and empties them at
 * the daemon's start; the custom action counters still in use stay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hostgate/order.h"
#include "hostgate/table.h"
#include "hostgate/table_read.h"
#include "run_live.h"

static bool is_verdict_set(const char *name)
{
	for (int s = 0; s < HG_VSET_N; s++)
		if (!strcmp(hg_vset_name((enum hg_vset)s), name))
			return true;
	return false;
}

/* Writes the first lines of the replacing transaction: the deletion of
 * every object of the table now in the kernel except the verdict sets,
 * which the new table then declares again unchanged (a no-op), so their
 * elements survive by construction: nothing is listed, parsed or re-added
 * element by element. With forget_verdicts (a daemon's first table) the
 * verdict sets are emptied instead: an earlier daemon's elements belong
 * to connections this one never saw end, so it could not destroy them
 * when a new connection takes their tuple and, possibly, the freed
 * conntrack entry's id (the key's last field). The connections it allowed
 * go on by their conntrack mark (the table accepts any generation's mark,
 * emit_nft.c); the rest come to this daemon, which resets those whose
 * start it never saw. Chains are flushed before any is deleted (jumps and
 * set references go with their rules). The objects are read back through
 * netlink (table_read.h), without their elements. 0, with nothing written
 * when there is no table yet; -1 when the table holds something we cannot
 * name (the caller then replaces the whole table). */
static int delete_all_but_verdicts(const char *table, bool forget_verdicts, const char *const *ca_values,
				   size_t n_ca, FILE *out)
{
	struct hg_table_objects objs;
	int r = hg_table_read_objects(table, &objs);
	if (r == -ENOENT)
		return 0;
	if (r) {
		live_log("cannot read the table back: %s", strerror(-r));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < objs.n; i++)
		if (!objs.v[i].kind)
			rc = -1;
	if (!rc) {
		fprintf(out, "table inet %s {}\n", table);
		for (size_t i = 0; i < objs.n; i++)
			if (!strcmp(objs.v[i].kind, "chain"))
				fprintf(out, "flush chain inet %s %s\n", table, objs.v[i].name);
		/* The TCP idle timeout objects stay too: deleting one would
		 * take it from the flows that use it (they would fall back to
		 * the kernel's five days); declared again it is a no-op, and
		 * another value is another object (emit_nft.c). */
		/* So do the custom action counters of the values the new rules
		 * still publish: their counts go on (run_custom.c). */
		for (size_t i = 0; i < objs.n; i++)
			if ((strcmp(objs.v[i].kind, "set") || !is_verdict_set(objs.v[i].name)) &&
			    (strcmp(objs.v[i].kind, "ct timeout") || strncmp(objs.v[i].name, HG_CT_TIMEOUT_PREFIX, strlen(HG_CT_TIMEOUT_PREFIX))) &&
			    (strcmp(objs.v[i].kind, "counter") || !live_custom_keeps(ca_values, n_ca, objs.v[i].name)))
				fprintf(out, "delete %s inet %s %s\n", objs.v[i].kind, table, objs.v[i].name);
		for (size_t i = 0; forget_verdicts && i < objs.n; i++)
			if (!strcmp(objs.v[i].kind, "set") && is_verdict_set(objs.v[i].name))
				fprintf(out, "flush set inet %s %s\n", table, objs.v[i].name);
	}
	hg_table_objects_free(&objs);
	return rc;
}

/* The generation of the first table this daemon applies: one past the
 * generation of the table in the kernel (an earlier daemon's: its flows
 * then go through the verdict sets once more), else random. Never 0. */
static uint16_t start_generation(struct live *L)
{
	uint16_t gen = 0;
	if (hg_table_read_generation(L->nft.table, &gen) == 0)
		gen++;
	if (!gen && getrandom(&gen, sizeof(gen), 0) != sizeof(gen))
		gen = (uint16_t)live_now_us();
	return gen ? gen : 1;
}

/* Loads the rules, builds the engine and replaces the table (keeping the
 * verdict-set elements). At a reload (revoke), the flows the daemon
 * allowed are decided again by the new rules: those no longer allowed get
 * deny elements in the same transaction. On any failure nothing changes:
 * 0 or -1. */
int live_load_and_apply(struct live *L, struct hg_ruleset **rs_out, struct hg_engine **e_out, bool revoke)
{
	if (!L->ra.home_net_given) {
		free(L->home_net_auto);
		L->home_net_auto = live_inside_networks(L);
		L->ra.load.home_net = L->home_net_auto;
	}
	struct hg_ruleset *rs = hg_rules_args_load(&L->ra);
	if (!rs)
		return -1;
	struct hg_engine *e = hg_engine_new(rs);
	if (!e) {
		live_log("cannot build the engine: %s", strerror(errno));
		hg_ruleset_free(rs);
		return -1;
	}
	struct redecide rd = {
		.kept = L->kept, .act = L->act, .alerts = L->alerts, .inspect = &L->ro.inspect,
		.table = L->nft.table, .verdict_timeout = L->verdict_timeout, .rs = rs, .now = live_now_us(),
	};
	if (revoke && live_redecide_pass(&rd, e) < 0) {
		live_log("cannot decide the allowed flows again: %s", strerror(errno));
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return -1;
	}
	if (revoke && live_deny_revoked(&rd, false) < 0) {
		live_log("cannot deny the revoked flows: %s", hg_act_last_error(L->act));
		hg_vec_free(&rd.revoke);
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return -1;
	}
	uint16_t gen = L->gen ? (uint16_t)(L->gen + 1) : start_generation(L);
	gen = gen ? gen : 1;
	/* First try keeping the verdict sets (flows decided by an earlier
	 * daemon or ruleset keep their verdicts); if that transaction fails
	 * (an object we do not know, a verdict set of another shape), the
	 * whole table is replaced and those flows are decided again. */
	char *err = NULL;
	int r = -ENOMEM;
	size_t n_ca;
	const char **ca_values = hg_policy_custom_dimensions(rs->policy, &n_ca);
	/* what the custom action counters counted under the table now in
	 * the kernel (at start: the baseline), before this transaction
	 * deletes those the new rules no longer publish */
	live_custom_sample(L);
	bool replaced_whole = false;
	for (int keep = 1; keep >= 0; keep--) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			break;
		struct hg_nft_opts o = L->nft;
		o.keep_verdict_sets = keep && delete_all_but_verdicts(L->nft.table, !L->gen, ca_values, n_ca, m) == 0;
		o.ct_mark_gen = gen;
		r = hg_emit_nft(m, rs, &o);
		fclose(m);
		if (!r) {
			free(err);
			err = NULL;
			r = hg_apply_nft_text(buf, false, &err);
		}
		free(buf);
		if (!r && !o.keep_verdict_sets && revoke)
			live_deny_revoked(&rd, false); /* the new sets start empty */
		replaced_whole = !r && !o.keep_verdict_sets;
		if (!r || !o.keep_verdict_sets)
			break;
		live_log("cannot keep the verdict sets (%s): replacing the whole table", err ? strtok(err, "\n") : "?");
	}
	free(ca_values);
	if (replaced_whole)
		live_custom_table_replaced(L); /* its counters start from zero */
	if (r) {
		live_log("cannot apply the table: %s", err ? err : strerror(-r));
		free(err);
		if (revoke)
			live_deny_revoked(&rd, true);
		hg_vec_free(&rd.revoke);
		hg_engine_free(e);
		hg_ruleset_free(rs);
		return -1;
	}
	if (!L->gen)
		live_log("verdicts of an earlier daemon removed: the connections it allowed go on by their "
			 "conntrack mark, new ones are decided here");
	L->gen = gen;
	if (revoke) {
		live_finish_revoke(&rd, e);
		L->st.revoked += rd.revoke.n;
	}
	hg_vec_free(&rd.revoke);
	*rs_out = rs;
	*e_out = e;
	return 0;
}
