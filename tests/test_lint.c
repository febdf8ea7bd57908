/* test_lint.c - each lint code fires on the case it is about, stays quiet
 * on its negative, and is silenced per rule group (the group's
 * hostgate:lint-ignore tag, or --lint-ignore GROUP:CODE). The reasons are
 * ANFW's documents, cited at each test; counts and locations are asserted,
 * not hostgate's wording alone. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfn_text.h"
#include "hostgate/ir.h"
#include "hostgate/lint.h"

struct grp {
	const char *name;
	const char *body; /* YAML under RuleGroup:, each line indented 8 spaces */
	const char *tags; /* "hostgate:lint-ignore" value, or NULL */
	int capacity;     /* 0: 1000 */
};

struct res {
	struct hg_ruleset *rs;
	struct hg_diag d;
	bool ok;
	size_t found;
};

/* A CloudFormation template of groups gs (in reference order; priorities
 * 10, 20, ... under STRICT_ORDER) and one policy, linted with opts. */
static void lint_template(struct res *r, bool strict, const char *policy_extra, const char *home_net,
			  const struct grp *gs, size_t n, const struct hg_lint_opts *opts)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fputs("Resources:\n", m);
	for (size_t i = 0; i < n; i++) {
		fprintf(m,
			"  G%zu:\n"
			"    Type: AWS::NetworkFirewall::RuleGroup\n"
			"    Properties:\n"
			"      RuleGroupName: %s\n"
			"      Type: STATEFUL\n"
			"      Capacity: %d\n",
			i, gs[i].name, gs[i].capacity ? gs[i].capacity : 1000);
		if (gs[i].tags)
			fprintf(m, "      Tags:\n        - Key: owner\n          Value: netops\n"
				   "        - Key: hostgate:lint-ignore\n          Value: \"%s\"\n",
				gs[i].tags);
		fprintf(m, "      RuleGroup:\n%s", gs[i].body);
		if (strict)
			fputs("        StatefulRuleOptions: {RuleOrder: STRICT_ORDER}\n", m);
	}
	fprintf(m,
		CFN_POLICY_FORWARD
		"        StatefulEngineOptions: {RuleOrder: %s}\n"
		"%s"
		"        StatefulRuleGroupReferences:\n",
		strict ? "STRICT_ORDER" : "DEFAULT_ACTION_ORDER", policy_extra ? policy_extra : "");
	for (size_t i = 0; i < n; i++) {
		fprintf(m, "          - ResourceArn: !Ref G%zu\n", i);
		if (strict)
			fprintf(m, "            Priority: %zu\n", (i + 1) * 10);
	}
	fclose(m);
	r->rs = hg_ruleset_new();
	hg_diag_init(&r->d);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	o.home_net = home_net;
	o.lazy_matchers = true; /* as check loads: the linter builds what it needs */
	r->ok = hg_load_yaml(r->rs, "lint.yaml", text, len, &o, &r->d) && hg_ruleset_finalize(r->rs, &o, &r->d);
	if (!r->ok) {
		hg_diag_print(&r->d, stderr);
		fputs(text, stderr);
	}
	cr_assert(r->ok, "the template loads");
	r->found = hg_lint(r->rs, opts, &r->d);
	if (getenv("HG_TEST_DUMP"))
		hg_diag_print(&r->d, stderr);
	free(text);
}

static void done(struct res *r)
{
	hg_ruleset_free(r->rs);
	hg_diag_fini(&r->d);
}

/* Warnings carrying code; *first gets the first one. */
static size_t count(const struct res *r, unsigned code, const struct hg_diag_record **first)
{
	char tag[16];
	snprintf(tag, sizeof(tag), "HG%u: ", code);
	size_t n = 0;
	for (size_t i = 0; i < r->d.recs.n; i++) {
		const struct hg_diag_record *x = &r->d.recs.v[i];
		if (x->level == HG_DIAG_WARNING && !strncmp(x->msg, tag, strlen(tag))) {
			if (!n && first)
				*first = x;
			n++;
		}
	}
	return n;
}

#define LIST(type, targets)                                                                                  \
	"        RulesSource:\n"                                                                              \
	"          RulesSourceList:\n"                                                                        \
	"            GeneratedRulesType: " type "\n"                                                          \
	"            TargetTypes: [TLS_SNI, HTTP_HOST]\n"                                                     \
	"            Targets: " targets "\n"

#define RULES(text) "        RulesSource:\n          RulesString: \"" text "\"\n"

/* A general drop for what a domain allowlist does not see. */
static const struct grp drop_rest = {
	"DropRest", RULES("drop tcp $HOME_NET any -> $EXTERNAL_NET any (flow:established,to_server; sid:100;)"), NULL, 0};

/* ----------------------------------------------------------- HG101 */

/* The case: --home-net 0.0.0.0/0 leaves EXTERNAL_NET without an
 * IPv4 address, and ANFW's generated domain rules are $HOME_NET ->
 * $EXTERNAL_NET (reference/anfw.md §1.3, §1.5), so they match nothing. */
Test(lint, hg101_never_matches)
{
	const struct grp g[] = {{"Deny", LIST("DENYLIST", "[.example.com]"), NULL, 0}};
	struct res r = {0};
	lint_template(&r, false, NULL, "0.0.0.0/0", g, 1, NULL);
	const struct hg_diag_record *x = NULL;
	cr_expect_eq(count(&r, 101, &x), 1);
	cr_assert_not_null(x);
	cr_expect_eq(x->loc.line, 11, "at the list");
	cr_expect(strstr(x->msg, "can never match"));
	done(&r);

	/* Only IPv4 lost: HOME_NET = all of IPv4 plus an IPv6 ULA. */
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, "0.0.0.0/0,fd00::/8", g, 1, NULL);
	cr_expect_eq(count(&r, 101, &x), 1);
	cr_expect(x && strstr(x->msg, "cannot match IPv4 traffic"));
	done(&r);

	/* Negative: the default HOME_NET (RFC 1918 + ULA). */
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, g, 1, NULL);
	cr_expect_eq(count(&r, 101, NULL), 0);
	done(&r);

	/* Negative: an IPv4-only HOME_NET is not "IPv6 lost". */
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, "10.0.0.0/8", g, 1, NULL);
	cr_expect_eq(count(&r, 101, NULL), 0);
	done(&r);

	/* Silenced by --lint-ignore Deny:HG101. */
	const struct hg_lint_ignore ig = {"Deny", 101};
	const struct hg_lint_opts o = {.ignore = &ig, .n_ignore = 1};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, "0.0.0.0/0", g, 1, &o);
	cr_expect_eq(count(&r, 101, NULL), 0);
	cr_expect_eq(r.found, 0);
	done(&r);
}

/* ----------------------------------------------------------- HG102 */

/* §1.5: EXTERNAL_NET means outside HOME_NET; a group that defines it as
 * everything also matches inside-to-inside traffic. */
#define EXT_RULES(def)                                                                                       \
	"        RuleVariables:\n"                                                                            \
	"          IPSets:\n"                                                                                 \
	"            EXTERNAL_NET: {Definition: [\"" def "\"]}\n" RULES(                                      \
		"drop tcp $HOME_NET any -> $EXTERNAL_NET 23 (sid:1;)")

Test(lint, hg102_external_net_covers_home)
{
	const struct grp fire[] = {{"Ext", EXT_RULES("0.0.0.0/0"), NULL, 0}};
	const struct grp quiet[] = {{"Ext", EXT_RULES("203.0.113.0/24"), NULL, 0}};
	const struct grp tagged[] = {{"Ext", EXT_RULES("0.0.0.0/0"), "HG102", 0}};
	struct res r = {0};
	const struct hg_diag_record *x = NULL;
	lint_template(&r, false, NULL, NULL, fire, 1, NULL);
	cr_expect_eq(count(&r, 102, &x), 1);
	cr_expect(x && x->loc.line == 11, "at the variable");
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, quiet, 1, NULL);
	cr_expect_eq(count(&r, 102, NULL), 0);
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, tagged, 1, NULL);
	cr_expect_eq(count(&r, 102, NULL), 0, "the group's hostgate:lint-ignore tag");
	done(&r);
}

/* ----------------------------------------------------------- HG103 */

/* DG stateful-rule-groups-domain-names / reference/anfw.md §1.3: an
 * ALLOWLIST drops only flows identified as TLS or HTTP, so SSH and other
 * protocols pass under DEFAULT_ACTION_ORDER; BP firewall-policy-
 * configuration recommends STRICT_ORDER with aws:drop_established. In
 * strict order the list generates no drops (§1.6). */
Test(lint, hg103_allowlist_left_open)
{
	const struct grp allow[] = {{"Allow", LIST("ALLOWLIST", "[.example.com]"), NULL, 0}};
	const struct grp allow_drop[] = {allow[0], drop_rest};
	struct res r = {0};
	lint_template(&r, false, NULL, NULL, allow, 1, NULL);
	cr_expect_eq(count(&r, 103, NULL), 1);
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, allow_drop, 2, NULL);
	cr_expect_eq(count(&r, 103, NULL), 0, "a drop rule covers the other protocols");
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, true, NULL, NULL, allow, 1, NULL);
	cr_expect_eq(count(&r, 103, NULL), 1, "strict order, no drop default action");
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, true, "        StatefulDefaultActions: [\"aws:drop_established\"]\n", NULL, allow, 1, NULL);
	cr_expect_eq(count(&r, 103, NULL), 0);
	done(&r);
	const struct hg_lint_ignore ig = {"*", 103};
	const struct hg_lint_opts o = {.ignore = &ig, .n_ignore = 1};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, allow, 1, &o);
	cr_expect_eq(count(&r, 103, NULL), 0, "--lint-ignore '*:HG103'");
	done(&r);
}

/* ----------------------------------------------------------- HG104 */

/* Action order runs pass before drop (reference/anfw.md §2.3), so a name
 * both allowed and denied is allowed; strict order runs groups by
 * priority, so the first group wins. */
Test(lint, hg104_allowed_and_denied)
{
	const struct grp g[] = {{"Allow", LIST("ALLOWLIST", "[.example.com]"), NULL, 0},
				{"Deny", LIST("DENYLIST", "[bad.example.com, evil.example.org]"), NULL, 0},
				drop_rest};
	struct res r = {0};
	const struct hg_diag_record *x = NULL;
	lint_template(&r, false, NULL, NULL, g, 3, NULL);
	cr_expect_eq(count(&r, 104, &x), 1, "bad.example.com only");
	cr_assert_not_null(x);
	cr_expect(strstr(x->msg, "'bad.example.com'") && strstr(x->msg, "the allowlist wins"));
	cr_expect_eq(x->loc.line, 25, "at the denied name");
	done(&r);

	/* Strict order, the deny group first: the deny wins; the allowed
	 * exact name under a denied wildcard is found from the other side. */
	const struct grp s[] = {{"Deny", LIST("DENYLIST", "[.example.com]"), NULL, 0},
				{"Allow", LIST("ALLOWLIST", "[api.example.com]"), NULL, 0}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, true, "        StatefulDefaultActions: [\"aws:drop_established\"]\n", NULL, s, 2, NULL);
	cr_expect_eq(count(&r, 104, &x), 1);
	cr_expect(x && strstr(x->msg, "the deny wins"));
	done(&r);

	const struct grp neg[] = {{"Allow", LIST("ALLOWLIST", "[.example.com]"), NULL, 0},
				  {"Deny", LIST("DENYLIST", "[evil.example.org]"), NULL, 0},
				  drop_rest};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, neg, 3, NULL);
	cr_expect_eq(count(&r, 104, NULL), 0);
	done(&r);

	const struct grp tag[] = {g[0], {"Deny", g[1].body, "HG104", 0}, drop_rest};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, tag, 3, NULL);
	cr_expect_eq(count(&r, 104, NULL), 0);
	done(&r);
}

/* ----------------------------------------------------------- HG105 */

/* §1.2: ".example.com" matches example.com and every subdomain. */
Test(lint, hg105_name_covered_by_wildcard)
{
	const struct grp g[] = {
		{"D", LIST("DENYLIST", "[.example.com, www.example.com, .a.example.com, example.org]"), NULL, 0}};
	struct res r = {0};
	lint_template(&r, false, NULL, NULL, g, 1, NULL);
	cr_expect_eq(count(&r, 105, NULL), 2, "www.example.com and .a.example.com");
	done(&r);
	const struct grp neg[] = {{"D", LIST("DENYLIST", "[www.example.com, .example.org, fooexample.org]"), NULL, 0}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, neg, 1, NULL);
	cr_expect_eq(count(&r, 105, NULL), 0, "fooexample.org is not under .example.org (label boundary)");
	done(&r);
	const struct grp tag[] = {{"D", g[0].body, "HG101 HG105", 0}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, tag, 1, NULL);
	cr_expect_eq(count(&r, 105, NULL), 0);
	done(&r);
}

/* ----------------------------------------------------------- HG106 */

/* Strict order evaluates groups by priority and rules in order (§2.3); a
 * pass tcp rule without flow: is IP-only and passes the flow at its first
 * packet (reference/anfw.md §5 item 7), so nothing after it decides. */
Test(lint, hg106_shadowed_in_strict_order)
{
	const char *sda = "        StatefulDefaultActions: [\"aws:drop_established\"]\n";
	const struct grp g[] = {{"First", RULES("pass tcp $HOME_NET any -> any any (sid:1;)"), NULL, 0},
				{"Later", RULES("drop tcp $HOME_NET any -> any 23 (sid:2;)"), NULL, 0}};
	struct res r = {0};
	const struct hg_diag_record *x = NULL;
	lint_template(&r, true, sda, NULL, g, 2, NULL);
	cr_expect_eq(count(&r, 106, &x), 1);
	cr_expect(x && strstr(x->msg, "sid 2") && strstr(x->msg, "sid 1"));
	done(&r);
	const struct grp neg[] = {{"First", RULES("pass tcp $HOME_NET any -> any 443 (sid:1;)"), NULL, 0}, g[1]};
	memset(&r, 0, sizeof(r));
	lint_template(&r, true, sda, NULL, neg, 2, NULL);
	cr_expect_eq(count(&r, 106, NULL), 0, "port 443 does not cover port 23");
	done(&r);
	/* Under action order a pass always runs first: not this check. */
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, g, 2, NULL);
	cr_expect_eq(count(&r, 106, NULL), 0);
	done(&r);
	const struct hg_lint_ignore ig = {"Later", 0};
	const struct hg_lint_opts o = {.ignore = &ig, .n_ignore = 1};
	memset(&r, 0, sizeof(r));
	lint_template(&r, true, sda, NULL, g, 2, &o);
	cr_expect_eq(count(&r, 106, NULL), 0, "--lint-ignore Later:*");
	done(&r);
}

/* ----------------------------------------------------------- HG107 */

/* DG stateful-rule-groups-domain-names: "If you want to inspect IP
 * addresses ... write separate rules"; RFC 6066 §3: SNI holds no literal
 * IPv4 or IPv6 address. */
Test(lint, hg107_ip_literal)
{
	const struct grp g[] = {{"D", LIST("DENYLIST", "[192.0.2.1, .example.com]"), NULL, 0}};
	struct res r = {0};
	lint_template(&r, false, NULL, NULL, g, 1, NULL);
	cr_expect_eq(count(&r, 107, NULL), 1);
	done(&r);
	const struct grp neg[] = {{"D", LIST("DENYLIST", "[192.0.2.com, 1.example.com]"), NULL, 0}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, neg, 1, NULL);
	cr_expect_eq(count(&r, 107, NULL), 0);
	done(&r);
	const struct grp tag[] = {{"D", g[0].body, "HG107", 0}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, tag, 1, NULL);
	cr_expect_eq(count(&r, 107, NULL), 0);
	done(&r);
}

/* ----------------------------------------------------------- HG108 */

/* reference/anfw.md §1.4 (DG stateful-rule-groups-domain-names): under
 * default action ordering "the default drop rule added by the Allow rule
 * group will take effect before the Reject and Alert rules". */
Test(lint, hg108_reject_list_beside_allowlist)
{
	const struct grp g[] = {{"Allow", LIST("ALLOWLIST", "[.example.com]"), NULL, 0},
				{"Rej", LIST("REJECTLIST", "[.example.net]"), NULL, 0},
				{"Alrt", LIST("ALERTLIST", "[.example.org]"), NULL, 0},
				drop_rest};
	struct res r = {0};
	lint_template(&r, false, NULL, NULL, g, 4, NULL);
	cr_expect_eq(count(&r, 108, NULL), 2, "the reject list and the alert list");
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, g + 1, 3, NULL);
	cr_expect_eq(count(&r, 108, NULL), 0, "no allowlist");
	done(&r);
	memset(&r, 0, sizeof(r));
	lint_template(&r, true, "        StatefulDefaultActions: [\"aws:drop_established\"]\n", NULL, g, 3, NULL);
	cr_expect_eq(count(&r, 108, NULL), 0, "strict order: the groups' priorities decide");
	done(&r);
	const struct grp tag[] = {g[0], {"Rej", g[1].body, "HG108", 0}, drop_rest};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, tag, 3, NULL);
	cr_expect_eq(count(&r, 108, NULL), 0);
	done(&r);
}

/* ----------------------------------------------------------- HG109 */

/* API CreateRuleGroup Capacity: "You can't change or exceed this capacity
 * when you update the rule group". 9 one-capacity rules of 10 = 90%. */
#define NINE_RULES                                                                                           \
	RULES("drop tcp any any -> any 1 (sid:1;)\\ndrop tcp any any -> any 2 (sid:2;)\\n"                   \
	      "drop tcp any any -> any 3 (sid:3;)\\ndrop tcp any any -> any 4 (sid:4;)\\n"                     \
	      "drop tcp any any -> any 5 (sid:5;)\\ndrop tcp any any -> any 6 (sid:6;)\\n"                     \
	      "drop tcp any any -> any 7 (sid:7;)\\ndrop tcp any any -> any 8 (sid:8;)\\n"                     \
	      "drop tcp any any -> any 9 (sid:9;)")

Test(lint, hg109_capacity_near_declared)
{
	const struct grp g[] = {{"Nine", NINE_RULES, NULL, 10}};
	struct res r = {0};
	const struct hg_diag_record *x = NULL;
	lint_template(&r, false, NULL, NULL, g, 1, NULL);
	cr_assert_eq(r.rs->groups[0]->consumed_capacity, 9);
	cr_expect_eq(count(&r, 109, &x), 1);
	cr_expect(x && strstr(x->msg, "9 of its Capacity 10"));
	done(&r);
	const struct grp neg[] = {{"Nine", NINE_RULES, NULL, 11}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, neg, 1, NULL);
	cr_expect_eq(count(&r, 109, NULL), 0, "9 of 11 is 81%%");
	done(&r);
	const struct grp tag[] = {{"Nine", NINE_RULES, "HG109", 10}};
	memset(&r, 0, sizeof(r));
	lint_template(&r, false, NULL, NULL, tag, 1, NULL);
	cr_expect_eq(count(&r, 109, NULL), 0);
	done(&r);
}

/* ------------------------------------------------------ the options */

Test(lint, only_asked_codes_run)
{
	const struct grp g[] = {{"D", LIST("DENYLIST", "[192.0.2.1, .example.com, www.example.com]"), NULL, 0}};
	const struct hg_lint_opts o = {.codes = HG_LINT_BIT(107)};
	struct res r = {0};
	lint_template(&r, false, NULL, NULL, g, 1, &o);
	cr_expect_eq(count(&r, 107, NULL), 1);
	cr_expect_eq(count(&r, 105, NULL), 0);
	cr_expect_eq(r.found, 1);
	done(&r);
}

Test(lint, parse_ignore)
{
	unsigned codes[16];
	size_t glen;
	cr_expect_eq(hg_lint_parse_ignore("Allow:HG103,hg105", &glen, codes, 16), 2);
	cr_expect_eq(glen, 5);
	cr_expect_eq(codes[0], 103);
	cr_expect_eq(codes[1], 105);
	cr_expect_eq(hg_lint_parse_ignore("*:*", &glen, codes, 16), 1);
	cr_expect_eq(codes[0], 0);
	cr_expect_eq(hg_lint_parse_ignore("G:HG200", &glen, codes, 16), -1);
	cr_expect_eq(hg_lint_parse_ignore("HG103", &glen, codes, 16), -1);
	cr_expect_eq(hg_lint_parse_ignore("G:", &glen, codes, 16), -1);
}

/* ------------------------------------------------- through the binary */

/* Runs the hostgate binary with args (from the source root); returns its
 * exit status and its stderr (malloc'd) in *err. */
static int hostgate(const char *args, char **err)
{
	const char *bin = getenv("HG_BIN"), *src = getenv("HG_SRCDIR");
	cr_assert(bin && src, "HG_BIN and HG_SRCDIR (meson test sets them)");
	char path[256], *cmd;
	snprintf(path, sizeof(path), "/tmp/hg_lint_%d.err", (int)getpid());
	cr_assert(asprintf(&cmd, "cd '%s' && '%s' %s >/dev/null 2>'%s'", src, bin, args, path) > 0);
	int st = system(cmd);
	free(cmd);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	*err = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* check lints by default (warnings, exit 0); --lint makes a finding exit
 * 1; --strict makes it an error (exit 2); --lint-ignore silences it. The
 * seed is AWS's own allowlist under DEFAULT_ACTION_ORDER (HG103). */
Test(lint_cli, check_lint_strict_and_ignore)
{
	char *err;
	cr_expect_eq(hostgate("check rulesets/seed-zero-trust.yaml", &err), 0);
	cr_expect(strstr(err, "rulesets/seed-zero-trust.yaml:34:13: warning: HG103: "), "%s", err);
	free(err);
	cr_expect_eq(hostgate("check --lint rulesets/seed-zero-trust.yaml", &err), 1);
	free(err);
	cr_expect_eq(hostgate("check --strict rulesets/seed-zero-trust.yaml", &err), 2);
	cr_expect(strstr(err, "error: HG103: "), "%s", err);
	free(err);
	cr_expect_eq(hostgate("check --lint --lint-ignore=AllowedDomains:HG103 rulesets/seed-zero-trust.yaml", &err), 0);
	cr_expect(!strstr(err, "HG1"), "%s", err);
	free(err);
	cr_expect_eq(hostgate("check --lint-ignore AllowedDomains:HG999 rulesets/seed-zero-trust.yaml", &err), 2);
	free(err);
}

/* The example: replay with --home-net 0.0.0.0/0 used to let
 * everything pass without a word. Replay reports only HG101 (what can
 * never match), not check's advice. */
Test(lint_cli, replay_warns_rules_that_never_match)
{
	char *err;
	cr_expect_eq(hostgate("replay --home-net 0.0.0.0/0 rulesets/seed-zero-trust.yaml pcaps/seed-demo.pcap", &err),
		     0);
	cr_expect(strstr(err, "rulesets/seed-zero-trust.yaml:34:13: warning: HG101: "), "%s", err);
	cr_expect(strstr(err, "rulesets/seed-zero-trust.yaml:52:13: warning: HG101: "), "%s", err);
	free(err);
	hostgate("replay rulesets/seed-zero-trust.yaml pcaps/seed-demo.pcap", &err);
	cr_expect(!strstr(err, "HG1"), "%s", err);
	free(err);
}
