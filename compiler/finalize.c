/* finalize.c - the step between loading and emitting: picks or synthesizes
 * the firewall policy, puts its rule groups in evaluation order, resolves
 * variables and address/port expressions into sets, generates the rules of
 * domain lists exactly as ANFW does (reference/anfw.md §1.3), and checks
 * what ANFW checks: rule order, priorities, duplicate sids, capacity. */
#include "hostgate/ir.h"
#include "hostgate/geoip.h"
#include "hostgate/refset.h"

#include <limits.h>
#include <string.h>

/* The synthesized policy's and --home-net's pseudo-files for diagnostics. */
static const char home_net_file[] = "--home-net";

struct fin {
	struct hg_ruleset *rs;
	const struct hg_load_opts *o;
	struct hg_diag *d;
	struct hg_policy *p;
	HG_VEC(const struct hg_var *) failed; /* vars whose definition failed */
	/* --reference-set files, read on first use (index as in o->refsets). */
	struct hg_ipset *refsets;
	uint8_t *ref_state; /* 0 unread, 1 read, 2 failed */
	/* --geoip-db, opened at the first geoip rule. */
	struct hg_geoip_db *geo;
	bool geo_tried;
};

/* ------------------------------------------------------------- scopes */

/* Where a name is looked up: a group's RuleVariables, then the policy's;
 * HOME_NET and EXTERNAL_NET fall back to the policy's effective sets. */
struct scope {
	struct hg_var **vars;
	size_t n_vars;
	const struct scope *parent;
};

static bool var_failed(const struct fin *f, const struct hg_var *v)
{
	for (size_t i = 0; i < f->failed.n; i++)
		if (f->failed.v[i] == v)
			return true;
	return false;
}

static struct hg_var *scope_find(const struct scope *s, const char *name, const struct scope **where)
{
	for (; s; s = s->parent)
		for (size_t i = 0; i < s->n_vars; i++)
			if (!strcmp(s->vars[i]->name, name)) {
				*where = s;
				return s->vars[i];
			}
	return NULL;
}

static const char *kind_name(enum hg_var_kind k)
{
	return k == HG_VAR_IP ? "an IP set" : "a port set";
}

static void undefined_var(struct fin *f, const struct scope *s, const struct hg_expr *e, enum hg_var_kind want)
{
	/* Candidates: every name visible here of the wanted kind. */
	HG_VEC(const char *) names = {0};
	if (want == HG_VAR_IP) {
		hg_vec_push(&names, "HOME_NET");
		hg_vec_push(&names, "EXTERNAL_NET");
	}
	for (const struct scope *x = s; x; x = x->parent)
		for (size_t i = 0; i < x->n_vars; i++)
			if (x->vars[i]->kind == want)
				hg_vec_push(&names, x->vars[i]->name);
	hg_vec_push(&names, NULL);
	const char *near = hg_diag_nearest(e->text, names.v);
	if (near)
		hg_diag_error(f->d, e->loc, "undefined variable '$%s'; did you mean '$%s'?", e->text, near);
	else
		hg_diag_error(f->d, e->loc, "undefined variable '$%s'", e->text);
	hg_vec_free(&names);
}

/* ------------------------------------------------------ literal parsing */

static bool parse_port_num(const char *s, size_t n, uint16_t *out)
{
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* "80", "1024:", ":1023", "1000:2000" (Suricata port syntax). */
static bool parse_port_literal(const char *s, uint16_t *lo, uint16_t *hi)
{
	size_t n = strlen(s);
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return parse_port_num(s, n, lo) && (*hi = *lo, true);
	size_t a = (size_t)(colon - s), b = n - a - 1;
	if (a == 0 && b == 0)
		return false;
	*lo = 0;
	*hi = 65535;
	if (a && !parse_port_num(s, a, lo))
		return false;
	if (b && !parse_port_num(colon + 1, b, hi))
		return false;
	return *lo <= *hi;
}

/* ---------------------------------------------------- set resolution */

/* @NAME: ANFW's IP set reference (ReferenceSets.IPSetReferences); the
 * CIDRs come from --reference-set NAME=FILE. */
static bool lookup_refset(struct fin *f, const struct hg_expr *e, struct hg_ipset *out)
{
	size_t i;
	for (i = 0; i < f->o->n_refsets; i++)
		if (!strcmp(f->o->refsets[i].name, e->text))
			break;
	if (i == f->o->n_refsets) {
		hg_diag_error(f->d, e->loc,
			      "IP set reference '@%s' is not given: pass --reference-set %s=FILE (the prefix "
			      "list's CIDRs, one a line)",
			      e->text, e->text);
		return false;
	}
	if (!f->refsets) {
		f->refsets = xcalloc(f->o->n_refsets, sizeof(*f->refsets));
		f->ref_state = xcalloc(f->o->n_refsets, 1);
	}
	if (f->ref_state[i] == 0)
		f->ref_state[i] = hg_refset_load(f->rs->arena, f->o->refsets[i].value, f->o->max_file_bytes,
						 &f->refsets[i], f->d) ? 1 : 2;
	if (f->ref_state[i] != 1)
		return false;
	hg_ipset_copy(out, &f->refsets[i]);
	return true;
}

static bool resolve_ip(struct fin *f, const struct scope *s, const struct hg_expr *e, struct hg_ipset *out);
static bool resolve_port(struct fin *f, const struct scope *s, const struct hg_expr *e,
			 struct hg_portset *out);
static bool resolve_var(struct fin *f, const struct scope *s, struct hg_var *v);

/* A variable's definitions are a list: positives united, negatives taken
 * away ([a, !b] = a minus b), as Suricata reads a bracketed list. */
static bool resolve_var(struct fin *f, const struct scope *s, struct hg_var *v)
{
	if (v->resolved)
		return !var_failed(f, v);
	if (v->resolving) {
		hg_diag_error(f->d, v->loc, "variable '%s' is defined in terms of itself (a cycle of $ references)",
			      v->name);
		hg_vec_push(&f->failed, v);
		return false;
	}
	v->resolving = true;
	struct hg_expr list = {.loc = v->loc, .kind = HG_EXPR_LIST, .items = v->defs, .n_items = v->n_defs};
	bool ok;
	if (v->n_defs == 0) {
		hg_diag_error(f->d, v->loc, "variable '%s' has no Definition", v->name);
		ok = false;
	} else if (v->kind == HG_VAR_IP) {
		ok = resolve_ip(f, s, &list, &v->ips);
	} else {
		ok = resolve_port(f, s, &list, &v->ports);
	}
	v->resolving = false;
	v->resolved = true;
	if (!ok && !var_failed(f, v))
		hg_vec_push(&f->failed, v);
	return ok;
}

/* $NAME as an IP set: a variable in scope, else the built-in HOME_NET /
 * EXTERNAL_NET of the policy (§1.5: a group that sets HOME_NET but not
 * EXTERNAL_NET inherits the policy's EXTERNAL_NET). */
static bool lookup_ip_var(struct fin *f, const struct scope *s, const struct hg_expr *e, struct hg_ipset *out)
{
	const struct scope *where = NULL;
	struct hg_var *v = scope_find(s, e->text, &where);
	if (v) {
		if (v->kind != HG_VAR_IP) {
			hg_diag_error(f->d, e->loc, "'$%s' is %s, used here as an address", e->text,
				      kind_name(v->kind));
			return false;
		}
		if (!resolve_var(f, where, v))
			return false;
		hg_ipset_copy(out, &v->ips);
		return true;
	}
	bool home = !strcmp(e->text, "HOME_NET"), ext = !strcmp(e->text, "EXTERNAL_NET");
	if (home || ext) {
		if (!f->p->home_net.n && !f->p->external_net.n) {
			/* Only while the policy's own HOME_NET is being resolved. */
			hg_diag_error(f->d, e->loc, "the policy's HOME_NET cannot refer to $%s", e->text);
			return false;
		}
		hg_ipset_copy(out, home ? &f->p->home_net : &f->p->external_net);
		return true;
	}
	undefined_var(f, s, e, HG_VAR_IP);
	return false;
}

static bool resolve_ip(struct fin *f, const struct scope *s, const struct hg_expr *e, struct hg_ipset *out)
{
	struct hg_ipset set = {0};
	bool ok = true;
	switch (e->kind) {
	case HG_EXPR_ANY:
		hg_ipset_all(&set);
		break;
	case HG_EXPR_LITERAL: {
		struct hg_ip lo, hi;
		if (!hg_ip_parse_cidr(e->text, &lo, &hi)) {
			hg_diag_error(f->d, e->loc, "invalid address or CIDR '%s'", e->text);
			ok = false;
			break;
		}
		hg_ipset_add(&set, &lo, &hi);
		break;
	}
	case HG_EXPR_VAR:
		ok = lookup_ip_var(f, s, e, &set);
		break;
	case HG_EXPR_REF:
		ok = lookup_refset(f, e, &set);
		break;
	case HG_EXPR_LIST: {
		/* Collect every item's ranges, then sort and merge once: a list
		 * of thousands of CIDRs costs O(n log n), not n merges. */
		HG_VEC(struct hg_iprange) pos = {0}, neg = {0};
		struct hg_ipset item = {0};
		bool any_pos = false;
		for (size_t i = 0; i < e->n_items; i++) {
			const struct hg_expr *it = e->items[i];
			struct hg_expr plain = *it; /* the item without its own '!' */
			plain.negated = false;
			if (!resolve_ip(f, s, &plain, &item)) {
				ok = false;
				continue;
			}
			any_pos |= !it->negated;
			for (size_t k = 0; k < item.n; k++)
				hg_vec_push(it->negated ? &neg : &pos, item.r[k]);
		}
		hg_ipset_free(&item);
		struct hg_ipset ps = {pos.v, pos.n}, ns = {neg.v, neg.n};
		hg_ipset_normalize(&ps);
		hg_ipset_normalize(&ns);
		if (!any_pos)
			hg_ipset_all(&ps); /* [!a, !b]: everything but a and b */
		hg_ipset_subtract(&ps, &ns);
		hg_ipset_free(&ns);
		set = ps;
		break;
	}
	}
	if (ok && e->negated)
		hg_ipset_complement(&set);
	if (!ok) {
		hg_ipset_free(&set);
		return false;
	}
	hg_ipset_free(out);
	*out = set;
	return true;
}

static bool lookup_port_var(struct fin *f, const struct scope *s, const struct hg_expr *e,
			    struct hg_portset *out)
{
	const struct scope *where = NULL;
	struct hg_var *v = scope_find(s, e->text, &where);
	if (!v) {
		if (!strcmp(e->text, "HOME_NET") || !strcmp(e->text, "EXTERNAL_NET")) {
			hg_diag_error(f->d, e->loc, "'$%s' is an IP set, used here as a port", e->text);
			return false;
		}
		undefined_var(f, s, e, HG_VAR_PORT);
		return false;
	}
	if (v->kind != HG_VAR_PORT) {
		hg_diag_error(f->d, e->loc, "'$%s' is %s, used here as a port", e->text, kind_name(v->kind));
		return false;
	}
	if (!resolve_var(f, where, v))
		return false;
	hg_portset_copy(out, &v->ports);
	return true;
}

static bool resolve_port(struct fin *f, const struct scope *s, const struct hg_expr *e,
			 struct hg_portset *out)
{
	struct hg_portset set = {0};
	bool ok = true;
	switch (e->kind) {
	case HG_EXPR_ANY:
		hg_portset_all(&set);
		break;
	case HG_EXPR_LITERAL: {
		uint16_t lo, hi;
		if (!parse_port_literal(e->text, &lo, &hi)) {
			hg_diag_error(f->d, e->loc, "invalid port or port range '%s'", e->text);
			ok = false;
			break;
		}
		hg_portset_add(&set, lo, hi);
		break;
	}
	case HG_EXPR_VAR:
		ok = lookup_port_var(f, s, e, &set);
		break;
	case HG_EXPR_REF:
		hg_diag_error(f->d, e->loc, "'@%s': references name IP sets, not ports", e->text);
		ok = false;
		break;
	case HG_EXPR_LIST: {
		struct hg_portset pos = {0}, neg = {0}, item = {0};
		bool any_pos = false;
		for (size_t i = 0; i < e->n_items; i++) {
			const struct hg_expr *it = e->items[i];
			struct hg_expr plain = *it;
			plain.negated = false;
			item.n = 0;
			if (!resolve_port(f, s, &plain, &item)) {
				ok = false;
				continue;
			}
			if (it->negated) {
				hg_portset_union(&neg, &item);
			} else {
				hg_portset_union(&pos, &item);
				any_pos = true;
			}
		}
		hg_portset_free(&item);
		if (!any_pos)
			hg_portset_all(&pos);
		hg_portset_subtract(&pos, &neg);
		hg_portset_free(&neg);
		set = pos;
		break;
	}
	}
	if (ok && e->negated)
		hg_portset_complement(&set);
	if (!ok) {
		hg_portset_free(&set);
		return false;
	}
	hg_portset_free(out);
	*out = set;
	return true;
}

/* ------------------------------------------------------------ policy */

static struct hg_policy *synthesize_policy(struct fin *f)
{
	struct hg_ruleset *rs = f->rs;
	struct hg_policy *p = hg_arena_alloc(rs->arena, sizeof(*p));
	p->loc = rs->n_groups ? rs->groups[0]->loc : (struct hg_loc){0};
	p->name = "hostgate-default";
	p->synthesized = true;
	p->stateless_default = HG_SL_FORWARD;
	p->stateless_fragment_default = HG_SL_FORWARD;
	p->stream_exception = HG_SEP_DROP;
	/* The rule order is the groups' (the first stateful group that states
	 * one decides); a group that disagrees is then reported as ANFW would
	 * report it against a real policy. */
	p->rule_order = HG_ORDER_DEFAULT_ACTION;
	size_t nsf = 0, nsl = 0;
	bool order_set = false;
	for (size_t i = 0; i < rs->n_groups; i++) {
		const struct hg_rule_group *g = rs->groups[i];
		if (g->type == HG_GROUP_STATEFUL) {
			nsf++;
			if (!order_set && g->has_rule_order) {
				p->rule_order = g->rule_order;
				order_set = true;
			}
		} else {
			nsl++;
		}
	}
	p->stateful_refs = hg_arena_alloc(rs->arena, (nsf + 1) * sizeof(*p->stateful_refs));
	p->stateless_refs = hg_arena_alloc(rs->arena, (nsl + 1) * sizeof(*p->stateless_refs));
	for (size_t i = 0; i < rs->n_groups; i++) {
		struct hg_rule_group *g = rs->groups[i];
		struct hg_group_ref *r = g->type == HG_GROUP_STATEFUL ? &p->stateful_refs[p->n_stateful_refs++]
								       : &p->stateless_refs[p->n_stateless_refs++];
		r->loc = g->loc;
		r->group = g;
		/* Input order is evaluation order; strict order wants numbers. */
		r->priority = g->type == HG_GROUP_STATEFUL ? (p->rule_order == HG_ORDER_STRICT
								      ? (uint32_t)p->n_stateful_refs
								      : 0)
							   : (uint32_t)p->n_stateless_refs;
	}
	return p;
}

static bool choose_policy(struct fin *f)
{
	struct hg_ruleset *rs = f->rs;
	if (rs->policy) /* a Firewall resource named it */
		return true;
	if (rs->n_policies == 0) {
		rs->policy = synthesize_policy(f);
		return true;
	}
	if (rs->n_policies == 1) {
		rs->policy = rs->policies[0];
		return true;
	}
	hg_diag_error(f->d, rs->policies[1]->loc,
		      "%zu firewall policies and no Firewall resource says which one applies (first: '%s')",
		      rs->n_policies, rs->policies[0]->name ? rs->policies[0]->name : "?");
	return false;
}

/* The group a ResourceArn names: a group's ARN, or its name after the
 * last '/' (arn:aws:network-firewall:REGION:ACCT:stateful-rulegroup/NAME). */
static struct hg_rule_group *find_group_by_arn(struct hg_ruleset *rs, const char *arn)
{
	for (size_t i = 0; i < rs->n_groups; i++)
		if (rs->groups[i]->arn && !strcmp(rs->groups[i]->arn, arn))
			return rs->groups[i];
	const char *slash = strrchr(arn, '/');
	const char *name = slash ? slash + 1 : arn;
	for (size_t i = 0; i < rs->n_groups; i++) {
		const struct hg_rule_group *g = rs->groups[i];
		if ((g->name && !strcmp(g->name, name)) || (g->logical_id && !strcmp(g->logical_id, name)))
			return rs->groups[i];
	}
	return NULL;
}

static bool resolve_refs(struct fin *f, struct hg_group_ref *refs, size_t n, enum hg_group_type type)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		struct hg_group_ref *r = &refs[i];
		if (!r->group && r->arn)
			r->group = find_group_by_arn(f->rs, r->arn);
		if (!r->group) {
			hg_diag_error(f->d, r->loc, "rule group reference '%s' matches no rule group in the inputs",
				      r->arn ? r->arn : "?");
			ok = false;
		} else if (r->group->type != type) {
			hg_diag_error(f->d, r->loc, "rule group '%s' is %s but referenced as %s", r->group->name,
				      r->group->type == HG_GROUP_STATEFUL ? "STATEFUL" : "STATELESS",
				      type == HG_GROUP_STATEFUL ? "stateful" : "stateless");
			ok = false;
		}
	}
	return ok;
}

static bool group_referenced(const struct hg_policy *p, const struct hg_rule_group *g)
{
	for (size_t i = 0; i < p->n_stateful_refs; i++)
		if (p->stateful_refs[i].group == g)
			return true;
	for (size_t i = 0; i < p->n_stateless_refs; i++)
		if (p->stateless_refs[i].group == g)
			return true;
	return false;
}

/* Appends a reference to g after the policy's own (priority one past the
 * highest where priorities order groups). */
static void attach_group(struct fin *f, struct hg_group_ref **refs, size_t *n, struct hg_rule_group *g,
			 bool numbered)
{
	struct hg_group_ref *v = hg_arena_alloc(f->rs->arena, (*n + 1) * sizeof(*v));
	if (*n)
		memcpy(v, *refs, *n * sizeof(*v));
	uint32_t prio = 0;
	for (size_t i = 0; numbered && i < *n; i++)
		if (v[i].priority > prio)
			prio = v[i].priority;
	v[*n] = (struct hg_group_ref){.loc = g->loc, .arn = g->arn, .priority = numbered ? prio + 1 : 0, .group = g};
	*refs = v;
	(*n)++;
	g->attached = true;
}

/* A group in the inputs that the policy does not reference would never be
 * enforced (ANFW evaluates only referenced groups): an error, unless
 * --attach-groups asks to append such groups, in input order. */
static bool check_loose_groups(struct fin *f)
{
	struct hg_policy *p = f->p;
	if (p->synthesized)
		return true;
	bool ok = true;
	for (size_t i = 0; i < f->rs->n_groups; i++) {
		struct hg_rule_group *g = f->rs->groups[i];
		if (group_referenced(p, g))
			continue;
		bool stateful = g->type == HG_GROUP_STATEFUL;
		if (!(f->o && f->o->attach_groups)) {
			hg_diag_error(f->d, g->loc,
				      "rule group '%s' is not referenced by firewall policy '%s', so it would never "
				      "be enforced; reference it in %s or pass --attach-groups",
				      g->name ? g->name : "?", p->name ? p->name : "?",
				      stateful ? "StatefulRuleGroupReferences" : "StatelessRuleGroupReferences");
			ok = false;
		} else if (stateful) {
			attach_group(f, &p->stateful_refs, &p->n_stateful_refs, g, p->rule_order == HG_ORDER_STRICT);
		} else {
			attach_group(f, &p->stateless_refs, &p->n_stateless_refs, g, true);
		}
	}
	return ok;
}

/* Stable insertion sort by priority: refs are few (ANFW allows 20). */
static void sort_refs(struct hg_group_ref *refs, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct hg_group_ref x = refs[i];
		size_t j = i;
		while (j > 0 && refs[j - 1].priority > x.priority) {
			refs[j] = refs[j - 1];
			j--;
		}
		refs[j] = x;
	}
}

/* Priorities present and unique where ANFW requires them. */
static bool check_ref_priorities(struct fin *f, struct hg_group_ref *refs, size_t n, const char *what)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (!refs[i].priority) {
			hg_diag_error(f->d, refs[i].loc, "%s rule group reference needs a Priority", what);
			ok = false;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (refs[j].priority == refs[i].priority) {
				hg_diag_error(f->d, refs[i].loc,
					      "%s rule group Priority %u is already used by rule group '%s'", what,
					      refs[i].priority, refs[j].group ? refs[j].group->name : "?");
				ok = false;
				break;
			}
	}
	return ok;
}

static const char *order_name(enum hg_rule_order o)
{
	return o == HG_ORDER_STRICT ? "STRICT_ORDER" : "DEFAULT_ACTION_ORDER";
}

static bool check_policy(struct fin *f)
{
	struct hg_policy *p = f->p;
	bool ok = resolve_refs(f, p->stateful_refs, p->n_stateful_refs, HG_GROUP_STATEFUL);
	ok &= resolve_refs(f, p->stateless_refs, p->n_stateless_refs, HG_GROUP_STATELESS);
	ok &= check_loose_groups(f);
	if (!p->tcp_idle_timeout)
		p->tcp_idle_timeout = HG_TCP_IDLE_DEFAULT;

	/* §3.1: stateless groups run by Priority, lowest first. */
	if (check_ref_priorities(f, p->stateless_refs, p->n_stateless_refs, "stateless"))
		sort_refs(p->stateless_refs, p->n_stateless_refs);
	else
		ok = false;

	/* §2.3: strict order evaluates groups by Priority; action order
	 * keeps the input order (only actions and priority matter there). */
	if (p->rule_order == HG_ORDER_STRICT) {
		if (check_ref_priorities(f, p->stateful_refs, p->n_stateful_refs, "STRICT_ORDER stateful"))
			sort_refs(p->stateful_refs, p->n_stateful_refs);
		else
			ok = false;
	}
	for (size_t i = 0; i < p->n_stateful_refs; i++) {
		const struct hg_rule_group *g = p->stateful_refs[i].group;
		if (!g)
			continue;
		enum hg_rule_order go = g->has_rule_order ? g->rule_order : HG_ORDER_DEFAULT_ACTION;
		if (go != p->rule_order) {
			hg_diag_error(f->d, p->stateful_refs[i].loc,
				      "rule group '%s' RuleOrder %s does not match the policy's %s", g->name,
				      order_name(go), order_name(p->rule_order));
			ok = false;
		}
	}

	/* §3.3: default actions exist only in strict order; at most one drop
	 * action; the established and app-layer families do not mix. */
	uint32_t sda = p->default_actions;
	if (sda && p->rule_order != HG_ORDER_STRICT) {
		hg_diag_error(f->d, p->loc,
			      "StatefulDefaultActions apply only under STRICT_ORDER; the policy's RuleOrder is "
			      "DEFAULT_ACTION_ORDER");
		ok = false;
	}
	uint32_t drops = sda & (HG_SDA_DROP_STRICT | HG_SDA_DROP_ESTABLISHED | HG_SDA_DROP_ESTABLISHED_APP_LAYER |
				HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER);
	if (drops & (drops - 1)) {
		uint32_t second = drops & (drops - 1);
		second &= ~(second & (second - 1));
		hg_diag_error(f->d, p->loc, "StatefulDefaultActions: choose at most one drop action, not %s and %s",
			      hg_sda_name(drops & ~(drops - 1)), hg_sda_name(second));
		ok = false;
	}
	uint32_t est = HG_SDA_DROP_ESTABLISHED | HG_SDA_ALERT_ESTABLISHED;
	uint32_t app = HG_SDA_DROP_ESTABLISHED_APP_LAYER | HG_SDA_ALERT_ESTABLISHED_APP_LAYER |
		       HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER | HG_SDA_ALERT_ESTABLISHED_APP_LAYER_TO_SERVER;
	if ((sda & est) && (sda & app)) {
		hg_diag_error(f->d, p->loc, "StatefulDefaultActions %s and %s cannot exist together",
			      hg_sda_name((sda & est) & ~((sda & est) - 1)),
			      hg_sda_name((sda & app) & ~((sda & app) - 1)));
		ok = false;
	}
	return ok;
}

/* HOME_NET: the policy's variable, else --home-net, else RFC 1918 plus
 * IPv6 ULA (ANFW's default is the VPC CIDR, which hostgate cannot know). */
static bool policy_home_net(struct fin *f)
{
	struct hg_policy *p = f->p;
	struct scope ps = {p->vars, p->n_vars, NULL};
	for (size_t i = 0; i < p->n_vars; i++) {
		struct hg_var *v = p->vars[i];
		if (strcmp(v->name, "HOME_NET"))
			continue;
		if (v->kind != HG_VAR_IP) {
			hg_diag_error(f->d, v->loc, "HOME_NET must be an IP set");
			return false;
		}
		if (!resolve_var(f, &ps, v))
			return false;
		hg_ipset_copy(&p->home_net, &v->ips);
		goto done;
	}
	if (f->o && f->o->home_net) {
		const char *s = f->o->home_net;
		bool ok = true;
		size_t pos = 0, len = strlen(s);
		while (pos <= len) {
			size_t end = pos;
			while (end < len && s[end] != ',')
				end++;
			size_t a = pos, b = end;
			while (a < b && (s[a] == ' ' || s[a] == '\t'))
				a++;
			while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
				b--;
			struct hg_loc loc = {home_net_file, 1, (uint32_t)a + 1};
			char *item = xstrndup(s + a, b - a);
			struct hg_ip lo, hi;
			if (!*item) {
				hg_diag_error(f->d, loc, "empty entry in the HOME_NET list");
				ok = false;
			} else if (!hg_ip_parse_cidr(item, &lo, &hi)) {
				hg_diag_error(f->d, loc, "invalid address or CIDR '%s'", item);
				ok = false;
			} else {
				hg_ipset_add(&p->home_net, &lo, &hi);
			}
			free(item);
			pos = end + 1;
		}
		if (!ok)
			return false;
		goto done;
	}
	static const char *const defaults[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"};
	for (size_t i = 0; i < HG_ARRAY_LEN(defaults); i++) {
		struct hg_ip lo, hi;
		hg_ip_parse_cidr(defaults[i], &lo, &hi);
		hg_ipset_add(&p->home_net, &lo, &hi);
	}
done:
	if (p->home_net.n == 0) {
		hg_diag_error(f->d, p->loc, "HOME_NET is empty");
		return false;
	}
	hg_ipset_copy(&p->external_net, &p->home_net);
	hg_ipset_complement(&p->external_net);
	return true;
}

/* ------------------------------------------------- domain-list rules */

static struct hg_expr *expr_new(struct fin *f, struct hg_loc loc, enum hg_expr_kind kind, const char *text)
{
	struct hg_expr *e = hg_arena_alloc(f->rs->arena, sizeof(*e));
	e->loc = loc;
	e->kind = kind;
	e->text = text;
	return e;
}

static struct hg_rule *gen_rule(struct fin *f, const struct hg_rule_group *g, const struct hg_domain_list *l,
				enum hg_action act, bool tls, uint32_t sid, const char *msg)
{
	struct hg_rule *r = hg_arena_alloc(f->rs->arena, sizeof(*r));
	r->loc = l->loc;
	r->action = act;
	r->proto = tls ? HG_PROTO_TLS : HG_PROTO_HTTP;
	r->src = expr_new(f, l->loc, HG_EXPR_VAR, "HOME_NET");
	r->sport = expr_new(f, l->loc, HG_EXPR_ANY, "any");
	r->dst = expr_new(f, l->loc, HG_EXPR_VAR, "EXTERNAL_NET");
	r->dport = expr_new(f, l->loc, HG_EXPR_ANY, "any");
	r->sid = sid;
	r->rev = 1;
	/* §1.6: priority is not allowed in strict order, so it disappears. */
	r->priority = g->has_rule_order && g->rule_order == HG_ORDER_STRICT ? 0 : 1;
	r->msg = msg;
	r->flow = HG_FLOW_TO_SERVER | HG_FLOW_ESTABLISHED;
	if (tls)
		r->ssl_state = HG_SSL_CLIENT_HELLO;
	return r;
}

static struct hg_match *match_new(struct fin *f, struct hg_loc loc, enum hg_match_kind kind, enum hg_buffer buf)
{
	struct hg_match *m = hg_arena_alloc(f->rs->arena, sizeof(*m));
	m->loc = loc;
	m->kind = kind;
	m->buffer = buf;
	m->offset = m->depth = -1;
	m->distance = m->within = INT32_MIN;
	return m;
}

static void list_build_matcher(struct hg_domain_list *l)
{
	if (l->matcher)
		return;
	l->matcher = hg_domain_matcher_new(l->n_targets);
	for (size_t i = 0; i < l->n_targets; i++)
		hg_domain_matcher_add(l->matcher, l->targets[i].name, strlen(l->targets[i].name), (uint32_t)i);
}

void hg_ruleset_build_matchers(const struct hg_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_groups; i++)
		if (rs->groups[i]->list)
			list_build_matcher(rs->groups[i]->list);
}

/* The rules ANFW generates for a RulesSourceList (§1.3), in its order:
 * per target type (TLS_SNI first, then HTTP_HOST) one rule standing for a
 * rule per target (sids sid_base.., one DOMAINSET match), then for an
 * ALLOWLIST the catch-all drops for TLS and HTTP. Strict-order groups get
 * no catch-alls: "strict order domain list rule groups do not automatically
 * create the drop rules behind the scenes" (§1.6, BP); the policy's default
 * action does that job there. */
static void gen_domain_rules(struct fin *f, struct hg_rule_group *g)
{
	struct hg_domain_list *l = g->list;
	if (!(f->o && f->o->lazy_matchers))
		list_build_matcher(l);
	if (g->n_rules)
		return; /* already expanded (e.g. by a test or an older loader) */

	static const enum hg_action acts[] = {HG_ACT_PASS, HG_ACT_DROP, HG_ACT_REJECT, HG_ACT_ALERT};
	static const char *const what[] = {"allowlisted", "denylisted", "rejectlisted", "alertlisted"};
	bool strict = g->has_rule_order && g->rule_order == HG_ORDER_STRICT;
	struct hg_rule *out[4];
	size_t n = 0;
	uint32_t sid = 1;
	for (int tls = 1; tls >= 0; tls--) {
		if (!(l->target_types & (tls ? HG_TARGET_TLS_SNI : HG_TARGET_HTTP_HOST)) || !l->n_targets)
			continue;
		const char *msg = hg_arena_printf(f->rs->arena, "matching %s %s FQDNs", tls ? "TLS" : "HTTP",
						  what[l->type]);
		struct hg_rule *r = gen_rule(f, g, l, acts[l->type], tls, sid, msg);
		struct hg_match *m = match_new(f, l->loc, HG_MATCH_DOMAINSET,
					       tls ? HG_BUF_TLS_SNI : HG_BUF_HTTP_HOST);
		m->list = l;
		m->sid_base = sid;
		r->matches = m;
		r->n_matches = 1;
		out[n++] = r;
		sid += (uint32_t)l->n_targets;
	}
	if (l->type == HG_LIST_ALLOWLIST && !strict) {
		if (l->target_types & HG_TARGET_TLS_SNI)
			out[n++] = gen_rule(f, g, l, HG_ACT_DROP, true, sid++,
					    "not matching any TLS allowlisted FQDNs");
		if (l->target_types & HG_TARGET_HTTP_HOST) {
			struct hg_rule *r = gen_rule(f, g, l, HG_ACT_DROP, false, sid++,
						     "not matching any HTTP allowlisted FQDNs");
			/* http.header_names always starts with \r\n (§6). */
			struct hg_match *m = match_new(f, l->loc, HG_MATCH_CONTENT, HG_BUF_HTTP_HEADER_NAMES);
			m->bytes = (const uint8_t *)"\r\n";
			m->len = 2;
			m->startswith = true;
			r->matches = m;
			r->n_matches = 1;
			out[n++] = r;
		}
	}
	g->rules = hg_arena_alloc(f->rs->arena, (n + 1) * sizeof(*g->rules));
	memcpy(g->rules, out, n * sizeof(*out));
	g->n_rules = n;
}

/* ----------------------------------------------------- rule checks */

static bool proto_is_transport(enum hg_proto p)
{
	return p == HG_PROTO_IP || p == HG_PROTO_TCP || p == HG_PROTO_UDP || p == HG_PROTO_ICMP;
}

/* How the engine has to evaluate a rule (§2.2, §6): an app-layer protocol,
 * a sticky buffer or ssl_state needs the app layer; a transport rule with
 * neither flow: nor content is IP-only (SIG_TYPE_IPONLY in Suricata). */
static enum hg_rule_class classify(const struct hg_rule *r)
{
	bool app = !proto_is_transport(r->proto) || (r->ssl_state | r->ssl_state_not) != 0 ||
		   r->has_app_layer || (r->ssl_version | r->ssl_version_not) != 0;
	for (size_t i = 0; i < r->n_matches; i++)
		app |= r->matches[i].buffer != HG_BUF_PAYLOAD;
	if (app)
		return HG_CLASS_APP;
	/* flowbits need the flow; ip_proto is a packet match in Suricata. */
	/* tcp.flags and dsize are packet keywords (SIG_MASK_REQUIRE_*):
	 * not IP-only. geoip is an address match and keeps the class. */
	if (r->flow || r->n_matches || r->n_flowbits || r->has_ip_proto || r->has_tcp_flags || r->has_dsize)
		return HG_CLASS_PACKET;
	return HG_CLASS_IP_ONLY;
}

/* A missing expression means "any" (stateless-style loaders). Suricata
 * refuses a rule whose address or port set comes out empty ("!any"). */
static bool resolve_rule(struct fin *f, const struct scope *s, struct hg_rule *r)
{
	static const struct hg_expr any = {.kind = HG_EXPR_ANY, .text = "any"};
	struct hg_expr *const exprs[] = {r->src, r->dst, r->sport, r->dport};
	bool ok = true;
	for (int i = 0; i < 4; i++) {
		const struct hg_expr *e = exprs[i] ? exprs[i] : &any;
		size_t n;
		if (i < 2) {
			struct hg_ipset *set = i == 0 ? &r->src_set : &r->dst_set;
			if (!resolve_ip(f, s, e, set)) {
				ok = false;
				continue;
			}
			n = set->n;
		} else {
			struct hg_portset *set = i == 2 ? &r->sport_set : &r->dport_set;
			if (!resolve_port(f, s, e, set)) {
				ok = false;
				continue;
			}
			n = set->n;
		}
		if (!n) {
			hg_diag_error(f->d, exprs[i] ? exprs[i]->loc : r->loc, "this %s expression matches nothing",
				      i < 2 ? "address" : "port");
			ok = false;
		}
	}
	return ok;
}

struct sid_pos {
	uint32_t sid;
	uint32_t idx;
};

static int cmp_sid_pos(const void *a, const void *b)
{
	const struct sid_pos *x = a, *y = b;
	if (x->sid != y->sid)
		return x->sid < y->sid ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* §3.4: sids are unique within a group; the second use is the error. */
static bool check_sids(struct fin *f, const struct hg_rule_group *g)
{
	if (g->n_rules < 2)
		return true;
	struct sid_pos *v = xreallocarray(NULL, g->n_rules, sizeof(*v));
	for (size_t i = 0; i < g->n_rules; i++)
		v[i] = (struct sid_pos){g->rules[i]->sid, (uint32_t)i};
	qsort(v, g->n_rules, sizeof(*v), cmp_sid_pos);
	bool ok = true;
	for (size_t i = 1; i < g->n_rules; i++) {
		if (v[i].sid != v[i - 1].sid)
			continue;
		/* Each later use is reported against the first one. */
		size_t k = i;
		while (k > 0 && v[k - 1].sid == v[i].sid)
			k--;
		const struct hg_rule *first = g->rules[v[k].idx], *dup = g->rules[v[i].idx];
		if (first->loc.file && first->loc.line)
			hg_diag_error(f->d, dup->loc, "duplicate sid %u in rule group '%s' (first used at %s:%u)",
				      dup->sid, g->name, first->loc.file, first->loc.line);
		else
			hg_diag_error(f->d, dup->loc, "duplicate sid %u in rule group '%s'", dup->sid, g->name);
		ok = false;
	}
	free(v);
	return ok;
}

static uint32_t sat_mul(uint32_t a, uint32_t b)
{
	uint64_t p = (uint64_t)a * b;
	return p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

static uint32_t count_or_one(uint32_t written, size_t ranges)
{
	if (written)
		return written;
	return ranges ? (uint32_t)HG_MIN(ranges, (size_t)UINT32_MAX) : 1;
}

/* Capacity as ANFW counts it: stateful groups one per rule; domain lists
 * per BP's formula ("The first domain consumes 2 capacity for HTTP or 1 for
 * HTTPS, or 3 if both ... Every domain after the first consumes 1 capacity
 * per protocol", §1.6); stateless rules the product of their match-setting
 * counts, an empty setting counting 1 (§3.1). */
static uint32_t group_capacity(const struct hg_rule_group *g)
{
	if (g->type == HG_GROUP_STATELESS) {
		uint64_t total = 0;
		for (size_t i = 0; i < g->n_srules; i++) {
			const struct hg_stateless_rule *s = g->srules[i];
			uint32_t c = count_or_one(s->n_written[0], s->any_source ? 0 : s->sources.n);
			c = sat_mul(c, count_or_one(s->n_written[1], s->any_destination ? 0 : s->destinations.n));
			c = sat_mul(c, count_or_one(s->n_written[2], s->any_sport ? 0 : s->src_ports.n));
			c = sat_mul(c, count_or_one(s->n_written[3], s->any_dport ? 0 : s->dst_ports.n));
			uint32_t protos = 0;
			for (size_t b = 0; b < sizeof(s->protocols); b++)
				protos += (uint32_t)__builtin_popcount(s->protocols[b]);
			c = sat_mul(c, protos ? protos : 1);
			c = sat_mul(c, s->n_tcp_flags ? (uint32_t)s->n_tcp_flags : 1);
			total += c;
		}
		return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	}
	if (g->list) {
		uint64_t n = g->list->n_targets;
		uint64_t tls = (g->list->target_types & HG_TARGET_TLS_SNI) != 0;
		uint64_t http = (g->list->target_types & HG_TARGET_HTTP_HOST) != 0;
		uint64_t c = n ? n * (tls + http) + http : 0;
		return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
	}
	return (uint32_t)HG_MIN(g->n_rules, (size_t)UINT32_MAX);
}

/* geoip: the database's networks of the rule's countries. Without a
 * database the rule could never match, so it is refused. */
static bool resolve_geoip(struct fin *f, struct hg_geoip *g)
{
	if (!f->o->geoip_db) {
		hg_diag_error(f->d, g->loc,
			      "geoip needs a GeoIP database: pass --geoip-db FILE (a MaxMind country "
			      "database, .mmdb)");
		return false;
	}
	if (!f->geo_tried) {
		char err[256];
		f->geo_tried = true;
		f->geo = hg_geoip_db_open(f->o->geoip_db, err, sizeof(err));
		if (!f->geo)
			hg_diag_error(f->d, g->loc, "cannot read the GeoIP database '%s': %s", f->o->geoip_db,
				      err);
	}
	if (!f->geo)
		return false;
	for (size_t i = 0; i < g->n_codes; i++)
		if (!hg_geoip_db_has(f->geo, g->codes[i]))
			hg_diag_warn(f->d, g->loc, "geoip: no network of '%s' is in country %s", f->o->geoip_db,
				     g->codes[i]);
	hg_geoip_db_set(f->geo, (const char(*)[3])g->codes, g->n_codes, g->negated, &g->set);
	return true;
}

static bool finalize_group(struct fin *f, struct hg_rule_group *g)
{
	bool ok = true;
	struct scope ps = {f->p->vars, f->p->n_vars, NULL};
	struct scope gs = {g->vars, g->n_vars, &ps};

	/* Resolve every variable once, so one defined but unused still gets
	 * its errors (cycles, bad CIDRs) reported at its definition. */
	for (size_t i = 0; i < g->n_vars; i++)
		ok &= resolve_var(f, &gs, g->vars[i]);

	if (g->type == HG_GROUP_STATEFUL && g->list)
		gen_domain_rules(f, g);

	bool strict = g->has_rule_order && g->rule_order == HG_ORDER_STRICT;
	for (size_t i = 0; i < g->n_rules; i++) {
		struct hg_rule *r = g->rules[i];
		r->group = g;
		r->cls = classify(r);
		if (strict && r->priority && !g->list) {
			hg_diag_error(f->d, r->loc,
				      "'priority' is not allowed in a STRICT_ORDER rule group (rules run in the "
				      "order written)");
			ok = false;
		}
		ok &= resolve_rule(f, &gs, r);
		if (r->geoip)
			ok &= resolve_geoip(f, r->geoip);
	}
	ok &= check_sids(f, g);

	g->consumed_capacity = group_capacity(g);
	if (g->capacity && g->consumed_capacity > g->capacity) {
		hg_diag_error(f->d, g->loc, "rule group '%s' needs capacity %u but its Capacity is %u", g->name,
			      g->consumed_capacity, g->capacity);
		ok = false;
	}
	return ok;
}

/* ---------------------------------------------------------- flowbits */

/* Flowbit names are per flow, shared by every group of the ruleset: each
 * distinct name gets a bit of the engine's per-flow uint64_t. */
static bool intern_flowbits(struct fin *f)
{
	struct name {
		const char *name;
		const struct hg_loc *first_check;
		bool set;
	} names[HG_MAX_FLOWBITS];
	size_t n = 0;
	bool ok = true, overflow = false;

	for (size_t gi = 0; gi < f->rs->n_groups; gi++) {
		const struct hg_rule_group *g = f->rs->groups[gi];
		for (size_t ri = 0; ri < g->n_rules; ri++) {
			struct hg_rule *r = g->rules[ri];
			for (size_t k = 0; k < r->n_flowbits; k++) {
				struct hg_flowbit *fb = &r->flowbits[k];
				size_t i;
				for (i = 0; i < n; i++)
					if (!strcmp(names[i].name, fb->name))
						break;
				if (i == n) {
					if (n == HG_MAX_FLOWBITS) {
						if (!overflow)
							hg_diag_error(f->d, fb->loc,
								      "flowbits name '%s' is one more than the %d "
								      "distinct names hostgate supports",
								      fb->name, HG_MAX_FLOWBITS);
						overflow = true;
						ok = false;
						continue;
					}
					names[n++] = (struct name){fb->name, NULL, false};
				}
				fb->bit = (uint32_t)i;
				if (fb->op == HG_FB_ISSET || fb->op == HG_FB_ISNOTSET) {
					if (!names[i].first_check)
						names[i].first_check = &fb->loc;
				} else {
					names[i].set = true;
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (names[i].first_check && !names[i].set)
			hg_diag_warn(f->d, *names[i].first_check,
				     "flowbit '%s' is checked but no rule sets it", names[i].name);
	return ok;
}

/* ------------------------------------------------------------- entry */

bool hg_ruleset_finalize(struct hg_ruleset *rs, const struct hg_load_opts *o, struct hg_diag *d)
{
	struct fin f = {.rs = rs, .o = o, .d = d};
	size_t errors = d->errors;
	if (!choose_policy(&f))
		return false;
	f.p = rs->policy;
	check_policy(&f);

	/* Policy variables first: HOME_NET, then the others (so errors in
	 * unused ones are still reported). */
	if (policy_home_net(&f)) {
		struct scope ps = {f.p->vars, f.p->n_vars, NULL};
		for (size_t i = 0; i < f.p->n_vars; i++)
			resolve_var(&f, &ps, f.p->vars[i]);
		for (size_t i = 0; i < rs->n_groups; i++)
			finalize_group(&f, rs->groups[i]);
	}
	intern_flowbits(&f);
	hg_vec_free(&f.failed);
	for (size_t i = 0; f.refsets && i < o->n_refsets; i++)
		hg_ipset_free(&f.refsets[i]);
	free(f.refsets);
	free(f.ref_state);
	hg_geoip_db_close(f.geo);
	return d->errors == errors;
}
