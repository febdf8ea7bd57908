/* lint.c - the policy linter (hostgate/lint.h): one function per check over
 * a finalized ruleset, every finding through one reporter that applies the
 * silencing. Section numbers (§) are reference/anfw.md; DG is ANFW's
 * developer guide, BP AWS's best-practices guide. */
#include "hostgate/lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostgate/order.h"

/* Findings of one kind reported per list (or pair of lists) before the
 * rest are summed up in one line: a million-name list must not print a
 * million warnings. */
#define PER_LIST_MAX 20

struct lint {
	const struct hg_ruleset *rs;
	const struct hg_policy *p;
	const struct hg_lint_opts *o;
	struct hg_diag *d;
	size_t found;
};

static bool code_on(const struct lint *L, unsigned code)
{
	return !L->o->codes || (L->o->codes & HG_LINT_BIT(code));
}

/* "HG104 HG105", "HG104,HG105" or "*" lists code. */
static bool list_has(const char *s, unsigned code)
{
	char want[16];
	snprintf(want, sizeof(want), "HG%u", code);
	for (const char *p = s; *p;) {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, " ,\t");
		if (!n)
			break;
		if ((n == 1 && *p == '*') || (n == strlen(want) && !strncasecmp(p, want, n)))
			return true;
		p += n;
	}
	return false;
}

static bool silenced(const struct lint *L, const struct hg_rule_group *g, unsigned code)
{
	if (g && g->lint_ignore && list_has(g->lint_ignore, code))
		return true;
	for (size_t i = 0; i < L->o->n_ignore; i++) {
		const struct hg_lint_ignore *x = &L->o->ignore[i];
		if (x->code && x->code != code)
			continue;
		if (!strcmp(x->group, "*") || (g && g->name && !strcmp(x->group, g->name)))
			return true;
	}
	return false;
}

static bool wanted(const struct lint *L, const struct hg_rule_group *g, unsigned code)
{
	return code_on(L, code) && !silenced(L, g, code);
}

static void report(struct lint *L, const struct hg_rule_group *g, unsigned code, struct hg_loc loc,
		   const char *fmt, ...) HG_PRINTF(5, 6);
static void report(struct lint *L, const struct hg_rule_group *g, unsigned code, struct hg_loc loc,
		   const char *fmt, ...)
{
	if (!wanted(L, g, code))
		return;
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		hg_oom();
	va_end(ap);
	hg_diag_warn(L->d, loc, "HG%u: %s", code, msg);
	free(msg);
	L->found++;
}

static const char *gname(const struct hg_rule_group *g)
{
	return g && g->name ? g->name : "?";
}

static const char *file_of(struct hg_loc l)
{
	return l.file ? l.file : "?";
}

/* -------------------------------------------------- address families */

/* IPv4 lives at ::ffff:0:0/96 of the one 128-bit space (ipset.h). */
static const struct hg_iprange V4 = {
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}},
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
};

static bool has_v4(const struct hg_ipset *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (hg_ip_cmp(&s->r[i].lo, &V4.hi) <= 0 && hg_ip_cmp(&s->r[i].hi, &V4.lo) >= 0)
			return true;
	return false;
}

static bool has_v6(const struct hg_ipset *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (hg_ip_cmp(&s->r[i].lo, &V4.lo) < 0 || hg_ip_cmp(&s->r[i].hi, &V4.hi) > 0)
			return true;
	return false;
}

static bool ipset_subset(const struct hg_ipset *a, const struct hg_ipset *b)
{
	struct hg_ipset x = {0};
	hg_ipset_copy(&x, a);
	hg_ipset_subtract(&x, b);
	bool sub = x.n == 0;
	hg_ipset_free(&x);
	return sub;
}

static bool portset_subset(const struct hg_portset *a, const struct hg_portset *b)
{
	struct hg_portset x = {0};
	hg_portset_copy(&x, a);
	hg_portset_subtract(&x, b);
	bool sub = x.n == 0;
	hg_portset_free(&x);
	return sub;
}

static bool is_var(const struct hg_expr *e, const char *name)
{
	return e && e->kind == HG_EXPR_VAR && !e->negated && !strcmp(e->text, name);
}

/* ---------------------------------------------- HG101 never matches */

static const struct hg_var *find_var(struct hg_var *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->name, name) && v[i]->kind == HG_VAR_IP && v[i]->resolved)
			return v[i];
	return NULL;
}

/* "the rules of domain list 'X'" or "rule sid N". */
static const char *rule_name(char *buf, size_t len, const struct hg_rule_group *g, const struct hg_rule *r)
{
	if (g->list && r->loc.line == g->list->loc.line && r->loc.col == g->list->loc.col)
		snprintf(buf, len, "the rules generated from domain list '%s'", gname(g));
	else if (r->sid)
		snprintf(buf, len, "rule sid %u", r->sid);
	else
		snprintf(buf, len, "rule");
	return buf;
}

/* "$HOME_NET (IPv4 only)", "$EXTERNAL_NET (no address)". */
static const char *side_name(char *buf, size_t len, const struct hg_expr *e, const struct hg_ipset *s)
{
	bool v4 = has_v4(s), v6 = has_v6(s);
	const char *fam = v4 && v6 ? "" : v4 ? " (IPv4 only)" : v6 ? " (IPv6 only)" : " (no address)";
	if (e && e->kind == HG_EXPR_VAR)
		snprintf(buf, len, "%s$%s%s", e->negated ? "!" : "", e->text, fam);
	else
		snprintf(buf, len, "%s%s", e && e->text ? e->text : "[...]", fam);
	return buf;
}

/* A packet has both addresses in one family, so a rule matches IPv4
 * traffic only when both its sides hold IPv4 addresses (IPv6 alike). With
 * `--home-net 0.0.0.0/0` EXTERNAL_NET holds no IPv4 address, and every
 * HOME_NET -> EXTERNAL_NET rule (every domain-list rule, §1.3) silently
 * stops matching IPv4: the issue this check was written for. */
static void check_never_matches(struct lint *L, const struct hg_rule_group *g)
{
	struct hg_loc last = {0};
	char rn[128], sn[160], dn[160];
	/* An EXTERNAL_NET its author defined holds the families written. */
	bool ext_redefined = find_var(g->vars, g->n_vars, "EXTERNAL_NET") ||
			     find_var(L->p->vars, L->p->n_vars, "EXTERNAL_NET");
	for (size_t i = 0; i < g->n_rules; i++) {
		const struct hg_rule *r = g->rules[i];
		if (r->never_matches)
			continue;
		if (last.file == r->loc.file && last.line == r->loc.line && last.col == r->loc.col)
			continue; /* the rules generated from one list share its location */
		bool s4 = has_v4(&r->src_set), s6 = has_v6(&r->src_set);
		bool d4 = has_v4(&r->dst_set), d6 = has_v6(&r->dst_set);
		bool ext = is_var(r->dst, "EXTERNAL_NET") || is_var(r->src, "EXTERNAL_NET");
		const char *what = NULL, *fam = NULL;
		if (!(s4 && d4) && !(s6 && d6)) {
			report(L, g, HG_LINT_NEVER_MATCHES, r->loc,
			       "%s can never match: source %s and destination %s share no address family%s",
			       rule_name(rn, sizeof(rn), g, r), side_name(sn, sizeof(sn), r->src, &r->src_set),
			       side_name(dn, sizeof(dn), r->dst, &r->dst_set),
			       ext ? " (EXTERNAL_NET is every address outside HOME_NET)" : "");
			last = r->loc;
			continue;
		}
		/* One family lost to an empty EXTERNAL_NET: only EXTERNAL_NET
		 * is reported, since a literal or HOME_NET of one family is
		 * what its author wrote. */
		if (s4 && !d4 && is_var(r->dst, "EXTERNAL_NET"))
			what = "destination", fam = "IPv4";
		else if (s6 && !d6 && is_var(r->dst, "EXTERNAL_NET"))
			what = "destination", fam = "IPv6";
		else if (d4 && !s4 && is_var(r->src, "EXTERNAL_NET"))
			what = "source", fam = "IPv4";
		else if (d6 && !s6 && is_var(r->src, "EXTERNAL_NET"))
			what = "source", fam = "IPv6";
		if (what && !ext_redefined) {
			report(L, g, HG_LINT_NEVER_MATCHES, r->loc,
			       "%s cannot match %s traffic: the %s $EXTERNAL_NET holds no %s address (HOME_NET covers "
			       "all of %s)",
			       rule_name(rn, sizeof(rn), g, r), fam, what, fam, fam);
			last = r->loc;
		}
	}
}

/* --------------------------------------- HG102 EXTERNAL_NET overlap */


/* §1.5: EXTERNAL_NET is "not HOME_NET"; a group (or the policy) that
 * defines it to include inside addresses ("any") makes its rules match
 * traffic between inside hosts too. */
static void check_external_overlap(struct lint *L, const struct hg_rule_group *g)
{
	const struct hg_var *ext = g ? find_var(g->vars, g->n_vars, "EXTERNAL_NET")
				     : find_var(L->p->vars, L->p->n_vars, "EXTERNAL_NET");
	if (!ext)
		return;
	const struct hg_var *home = g ? find_var(g->vars, g->n_vars, "HOME_NET") : NULL;
	const struct hg_ipset *h = home ? &home->ips : &L->p->home_net;
	if (hg_ipset_intersects(&ext->ips, h))
		report(L, g, HG_LINT_EXTERNAL_OVERLAP, ext->loc,
		       "EXTERNAL_NET%s includes HOME_NET addresses: rules toward $EXTERNAL_NET also match traffic "
		       "between inside hosts (ANFW's EXTERNAL_NET is everything outside HOME_NET)",
		       hg_ipset_is_all(&ext->ips) ? " covers every address and" : "");
}

/* ------------------------------------------ HG103 allowlist left open */

static const uint32_t SDA_DROPS = HG_SDA_DROP_STRICT | HG_SDA_DROP_ESTABLISHED |
				  HG_SDA_DROP_ESTABLISHED_APP_LAYER | HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER;

/* Some drop or reject rule that looks at no payload and covers TCP: what
 * stops the protocols a domain allowlist does not see. */
static bool has_general_drop(const struct lint *L)
{
	const struct hg_policy *p = L->p;
	for (size_t i = 0; i < p->n_stateful_refs; i++) {
		const struct hg_rule_group *g = p->stateful_refs[i].group;
		if (!g || p->stateful_refs[i].drop_to_alert)
			continue;
		for (size_t k = 0; k < g->n_rules; k++) {
			const struct hg_rule *r = g->rules[k];
			if ((r->action == HG_ACT_DROP || r->action == HG_ACT_REJECT) && !r->never_matches &&
			    (r->proto == HG_PROTO_IP || r->proto == HG_PROTO_TCP) && !r->n_matches &&
			    (!r->has_app_layer || r->app_layer_not))
				return true;
		}
	}
	return false;
}

/* DG stateful-rule-groups-domain-names / §1.3: an ALLOWLIST's generated
 * drops apply only to flows identified as TLS or HTTP, so everything else
 * passes; BP firewall-policy-configuration advises STRICT_ORDER with
 * aws:drop_established. Under STRICT_ORDER the list generates no drops at
 * all (§1.6), so without a drop default action nothing is dropped. */
static void check_allowlist_open(struct lint *L, const struct hg_rule_group *g, bool general_drop)
{
	const struct hg_domain_list *l = g->list;
	if (!l || l->type != HG_LIST_ALLOWLIST)
		return;
	if (L->p->rule_order == HG_ORDER_STRICT) {
		if (!(L->p->default_actions & SDA_DROPS))
			report(L, g, HG_LINT_ALLOWLIST_OPEN, l->loc,
			       "ALLOWLIST '%s' under STRICT_ORDER without a drop default action allows every name: "
			       "strict-order domain lists generate no drop rules (add aws:drop_established to "
			       "StatefulDefaultActions)",
			       gname(g));
	} else if (!general_drop) {
		report(L, g, HG_LINT_ALLOWLIST_OPEN, l->loc,
		       "ALLOWLIST '%s' under DEFAULT_ACTION_ORDER drops only TLS and HTTP flows to other names: "
		       "every other protocol (SSH, plain TCP, UDP...) passes; use STRICT_ORDER with "
		       "aws:drop_established, as AWS's best practices advise, or add a drop rule",
		       gname(g));
	}
}

/* ------------------------------------------- HG104 allowed and denied */

/* The name a target stands for at its apex: ".example.com" -> example.com. */
static const char *apex(const struct hg_domain_target *t)
{
	return t->name[0] == '.' ? t->name + 1 : t->name;
}

static size_t ref_pos(const struct hg_policy *p, const struct hg_rule_group *g)
{
	for (size_t i = 0; i < p->n_stateful_refs; i++)
		if (p->stateful_refs[i].group == g)
			return i;
	return SIZE_MAX;
}

/* Each target of `of` that some target of `by` covers (at its apex):
 * reported in `of`'s group. allow_covers: `by` is the allowlist. */
static void overlap_walk(struct lint *L, const struct hg_rule_group *of, const struct hg_rule_group *by,
			 bool allow_covers, bool skip_equal)
{
	const struct hg_domain_list *lo = of->list, *lb = by->list;
	if (!wanted(L, of, HG_LINT_ALLOW_DENY))
		return;
	const struct hg_rule_group *allow = allow_covers ? by : of, *deny = allow_covers ? of : by;
	const char *winner;
	if (L->p->rule_order != HG_ORDER_STRICT)
		winner = "the allowlist wins: DEFAULT_ACTION_ORDER runs pass rules before drop and reject rules";
	else
		winner = ref_pos(L->p, allow) < ref_pos(L->p, deny)
				 ? "the allowlist wins: its group comes first in STRICT_ORDER"
				 : "the deny wins: its group comes first in STRICT_ORDER";
	size_t n = 0;
	for (size_t i = 0; i < lo->n_targets; i++) {
		const struct hg_domain_target *t = &lo->targets[i];
		const char *name = apex(t);
		uint32_t idx;
		if (!*name || !hg_domain_matcher_lookup(lb->matcher, name, strlen(name), &idx) || idx >= lb->n_targets)
			continue;
		const struct hg_domain_target *c = &lb->targets[idx];
		if (skip_equal && !strcmp(c->name, t->name))
			continue; /* reported from the other side */
		if (++n > PER_LIST_MAX)
			continue;
		report(L, of, HG_LINT_ALLOW_DENY, t->loc, "'%s' of %s '%s' is also %s by '%s' of %s '%s' (%s:%u); %s",
		       t->name, hg_list_type_name(lo->type), gname(of), allow_covers ? "allowed" : "denied", c->name,
		       hg_list_type_name(lb->type), gname(by), file_of(c->loc), c->loc.line, winner);
	}
	if (n > PER_LIST_MAX)
		report(L, of, HG_LINT_ALLOW_DENY, lo->loc, "%zu more names of '%s' overlap '%s' (not listed)",
		       n - PER_LIST_MAX, gname(of), gname(by));
}

static void check_allow_deny(struct lint *L)
{
	const struct hg_policy *p = L->p;
	for (size_t i = 0; i < p->n_stateful_refs; i++) {
		const struct hg_rule_group *a = p->stateful_refs[i].group;
		if (!a || !a->list || a->list->type != HG_LIST_ALLOWLIST || !a->list->matcher)
			continue;
		for (size_t k = 0; k < p->n_stateful_refs; k++) {
			const struct hg_rule_group *dn = p->stateful_refs[k].group;
			if (!dn || !dn->list || !dn->list->matcher ||
			    (dn->list->type != HG_LIST_DENYLIST && dn->list->type != HG_LIST_REJECTLIST) ||
			    !(dn->list->target_types & a->list->target_types))
				continue;
			overlap_walk(L, dn, a, true, false);
			overlap_walk(L, a, dn, false, true);
		}
	}
}

/* ----------------------------------------- HG105 redundant list names */

/* §1.2: ".example.com" matches example.com and every subdomain, so an
 * exact name under it, or a narrower wildcard, adds nothing. */
static void check_redundant(struct lint *L, const struct hg_rule_group *g)
{
	const struct hg_domain_list *l = g->list;
	if (!l || !wanted(L, g, HG_LINT_REDUNDANT_NAME))
		return;
	size_t n_wild = 0;
	for (size_t i = 0; i < l->n_targets; i++)
		n_wild += l->targets[i].name[0] == '.';
	if (!n_wild)
		return;
	struct hg_domain_matcher *w = hg_domain_matcher_new(n_wild);
	for (size_t i = 0; i < l->n_targets; i++)
		if (l->targets[i].name[0] == '.')
			hg_domain_matcher_add(w, l->targets[i].name, strlen(l->targets[i].name), (uint32_t)i);
	hg_domain_matcher_seal(w);
	size_t n = 0;
	for (size_t i = 0; i < l->n_targets; i++) {
		const struct hg_domain_target *t = &l->targets[i];
		/* A wildcard is covered when another covers its parent. */
		const char *q = t->name;
		if (*q == '.') {
			q = strchr(q + 1, '.');
			if (!q)
				continue;
			q++;
		}
		uint32_t idx;
		if (!*q || !hg_domain_matcher_lookup(w, q, strlen(q), &idx) || idx == i || idx >= l->n_targets)
			continue;
		if (++n > PER_LIST_MAX)
			continue;
		const struct hg_domain_target *c = &l->targets[idx];
		report(L, g, HG_LINT_REDUNDANT_NAME, t->loc,
		       "'%s' is already covered by '%s' (%s:%u) of the same list: the entry changes nothing", t->name,
		       c->name, file_of(c->loc), c->loc.line);
	}
	if (n > PER_LIST_MAX)
		report(L, g, HG_LINT_REDUNDANT_NAME, l->loc, "%zu more names of '%s' are covered by its wildcards",
		       n - PER_LIST_MAX, gname(g));
	hg_domain_matcher_free(w);
}

/* ------------------------------------------------- HG107 IP literals */

/* DG stateful-rule-groups-domain-names: domain lists match names, not
 * addresses ("If you want to inspect IP addresses ... write separate
 * rules"); a ClientHello's SNI never holds an address (RFC 6066 §3). */
static void check_ip_literals(struct lint *L, const struct hg_rule_group *g)
{
	const struct hg_domain_list *l = g->list;
	if (!l || !wanted(L, g, HG_LINT_IP_LITERAL))
		return;
	size_t n = 0;
	for (size_t i = 0; i < l->n_targets; i++) {
		const struct hg_domain_target *t = &l->targets[i];
		struct hg_ip lo, hi;
		if (strchr(t->name, '/') || !hg_ip_parse_cidr(apex(t), &lo, &hi))
			continue;
		if (++n > PER_LIST_MAX)
			continue;
		report(L, g, HG_LINT_IP_LITERAL, t->loc,
		       "'%s' is an IP address: domain lists match names (TLS SNI never holds an address, RFC 6066 "
		       "§3); match addresses with a stateful 5-tuple rule",
		       t->name);
	}
	if (n > PER_LIST_MAX)
		report(L, g, HG_LINT_IP_LITERAL, l->loc, "%zu more IP addresses in '%s'", n - PER_LIST_MAX, gname(g));
}

/* ------------------------------------- HG108 reject/alert beside allow */

/* §1.4, DG stateful-rule-groups-domain-names: under default action order,
 * "the default drop rule added by the Allow rule group will take effect
 * before the Reject and Alert rules". */
static void check_list_order(struct lint *L)
{
	const struct hg_policy *p = L->p;
	if (p->rule_order == HG_ORDER_STRICT)
		return;
	for (size_t i = 0; i < p->n_stateful_refs; i++) {
		const struct hg_rule_group *g = p->stateful_refs[i].group;
		if (!g || !g->list || (g->list->type != HG_LIST_REJECTLIST && g->list->type != HG_LIST_ALERTLIST))
			continue;
		for (size_t k = 0; k < p->n_stateful_refs; k++) {
			const struct hg_rule_group *a = p->stateful_refs[k].group;
			if (!a || !a->list || a->list->type != HG_LIST_ALLOWLIST ||
			    !(a->list->target_types & g->list->target_types))
				continue;
			report(L, g, HG_LINT_LIST_ORDER, g->list->loc,
			       "%s '%s' beside ALLOWLIST '%s' under DEFAULT_ACTION_ORDER: the allowlist's drop of "
			       "names it does not allow takes effect before %s rules, so %s",
			       hg_list_type_name(g->list->type), gname(g), gname(a),
			       g->list->type == HG_LIST_REJECTLIST ? "reject" : "alert",
			       g->list->type == HG_LIST_REJECTLIST ? "these names are dropped without a TCP reset"
								   : "these names are dropped before they alert");
			break;
		}
	}
}

/* ------------------------------------------------- HG109 capacity */

/* API CreateRuleGroup Capacity: "You can't change or exceed this capacity
 * when you update the rule group", so a group near its Capacity cannot
 * take many more rules. */
static void check_capacity(struct lint *L, const struct hg_rule_group *g)
{
	if (!g->capacity || g->consumed_capacity > g->capacity ||
	    (uint64_t)g->consumed_capacity * 10 < (uint64_t)g->capacity * 9)
		return;
	report(L, g, HG_LINT_CAPACITY, g->loc,
	       "rule group '%s' uses %u of its Capacity %u (%u%%); a group's Capacity cannot be changed after it "
	       "is created",
	       gname(g), g->consumed_capacity, g->capacity,
	       (unsigned)((uint64_t)g->consumed_capacity * 100 / g->capacity));
}

/* ----------------------------------------------- HG106 shadowed rules */

/* The transport an app-layer protocol runs over (0: either or none). */
static enum hg_proto transport_of(enum hg_proto p)
{
	switch (p) {
	case HG_PROTO_TLS:
	case HG_PROTO_HTTP:
	case HG_PROTO_SSH:
	case HG_PROTO_SMTP:
	case HG_PROTO_FTP:
	case HG_PROTO_IMAP:
	case HG_PROTO_SMB:
	case HG_PROTO_DCERPC:
	case HG_PROTO_MSN:
	case HG_PROTO_HTTP2: return HG_PROTO_TCP;
	case HG_PROTO_QUIC:
	case HG_PROTO_NTP:
	case HG_PROTO_DHCP:
	case HG_PROTO_TFTP:
	case HG_PROTO_IKEV2: return HG_PROTO_UDP;
	default: return HG_PROTO_IP;
	}
}

/* r1 looks at nothing but the header (and flow: bits): a shadower. */
static bool header_only(const struct hg_rule *r)
{
	return !r->n_matches && !r->n_flowbits && !r->ssl_state && !r->ssl_state_not && !r->has_app_layer &&
	       !r->has_ip_proto && !r->never_matches;
}

static bool covers(const struct hg_rule *a, const struct hg_rule *b, bool swap)
{
	const struct hg_ipset *bs = swap ? &b->dst_set : &b->src_set, *bd = swap ? &b->src_set : &b->dst_set;
	const struct hg_portset *bsp = swap ? &b->dport_set : &b->sport_set,
				*bdp = swap ? &b->sport_set : &b->dport_set;
	return ipset_subset(bs, &a->src_set) && ipset_subset(bd, &a->dst_set) &&
	       portset_subset(bsp, &a->sport_set) && portset_subset(bdp, &a->dport_set);
}

/* Every packet later matches, earlier matches first and decides: a pass
 * ends inspection of the flow (DG rule-action), a drop or reject ends it
 * for everything but alert rules ("the packet can still go on to match an
 * alert rule"). */
static bool shadows(const struct hg_rule_rank *e, const struct hg_rule_rank *l)
{
	const struct hg_rule *a = e->r, *b = l->r;
	if (e->act == HG_ACT_ALERT || (e->act != HG_ACT_PASS && l->act == HG_ACT_ALERT))
		return false;
	if ((a->flow & b->flow) != a->flow)
		return false;
	if (a->proto != HG_PROTO_IP && a->proto != b->proto && a->proto != transport_of(b->proto))
		return false;
	/* A "<>" rule matches either orientation of its header. */
	if (a->bidirectional)
		return covers(a, b, false) || covers(a, b, true);
	return covers(a, b, false) && (!b->bidirectional || covers(a, b, true));
}

/* Bounds the pairwise walk (rules x header-only rules before them). */
#define SHADOW_PAIRS_MAX 4000000u

static void check_shadowed(struct lint *L)
{
	if (L->p->rule_order != HG_ORDER_STRICT || !code_on(L, HG_LINT_SHADOWED))
		return;
	size_t n;
	struct hg_rule_rank *ev = hg_policy_stateful_order(L->p, &n);
	HG_VEC(size_t) cand = {0};
	size_t pairs = 0;
	struct hg_loc last = {0};
	for (size_t i = 0; i < n && pairs < SHADOW_PAIRS_MAX; i++) {
		const struct hg_rule *b = ev[i].r;
		bool same_loc = last.file == b->loc.file && last.line == b->loc.line && last.col == b->loc.col;
		for (size_t k = 0; k < cand.n && !same_loc; k++, pairs++) {
			const struct hg_rule_rank *e = &ev[cand.v[k]];
			if (!shadows(e, &ev[i]))
				continue;
			report(L, ev[i].g, HG_LINT_SHADOWED, b->loc,
			       "rule%s%.0u of '%s' never decides anything: rule sid %u of '%s' (%s:%u) comes before it "
			       "in STRICT_ORDER, matches every packet it matches, and %s first",
			       b->sid ? " sid " : "", b->sid, gname(ev[i].g), e->r->sid, gname(e->g), file_of(e->r->loc),
			       e->r->loc.line,
			       e->act == HG_ACT_PASS ? "passes" : e->act == HG_ACT_DROP ? "drops" : "rejects");
			last = b->loc;
			break;
		}
		if (header_only(b) && ev[i].act != HG_ACT_ALERT)
			hg_vec_push(&cand, i);
	}
	hg_vec_free(&cand);
	free(ev);
}

/* ------------------------------------------------------------- entry */

int hg_lint_parse_ignore(const char *spec, size_t *group_len, unsigned *codes, size_t max)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1]) {
		fprintf(stderr, "hostgate: --lint-ignore wants GROUP:HG1xx[,HG1xx...], not '%s'\n", spec);
		return -1;
	}
	*group_len = (size_t)(colon - spec);
	int n = 0;
	for (const char *p = colon + 1; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 1 && *p == '*') {
			codes[n++] = 0;
		} else {
			char *end;
			unsigned long c = len > 2 && !strncasecmp(p, "HG", 2) ? strtoul(p + 2, &end, 10) : 0;
			if (!c || end != p + len || c < HG_LINT__FIRST || c > HG_LINT__LAST || (size_t)n >= max) {
				fprintf(stderr, "hostgate: --lint-ignore: '%.*s' is not a lint code (HG%u..HG%u)\n",
					(int)len, p, HG_LINT__FIRST, HG_LINT__LAST);
				return -1;
			}
			codes[n++] = (unsigned)c;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return n;
}

size_t hg_lint(const struct hg_ruleset *rs, const struct hg_lint_opts *o, struct hg_diag *d)
{
	static const struct hg_lint_opts none = {0};
	if (!rs || !rs->policy)
		return 0;
	struct lint L = {.rs = rs, .p = rs->policy, .o = o ? o : &none, .d = d};
	const struct hg_policy *p = L.p;
	if (code_on(&L, HG_LINT_ALLOW_DENY))
		hg_ruleset_build_matchers(rs);
	bool general_drop = has_general_drop(&L);
	check_external_overlap(&L, NULL);
	for (size_t i = 0; i < p->n_stateful_refs; i++) {
		const struct hg_rule_group *g = p->stateful_refs[i].group;
		if (!g)
			continue;
		check_never_matches(&L, g);
		check_external_overlap(&L, g);
		check_allowlist_open(&L, g, general_drop);
		check_redundant(&L, g);
		check_ip_literals(&L, g);
		check_capacity(&L, g);
	}
	for (size_t i = 0; i < p->n_stateless_refs; i++)
		if (p->stateless_refs[i].group)
			check_capacity(&L, p->stateless_refs[i].group);
	check_allow_deny(&L);
	check_list_order(&L);
	check_shadowed(&L);
	return L.found;
}
