/* test_suricata.c - the Suricata rule loader and the domain-list file loader:
 * tables of valid rules (every keyword, each re-emitted and re-parsed to the
 * same text) and of bad ones (each diagnostic's line:col and message), the
 * rules ANFW documents (reference/anfw.md §1.3, §2.1), the RulesStrings of
 * AWS's CloudFormation samples (optional corpus), and domain files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "hostgate/emit.h"
#include "hostgate/ir.h"

static const char F[] = "t.rules";

struct parsed {
	struct hg_ruleset *rs;
	struct hg_rule_group *g;
	struct hg_diag d;
	bool ok;
};

static void parse_at(struct parsed *p, const char *text, struct hg_loc base, bool block)
{
	p->rs = hg_ruleset_new();
	hg_diag_init(&p->d);
	p->g = hg_group_new(p->rs, base, "g", HG_GROUP_STATEFUL);
	p->g->source = HG_SRC_RULES_STRING;
	p->ok = hg_load_suricata(p->rs, p->g, text, strlen(text), base, block, &p->d);
}

static void parse(struct parsed *p, const char *text)
{
	parse_at(p, text, (struct hg_loc){F, 1, 1}, false);
}

static void parsed_free(struct parsed *p)
{
	hg_diag_fini(&p->d);
	hg_ruleset_free(p->rs);
}

static char *diag_text(const struct hg_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	hg_diag_print(d, m);
	fclose(m);
	return buf;
}

static const struct hg_diag_record *find_diag(const struct hg_diag *d, enum hg_diag_level lvl, uint32_t line,
					      uint32_t col, const char *sub)
{
	for (size_t i = 0; i < d->recs.n; i++) {
		const struct hg_diag_record *r = &d->recs.v[i];
		if (r->level == lvl && r->loc.line == line && r->loc.col == col && strstr(r->msg, sub))
			return r;
	}
	return NULL;
}

/* Line and column (1-based) of the first occurrence of needle in text. */
static void where(const char *text, const char *needle, uint32_t *line, uint32_t *col)
{
	const char *at = strstr(text, needle);
	cr_assert_not_null(at, "needle '%s' not in '%s'", needle, text);
	*line = 1;
	const char *ls = text;
	for (const char *c = text; c < at; c++)
		if (*c == '\n')
			(*line)++, ls = c + 1;
	*col = (uint32_t)(at - ls) + 1;
}

static char *emit_rule(const struct hg_rule *r, size_t ti)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	hg_emit_suricata_rule(m, r, ti);
	fclose(m);
	return buf;
}

/* =============================================================== valid */

static const char *const valid_rules[] = {
	"pass tls $HOME_NET any -> $EXTERNAL_NET 443 (tls.sni; content:\"example.com\"; startswith; nocase; "
	"endswith; flow:to_server, established; sid:1; rev:1;)",
	"drop tcp any any -> any 23 (msg:\"telnet\"; sid:2;)",
	"reject tcp $HOME_NET any -> $EXTERNAL_NET [25,465,587] (msg:\"smtp out\"; flow:to_server; sid:3;)",
	"alert http $HOME_NET any -> $EXTERNAL_NET any (http.host; dotprefix; content:\".example.org\"; endswith; "
	"msg:\"host\"; sid:4;)",
	"alert http any any -> any any (http.host.raw; content:\"Example.ORG\"; nocase; sid:5;)",
	"drop http any any -> any any (http.uri; content:\"/admin\"; startswith; http.method; content:\"POST\"; sid:6;)",
	"alert http any any -> any any (http.user_agent; content:\"curl/\"; startswith; sid:7;)",
	"drop http any any -> any any (http.header_names; content:\"|0d 0a|\"; startswith; sid:8;)",
	"alert dns $HOME_NET any -> any 53 (dns.query; content:\"evil\"; nocase; sid:9;)",
	"alert tcp any any -> any any (content:\"GET \"; depth:4; offset:0; content:\"Host|3a 20|\"; distance:0; "
	"within:200; fast_pattern; sid:10;)",
	"alert tcp any any -> any any (content:!\"MZ\"; sid:11;)",
	"pass tls any any -> any any (ssl_state:client_hello; tls.sni; sid:12;)",
	"alert tls any any -> any any (ssl_state:!client_hello; sid:13;)",
	"alert tls any any -> any any (ssl_state:client_hello|server_hello,client_keyx,server_keyx,unknown; sid:14;)",
	"pass tcp $HOME_NET any -> any any (flow:not_established, to_server; sid:15;)",
	"pass tcp any any -> $HOME_NET any (flow:from_server, established, only_stream; sid:16;)",
	"drop udp any any -> any any (flow:stateless; sid:17;)",
	"alert tcp any any -> any any (flow:from_client, no_stream; sid:18;)",
	"pass tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; content:\"a.com\"; alert; sid:19;)",
	"drop tcp any any -> any 22 (noalert; priority:1; sid:20;)",
	"alert tcp any any -> any any (metadata:created_at 2024_01_01; classtype:policy-violation; "
	"reference:url,example.com; sid:21;)",
	"drop ip [10.0.0.0/8,!10.1.0.0/16] any -> ![192.168.0.0/16,172.16.0.0/12] any (sid:22;)",
	"drop ip 2001:db8::/32 any <> ::1 any (sid:23;)",
	"drop tcp any [1024:65535,!8080] -> any [:1023] (sid:24;)",
	"drop tcp any 1024: -> any 0 (sid:25;)",
	"drop tcp $HOME_NET $HIGH_PORTS -> @PREFIXES any (sid:26;)",
	"drop tcp any any -> [10.0.0.1, [10.0.0.2, !10.0.0.3]] any (sid:27;)",
	"alert ip $HOME_NET any -> any any (msg:\"geo\"; flow:to_server; geoip:dst,RU; metadata:geo RU; sid:29;)",
	"alert tcp any any -> any any (msg:\"a \\\"quoted\\\" \\; semi \\\\ back\"; sid:30;)",
	"alert tls any any -> any any (tls_sni; content:\"x.com\"; sid:31;)",
	"alert http any any -> any any (content:\"x.com\"; http_host; sid:32;)",
	"alert http any any -> any any (http.uri; content:\"/a\"; pkt_data; content:\"b\"; sid:33;)",
	"PASS TLS any any -> any any (SID:34; MSG:\"upper\";)",
	"drop http $HOME_NET ANY <> $EXTERNAL_NET ANY (msg:this is a stateful drop rule; sid:1234;)",
	"alert tcp any any -> any any (msg:\"x\";sid:35;rev:2;)",
	"alert  tcp\tany any   ->  any any ( msg : \"x\" ; sid : 36 ; )",
	"alert tcp any any -> any any (content:\"a|3B|b\"; sid:37;)",
	"alert tcp any any -> any any (content:\"a\\;b\\\"c\\\\d\\:e\\|f\"; sid:38;)",
	"drop tls any any -> any any (msg:\"paren ) inside\"; sid:39;)",
	"alert quic any any -> any 443 (sid:40;)",
	"drop tls any any -> any any (tls.sni; content:\"a\"; content:\"b\"; distance:-1; sid:41;)",
	"pass tcp any any -> any any (flow:established; sid:42; priority:255;)",
	"drop http2 any any -> any any (sid:43;)",
	"alert tcp any any -> any any (fast_pattern:only; content:\"x\"; sid:44;)",
};

Test(suricata_valid, every_keyword_parses_and_round_trips)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(valid_rules); i++) {
		struct parsed p, q;
		parse(&p, valid_rules[i]);
		char *dt = diag_text(&p.d);
		cr_assert(p.ok, "rule %zu failed: %s\n%s", i, valid_rules[i], dt);
		cr_assert_eq(p.g->n_rules, 1, "rule %zu", i);
		free(dt);
		const struct hg_rule *r = p.g->rules[0];
		cr_assert_str_eq(r->text, valid_rules[i]);
		/* Canonical text parses to a rule that prints the same. */
		char *a = emit_rule(r, 0);
		parse(&q, a);
		dt = diag_text(&q.d);
		cr_assert(q.ok, "re-parse of %s failed: %s", a, dt);
		free(dt);
		char *b = emit_rule(q.g->rules[0], 0);
		cr_assert_str_eq(a, b, "rule %zu", i);
		free(a);
		free(b);
		parsed_free(&q);
		parsed_free(&p);
	}
}

Test(suricata_valid, fields)
{
	struct parsed p;
	parse(&p, "pass tls $HOME_NET any -> $EXTERNAL_NET 443 (ssl_state:client_hello; tls.sni; dotprefix; "
		  "content:\".Example.com\"; nocase; endswith; msg:\"ok\"; priority:2; flow:to_server, established; "
		  "alert; sid:7; rev:3;)\n");
	cr_assert(p.ok);
	const struct hg_rule *r = p.g->rules[0];
	cr_assert_eq(r->action, HG_ACT_PASS);
	cr_assert_eq(r->proto, HG_PROTO_TLS);
	cr_assert_eq(r->src->kind, HG_EXPR_VAR);
	cr_assert_str_eq(r->src->text, "HOME_NET");
	cr_assert_eq(r->src->loc.col, 10);
	cr_assert_eq(r->sport->kind, HG_EXPR_ANY);
	cr_assert_eq(r->dport->kind, HG_EXPR_LITERAL);
	cr_assert_str_eq(r->dport->text, "443");
	cr_assert_eq(r->dport->loc.col, 41);
	cr_assert(!r->bidirectional);
	cr_assert_eq(r->sid, 7);
	cr_assert_eq(r->rev, 3);
	cr_assert_eq(r->priority, 2);
	cr_assert_str_eq(r->msg, "ok");
	cr_assert_eq(r->flow, HG_FLOW_TO_SERVER | HG_FLOW_ESTABLISHED);
	cr_assert_eq(r->ssl_state, HG_SSL_CLIENT_HELLO);
	cr_assert_eq(r->ssl_state_not, 0);
	cr_assert(r->alert_on_pass);
	cr_assert(!r->noalert);
	cr_assert_eq(r->n_matches, 1);
	const struct hg_match *m = &r->matches[0];
	cr_assert_eq(m->kind, HG_MATCH_CONTENT);
	cr_assert_eq(m->buffer, HG_BUF_TLS_SNI);
	cr_assert(m->dotprefix && m->nocase && m->endswith && !m->startswith && !m->negated);
	cr_assert_eq(m->len, 12);
	cr_assert(!memcmp(m->bytes, ".Example.com", 12));
	cr_assert_eq(m->offset, -1);
	cr_assert_eq(m->within, INT32_MIN);
	cr_assert_eq(r->loc.line, 1);
	cr_assert_eq(r->loc.col, 1);
	parsed_free(&p);
}

Test(suricata_valid, content_bytes_lists_and_buffers)
{
	struct parsed p;
	parse(&p, "alert http any any -> [10.0.0.0/8,!10.1.0.0/16,[192.0.2.1,!$X]] [1024:,!8080] (http.uri; "
		  "content:\"a|0D 0a|\\;\\\"b\"; depth:10; offset:2; http.host; content:!\"x\"; distance:-3; within:5; "
		  "tls.sni; http.method; content:\"GET\"; sid:1;)");
	cr_assert(p.ok, "%s", diag_text(&p.d));
	const struct hg_rule *r = p.g->rules[0];
	const struct hg_expr *d = r->dst;
	cr_assert_eq(d->kind, HG_EXPR_LIST);
	cr_assert_eq(d->n_items, 3);
	cr_assert(d->items[1]->negated);
	cr_assert_str_eq(d->items[1]->text, "10.1.0.0/16");
	cr_assert_eq(d->items[1]->loc.col, 35);
	cr_assert_eq(d->items[2]->kind, HG_EXPR_LIST);
	cr_assert(d->items[2]->items[1]->negated);
	cr_assert_eq(d->items[2]->items[1]->kind, HG_EXPR_VAR);
	cr_assert_str_eq(d->items[2]->items[1]->text, "X");
	cr_assert_eq(r->dport->items[0]->kind, HG_EXPR_LITERAL);
	cr_assert_str_eq(r->dport->items[0]->text, "1024:");
	/* uri content, host content, tls.sni present (no content), method */
	cr_assert_eq(r->n_matches, 4);
	const struct hg_match *m = r->matches;
	cr_assert_eq(m[0].buffer, HG_BUF_HTTP_URI);
	cr_assert_eq(m[0].len, 6);
	cr_assert(!memcmp(m[0].bytes, "a\r\n;\"b", 6));
	cr_assert_eq(m[0].depth, 10);
	cr_assert_eq(m[0].offset, 2);
	cr_assert_eq(m[1].buffer, HG_BUF_HTTP_HOST);
	cr_assert(m[1].negated);
	cr_assert_eq(m[1].distance, -3);
	cr_assert_eq(m[1].within, 5);
	cr_assert_eq(m[2].kind, HG_MATCH_BUFFER_PRESENT);
	cr_assert_eq(m[2].buffer, HG_BUF_TLS_SNI);
	cr_assert_eq(m[3].buffer, HG_BUF_HTTP_METHOD);
	parsed_free(&p);
}

Test(suricata_valid, legacy_modifier_and_flags)
{
	struct parsed p;
	parse(&p, "alert http any any <> any any (content:\"evil.com\"; http_host; noalert; "
		  "ssl_state:!client_hello,server_hello; flow:to_client; sid:1;)\n"
		  "drop tcp any any -> any any (alert; sid:2;)\n");
	cr_assert(p.ok, "%s", diag_text(&p.d));
	const struct hg_rule *r = p.g->rules[0];
	cr_assert(r->bidirectional);
	cr_assert_eq(r->matches[0].buffer, HG_BUF_HTTP_HOST);
	cr_assert(r->noalert);
	cr_assert_eq(r->ssl_state, HG_SSL_SERVER_HELLO);
	cr_assert_eq(r->ssl_state_not, HG_SSL_CLIENT_HELLO);
	cr_assert_eq(r->flow, HG_FLOW_TO_CLIENT);
	/* "alert;" means something only on a pass rule */
	cr_assert(!p.g->rules[1]->alert_on_pass);
	parsed_free(&p);
}

/* Comments, blank lines, CRLF, continuation lines: locations stay right. */
Test(suricata_valid, lines_comments_continuations)
{
	const char *text = "# a comment \\\n"
			   "\n"
			   "   # indented comment\r\n"
			   "drop tcp any any -> any 23 (msg:\"telnet\"; \\\n"
			   "    sid:1;)\r\n"
			   "alert tcp any any -> any 21 (msg:\"ftp\"; \\\n"
			   "  xbits:set,x,track ip_src; sid:2;)\n"
			   "pass tcp any any -> any 22 (sid:3;)";
	struct parsed p;
	parse(&p, text);
	cr_assert(!p.ok);
	cr_assert_eq(p.g->n_rules, 2);
	cr_assert_eq(p.g->rules[0]->loc.line, 4);
	cr_assert_eq(p.g->rules[0]->sid, 1);
	cr_assert_str_eq(p.g->rules[0]->text, "drop tcp any any -> any 23 (msg:\"telnet\";     sid:1;)");
	cr_assert_eq(p.g->rules[1]->loc.line, 8);
	cr_assert_eq(p.d.errors, 1);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 7, 3, "unsupported keyword 'xbits'"), "%s",
			   diag_text(&p.d));
	parsed_free(&p);
}

/* A RulesString from a YAML block scalar: base is its first content line
 * and the block's indentation column. */
Test(suricata_valid, yaml_block_base)
{
	const char *text = "drop tcp any any -> any 23 (sid:1;)\n"
			   "drop tcp any any -> any 70000 (sid:2;)\n";
	struct parsed p;
	parse_at(&p, text, (struct hg_loc){"t.yaml", 40, 13}, true);
	cr_assert(!p.ok);
	cr_assert_eq(p.g->rules[0]->loc.line, 40);
	cr_assert_eq(p.g->rules[0]->loc.col, 13);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 41, 13 + 24, "70000"), "%s", diag_text(&p.d));
	parsed_free(&p);
	/* A non-block scalar: later lines start at column 1. */
	parse_at(&p, text, (struct hg_loc){"t.yaml", 40, 20}, false);
	cr_assert_eq(p.g->rules[0]->loc.col, 20);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 41, 25, "70000"), "%s", diag_text(&p.d));
	parsed_free(&p);
}

/* geoip is read at load and resolved at finalize (against --geoip-db):
 * loading alone neither warns nor refuses; a missing database is an error
 * of finalize (tests/bad/geoip-no-database). */
Test(suricata_valid, geoip_parsed)
{
	struct parsed p;
	parse(&p, "alert ip $HOME_NET any -> any any (msg:\"RU\"; flow:to_server; geoip:dst,RU; sid:1;)\n"
		  "alert ip $HOME_NET any -> any any (msg:\"CN\"; flow:to_server; geoip:src,!US,gb; sid:2;)\n"
		  "alert ip $HOME_NET any -> any any (msg:\"x\"; geoip:CN; sid:3;)\n");
	cr_assert(p.ok);
	cr_assert_eq(p.d.errors + p.d.warnings, 0);
	const struct hg_geoip *g0 = p.g->rules[0]->geoip, *g1 = p.g->rules[1]->geoip, *g2 = p.g->rules[2]->geoip;
	cr_assert(g0 && g0->on == HG_GEO_DST && !g0->negated && g0->n_codes == 1 && !strcmp(g0->codes[0], "RU"));
	/* One '!' negates the whole list (Suricata detect-geoip.c). */
	cr_assert(g1 && g1->on == HG_GEO_SRC && g1->negated && g1->n_codes == 2 && !strcmp(g1->codes[1], "GB"));
	/* No direction: any. */
	cr_assert(g2 && g2->on == HG_GEO_ANY && g2->n_codes == 1);
	parsed_free(&p);
}

Test(suricata_valid, duplicate_sid_points_at_both)
{
	struct parsed p;
	parse(&p, "drop tcp any any -> any 23 (msg:\"telnet\"; sid:7;)\n"
		  "drop tcp any any -> any 21 (msg:\"ftp\"; sid:7;)\n"
		  "drop tcp any any -> any 22 (msg:\"ssh\"; sid:8;)\n");
	cr_assert(!p.ok);
	cr_assert_eq(p.g->n_rules, 2);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 2, 1, "duplicate sid 7"));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_NOTE, 1, 1, "first used here"));
	parsed_free(&p);
}

/* A second RulesString into the same group keeps the group's sids unique. */
Test(suricata_valid, second_text_same_group)
{
	struct parsed p;
	parse(&p, "drop tcp any any -> any 23 (sid:1;)\n");
	cr_assert(p.ok);
	const char *more = "drop tcp any any -> any 24 (sid:2;)\ndrop tcp any any -> any 25 (sid:1;)\n";
	bool ok = hg_load_suricata(p.rs, p.g, more, strlen(more), (struct hg_loc){"u.rules", 1, 1}, false, &p.d);
	cr_assert(!ok);
	cr_assert_eq(p.g->n_rules, 2);
	cr_assert_eq(p.g->rules[1]->sid, 2);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 2, 1, "duplicate sid 1"));
	parsed_free(&p);
}

/* ================================================================ bad */

struct bad_case {
	const char *text;
	const char *at; /* the diagnostic points at the first occurrence */
	const char *msg;
};

#define R(opts) "alert tcp any any -> any any (" opts ")"
#define H(opts) "alert http any any -> any any (" opts ")"

static const struct bad_case bad_rules[] = {
	{"allow tcp any any -> any 80 (sid:1;)", "allow", "unknown action 'allow'"},
	{"rejectboth tcp any any -> any 80 (sid:1;)", "rejectboth", "unknown action 'rejectboth'"},
	{"drop sctp any any -> any any (sid:1;)", "sctp", "unknown protocol 'sctp'"},
	{"drop tcp any any => any 81 (sid:2;)", "=>", "invalid direction '=>'"},
	{"drop tcp any any <- any 81 (sid:2;)", "<-", "invalid direction '<-'"},
	{"drop tcp any any -> any 70000 (sid:1;)", "70000", "invalid port or port range '70000'"},
	{"drop tcp any any -> any 1024:80 (sid:1;)", "1024:80", "invalid port range '1024:80'"},
	{"drop tcp any 80a -> any any (sid:1;)", "80a", "invalid port or port range '80a'"},
	{"drop tcp any any -> any [80,:] (sid:1;)", ":]", "invalid port or port range ':'"},
	{"drop tcp 10.0.0.300 any -> any any (sid:1;)", "10.0.0.300", "invalid address or CIDR '10.0.0.300'"},
	{"drop tcp any any -> 10.0.0.0/33 any (sid:1;)", "10.0.0.0/33", "invalid address or CIDR '10.0.0.0/33'"},
	{"drop tcp [10.0.0.1,10.0.0.300] any -> any any (sid:1;)", "10.0.0.300", "invalid address or CIDR"},
	{"drop tcp [10.0.0.1,] any -> any any (sid:1;)", "] any", "expected an address"},
	{"drop tcp [] any -> any any (sid:1;)", "[]", "empty list"},
	{"drop tcp [10.0.0.1;10.0.0.2] any -> any any (sid:1;)", "10.0.0.1;", "invalid address or CIDR"},
	{"drop tcp [10.0.0.1 10.0.0.2] any -> any any (sid:1;)", "10.0.0.2]", "expected ',' or ']'"},
	{"drop tcp $ any -> any any (sid:1;)", "$", "invalid variable name '$'"},
	{"drop tcp $A-B any -> any any (sid:1;)", "$A-B", "invalid variable name '$A-B'"},
	{"drop tcp [10.0.0.1 any -> any any (sid:1;)", "(", "incomplete rule header"},
	{"drop tcp any any -> any (sid:1;)", "(", "incomplete rule header: expected a destination port"},
	{"drop tcp any any -> any any any (sid:1;)", "any (", "unexpected 'any' after the rule header"},
	{"alert tcp any any -> any any (msg:\"x\"; sid:1;", "(", "unbalanced parentheses"},
	{"alert tcp any any -> any any (msg:\"x\"; sid:1;) trailing", "trailing", "unexpected text after the closing"},
	{"alert tcp any any -> any any (msg:\"never closed; sid:1;)", "\"never", "unterminated string"},
	{R("msg:\"x\"; sid:1"), ")", "missing ';' after option 'sid'"},
	{R("sid 1;"), "1;", "missing ';' after option 'sid'"},
	{R("msg:\"x\" sid:1;"), "sid:1", "unexpected text after the closing quote of 'msg'"},
	{R("msg:\"x\";"), "alert", "rule has no 'sid' option"},
	{R("sid:0;"), "0;", "invalid sid '0'"},
	{R("sid:notanumber;"), "notanumber", "invalid sid 'notanumber'"},
	{R("sid:4294967296;"), "4294967296", "invalid sid"},
	{R("sid:1; sid:2;"), "sid:2", "'sid' given twice"},
	{R("rev:x; sid:1;"), "x;", "invalid rev 'x'"},
	{R("priority:0; sid:1;"), "0;", "invalid priority '0' (expected 1..255)"},
	{R("priority:256; sid:1;"), "256", "invalid priority '256'"},
	{R("flow:to_server,to_client; sid:1;"), "to_client", "contradicts"},
	{R("flow:established,not_established; sid:1;"), "not_established", "contradicts"},
	{R("flow:sideways; sid:1;"), "sideways", "unknown flow option 'sideways'"},
	{R("ssl_state:client_bye; sid:1;"), "client_bye", "unknown ssl_state 'client_bye'"},
	{"drop http any any -> any any (http.uri; content:\"/x\"; lua:\"a.lua\"; sid:9;)", "lua",
	 "unsupported keyword 'lua'"},
	{R("xbits:set,x,track ip_src; sid:1;"), "xbits", "unsupported keyword 'xbits'"},
	/* Refused with the reason (issue 9: "an error naming the keyword and
	 * the reason"). */
	{R("ja3s.hash; content:\"x\"; sid:1;"), "ja3s.hash", "'ja3s.hash': it reads the server's handshake"},
	{R("http.stat_code; content:\"200\"; sid:1;"), "http.stat_code", "not bodies, files or responses"},
	{R("datarep:x,>,1; sid:1;"), "datarep", "AWS Network Firewall does not support it"},
	{R("threshold: type limit, track by_src, count 1, seconds 60; sid:1;"), "threshold",
	 "unsupported keyword 'threshold'"},
	{R("dataset:isset,x; sid:1;"), "dataset", "unsupported keyword 'dataset'"},
	{R("flowbits:sett,x; sid:1;"), "sett", "unknown flowbits operation 'sett'"},
	{R("flowbits:set; sid:1;"), "set;", "'flowbits:set' needs a name"},
	{R("flowbits:isset,a|b; sid:1;"), "|b", "flowbits name lists ('|') are not supported"},
	{R("flowbits:set,a,b; sid:1;"), "b;", "flowbits takes one operation and one name"},
	{R("flowbits:noalert,x; sid:1;"), "x;", "'flowbits:noalert' takes no name"},
	{R("flowbits; sid:1;"), "flowbits", "'flowbits' needs a value"},
	{R("ip_proto:TCPX; sid:1;"), "TCPX", "invalid ip_proto 'TCPX'"},
	{R("ip_proto:256; sid:1;"), "256", "invalid ip_proto '256'"},
	{R("ip_proto:!; sid:1;"), ";", "invalid ip_proto ''"},
	{R("ip_proto:6; ip_proto:17; sid:1;"), "17", "contradicts an earlier one"},
	{R("ip_proto:<0; sid:1;"), "<0", "matches no protocol"},
	{R("app-layer-protocol:gopher; sid:1;"), "gopher", "unknown app-layer-protocol 'gopher'"},
	{R("app-layer-protocol:tcp; sid:1;"), "tcp;", "unknown app-layer-protocol 'tcp'"},
	{R("app-layer-protocol:tls,final; sid:1;"), ",final", "modes (',...') are not supported"},
	{R("app-layer-protocol:tls; app-layer-protocol:http; sid:1;"), "app-layer-protocol:http",
	 "'app-layer-protocol' given twice"},
	{R("ja4.hash:x; sid:1;"), "ja4.hash", "'ja4.hash' takes no value"},
	{R("lua:x.lua; sid:1;"), "lua", "unsupported keyword 'lua'"},
	{R("content:\"a\"; byte_test:1,>,2,0; sid:1;"), "byte_test", "unsupported keyword 'byte_test'"},
	{R("tls.snii; sid:1;"), "tls.snii", "unsupported keyword 'tls.snii'; did you mean 'tls.sni'?"},
	{R("nocase; sid:1;"), "nocase", "'nocase' needs a preceding content"},
	{R("content:\"a\"; depth:0; sid:1;"), "0;", "invalid depth '0'"},
	{R("content:\"a\"; offset:-1; sid:1;"), "-1", "invalid offset '-1'"},
	{R("content:\"a\"; within:0; sid:1;"), "0;", "invalid within '0'"},
	{R("content:\"a\"; distance:x; sid:1;"), "x;", "invalid distance 'x'"},
	{R("content:\"\"; sid:1;"), "\"\"", "empty content"},
	{R("content:abc; sid:1;"), "abc", "'content' needs a quoted string"},
	{R("content:\"|0d 0|\"; sid:1;"), "|\"", "odd number of hex digits"},
	{R("content:\"|0g|\"; sid:1;"), "g|", "invalid hex character 'g'"},
	{R("content:\"|0d 0a\"; sid:1;"), "|0d", "never closed"},
	{R("content:\"a\\qb\"; sid:1;"), "\\q", "invalid escape in content"},
	{R("content:\"a;b\"; sid:1;"), ";b", "must be escaped"},
	{R("content:\"a\"; startswith; depth:3; sid:1;"), "content", "'startswith' cannot be combined"},
	{H("http.host; content:\"Example.com\"; sid:1;"), "content", "upper-case"},
	{H("http.host; content:\"example.com\"; nocase; sid:1;"), "content", "'nocase' is not allowed with http.host"},
	{R("dotprefix; content:\"a\"; sid:1;"), "dotprefix", "transforms a sticky buffer"},
	{H("http.host; content:\"a\"; dotprefix; sid:1;"), "dotprefix", "must come before the first content"},
	{R("content:\"a\"; nocase:1; sid:1;"), "nocase", "'nocase' takes no value"},
	{R("msg; sid:1;"), "msg", "'msg' needs a value"},
	{R("msg:; sid:1;"), "; sid", "empty value for 'msg'"},
	{R("msg:\"a\\x\"; sid:1;"), "\\x", "invalid escape in msg"},
	{R("geoip:upx,RU; sid:1;"), "upx", "'upx' is not a two-letter country code"},
	{R("geoip:src,RU; geoip:dst,CN; sid:1;"), "geoip:dst", "'geoip' given twice"},
	/* pcre (Suricata payload keywords, pcre; ANFW suricata-limitations-caveats:
	 * "pcre is only allowed together with content, tls.sni, http.host or
	 * dns.query"). */
	{R("pcre:\"/a/\"; sid:1;"), "pcre", "ANFW allows pcre only together with content, tls.sni, "
					 "http.host or dns.query"},
	{R("content:\"a\"; pcre:\"/a/Q\"; sid:1;"), "Q\"", "pcre modifier 'Q' is not supported"},
	{R("content:\"a\"; pcre:\"/a/U\"; sid:1;"), "U\"", "pcre modifier 'U' is not supported"},
	{R("content:\"a\"; pcre:\"/a(/\"; sid:1;"), "/\"; sid", "invalid pcre: missing closing parenthesis"},
	{R("content:\"a\"; pcre:\"a\"; sid:1;"), "a\"; sid", "pcre needs \"/pattern/flags\""},
	{R("content:\"a\"; pcre:/a/; sid:1;"), "/a/", "'pcre' needs a quoted string"},
	{R("pcre:\"/a/R\"; content:\"a\"; sid:1;"), "pcre", "pcre with R (relative) needs a content or pcre"},
	/* tcp.flags, dsize, ssl_version (Suricata header, payload and TLS
	 * keywords pages). */
	{R("tcp.flags:SX; sid:1;"), "X;", "unknown TCP flag 'X'"},
	{R("tcp.flags:S,; sid:1;"), ";", "tcp.flags needs flags"},
	{R("dsize:5<>3; sid:1;"), "5<>3", "invalid dsize '5<>3'"},
	{R("dsize:<0; sid:1;"), "<0", "dsize:<0 matches no packet"},
	{R("dsize:70000; sid:1;"), "70000", "invalid dsize"},
	{R("ssl_version:tls9; flow:to_server; sid:1;"), "tls9", "unknown ssl_version 'tls9'"},
	{R("ssl_version:tls1.2; sid:1;"), "alert", "ssl_version needs flow:to_server"},
	/* ANFW DG suricata-examples "filter domains on http2" (TLS inspection
	 * only): hostgate sees no HTTP/2 headers. */
	{"pass http2 any any -> any any (http.request_header; content:\"authority|3a 20|example.com\"; sid:1;)",
	 "content", "does not decode HTTP/2 header frames"},
	{"drop tcp any any -> any any (tcp.flags:R; sid:1;)", "drop", "a drop rule on tcp.flags needs flow:to_server"},
	{"reject udp any any -> any any (flow:to_client; dsize:>512; sid:1;)", "reject",
	 "a reject rule on dsize needs flow:to_server"},
	/* An alert (or a logged pass) could match a server's packet, which
	 * the live daemon never sees: replay would log what live cannot. */
	{"alert tcp any any -> any any (dsize:0; sid:1;)", "alert", "an alert rule on dsize needs flow:to_server"},
	{"pass tcp any any -> any any (flow:established; tcp.flags:A; alert; sid:1;)", "pass",
	 "a pass rule on tcp.flags needs flow:to_server"},
	{R("geoip:dst,RUS; sid:1;"), "RUS", "not a two-letter country code"},
	{R("geoip:dst; sid:1;"), "dst;", "at least one country code"},
	{H("content:\"a\"; http_host; http_uri; sid:1;"), "http_uri", "modifies a content already in 'http.host'"},
	{R("sid:1; ;"), ";)", "expected an option keyword"},
};

Test(suricata_bad, each_diagnostic_at_its_place)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(bad_rules); i++) {
		const struct bad_case *c = &bad_rules[i];
		struct parsed p;
		parse(&p, c->text);
		uint32_t line, col;
		where(c->text, c->at, &line, &col);
		char *dt = diag_text(&p.d);
		cr_assert(!p.ok, "case %zu accepted: %s", i, c->text);
		cr_assert_eq(p.g->n_rules, 0, "case %zu: a bad rule was kept", i);
		cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, line, col, c->msg),
				   "case %zu: %s\nwant %u:%u '%s', got:\n%s", i, c->text, line, col, c->msg, dt);
		free(dt);
		parsed_free(&p);
	}
}

/* The cases of the .rules files in tests/bad, exact columns: the port token, the
 * keyword. */
Test(suricata_bad, exact_columns)
{
	struct parsed p;
	parse(&p, "# a comment\ndrop tcp $HOME_NET any -> any 70000 (msg:\"bad port\"; sid:1;)\n");
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 2, 31, "70000"), "%s", diag_text(&p.d));
	parsed_free(&p);
	parse(&p, "drop http any any -> any any (http.uri; content:\"/x\"; lua:\"a.lua\"; sid:9;)\n");
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 1, 55, "unsupported keyword 'lua'"), "%s",
			   diag_text(&p.d));
	parsed_free(&p);
}

/* pfctl-style recovery: every bad rule reported, every good one kept. */
Test(suricata_bad, recovery_reports_all)
{
	struct parsed p;
	parse(&p, "drop tcp any any -> any 80 (sid:1;)\n"
		  "drop tcp any any => any 81 (sid:2;)\n"
		  "drop tcp any any -> any 82 (sid:notanumber;)\n"
		  "drop tcp any any -> any 83 (sid:4;)\n"
		  "drop tcp 1.2.3.4.5 any -> any 99999 (pcre:\"/x/\"; sid:5;)\n"
		  "drop tcp any any -> any 84 (sid:6;)\n");
	cr_assert(!p.ok);
	cr_assert_eq(p.g->n_rules, 3);
	cr_assert_eq(p.g->rules[0]->sid, 1);
	cr_assert_eq(p.g->rules[1]->sid, 4);
	cr_assert_eq(p.g->rules[2]->sid, 6);
	cr_assert_eq(p.d.errors, 5, "%s", diag_text(&p.d));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 2, 18, "'=>'"));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 3, 33, "notanumber"));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 5, 10, "1.2.3.4.5"));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 5, 31, "99999"));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 5, 38, "pcre"));
	parsed_free(&p);
}

/* Hostile shapes: deep nesting, huge numbers, binary junk, empty input. */
Test(suricata_bad, hostile)
{
	char deep[400];
	size_t n = 0;
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "drop tcp ");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "1.2.3.4");
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	snprintf(deep + n, sizeof(deep) - n, " any -> any any (sid:1;)");
	struct parsed p;
	parse(&p, deep);
	cr_assert(!p.ok);
	char *dt = diag_text(&p.d);
	cr_assert_not_null(strstr(dt, "nested deeper"));
	free(dt);
	parsed_free(&p);

	parse(&p, "");
	cr_assert(p.ok);
	cr_assert_eq(p.g->n_rules, 0);
	parsed_free(&p);
	parse(&p, "\\\n\\"); /* continuation into nothing */
	cr_assert(p.ok);
	cr_assert_eq(p.g->n_rules, 0);
	parsed_free(&p);
	parse(&p, "(((((");
	cr_assert(!p.ok);
	parsed_free(&p);
	parse(&p, "drop tcp any any -> any any (content:\"\\");
	cr_assert(!p.ok);
	parsed_free(&p);
}

/* ====================================================== ANFW's examples */

/* reference/anfw.md §1.3: the rules ANFW generates, verbatim; and §2.1's
 * rendering of a StatefulRule (unquoted msg, upper-case ANY). */
static const char *const anfw_rules[] = {
	"drop tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; content:\"evil.com\"; "
	"startswith; nocase; endswith; msg:\"matching TLS denylisted FQDNs\"; priority:1; flow:to_server, "
	"established; sid:1; rev:1;)",
	"drop http $HOME_NET any -> $EXTERNAL_NET any (http.host; content:\"evil.com\"; startswith; endswith; "
	"msg:\"matching HTTP denylisted FQDNs\"; priority:1; flow:to_server, established; sid:2; rev:1;)",
	"pass http $HOME_NET any -> $EXTERNAL_NET any (http.host; dotprefix; content:\".amazon.com\"; endswith; "
	"msg:\"matching HTTP allowlisted FQDNs\"; priority:1; flow:to_server, established; sid:1; rev:1;)",
	"pass http $HOME_NET any -> $EXTERNAL_NET any (http.host; content:\"example.com\"; startswith; endswith; "
	"msg:\"matching HTTP allowlisted FQDNs\"; priority:1; flow:to_server, established; sid:2; rev:1;)",
	"drop http $HOME_NET any -> $EXTERNAL_NET any (http.header_names; content:\"|0d 0a|\"; startswith; "
	"msg:\"not matching any HTTP allowlisted FQDNs\"; priority:1; flow:to_server, established; sid:3; rev:1;)",
	"pass tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; dotprefix; "
	"content:\".amazon.com\"; nocase; endswith; msg:\"matching TLS allowlisted FQDNs\"; priority:1; "
	"flow:to_server, established; sid:1; rev:1;)",
	"pass tls $HOME_NET any -> $EXTERNAL_NET any (ssl_state:client_hello; tls.sni; content:\"example.com\"; "
	"startswith; nocase; endswith; msg:\"matching TLS allowlisted FQDNs\"; priority:1; flow:to_server, "
	"established; sid:2; rev:1;)",
	"drop tls $HOME_NET any -> $EXTERNAL_NET any (msg:\"not matching any TLS allowlisted FQDNs\"; priority:1; "
	"ssl_state:client_hello; flow:to_server, established; sid:3; rev:1;)",
};

Test(anfw_examples, documented_rules_parse_and_print_back)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(anfw_rules); i++) {
		struct parsed p;
		parse(&p, anfw_rules[i]);
		cr_assert(p.ok, "%s\n%s", anfw_rules[i], diag_text(&p.d));
		const struct hg_rule *r = p.g->rules[0];
		cr_assert_eq(r->priority, 1);
		cr_assert_eq(r->rev, 1);
		cr_assert_eq(r->flow, HG_FLOW_TO_SERVER | HG_FLOW_ESTABLISHED);
		cr_assert_eq(r->src->kind, HG_EXPR_VAR);
		cr_assert_eq(r->dst->kind, HG_EXPR_VAR);
		cr_assert_str_eq(r->dst->text, "EXTERNAL_NET");
		cr_assert(r->msg && strstr(r->msg, "FQDNs"));
		/* The canonical order is ANFW's, so each prints verbatim. */
		char *out = emit_rule(r, 0);
		cr_assert_str_eq(out, anfw_rules[i]);
		free(out);
		parsed_free(&p);
	}
}

Test(anfw_examples, dg_stateful_rule_rendering)
{
	struct parsed p;
	parse(&p, "drop http $HOME_NET ANY <> $EXTERNAL_NET ANY (msg:this is a stateful drop rule; sid:1234;)");
	cr_assert(p.ok);
	const struct hg_rule *r = p.g->rules[0];
	cr_assert(r->bidirectional);
	cr_assert_eq(r->sport->kind, HG_EXPR_ANY);
	cr_assert_str_eq(r->msg, "this is a stateful drop rule");
	cr_assert_eq(r->sid, 1234);
	char *out = emit_rule(r, 0);
	cr_assert_str_eq(out, "drop http $HOME_NET any <> $EXTERNAL_NET any (msg:\"this is a stateful drop rule\"; "
			      "sid:1234;)");
	free(out);
	parsed_free(&p);
}

/* The repository's example group parses cleanly. */
Test(anfw_examples, repository_ruleset)
{
	const char *src = getenv("HG_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/rulesets/suricata-group.rules", src ? src : ".");
	char *text;
	size_t len;
	cr_assert_eq(hg_read_file(path, 1 << 20, &text, &len), 0, "%s", path);
	struct parsed p;
	p.rs = hg_ruleset_new();
	hg_diag_init(&p.d);
	p.g = hg_group_new(p.rs, (struct hg_loc){path, 1, 1}, "egress", HG_GROUP_STATEFUL);
	p.ok = hg_load_suricata(p.rs, p.g, text, len, (struct hg_loc){path, 1, 1}, false, &p.d);
	cr_assert(p.ok, "%s", diag_text(&p.d));
	cr_assert_eq(p.d.warnings, 0);
	cr_assert_geq(p.g->n_rules, 20);
	free(text);
	parsed_free(&p);
}

/* ============================================ corpus (optional, HG_SHARED) */

/* The RulesString block scalars of a CloudFormation file, with the
 * position of their first content line. */
struct rules_string {
	char *text;
	uint32_t line, col;
};

static size_t find_rules_strings(const char *path, struct rules_string *out, size_t max)
{
	FILE *fp = fopen(path, "rb");
	cr_assert_not_null(fp);
	yaml_parser_t yp;
	yaml_parser_initialize(&yp);
	yaml_parser_set_input_file(&yp, fp);
	size_t n = 0;
	bool want = false;
	for (;;) {
		yaml_event_t ev;
		cr_assert(yaml_parser_parse(&yp, &ev), "%s: YAML error", path);
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_SCALAR_EVENT) {
			const char *v = (const char *)ev.data.scalar.value;
			if (want && n < max && ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE) {
				out[n].text = strdup(v);
				out[n].line = (uint32_t)ev.start_mark.line + 2; /* the line after '|' */
				out[n].col = 0;
				n++;
			}
			want = !strcmp(v, "RulesString");
		} else {
			want = false;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	fclose(fp);
	return n;
}

/* Column of the block's content: the indentation of its first non-blank
 * line in the file. */
static uint32_t block_col(const char *path, uint32_t line)
{
	FILE *fp = fopen(path, "rb");
	char buf[4096];
	uint32_t ln = 0, col = 1;
	while (fgets(buf, sizeof(buf), fp)) {
		if (++ln < line)
			continue;
		size_t k = strspn(buf, " ");
		if (buf[k] == '\n' || !buf[k])
			continue;
		col = (uint32_t)k + 1;
		break;
	}
	fclose(fp);
	return col;
}

static void walk_yaml(const char *dir, char paths[][4096], size_t *n, size_t max)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		size_t l = strlen(p);
		if (l > 5 && !strcmp(p + l - 5, ".yaml")) {
			if (*n < max)
				snprintf(paths[(*n)++], 4096, "%s", p);
		} else {
			walk_yaml(p, paths, n, max);
		}
	}
	closedir(d);
}

/* Keywords the samples use that hostgate does not implement (yet): their
 * rules must fail with exactly "unsupported keyword" and nothing else, and
 * every other rule must parse. */
static const char *const not_implemented[] = {"'xbits'"};

Test(corpus, aws_cfn_templates_rules_strings)
{
	const char *shared = getenv("HG_SHARED");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/corpus/rulesets/aws-samples+aws-networkfirewall-cfn-templates",
		 shared ? shared : "");
	DIR *probe = shared ? opendir(dir) : NULL;
	if (!probe)
		cr_skip_test("HG_SHARED corpus not present");
	closedir(probe);
	static char paths[64][4096];
	size_t np = 0;
	walk_yaml(dir, paths, &np, 64);
	cr_assert_gt(np, 0);
	size_t strings = 0, rules = 0;
	for (size_t f = 0; f < np; f++) {
		struct rules_string rsx[16];
		size_t n = find_rules_strings(paths[f], rsx, 16);
		for (size_t i = 0; i < n; i++) {
			struct parsed p;
			uint32_t col = block_col(paths[f], rsx[i].line);
			parse_at(&p, rsx[i].text, (struct hg_loc){paths[f], rsx[i].line, col}, true);
			for (size_t k = 0; k < p.d.recs.n; k++) {
				const struct hg_diag_record *r = &p.d.recs.v[k];
				/* geoip is resolved at finalize (--geoip-db): loading
				 * warns about nothing. */
				cr_assert(r->level != HG_DIAG_WARNING, "%s", r->msg);
				bool known = false;
				for (size_t m = 0; m < HG_ARRAY_LEN(not_implemented); m++)
					known |= strstr(r->msg, "unsupported keyword") &&
						 strstr(r->msg, not_implemented[m]);
				cr_assert(known, "%s:%u:%u: %s", paths[f], r->loc.line, r->loc.col, r->msg);
				/* The column points at the keyword in the file. */
				FILE *fp = fopen(paths[f], "rb");
				char buf[4096];
				for (uint32_t ln = 0; ln < r->loc.line && fgets(buf, sizeof(buf), fp);)
					ln++;
				fclose(fp);
				const char *kw = strchr(r->msg, '\'') + 1;
				cr_assert(!strncmp(buf + r->loc.col - 1, kw, strcspn(kw, "'")), "%s:%u:%u: %s",
					  paths[f], r->loc.line, r->loc.col, r->msg);
			}
			strings++;
			rules += p.g->n_rules;
			parsed_free(&p);
			free(rsx[i].text);
		}
	}
	cr_assert_geq(strings, 2);
	cr_assert_geq(rules, 30);
}

/* ============================================================ domain files */

struct dparsed {
	struct hg_ruleset *rs;
	struct hg_diag d;
	bool ok;
	struct hg_rule_group *g;
	struct hg_domain_list *l;
};

static void dparse(struct dparsed *p, const char *path, const char *text, size_t len)
{
	p->rs = hg_ruleset_new();
	hg_diag_init(&p->d);
	p->ok = hg_load_domain_file(p->rs, path, text, len, &p->d);
	cr_assert_eq(p->rs->n_groups, 1);
	p->g = p->rs->groups[0];
	p->l = p->g->list;
	cr_assert_not_null(p->l);
}

static void dparsed_free(struct dparsed *p)
{
	hg_diag_fini(&p->d);
	hg_ruleset_free(p->rs);
}

Test(domain_file, plain_and_hosts)
{
	const char *text = "# a list\n"
			   "\n"
			   "Example.COM.\n"
			   "  .amazonaws.com   # trailing comment\n"
			   "0.0.0.0 ads.example.net tracker.example.net\n"
			   "127.0.0.1 localhost\n"
			   "127.0.0.1\tlocalhost.localdomain\n"
			   "255.255.255.255 broadcasthost\n"
			   "::1 ip6-localhost ip6-loopback\n"
			   "0.0.0.0 0.0.0.0\n"
			   "0.0.0.0 0------------0-------------0.0n-line.biz\r\n"
			   "xn--bcher-kva.example";
	struct dparsed p;
	dparse(&p, "dir/blocked.hosts", text, strlen(text));
	cr_assert(p.ok, "%s", diag_text(&p.d));
	cr_assert_str_eq(p.g->name, "blocked.hosts");
	cr_assert_eq(p.g->type, HG_GROUP_STATEFUL);
	cr_assert_eq(p.g->source, HG_SRC_DOMAIN_LIST);
	cr_assert_eq(p.l->type, HG_LIST_DENYLIST);
	cr_assert_eq(p.l->target_types, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST);
	static const char *const want[] = {"example.com", ".amazonaws.com", "ads.example.net", "tracker.example.net",
					   "0------------0-------------0.0n-line.biz", "xn--bcher-kva.example"};
	cr_assert_eq(p.l->n_targets, HG_ARRAY_LEN(want));
	for (size_t i = 0; i < HG_ARRAY_LEN(want); i++)
		cr_assert_str_eq(p.l->targets[i].name, want[i]);
	cr_assert_eq(p.l->targets[1].loc.line, 4);
	cr_assert_eq(p.l->targets[1].loc.col, 3);
	cr_assert_eq(p.l->targets[3].loc.line, 5);
	cr_assert_eq(p.l->targets[3].loc.col, 25);
	dparsed_free(&p);
}

Test(domain_file, directive)
{
	const char *text = "# Allowed egress\n# hostgate: ALLOWLIST TLS_SNI\napi.github.com\n";
	struct dparsed p;
	dparse(&p, "allow.txt", text, strlen(text));
	cr_assert(p.ok);
	cr_assert_eq(p.l->type, HG_LIST_ALLOWLIST);
	cr_assert_eq(p.l->target_types, HG_TARGET_TLS_SNI);
	dparsed_free(&p);

	text = "# hostgate: rejectlist http_host, tls_sni\na.com\n# hostgate: ALLOWLIST\n";
	dparse(&p, "r.txt", text, strlen(text));
	cr_assert(p.ok);
	cr_assert_eq(p.l->type, HG_LIST_REJECTLIST);
	cr_assert_eq(p.l->target_types, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_WARNING, 3, 3, "ignored"));
	dparsed_free(&p);

	text = "# hostgate: ALOWLIST TLS_SNI\na.com\n";
	dparse(&p, "r.txt", text, strlen(text));
	cr_assert(!p.ok);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 1, 13, "did you mean 'ALLOWLIST'"), "%s",
			   diag_text(&p.d));
	dparsed_free(&p);

	text = "# hostgate: ALERTLIST TLS_SNI,DNS\na.com\n";
	dparse(&p, "r.txt", text, strlen(text));
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 1, 31, "unknown target type 'DNS'"), "%s",
			   diag_text(&p.d));
	dparsed_free(&p);
}

Test(domain_file, errors_at_line_col)
{
	const char *text = "# hostgate: DENYLIST TLS_SNI\n"
			   "good.example.com\n"
			   "bad..example.com\n"
			   "0.0.0.0 ads.example.net\n"
			   "*.wild.com\n"
			   "two names.example\n"
			   "  -lead.example\n"
			   "0.0.0.0 ok.example bad_ok.example ba d\n";
	struct dparsed p;
	dparse(&p, "bad.txt", text, strlen(text));
	cr_assert(!p.ok);
	char *dt = diag_text(&p.d);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 3, 5, "empty label"), "%s", dt);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 5, 1, "'*' is not domain-list syntax"), "%s", dt);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 6, 5, "one domain name per line"), "%s", dt);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 7, 3, "starts with '-'"), "%s", dt);
	cr_assert_eq(p.d.errors, 4, "%s", dt);
	/* the good names are kept */
	cr_assert_eq(p.l->n_targets, 6);
	free(dt);
	dparsed_free(&p);

	dparse(&p, "empty.txt", "# nothing\n\n", 11);
	cr_assert(!p.ok);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, 1, 1, "no domain names"));
	dparsed_free(&p);
}

/* A million names: one pass, arena copies only. Prints the time (tests
 * never assert on timing). */
Test(domain_file, million_lines)
{
	size_t n = 1000000, cap = n * 32, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text, cap, "# hostgate: DENYLIST TLS_SNI,HTTP_HOST\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%shost%zu.example%zu.com\n", i % 7 ? "" : ".", i,
					i % 1000);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct dparsed p;
	dparse(&p, "big.txt", text, len);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert(p.ok);
	cr_assert_eq(p.l->n_targets, n);
	cr_assert_str_eq(p.l->targets[n - 2].name, "host999998.example998.com");
	cr_assert_str_eq(p.l->targets[7].name, ".host7.example7.com");
	cr_assert_eq(p.l->targets[n - 1].loc.line, n + 1);
	fprintf(stderr, "domain_file: %zu lines loaded in %.3f s\n", n,
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	dparsed_free(&p);
	free(text);
}

/* The committed 100k list: header, count, every name valid. */
Test(domain_file, repository_100k)
{
	const char *src = getenv("HG_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/rulesets/domains-100k.txt", src ? src : ".");
	char *text;
	size_t len;
	cr_assert_eq(hg_read_file(path, 64 << 20, &text, &len), 0, "%s", path);
	struct dparsed p;
	dparse(&p, path, text, len);
	cr_assert(p.ok, "%s", diag_text(&p.d));
	cr_assert_eq(p.l->n_targets, 100000);
	cr_assert_eq(p.l->type, HG_LIST_DENYLIST);
	cr_assert_eq(p.l->target_types, HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST);
	dparsed_free(&p);
	free(text);
}

/* flowbits, ip_proto, app-layer-protocol and ja4.hash as the IR gets them. */
Test(suricata_valid, flowbits_ip_proto_app_layer_ja4)
{
	struct parsed p;
	parse(&p, "alert tls any any -> any any (flowbits:isnotset,blocked; flowbits:set,Kyber; "
		  "flowbits:toggle,t; flowbits:unset,u; flowbits:isset,i; flowbits:noalert; sid:1;)\n"
		  "drop ip any any -> any any (ip_proto:!TCP; ip_proto:!udp; ip_proto:!1; sid:2;)\n"
		  "drop ip any any -> any any (ip_proto:>250; sid:3;)\n"
		  "alert ip any any -> any any (ip_proto:gre; app-layer-protocol:!tls; sid:4;)\n"
		  "alert tcp any any -> any any (app-layer-protocol:failed; sid:5;)\n"
		  "reject tls any any -> any any (ssl_state:client_hello; ja4.hash; content:\"_\"; sid:6;)\n");
	cr_assert(p.ok, "%s", diag_text(&p.d));
	cr_assert_eq(p.g->n_rules, 6);
	const struct hg_rule *r = p.g->rules[0];
	cr_assert(r->noalert);
	cr_assert_eq(r->n_flowbits, 5);
	const enum hg_flowbit_op ops[] = {HG_FB_ISNOTSET, HG_FB_SET, HG_FB_TOGGLE, HG_FB_UNSET, HG_FB_ISSET};
	const char *const names[] = {"blocked", "Kyber", "t", "u", "i"};
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(r->flowbits[i].op, ops[i]);
		cr_assert_str_eq(r->flowbits[i].name, names[i]);
	}
	cr_assert_eq(r->flowbits[0].loc.line, 1);
	r = p.g->rules[1];
	cr_assert(r->has_ip_proto);
	for (int v = 0; v < 256; v++)
		cr_assert_eq((r->ip_proto[v >> 3] >> (v & 7)) & 1, v != 6 && v != 17 && v != 1, "proto %d", v);
	r = p.g->rules[2];
	for (int v = 0; v < 256; v++)
		cr_assert_eq((r->ip_proto[v >> 3] >> (v & 7)) & 1, v > 250, "proto %d", v);
	r = p.g->rules[3];
	cr_assert_eq(r->ip_proto[47 >> 3], 1u << (47 & 7));
	cr_assert(r->has_app_layer && r->app_layer_not);
	cr_assert_eq(r->app_layer, HG_PROTO_TLS);
	cr_assert(p.g->rules[4]->has_app_layer && !p.g->rules[4]->app_layer_not);
	cr_assert_eq(p.g->rules[4]->app_layer, HG_APP_LAYER_FAILED);
	r = p.g->rules[5];
	cr_assert_eq(r->n_matches, 1);
	cr_assert_eq(r->matches[0].buffer, HG_BUF_JA4_HASH);
	cr_assert_str_eq(hg_buffer_name(HG_BUF_JA4_HASH), "ja4.hash");
	parsed_free(&p);
}

/* finalize: flowbit names interned per ruleset, 64 at most; a name only
 * checked gets a warning at its first check. */
Test(suricata_valid, flowbits_interned_capped_and_warned)
{
	struct parsed p;
	parse(&p, "alert tcp any any -> any any (flowbits:set,a; sid:1;)\n"
		  "alert tcp any any -> any any (flowbits:isset,a; flowbits:isnotset,never; sid:2;)\n");
	cr_assert(p.ok);
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	cr_assert(hg_ruleset_finalize(p.rs, &o, &p.d), "%s", diag_text(&p.d));
	const struct hg_rule *r1 = p.g->rules[0], *r2 = p.g->rules[1];
	cr_assert_eq(r1->flowbits[0].bit, r2->flowbits[0].bit);
	cr_assert_neq(r2->flowbits[1].bit, r2->flowbits[0].bit);
	uint32_t line, col;
	where("alert tcp any any -> any any (flowbits:set,a; sid:1;)\n"
	      "alert tcp any any -> any any (flowbits:isset,a; flowbits:isnotset,never; sid:2;)\n",
	      "isnotset,never", &line, &col);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_WARNING, line, col, "flowbit 'never' is checked but no rule sets it"),
			   "%s", diag_text(&p.d));
	parsed_free(&p);

	char *text = malloc(70 * 64);
	size_t n = 0;
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(text + n, "alert tcp any any -> any any (flowbits:set,b%d; sid:%d;)\n", i, i + 1);
	parse(&p, text);
	cr_assert(p.ok);
	cr_assert(!hg_ruleset_finalize(p.rs, &o, &p.d));
	where(text, "set,b64", &line, &col);
	cr_assert_not_null(find_diag(&p.d, HG_DIAG_ERROR, line, col, "one more than the 64 distinct names"), "%s",
			   diag_text(&p.d));
	free(text);
	parsed_free(&p);
}
