/* test_emit_suricata.c - golden tests of the Suricata and JSON emitters.
 * The domain-list goldens (tests/data/suricata, .expected) are ANFW's
 * documented text (reference/anfw.md §1.3) byte for byte; they are reached
 * both from hand-built IR and through the domain-file loader, then
 * finalize. Set HG_UPDATE_GOLDEN=1 to rewrite the goldens that are ours
 * (the seed and the example group), never the documented ones. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/emit.h"
#include "hostgate/ir.h"

static char *slurp(const char *rel)
{
	const char *src = getenv("HG_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	char *text;
	size_t len;
	int r = hg_read_file(path, 16 << 20, &text, &len);
	cr_assert_eq(r, 0, "cannot read %s", path);
	return text;
}

static void golden(const char *rel, const char *got, bool updatable)
{
	const char *upd = getenv("HG_UPDATE_GOLDEN");
	if (updatable && upd && *upd == '1') {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", getenv("HG_SRCDIR"), rel);
		FILE *fp = fopen(path, "wb");
		cr_assert_not_null(fp);
		fputs(got, fp);
		fclose(fp);
		return;
	}
	char *want = slurp(rel);
	cr_assert_str_eq(got, want, "%s differs", rel);
	free(want);
}

static char *emit_all(const struct hg_ruleset *rs, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int r = json ? hg_emit_json(m, rs) : hg_emit_suricata(m, rs);
	fclose(m);
	cr_assert_eq(r, 0);
	return buf;
}

static void finalize_ok(struct hg_ruleset *rs, struct hg_diag *d)
{
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	bool ok = hg_ruleset_finalize(rs, &o, d);
	if (!ok)
		hg_diag_print(d, stderr);
	cr_assert(ok, "finalize failed");
}

/* A domain-list group built by hand, as a CloudFormation loader would. */
static struct hg_rule_group *list_group(struct hg_ruleset *rs, const char *name, enum hg_list_type type,
					uint32_t targets, const char *const *names, size_t n)
{
	struct hg_loc loc = {"hand.yaml", 1, 1};
	struct hg_rule_group *g = hg_group_new(rs, loc, name, HG_GROUP_STATEFUL);
	g->source = HG_SRC_DOMAIN_LIST;
	struct hg_domain_list *l = hg_arena_alloc(rs->arena, sizeof(*l));
	l->loc = loc;
	l->type = type;
	l->target_types = targets;
	l->targets = hg_arena_alloc(rs->arena, n * sizeof(*l->targets));
	for (size_t i = 0; i < n; i++)
		l->targets[i] = (struct hg_domain_target){loc, hg_arena_strdup(rs->arena, names[i])};
	l->n_targets = n;
	g->list = l;
	return g;
}

static const char *const evil[] = {"evil.com"};
static const char *const amazon_example[] = {".amazon.com", "example.com"};

static const struct {
	const char *name;
	enum hg_list_type type;
	uint32_t targets;
	const char *const *names;
	size_t n;
} documented[] = {
	{"denylist-evil.txt", HG_LIST_DENYLIST, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST, evil, 1},
	{"allowlist-http.txt", HG_LIST_ALLOWLIST, HG_TARGET_HTTP_HOST, amazon_example, 2},
	{"allowlist-tls.txt", HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI, amazon_example, 2},
};

Test(emit_suricata, anfw_documented_examples_from_hand_built_ir)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(documented); i++) {
		struct hg_ruleset *rs = hg_ruleset_new();
		struct hg_diag d;
		hg_diag_init(&d);
		list_group(rs, documented[i].name, documented[i].type, documented[i].targets, documented[i].names,
			   documented[i].n);
		finalize_ok(rs, &d);
		char *got = emit_all(rs, false);
		char rel[256];
		snprintf(rel, sizeof(rel), "tests/data/suricata/%.*s.expected",
			 (int)(strlen(documented[i].name) - 4), documented[i].name);
		golden(rel, got, false);
		free(got);
		hg_diag_fini(&d);
		hg_ruleset_free(rs);
	}
}

Test(emit_suricata, anfw_documented_examples_through_the_file_loader)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(documented); i++) {
		char rel[256];
		snprintf(rel, sizeof(rel), "tests/data/suricata/%s", documented[i].name);
		char *text = slurp(rel);
		struct hg_ruleset *rs = hg_ruleset_new();
		struct hg_diag d;
		hg_diag_init(&d);
		cr_assert(hg_load_domain_file(rs, documented[i].name, text, strlen(text), &d));
		finalize_ok(rs, &d);
		char *got = emit_all(rs, false);
		snprintf(rel, sizeof(rel), "tests/data/suricata/%.*s.expected",
			 (int)(strlen(documented[i].name) - 4), documented[i].name);
		golden(rel, got, false);
		free(got);
		free(text);
		hg_diag_fini(&d);
		hg_ruleset_free(rs);
	}
}

/* One rule per target, sids sid_base + i; an index past the list prints
 * nothing. */
Test(emit_suricata, single_rule_api)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_diag d;
	hg_diag_init(&d);
	struct hg_rule_group *g = list_group(rs, "l", HG_LIST_DENYLIST, HG_TARGET_TLS_SNI, amazon_example, 2);
	finalize_ok(rs, &d);
	cr_assert_eq(g->n_rules, 1);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	hg_emit_suricata_rule(m, g->rules[0], 1);
	fputc('|', m);
	hg_emit_suricata_rule(m, g->rules[0], 2);
	fclose(m);
	cr_assert_str_eq(buf, "drop tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; "
			      "content:\"example.com\"; startswith; nocase; endswith; msg:\"matching TLS denylisted "
			      "FQDNs\"; priority:1; flow:to_server, established; sid:2; rev:1;)|");
	free(buf);
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
}

/* REJECTLIST and ALERTLIST: the DENYLIST shape with their action (the text
 * is undocumented, reference/anfw.md §1.4); STRICT_ORDER drops priority
 * (§1.6) and has no catch-alls. */
Test(emit_suricata, reject_alert_and_strict)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_diag d;
	hg_diag_init(&d);
	list_group(rs, "rej", HG_LIST_REJECTLIST, HG_TARGET_TLS_SNI, evil, 1);
	list_group(rs, "alr", HG_LIST_ALERTLIST, HG_TARGET_HTTP_HOST, evil, 1);
	finalize_ok(rs, &d);
	char *got = emit_all(rs, false);
	cr_assert_str_eq(got,
			 "# group rej\n"
			 "reject tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; "
			 "content:\"evil.com\"; startswith; nocase; endswith; msg:\"matching TLS rejectlisted FQDNs\"; "
			 "priority:1; flow:to_server, established; sid:1; rev:1;)\n"
			 "\n"
			 "# group alr\n"
			 "alert http $HOME_NET any -> $EXTERNAL_NET any (http.host; content:\"evil.com\"; startswith; "
			 "endswith; msg:\"matching HTTP alertlisted FQDNs\"; priority:1; flow:to_server, established; "
			 "sid:1; rev:1;)\n");
	free(got);
	hg_diag_fini(&d);
	hg_ruleset_free(rs);

	rs = hg_ruleset_new();
	hg_diag_init(&d);
	struct hg_rule_group *g = list_group(rs, "strict", HG_LIST_ALLOWLIST, HG_TARGET_TLS_SNI, amazon_example, 2);
	g->has_rule_order = true;
	g->rule_order = HG_ORDER_STRICT;
	finalize_ok(rs, &d);
	got = emit_all(rs, false);
	cr_assert_str_eq(got, "# group strict\n"
			      "pass tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; dotprefix; "
			      "content:\".amazon.com\"; nocase; endswith; msg:\"matching TLS allowlisted FQDNs\"; "
			      "flow:to_server, established; sid:1; rev:1;)\n"
			      "pass tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; "
			      "content:\"example.com\"; startswith; nocase; endswith; msg:\"matching TLS allowlisted "
			      "FQDNs\"; flow:to_server, established; sid:2; rev:1;)\n");
	free(got);
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
}

/* Groups come out in the policy's evaluation order, not input order. */
Test(emit_suricata, policy_order)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_diag d;
	hg_diag_init(&d);
	struct hg_rule_group *a = list_group(rs, "first-read", HG_LIST_DENYLIST, HG_TARGET_TLS_SNI, evil, 1);
	struct hg_rule_group *b = list_group(rs, "second-read", HG_LIST_DENYLIST, HG_TARGET_TLS_SNI, evil, 1);
	a->has_rule_order = b->has_rule_order = true;
	a->rule_order = b->rule_order = HG_ORDER_STRICT;
	struct hg_policy *p = hg_arena_alloc(rs->arena, sizeof(*p));
	p->name = "P";
	p->stateless_default = p->stateless_fragment_default = HG_SL_FORWARD;
	p->rule_order = HG_ORDER_STRICT;
	p->stateful_refs = hg_arena_alloc(rs->arena, 2 * sizeof(*p->stateful_refs));
	p->stateful_refs[0] = (struct hg_group_ref){.priority = 20, .group = a};
	p->stateful_refs[1] = (struct hg_group_ref){.priority = 10, .group = b};
	p->n_stateful_refs = 2;
	struct hg_policy **pv = hg_arena_alloc(rs->arena, sizeof(*pv));
	pv[0] = p;
	rs->policies = pv;
	rs->n_policies = 1;
	finalize_ok(rs, &d);
	char *got = emit_all(rs, false);
	char *s2 = strstr(got, "# group second-read"), *s1 = strstr(got, "# group first-read");
	cr_assert(s1 && s2 && s2 < s1, "%s", got);
	free(got);
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
}

/* Not finalized: the stateful groups as read, stateless ones skipped. */
Test(emit_suricata, without_policy)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){"x.rules", 1, 1}, "x", HG_GROUP_STATEFUL);
	hg_group_new(rs, (struct hg_loc){"y", 1, 1}, "sl", HG_GROUP_STATELESS);
	struct hg_diag d;
	hg_diag_init(&d);
	const char *text = "alert tcp any any -> any any (msg:\"a\\;b\"; content:\"x|00|\\\"\"; nocase; sid:5;)\n";
	cr_assert(hg_load_suricata(rs, g, text, strlen(text), (struct hg_loc){"x.rules", 1, 1}, false, &d));
	char *got = emit_all(rs, false);
	cr_assert_str_eq(got, "# group x\n"
			      "alert tcp any any -> any any (content:\"x|00 22|\"; nocase; msg:\"a\\;b\"; sid:5;)\n");
	free(got);
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
}

static struct hg_ruleset *load_finalized(const char *rel)
{
	const char *src = getenv("HG_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	struct hg_diag d;
	hg_diag_init(&d);
	bool ok = hg_load_file(rs, path, &o, &d) && hg_ruleset_finalize(rs, &o, &d);
	if (!ok)
		hg_diag_print(&d, stderr);
	cr_assert(ok, "%s", rel);
	/* Locations in goldens must not depend on where the tree is. */
	hg_diag_fini(&d);
	return rs;
}

/* The 100k list, too big for a golden: one TLS and one HTTP rule per
 * name, in list order, sids 1..200000 each once. */
Test(emit_suricata, list_100k_shape)
{
	struct hg_ruleset *rs = load_finalized("rulesets/domains-100k.txt");
	char *a = emit_all(rs, false);
	size_t tls = 0, http = 0, other = 0;
	uint32_t next_sid = 1;
	char *save = NULL;
	for (char *line = strtok_r(a, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# group ", 8))
			continue;
		if (!strncmp(line, "drop tls ", 9))
			tls++;
		else if (!strncmp(line, "drop http ", 10))
			http++;
		else
			other++;
		const char *sid = strstr(line, "; sid:");
		cr_assert_not_null(sid, "%s", line);
		cr_assert_eq(strtoul(sid + 6, NULL, 10), next_sid, "%s", line);
		next_sid++;
	}
	cr_expect_eq(tls, 100000);
	cr_expect_eq(http, 100000);
	cr_expect_eq(other, 0);
	free(a);
	a = emit_all(rs, false);
	cr_expect(strstr(a, "tls.sni; content:\"s3.fieldfalcon56.info\"; startswith; nocase; endswith;") != NULL);
	free(a);
	hg_ruleset_free(rs);
}

/* Every ruleset in rulesets/ but the 100k list (44 MB of rules: its
 * shape is checked above): golden text; emitting twice gives the same
 * bytes; the emitted text, read back, emits itself. Not read back: the
 * groups whose rules use their own RuleVariables ($DNS_RESOLVERS...),
 * which the rules text does not define. */
Test(emit_suricata, goldens_and_fixpoint)
{
	static const struct {
		const char *in, *golden;
		bool read_back;
	} cases[] = {
		{"rulesets/seed-zero-trust.yaml", "tests/data/suricata/seed-zero-trust.expected", true},
		{"rulesets/suricata-group.rules", "tests/data/suricata/suricata-group.expected", true},
		{"rulesets/allowlist-cfn.json", "tests/data/suricata/allowlist-cfn.expected", true},
		{"rulesets/denylist-cfn.json", "tests/data/suricata/denylist-cfn.expected", true},
		{"rulesets/describe-rule-group.json", "tests/data/suricata/describe-rule-group.expected", true},
		{"rulesets/stateful-5tuple.yaml", "tests/data/suricata/stateful-5tuple.expected", false},
		{"rulesets/strict-policy.yaml", "tests/data/suricata/strict-policy.expected", false},
		{"rulesets/stateless.yaml", "tests/data/suricata/stateless.expected", true},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		struct hg_ruleset *rs = load_finalized(cases[i].in);
		char *a = emit_all(rs, false), *b = emit_all(rs, false);
		cr_assert_str_eq(a, b);
		golden(cases[i].golden, a, true);
		if (!cases[i].read_back) {
			free(a);
			free(b);
			hg_ruleset_free(rs);
			continue;
		}

		/* Read the output back as one rule file per group. */
		struct hg_ruleset *rs2 = hg_ruleset_new();
		struct hg_diag d;
		hg_diag_init(&d);
		struct hg_rule_group *g = NULL;
		char *save = NULL;
		for (char *line = strtok_r(a, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "# group ", 8)) {
				g = hg_group_new(rs2, (struct hg_loc){"out", 1, 1}, line + 8, HG_GROUP_STATEFUL);
				g->source = HG_SRC_RULES_STRING;
				continue;
			}
			cr_assert(hg_load_suricata(rs2, g, line, strlen(line), (struct hg_loc){"out", 1, 1}, false, &d),
				  "%s", line);
		}
		finalize_ok(rs2, &d);
		char *c = emit_all(rs2, false);
		free(a);
		a = emit_all(rs, false);
		cr_assert_str_eq(c, a);
		free(a);
		free(b);
		free(c);
		hg_diag_fini(&d);
		hg_ruleset_free(rs2);
		hg_ruleset_free(rs);
	}
}

/* ================================================================= JSON */

Test(emit_json, string_escaping)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{"plain", 5, "\"plain\""},
		{"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
		{"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
		{"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""},
		{"nul\0x", 5, "\"nul\\u0000x\""},
		{"caf\xc3\xa9 \xe2\x82\xac", 9, "\"caf\xc3\xa9 \xe2\x82\xac\""},
		{"/<>", 3, "\"/<>\""},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		hg_json_str(m, cases[i].in, cases[i].len);
		fclose(m);
		cr_assert_str_eq(buf, cases[i].out, "case %zu", i);
		free(buf);
	}
}

Test(emit_json, deterministic_and_complete)
{
	struct hg_ruleset *rs = load_finalized("rulesets/suricata-group.rules");
	char *a = emit_all(rs, true), *b = emit_all(rs, true);
	cr_assert_str_eq(a, b);
	static const char *const want[] = {
		"\"firewall_name\": \"hostgate\"",
		"\"synthesized\": true",
		"\"rule_order\": \"DEFAULT_ACTION_ORDER\"",
		"\"sid\": 1000101",
		"\"action\": \"reject\"",
		"\"proto\": \"tls\"",
		"\"dport\": \"[21,23,25,445,3389]\"",
		"\"dotprefix\": true",
		"\"content\": \".amazonaws.com\"",
		"\"content\": \"\\r\\n\"",
		"\"flow\": [",
		"\"to_server\"",
		"\"ssl_state\": [",
		"\"client_hello\"",
		"\"alert_on_pass\": true",
		"\"noalert\": true",
		"\"class\": \"app\"",
		"\"class\": \"ip_only\"",
		"\"dst_set\": [",
		"\"198.51.100.0-198.51.100.255\"",
		"\"dport_set\": [",
		"\"6660:6665\"",
		"\"6667:6669\"",
		"\"direction\": \"<>\"",
		"\"home_net\": [",
		"suricata-group.rules:",
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(want); i++)
		cr_assert_not_null(strstr(a, want[i]), "missing %s", want[i]);
	/* Balanced brackets outside strings: a cheap well-formedness check. */
	int depth = 0;
	bool in = false;
	for (const char *c = a; *c; c++) {
		if (in) {
			if (*c == '\\')
				c++;
			else if (*c == '"')
				in = false;
			continue;
		}
		if (*c == '"')
			in = true;
		else if (*c == '{' || *c == '[')
			depth++;
		else if (*c == '}' || *c == ']')
			cr_assert_geq(--depth, 0);
	}
	cr_assert_eq(depth, 0);
	cr_assert(!in);
	free(a);
	free(b);
	hg_ruleset_free(rs);

	/* A domain list: type, target types and every target with its line. */
	rs = load_finalized("tests/data/suricata/allowlist-http.txt");
	a = emit_all(rs, true);
	cr_assert_not_null(strstr(a, "\"type\": \"ALLOWLIST\""));
	cr_assert_not_null(strstr(a, "\"target_types\": [\n"));
	cr_assert_not_null(strstr(a, "\"HTTP_HOST\""));
	cr_assert_not_null(strstr(a, "\"name\": \".amazon.com\""));
	cr_assert_not_null(strstr(a, "allowlist-http.txt:3:1\""));
	cr_assert_not_null(strstr(a, "\"kind\": \"domainset\""));
	cr_assert_not_null(strstr(a, "\"sid_base\": 1"));
	free(a);
	hg_ruleset_free(rs);
}

/* A stateless rule's custom actions with the CloudWatch dimension value
 * each publishes (rulesets/stateless.yaml: CountTelnet, Dimensions
 * [{Value: telnet}]; API Dimension: the value of dimension CustomAction). */
Test(emit_json, custom_action_dimensions)
{
	struct hg_ruleset *rs = load_finalized("rulesets/stateless.yaml");
	char *a = emit_all(rs, true);
	const char *ca = strstr(a, "\"custom_actions\": [\n            \"CountTelnet\"\n          ],");
	cr_assert_not_null(ca, "%s", a);
	cr_assert_not_null(strstr(ca, "\"custom_dimensions\": [\n            \"telnet\"\n          ],"), "%s", a);
	cr_assert_not_null(strstr(a, "\"stateless_default_dimensions\": [],"), "%s", a);
	free(a);
	hg_ruleset_free(rs);
}
