/* test_finalize.c - hg_ruleset_finalize() on IR built by hand: policy choice
 * and synthesis, HOME_NET / EXTERNAL_NET and variables (nesting, cycles,
 * undefined names), expression resolution, the rules generated for ANFW's
 * documented domain-list examples (reference/anfw.md §1.3) with their sids,
 * rule-order and priority checks, duplicate sids, capacity. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hostgate/engine.h"
#include "hostgate/ir.h"

static const char F[] = "t.rules";

/* ------------------------------------------------------------ builders */

/* "any", "$VAR", "!x", "[a,!b,...]", "@REF" or a literal, at line:col. */
static struct hg_expr *ex(struct hg_ruleset *rs, uint32_t line, uint32_t col, const char *s)
{
	struct hg_expr *e = hg_arena_alloc(rs->arena, sizeof(*e));
	e->loc = (struct hg_loc){F, line, col};
	if (*s == '!') {
		e->negated = true;
		s++;
	}
	if (*s == '[') {
		e->kind = HG_EXPR_LIST;
		char *body = hg_arena_strndup(rs->arena, s + 1, strlen(s) - 2);
		e->items = hg_arena_alloc(rs->arena, 16 * sizeof(*e->items));
		for (char *save, *tok = strtok_r(body, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			e->items[e->n_items++] = ex(rs, line, col, tok);
	} else if (!strcmp(s, "any")) {
		e->kind = HG_EXPR_ANY;
		e->text = "any";
	} else if (*s == '$') {
		e->kind = HG_EXPR_VAR;
		e->text = hg_arena_strdup(rs->arena, s + 1);
	} else if (*s == '@') {
		e->kind = HG_EXPR_REF;
		e->text = hg_arena_strdup(rs->arena, s + 1);
	} else {
		e->kind = HG_EXPR_LITERAL;
		e->text = hg_arena_strdup(rs->arena, s);
	}
	return e;
}

static struct hg_rule_group *group(struct hg_ruleset *rs, const char *name, int order /* -1 none */)
{
	struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){F, 100, 1}, name, HG_GROUP_STATEFUL);
	g->source = HG_SRC_RULES_STRING;
	if (order >= 0) {
		g->has_rule_order = true;
		g->rule_order = (enum hg_rule_order)order;
	}
	return g;
}

static struct hg_rule *rule(struct hg_ruleset *rs, struct hg_rule_group *g, uint32_t line, enum hg_proto proto,
			    const char *src, const char *sport, const char *dst, const char *dport, uint32_t sid)
{
	struct hg_rule *r = hg_arena_alloc(rs->arena, sizeof(*r));
	r->loc = (struct hg_loc){F, line, 1};
	r->action = HG_ACT_DROP;
	r->proto = proto;
	r->src = ex(rs, line, 10, src);
	r->sport = ex(rs, line, 20, sport);
	r->dst = ex(rs, line, 30, dst);
	r->dport = ex(rs, line, 40, dport);
	r->sid = sid;
	r->rev = 1;
	struct hg_rule **v = hg_arena_alloc(rs->arena, (g->n_rules + 1) * sizeof(*v));
	if (g->n_rules)
		memcpy(v, g->rules, g->n_rules * sizeof(*v));
	v[g->n_rules++] = r;
	g->rules = v;
	return r;
}

/* A variable with definitions given as expression strings, NULL-ended. */
static struct hg_var *var(struct hg_ruleset *rs, struct hg_var ***vars, size_t *n, const char *name,
			  enum hg_var_kind kind, uint32_t line, ...)
{
	struct hg_var *v = hg_arena_alloc(rs->arena, sizeof(*v));
	v->loc = (struct hg_loc){F, line, 5};
	v->name = name;
	v->kind = kind;
	v->defs = hg_arena_alloc(rs->arena, 16 * sizeof(*v->defs));
	va_list ap;
	va_start(ap, line);
	for (const char *d; (d = va_arg(ap, const char *));)
		v->defs[v->n_defs++] = ex(rs, line, 7, d);
	va_end(ap);
	struct hg_var **nv = hg_arena_alloc(rs->arena, (*n + 1) * sizeof(*nv));
	if (*n)
		memcpy(nv, *vars, *n * sizeof(*nv));
	nv[(*n)++] = v;
	*vars = nv;
	return v;
}

static struct hg_policy *policy(struct hg_ruleset *rs, enum hg_rule_order order)
{
	struct hg_policy *p = hg_arena_alloc(rs->arena, sizeof(*p));
	p->loc = (struct hg_loc){F, 200, 1};
	p->name = "p";
	p->rule_order = order;
	p->stateless_default = p->stateless_fragment_default = HG_SL_FORWARD;
	p->stateful_refs = hg_arena_alloc(rs->arena, 16 * sizeof(*p->stateful_refs));
	rs->policies = hg_arena_alloc(rs->arena, 4 * sizeof(*rs->policies));
	rs->policies[rs->n_policies++] = p;
	return p;
}

static struct hg_group_ref *ref(struct hg_policy *p, struct hg_rule_group *g, uint32_t prio, uint32_t line)
{
	struct hg_group_ref *r = &p->stateful_refs[p->n_stateful_refs++];
	r->loc = (struct hg_loc){F, line, 3};
	r->group = g;
	r->priority = prio;
	return r;
}

static struct hg_domain_list *dlist(struct hg_ruleset *rs, struct hg_rule_group *g, enum hg_list_type type,
				    uint32_t types, const char *const *targets, size_t n)
{
	struct hg_domain_list *l = hg_arena_alloc(rs->arena, sizeof(*l));
	l->loc = (struct hg_loc){F, 50, 7};
	l->type = type;
	l->target_types = types;
	l->targets = hg_arena_alloc(rs->arena, n * sizeof(*l->targets) + 1);
	for (size_t i = 0; i < n; i++)
		l->targets[i] = (struct hg_domain_target){{F, 51 + (uint32_t)i, 9}, targets[i]};
	l->n_targets = n;
	g->list = l;
	g->source = HG_SRC_DOMAIN_LIST;
	return l;
}

/* ----------------------------------------------------------- running */

static struct hg_diag diag;
static struct hg_load_opts opts;

static void setup(void)
{
	hg_diag_init(&diag);
	hg_load_opts_defaults(&opts);
}

static void teardown(void)
{
	hg_diag_fini(&diag);
}

TestSuite(finalize, .init = setup, .fini = teardown);

static bool run(struct hg_ruleset *rs)
{
	bool ok = hg_ruleset_finalize(rs, &opts, &diag);
	cr_assert_eq(ok, !hg_diag_failed(&diag), "return value and diagnostics disagree");
	return ok;
}

static void print_diags(void)
{
	hg_diag_print(&diag, stderr);
}

/* An error at line:col whose message holds every fragment given. */
static bool has_error(uint32_t line, uint32_t col, const char *frag1, const char *frag2)
{
	for (size_t i = 0; i < diag.recs.n; i++) {
		const struct hg_diag_record *r = &diag.recs.v[i];
		if (r->level != HG_DIAG_ERROR || r->loc.line != line || (col && r->loc.col != col))
			continue;
		if (strstr(r->msg, frag1) && (!frag2 || strstr(r->msg, frag2)))
			return true;
	}
	print_diags();
	return false;
}

static bool in(const struct hg_ipset *s, const char *addr)
{
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr(addr, &lo, &hi), "%s", addr);
	return hg_ipset_contains(s, &lo);
}

static bool set_is(const struct hg_ipset *s, const char *const *cidrs)
{
	struct hg_ipset want = {0};
	for (; *cidrs; cidrs++) {
		struct hg_ip lo, hi;
		cr_assert(hg_ip_parse_cidr(*cidrs, &lo, &hi), "%s", *cidrs);
		hg_ipset_add(&want, &lo, &hi);
	}
	bool eq = hg_ipset_equal(s, &want);
	hg_ipset_free(&want);
	return eq;
}

/* --------------------------------------------------- HOME_NET, policy */

Test(finalize, synthesized_policy_and_default_home_net)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g1 = group(rs, "g1", -1), *g2 = group(rs, "g2", -1);
	struct hg_rule_group *sl = hg_group_new(rs, (struct hg_loc){F, 300, 1}, "sl", HG_GROUP_STATELESS);
	struct hg_rule *r = rule(rs, g1, 1, HG_PROTO_TCP, "$HOME_NET", "any", "$EXTERNAL_NET", "443", 1);
	rule(rs, g2, 2, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	cr_assert(run(rs));
	const struct hg_policy *p = rs->policy;
	cr_assert_not_null(p);
	cr_assert(p->synthesized);
	cr_assert_eq(p->rule_order, HG_ORDER_DEFAULT_ACTION);
	cr_assert_eq(p->stateless_default, HG_SL_FORWARD);
	cr_assert_eq(p->stateless_fragment_default, HG_SL_FORWARD);
	cr_assert_eq(p->n_stateful_refs, 2);
	cr_assert_eq(p->stateful_refs[0].group, g1);
	cr_assert_eq(p->stateful_refs[1].group, g2);
	cr_assert_eq(p->n_stateless_refs, 1);
	cr_assert_eq(p->stateless_refs[0].group, sl);
	/* RFC 1918 + fc00::/7 */
	cr_assert(set_is(&p->home_net, (const char *const[]){"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
							      "fc00::/7", NULL}));
	cr_assert(in(&p->external_net, "8.8.8.8"));
	cr_assert(in(&p->external_net, "2001:db8::1"));
	cr_assert(!in(&p->external_net, "fd00::1"));
	cr_assert(hg_ipset_equal(&r->src_set, &p->home_net));
	cr_assert(hg_ipset_equal(&r->dst_set, &p->external_net));
	cr_assert(hg_portset_is_all(&r->sport_set));
	cr_assert_eq(r->dport_set.n, 1);
	cr_assert_eq(r->dport_set.r[0].lo, 443);
	cr_assert_eq(r->dport_set.r[0].hi, 443);
	cr_assert_eq(r->group, g1);
	cr_assert(hg_ipset_is_all(&g2->rules[0]->src_set));
	hg_ruleset_free(rs);
}

Test(finalize, home_net_option)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule *r = rule(rs, group(rs, "g", -1), 1, HG_PROTO_TCP, "$HOME_NET", "any", "!$HOME_NET", "any", 1);
	opts.home_net = "10.0.0.0/16, 192.0.2.0/24,2001:db8::/48";
	cr_assert(run(rs));
	cr_assert(set_is(&rs->policy->home_net,
			 (const char *const[]){"10.0.0.0/16", "192.0.2.0/24", "2001:db8::/48", NULL}));
	cr_assert(hg_ipset_equal(&r->dst_set, &rs->policy->external_net));
	cr_assert(in(&r->dst_set, "10.1.0.0"));
	hg_ruleset_free(rs);
}

Test(finalize, home_net_option_errors)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	rule(rs, group(rs, "g", -1), 1, HG_PROTO_TCP, "$HOME_NET", "any", "any", "any", 1);
	opts.home_net = "10.0.0.0/16,300.1.1.1,,10.0.0.0/33";
	cr_assert(!run(rs));
	const struct hg_diag_record *r0 = &diag.recs.v[0];
	cr_assert_str_eq(r0->loc.file, "--home-net");
	cr_assert(has_error(1, 13, "300.1.1.1", NULL));
	cr_assert(has_error(1, 23, "empty", NULL));
	cr_assert(has_error(1, 24, "10.0.0.0/33", NULL));
	hg_ruleset_free(rs);
}

/* §1.5: the policy's HOME_NET wins over the default; a group's own
 * HOME_NET applies to that group, whose EXTERNAL_NET stays the policy's. */
Test(finalize, policy_and_group_home_net)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_DEFAULT_ACTION);
	var(rs, &p->vars, &p->n_vars, "HOME_NET", HG_VAR_IP, 210, "11.0.0.0/8", NULL);
	struct hg_rule_group *g = group(rs, "g", -1), *h = group(rs, "h", -1);
	var(rs, &g->vars, &g->n_vars, "HOME_NET", HG_VAR_IP, 110, "10.0.0.0/8", NULL);
	ref(p, g, 0, 201);
	ref(p, h, 0, 202);
	struct hg_rule *rg = rule(rs, g, 1, HG_PROTO_TCP, "$HOME_NET", "any", "$EXTERNAL_NET", "any", 1);
	struct hg_rule *rh = rule(rs, h, 2, HG_PROTO_TCP, "$HOME_NET", "any", "$EXTERNAL_NET", "any", 1);
	opts.home_net = "192.168.0.0/16"; /* the policy's variable beats the option */
	cr_assert(run(rs));
	cr_assert_eq(rs->policy, p);
	cr_assert(set_is(&p->home_net, (const char *const[]){"11.0.0.0/8", NULL}));
	cr_assert(set_is(&rg->src_set, (const char *const[]){"10.0.0.0/8", NULL}));
	/* "Network Firewall sets it to !11.0.0.0" */
	cr_assert(hg_ipset_equal(&rg->dst_set, &p->external_net));
	cr_assert(in(&rg->dst_set, "10.1.1.1"));
	cr_assert(!in(&rg->dst_set, "11.1.1.1"));
	cr_assert(set_is(&rh->src_set, (const char *const[]){"11.0.0.0/8", NULL}));
	hg_ruleset_free(rs);
}

Test(finalize, group_external_net_override)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	var(rs, &g->vars, &g->n_vars, "HOME_NET", HG_VAR_IP, 110, "10.0.0.0/8", NULL);
	var(rs, &g->vars, &g->n_vars, "EXTERNAL_NET", HG_VAR_IP, 111, "!$HOME_NET", NULL);
	struct hg_rule *r = rule(rs, g, 1, HG_PROTO_TCP, "$HOME_NET", "any", "$EXTERNAL_NET", "any", 1);
	cr_assert(run(rs));
	cr_assert(!in(&r->dst_set, "10.2.3.4"));
	cr_assert(in(&r->dst_set, "192.168.1.1")); /* the policy's HOME_NET, but not the group's */
	hg_ruleset_free(rs);
}

/* ----------------------------------------------------------- variables */

Test(finalize, nested_variables_and_lists)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	var(rs, &g->vars, &g->n_vars, "SERVERS", HG_VAR_IP, 110, "$WEB", "!10.0.0.5", NULL);
	var(rs, &g->vars, &g->n_vars, "WEB", HG_VAR_IP, 111, "10.0.0.0/24", "10.0.9.9", NULL);
	var(rs, &g->vars, &g->n_vars, "WEB_PORTS", HG_VAR_PORT, 112, "80", "443", "8000:8080", NULL);
	var(rs, &g->vars, &g->n_vars, "HIGH", HG_VAR_PORT, 113, "1024:", NULL);
	struct hg_rule *a = rule(rs, g, 1, HG_PROTO_TCP, "$SERVERS", "$HIGH", "[any,!$WEB]", "$WEB_PORTS", 1);
	struct hg_rule *b = rule(rs, g, 2, HG_PROTO_TCP, "![10.0.0.0/8,192.168.0.0/16]", "!80",
				 "[10.0.0.0/24,!10.0.0.128/25]", "[80,443,!443]", 2);
	struct hg_rule *c = rule(rs, g, 3, HG_PROTO_UDP, "[!10.0.0.0/8]", ":1023", "!$WEB", "[1:5,3:9]", 3);
	cr_assert(run(rs), "finalize failed");
	cr_assert(set_is(&a->src_set, (const char *const[]){"10.0.0.0/30", "10.0.0.4", "10.0.0.6/31", "10.0.0.8/29",
							     "10.0.0.16/28", "10.0.0.32/27", "10.0.0.64/26",
							     "10.0.0.128/25", "10.0.9.9", NULL}));
	cr_assert(!in(&a->src_set, "10.0.0.5"));
	cr_assert(!in(&a->dst_set, "10.0.0.77"));
	cr_assert(in(&a->dst_set, "10.0.1.0"));
	cr_assert_eq(a->sport_set.n, 1);
	cr_assert_eq(a->sport_set.r[0].lo, 1024);
	cr_assert_eq(a->sport_set.r[0].hi, 65535);
	cr_assert_eq(a->dport_set.n, 3);
	cr_assert(hg_portset_contains(&a->dport_set, 8080));
	cr_assert(!hg_portset_contains(&a->dport_set, 8081));
	/* ![a,b] = everything else */
	cr_assert(!in(&b->src_set, "10.1.1.1"));
	cr_assert(in(&b->src_set, "172.16.0.1"));
	cr_assert(in(&b->src_set, "::1"));
	cr_assert(!hg_portset_contains(&b->sport_set, 80));
	cr_assert(hg_portset_contains(&b->sport_set, 81));
	cr_assert(set_is(&b->dst_set, (const char *const[]){"10.0.0.0/25", NULL}));
	cr_assert_eq(b->dport_set.n, 1);
	cr_assert_eq(b->dport_set.r[0].lo, 80);
	/* [!x] alone = any minus x */
	cr_assert(!in(&c->src_set, "10.0.0.1"));
	cr_assert(in(&c->src_set, "11.0.0.1"));
	cr_assert_eq(c->sport_set.r[0].lo, 0);
	cr_assert_eq(c->sport_set.r[0].hi, 1023);
	cr_assert_eq(c->dport_set.n, 1);
	cr_assert_eq(c->dport_set.r[0].hi, 9);
	hg_ruleset_free(rs);
}

Test(finalize, variable_cycle)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	var(rs, &g->vars, &g->n_vars, "A", HG_VAR_IP, 110, "$B", NULL);
	var(rs, &g->vars, &g->n_vars, "B", HG_VAR_IP, 111, "10.0.0.0/8", "$A", NULL);
	var(rs, &g->vars, &g->n_vars, "SELF", HG_VAR_IP, 112, "[1.2.3.4,$SELF]", NULL);
	rule(rs, g, 1, HG_PROTO_TCP, "$A", "any", "any", "any", 1);
	cr_assert(!run(rs));
	cr_assert(has_error(110, 5, "'A'", "cycle"));
	cr_assert(has_error(112, 5, "'SELF'", "cycle"));
	/* Reported once per cycle, not again at each use. */
	size_t n = 0;
	for (size_t i = 0; i < diag.recs.n; i++)
		n += strstr(diag.recs.v[i].msg, "cycle") != NULL;
	cr_assert_eq(n, 2);
	hg_ruleset_free(rs);
}

Test(finalize, undefined_variable_suggests)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	var(rs, &g->vars, &g->n_vars, "WEB_SERVERS", HG_VAR_IP, 110, "10.0.0.1", NULL);
	var(rs, &g->vars, &g->n_vars, "WEB_PORTS", HG_VAR_PORT, 111, "80", NULL);
	rule(rs, g, 1, HG_PROTO_TCP, "$HOME_NET", "any", "$EXTRNAL_NET", "any", 5);
	rule(rs, g, 2, HG_PROTO_TCP, "$WEB_SERVER", "any", "any", "$WEB_PORT", 6);
	rule(rs, g, 3, HG_PROTO_TCP, "$FOO_NET", "any", "any", "any", 7);
	rule(rs, g, 4, HG_PROTO_TCP, "$WEB_PORTS", "$HOME_NET", "any", "any", 8);
	cr_assert(!run(rs));
	cr_assert(has_error(1, 30, "undefined variable '$EXTRNAL_NET'", "did you mean '$EXTERNAL_NET'?"));
	cr_assert(has_error(2, 10, "'$WEB_SERVER'", "'$WEB_SERVERS'"));
	cr_assert(has_error(2, 40, "'$WEB_PORT'", "'$WEB_PORTS'"));
	cr_assert(has_error(3, 10, "undefined variable '$FOO_NET'", NULL));
	cr_assert(has_error(4, 10, "port set", "address"));
	cr_assert(has_error(4, 20, "IP set", "port"));
	hg_ruleset_free(rs);
}

Test(finalize, bad_literals)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	rule(rs, g, 1, HG_PROTO_TCP, "10.0.0.0/33", "any", "any", "65536", 1);
	rule(rs, g, 2, HG_PROTO_TCP, "any", "90:80", "!any", "any", 2);
	rule(rs, g, 3, HG_PROTO_TCP, "@PREFIXES", "any", "any", "any", 3);
	cr_assert(!run(rs));
	cr_assert(has_error(1, 10, "10.0.0.0/33", NULL));
	cr_assert(has_error(1, 40, "65536", NULL));
	cr_assert(has_error(2, 20, "90:80", NULL));
	cr_assert(has_error(2, 30, "matches nothing", NULL));
	cr_assert(has_error(3, 10, "@PREFIXES", NULL));
	hg_ruleset_free(rs);
}

/* ------------------------------------------------------- domain lists */

static void assert_gen(const struct hg_rule *r, enum hg_action act, enum hg_proto proto, uint32_t sid,
		       const char *msg, uint32_t prio)
{
	cr_assert_eq(r->action, act, "sid %u", sid);
	cr_assert_eq(r->proto, proto, "sid %u", sid);
	cr_assert_eq(r->sid, sid);
	cr_assert_eq(r->rev, 1);
	cr_assert_eq(r->priority, prio, "sid %u", sid);
	cr_assert_str_eq(r->msg, msg);
	cr_assert_eq(r->flow, HG_FLOW_TO_SERVER | HG_FLOW_ESTABLISHED);
	cr_assert_eq(r->ssl_state, proto == HG_PROTO_TLS ? HG_SSL_CLIENT_HELLO : 0u, "sid %u", sid);
	cr_assert_eq(r->src->kind, HG_EXPR_VAR);
	cr_assert_str_eq(r->src->text, "HOME_NET");
	cr_assert_eq(r->dst->kind, HG_EXPR_VAR);
	cr_assert_str_eq(r->dst->text, "EXTERNAL_NET");
	cr_assert_eq(r->sport->kind, HG_EXPR_ANY);
	cr_assert_eq(r->dport->kind, HG_EXPR_ANY);
	cr_assert(!r->bidirectional);
	cr_assert_eq(r->cls, HG_CLASS_APP);
	cr_assert_not_null(r->group);
	cr_assert_gt(r->src_set.n, 0);
}

static void assert_domainset(const struct hg_rule *r, enum hg_buffer buf, uint32_t sid_base)
{
	cr_assert_eq(r->n_matches, 1);
	cr_assert_eq(r->matches[0].kind, HG_MATCH_DOMAINSET);
	cr_assert_eq(r->matches[0].buffer, buf);
	cr_assert_eq(r->matches[0].sid_base, sid_base);
	cr_assert_not_null(r->matches[0].list);
	cr_assert_not_null(r->matches[0].list->matcher);
}

/* §1.3, DENYLIST evil.com on both types: the TLS rule is sid 1, HTTP 2. */
Test(finalize, anfw_denylist_example)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "deny", -1);
	dlist(rs, g, HG_LIST_DENYLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST, (const char *const[]){"evil.com"}, 1);
	cr_assert(run(rs));
	cr_assert_eq(g->n_rules, 2);
	assert_gen(g->rules[0], HG_ACT_DROP, HG_PROTO_TLS, 1, "matching TLS denylisted FQDNs", 1);
	assert_domainset(g->rules[0], HG_BUF_TLS_SNI, 1);
	assert_gen(g->rules[1], HG_ACT_DROP, HG_PROTO_HTTP, 2, "matching HTTP denylisted FQDNs", 1);
	assert_domainset(g->rules[1], HG_BUF_HTTP_HOST, 2);
	cr_assert(hg_ipset_equal(&g->rules[0]->src_set, &rs->policy->home_net));
	cr_assert(hg_ipset_equal(&g->rules[0]->dst_set, &rs->policy->external_net));
	uint32_t idx;
	cr_assert(hg_domain_matcher_lookup(g->list->matcher, "EVIL.com", 8, &idx));
	cr_assert_eq(idx, 0);
	cr_assert(!hg_domain_matcher_lookup(g->list->matcher, "a.evil.com", 10, &idx));
	/* BP: 3 for the first domain with both types */
	cr_assert_eq(g->consumed_capacity, 3);
	hg_ruleset_free(rs);
}

/* §1.3, HTTP ALLOWLIST [".amazon.com", "example.com"]: sids 1, 2, then the
 * catch-all 3 on http.header_names "|0d 0a|" startswith. */
Test(finalize, anfw_http_allowlist_example)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "allow", -1);
	dlist(rs, g, HG_LIST_ALLOWLIST, HG_TARGET_HTTP_HOST, (const char *const[]){".amazon.com", "example.com"}, 2);
	cr_assert(run(rs));
	cr_assert_eq(g->n_rules, 2);
	assert_gen(g->rules[0], HG_ACT_PASS, HG_PROTO_HTTP, 1, "matching HTTP allowlisted FQDNs", 1);
	assert_domainset(g->rules[0], HG_BUF_HTTP_HOST, 1);
	const struct hg_rule *c = g->rules[1];
	assert_gen(c, HG_ACT_DROP, HG_PROTO_HTTP, 3, "not matching any HTTP allowlisted FQDNs", 1);
	cr_assert_eq(c->n_matches, 1);
	cr_assert_eq(c->matches[0].kind, HG_MATCH_CONTENT);
	cr_assert_eq(c->matches[0].buffer, HG_BUF_HTTP_HEADER_NAMES);
	cr_assert_eq(c->matches[0].len, 2);
	cr_assert_eq(memcmp(c->matches[0].bytes, "\r\n", 2), 0);
	cr_assert(c->matches[0].startswith);
	cr_assert(!c->matches[0].endswith && !c->matches[0].nocase && !c->matches[0].negated);
	uint32_t idx;
	cr_assert(hg_domain_matcher_lookup(g->list->matcher, "amazon.com", 10, &idx));
	cr_assert_eq(idx, 0);
	cr_assert(hg_domain_matcher_lookup(g->list->matcher, "www.amazon.com", 14, &idx));
	cr_assert(hg_domain_matcher_lookup(g->list->matcher, "example.com", 11, &idx));
	cr_assert_eq(idx, 1);
	cr_assert(!hg_domain_matcher_lookup(g->list->matcher, "www.example.com", 15, &idx));
	cr_assert_eq(g->consumed_capacity, 2 + 1); /* first 2 for HTTP, then 1 */
	hg_ruleset_free(rs);
}

/* lazy_matchers (compile, check, apply): the same rules, sids and capacity,
 * no matcher; hg_ruleset_build_matchers() and hg_engine_new() build it, and
 * it answers as one built by finalize does. */
Test(finalize, lazy_matchers)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "deny", -1);
	dlist(rs, g, HG_LIST_DENYLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST,
	      (const char *const[]){".evil.com", "bad.org"}, 2);
	opts.lazy_matchers = true;
	cr_assert(run(rs));
	cr_assert_eq(g->n_rules, 2);
	assert_gen(g->rules[0], HG_ACT_DROP, HG_PROTO_TLS, 1, "matching TLS denylisted FQDNs", 1);
	assert_gen(g->rules[1], HG_ACT_DROP, HG_PROTO_HTTP, 3, "matching HTTP denylisted FQDNs", 1);
	cr_assert_eq(g->rules[1]->matches[0].sid_base, 3);
	cr_assert_eq(g->consumed_capacity, 2 * 2 + 1);
	cr_assert_null(g->list->matcher);

	struct hg_engine *e = hg_engine_new(rs);
	cr_assert_not_null(e);
	const struct hg_domain_matcher *m = g->list->matcher;
	cr_assert_not_null(m);
	uint32_t idx;
	cr_assert(hg_domain_matcher_lookup(m, "a.EVIL.com", 10, &idx));
	cr_assert_eq(idx, 0);
	cr_assert(hg_domain_matcher_lookup(m, "bad.org", 7, &idx));
	cr_assert_eq(idx, 1);
	cr_assert(!hg_domain_matcher_lookup(m, "x.bad.org", 9, &idx));
	/* Built once: a second engine and an explicit call keep it. */
	struct hg_engine *e2 = hg_engine_new(rs);
	hg_ruleset_build_matchers(rs);
	cr_assert_eq(g->list->matcher, m);
	hg_engine_free(e2);
	hg_engine_free(e);
	hg_ruleset_free(rs);
}

/* §1.3, TLS ALLOWLIST: sids 1, 2, catch-all 3 with ssl_state only. */
Test(finalize, anfw_tls_allowlist_example)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "allow", -1);
	dlist(rs, g, HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI, (const char *const[]){".amazon.com", "example.com"}, 2);
	cr_assert(run(rs));
	cr_assert_eq(g->n_rules, 2);
	assert_gen(g->rules[0], HG_ACT_PASS, HG_PROTO_TLS, 1, "matching TLS allowlisted FQDNs", 1);
	assert_domainset(g->rules[0], HG_BUF_TLS_SNI, 1);
	assert_gen(g->rules[1], HG_ACT_DROP, HG_PROTO_TLS, 3, "not matching any TLS allowlisted FQDNs", 1);
	cr_assert_eq(g->rules[1]->n_matches, 0);
	cr_assert_eq(g->consumed_capacity, 2);
	hg_ruleset_free(rs);
}

/* The seed's zero-trust groups: TLS targets 1-3, HTTP 4-6, TLS catch-all
 * 7, HTTP catch-all 8 (pcaps/cases.yaml); the denylist 1-2 and 3-4. */
Test(finalize, seed_allowlist_both_types)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *a = group(rs, "AllowedDomains", -1), *d = group(rs, "BlockMaliciousDomains", -1);
	a->capacity = d->capacity = 100;
	dlist(rs, a, HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST,
	      (const char *const[]){".amazonaws.com", ".example.com", "api.github.com"}, 3);
	dlist(rs, d, HG_LIST_DENYLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST,
	      (const char *const[]){".malicious-domain.com", "phishing-site.net"}, 2);
	cr_assert(run(rs));
	cr_assert_eq(a->n_rules, 4);
	assert_domainset(a->rules[0], HG_BUF_TLS_SNI, 1);
	assert_domainset(a->rules[1], HG_BUF_HTTP_HOST, 4);
	cr_assert_eq(a->rules[2]->sid, 7);
	cr_assert_str_eq(a->rules[2]->msg, "not matching any TLS allowlisted FQDNs");
	cr_assert_eq(a->rules[3]->sid, 8);
	cr_assert_str_eq(a->rules[3]->msg, "not matching any HTTP allowlisted FQDNs");
	cr_assert_eq(d->n_rules, 2);
	assert_domainset(d->rules[0], HG_BUF_TLS_SNI, 1);
	assert_domainset(d->rules[1], HG_BUF_HTTP_HOST, 3);
	cr_assert_eq(a->consumed_capacity, 3 + 2 * 2);
	cr_assert_eq(d->consumed_capacity, 3 + 2);
	uint32_t idx;
	cr_assert(hg_domain_matcher_lookup(a->list->matcher, "S3.US-EAST-1.AmazonAWS.com", 26, &idx));
	cr_assert_eq(idx, 0);
	cr_assert(!hg_domain_matcher_lookup(a->list->matcher, "fooexample.com", 14, &idx));
	hg_ruleset_free(rs);
}

Test(finalize, reject_and_alert_lists)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *r = group(rs, "r", -1), *al = group(rs, "a", -1);
	dlist(rs, r, HG_LIST_REJECTLIST, HG_TARGET_TLS_SNI, (const char *const[]){"x.com", "y.com"}, 2);
	dlist(rs, al, HG_LIST_ALERTLIST, HG_TARGET_HTTP_HOST, (const char *const[]){"x.com"}, 1);
	cr_assert(run(rs));
	cr_assert_eq(r->n_rules, 1);
	assert_gen(r->rules[0], HG_ACT_REJECT, HG_PROTO_TLS, 1, "matching TLS rejectlisted FQDNs", 1);
	cr_assert_eq(al->n_rules, 1);
	assert_gen(al->rules[0], HG_ACT_ALERT, HG_PROTO_HTTP, 1, "matching HTTP alertlisted FQDNs", 1);
	hg_ruleset_free(rs);
}

/* §1.6: strict-order domain lists carry no priority and no catch-alls. */
Test(finalize, strict_domain_list)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_STRICT);
	p->default_actions = HG_SDA_DROP_ESTABLISHED;
	struct hg_rule_group *g = group(rs, "allow", HG_ORDER_STRICT);
	ref(p, g, 5, 201);
	dlist(rs, g, HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST,
	      (const char *const[]){".example.com"}, 1);
	cr_assert(run(rs));
	cr_assert_eq(g->n_rules, 2);
	assert_gen(g->rules[0], HG_ACT_PASS, HG_PROTO_TLS, 1, "matching TLS allowlisted FQDNs", 0);
	assert_gen(g->rules[1], HG_ACT_PASS, HG_PROTO_HTTP, 2, "matching HTTP allowlisted FQDNs", 0);
	hg_ruleset_free(rs);
}

/* §1.5: the generated rules use the group's HOME_NET override. */
Test(finalize, domain_list_group_home_net)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "allow", -1);
	var(rs, &g->vars, &g->n_vars, "HOME_NET", HG_VAR_IP, 110, "10.0.0.0/16", "10.1.0.0/16", "192.0.2.0/24",
	    NULL);
	dlist(rs, g, HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI, (const char *const[]){"a.com"}, 1);
	cr_assert(run(rs));
	cr_assert(set_is(&g->rules[0]->src_set,
			 (const char *const[]){"10.0.0.0/15", "192.0.2.0/24", NULL}));
	cr_assert(hg_ipset_equal(&g->rules[1]->dst_set, &rs->policy->external_net));
	hg_ruleset_free(rs);
}

/* ------------------------------------------------------- order checks */

Test(finalize, strict_order_sorts_by_priority)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_STRICT);
	struct hg_rule_group *a = group(rs, "a", HG_ORDER_STRICT), *b = group(rs, "b", HG_ORDER_STRICT),
			     *c = group(rs, "c", HG_ORDER_STRICT);
	rule(rs, a, 1, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	rule(rs, b, 2, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	rule(rs, c, 3, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	ref(p, a, 30, 201);
	ref(p, b, 10, 202);
	ref(p, c, 20, 203);
	cr_assert(run(rs));
	cr_assert_eq(p->stateful_refs[0].group, b);
	cr_assert_eq(p->stateful_refs[1].group, c);
	cr_assert_eq(p->stateful_refs[2].group, a);
	hg_ruleset_free(rs);
}

Test(finalize, default_order_keeps_input_order)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_DEFAULT_ACTION);
	struct hg_rule_group *a = group(rs, "a", -1), *b = group(rs, "b", HG_ORDER_DEFAULT_ACTION);
	rule(rs, a, 1, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	rule(rs, b, 2, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	ref(p, b, 0, 201);
	ref(p, a, 0, 202);
	cr_assert(run(rs));
	cr_assert_eq(p->stateful_refs[0].group, b);
	cr_assert_eq(p->stateful_refs[1].group, a);
	hg_ruleset_free(rs);
}

Test(finalize, strict_priorities_required_and_unique)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_STRICT);
	struct hg_rule_group *a = group(rs, "a", HG_ORDER_STRICT), *b = group(rs, "b", HG_ORDER_STRICT),
			     *c = group(rs, "c", HG_ORDER_STRICT);
	ref(p, a, 10, 201);
	ref(p, b, 10, 202);
	ref(p, c, 0, 203);
	cr_assert(!run(rs));
	cr_assert(has_error(202, 3, "Priority 10", "'a'"));
	cr_assert(has_error(203, 3, "needs a Priority", NULL));
	hg_ruleset_free(rs);
}

Test(finalize, rule_order_mismatch_and_default_actions)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_DEFAULT_ACTION);
	p->default_actions = HG_SDA_ALERT_STRICT;
	struct hg_rule_group *g = group(rs, "g", HG_ORDER_STRICT);
	rule(rs, g, 1, HG_PROTO_TCP, "any", "any", "any", "23", 1);
	ref(p, g, 10, 201);
	cr_assert(!run(rs));
	cr_assert(has_error(201, 3,
			    "rule group 'g' RuleOrder STRICT_ORDER does not match the policy's DEFAULT_ACTION_ORDER",
			    NULL));
	cr_assert(has_error(200, 1, "StatefulDefaultActions", "STRICT_ORDER"));
	hg_ruleset_free(rs);
}

Test(finalize, default_action_combinations)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_STRICT);
	p->default_actions = HG_SDA_DROP_STRICT | HG_SDA_DROP_ESTABLISHED;
	cr_assert(!run(rs));
	cr_assert(has_error(200, 1, "aws:drop_strict", "aws:drop_established"));
	hg_ruleset_free(rs);

	hg_diag_fini(&diag);
	hg_diag_init(&diag);
	rs = hg_ruleset_new();
	p = policy(rs, HG_ORDER_STRICT);
	p->default_actions = HG_SDA_ALERT_ESTABLISHED | HG_SDA_DROP_ESTABLISHED_APP_LAYER;
	cr_assert(!run(rs));
	cr_assert(has_error(200, 1, "cannot exist together", NULL));
	hg_ruleset_free(rs);
}

Test(finalize, priority_keyword_in_strict_group)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", HG_ORDER_STRICT);
	rule(rs, g, 3, HG_PROTO_TLS, "$HOME_NET", "any", "any", "any", 1)->priority = 2;
	rule(rs, g, 4, HG_PROTO_TLS, "$HOME_NET", "any", "any", "any", 2);
	cr_assert(!run(rs));
	/* the synthesized policy follows the group's order: only this error */
	cr_assert_eq(rs->policy->rule_order, HG_ORDER_STRICT);
	cr_assert_eq(diag.errors, 1);
	cr_assert(has_error(3, 1, "priority", "STRICT_ORDER"));
	hg_ruleset_free(rs);
}

/* ----------------------------------------------- refs, sids, capacity */

Test(finalize, refs_by_arn)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = policy(rs, HG_ORDER_DEFAULT_ACTION);
	struct hg_rule_group *a = group(rs, "alpha", -1), *b = group(rs, "beta", -1);
	b->arn = "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/renamed";
	ref(p, NULL, 0, 201)->arn = "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/alpha";
	ref(p, NULL, 0, 202)->arn = b->arn;
	cr_assert(run(rs));
	cr_assert_eq(p->stateful_refs[0].group, a);
	cr_assert_eq(p->stateful_refs[1].group, b);
	hg_ruleset_free(rs);

	hg_diag_fini(&diag);
	hg_diag_init(&diag);
	rs = hg_ruleset_new();
	p = policy(rs, HG_ORDER_DEFAULT_ACTION);
	group(rs, "alpha", -1);
	ref(p, NULL, 0, 24)->arn = "MissingGroup";
	cr_assert(!run(rs));
	cr_assert(has_error(24, 3, "MissingGroup", NULL));
	hg_ruleset_free(rs);
}

Test(finalize, several_policies_need_a_choice)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	policy(rs, HG_ORDER_DEFAULT_ACTION);
	struct hg_policy *p2 = hg_arena_alloc(rs->arena, sizeof(*p2));
	p2->loc = (struct hg_loc){F, 400, 1};
	p2->name = "p2";
	rs->policies[rs->n_policies++] = p2;
	cr_assert(!run(rs));
	cr_assert(has_error(400, 1, "policies", NULL));
	hg_ruleset_free(rs);

	/* A Firewall resource's choice (rs->policy set by the loader) wins. */
	hg_diag_fini(&diag);
	hg_diag_init(&diag);
	rs = hg_ruleset_new();
	policy(rs, HG_ORDER_DEFAULT_ACTION);
	struct hg_policy *p1 = rs->policies[0];
	p2 = policy(rs, HG_ORDER_DEFAULT_ACTION); /* policy() starts a new list */
	rs->policies[0] = p1;
	rs->policies[1] = p2;
	rs->n_policies = 2;
	rs->policy = p2;
	cr_assert(run(rs));
	cr_assert_eq(rs->policy, p2);
	hg_ruleset_free(rs);
}

Test(finalize, duplicate_sid)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1), *h = group(rs, "h", -1);
	rule(rs, g, 1, HG_PROTO_TCP, "any", "any", "any", "23", 7);
	rule(rs, g, 2, HG_PROTO_TCP, "any", "any", "any", "21", 7);
	rule(rs, g, 3, HG_PROTO_TCP, "any", "any", "any", "22", 8);
	rule(rs, h, 4, HG_PROTO_TCP, "any", "any", "any", "22", 7); /* other group: fine (§3.4) */
	cr_assert(!run(rs));
	cr_assert_eq(diag.errors, 1);
	cr_assert(has_error(2, 1, "duplicate sid 7", "t.rules:1"));
	hg_ruleset_free(rs);
}

Test(finalize, classification)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	struct hg_rule *ipo = rule(rs, g, 1, HG_PROTO_TCP, "any", "any", "any", "23", 1);
	struct hg_rule *ipo2 = rule(rs, g, 2, HG_PROTO_IP, "any", "any", "any", "any", 2);
	struct hg_rule *pkt = rule(rs, g, 3, HG_PROTO_TCP, "any", "any", "any", "23", 3);
	pkt->flow = HG_FLOW_ESTABLISHED;
	struct hg_rule *pkt2 = rule(rs, g, 4, HG_PROTO_UDP, "any", "any", "any", "53", 4);
	struct hg_match m = {.kind = HG_MATCH_CONTENT, .buffer = HG_BUF_PAYLOAD, .bytes = (const uint8_t *)"x",
			     .len = 1, .offset = -1, .depth = -1};
	pkt2->matches = &m;
	pkt2->n_matches = 1;
	struct hg_rule *app = rule(rs, g, 5, HG_PROTO_TLS, "any", "any", "any", "any", 5);
	struct hg_rule *app2 = rule(rs, g, 6, HG_PROTO_TCP, "any", "any", "any", "any", 6);
	struct hg_match h = {.kind = HG_MATCH_BUFFER_PRESENT, .buffer = HG_BUF_HTTP_HOST};
	app2->matches = &h;
	app2->n_matches = 1;
	struct hg_rule *app3 = rule(rs, g, 7, HG_PROTO_TCP, "any", "any", "any", "any", 7);
	app3->ssl_state = HG_SSL_CLIENT_HELLO;
	cr_assert(run(rs));
	cr_assert_eq(ipo->cls, HG_CLASS_IP_ONLY);
	cr_assert_eq(ipo2->cls, HG_CLASS_IP_ONLY);
	cr_assert_eq(pkt->cls, HG_CLASS_PACKET);
	cr_assert_eq(pkt2->cls, HG_CLASS_PACKET);
	cr_assert_eq(app->cls, HG_CLASS_APP);
	cr_assert_eq(app2->cls, HG_CLASS_APP);
	cr_assert_eq(app3->cls, HG_CLASS_APP);
	cr_assert_eq(g->consumed_capacity, 7);
	hg_ruleset_free(rs);
}

/* tests/bad/capacity-exceeded: 4 domains on both types = 3 + 2*3 = 9 > 5. */
Test(finalize, capacity_exceeded)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "small", -1);
	g->capacity = 5;
	dlist(rs, g, HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST,
	      (const char *const[]){"a.com", "b.com", "c.com", "d.com"}, 4);
	cr_assert(!run(rs));
	cr_assert_eq(g->consumed_capacity, 9);
	cr_assert(has_error(100, 1, "capacity 9", "Capacity is 5"));
	hg_ruleset_free(rs);
}

/* §3.1: "2 protocols x 3 sources = 6"; omitted settings count 1; entries
 * as written count even when they overlap (n_written). */
static struct hg_ruleset *stateless_group(uint32_t capacity, uint32_t written_sources)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){F, 300, 1}, "sl", HG_GROUP_STATELESS);
	g->capacity = capacity;
	struct hg_stateless_rule *a = hg_arena_alloc(rs->arena, sizeof(*a));
	struct hg_stateless_rule *b = hg_arena_alloc(rs->arena, sizeof(*b));
	a->priority = 1;
	a->protocols[0] = 1u << 6; /* 6 */
	a->protocols[2] = 1u << 1; /* 17 */
	const char *const srcs[] = {"10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"};
	for (int i = 0; i < 3; i++) {
		struct hg_ip lo, hi;
		cr_assert(hg_ip_parse_cidr(srcs[i], &lo, &hi));
		hg_ipset_add(&a->sources, &lo, &hi);
	}
	a->n_written[0] = written_sources;
	b->priority = 2;
	b->any_source = b->any_destination = b->any_sport = b->any_dport = true;
	g->srules = hg_arena_alloc(rs->arena, 2 * sizeof(*g->srules));
	g->srules[0] = a;
	g->srules[1] = b;
	g->n_srules = 2;
	return rs;
}

Test(finalize, stateless_capacity)
{
	struct hg_ruleset *rs = stateless_group(10, 0);
	cr_assert(run(rs));
	cr_assert_eq(rs->groups[0]->consumed_capacity, 6 + 1);
	cr_assert_eq(rs->policy->n_stateless_refs, 1);
	cr_assert_eq(rs->policy->stateless_refs[0].priority, 1);
	hg_ruleset_free(rs);

	rs = stateless_group(8, 4);
	cr_assert(!run(rs));
	cr_assert_eq(rs->groups[0]->consumed_capacity, 8 + 1);
	cr_assert(has_error(300, 1, "capacity 9", "Capacity is 8"));
	hg_ruleset_free(rs);
}

/* A literal list of thousands of addresses in scrambled order (threat-list
 * style) resolves in one sort-and-merge, negated entries taken away. */
Test(finalize, big_address_list)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = group(rs, "g", -1);
	struct hg_rule *r = rule(rs, g, 1, HG_PROTO_TCP, "any", "any", "any", "any", 1);
	enum { N = 20000 };
	struct hg_expr *list = hg_arena_alloc(rs->arena, sizeof(*list));
	list->kind = HG_EXPR_LIST;
	list->loc = (struct hg_loc){F, 1, 30};
	list->items = hg_arena_alloc(rs->arena, (N + 1) * sizeof(*list->items));
	for (uint32_t i = 0; i < N; i++) {
		uint32_t k = (i * 7919u) % N; /* a permutation of 0..N-1 */
		char buf[32];
		snprintf(buf, sizeof(buf), "10.%u.%u.%u", (2 * k) >> 16, ((2 * k) >> 8) & 255, (2 * k) & 255);
		list->items[list->n_items++] = ex(rs, 1, 30, buf);
	}
	list->items[list->n_items++] = ex(rs, 1, 30, "!10.0.0.0/24");
	r->dst = list;
	cr_assert(run(rs));
	/* every other address, minus the 128 of 10.0.0.0/24 */
	cr_assert_eq(r->dst_set.n, N - 128);
	cr_assert(in(&r->dst_set, "10.0.1.0"));
	cr_assert(!in(&r->dst_set, "10.0.1.1"));
	cr_assert(!in(&r->dst_set, "10.0.0.2"));
	hg_ruleset_free(rs);
}
