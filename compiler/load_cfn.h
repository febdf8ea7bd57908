/* load_cfn.h - the CloudFormation loader's builders, for the other front
 * ends that read the same resources in another shape (load_tf.c: Terraform
 * JSON). They build a CloudFormation-shaped hg_ynode tree (PascalCase keys,
 * the nodes keeping their source line:col) and hand it here, so one set of
 * builders validates and fills the IR. Private to compiler/. */
#ifndef HOSTGATE_LOAD_CFN_H
#define HOSTGATE_LOAD_CFN_H

#include "yaml_tree.h"

/* The ARN a resource stands for when the document does not know it (a
 * template, a plan): arn:aws:network-firewall:us-east-1:123456789012:KIND/NAME
 * with KIND stateful-rulegroup, stateless-rulegroup or firewall-policy. */
const char *hg_cfn_arn(struct hg_arena *a, const char *kind, const char *name);

/* What a RuleGroup's surroundings say: its name, ARN (NULL: hg_cfn_arn),
 * an id for messages and the JSON output (a logical ID, a resource address),
 * and the Type, Capacity and Tags ([{Key, Value}]) nodes (each may be NULL). */
struct hg_cfn_group_meta {
	const char *name, *arn, *id;
	struct hg_loc loc;
	const struct hg_ynode *type, *capacity, *tags;
};

/* A RuleGroup mapping (RuleVariables, RulesSource, ...; NULL: none) into a
 * new group of rs. Errors go to d, located in file; *ok is cleared on any. */
struct hg_rule_group *hg_cfn_build_group(struct hg_ruleset *rs, const char *file, const struct hg_load_opts *o,
					 struct hg_diag *d, const struct hg_ynode *rule_group,
					 const struct hg_cfn_group_meta *m, bool *ok);

/* A FirewallPolicy mapping into a new policy of rs (arn NULL: hg_cfn_arn).
 * Group references keep their ResourceArn text; the caller or finalize
 * binds them. */
struct hg_policy *hg_cfn_build_policy(struct hg_ruleset *rs, const char *file, const struct hg_load_opts *o,
				      struct hg_diag *d, const struct hg_ynode *firewall_policy, const char *name,
				      const char *arn, struct hg_loc loc, bool *ok);

/* Terraform's `terraform show -json` (state or plan) in tree root, already
 * recognised by its format_version (load_tf.c). */
bool hg_load_tf(struct hg_ruleset *rs, const char *file, const struct hg_ynode *root, const struct hg_load_opts *o,
		struct hg_diag *d);

#endif
