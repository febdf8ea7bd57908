/* test_load_tf.c - Terraform JSON (`terraform show -json`, format_version
 * 1.x) into the IR: a state, a plan whose new groups' ARNs are unknown
 * (bound through the configuration's references, via a module output),
 * a group in a child module created with count (address with an index),
 * unset values (null, "", 0, []) and keys a newer provider adds, a major
 * version that is refused, dangling references in a state and in a plan,
 * and errors located by resource address and JSON path. Each fixture of
 * tests/data/tf/ (make_fixtures.py, written from the provider's schema)
 * compiles to the same nft, Suricata and JSON as the CloudFormation ruleset
 * it mirrors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/ir.h"
#include "sh_util.h"

#define ARN "arn:aws:network-firewall:us-east-1:123456789012:"

struct loaded {
	struct hg_ruleset *rs;
	struct hg_diag d;
	bool ok;
	char *messages; /* every diagnostic, one per line */
};

static void load(struct loaded *l, const char *rel)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src, "HG_SRCDIR is set by meson test");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/tf/%s", src, rel);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	l->rs = hg_ruleset_new();
	hg_diag_init(&l->d);
	l->ok = hg_load_file(l->rs, path, &o, &l->d);
	if (l->ok)
		l->ok = hg_ruleset_finalize(l->rs, &o, &l->d);
	size_t len = 0;
	FILE *m = open_memstream(&l->messages, &len);
	hg_diag_print(&l->d, m);
	fclose(m);
}

/* rel is refused with exactly one error (not a second one it caused),
 * whose text holds want. */
static void load_one_error(struct loaded *l, const char *rel, const char *want)
{
	load(l, rel);
	cr_assert(!l->ok);
	cr_assert_eq(l->d.errors, 1, "one error: %s", l->messages);
	cr_assert(strstr(l->messages, want), "%s", l->messages);
}

static void unload(struct loaded *l)
{
	hg_diag_fini(&l->d);
	hg_ruleset_free(l->rs);
	free(l->messages);
}

static const struct hg_rule_group *group(const struct loaded *l, const char *name)
{
	for (size_t i = 0; i < l->rs->n_groups; i++)
		if (!strcmp(l->rs->groups[i]->name, name))
			return l->rs->groups[i];
	return NULL;
}

/* The seed's shape: the firewall picks ZeroTrustPolicy, which references
 * the allowlist (root module) and the denylist (module.threat_intel,
 * count = 1), in that order. */
static void assert_seed(const struct loaded *l)
{
	cr_assert(l->ok, "%s", l->messages);
	cr_assert_eq(l->d.errors, 0, "%s", l->messages);
	cr_assert_eq(l->rs->n_groups, 2);
	const struct hg_rule_group *allow = group(l, "AllowedDomains"), *deny = group(l, "BlockMaliciousDomains");
	cr_assert(allow && deny);
	cr_assert_str_eq(allow->arn, ARN "stateful-rulegroup/AllowedDomains");
	cr_assert_str_eq(deny->arn, ARN "stateful-rulegroup/BlockMaliciousDomains");
	cr_assert_str_eq(deny->logical_id, "module.threat_intel.aws_networkfirewall_rule_group.this[0]");
	cr_assert_eq(allow->capacity, 100);
	cr_assert_str_eq(l->rs->firewall_name, "ZeroTrustFirewall");
	const struct hg_policy *p = l->rs->policy;
	cr_assert(p && !strcmp(p->name, "ZeroTrustPolicy"));
	cr_assert_str_eq(p->arn, ARN "firewall-policy/ZeroTrustPolicy");
	cr_assert_eq(p->n_stateful_refs, 2);
	cr_assert_eq(p->stateful_refs[0].group, allow);
	cr_assert_eq(p->stateful_refs[1].group, deny);
	cr_assert_eq(p->stateful_refs[0].priority, 0, "priority 0 is unset");
}

Test(load_tf, state_with_a_child_module)
{
	struct loaded l;
	load(&l, "seed-state.json");
	assert_seed(&l);
	unload(&l);
}

Test(load_tf, plan_with_unknown_arns_bound_through_the_configuration)
{
	/* planned_values has no arn for the groups and the policy, and no
	 * resource_arn in the references nor firewall_policy_arn: the
	 * configuration's references say which resources they are (one
	 * through module.threat_intel's output group_arn). */
	struct loaded l;
	load(&l, "seed-plan.json");
	assert_seed(&l);
	unload(&l);
}

Test(load_tf, bad_major_version_is_refused_where_it_is_written)
{
	struct loaded l;
	load_one_error(&l, "bad-major-version.json",
		       "bad-major-version.json:1:19: error: Terraform JSON format_version '2.0'");
	cr_assert(strstr(l.messages, "major version 1"), "%s", l.messages);
	cr_assert_eq(l.rs->n_groups, 0, "nothing loaded");
	unload(&l);
}

Test(load_tf, dangling_reference_in_a_state)
{
	struct loaded l;
	load_one_error(&l, "dangling-state.json",
		       "stateful_rule_group_reference[1].resource_arn of "
		       "aws_networkfirewall_firewall_policy.zero_trust is '" ARN
		       "stateful-rulegroup/Gone', which no rule group in the inputs has (dangling");
	unload(&l);
}

Test(load_tf, dangling_reference_in_a_plan)
{
	struct loaded l;
	/* (not a second error: 'missing ResourceArn') */
	load_one_error(&l, "dangling-plan.json",
		       "refers to aws_networkfirewall_rule_group.removed, which is not in the plan "
		       "(dangling reference) (resource aws_networkfirewall_firewall_policy.zero_trust, "
		       "at configuration.root_module.resources[1].expressions.firewall_policy[0]."
		       "stateful_rule_group_reference[0].resource_arn.references[0])");
	unload(&l);
}

Test(load_tf, errors_name_the_address_and_the_json_path)
{
	struct loaded l;
	load(&l, "bad-value-state.json");
	cr_assert(!l.ok);
	cr_assert(strstr(l.messages, "invalid value 'BLOCKLIST' for GeneratedRulesType"), "%s", l.messages);
	cr_assert(strstr(l.messages, "(resource module.threat_intel.aws_networkfirewall_rule_group.this[0], at "
				     "values.root_module.child_modules[0].resources[0].values.rule_group[0]."
				     "rules_source[0].rules_source_list[0].generated_rules_type)"),
		  "%s", l.messages);
	/* and line:col, on Terraform's one line */
	cr_assert(strstr(l.messages, "bad-value-state.json:1:"), "%s", l.messages);
	unload(&l);
}

Test(load_tf, stateless_and_five_tuple_groups)
{
	struct loaded l;
	load(&l, "stateless-state.json");
	cr_assert(l.ok, "%s", l.messages);
	const struct hg_rule_group *g = group(&l, "stateless-basics");
	cr_assert(g && g->type == HG_GROUP_STATELESS && g->n_srules == 4);
	cr_assert_eq(l.rs->policy->n_stateless_refs, 1);
	cr_assert_eq(l.rs->policy->stateless_refs[0].group, g);
	unload(&l);
	load(&l, "stateful-5tuple-state.json");
	cr_assert(l.ok, "%s", l.messages);
	g = group(&l, "five-tuple");
	cr_assert(g && g->n_rules == 6 && g->n_vars == 5, "rules %zu vars %zu", g ? g->n_rules : 0,
		  g ? g->n_vars : 0);
	unload(&l);
}

/* Same output as the CloudFormation ruleset, but for where each rule was
 * written (nft comments and the JSON's loc and logical_id). */
Test(load_tf, fixtures_compile_like_their_cloudformation_twins)
{
	const char *src = getenv("HG_SRCDIR"), *bin = getenv("HG_BIN");
	cr_assert(src && bin);
	cr_assert_eq(sh("test -x %s", bin), 0);
	static const char *const pairs[][2] = {
		{"seed-state.json", "seed-zero-trust.yaml"},
		{"seed-plan.json", "seed-zero-trust.yaml"},
		{"stateless-state.json", "stateless.yaml"},
		{"stateful-5tuple-state.json", "stateful-5tuple.yaml"},
	};
	static const char *const emits[] = {"nft", "suricata", "json"};
	const char *norm = "grep -v '\"loc\":\\|\"logical_id\":' | sed -E 's#[^ \"]+\\.(json|yaml):[0-9]+(:[0-9]+)?#LOC#g'";
	for (size_t i = 0; i < HG_ARRAY_LEN(pairs); i++)
		for (size_t e = 0; e < HG_ARRAY_LEN(emits); e++) {
			char *a = sh_out("%s compile --emit=%s %s/tests/data/tf/%s | %s", bin, emits[e], src, pairs[i][0],
					 norm);
			char *b = sh_out("%s compile --emit=%s %s/rulesets/%s | %s", bin, emits[e], src, pairs[i][1], norm);
			/* (a stateless-only ruleset has no Suricata rules) */
			if (e != 1)
				cr_assert_gt(strlen(b), 100, "%s %s", pairs[i][1], emits[e]);
			cr_assert_str_eq(a, b, "%s vs %s (%s)", pairs[i][0], pairs[i][1], emits[e]);
			free(a);
			free(b);
		}
}

Test(load_tf, plan_reference_through_a_module_variable)
{
	/* module.fw's policy names the group as var.allow_arn; the root's
	 * module call passes aws_networkfirewall_rule_group.allowed.arn. */
	struct loaded l;
	load(&l, "module-var-plan.json");
	cr_assert(l.ok, "%s", l.messages);
	const struct hg_rule_group *allow = group(&l, "AllowedDomains");
	cr_assert_not_null(allow);
	const struct hg_policy *p = l.rs->policy;
	cr_assert(p && p->n_stateful_refs == 1);
	cr_assert_eq(p->stateful_refs[0].group, allow);
	cr_assert_str_eq(p->stateful_refs[0].arn, ARN "stateful-rulegroup/AllowedDomains");
	unload(&l);
}

Test(load_tf, references_through_too_many_modules_are_bounded)
{
	/* 18 nested module outputs: refused at a bound of 16, located. */
	struct loaded l;
	load(&l, "deep-modules-plan.json");
	cr_assert(!l.ok);
	cr_assert(strstr(l.messages, "modules nested more than 16 deep (resource "
				     "aws_networkfirewall_firewall_policy.zero_trust, at configuration.root_module."),
		  "%s", l.messages);
	unload(&l);
}
