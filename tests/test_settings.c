/* test_settings.c - every firewall-policy setting is applied or warned
 * about, and rule groups the policy does not reference are refused (or
 * attached on request). Expected behaviour comes from ANFW's documents,
 * cited at each test; never from hostgate's own output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfn_text.h"
#include "hostgate/emit.h"
#include "hostgate/engine.h"
#include "hostgate/inspect.h"
#include "hostgate/ir.h"

struct run {
	struct hg_ruleset *rs;
	struct hg_diag d;
	bool ok;
};

/* A one-policy template: ENGINE is put under StatefulEngineOptions, EXTRA
 * at the FirewallPolicy level, REF_EXTRA in the group's reference. The
 * group denies TCP port 23 (STRICT_ORDER when strict). */
static void load_policy(struct run *r, const char *engine, const char *extra, const char *ref_extra, bool strict,
			bool strict_diag)
{
	char *text;
	cr_assert(asprintf(&text,
			   CFN_TELNET_GROUP
			   "          RulesString: \"drop tcp any any -> any 23 (msg:\\\"telnet\\\"; sid:1;)\"\n"
			   "%s"
			   CFN_POLICY_FORWARD
			   "        StatefulRuleGroupReferences:\n"
			   "          - ResourceArn: !Ref G\n"
			   "%s%s"
			   "        StatefulEngineOptions:\n"
			   "          RuleOrder: %s\n"
			   "%s"
			   "%s",
			   strict ? "        StatefulRuleOptions: {RuleOrder: STRICT_ORDER}\n" : "",
			   strict ? "            Priority: 10\n" : "", ref_extra ? ref_extra : "",
			   strict ? "STRICT_ORDER" : "DEFAULT_ACTION_ORDER", engine ? engine : "",
			   extra ? extra : "") > 0);
	r->rs = hg_ruleset_new();
	hg_diag_init(&r->d);
	r->d.strict = strict_diag;
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	r->ok = hg_load_yaml(r->rs, "p.yaml", text, strlen(text), &o, &r->d);
	if (r->ok)
		r->ok = hg_ruleset_finalize(r->rs, &o, &r->d);
	if (getenv("HG_TEST_DUMP"))
		hg_diag_print(&r->d, stderr);
	free(text);
}

static void done(struct run *r)
{
	hg_ruleset_free(r->rs);
	hg_diag_fini(&r->d);
}

/* The record at line:col whose message contains text, or NULL. */
static const struct hg_diag_record *find(const struct run *r, uint32_t line, uint32_t col, const char *text)
{
	for (size_t i = 0; i < r->d.recs.n; i++) {
		const struct hg_diag_record *x = &r->d.recs.v[i];
		if ((!line || (x->loc.line == line && x->loc.col == col)) && strstr(x->msg, text))
			return x;
	}
	return NULL;
}

static void dump(const struct run *r) __attribute__((unused));
static void dump(const struct run *r)
{
	hg_diag_print(&r->d, stderr);
}

/* ------------------------------------------------------- FlowTimeouts */

/* API FlowTimeouts (docs.aws.amazon.com/network-firewall/latest/APIReference/API_FlowTimeouts.html):
 * TcpIdleTimeoutSeconds "between 60 and 6000 seconds. If no value is
 * provided, it defaults to 350 seconds." */
Test(settings, flow_timeouts_value_default_and_range)
{
	struct run r = {0};
	load_policy(&r, "          FlowTimeouts: {TcpIdleTimeoutSeconds: 900}\n", NULL, NULL, false, false);
	cr_assert(r.ok);
	cr_expect_eq(r.rs->policy->tcp_idle_timeout, 900);
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL, NULL, NULL, false, false);
	cr_assert(r.ok);
	cr_expect_eq(r.rs->policy->tcp_idle_timeout, 350, "ANFW's documented default");
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, "          FlowTimeouts: {TcpIdleTimeoutSeconds: 30}\n", NULL, NULL, false, false);
	cr_expect(!r.ok);
	cr_expect_not_null(find(&r, 22, 49, "invalid value '30' for TcpIdleTimeoutSeconds; expected an integer "
					    "from 60 to 6000"));
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, "          FlowTimeouts: {UdpIdleTimeoutSeconds: 30}\n", NULL, NULL, false, false);
	cr_expect(!r.ok, "a key ANFW does not document is refused, not ignored");
	done(&r);
}

/* Drives frames through the inspector (what replay and the daemon run). */
struct wire {
	struct hg_engine *e;
	struct hg_inspector *ins;
	uint64_t t;
	uint32_t cseq, sseq;
};

static size_t tcp_frame(uint8_t *b, bool to_server, uint8_t flags, uint32_t seq, uint32_t ack, const char *data)
{
	size_t dl = data ? strlen(data) : 0;
	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)((40 + dl) >> 8);
	b[3] = (uint8_t)(40 + dl);
	b[8] = 64;
	b[9] = 6;
	const uint8_t cli[4] = {10, 0, 0, 5}, srv[4] = {198, 51, 100, 7};
	memcpy(b + 12, to_server ? cli : srv, 4);
	memcpy(b + 16, to_server ? srv : cli, 4);
	uint16_t sp = to_server ? 40000 : 8080, dp = to_server ? 8080 : 40000;
	b[20] = (uint8_t)(sp >> 8), b[21] = (uint8_t)sp;
	b[22] = (uint8_t)(dp >> 8), b[23] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		b[24 + i] = (uint8_t)(seq >> (24 - 8 * i));
		b[28 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	b[32] = 0x50;
	b[33] = flags;
	b[34] = 0xff;
	if (dl)
		memcpy(b + 40, data, dl);
	return 40 + dl;
}

static struct hg_flow *send_pkt(struct wire *w, bool to_server, uint8_t flags, const char *data, uint64_t gap_s)
{
	uint8_t b[1600];
	w->t += gap_s * 1000000u + 1000;
	uint32_t *mine = to_server ? &w->cseq : &w->sseq, *theirs = to_server ? &w->sseq : &w->cseq;
	size_t n = tcp_frame(b, to_server, flags, *mine, *theirs, data);
	*mine += (uint32_t)(data ? strlen(data) : 0) + ((flags & (HG_TCP_SYN | HG_TCP_FIN)) ? 1 : 0);
	struct hg_flow *f = NULL;
	hg_inspector_frame(w->ins, 101 /* LINKTYPE_RAW */, w->t, b, (uint32_t)n, (uint32_t)n, &f);
	return f;
}

static void wire_open(struct wire *w, const struct run *r)
{
	memset(w, 0, sizeof(*w));
	w->e = hg_engine_new(r->rs);
	cr_assert_not_null(w->e);
	struct hg_inspect_config c;
	hg_inspect_config_defaults(&c);
	w->ins = hg_inspector_new(w->e, &c, NULL);
	cr_assert_not_null(w->ins);
	w->t = 1700000000ull * 1000000u;
	w->cseq = 1000;
	w->sseq = 5000;
}

static void wire_close(struct wire *w)
{
	hg_inspector_free(w->ins);
	hg_engine_free(w->e);
}

static enum hg_verdict flow_verdict(struct hg_flow *f)
{
	return hg_eng_flow_verdict(&((struct hg_iflow *)hg_flow_user(f))->ef);
}

/* A TCP flow idle for idle_s, then one more client data packet: returns
 * the flow of that packet; *same says whether it is the first flow. */
static struct hg_flow *idle_then_data(struct wire *w, uint64_t idle_s, bool *same)
{
	send_pkt(w, true, HG_TCP_SYN, NULL, 0);
	send_pkt(w, false, HG_TCP_SYN | HG_TCP_ACK, NULL, 0);
	send_pkt(w, true, HG_TCP_ACK, NULL, 0);
	struct hg_flow *f1 = send_pkt(w, true, HG_TCP_ACK | HG_TCP_PSH, "hello\r\n", 0);
	cr_assert_not_null(f1);
	uint64_t id = f1->flow_id;
	cr_expect(!(f1->flags & HG_FLOW_F_MIDSTREAM));
	cr_expect_eq(flow_verdict(f1), HG_VERDICT_UNDECIDED, "no rule decides a port-8080 flow");
	struct hg_flow *f2 = send_pkt(w, true, HG_TCP_ACK | HG_TCP_PSH, "again\r\n", idle_s);
	cr_assert_not_null(f2);
	*same = f2->flow_id == id;
	return f2;
}

/* API FlowTimeouts: "After the idle timeout passes, data packets are
 * dropped, however, the next TCP SYN packet is considered a new flow";
 * API StatefulEngineOptions.StreamExceptionPolicy DROP (the default)
 * "fails closed and drops all subsequent traffic" of a flow that breaks
 * midstream. So a client packet after 61 s idle under a 60 s timeout
 * belongs to a new midstream flow, dropped; after 100 s under the default
 * 350 s timeout it is the same flow, still passing. */
Test(settings, idle_timeout_picks_flow_up_midstream_in_replay)
{
	struct run r = {0};
	struct wire w;
	bool same;
	load_policy(&r, "          FlowTimeouts: {TcpIdleTimeoutSeconds: 60}\n", NULL, NULL, false, false);
	cr_assert(r.ok);
	wire_open(&w, &r);
	struct hg_flow *f = idle_then_data(&w, 61, &same);
	cr_expect(!same, "idle past the timeout: a new flow");
	cr_expect(f->flags & HG_FLOW_F_MIDSTREAM);
	cr_expect_eq(flow_verdict(f), HG_VERDICT_DROP);
	wire_close(&w);
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL, NULL, NULL, false, false);
	cr_assert(r.ok);
	wire_open(&w, &r);
	f = idle_then_data(&w, 100, &same);
	cr_expect(same, "100 s is within the default 350 s");
	cr_expect_eq(flow_verdict(f), HG_VERDICT_UNDECIDED);
	wire_close(&w);
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL, NULL, NULL, false, false);
	wire_open(&w, &r);
	f = idle_then_data(&w, 351, &same);
	cr_expect(!same, "past the default 350 s");
	cr_expect_eq(flow_verdict(f), HG_VERDICT_DROP);
	wire_close(&w);
	done(&r);
}

/* StreamExceptionPolicy REJECT "drops and sends a TCP RST"; CONTINUE
 * keeps applying rules "without context" (API StatefulEngineOptions;
 * reference/anfw.md §3.2): nothing here matches port 8080, so the flow
 * stays undecided (it passes). */
Test(settings, stream_exception_policy_reject_and_continue)
{
	static const struct {
		const char *engine;
		enum hg_verdict want;
	} cases[] = {
		{"          StreamExceptionPolicy: REJECT\n          FlowTimeouts: {TcpIdleTimeoutSeconds: 60}\n",
		 HG_VERDICT_REJECT},
		{"          StreamExceptionPolicy: CONTINUE\n          FlowTimeouts: {TcpIdleTimeoutSeconds: 60}\n",
		 HG_VERDICT_UNDECIDED},
		{"          StreamExceptionPolicy: DROP\n          FlowTimeouts: {TcpIdleTimeoutSeconds: 60}\n",
		 HG_VERDICT_DROP},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = {0};
		struct wire w;
		bool same;
		load_policy(&r, cases[i].engine, NULL, NULL, false, false);
		cr_assert(r.ok);
		wire_open(&w, &r);
		struct hg_flow *f = idle_then_data(&w, 120, &same);
		cr_expect(!same);
		cr_expect_eq(flow_verdict(f), cases[i].want, "case %zu: %s, want %s", i,
			     hg_verdict_name(flow_verdict(f)), hg_verdict_name(cases[i].want));
		wire_close(&w);
		done(&r);
	}
}

/* ------------------------------------------------- TLS inspection */

/* TLS inspection decrypts traffic with the customer's certificates (DG
 * tls-inspection); hostgate does not, so the setting is located and
 * warned about, and --strict makes it an error. */
Test(settings, tls_inspection_warns_strict_errs)
{
	struct run r = {0};
	const char *tls = "        TLSInspectionConfigurationArn: "
			  "arn:aws:network-firewall:us-east-1:111122223333:tls-configuration/t\n";
	load_policy(&r, NULL, tls, NULL, false, false);
	if (!r.ok)
		dump(&r);
	cr_assert(r.ok);
	const struct hg_diag_record *x = find(&r, 22, 40, "TLSInspectionConfigurationArn ignored:");
	cr_assert_not_null(x);
	cr_expect_eq(x->level, HG_DIAG_WARNING);
	cr_expect_eq(r.d.warnings, 1);
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL, tls, NULL, false, true);
	cr_expect(!r.ok, "--strict: the warning is an error");
	x = find(&r, 22, 40, "TLSInspectionConfigurationArn ignored:");
	cr_assert_not_null(x);
	cr_expect_eq(x->level, HG_DIAG_ERROR);
	done(&r);
}

/* API FirewallPolicy.EnableTLSSessionHolding: "If true,
 * TLSInspectionConfigurationArn is required"; DG session-holding-tls:
 * "Application Layer drop established default rules are incompatible
 * with a session-holding configuration". */
Test(settings, tls_session_holding)
{
	struct run r = {0};
	load_policy(&r, NULL, "        EnableTLSSessionHolding: true\n", NULL, false, false);
	cr_expect(!r.ok);
	cr_expect_not_null(find(&r, 22, 34, "EnableTLSSessionHolding needs TLSInspectionConfigurationArn"));
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL, "        EnableTLSSessionHolding: false\n", NULL, false, false);
	cr_expect(r.ok);
	cr_expect_eq(r.d.warnings, 0, "off: nothing to say");
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL,
		    "        TLSInspectionConfigurationArn: arn:aws:network-firewall:::tls-configuration/t\n"
		    "        EnableTLSSessionHolding: true\n",
		    NULL, false, false);
	cr_expect(r.ok);
	cr_expect_not_null(find(&r, 23, 34, "EnableTLSSessionHolding ignored:"));
	cr_expect_eq(r.d.warnings, 2);
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL,
		    "        StatefulDefaultActions: [\"aws:drop_established_app_layer\"]\n"
		    "        TLSInspectionConfigurationArn: arn:aws:network-firewall:::tls-configuration/t\n"
		    "        EnableTLSSessionHolding: true\n",
		    NULL, true, false);
	cr_expect(!r.ok);
	cr_expect_not_null(find(&r, 26, 34, "cannot be used with the application-layer drop-established"));
	done(&r);

	memset(&r, 0, sizeof(r));
	load_policy(&r, NULL, "        EnableTLSSessionHolding: maybe\n", NULL, false, false);
	cr_expect(!r.ok);
	cr_expect_not_null(find(&r, 22, 34, "invalid value 'maybe' for EnableTLSSessionHolding"));
	done(&r);
}

/* API StatefulRuleGroupReference.DeepThreatInspection: AWS's analysis of
 * managed active-threat-defense groups' traffic; no verdict changes. */
Test(settings, deep_threat_inspection_warns)
{
	struct run r = {0};
	load_policy(&r, NULL, NULL, "            DeepThreatInspection: true\n", false, false);
	cr_expect(r.ok);
	cr_expect_not_null(find(&r, 20, 35, "DeepThreatInspection ignored:"));
	done(&r);
}

/* API Firewall.EnabledAnalysisTypes: traffic analysis reports (TLS_SNI,
 * HTTP_HOST) that change no verdict; hostgate writes none. */
Test(settings, firewall_analysis_types_warn)
{
	static const char text[] = "Resources:\n"
				   "  P:\n"
				   "    Type: AWS::NetworkFirewall::FirewallPolicy\n"
				   "    Properties:\n"
				   "      FirewallPolicyName: pol\n"
				   "      FirewallPolicy:\n"
				   "        StatelessDefaultActions: [\"aws:forward_to_sfe\"]\n"
				   "        StatelessFragmentDefaultActions: [\"aws:forward_to_sfe\"]\n"
				   "  F:\n"
				   "    Type: AWS::NetworkFirewall::Firewall\n"
				   "    Properties:\n"
				   "      FirewallName: fw\n"
				   "      FirewallPolicyArn: !Ref P\n"
				   "      EnabledAnalysisTypes: [TLS_SNI, HTTP_HOST]\n";
	struct run r = {0};
	r.rs = hg_ruleset_new();
	hg_diag_init(&r.d);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	r.ok = hg_load_yaml(r.rs, "p.yaml", text, strlen(text), &o, &r.d);
	cr_expect(r.ok);
	cr_expect_not_null(find(&r, 14, 29, "EnabledAnalysisTypes ignored:"));
	cr_expect_eq(r.d.warnings, 1);
	done(&r);
}

/* --------------------------------------------------- DROP_TO_ALERT */

/* API StatefulRuleGroupOverride.Action DROP_TO_ALERT: the group's drop
 * rules alert instead; telnet (port 23) then passes with an alert, as
 * ANFW's alert rules "allow" (DG rule-action). */
static void alert_count(void *ud, const struct hg_alert *a)
{
	(void)a;
	(*(int *)ud)++;
}

Test(settings, drop_to_alert_override)
{
	for (int ov = 0; ov < 2; ov++) {
		struct run r = {0};
		load_policy(&r, NULL, NULL, ov ? "            Override: {Action: DROP_TO_ALERT}\n" : NULL, false,
			    false);
		cr_assert(r.ok);
		struct hg_engine *e = hg_engine_new(r.rs);
		struct hg_eng_flow f;
		hg_eng_flow_init(&f);
		struct hg_ip c = {{0}}, s = {{0}};
		c.b[10] = c.b[11] = s.b[10] = s.b[11] = 0xff;
		c.b[12] = 10, c.b[15] = 5, s.b[12] = 198, s.b[15] = 7;
		struct hg_eng_pkt p = {.ip_proto = 6, .src = c, .dst = s, .sport = 40000, .dport = 23,
				       .dir = HG_DIR_TO_SERVER, .tcp_flags = HG_TCP_SYN, .first_in_dir = true};
		int alerts = 0;
		enum hg_verdict v = hg_engine_packet(e, &f, &p, NULL, alert_count, &alerts);
		if (ov) {
			cr_expect_neq(v, HG_VERDICT_DROP, "DROP_TO_ALERT: not dropped");
			cr_expect_eq(hg_eng_flow_final(&f), HG_VERDICT_PASS);
		} else {
			cr_expect_eq(v, HG_VERDICT_DROP);
		}
		cr_expect_eq(alerts, 1, "the match is logged either way (ov=%d)", ov);
		hg_engine_free(e);
		done(&r);
	}
}

/* The kernel side of the same override: the telnet rule is decided in
 * the table (an IP-only 5-tuple rule), as a drop without the override and
 * as an alert copy (no drop) with it. */
Test(settings, drop_to_alert_override_in_the_table)
{
	for (int ov = 0; ov < 2; ov++) {
		struct run r = {0};
		load_policy(&r, NULL, NULL, ov ? "            Override: {Action: DROP_TO_ALERT}\n" : NULL, false,
			    false);
		cr_assert(r.ok);
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		cr_assert_eq(hg_emit_nft(m, r.rs, NULL), 0);
		fclose(m);
		bool drop = strstr(text, "tcp . 23 : goto hg_drop_log") != NULL;
		bool alert = strstr(text, "th dport @alert") != NULL;
		cr_expect_eq(drop, !ov, "ov=%d: the kernel drops telnet only without the override", ov);
		cr_expect_eq(alert, ov, "ov=%d: with the override the kernel copies it to the alert log", ov);
		free(text);
		done(&r);
	}
}

/* ---------------------------------------------------- loose groups */

/* The policy file plus a Suricata group "extra" from extra.rules (a
 * STRICT_ORDER group when strict_group), finalized. */
static bool load_two(struct run *r, const char *policy_file, const char *rules, bool attach, bool strict_group)
{
	r->rs = hg_ruleset_new();
	hg_diag_init(&r->d);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	o.attach_groups = attach;
	const char *src = getenv("HG_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", policy_file);
	bool ok = hg_load_file(r->rs, path, &o, &r->d);
	struct hg_loc at = {"extra.rules", 1, 1};
	struct hg_rule_group *g = hg_group_new(r->rs, at, "extra", HG_GROUP_STATEFUL);
	g->has_rule_order = strict_group;
	g->rule_order = strict_group ? HG_ORDER_STRICT : HG_ORDER_DEFAULT_ACTION;
	ok &= hg_load_suricata(r->rs, g, rules, strlen(rules), at, false, &r->d);
	return ok && hg_ruleset_finalize(r->rs, &o, &r->d);
}

/* ANFW evaluates the groups a policy references and nothing else (API
 * FirewallPolicy.StatefulRuleGroupReferences): a group the policy does not
 * name would never be enforced, so it is refused with its location. */
Test(settings, loose_group_is_an_error)
{
	struct run r = {0};
	r.ok = load_two(&r, "rulesets/seed-zero-trust.yaml", "drop tcp any any -> any 23 (sid:1;)\n", false, false);
	cr_expect(!r.ok);
	const struct hg_diag_record *x =
		find(&r, 1, 1, "rule group 'extra' is not referenced by firewall policy 'ZeroTrustPolicy'");
	cr_assert_not_null(x);
	cr_expect_str_eq(x->loc.file, "extra.rules");
	cr_expect(strstr(x->msg, "--attach-groups"));
	done(&r);
}

/* --attach-groups appends the group after the policy's own; under
 * STRICT_ORDER with a priority after theirs (§2.3: strict order runs
 * groups by priority, so it runs last). */
Test(settings, attach_groups_appends_in_order)
{
	struct run r = {0};
	r.ok = load_two(&r, "rulesets/seed-zero-trust.yaml", "drop tcp any any -> any 23 (sid:1;)\n", true, false);
	if (!r.ok)
		dump(&r);
	cr_assert(r.ok);
	const struct hg_policy *p = r.rs->policy;
	cr_assert_eq(p->n_stateful_refs, 3);
	cr_expect_str_eq(p->stateful_refs[2].group->name, "extra");
	cr_expect(p->stateful_refs[2].group->attached);
	done(&r);

	memset(&r, 0, sizeof(r));
	r.ok = load_two(&r, "rulesets/strict-policy.yaml", "drop tcp any any -> any 23 (sid:1;)\n", true, false);
	/* The strict policy's groups are STRICT_ORDER; the extra group states
	 * no order, which ANFW refuses under a strict policy (§2.3). */
	cr_expect(!r.ok);
	cr_expect_not_null(find(&r, 0, 0, "rule group 'extra' RuleOrder DEFAULT_ACTION_ORDER does not match"));
	done(&r);
}

Test(settings, attach_groups_strict_priority_after_policy)
{
	struct run r = {0};
	r.ok = load_two(&r, "rulesets/strict-policy.yaml", "drop tcp any any -> any 23 (sid:1;)\n", true, true);
	if (!r.ok)
		dump(&r);
	cr_assert(r.ok);
	const struct hg_policy *p = r.rs->policy;
	size_t n = p->n_stateful_refs;
	cr_assert_geq(n, 2);
	cr_expect_str_eq(p->stateful_refs[n - 1].group->name, "extra");
	for (size_t i = 0; i + 1 < n; i++)
		cr_expect_lt(p->stateful_refs[i].priority, p->stateful_refs[n - 1].priority);
	done(&r);
}

/* Without a policy every group is used, as before (nothing is loose). */
Test(settings, no_policy_uses_every_group)
{
	struct run r = {0};
	r.rs = hg_ruleset_new();
	hg_diag_init(&r.d);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	const char *a = "drop tcp any any -> any 23 (sid:1;)\n", *b = "drop tcp any any -> any 25 (sid:1;)\n";
	hg_load_suricata(r.rs, hg_group_new(r.rs, (struct hg_loc){"a.rules", 1, 1}, "a", HG_GROUP_STATEFUL), a,
			 strlen(a), (struct hg_loc){"a.rules", 1, 1}, false, &r.d);
	hg_load_suricata(r.rs, hg_group_new(r.rs, (struct hg_loc){"b.rules", 1, 1}, "b", HG_GROUP_STATEFUL), b,
			 strlen(b), (struct hg_loc){"b.rules", 1, 1}, false, &r.d);
	cr_assert(hg_ruleset_finalize(r.rs, &o, &r.d));
	cr_expect_eq(r.rs->policy->n_stateful_refs, 2);
	done(&r);
}
