/* test_load_cfn.c - the YAML/JSON loader: CloudFormation templates (YAML
 * and JSON, intrinsics, parameters), describe-* output, bare documents,
 * and bad inputs, each error asserted at its exact line:col with its
 * message. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/ir.h"

struct loaded {
	struct hg_ruleset *rs;
	struct hg_diag d;
	bool ok;
};

static void load_with(struct loaded *l, const char *path, const char *text, const struct hg_param *params,
		      size_t n_params)
{
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	o.params = params;
	o.n_params = n_params;
	if (!l->rs) {
		l->rs = hg_ruleset_new();
		hg_diag_init(&l->d);
	}
	l->ok = hg_load_yaml(l->rs, path, text, strlen(text), &o, &l->d);
}

static void load(struct loaded *l, const char *path, const char *text)
{
	load_with(l, path, text, NULL, 0);
}

static char *slurp(const char *rel)
{
	const char *src = getenv("HG_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void load_file(struct loaded *l, const char *rel)
{
	char *text = slurp(rel);
	load(l, rel, text);
	free(text);
}

static void done(struct loaded *l)
{
	hg_diag_fini(&l->d);
	hg_ruleset_free(l->rs);
}

static void dump(const struct loaded *l)
{
	hg_diag_print(&l->d, stderr);
}

/* An error at line:col whose message contains want. */
static bool has_error(const struct loaded *l, uint32_t line, uint32_t col, const char *want)
{
	for (size_t i = 0; i < l->d.recs.n; i++) {
		const struct hg_diag_record *r = &l->d.recs.v[i];
		if (r->level == HG_DIAG_ERROR && r->loc.line == line && r->loc.col == col && strstr(r->msg, want))
			return true;
	}
	return false;
}

static void expect_error(const struct loaded *l, uint32_t line, uint32_t col, const char *want)
{
	if (!has_error(l, line, col, want))
		dump(l);
	cr_expect(has_error(l, line, col, want), "no error at %u:%u containing \"%s\"", line, col, want);
}

/* Errors recorded by the load. */
static size_t real_errors(const struct loaded *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->d.recs.n; i++)
		if (l->d.recs.v[i].level == HG_DIAG_ERROR)
			n++;
	return n;
}

static void expect_clean(const struct loaded *l)
{
	if (real_errors(l))
		dump(l);
	cr_expect_eq(real_errors(l), 0, "unexpected errors");
}

static struct hg_rule_group *group(const struct loaded *l, const char *name)
{
	for (size_t i = 0; i < l->rs->n_groups; i++)
		if (!strcmp(l->rs->groups[i]->name, name))
			return l->rs->groups[i];
	cr_assert_fail("no group '%s'", name);
	return NULL;
}

/* ------------------------------------------------------------- templates */

Test(cfn, seed_template)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/seed-zero-trust.yaml");
	/* VpcId: !Ref VPC names a resource outside the file: never read. */
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	cr_assert_eq(l.d.errors, 0);
	cr_assert_eq(l.rs->n_groups, 2);
	struct hg_rule_group *a = l.rs->groups[0], *b = l.rs->groups[1];
	cr_expect_str_eq(a->name, "AllowedDomains");
	cr_expect_str_eq(a->logical_id, "DomainAllowListRuleGroup");
	cr_expect_str_eq(a->arn, "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/AllowedDomains");
	cr_expect_eq(a->type, HG_GROUP_STATEFUL);
	cr_expect_eq(a->capacity, 100);
	cr_expect_eq(a->source, HG_SRC_DOMAIN_LIST);
	cr_assert_not_null(a->list);
	cr_expect_eq(a->list->type, HG_LIST_ALLOWLIST);
	cr_expect_eq(a->list->target_types, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST);
	cr_assert_eq(a->list->n_targets, 3);
	cr_expect_str_eq(a->list->targets[0].name, ".amazonaws.com");
	cr_expect_str_eq(a->list->targets[1].name, ".example.com");
	cr_expect_str_eq(a->list->targets[2].name, "api.github.com");
	cr_expect_eq(a->list->targets[2].loc.line, 40);
	cr_expect_eq(a->list->targets[2].loc.col, 17);
	cr_expect_str_eq(b->name, "BlockMaliciousDomains");
	cr_expect_eq(b->list->type, HG_LIST_DENYLIST);
	cr_expect_eq(b->list->n_targets, 2);

	cr_assert_eq(l.rs->n_policies, 1);
	struct hg_policy *p = l.rs->policies[0];
	cr_expect_str_eq(p->name, "ZeroTrustPolicy");
	cr_expect_eq(l.rs->policy, p, "the Firewall's FirewallPolicyArn picks the policy");
	cr_expect_str_eq(l.rs->firewall_name, "ZeroTrustFirewall");
	cr_expect_eq(p->stateless_default, HG_SL_FORWARD);
	cr_expect_eq(p->stateless_fragment_default, HG_SL_FORWARD);
	cr_expect_eq(p->rule_order, HG_ORDER_DEFAULT_ACTION);
	cr_assert_eq(p->n_stateful_refs, 2);
	cr_expect_eq(p->stateful_refs[0].group, a);
	cr_expect_eq(p->stateful_refs[1].group, b);
	cr_expect_eq(p->stateful_refs[0].priority, 0);
	cr_expect_eq(p->stateful_refs[0].loc.line, 22);
	done(&l);
}

Test(cfn, seed_template_finalizes)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/seed-zero-trust.yaml");
	cr_assert(l.ok);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	bool ok = hg_ruleset_finalize(l.rs, &o, &l.d);
	if (!ok)
		dump(&l);
	cr_assert(ok);
	cr_expect_str_eq(l.rs->policy->name, "ZeroTrustPolicy");
	done(&l);
}

Test(cfn, json_template_intrinsics)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/allowlist-cfn.json");
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok, "InspectionVpc has no Default but only VpcId uses it");
	cr_assert_eq(l.rs->n_groups, 1);
	struct hg_rule_group *g = l.rs->groups[0];
	cr_expect_str_eq(g->name, "allowed-domains-prod"); /* Fn::Sub with a parameter default */
	cr_expect_str_eq(g->logical_id, "AllowedDomains");
	cr_assert_eq(g->list->n_targets, 6);
	cr_expect_str_eq(g->list->targets[5].name, "deb.debian.org"); /* lower case, trailing dot dropped */
	cr_assert_eq(g->n_vars, 1);
	cr_expect_str_eq(g->vars[0]->name, "HOME_NET");
	cr_expect_eq(g->vars[0]->kind, HG_VAR_IP);
	cr_assert_eq(g->vars[0]->n_defs, 3);
	cr_expect_eq(g->vars[0]->defs[1]->kind, HG_EXPR_LITERAL);
	cr_expect_str_eq(g->vars[0]->defs[1]->text, "172.16.0.0/12");
	struct hg_policy *p = l.rs->policy;
	cr_assert_not_null(p);
	cr_expect_str_eq(p->name, "egress-policy-prod"); /* Fn::Join */
	cr_expect_str_eq(p->arn, "arn:aws:network-firewall:us-east-1:123456789012:firewall-policy/egress-policy-prod");
	cr_assert_eq(p->n_stateful_refs, 1);
	cr_expect_eq(p->stateful_refs[0].group, g); /* Fn::GetAtt RuleGroupArn */
	cr_expect_str_eq(p->stateful_refs[0].arn, g->arn);
	cr_expect_str_eq(l.rs->firewall_name, "egress-prod-us-east-1"); /* pseudo parameter */
	done(&l);
}

Test(cfn, param_override)
{
	struct loaded l = {0};
	char *text = slurp("rulesets/allowlist-cfn.json");
	struct hg_param params[] = {{"Environment", "dev"}, {"Unused", "x"}};
	load_with(&l, "allowlist-cfn.json", text, params, 2);
	free(text);
	cr_assert(l.ok);
	cr_expect_str_eq(l.rs->groups[0]->name, "allowed-domains-dev");
	cr_expect_str_eq(l.rs->policy->name, "egress-policy-dev");
	cr_expect_str_eq(l.rs->firewall_name, "egress-dev-us-east-1");
	done(&l);
}

Test(cfn, param_outside_allowed_values)
{
	struct loaded l = {0};
	char *text = slurp("rulesets/allowlist-cfn.json");
	struct hg_param params[] = {{"Environment", "staging"}};
	load_with(&l, "allowlist-cfn.json", text, params, 1);
	free(text);
	cr_expect(!l.ok);
	/* {"Fn::Sub": "allowed-domains-${Environment}"}: at the ${. */
	expect_error(&l, 18, 55,
		     "--param Environment=staging is not one of the parameter's AllowedValues: dev, prod");
	cr_expect_eq(l.d.errors, 1, "reported once, not at each use");
	done(&l);
}

Test(cfn, denylist_getatt_policy)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/denylist-cfn.json");
	cr_assert(l.ok);
	cr_expect_str_eq(l.rs->policy->name, "deny-policy");
	cr_expect_str_eq(l.rs->firewall_name, "deny-firewall");
	cr_expect_eq(l.rs->groups[0]->list->type, HG_LIST_DENYLIST);
	cr_expect_eq(l.rs->policy->stateful_refs[0].group, l.rs->groups[0]);
	done(&l);
}

Test(cfn, sub_forms_select_split)
{
	struct loaded l = {0};
	load(&l, "t.yaml",
	     "Parameters:\n"
	     "  Domains:\n"
	     "    Type: CommaDelimitedList\n"
	     "    Default: \"a.example.com, b.example.com\"\n"
	     "  Suffix: {Type: String, Default: x}\n"
	     "Resources:\n"
	     "  G:\n"
	     "    Type: AWS::NetworkFirewall::RuleGroup\n"
	     "    Properties:\n"
	     "      RuleGroupName: !Sub\n"
	     "        - \"${Prefix}-${Suffix}-${!Literal}\"\n"
	     "        - Prefix: !Select [1, !Split [\"/\", \"p/q/r\"]]\n"
	     "      Type: STATEFUL\n"
	     "      Capacity: !Ref Cap\n"
	     "      RuleGroup:\n"
	     "        RulesSource:\n"
	     "          RulesSourceList:\n"
	     "            Targets: !Ref Domains\n"
	     "            TargetTypes: [TLS_SNI]\n"
	     "            GeneratedRulesType: DENYLIST\n");
	/* Cap is neither a parameter nor a resource. */
	expect_error(&l, 14, 17, "unresolvable !Ref 'Cap'");
	cr_expect_eq(real_errors(&l), 1);
	struct hg_rule_group *g = l.rs->groups[0];
	cr_expect_str_eq(g->name, "q-x-${Literal}");
	cr_assert_eq(g->list->n_targets, 2);
	cr_expect_str_eq(g->list->targets[1].name, "b.example.com");
	done(&l);
}

Test(cfn, json_ref_getatt_objects)
{
	struct loaded l = {0};
	load(&l, "t.json",
	     "{\"Resources\":{\"P\":{\"Type\":\"AWS::NetworkFirewall::FirewallPolicy\",\"Properties\":{"
	     "\"FirewallPolicyName\":{\"Fn::Sub\":[\"p-${N}\",{\"N\":{\"Ref\":\"AWS::AccountId\"}}]},"
	     "\"FirewallPolicy\":{\"StatelessDefaultActions\":[\"aws:pass\"],"
	     "\"StatelessFragmentDefaultActions\":[\"aws:drop\"],"
	     "\"StatefulRuleGroupReferences\":[{\"ResourceArn\":{\"Fn::GetAtt\":\"G.RuleGroupArn\"}}]}}},"
	     "\"G\":{\"Type\":\"AWS::NetworkFirewall::RuleGroup\",\"Properties\":{\"RuleGroupName\":\"g\","
	     "\"Type\":\"STATEFUL\",\"Capacity\":\"10\",\"RuleGroup\":{\"RulesSource\":{\"RulesSourceList\":{"
	     "\"Targets\":[\"x.com\"],\"TargetTypes\":[\"HTTP_HOST\"],\"GeneratedRulesType\":\"ALERTLIST\"}}}}}}}");
	expect_clean(&l);
	cr_assert(l.ok);
	cr_expect_str_eq(l.rs->policies[0]->name, "p-123456789012");
	cr_expect_eq(l.rs->policies[0]->stateless_default, HG_SL_PASS);
	cr_expect_eq(l.rs->policies[0]->stateless_fragment_default, HG_SL_DROP);
	cr_expect_eq(l.rs->policies[0]->stateful_refs[0].group, l.rs->groups[0]);
	cr_expect_eq(l.rs->groups[0]->capacity, 10);
	cr_expect_eq(l.rs->groups[0]->list->type, HG_LIST_ALERTLIST);
	cr_expect_eq(l.rs->groups[0]->list->target_types, HG_TARGET_HTTP_HOST);
	cr_expect_eq(l.rs->policy, NULL, "one policy, no Firewall: finalize picks it");
	done(&l);
}

Test(cfn, strict_policy)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/strict-policy.yaml");
	expect_clean(&l);
	struct hg_policy *p = l.rs->policy;
	cr_assert_not_null(p);
	cr_expect_str_eq(p->name, "strict-hostgate");
	cr_expect_str_eq(l.rs->firewall_name, "strict-firewall");
	cr_expect_eq(p->rule_order, HG_ORDER_STRICT);
	cr_expect_eq(p->stream_exception, HG_SEP_REJECT);
	cr_expect_eq(p->default_actions, HG_SDA_DROP_ESTABLISHED | HG_SDA_ALERT_ESTABLISHED);
	cr_assert_eq(p->n_stateful_refs, 2);
	cr_expect_eq(p->stateful_refs[0].group, group(&l, "strict-allowed-domains"));
	cr_expect_eq(p->stateful_refs[0].priority, 200);
	cr_expect_eq(p->stateful_refs[1].group, group(&l, "baseline"));
	cr_expect_eq(p->stateful_refs[1].priority, 100);
	cr_assert_eq(p->n_vars, 1);
	cr_expect_str_eq(p->vars[0]->name, "HOME_NET");
	cr_expect_str_eq(p->vars[0]->defs[0]->text, "10.0.0.0/16"); /* !Ref HomeCidr's Default */
	struct hg_rule_group *g = group(&l, "baseline");
	cr_expect(g->has_rule_order);
	cr_expect_eq(g->rule_order, HG_ORDER_STRICT);
	cr_expect_eq(g->source, HG_SRC_RULES_STRING);
	cr_assert(l.ok);
	cr_assert_eq(g->n_rules, 3);
	/* The block scalar's content starts on line 20 (a comment). */
	cr_expect_eq(g->rules[0]->loc.line, 21);
	cr_expect_eq(g->rules[0]->loc.col, 13);
	cr_expect_eq(g->rules[2]->loc.line, 23);
	cr_expect_eq(g->rules[2]->sid, 1003);
	done(&l);
}

Test(cfn, strict_policy_with_param)
{
	struct loaded l = {0};
	char *text = slurp("rulesets/strict-policy.yaml");
	struct hg_param params[] = {{"HomeCidr", "192.168.0.0/16"}};
	load_with(&l, "strict-policy.yaml", text, params, 1);
	free(text);
	cr_expect_str_eq(l.rs->policy->vars[0]->defs[0]->text, "192.168.0.0/16");
	done(&l);
}

Test(cfn, stateless_rules)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/stateless.yaml");
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	struct hg_rule_group *g = group(&l, "stateless-basics");
	cr_expect_eq(g->type, HG_GROUP_STATELESS);
	cr_expect_eq(g->source, HG_SRC_STATELESS);
	cr_assert_eq(g->n_srules, 4);
	struct hg_stateless_rule *r = g->srules[0];
	cr_expect_eq(r->priority, 10);
	cr_expect_eq(r->action, HG_SL_DROP);
	cr_assert_eq(r->n_custom_actions, 1);
	cr_expect_str_eq(r->custom_actions[0], "CountTelnet");
	cr_expect_str_eq(r->custom_dimensions[0], "telnet");
	cr_expect(r->any_source && r->any_destination && r->any_sport && !r->any_dport);
	cr_expect(hg_portset_contains(&r->dst_ports, 23));
	cr_expect(!hg_portset_contains(&r->dst_ports, 22));
	cr_expect_eq(r->protocols[0], 1u << 6);
	r = g->srules[1];
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr("203.0.113.9", &lo, &hi));
	cr_expect(hg_ipset_contains(&r->sources, &lo));
	cr_assert(hg_ip_parse_cidr("203.0.114.9", &lo, &hi));
	cr_expect(!hg_ipset_contains(&r->sources, &lo));
	cr_expect_eq(r->n_written[0], 2);
	cr_expect_eq(r->protocols[2], 1u << (17 - 16));
	r = g->srules[2];
	cr_expect_eq(r->action, HG_SL_FORWARD);
	cr_assert_eq(r->n_tcp_flags, 1);
	cr_expect_eq(r->tcp_flags[0].flags, 0x02);
	cr_expect_eq(r->tcp_flags[0].masks, 0x12);
	cr_expect(hg_portset_contains(&r->src_ports, 1024) && !hg_portset_contains(&r->src_ports, 1023));
	cr_expect_eq(r->n_written[3], 2);
	cr_expect_eq(g->srules[3]->action, HG_SL_PASS);

	struct hg_policy *p = l.rs->policies[0];
	cr_expect_eq(p->stateless_default, HG_SL_FORWARD);
	cr_expect_eq(p->stateless_fragment_default, HG_SL_DROP);
	cr_assert_eq(p->n_stateless_refs, 1);
	cr_expect_eq(p->stateless_refs[0].group, g);
	cr_expect_eq(p->stateless_refs[0].priority, 1);
	cr_expect_str_eq(g->arn, "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/stateless-basics");
	done(&l);
}

Test(cfn, stateful_rules_rendered)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/stateful-5tuple.yaml");
	struct hg_rule_group *g = group(&l, "five-tuple");
	cr_expect_eq(g->source, HG_SRC_STATEFUL_RULES);
	cr_assert_eq(g->n_vars, 5);
	cr_expect_eq(g->vars[3]->kind, HG_VAR_PORT);
	cr_expect_str_eq(g->vars[3]->name, "WEB_PORTS");
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	cr_assert_eq(g->n_rules, 6);
	struct hg_rule *r = g->rules[0];
	cr_expect_eq(r->action, HG_ACT_PASS);
	cr_expect_eq(r->proto, HG_PROTO_UDP);
	cr_expect_eq(r->sid, 100);
	cr_expect_str_eq(r->msg, "DNS to the resolvers");
	cr_expect(!r->bidirectional);
	cr_assert_not_null(r->dst);
	cr_expect_eq(r->dst->kind, HG_EXPR_VAR);
	cr_expect_str_eq(r->dst->text, "DNS_RESOLVERS");
	/* Locations point at the YAML: the rule item and its Destination. */
	cr_expect_eq(r->loc.line, 28);
	cr_expect_eq(r->dst->loc.line, 34);
	cr_expect_eq(r->dst->loc.col, 30);
	cr_expect_eq(g->rules[1]->rev, 2);
	cr_expect(g->rules[2]->bidirectional, "Direction ANY is <>");
	cr_expect_eq(g->rules[3]->action, HG_ACT_REJECT);
	cr_expect(g->rules[3]->flow & HG_FLOW_TO_SERVER);
	r = g->rules[4];
	cr_expect_eq(r->action, HG_ACT_ALERT);
	cr_assert_not_null(r->dst);
	cr_expect_eq(r->dst->kind, HG_EXPR_LIST);
	cr_expect_eq(r->dst->n_items, 2);
	cr_expect(r->dport->negated);
	cr_expect_eq(g->rules[5]->proto, HG_PROTO_ICMP);
	cr_expect(g->rules[5]->bidirectional);
	done(&l);
}

/* ------------------------------------------------- API and bare documents */

Test(cfn, describe_rule_group)
{
	struct loaded l = {0};
	load_file(&l, "rulesets/describe-rule-group.json");
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	cr_assert_eq(l.rs->n_groups, 1);
	struct hg_rule_group *g = l.rs->groups[0];
	cr_expect_str_eq(g->name, "egress-allowed-domains");
	cr_expect_str_eq(g->arn, "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/egress-allowed-domains");
	cr_expect_eq(g->capacity, 100);
	cr_expect(g->has_rule_order);
	cr_expect_eq(g->rule_order, HG_ORDER_DEFAULT_ACTION);
	cr_expect_eq(g->list->n_targets, 3);
	cr_expect_eq(g->n_vars, 1);
	cr_expect_eq(l.rs->n_policies, 0);
	done(&l);
}

Test(cfn, describe_policy_binds_groups_by_arn_and_name)
{
	struct loaded l = {0};
	load_file(&l, "tests/data/cfn/describe-firewall-policy.json");
	cr_assert(l.ok);
	load_file(&l, "rulesets/describe-rule-group.json");
	cr_assert(l.ok);
	load_file(&l, "tests/data/cfn/blocked.yaml");
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	struct hg_policy *p = l.rs->policies[0];
	cr_expect_str_eq(p->name, "egress-policy");
	cr_expect_str_eq(p->arn, "arn:aws:network-firewall:us-east-1:123456789012:firewall-policy/egress-policy");
	cr_assert_eq(p->n_stateful_refs, 2);
	/* Loaded before its groups: bound by finalize. */
	cr_expect_null(p->stateful_refs[0].group);
	cr_expect_str_eq(p->stateful_refs[1].arn,
			 "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/blocked");
	cr_assert_eq(p->n_vars, 1, "RuleVariables.IPSets (API shape)");
	cr_expect_eq(p->vars[0]->n_defs, 2);
	/* The bare document is named after its file. */
	cr_expect_str_eq(l.rs->groups[1]->name, "blocked");
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	bool ok = hg_ruleset_finalize(l.rs, &o, &l.d);
	if (!ok)
		dump(&l);
	cr_assert(ok);
	cr_expect_eq(l.rs->policy, p);
	cr_expect_eq(p->stateful_refs[0].group, group(&l, "egress-allowed-domains"));
	cr_expect_eq(p->stateful_refs[1].group, group(&l, "blocked"));
	done(&l);
}

Test(cfn, bare_policy)
{
	struct loaded l = {0};
	load_file(&l, "tests/data/cfn/bare-policy.json");
	cr_assert(l.ok);
	cr_assert_eq(l.rs->n_policies, 1);
	struct hg_policy *p = l.rs->policies[0];
	cr_expect_str_eq(p->name, "bare-policy");
	cr_expect_eq(p->stateless_default, HG_SL_PASS);
	cr_expect_eq(p->rule_order, HG_ORDER_STRICT);
	cr_expect_eq(p->default_actions,
		     HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER | HG_SDA_ALERT_ESTABLISHED_APP_LAYER_TO_SERVER);
	done(&l);
}

Test(cfn, bare_stateless_group_infers_type)
{
	struct loaded l = {0};
	load(&l, "dir/sl.yaml",
	     "RulesSource:\n"
	     "  StatelessRulesAndCustomActions:\n"
	     "    StatelessRules:\n"
	     "      - Priority: 5\n"
	     "        RuleDefinition:\n"
	     "          Actions: [\"aws:pass\"]\n"
	     "          MatchAttributes: {Protocols: [1]}\n");
	cr_assert(l.ok);
	cr_expect_str_eq(l.rs->groups[0]->name, "sl");
	cr_expect_eq(l.rs->groups[0]->type, HG_GROUP_STATELESS);
	cr_expect_eq(l.rs->groups[0]->srules[0]->protocols[0], 1u << 1);
	done(&l);
}

Test(cfn, several_policies_without_firewall_warns)
{
	struct loaded l = {0};
	load(&l, "t.yaml",
	     "Resources:\n"
	     "  A:\n"
	     "    Type: AWS::NetworkFirewall::FirewallPolicy\n"
	     "    Properties:\n"
	     "      FirewallPolicyName: a\n"
	     "      FirewallPolicy: {StatelessDefaultActions: [\"aws:forward_to_sfe\"], "
	     "StatelessFragmentDefaultActions: [\"aws:forward_to_sfe\"]}\n"
	     "  B:\n"
	     "    Type: AWS::NetworkFirewall::FirewallPolicy\n"
	     "    Properties:\n"
	     "      FirewallPolicyName: b\n"
	     "      FirewallPolicy: {StatelessDefaultActions: [\"aws:drop\"], "
	     "StatelessFragmentDefaultActions: [\"aws:drop\"]}\n");
	cr_assert(l.ok);
	cr_expect_eq(l.d.warnings, 1);
	cr_expect_str_eq(l.rs->policy->name, "a");
	done(&l);
}

/* ---------------------------------------------------------- bad inputs */

Test(cfn_bad, misspelt_key)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/misspelt-key.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 11, 13, "unknown key 'Tragets' in RulesSourceList; did you mean 'Targets'?");
	cr_expect_eq(l.d.errors, 1, "the misspelling is not also reported as a missing key");
	done(&l);
}

Test(cfn_bad, missing_required)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/missing-required.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 11, 13, "RulesSourceList is missing the required key 'GeneratedRulesType'");
	done(&l);
}

Test(cfn_bad, enums)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/bad-generated-type.yaml");
	expect_error(&l, 13, 33,
		     "invalid value 'WHITELIST' for GeneratedRulesType; expected one of ALLOWLIST, DENYLIST, "
		     "REJECTLIST, ALERTLIST");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-target-type.yaml");
	expect_error(&l, 12, 36, "invalid value 'DNS_QUERY' for TargetTypes; expected one of TLS_SNI, HTTP_HOST");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-action.yaml");
	expect_error(&l, 11, 23, "invalid value 'ALLOW' for Action; expected one of PASS, DROP, ALERT, REJECT");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-direction.yaml");
	expect_error(&l, 16, 28, "invalid value 'BOTH' for Direction; expected one of FORWARD, ANY");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-protocol.yaml");
	expect_error(&l, 13, 27, "invalid value 'SCTPX' for Protocol; expected one of IP, TCP, UDP");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-rule-order.yaml");
	expect_error(&l, 27, 22, "invalid value 'STRICT' for RuleOrder; expected one of DEFAULT_ACTION_ORDER, STRICT_ORDER");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-stateful-default.yaml");
	expect_error(&l, 28, 34, "invalid value 'aws:drop_everything' for StatefulDefaultActions");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/bad-tcp-flag.yaml");
	expect_error(&l, 10, 24, "invalid value 'SYNN' for TCP Flags; did you mean 'SYN'?");
	done(&l);
}

/* One file, several independent mistakes: every one is reported. */
Test(cfn_bad, recovers_and_reports_all)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/bad-stateless-default.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 8, 22, "parameter 'Env' has no Default; give its value with --param Env=VALUE");
	expect_error(&l, 21, 35,
		     "invalid value 'aws:allow' for StatelessDefaultActions; expected one of aws:pass, aws:drop, "
		     "aws:forward_to_sfe");
	cr_expect_eq(real_errors(&l), 2);
	done(&l);

	l = (struct loaded){0};
	load_file(&l, "tests/bad/several-bad-targets.yaml");
	expect_error(&l, 11, 24, "invalid domain-list target '-bad.com': label starts with '-'");
	expect_error(&l, 11, 51, "invalid domain-list target 'bad-.com': label ends with '-'");
	expect_error(&l, 11, 61, "invalid domain-list target 'a b.com': whitespace inside a domain name");
	cr_expect_eq(l.d.errors, 3);
	done(&l);
}

Test(cfn_bad, sda_combinations)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/mixed-default-actions.yaml");
	expect_error(&l, 28, 53, "choose at most one drop action, not aws:drop_strict and aws:drop_established");
	done(&l);
	l = (struct loaded){0};
	load(&l, "p.yaml",
	     "StatelessDefaultActions: [\"aws:forward_to_sfe\"]\n"
	     "StatelessFragmentDefaultActions: [\"aws:forward_to_sfe\"]\n"
	     "StatefulDefaultActions: [aws:alert_established, aws:drop_established_app_layer]\n");
	expect_error(&l, 3, 49, "aws:alert_established and aws:drop_established_app_layer cannot exist together");
	done(&l);
}

Test(cfn_bad, alias_bomb)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/alias-bomb.yaml");
	cr_expect(!l.ok);
	/* Refused at the alias that crosses 100000 nodes: *d on line 5
	 * (each *d reaches 1111 nodes; the 91st alias in the file). */
	expect_error(&l, 5, 29, "aliases reach more than 100000 nodes (alias '*d')");
	cr_expect_eq(l.rs->n_groups, 0);
	done(&l);
}

Test(cfn_bad, small_alias_use_is_fine)
{
	struct loaded l = {0};
	load(&l, "a.yaml",
	     "RulesSource:\n"
	     "  RulesSourceList:\n"
	     "    Targets: &t [a.example.com, b.example.com]\n"
	     "    TargetTypes: [TLS_SNI]\n"
	     "    GeneratedRulesType: DENYLIST\n");
	cr_assert(l.ok);
	done(&l);
}

Test(cfn_bad, depth_bomb)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/depth-bomb.yaml");
	cr_expect(!l.ok);
	/* "Resources: " then '[': the 65th collection opens at column 75. */
	expect_error(&l, 1, 75, "nesting depth exceeds the limit of 64 levels");
	done(&l);
}

Test(cfn_bad, scalar_cap)
{
	struct loaded l = {0};
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	o.max_scalar_bytes = 12;
	l.rs = hg_ruleset_new();
	hg_diag_init(&l.d);
	const char *text = "RulesSource:\n  RulesString: \"0123456789abc\"\n";
	cr_expect(!hg_load_yaml(l.rs, "s.yaml", text, strlen(text), &o, &l.d));
	expect_error(&l, 2, 16, "scalar of 13 bytes exceeds the 12-byte limit");
	done(&l);
}

Test(cfn_bad, duplicate_key)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/duplicate-key.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 6, 7, "duplicate key 'RuleGroupName' (first at line 5)");
	cr_expect_str_eq(l.rs->groups[0]->name, "one", "the first value is kept");
	done(&l);
}

Test(cfn_bad, yaml_syntax)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/yaml-syntax.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 6, 11, "YAML syntax error: did not find expected ',' or ']'");
	done(&l);
	l = (struct loaded){0};
	load_file(&l, "tests/bad/json-syntax.json");
	cr_expect(!l.ok);
	expect_error(&l, 3, 1, "YAML syntax error: did not find expected ',' or '}'");
	done(&l);
	l = (struct loaded){0};
	load(&l, "tab.yaml", "Resources:\n\tG: 1\n");
	cr_expect(!l.ok);
	expect_error(&l, 2, 1, "YAML syntax error: found character that cannot start any token");
	done(&l);
}

Test(cfn_bad, unresolvable_ref)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/unresolvable-ref.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 24, 26, "unresolvable !Ref 'MissingGroup'");
	done(&l);
	/* A Ref to a resource hostgate cannot know, where a value is needed. */
	l = (struct loaded){0};
	load(&l, "t.yaml",
	     "Resources:\n"
	     "  V: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\n"
	     "  G:\n"
	     "    Type: AWS::NetworkFirewall::RuleGroup\n"
	     "    Properties:\n"
	     "      RuleGroupName: g\n"
	     "      Type: STATEFUL\n"
	     "      Capacity: 10\n"
	     "      RuleGroup:\n"
	     "        RuleVariables: {IPSets: {HOME_NET: {Definition: [!GetAtt V.CidrBlock]}}}\n"
	     "        RulesSource:\n"
	     "          RulesSourceList: {Targets: [a.com], TargetTypes: [TLS_SNI], GeneratedRulesType: DENYLIST}\n");
	expect_error(&l, 10, 58, "!GetAtt 'V.CidrBlock' is known only once the stack is deployed");
	done(&l);
}

Test(cfn_bad, empty_targets)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/empty-targets.yaml");
	cr_expect(!l.ok);
	expect_error(&l, 11, 22, "Targets is empty");
	done(&l);
}

Test(cfn_bad, bad_domains_located_in_value)
{
	struct loaded l = {0};
	load_file(&l, "tests/bad/bad-domain-empty-label.yaml");
	/* ["exa_mple..com"]: the second dot, inside the quotes. */
	expect_error(&l, 11, 33, "invalid domain-list target 'exa_mple..com': empty label (two dots)");
	done(&l);
}

Test(cfn_bad, not_a_ruleset)
{
	struct loaded l = {0};
	load(&l, "x.yaml", "name: example\ncapacity: 100\n");
	cr_expect(!l.ok);
	expect_error(&l, 1, 1, "not a CloudFormation template");
	done(&l);
	l = (struct loaded){0};
	load(&l, "x.yaml", "- a\n- b\n");
	expect_error(&l, 1, 1, "expected a mapping at the top of the document");
	done(&l);
	l = (struct loaded){0};
	load(&l, "x.yaml", "# nothing\n");
	expect_error(&l, 1, 1, "empty document");
	done(&l);
}

Test(cfn_bad, stateful_rule_needs_sid)
{
	struct loaded l = {0};
	load(&l, "r.yaml",
	     "RulesSource:\n"
	     "  StatefulRules:\n"
	     "    - Action: DROP\n"
	     "      Header: {Protocol: TCP, Source: ANY, SourcePort: ANY, Direction: FORWARD,\n"
	     "               Destination: ANY, DestinationPort: \"23\"}\n"
	     "      RuleOptions:\n"
	     "        - Keyword: msg\n"
	     "          Settings: [\"telnet\"]\n");
	cr_expect(!l.ok);
	expect_error(&l, 7, 9, "StatefulRule needs a 'sid' RuleOption");
	done(&l);
}

/* StatefulRules go through the Suricata loader as rendered text; its
 * errors come back at the YAML node each byte came from. */
Test(cfn_bad, stateful_rule_errors_at_yaml_nodes)
{
	struct loaded l = {0};
	load(&l, "sr.yaml",
	     "RulesSource:\n"
	     "  StatefulRules:\n"
	     "    - Action: DROP\n"
	     "      Header:\n"
	     "        Protocol: HTTP\n"
	     "        Source: $HOME_NET\n"
	     "        SourcePort: ANY\n"
	     "        Direction: ANY\n"
	     "        Destination: \"[10.0.0.0/8, !10.1.0.0/16]\"\n"
	     "        DestinationPort: \"70000\"\n"
	     "      RuleOptions:\n"
	     "        - Keyword: msg\n"
	     "          Settings: [this is a stateful drop rule]\n"
	     "        - Keyword: lua\n"
	     "          Settings: [\"x.lua\"]\n"
	     "        - Keyword: sid\n"
	     "          Settings: [\"1234\"]\n"
	     "    - Action: ALERT\n"
	     "      Header: {Protocol: TLS, Source: 10.0.0.0/33, SourcePort: ANY, Direction: FORWARD,\n"
	     "               Destination: ANY, DestinationPort: ANY}\n"
	     "      RuleOptions: [{Keyword: sid, Settings: [\"1235\"]}]\n");
	cr_expect(!l.ok);
	expect_error(&l, 10, 27, "70000");
	expect_error(&l, 14, 20, "lua");
	expect_error(&l, 19, 39, "10.0.0.0/33");
	done(&l);
}

Test(cfn, stateful_rule_bare_msg_quoted)
{
	struct loaded l = {0};
	load(&l, "sr.yaml",
	     "RulesSource:\n"
	     "  StatefulRules:\n"
	     "    - Action: DROP\n"
	     "      Header: {Protocol: HTTP, Source: $HOME_NET, SourcePort: ANY, Direction: ANY,\n"
	     "               Destination: $EXTERNAL_NET, DestinationPort: ANY}\n"
	     "      RuleOptions:\n"
	     "        - {Keyword: msg, Settings: [this is a stateful drop rule]}\n"
	     "        - {Keyword: flow, Settings: [to_server, established]}\n"
	     "        - {Keyword: sid, Settings: [\"1234\"]}\n");
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	struct hg_rule *r = l.rs->groups[0]->rules[0];
	cr_expect_str_eq(r->msg, "this is a stateful drop rule");
	cr_expect(r->bidirectional);
	cr_expect_eq(r->flow, HG_FLOW_TO_SERVER | HG_FLOW_ESTABLISHED);
	cr_expect_eq(r->sid, 1234);
	cr_expect_eq(r->proto, HG_PROTO_HTTP);
	done(&l);
}

Test(cfn_bad, stateless_values)
{
	struct loaded l = {0};
	load(&l, "sl.yaml",
	     "RulesSource:\n"
	     "  StatelessRulesAndCustomActions:\n"
	     "    StatelessRules:\n"
	     "      - Priority: 1\n"
	     "        RuleDefinition:\n"
	     "          Actions: [\"aws:drop\", \"aws:pass\"]\n"
	     "          MatchAttributes:\n"
	     "            Sources: [{AddressDefinition: 10.0.0.0/33}]\n"
	     "            SourcePorts: [{FromPort: 90, ToPort: 80}]\n"
	     "            Protocols: [256]\n"
	     "      - Priority: 1\n"
	     "        RuleDefinition: {Actions: [Nope], MatchAttributes: {}}\n");
	cr_expect(!l.ok);
	expect_error(&l, 6, 33, "Actions has more than one standard action ('aws:pass')");
	expect_error(&l, 8, 43, "invalid address or CIDR '10.0.0.0/33' in Sources");
	expect_error(&l, 9, 27, "SourcePorts range 90-80: FromPort is above ToPort");
	expect_error(&l, 10, 25, "invalid value '256' for Protocols; expected an integer from 0 to 255");
	expect_error(&l, 11, 19, "stateless rule Priority 1 is already used by the rule at line 4");
	expect_error(&l, 12, 36, "invalid value 'Nope' for Actions; expected one of aws:pass, aws:drop");
	done(&l);
}

/* A custom action's dimension value (API Dimension: 1 to 128 characters
 * of ^[a-zA-Z0-9-_ ]+$; API PublishMetricAction: Dimensions "Fixed
 * number of 1 item"): the kernel counter is named after it. */
Test(cfn_bad, custom_action_definitions)
{
	struct loaded l = {0};
	load(&l, "ca.yaml",
	     "RulesSource:\n"
	     "  StatelessRulesAndCustomActions:\n"
	     "    CustomActions:\n"
	     "      - ActionName: Dotted\n"
	     "        ActionDefinition: {PublishMetricAction: {Dimensions: [{Value: a.b}]}}\n"
	     "      - ActionName: Two\n"
	     "        ActionDefinition: {PublishMetricAction: {Dimensions: [{Value: a}, {Value: b}]}}\n"
	     "      - ActionName: NoMetric\n"
	     "        ActionDefinition: {}\n"
	     "      - ActionName: NoValue\n"
	     "        ActionDefinition: {PublishMetricAction: {Dimensions: [{Vaule: a}]}}\n"
	     "    StatelessRules:\n"
	     "      - Priority: 1\n"
	     "        RuleDefinition: {Actions: [aws:drop, Dotted], MatchAttributes: {}}\n");
	cr_expect(!l.ok);
	expect_error(&l, 5, 71, "invalid dimension Value 'a.b': 1 to 128 letters, digits, '-', '_' or spaces");
	expect_error(&l, 7, 62, "Dimensions must hold exactly one dimension, not 2");
	expect_error(&l, 9, 27, "ActionDefinition is missing the required key 'PublishMetricAction'");
	expect_error(&l, 11, 64, "unknown key 'Vaule' in Dimension; did you mean 'Value'?");
	done(&l);
}

/* ------------------------------------------------------- corpus (optional) */

static char *corpus(const char *rel)
{
	const char *shared = getenv("HG_SHARED");
	if (!shared)
		return NULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/corpus/rulesets/%s", shared, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(cfn_corpus, centralized_egress_template)
{
	const char *rel = "aws-samples+aws-networkfirewall-cfn-templates/centralized_architecture/"
			  "centralized_egress_east_west/single_az/anfw-centralized-egress-east-west-1az-template.yaml";
	char *text = corpus(rel);
	if (!text)
		cr_skip_test("corpus not available");
	struct loaded l = {0};
	load(&l, rel, text);
	free(text);
	/* Its rules use keywords outside hostgate's subset (flowbits,
	 * ja4.hash, ip_proto): those, and only those, are errors. */
	size_t other = 0;
	for (size_t i = 0; i < l.d.recs.n; i++)
		if (l.d.recs.v[i].level == HG_DIAG_ERROR && !strstr(l.d.recs.v[i].msg, "unsupported keyword"))
			other++;
	if (other)
		dump(&l);
	cr_expect_eq(other, 0);
	cr_assert_eq(l.rs->n_groups, 2);
	cr_expect_str_eq(l.rs->groups[0]->name, "egress-allow-list-example-rule-group");
	cr_expect_str_eq(l.rs->firewall_name, "egress-firewall-hostgate");
	struct hg_policy *p = l.rs->policy;
	cr_assert_not_null(p);
	cr_expect_str_eq(p->name, "egress-firewall-policy-hostgate");
	cr_expect_eq(p->rule_order, HG_ORDER_STRICT);
	cr_expect_eq(p->stream_exception, HG_SEP_REJECT);
	cr_assert_eq(p->n_stateful_refs, 1);
	cr_expect_eq(p->stateful_refs[0].group, l.rs->groups[1]);
	cr_expect_eq(p->n_vars, 1);
	done(&l);
}

Test(cfn_corpus, sagemaker_vpc_template)
{
	char *text = corpus("aws-samples+amazon-sagemaker-studio-vpc-networkfirewall/cfn_templates/vpc.yaml");
	if (!text)
		cr_skip_test("corpus not available");
	struct loaded l = {0};
	load(&l, "vpc.yaml", text);
	/* ProjectName and VPCCIDR have no Default. */
	expect_error(&l, 103, 41, "parameter 'ProjectName' has no Default");
	expect_error(&l, 111, 19, "parameter 'VPCCIDR' has no Default");
	cr_expect_eq(l.d.errors, 2, "one error per parameter, at its first use");
	done(&l);
	l = (struct loaded){0};
	struct hg_param params[] = {{"ProjectName", "studio"}, {"VPCCIDR", "10.2.0.0/16"}};
	load_with(&l, "vpc.yaml", text, params, 2);
	free(text);
	if (!l.ok)
		dump(&l);
	cr_assert(l.ok);
	struct hg_rule_group *g = group(&l, "domain-allow-studio");
	cr_expect_str_eq(g->vars[0]->defs[0]->text, "10.2.0.0/16");
	cr_expect_eq(g->list->n_targets, 2);
	cr_expect_str_eq(l.rs->policy->name, "network-firewall-policy-studio");
	cr_expect_eq(l.rs->policy->stateless_fragment_default, HG_SL_PASS);
	cr_expect_str_eq(l.rs->firewall_name, "network-firewall-studio");
	done(&l);
}
