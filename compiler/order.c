/* order.c - the one place the policy's evaluation order is computed
 * (order.h): stateful rules as ANFW/Suricata order them (§2.3), stateless
 * rules by group and rule priority (§3.1). */
#include <stdlib.h>
#include <string.h>

#include "hostgate/order.h"

static int action_rank(enum hg_action a)
{
	/* §2.3: pass, then drop, then reject, then alert. */
	switch (a) {
	case HG_ACT_PASS: return 0;
	case HG_ACT_DROP: return 1;
	case HG_ACT_REJECT: return 2;
	default: return 3;
	}
}

/* Suricata orders rules of one action by their flowbits use before
 * priority (detect-engine-sigorder.c, flowbits after action): rules that
 * only set, then those that set and check, then those that only check,
 * then the rest. */
static int flowbits_rank(const struct hg_rule *r)
{
	bool set = false, read = false;
	for (size_t i = 0; i < r->n_flowbits; i++) {
		if (r->flowbits[i].op == HG_FB_ISSET || r->flowbits[i].op == HG_FB_ISNOTSET)
			read = true;
		else
			set = true;
	}
	return set ? (read ? 1 : 0) : read ? 2 : 3;
}

/* STRICT_ORDER: group priority order, then the order written. */
static int cmp_strict_order(const void *a, const void *b)
{
	const struct hg_rule_rank *x = a, *y = b;
	if (x->group_pos != y->group_pos)
		return x->group_pos < y->group_pos ? -1 : 1;
	return x->rule_pos < y->rule_pos ? -1 : x->rule_pos > y->rule_pos;
}

/* DEFAULT_ACTION_ORDER: action, flowbits use, priority, then position. */
static int cmp_action_order(const void *a, const void *b)
{
	const struct hg_rule_rank *x = a, *y = b;
	int ra = action_rank(x->act), rb = action_rank(y->act);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	int fa = flowbits_rank(x->r), fb = flowbits_rank(y->r);
	if (fa != fb)
		return fa < fb ? -1 : 1;
	uint32_t pa = hg_rule_priority(x->r), pb = hg_rule_priority(y->r);
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return cmp_strict_order(x, y);
}

/* Group references by priority, ties in the order written (qsort is not
 * stable: the address breaks ties, refs point into one array). */
static int cmp_ref_priority(const void *a, const void *b)
{
	const struct hg_group_ref *x = *(const struct hg_group_ref *const *)a;
	const struct hg_group_ref *y = *(const struct hg_group_ref *const *)b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x < y ? -1 : x > y;
}

static const struct hg_group_ref **refs_by_priority(const struct hg_group_ref *v, size_t n, bool sort)
{
	const struct hg_group_ref **refs = xcalloc(n + 1, sizeof(*refs));
	for (size_t i = 0; i < n; i++)
		refs[i] = &v[i];
	if (sort)
		qsort(refs, n, sizeof(*refs), cmp_ref_priority);
	return refs;
}

struct hg_rule_rank *hg_policy_stateful_order(const struct hg_policy *pol, size_t *n_out)
{
	bool strict = pol->rule_order == HG_ORDER_STRICT;
	/* Strict order: groups by reference priority (§2.3); finalize
	 * already sorted them, sorting again keeps this function whole. */
	const struct hg_group_ref **refs = refs_by_priority(pol->stateful_refs, pol->n_stateful_refs, strict);
	size_t n = 0;
	for (size_t i = 0; i < pol->n_stateful_refs; i++)
		if (refs[i]->group)
			n += refs[i]->group->n_rules;
	struct hg_rule_rank *v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (size_t i = 0; i < pol->n_stateful_refs; i++) {
		const struct hg_rule_group *g = refs[i]->group;
		if (!g || g->type != HG_GROUP_STATEFUL)
			continue;
		for (size_t k = 0; k < g->n_rules; k++) {
			const struct hg_rule *r = g->rules[k];
			if (r->never_matches)
				continue;
			enum hg_action act = r->action;
			/* Override DROP_TO_ALERT turns the group's blocking
			 * rules into alerts (API StatefulRuleGroupOverride). */
			if (refs[i]->drop_to_alert && (act == HG_ACT_DROP || act == HG_ACT_REJECT))
				act = HG_ACT_ALERT;
			v[n++] = (struct hg_rule_rank){r, g, act, (uint32_t)i, (uint32_t)k};
		}
	}
	free(refs);
	qsort(v, n, sizeof(*v), strict ? cmp_strict_order : cmp_action_order);
	*n_out = n;
	return v;
}

static int cmp_sl(const void *a, const void *b)
{
	const struct hg_sl_rank *x = a, *y = b;
	if (x->group_pos != y->group_pos)
		return x->group_pos < y->group_pos ? -1 : 1;
	if (x->r->priority != y->r->priority)
		return x->r->priority < y->r->priority ? -1 : 1;
	return x->r < y->r ? -1 : x->r > y->r;
}

struct hg_sl_rank *hg_policy_stateless_order(const struct hg_policy *pol, size_t *n_out)
{
	const struct hg_group_ref **refs = refs_by_priority(pol->stateless_refs, pol->n_stateless_refs, true);
	size_t n = 0;
	for (size_t i = 0; i < pol->n_stateless_refs; i++)
		if (refs[i]->group)
			n += refs[i]->group->n_srules;
	struct hg_sl_rank *v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (size_t i = 0; i < pol->n_stateless_refs; i++) {
		const struct hg_rule_group *g = refs[i]->group;
		if (!g || g->type != HG_GROUP_STATELESS)
			continue;
		for (size_t k = 0; k < g->n_srules; k++)
			v[n++] = (struct hg_sl_rank){g->srules[k], g, (uint32_t)i};
	}
	free(refs);
	qsort(v, n, sizeof(*v), cmp_sl);
	*n_out = n;
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **hg_policy_custom_dimensions(const struct hg_policy *pol, size_t *n_out)
{
	size_t n_sl, n = pol->n_stateless_default_custom + pol->n_stateless_fragment_custom;
	struct hg_sl_rank *sl = hg_policy_stateless_order(pol, &n_sl);
	for (size_t i = 0; i < n_sl; i++)
		n += sl[i].r->n_custom_actions;
	const char **v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (size_t i = 0; i < n_sl; i++)
		for (size_t k = 0; k < sl[i].r->n_custom_actions; k++)
			v[n++] = sl[i].r->custom_dimensions[k];
	free(sl);
	for (size_t k = 0; k < pol->n_stateless_default_custom; k++)
		v[n++] = pol->stateless_default_dimensions[k];
	for (size_t k = 0; k < pol->n_stateless_fragment_custom; k++)
		v[n++] = pol->stateless_fragment_dimensions[k];
	qsort(v, n, sizeof(*v), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || strcmp(v[i], v[u - 1]))
			v[u++] = v[i];
	*n_out = u;
	return v;
}
