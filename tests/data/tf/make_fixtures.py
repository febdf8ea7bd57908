#!/usr/bin/python3
"""make_fixtures.py - writes the Terraform JSON fixtures of tests/data/tf/.

Written by hand from terraform-provider-aws's schema for the resources
(internal/service/networkfirewall/rule_group.go, firewall_policy.go,
firewall.go: snake_case attributes, nested blocks as lists, keyed sets for
variables) and from Terraform's JSON output format (format_version 1.x:
values.root_module for a state, planned_values.root_module plus
configuration for a plan; unknown values are left out of planned_values).
Each fixture is the equivalent of a CloudFormation ruleset in rulesets/ and
must compile to the same nft, Suricata and JSON (tests/test_load_tf.c).
Terraform writes its JSON on one line; so do these.
Usage: /usr/bin/python3 tests/data/tf/make_fixtures.py"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ARN = "arn:aws:network-firewall:us-east-1:123456789012:"
PROVIDER = "registry.terraform.io/hashicorp/aws"


def resource(address, rtype, name, values, index=None):
    r = {"address": address, "mode": "managed", "type": rtype, "name": name,
         "provider_name": PROVIDER, "schema_version": 0, "values": values,
         "sensitive_values": {}}
    if index is not None:
        r["index"] = index
    return r


def domain_group(name, list_type, targets, arn):
    return {
        "arn": arn, "capacity": 100, "description": "", "encryption_configuration": [],
        "id": arn, "name": name, "rules": "",
        "rule_group": [{
            "reference_sets": [], "rule_variables": [],
            "rules_source": [{
                "rules_source_list": [{"generated_rules_type": list_type,
                                       "target_types": ["HTTP_HOST", "TLS_SNI"],
                                       "targets": targets}],
                "rules_string": "", "stateful_rule": [],
                "stateless_rules_and_custom_actions": []}],
            "stateful_rule_options": []}],
        "tags": None, "tags_all": {}, "type": "STATEFUL", "update_token": "tok-1",
        # a key a newer provider might add: ignored
        "analyze_rule_group": False,
    }


def seed_policy(arn, refs):
    return {
        "arn": arn, "description": "", "encryption_configuration": [], "id": arn,
        "name": "ZeroTrustPolicy", "tags": None, "tags_all": {}, "update_token": "tok-2",
        "firewall_policy": [{
            "policy_variables": [], "stateful_default_actions": None,
            "stateful_engine_options": [], "stateless_custom_action": [],
            "stateful_rule_group_reference": refs,
            "stateless_default_actions": ["aws:forward_to_sfe"],
            "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
            "stateless_rule_group_reference": [],
            "tls_inspection_configuration_arn": ""}],
    }


def seed_firewall(policy_arn):
    v = {"name": "ZeroTrustFirewall", "delete_protection": False, "vpc_id": "vpc-0abc",
         "subnet_mapping": [{"subnet_id": "subnet-a", "ip_address_type": "IPV4"},
                            {"subnet_id": "subnet-b", "ip_address_type": "IPV4"}],
         "firewall_status": [], "tags": None}
    if policy_arn:
        v["firewall_policy_arn"] = policy_arn
    return v


ALLOW = ("AllowedDomains", "ALLOWLIST", [".amazonaws.com", ".example.com", "api.github.com"])
DENY = ("BlockMaliciousDomains", "DENYLIST", [".malicious-domain.com", "phishing-site.net"])
ALLOW_ARN = ARN + "stateful-rulegroup/AllowedDomains"
DENY_ARN = ARN + "stateful-rulegroup/BlockMaliciousDomains"
POLICY_ARN = ARN + "firewall-policy/ZeroTrustPolicy"


def seed_modules(known):
    """rulesets/seed-zero-trust.yaml: the allowlist, the policy and the
    firewall in the root module; the denylist in module threat_intel,
    created with count = 1 (so it has an index)."""
    allow = domain_group(*ALLOW, ALLOW_ARN if known else None)
    deny = domain_group(*DENY, DENY_ARN if known else None)
    refs = [{"override": [], "priority": 0, "deep_threat_inspection": False}, {"override": [], "priority": 0}]
    if known:
        refs[0]["resource_arn"] = ALLOW_ARN
        refs[1]["resource_arn"] = DENY_ARN
    else:
        # unknown until apply: Terraform leaves them out
        for v in (allow, deny):
            del v["arn"], v["id"], v["update_token"]
    policy = seed_policy(POLICY_ARN if known else None, refs)
    if not known:
        del policy["arn"], policy["id"], policy["update_token"]
    root = {
        "resources": [
            resource("aws_networkfirewall_firewall.main", "aws_networkfirewall_firewall", "main",
                     seed_firewall(POLICY_ARN if known else None)),
            resource("aws_networkfirewall_firewall_policy.zero_trust", "aws_networkfirewall_firewall_policy",
                     "zero_trust", policy),
            resource("aws_networkfirewall_rule_group.allowed", "aws_networkfirewall_rule_group", "allowed", allow),
            resource("aws_instance.unrelated", "aws_instance", "unrelated", {"ami": "ami-1"}),
        ],
        "child_modules": [{
            "address": "module.threat_intel",
            "resources": [resource("module.threat_intel.aws_networkfirewall_rule_group.this[0]",
                                   "aws_networkfirewall_rule_group", "this", deny, index=0)],
        }],
    }
    return root


def seed_configuration():
    def ref(*refs):
        return {"references": list(refs)}
    return {
        "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
        "root_module": {
            "resources": [
                {"address": "aws_networkfirewall_firewall.main", "mode": "managed",
                 "type": "aws_networkfirewall_firewall", "name": "main", "provider_config_key": "aws",
                 "expressions": {
                     "name": {"constant_value": "ZeroTrustFirewall"},
                     "firewall_policy_arn": ref("aws_networkfirewall_firewall_policy.zero_trust.arn",
                                                "aws_networkfirewall_firewall_policy.zero_trust")},
                 "schema_version": 0},
                {"address": "aws_networkfirewall_firewall_policy.zero_trust", "mode": "managed",
                 "type": "aws_networkfirewall_firewall_policy", "name": "zero_trust", "provider_config_key": "aws",
                 "expressions": {
                     "name": {"constant_value": "ZeroTrustPolicy"},
                     "firewall_policy": [{
                         "stateless_default_actions": {"constant_value": ["aws:forward_to_sfe"]},
                         "stateless_fragment_default_actions": {"constant_value": ["aws:forward_to_sfe"]},
                         "stateful_rule_group_reference": [
                             {"resource_arn": ref("aws_networkfirewall_rule_group.allowed.arn",
                                                  "aws_networkfirewall_rule_group.allowed")},
                             {"resource_arn": ref("module.threat_intel.group_arn", "module.threat_intel")},
                         ]}]},
                 "schema_version": 0},
                {"address": "aws_networkfirewall_rule_group.allowed", "mode": "managed",
                 "type": "aws_networkfirewall_rule_group", "name": "allowed", "provider_config_key": "aws",
                 "expressions": {"name": {"constant_value": "AllowedDomains"}}, "schema_version": 0},
            ],
            "module_calls": {
                "threat_intel": {
                    "source": "./modules/threat_intel",
                    "count_expression": {"constant_value": 1},
                    "module": {
                        "outputs": {"group_arn": {"expression": ref(
                            "aws_networkfirewall_rule_group.this[0].arn",
                            "aws_networkfirewall_rule_group.this[0]",
                            "aws_networkfirewall_rule_group.this")}},
                        "resources": [
                            {"address": "aws_networkfirewall_rule_group.this", "mode": "managed",
                             "type": "aws_networkfirewall_rule_group", "name": "this",
                             "provider_config_key": "aws", "count_expression": {"constant_value": 1},
                             "expressions": {"name": {"constant_value": "BlockMaliciousDomains"}},
                             "schema_version": 0}],
                    },
                },
            },
        },
    }


def module_var_plan():
    """A plan whose policy lives in module fw and gets the allowlist's ARN
    (unknown until apply) through the module variable allow_arn."""
    allow = domain_group(*ALLOW, None)
    for k in ("arn", "id", "update_token"):
        del allow[k]
    policy = seed_policy(None, [{"override": [], "priority": 0}])
    for k in ("arn", "id", "update_token"):
        del policy[k]
    root = {
        "resources": [resource("aws_networkfirewall_rule_group.allowed", "aws_networkfirewall_rule_group",
                               "allowed", allow)],
        "child_modules": [{"address": "module.fw", "resources": [
            resource("module.fw.aws_networkfirewall_firewall_policy.p", "aws_networkfirewall_firewall_policy",
                     "p", policy)]}],
    }
    configuration = {"root_module": {
        "resources": [{"address": "aws_networkfirewall_rule_group.allowed", "mode": "managed",
                       "type": "aws_networkfirewall_rule_group", "name": "allowed", "expressions": {}}],
        "module_calls": {"fw": {"source": "./fw", "expressions": {
            "allow_arn": {"references": ["aws_networkfirewall_rule_group.allowed.arn",
                                         "aws_networkfirewall_rule_group.allowed"]}},
            "module": {"variables": {"allow_arn": {}}, "resources": [
                {"address": "aws_networkfirewall_firewall_policy.p", "mode": "managed",
                 "type": "aws_networkfirewall_firewall_policy", "name": "p", "expressions": {
                     "firewall_policy": [{"stateful_rule_group_reference": [
                         {"resource_arn": {"references": ["var.allow_arn"]}}]}]}}]}}}}}
    return plan(root, configuration)


def state(root):
    return {"format_version": "1.0", "terraform_version": "1.6.6",
            "values": {"outputs": {}, "root_module": root}}


def plan(root, configuration):
    return {"format_version": "1.2", "terraform_version": "1.6.6",
            "planned_values": {"root_module": root},
            "resource_changes": [], "configuration": configuration, "timestamp": "2026-01-01T00:00:00Z",
            "errored": False}


def stateless_state():
    """rulesets/stateless.yaml."""
    arn = ARN + "stateless-rulegroup/stateless-basics"
    dim = [{"publish_metric_action": [{"dimension": [{"value": "telnet"}]}]}]
    rules = [
        {"priority": 10, "rule_definition": [{"actions": ["aws:drop", "CountTelnet"], "match_attributes": [{
            "protocols": [6], "destination_port": [{"from_port": 23, "to_port": 23}], "source": [],
            "destination": [], "source_port": [], "tcp_flag": []}]}]},
        {"priority": 20, "rule_definition": [{"actions": ["aws:drop"], "match_attributes": [{
            "source": [{"address_definition": "198.51.100.0/24"}, {"address_definition": "203.0.113.0/24"}],
            "protocols": [6, 17]}]}]},
        {"priority": 30, "rule_definition": [{"actions": ["aws:forward_to_sfe"], "match_attributes": [{
            "source": [{"address_definition": "10.0.0.0/16"}],
            "source_port": [{"from_port": 1024, "to_port": 65535}],
            "destination_port": [{"from_port": 80, "to_port": 80}, {"from_port": 443, "to_port": 443}],
            "protocols": [6], "tcp_flag": [{"flags": ["SYN"], "masks": ["SYN", "ACK"]}]}]}]},
        {"priority": 40, "rule_definition": [{"actions": ["aws:pass"], "match_attributes": [{
            "source": [{"address_definition": "10.0.0.0/16"}],
            "destination": [{"address_definition": "10.0.0.2/32"}],
            "destination_port": [{"from_port": 53, "to_port": 53}], "protocols": [17]}]}]},
    ]
    group = {"arn": arn, "name": "stateless-basics", "type": "STATELESS", "capacity": 100, "description": None,
             "rule_group": [{"rules_source": [{"stateless_rules_and_custom_actions": [{
                 "custom_action": [{"action_name": "CountTelnet", "action_definition": dim}],
                 "stateless_rule": rules}]}]}]}
    policy = {"arn": ARN + "firewall-policy/stateless-policy", "name": "stateless-policy", "firewall_policy": [{
        "stateless_default_actions": ["aws:forward_to_sfe"], "stateless_fragment_default_actions": ["aws:drop"],
        "stateless_custom_action": [{"action_name": "CountTelnet", "action_definition": dim}],
        "stateless_rule_group_reference": [{"resource_arn": arn, "priority": 1}],
        "stateful_rule_group_reference": []}]}
    return state({"resources": [
        resource("aws_networkfirewall_rule_group.basics", "aws_networkfirewall_rule_group", "basics", group),
        resource("aws_networkfirewall_firewall_policy.p", "aws_networkfirewall_firewall_policy", "p", policy)]})


def five_tuple_state():
    """rulesets/stateful-5tuple.yaml: a group alone (the policy is hostgate's)."""
    def rule(action, proto, src, dst, dport, options, direction="FORWARD"):
        return {"action": action, "header": [{"protocol": proto, "source": src, "source_port": "ANY",
                                              "direction": direction, "destination": dst,
                                              "destination_port": dport}],
                "rule_option": [{"keyword": k, "settings": s} for k, s in options]}
    rules = [
        rule("PASS", "UDP", "$HOME_NET", "$DNS_RESOLVERS", "53", [("msg", ['"DNS to the resolvers"']), ("sid", ["100"])]),
        rule("DROP", "UDP", "$HOME_NET", "ANY", "53",
             [("msg", ['"DNS to anything else"']), ("sid", ["101"]), ("rev", ["2"])]),
        rule("PASS", "TCP", "$MGMT_NET", "$HOME_NET", "$ADMIN_PORTS", [("sid", ["102"])], "ANY"),
        rule("REJECT", "TCP", "ANY", "$HOME_NET", "$ADMIN_PORTS",
             [("msg", ['"admin ports from outside the management network"']), ("flow", ["to_server"]),
              ("sid", ["103"])]),
        rule("ALERT", "TCP", "$HOME_NET", "[!10.0.0.0/8, !192.168.0.0/16]", "!$WEB_PORTS",
             [("msg", ['"egress TCP off the web ports"']), ("flow", ["to_server", "established"]),
              ("sid", ["104"])]),
        rule("DROP", "ICMP", "ANY", "192.0.2.0/24", "ANY",
             [("msg", ['"no ICMP with the documentation net"']), ("sid", ["105"])], "ANY"),
    ]
    group = {"arn": ARN + "stateful-rulegroup/five-tuple", "name": "five-tuple", "type": "STATEFUL",
             "capacity": 50, "rule_group": [{
                 "rule_variables": [{
                     "ip_sets": [{"key": "HOME_NET", "ip_set": [{"definition": ["10.0.0.0/16"]}]},
                                 {"key": "DNS_RESOLVERS", "ip_set": [{"definition": ["10.0.0.2/32", "1.1.1.1/32"]}]},
                                 {"key": "MGMT_NET", "ip_set": [{"definition": ["10.0.250.0/24"]}]}],
                     "port_sets": [{"key": "WEB_PORTS", "port_set": [{"definition": ["80", "443"]}]},
                                   {"key": "ADMIN_PORTS", "port_set": [{"definition": ["22", "3389"]}]}]}],
                 "rules_source": [{"stateful_rule": rules}],
                 "stateful_rule_options": [{"rule_order": "DEFAULT_ACTION_ORDER"}]}]}
    return state({"resources": [
        resource("aws_networkfirewall_rule_group.five", "aws_networkfirewall_rule_group", "five", group)]})


def write(name, doc):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def main():
    write("seed-state.json", state(seed_modules(True)))
    write("seed-plan.json", plan(seed_modules(False), seed_configuration()))
    write("stateless-state.json", stateless_state())
    write("stateful-5tuple-state.json", five_tuple_state())
    write("module-var-plan.json", module_var_plan())
    # Hostile: a reference through 18 nested module outputs (under the
    # parser's nesting cap; hostgate's own bound of 16 stops it).
    deep = plan(seed_modules(False), seed_configuration())
    refs = deep["configuration"]["root_module"]["resources"][1]["expressions"]["firewall_policy"][0][
        "stateful_rule_group_reference"]
    refs[1]["resource_arn"] = {"references": ["module.m0.out"]}
    calls = deep["configuration"]["root_module"]["module_calls"]
    for i in range(18):
        mod = {"outputs": {"out": {"expression": {"references": ["module.m%d.out" % (i + 1)]}}},
               "module_calls": {}}
        calls["m%d" % i] = {"module": mod}
        calls = mod["module_calls"]
    write("deep-modules-plan.json", deep)
    # Refused: a major version hostgate does not know.
    bad = state(seed_modules(True))
    bad["format_version"] = "2.0"
    write("bad-major-version.json", bad)
    # Dangling: the policy names a group ARN no resource has (state) ...
    dang = state(seed_modules(True))
    dang["values"]["root_module"]["resources"][1]["values"]["firewall_policy"][0][
        "stateful_rule_group_reference"][1]["resource_arn"] = ARN + "stateful-rulegroup/Gone"
    write("dangling-state.json", dang)
    # ... and, in a plan, a reference to a resource the plan does not have.
    conf = seed_configuration()
    conf["root_module"]["resources"][1]["expressions"]["firewall_policy"][0][
        "stateful_rule_group_reference"][0]["resource_arn"] = {
            "references": ["aws_networkfirewall_rule_group.removed.arn", "aws_networkfirewall_rule_group.removed"]}
    write("dangling-plan.json", plan(seed_modules(False), conf))
    # An error inside a nested block, located by address and JSON path.
    badval = state(seed_modules(True))
    badval["values"]["root_module"]["child_modules"][0]["resources"][0]["values"]["rule_group"][0][
        "rules_source"][0]["rules_source_list"][0]["generated_rules_type"] = "BLOCKLIST"
    write("bad-value-state.json", badval)
    _ = copy


if __name__ == "__main__":
    main()
