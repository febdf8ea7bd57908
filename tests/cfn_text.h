/* cfn_text.h - the CloudFormation text the policy tests build their
 * templates from (settings, lint, the namespace settings test): a rule
 * group "telnet" and the head of a policy whose stateless defaults forward
 * everything to the stateful engine. */
#ifndef HOSTGATE_TEST_CFN_TEXT_H
#define HOSTGATE_TEST_CFN_TEXT_H

/* Resources and group G (stateful, "telnet"); RulesSource's lines follow. */
#define CFN_TELNET_GROUP                                                                                           \
	"Resources:\n"                                                                                              \
	"  G:\n"                                                                                                    \
	"    Type: AWS::NetworkFirewall::RuleGroup\n"                                                               \
	"    Properties:\n"                                                                                         \
	"      RuleGroupName: telnet\n"                                                                             \
	"      Type: STATEFUL\n"                                                                                    \
	"      Capacity: 10\n"                                                                                      \
	"      RuleGroup:\n"                                                                                        \
	"        RulesSource:\n"

/* Policy P, stateless defaults aws:forward_to_sfe; the rest of its
 * FirewallPolicy's members follow. */
#define CFN_POLICY_FORWARD                                                                                         \
	"  P:\n"                                                                                                    \
	"    Type: AWS::NetworkFirewall::FirewallPolicy\n"                                                          \
	"    Properties:\n"                                                                                         \
	"      FirewallPolicyName: pol\n"                                                                           \
	"      FirewallPolicy:\n"                                                                                   \
	"        StatelessDefaultActions: [\"aws:forward_to_sfe\"]\n"                                               \
	"        StatelessFragmentDefaultActions: [\"aws:forward_to_sfe\"]\n"

#endif
