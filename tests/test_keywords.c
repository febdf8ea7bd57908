/* test_keywords.c - the Suricata keywords of issue 9 through the real
 * loader, finalize and engine: pcre, ja3.hash/ja3.string, tcp.flags, dsize,
 * ssl_version, http.request_header, http.uri/method/user_agent, @NAME IP set
 * references and geoip. Expected matches are reasoned from Suricata's rule
 * documentation (docs.suricata.io, the rules/ pages: cited at each
 * test) and ANFW's developer guide, never read off hostgate's output. */
#include <criterion/criterion.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex_util.h"
#include "hostgate/appparse.h"
#include "hostgate/engine.h"
#include "hostgate/geoip.h"
#include "hostgate/inspect.h"
#include "hostgate/ir.h"
#include "tls_hellos.h"

/* ------------------------------------------------------------ kit */

struct env {
	struct hg_ruleset *rs;
	struct hg_engine *e;
	struct hg_diag d;
	bool ok;
};

static char geo_db[4096];

static const char *geoip_db(void)
{
	snprintf(geo_db, sizeof(geo_db), "%s/tests/data/geoip/GeoLite2-Country-Test.mmdb",
		 getenv("HG_SRCDIR") ? getenv("HG_SRCDIR") : ".");
	return geo_db;
}

/* Loads rules text as one group (HOME_NET 10.0.0.0/8) and finalizes. */
static void load(struct env *v, const char *text, const struct hg_param *refs, size_t n_refs, const char *geo)
{
	memset(v, 0, sizeof(*v));
	v->rs = hg_ruleset_new();
	struct hg_load_opts o;
	hg_load_opts_defaults(&o);
	o.home_net = "10.0.0.0/8";
	o.refsets = refs;
	o.n_refsets = n_refs;
	o.geoip_db = geo;
	hg_diag_init(&v->d);
	struct hg_loc base = {"k.rules", 1, 1};
	struct hg_rule_group *g = hg_group_new(v->rs, base, "k", HG_GROUP_STATEFUL);
	g->source = HG_SRC_RULES_STRING;
	v->ok = hg_load_suricata(v->rs, g, text, strlen(text), base, false, &v->d);
	v->ok = v->ok && hg_ruleset_finalize(v->rs, &o, &v->d);
	if (v->ok)
		v->e = hg_engine_new(v->rs);
}

static void load_ok(struct env *v, const char *text)
{
	load(v, text, NULL, 0, NULL);
	if (!v->ok)
		hg_diag_print(&v->d, stderr);
	cr_assert(v->ok && v->e, "rules did not load: %s", text);
}

static void env_free(struct env *v)
{
	hg_engine_free(v->e);
	hg_ruleset_free(v->rs);
	hg_diag_fini(&v->d);
}

static bool has_error(const struct env *v, uint32_t line, uint32_t col, const char *text)
{
	for (size_t i = 0; i < v->d.recs.n; i++) {
		const struct hg_diag_record *r = &v->d.recs.v[i];
		if (r->level == HG_DIAG_ERROR && r->loc.line == line && (!col || r->loc.col == col) &&
		    strstr(r->msg, text))
			return true;
	}
	return false;
}

static struct hg_ip ip(const char *s)
{
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr(s, &lo, &hi), "%s", s);
	return lo;
}

/* One flow's packets against the engine: client 10.0.0.5:40000. */
struct sim {
	const struct hg_engine *e;
	struct hg_eng_flow f;
	struct hg_eng_app app;
	uint8_t proto;
	struct hg_ip cli, srv;
	uint16_t dport;
	bool seen[2], est;
};

static void sim_init(struct sim *s, const struct hg_engine *e, uint8_t proto, const char *srv, uint16_t dport)
{
	memset(s, 0, sizeof(*s));
	s->e = e;
	s->proto = proto;
	s->cli = ip("10.0.0.5");
	s->srv = ip(srv);
	s->dport = dport;
	hg_eng_flow_init(&s->f);
}

static enum hg_verdict pkt(struct sim *s, enum hg_dir dir, uint8_t flags, const char *pl)
{
	bool ts = dir == HG_DIR_TO_SERVER;
	struct hg_eng_pkt p = {
		.ip_proto = s->proto, .src = ts ? s->cli : s->srv, .dst = ts ? s->srv : s->cli,
		.sport = ts ? 40000 : s->dport, .dport = ts ? s->dport : 40000, .dir = dir,
		.tcp_flags = flags, .first_in_dir = !s->seen[dir], .established = s->est,
		.payload = (const uint8_t *)pl, .payload_len = pl ? strlen(pl) : 0,
	};
	s->seen[dir] = true;
	return hg_engine_packet(s->e, &s->f, &p, &s->app, NULL, NULL);
}

static void handshake(struct sim *s)
{
	cr_assert_eq(pkt(s, HG_DIR_TO_SERVER, HG_TCP_SYN, NULL), HG_VERDICT_UNDECIDED);
	cr_assert_eq(pkt(s, HG_DIR_TO_CLIENT, HG_TCP_SYN | HG_TCP_ACK, NULL), HG_VERDICT_UNDECIDED);
	s->est = true;
	cr_assert_eq(pkt(s, HG_DIR_TO_SERVER, HG_TCP_ACK, NULL), HG_VERDICT_UNDECIDED);
}

static struct hg_slice sl(const char *s)
{
	return (struct hg_slice){(const uint8_t *)s, strlen(s)};
}

/* A TLS flow whose whole ClientHello is in, with SNI sni. */
static enum hg_verdict tls_flow(const struct hg_engine *e, const char *sni)
{
	struct sim s;
	sim_init(&s, e, 6, "93.184.216.34", 443);
	handshake(&s);
	s.app.proto = HG_APP_TLS;
	s.app.ssl_state = HG_SSL_CLIENT_HELLO;
	s.app.tls_sni = sl(sni);
	return pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK | HG_TCP_PSH, "\x16\x03\x01 hello");
}

/* One payload packet of an established TCP flow to port 9000. */
static enum hg_verdict payload_flow(const struct hg_engine *e, const char *payload)
{
	struct sim s;
	sim_init(&s, e, 6, "93.184.216.34", 9000);
	handshake(&s);
	s.app.proto = HG_APP_FAILED;
	return pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK | HG_TCP_PSH, payload);
}

/* ============================================================ pcre */

/* ANFW suricata-examples, "deny any traffic with an IP address in the SNI"
 * (sid 1239847) and its http.host twin (1239848): a dotted quad in the
 * buffer is dropped, a name is not. ANFW suricata-limitations-caveats: pcre
 * is allowed with tls.sni without a content. */
Test(pcre, anfw_ip_literal_in_sni_and_host)
{
	struct env v;
	load_ok(&v, "drop tls $HOME_NET any -> $EXTERNAL_NET any (msg:\"IP in SNI\"; flow:to_server; tls.sni; "
		    "pcre:\"/^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$/\"; sid:1239847;)\n"
		    "drop http $HOME_NET any -> $EXTERNAL_NET any (msg:\"IP in Host\"; flow:to_server; http.host; "
		    "content:\".\"; pcre:\"/^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$/\"; sid:1239848;)\n");
	cr_expect_eq(tls_flow(v.e, "203.0.113.9"), HG_VERDICT_DROP);
	cr_expect_eq(tls_flow(v.e, "www.example.com"), HG_VERDICT_UNDECIDED);
	/* '$' without /E also matches before a final newline (PCRE's default),
	 * and the pattern is anchored: a name holding a quad is not one. */
	cr_expect_eq(tls_flow(v.e, "1.2.3.4.example.com"), HG_VERDICT_UNDECIDED);

	struct sim s;
	sim_init(&s, v.e, 6, "93.184.216.34", 80);
	handshake(&s);
	s.app.proto = HG_APP_HTTP;
	s.app.http_request_line = s.app.http_request_headers = true;
	s.app.http_host = sl("198.51.100.7");
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK | HG_TCP_PSH, "GET / HTTP/1.1\r\n\r\n"), HG_VERDICT_DROP);
	env_free(&v);
}

/* Suricata rules/payload-keywords (pcre): the modifiers i (caseless),
 * s (dot matches newline), m (^/$ per line), x (extended), A (anchored
 * at the buffer start), R (relative to the previous match: the pattern
 * runs from the end of the last match, so '^' anchors there), negation. */
Test(pcre, modifiers_relative_and_negation)
{
	struct env v;
	load_ok(&v, "drop tcp any any -> any 9000 (flow:to_server; content:\"USER\"; pcre:\"/^ +root$/Rm\"; sid:1;)\n"
		    "drop tcp any any -> any 9000 (flow:to_server; content:\"KEY\"; pcre:\"/ s e c r e t /xi\"; sid:2;)\n"
		    "drop tcp any any -> any 9000 (flow:to_server; content:\"BEGIN\"; pcre:\"/BEGIN.END/s\"; sid:3;)\n"
		    "drop tcp any any -> any 9000 (flow:to_server; content:\"ping\"; pcre:!\"/ping [0-9]+/\"; sid:4;)\n"
		    "drop tcp any any -> any 9000 (flow:to_server; content:\"zz\"; pcre:\"/zz/A\"; sid:5;)\n");
	cr_expect_eq(payload_flow(v.e, "USER   root\nPASS x"), HG_VERDICT_DROP);
	/* R: '^' is where "USER" ended; "USER x root" has no spaces-then-root there. */
	cr_expect_eq(payload_flow(v.e, "USER x root"), HG_VERDICT_UNDECIDED);
	cr_expect_eq(payload_flow(v.e, "KEY=SeCrEt"), HG_VERDICT_DROP);
	cr_expect_eq(payload_flow(v.e, "BEGIN\nEND"), HG_VERDICT_DROP);
	cr_expect_eq(payload_flow(v.e, "ping abc"), HG_VERDICT_DROP);
	cr_expect_eq(payload_flow(v.e, "ping 42"), HG_VERDICT_UNDECIDED);
	cr_expect_eq(payload_flow(v.e, "zz top"), HG_VERDICT_DROP);
	cr_expect_eq(payload_flow(v.e, "top zz"), HG_VERDICT_UNDECIDED);
	env_free(&v);
}

/* Relative contents after a pcre count from the pcre's match end, and a
 * later occurrence is tried when the first fails (Suricata's content
 * inspection backtracks over pcre as over content). */
Test(pcre, content_relative_to_pcre_backtracks)
{
	struct env v;
	load_ok(&v, "drop tcp any any -> any 9000 (flow:to_server; content:\"id=\"; pcre:\"/[0-9]+/R\"; "
		    "content:\"|3b|admin\"; within:6; distance:0; sid:1;)\n");
	cr_expect_eq(payload_flow(v.e, "id=1;user id=2;admin"), HG_VERDICT_DROP);
	cr_expect_eq(payload_flow(v.e, "id=1;user id=2;guest"), HG_VERDICT_UNDECIDED);
	env_free(&v);
}

/* A pattern that backtracks exponentially on a hostile buffer stops at
 * the match limit (Suricata's pcre match-limit): the engine cannot say
 * whether the rule matches, so it leaves the flow undecided with the error
 * flagged (the inspector drops it, below), never decided as unmatched. */
Test(pcre, hostile_backtracking_is_bounded)
{
	struct env v;
	load_ok(&v, "drop tcp any any -> any 9000 (flow:to_server; content:\"a\"; pcre:\"/(a+)+$/\"; sid:1;)\n");
	char buf[4096];
	memset(buf, 'a', sizeof(buf) - 2);
	buf[sizeof(buf) - 2] = '!';
	buf[sizeof(buf) - 1] = 0;
	struct sim s;
	sim_init(&s, v.e, 6, "93.184.216.34", 9000);
	handshake(&s);
	s.app.proto = HG_APP_FAILED;
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK | HG_TCP_PSH, buf), HG_VERDICT_UNDECIDED);
	cr_expect(hg_eng_flow_match_error(&s.f), "the match limit must be an error, not a miss");
	cr_expect_eq(payload_flow(v.e, "aaaa"), HG_VERDICT_DROP);
	sim_init(&s, v.e, 6, "93.184.216.34", 9000);
	handshake(&s);
	s.app.proto = HG_APP_FAILED;
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK | HG_TCP_PSH, "bbbb a!"), HG_VERDICT_UNDECIDED);
	cr_expect_not(hg_eng_flow_match_error(&s.f), "a plain miss is no error");
	env_free(&v);
}

/* ============================================= tcp.flags and dsize */

/* AWS's keep-alive pass rules for aws:drop_established_app_layer
 * (reference/anfw.md §3.3): "pass tcp any any -> any any (tcp.flags:A;
 * dsize:0; flow:established,to_server; ...)". Suricata rules/header-keywords
 * (tcp.flags: exactly the flags given, others clear unless after ',') and
 * rules/payload-keywords (dsize: payload size). A pure ACK passes, the same
 * ACK with data or with PSH does not match and the default action drops. */
Test(packet_keywords, keepalive_pass_rules)
{
	struct env v;
	struct hg_ruleset *rs;
	load(&v, "pass tcp any any -> any any (tcp.flags:A; dsize:0; flow:established,to_server; sid:1;)\n"
		 "pass tcp any any -> any any (tcp.flags:A; dsize:0; flow:established,to_client; sid:2;)\n",
	     NULL, 0, NULL);
	cr_assert(v.ok);
	rs = v.rs;
	hg_engine_free(v.e);
	rs->policy->rule_order = HG_ORDER_STRICT;
	rs->policy->default_actions = HG_SDA_DROP_ESTABLISHED;
	v.e = hg_engine_new(rs);

	struct sim s;
	sim_init(&s, v.e, 6, "93.184.216.34", 443);
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_SYN, NULL), HG_VERDICT_UNDECIDED);
	cr_expect_eq(pkt(&s, HG_DIR_TO_CLIENT, HG_TCP_SYN | HG_TCP_ACK, NULL), HG_VERDICT_UNDECIDED);
	s.est = true;
	/* §3.3: drop_established decides on the first unmatched established
	 * packet with payload; the payload-less ACKs (the handshake's last
	 * one among them) match the pass rules. */
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK, NULL), HG_VERDICT_PASS);
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK, NULL), HG_VERDICT_PASS);
	cr_expect_eq(pkt(&s, HG_DIR_TO_CLIENT, HG_TCP_ACK, NULL), HG_VERDICT_PASS);
	cr_expect(!hg_eng_flow_decided(&s.f), "a per-packet pass must not decide the flow");
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK | HG_TCP_PSH, NULL), HG_VERDICT_UNDECIDED);
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK, "data"), HG_VERDICT_DROP);
	env_free(&v);
}

/* Suricata rules/header-keywords, tcp.flags modifiers: '+' these and any
 * others, '*' any of these, '!' none of these; flags after ',' ignored. */
Test(packet_keywords, tcp_flags_modifiers)
{
	struct env v;
	load_ok(&v, "alert tcp any any -> any 1 (flow:to_server; tcp.flags:S,CE; sid:1;)\n"
		    "alert tcp any any -> any 2 (flow:to_server; tcp.flags:+S; sid:2;)\n"
		    "alert tcp any any -> any 3 (flow:to_server; tcp.flags:*FR; sid:3;)\n"
		    "alert tcp any any -> any 4 (flow:to_server; tcp.flags:!A; sid:4;)\n"
		    "drop tcp any any -> any 5 (flow:to_server; tcp.flags:0; sid:5;)\n"
		    "drop tcp any any -> any 1 (flow:to_server; tcp.flags:S,CE; sid:6;)\n"
		    "drop tcp any any -> any 2 (flow:to_server; tcp.flags:+S; sid:7;)\n"
		    "drop tcp any any -> any 3 (flow:to_server; tcp.flags:*FR; sid:8;)\n"
		    "drop tcp any any -> any 4 (flow:to_server; tcp.flags:!A; sid:9;)\n");
	static const struct {
		uint16_t port;
		uint8_t flags;
		enum hg_verdict want;
	} cases[] = {
		{1, HG_TCP_SYN, HG_VERDICT_DROP},
		{1, HG_TCP_SYN | HG_TCP_ECE | HG_TCP_CWR, HG_VERDICT_DROP}, /* ECN bits ignored */
		{1, HG_TCP_SYN | HG_TCP_ACK, HG_VERDICT_UNDECIDED},         /* not exactly S */
		{2, HG_TCP_SYN | HG_TCP_ACK, HG_VERDICT_DROP},
		{2, HG_TCP_ACK, HG_VERDICT_UNDECIDED},
		{3, HG_TCP_RST | HG_TCP_ACK, HG_VERDICT_DROP},
		{3, HG_TCP_ACK, HG_VERDICT_UNDECIDED},
		{4, HG_TCP_SYN, HG_VERDICT_DROP},
		{4, HG_TCP_SYN | HG_TCP_ACK, HG_VERDICT_UNDECIDED},
		{5, 0, HG_VERDICT_DROP},
		{5, HG_TCP_FIN, HG_VERDICT_UNDECIDED},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		struct sim s;
		sim_init(&s, v.e, 6, "93.184.216.34", cases[i].port);
		cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, cases[i].flags, NULL), cases[i].want, "case %zu", i);
	}
	/* tcp.flags matches TCP only (a UDP packet has no flags). */
	struct sim u;
	sim_init(&u, v.e, 17, "93.184.216.34", 4);
	cr_expect_eq(pkt(&u, HG_DIR_TO_SERVER, 0, "x"), HG_VERDICT_UNDECIDED);
	env_free(&v);
}

/* Suricata rules/payload-keywords, dsize: "dsize:min<>max" is exclusive;
 * <, >, ! compare with the payload size of the packet. */
Test(packet_keywords, dsize_forms)
{
	struct env v;
	load_ok(&v, "drop udp any any -> any 1 (flow:to_server; dsize:3; sid:1;)\n"
		    "drop udp any any -> any 2 (flow:to_server; dsize:<3; sid:2;)\n"
		    "drop udp any any -> any 3 (flow:to_server; dsize:>3; sid:3;)\n"
		    "drop udp any any -> any 4 (flow:to_server; dsize:!3; sid:4;)\n"
		    "drop udp any any -> any 5 (flow:to_server; dsize:2<>5; sid:5;)\n");
	static const struct {
		uint16_t port;
		const char *pl;
		enum hg_verdict want;
	} cases[] = {
		{1, "abc", HG_VERDICT_DROP}, {1, "ab", HG_VERDICT_UNDECIDED},
		{2, "ab", HG_VERDICT_DROP},  {2, "abc", HG_VERDICT_UNDECIDED},
		{3, "abcd", HG_VERDICT_DROP}, {3, "abc", HG_VERDICT_UNDECIDED},
		{4, "ab", HG_VERDICT_DROP},  {4, "abc", HG_VERDICT_UNDECIDED},
		{5, "abc", HG_VERDICT_DROP}, {5, "abcd", HG_VERDICT_DROP},
		{5, "ab", HG_VERDICT_UNDECIDED}, {5, "abcde", HG_VERDICT_UNDECIDED},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		struct sim s;
		sim_init(&s, v.e, 17, "93.184.216.34", cases[i].port);
		cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, 0, cases[i].pl), cases[i].want, "case %zu", i);
	}
	env_free(&v);
}

/* ============================================== ja3 and ssl_version */

/* The ClientHellos of tests/tls_hellos.h (tls13.xargs.org, tls12.xargs.org,
 * nDPI's tls_ech.pcapng with GREASE), with the JA3 that Wireshark's TLS
 * dissector (tshark -e tls.handshake.ja3_full -e tls.handshake.ja3, an
 * independent implementation of Salesforce's JA3) gives for the same bytes
 * written to a capture: GREASE left out, decimal, '-' and ','. The client
 * version is Suricata's (app-layer-ssl.c: the first valid
 * supported_versions entry, GREASE skipped, else legacy_version). */
static const struct {
	const char *name, *hex, *ja3, *md5;
	uint16_t version;
} ja3_vecs[] = {
	{"tls13.xargs.org",
	 hex_tls13,
	 "771,4866-4867-4865-255,0-11-10-35-22-23-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2",
	 "f146948b4a599d4d7ddf071b74696983", 0x0304},
	{"tls12.xargs.org",
	 hex_tls12,
	 "771,52392-52393-49199-49200-49195-49196-49171-49161-49172-49162-156-157-47-53-49170-10,"
	 "0-5-10-11-13-65281-18,29-23-24-25,0",
	 "36d715579d31b7f031149c4560b5914f", 0x0303},
	{"nDPI tls_ech.pcapng frame 4 (GREASE)",
	 hex_ech,
	 "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
	 "51-35-65281-45-27-10-23-5-18-43-13-16-0-65037-11-17513,29-23-24,0",
	 "6820f114cf3b0809ffdcb30cb277848a", 0x0304},
};

Test(ja3, matches_wireshark_on_real_hellos)
{
	static uint8_t buf[2048], scratch[TLS_SCRATCH_MAX];
	static char s[TLS_JA3_MAX];
	for (size_t i = 0; i < HG_ARRAY_LEN(ja3_vecs); i++) {
		size_t n = unhex(ja3_vecs[i].hex, buf, sizeof(buf));
		struct tls_hello h;
		cr_assert_eq(tls_client_hello_parse(buf, n, scratch, sizeof(scratch), &h), HG_PARSE_FOUND);
		size_t len = tls_ja3_string(&h, s, sizeof(s));
		cr_expect(len == strlen(ja3_vecs[i].ja3) && !memcmp(s, ja3_vecs[i].ja3, len), "%s: %.*s",
			  ja3_vecs[i].name, (int)len, s);
		char md5[33];
		tls_ja3_hash(s, len, md5);
		cr_expect_str_eq(md5, ja3_vecs[i].md5, "%s", ja3_vecs[i].name);
		cr_expect_eq(tls_client_version(&h), ja3_vecs[i].version, "%s", ja3_vecs[i].name);
		/* A short buffer gets a prefix and the full length. */
		char small[10];
		cr_expect_eq(tls_ja3_string(&h, small, sizeof(small)), len);
		cr_expect(!memcmp(small, ja3_vecs[i].ja3, sizeof(small)));
	}
}

/* Raw IPv4/TCP frames through the inspector: the parsers fill the rule
 * buffers from real bytes. */
struct frame_flow {
	struct hg_inspector *ins;
	uint32_t seq;
	uint16_t dport;
	uint8_t dst[4];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static enum hg_verdict frame(struct frame_flow *f, bool to_server, uint8_t flags, const uint8_t *pl, size_t n)
{
	static uint8_t b[70000];
	static uint64_t ts = 1000000;
	size_t tot = 20 + 20 + n;
	memset(b, 0, 40);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)tot);
	b[8] = 64;
	b[9] = 6;
	uint8_t cli[4] = {10, 0, 0, 5};
	memcpy(b + 12, to_server ? cli : f->dst, 4);
	memcpy(b + 16, to_server ? f->dst : cli, 4);
	put16(b + 20, to_server ? 40000 : f->dport);
	put16(b + 22, to_server ? f->dport : 40000);
	put32(b + 24, to_server ? f->seq : 5000);
	put32(b + 28, to_server ? 5001 : f->seq);
	b[32] = 0x50;
	b[33] = flags;
	put16(b + 34, 65535);
	if (n)
		memcpy(b + 40, pl, n);
	if (to_server)
		f->seq += (uint32_t)n + ((flags & HG_TCP_SYN) ? 1 : 0);
	return hg_inspector_frame(f->ins, DLT_RAW, ts++, b, (uint32_t)tot, (uint32_t)tot, NULL);
}

static void frame_handshake(struct frame_flow *f)
{
	f->seq = 1000;
	frame(f, true, HG_TCP_SYN, NULL, 0);
	uint8_t b[1] = {0};
	(void)b;
	frame(f, false, HG_TCP_SYN | HG_TCP_ACK, NULL, 0);
	frame(f, true, HG_TCP_ACK, NULL, 0);
}

static struct hg_inspector *inspector(const struct hg_engine *e)
{
	struct hg_inspect_config c;
	hg_inspect_config_defaults(&c);
	struct hg_inspector *ins = hg_inspector_new(e, &c, NULL);
	cr_assert(ins);
	return ins;
}

static uint32_t alert_sids[16];
static size_t n_alert_sids;

static void on_alert_sid(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	(void)ud;
	(void)ev;
	if (n_alert_sids < HG_ARRAY_LEN(alert_sids))
		alert_sids[n_alert_sids++] = a->sid;
}

/* Through the inspector (replay's and the live daemon's path): a drop rule
 * whose pcre hits the match limit must not let the flow pass. Whatever the
 * rule (drop, or an alert whose pcre could not say), the flow is dropped
 * with hostgate's match-error alert (sid 9900009, as the stream-depth
 * decision is 9900008) and counted. */
Test(pcre, match_limit_drops_the_flow_with_an_alert)
{
	static const char *const rules[] = {
		"drop tcp any any -> any 9000 (flow:to_server; content:\"a\"; pcre:\"/(a+)+$/\"; sid:1;)\n",
		"alert tcp any any -> any 9000 (flow:to_server; content:\"a\"; pcre:\"/(a+)+$/\"; sid:1;)\n",
	};
	char hostile[600];
	memset(hostile, 'a', sizeof(hostile) - 1);
	hostile[sizeof(hostile) - 2] = '!';
	hostile[sizeof(hostile) - 1] = 0;
	for (size_t k = 0; k < HG_ARRAY_LEN(rules); k++) {
		struct env v;
		load_ok(&v, rules[k]);
		struct hg_inspect_config c;
		hg_inspect_config_defaults(&c);
		struct hg_inspect_callbacks cb = {.alert = on_alert_sid};
		struct hg_inspector *ins = hg_inspector_new(v.e, &c, &cb);
		cr_assert(ins);
		n_alert_sids = 0;
		struct frame_flow f = {.ins = ins, .dport = 9000, .dst = {93, 184, 216, 34}};
		frame_handshake(&f);
		cr_expect_eq(frame(&f, true, HG_TCP_ACK | HG_TCP_PSH, (const uint8_t *)hostile, strlen(hostile)),
			     HG_VERDICT_DROP, "rule %zu", k);
		/* later packets of the flow: dropped without another search */
		cr_expect_eq(frame(&f, true, HG_TCP_ACK | HG_TCP_PSH, (const uint8_t *)"aaaa", 4), HG_VERDICT_DROP);
		cr_expect_eq(n_alert_sids, 1, "rule %zu: %zu alerts", k, n_alert_sids);
		cr_expect_eq(alert_sids[0], 9900009u, "rule %zu: sid %u", k, alert_sids[0]);
		struct hg_inspect_stats st;
		hg_inspector_stats(ins, &st);
		cr_expect_eq(st.match_errors, 1);
		hg_inspector_free(ins);
		env_free(&v);
	}
}

/* Each hello of ja3_vecs through the inspector (real bytes: the TLS
 * parser fills the buffers); the verdict of each. */
static void hellos_through(const struct hg_engine *e, const enum hg_verdict want[3])
{
	for (size_t i = 0; i < HG_ARRAY_LEN(ja3_vecs); i++) {
		struct frame_flow f = {.ins = inspector(e), .dport = 443, .dst = {93, 184, 216, 34}};
		frame_handshake(&f);
		static uint8_t buf[2048];
		size_t n = unhex(ja3_vecs[i].hex, buf, sizeof(buf));
		cr_expect_eq(frame(&f, true, HG_TCP_ACK | HG_TCP_PSH, buf, n), want[i], "%s", ja3_vecs[i].name);
		hg_inspector_free(f.ins);
	}
}

/* ANFW suricata-examples "JA3 hash": "pass tls $HOME_NET any ->
 * $EXTERNAL_NET any (msg:\"Only allow Curl 7.79.1 JA3\"; ja3.hash;
 * content:\"27e9c7cc45ae47dc50f51400db8a4099\"; sid:12820009;)". Suricata
 * rules/ja-keywords: ja3.hash is the MD5, ja3.string the string, both
 * sticky buffers. */
Test(ja3, rules_on_real_hellos_through_the_inspector)
{
	struct env v;
	load_ok(&v, "drop tls $HOME_NET any -> $EXTERNAL_NET any (ja3.hash; content:\"36d715579d31b7f031149c4560b5914f\"; "
		    "sid:1;)\n");
	cr_assert(!hg_engine_uses_buffer(v.e, HG_BUF_JA3_STRING));
	hellos_through(v.e, (const enum hg_verdict[]){HG_VERDICT_UNDECIDED, HG_VERDICT_DROP, HG_VERDICT_UNDECIDED});
	env_free(&v);

	load_ok(&v, "drop tls $HOME_NET any -> $EXTERNAL_NET any (ja3.string; content:\"771,4866-4867-4865-255,\"; "
		    "startswith; content:\",0-1-2\"; endswith; sid:2;)\n");
	cr_assert(hg_engine_uses_buffer(v.e, HG_BUF_JA3_STRING));
	hellos_through(v.e, (const enum hg_verdict[]){HG_VERDICT_DROP, HG_VERDICT_UNDECIDED, HG_VERDICT_UNDECIDED});
	env_free(&v);

	/* The DG's allowlist shape: pass one fingerprint, drop the rest of TLS. */
	load_ok(&v, "pass tls $HOME_NET any -> $EXTERNAL_NET any (ja3.hash; content:\"6820f114cf3b0809ffdcb30cb277848a\"; "
		    "sid:3;)\n"
		    "drop tls $HOME_NET any -> $EXTERNAL_NET any (flow:to_server; sid:4;)\n");
	hellos_through(v.e, (const enum hg_verdict[]){HG_VERDICT_DROP, HG_VERDICT_DROP, HG_VERDICT_PASS});
	env_free(&v);

	/* ssl_version from the real hellos: TLS 1.3 by supported_versions
	 * (GREASE first in the ECH hello), TLS 1.2 by legacy_version. */
	load_ok(&v, "drop tls $HOME_NET any -> $EXTERNAL_NET any (flow:to_server; ssl_version:tls1.2; sid:5;)\n");
	hellos_through(v.e, (const enum hg_verdict[]){HG_VERDICT_UNDECIDED, HG_VERDICT_DROP, HG_VERDICT_UNDECIDED});
	env_free(&v);
}

/* Suricata rules/tls-keywords, ssl_version: "ssl_version:tls1.3" matches
 * the version the client announces (its supported_versions, else the
 * hello's version); one '!' negates the list. */
Test(ssl_version, client_version_of_the_hello)
{
	struct env v;
	load_ok(&v, "drop tls any any -> any any (flow:to_server; ssl_version:tls1.0,tls1.1; sid:1;)\n"
		    "alert tls any any -> any any (flow:to_server; ssl_version:!tls1.3; sid:2;)\n");
	static const struct {
		uint16_t ver;
		enum hg_verdict want;
	} cases[] = {
		{0x0301, HG_VERDICT_DROP}, {0x0302, HG_VERDICT_DROP},
		{0x0303, HG_VERDICT_UNDECIDED}, {0x0304, HG_VERDICT_UNDECIDED},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		struct sim s;
		sim_init(&s, v.e, 6, "93.184.216.34", 443);
		handshake(&s);
		s.app.proto = HG_APP_TLS;
		s.app.ssl_state = HG_SSL_CLIENT_HELLO;
		s.app.tls_version = cases[i].ver;
		cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_ACK, "\x16\x03\x01"), cases[i].want, "case %zu", i);
	}
	env_free(&v);
}

/* =================================================== HTTP buffers */

/* Suricata rules/http-keywords: http.request_header is a multi-buffer of
 * "Name: value" per header, so contents must hold within one header;
 * http.uri, http.method and http.user_agent are the request's. The buffers
 * are filled by the real parser from a request whose URI and User-Agent
 * are longer than any fixed field: they must not be cut. */
Test(http_buffers, request_header_uri_method_user_agent)
{
	struct env v;
	load_ok(&v, "drop http any any -> any any (flow:to_server; http.request_header; content:\"X-Token|3a 20|\"; "
		    "startswith; content:\"deadbeef\"; endswith; sid:1;)\n"
		    "drop http any any -> any any (flow:to_server; http.uri; content:\"/evil\"; endswith; sid:2;)\n"
		    "drop http any any -> any any (flow:to_server; http.user_agent; content:\"sqlmap\"; endswith; "
		    "sid:3;)\n"
		    "drop http any any -> any any (flow:to_server; http.method; content:\"DELETE\"; sid:4;)\n");
	char longpath[700], longua[400];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "/x", 2);
	longpath[sizeof(longpath) - 1] = 0;
	memset(longua, 'M', sizeof(longua));
	longua[sizeof(longua) - 1] = 0;
	/* pre, the long path or user agent (fill), post */
	static const struct {
		const char *pre, *post;
		int fill; /* 0 none, 1 path, 2 user agent */
		enum hg_verdict want;
	} cases[] = {
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Token: deadbeef\r\n\r\n", "", 0, HG_VERDICT_DROP},
		/* token and value in two headers: one header must hold both */
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Token: x\r\nX-Other: deadbeef\r\n\r\n", "", 0, HG_VERDICT_UNDECIDED},
		{"GET ", "/evil HTTP/1.1\r\nHost: a\r\n\r\n", 1, HG_VERDICT_DROP},
		{"GET ", "/good HTTP/1.1\r\nHost: a\r\n\r\n", 1, HG_VERDICT_UNDECIDED},
		{"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: ", " sqlmap\r\n\r\n", 2, HG_VERDICT_DROP},
		{"DELETE /r HTTP/1.1\r\nHost: a\r\n\r\n", "", 0, HG_VERDICT_DROP},
		{"GET /r HTTP/1.1\r\nHost: a\r\n\r\n", "", 0, HG_VERDICT_UNDECIDED},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		char req[2048];
		snprintf(req, sizeof(req), "%s%s%s", cases[i].pre,
			 cases[i].fill == 1 ? longpath : cases[i].fill == 2 ? longua : "", cases[i].post);
		struct frame_flow f = {.ins = inspector(v.e), .dport = 80, .dst = {93, 184, 216, 34}};
		frame_handshake(&f);
		enum hg_verdict got = frame(&f, true, HG_TCP_ACK | HG_TCP_PSH, (const uint8_t *)req, strlen(req));
		/* Undecided flows end as pass; only the drops decide here. */
		cr_expect_eq(got, cases[i].want, "case %zu", i);
		hg_inspector_free(f.ins);
	}
	env_free(&v);
}

/* ======================================== @NAME IP set references */

static char *tmpfile_with(const char *text)
{
	char *path = strdup("/tmp/hg-kw-refset-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* ANFW suricata-examples: IP set references (ReferenceSets.IPSetReferences)
 * are used as @NAME in rules; the CIDRs come from --reference-set. */
Test(refset, resolves_and_matches)
{
	char *path = tmpfile_with("# blocked prefix list\n203.0.113.0/24\n\n  198.51.100.7  \n2001:db8:bad::/48\n");
	struct hg_param ref = {"BADNETS", path};
	struct env v;
	load(&v, "drop ip $HOME_NET any -> @BADNETS any (sid:1;)\n", &ref, 1, NULL);
	cr_assert(v.ok);
	struct sim s;
	sim_init(&s, v.e, 6, "203.0.113.77", 443);
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_SYN, NULL), HG_VERDICT_DROP);
	sim_init(&s, v.e, 6, "198.51.100.7", 443);
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_SYN, NULL), HG_VERDICT_DROP);
	sim_init(&s, v.e, 6, "198.51.100.8", 443);
	cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_SYN, NULL), HG_VERDICT_UNDECIDED);
	env_free(&v);
	unlink(path);
	free(path);
}

Test(refset, missing_and_bad_files_are_located_errors)
{
	struct env v;
	load(&v, "drop ip $HOME_NET any -> @BADNETS any (sid:1;)\n", NULL, 0, NULL);
	cr_expect(!v.ok);
	cr_expect(has_error(&v, 1, 26, "pass --reference-set BADNETS=FILE"));
	env_free(&v);

	char *path = tmpfile_with("10.0.0.0/8\n300.1.2.3\n");
	struct hg_param ref = {"BADNETS", path};
	load(&v, "drop ip $HOME_NET any -> @BADNETS any (sid:1;)\n", &ref, 1, NULL);
	cr_expect(!v.ok);
	bool found = false;
	for (size_t i = 0; i < v.d.recs.n; i++)
		found |= v.d.recs.v[i].loc.file && !strcmp(v.d.recs.v[i].loc.file, path) &&
			 v.d.recs.v[i].loc.line == 2 && v.d.recs.v[i].loc.col == 1 &&
			 strstr(v.d.recs.v[i].msg, "invalid CIDR '300.1.2.3'");
	cr_expect(found, "no error at %s:2:1", path);
	env_free(&v);
	unlink(path);
	free(path);
}

/* ================================================================ geoip */

/* Countries from MaxMind's source-data/GeoLite2-Country-Test.json (the
 * source of tests/data/geoip/GeoLite2-Country-Test.mmdb):
 *   81.2.69.160/27 GB, 2.125.160.216/29 GB, 89.160.20.128/25 SE,
 *   216.160.83.56/29 US, 2a02:d3c0::/29 GB, 2a02:d040::/29 SE,
 *   2a02:d500::/29 (no country), 1.1.1.1 (absent). */
static const struct {
	const char *addr, *cc;
} geo_addrs[] = {
	{"81.2.69.160", "GB"},	{"2.125.160.217", "GB"}, {"89.160.20.200", "SE"}, {"216.160.83.57", "US"},
	{"2a02:d3c0::1", "GB"}, {"2a02:d040::7", "SE"},  {"2a02:d500::1", NULL},  {"1.1.1.1", NULL},
};

/* libmaxminddb's own lookup and the walked ranges agree with the JSON. */
Test(geoip, database_walk_matches_lookups)
{
	char err[256];
	struct hg_geoip_db *db = hg_geoip_db_open(geoip_db(), err, sizeof(err));
	cr_assert(db, "%s", err);
	cr_assert_gt(hg_geoip_db_networks(db), 100);
	for (size_t i = 0; i < HG_ARRAY_LEN(geo_addrs); i++) {
		struct hg_ip a = ip(geo_addrs[i].addr);
		char cc[3];
		bool has = hg_geoip_db_lookup(db, &a, cc);
		cr_expect_eq(has, geo_addrs[i].cc != NULL, "%s", geo_addrs[i].addr);
		if (has && geo_addrs[i].cc)
			cr_expect_str_eq(cc, geo_addrs[i].cc, "%s", geo_addrs[i].addr);
		static const char want[1][3] = {"GB"};
		struct hg_ipset gb = {0};
		hg_geoip_db_set(db, want, 1, false, &gb);
		cr_expect_eq(hg_ipset_contains(&gb, &a), geo_addrs[i].cc && !strcmp(geo_addrs[i].cc, "GB"), "%s",
			     geo_addrs[i].addr);
		/* Negated: every address with a country that is not GB; an
		 * address without a country never (Suricata detect-geoip.c). */
		hg_geoip_db_set(db, want, 1, true, &gb);
		cr_expect_eq(hg_ipset_contains(&gb, &a), geo_addrs[i].cc && strcmp(geo_addrs[i].cc, "GB"), "%s",
			     geo_addrs[i].addr);
		hg_ipset_free(&gb);
	}
	hg_geoip_db_close(db);
	cr_expect_null(hg_geoip_db_open("/nonexistent/x.mmdb", err, sizeof(err)));
}

/* ANFW rule-groups-geo-ip-filtering: "geoip:dst,CN,US" style filters on
 * src/dst, both (AND) or any (OR), IPv4 and IPv6 ("an expansion of the
 * support provided by Suricata"). Suricata rules/header-keywords geoip:
 * "!" negates. */
Test(geoip, src_dst_both_any_negated)
{
	struct env v;
	load(&v, "drop ip any any -> any 1 (geoip:dst,GB; sid:1;)\n"
		 "drop ip any any -> any 2 (geoip:src,SE; sid:2;)\n"
		 "drop ip any any -> any 3 (geoip:both,GB,SE; sid:3;)\n"
		 "drop ip any any -> any 4 (geoip:any,US; sid:4;)\n"
		 "drop ip any any -> any 5 (geoip:dst,!GB; sid:5;)\n",
	     NULL, 0, geoip_db());
	if (!v.ok)
		hg_diag_print(&v.d, stderr);
	cr_assert(v.ok);
	static const struct {
		uint16_t port;
		const char *src, *dst;
		enum hg_verdict want;
	} cases[] = {
		{1, "10.0.0.5", "81.2.69.160", HG_VERDICT_DROP},
		{1, "10.0.0.5", "2a02:d3c0::1", HG_VERDICT_DROP}, /* IPv6 (ANFW) */
		{1, "10.0.0.5", "89.160.20.200", HG_VERDICT_UNDECIDED},
		{2, "89.160.20.200", "1.1.1.1", HG_VERDICT_DROP},
		{2, "1.1.1.1", "89.160.20.200", HG_VERDICT_UNDECIDED},
		{3, "89.160.20.200", "81.2.69.160", HG_VERDICT_DROP},
		{3, "10.0.0.5", "81.2.69.160", HG_VERDICT_UNDECIDED},
		{4, "216.160.83.57", "1.1.1.1", HG_VERDICT_DROP},
		{4, "1.1.1.1", "216.160.83.57", HG_VERDICT_DROP},
		{4, "1.1.1.1", "81.2.69.160", HG_VERDICT_UNDECIDED},
		{5, "10.0.0.5", "89.160.20.200", HG_VERDICT_DROP},
		{5, "10.0.0.5", "81.2.69.160", HG_VERDICT_UNDECIDED},
		{5, "10.0.0.5", "1.1.1.1", HG_VERDICT_UNDECIDED}, /* no country: no match */
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(cases); i++) {
		struct sim s;
		sim_init(&s, v.e, 6, cases[i].dst, cases[i].port);
		s.cli = ip(cases[i].src);
		if (hg_ip_is_v4(&s.cli) != hg_ip_is_v4(&s.srv))
			s.cli = ip(hg_ip_is_v4(&s.srv) ? "10.0.0.5" : "fd00::5");
		cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, HG_TCP_SYN, NULL), cases[i].want, "case %zu", i);
	}
	env_free(&v);
}

Test(geoip, without_a_database_is_an_error)
{
	struct env v;
	load(&v, "drop ip any any -> any any (msg:\"x\"; geoip:dst,RU; sid:1;)\n", NULL, 0, NULL);
	cr_expect(!v.ok);
	cr_expect(has_error(&v, 1, 38, "pass --geoip-db FILE"));
	env_free(&v);
	load(&v, "drop ip any any -> any any (geoip:dst,RU; sid:1;)\n", NULL, 0, "/nonexistent.mmdb");
	cr_expect(!v.ok);
	cr_expect(has_error(&v, 1, 29, "cannot read the GeoIP database"));
	env_free(&v);
}

/* pcre on dns.query (ANFW suricata-limitations-caveats allows it there
 * without a content): a multi-buffer, so one of the request's names must
 * match (Suricata 7 multi-buffer matching). A long random-looking label,
 * the usual DNS-tunnel rule. */
Test(pcre, on_dns_query_names)
{
	struct env v;
	load_ok(&v, "drop dns $HOME_NET any -> any any (dns.query; pcre:\"/^[a-z0-9]{24,}\\./i\"; sid:1;)\n");
	static const struct hg_slice names[2][2] = {
		{{(const uint8_t *)"www.example.com", 15}, {(const uint8_t *)"mail.example.com", 16}},
		{{(const uint8_t *)"www.example.com", 15},
		 {(const uint8_t *)"a9f3k2m8q7z1x4c6v5b0n2l8.t.example", 34}},
	};
	static const enum hg_verdict want[2] = {HG_VERDICT_UNDECIDED, HG_VERDICT_DROP};
	for (size_t i = 0; i < 2; i++) {
		struct sim s;
		sim_init(&s, v.e, 17, "192.0.2.53", 53);
		s.app.proto = HG_APP_DNS;
		s.app.dns_query = names[i][0];
		s.app.dns_queries = names[i];
		s.app.n_dns_queries = 2;
		cr_expect_eq(pkt(&s, HG_DIR_TO_SERVER, 0, "dns-query-bytes"), want[i], "case %zu", i);
	}
	env_free(&v);
}

/* suricata-verify quic-v2-ja3 (corpus, when ../shared is there): its rule
 * on the QUIC v2 client's ja3.string alerts once, and its test.yaml's
 * ja3.hash of a hash nobody has never alerts (the same expectations as the
 * test's own checks). Suricata rules/ja-keywords: JA3 fingerprints "TLS
 * and QUIC clients". */
Test(ja3, quic_suricata_verify_corpus)
{
	const char *shared = getenv("HG_SHARED"), *bin = getenv("HG_BIN");
	char pcap[4096], rules[] = "/tmp/hg-kw-quic-XXXXXX", alerts[64];
	snprintf(pcap, sizeof(pcap), "%s/corpus/pcaps/suricata-verify/quic-v2-ja3/input.pcap", shared ? shared : "");
	if (!shared || access(pcap, R_OK) || !bin)
		cr_skip_test("HG_SHARED corpus not present");
	int fd = mkstemp(rules);
	cr_assert(fd >= 0);
	static const char text[] =
		"alert quic any any -> any any (msg:\"QUIC JA3\"; ja3.string; "
		"content:\"771,4865-4866-4867,5-10-11-13-65281-23-16-18-43-51-57,29-23-24-25,0\"; sid:3;)\n"
		"alert quic any any -> any any (msg:\"QUIC JA3 HASH\"; ja3.hash; "
		"content:\"deadbeefdeadbeefdeadbeefdeadbeef\"; sid:5;)\n";
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	char renamed[80];
	snprintf(renamed, sizeof(renamed), "%s.rules", rules);
	cr_assert_eq(rename(rules, renamed), 0);
	snprintf(alerts, sizeof(alerts), "/tmp/hg-kw-quic-%d.alerts", (int)getpid());
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "'%s' replay '%s' '%s' --alert-log '%s' >/dev/null", bin, renamed, pcap, alerts);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	FILE *f = fopen(alerts, "r");
	cr_assert(f);
	char line[8192];
	int sid3 = 0, sid5 = 0;
	while (fgets(line, sizeof(line), f)) {
		sid3 += strstr(line, "\"signature_id\":3,") != NULL;
		sid5 += strstr(line, "\"signature_id\":5,") != NULL;
	}
	fclose(f);
	unlink(alerts);
	unlink(renamed);
	cr_expect_eq(sid3, 1);
	cr_expect_eq(sid5, 0);
}

/* nDPI's ja3_lots_of_cipher_suites capture (corpus): a hello with a long
 * cipher list (its _2_anon twin is GTP-U tunnelled, which hostgate does not
 * decapsulate). The expected JA3 hash is Wireshark's (tshark -e
 * tls.handshake.ja3, run here); a ja3.hash rule on it must alert once. */
Test(ja3, long_hellos_against_tshark_corpus)
{
	const char *shared = getenv("HG_SHARED"), *bin = getenv("HG_BIN");
	static const char *const caps[] = {"ja3_lots_of_cipher_suites.pcap"};
	char probe[4096];
	snprintf(probe, sizeof(probe), "%s/corpus/pcaps/ndpi/%s", shared ? shared : "", caps[0]);
	if (!shared || access(probe, R_OK) || !bin || system("command -v tshark >/dev/null 2>&1"))
		cr_skip_test("HG_SHARED corpus or tshark not present");
	for (size_t i = 0; i < HG_ARRAY_LEN(caps); i++) {
		char pcap[4096], cmd[8192], hash[64] = "";
		snprintf(pcap, sizeof(pcap), "%s/corpus/pcaps/ndpi/%s", shared, caps[i]);
		snprintf(cmd, sizeof(cmd),
			 "tshark -r '%s' -Y tls.handshake.type==1 -T fields -e tls.handshake.ja3 2>/dev/null | head -1",
			 pcap);
		FILE *p = popen(cmd, "r");
		cr_assert(p && fgets(hash, sizeof(hash), p));
		pclose(p);
		hash[strcspn(hash, "\n")] = 0;
		cr_assert_eq(strlen(hash), 32, "tshark gave '%s'", hash);
		char rules[128], alerts[128];
		snprintf(rules, sizeof(rules), "/tmp/hg-kw-ja3-%d.rules", (int)getpid());
		snprintf(alerts, sizeof(alerts), "/tmp/hg-kw-ja3-%d.alerts", (int)getpid());
		FILE *f = fopen(rules, "w");
		fprintf(f, "alert tls any any -> any any (msg:\"ja3\"; ja3.hash; content:\"%s\"; sid:7;)\n", hash);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "'%s' replay '%s' '%s' --alert-log '%s' >/dev/null", bin, rules, pcap, alerts);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
		f = fopen(alerts, "r");
		cr_assert(f);
		char line[8192];
		int n = 0;
		while (fgets(line, sizeof(line), f))
			n += strstr(line, "\"signature_id\":7,") != NULL;
		fclose(f);
		unlink(rules);
		unlink(alerts);
		cr_expect_eq(n, 1, "%s: ja3 %s alerted %d times", caps[i], hash, n);
	}
}

/* http.uri is libhtp's normalised URI with Suricata's settings (Suricata
 * app-layer-htp.c: the IDS personality, path lower-casing turned off;
 * libhtp's IDS personality decodes %XX including separators and %uHHHH,
 * takes '\' for '/', compresses '/' runs; htp_normalize_uri_path_inplace
 * is RFC 3986 §5.2.4 remove_dot_segments; uri-include-all off keeps only
 * the path and query of an absolute URI). http.uri.raw is as sent. */
Test(http_buffers, uri_normalisation)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"/a/b/../c", "/a/c"},         {"/%61dmin", "/admin"},
		{"/x//y///z", "/x/y/z"},       {"\\admin\\x", "/admin/x"},
		{"/a/./b/.", "/a/b/"},         {"/a%2F..%2Fadmin", "/admin"},
		{"http://example.com/p?q=%41", "/p?q=%41"},
		{"/p?a=1#frag", "/p?a=1"},     {"/%zz%4", "/%zz%4"},
		{"/%u0061dmin", "/admin"},     {"/../../etc/passwd", "/etc/passwd"},
		{"*", "*"},                    {"/mid/content=5/../6", "/mid/6"}, /* RFC 3986 §5.2.4 */
		{"/a/b/c/./../../g", "/a/g"},  /* RFC 3986 §5.2.4's example */
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(v); i++) {
		uint8_t out[128];
		size_t n = http_uri_normalise((const uint8_t *)v[i].in, strlen(v[i].in), out);
		cr_expect(n == strlen(v[i].out) && !memcmp(out, v[i].out, n), "%s -> %.*s, want %s", v[i].in, (int)n,
			  out, v[i].out);
	}

	/* Through the inspector: the encoded request is caught by http.uri,
	 * and http.uri.raw still sees what was sent. */
	struct env e;
	load_ok(&e, "drop http any any -> any any (flow:to_server; http.uri; content:\"/admin/\"; startswith; sid:1;)\n"
		    "drop http any any -> any any (flow:to_server; http.uri.raw; content:\"%2e%2e\"; nocase; sid:2;)\n");
	static const struct {
		const char *req;
		enum hg_verdict want;
	} c[] = {
		{"GET /%61dmin/x HTTP/1.1\r\nHost: a\r\n\r\n", HG_VERDICT_DROP},
		{"GET /pub/..//admin/x HTTP/1.1\r\nHost: a\r\n\r\n", HG_VERDICT_DROP},
		{"GET /pub/%2E%2E/x HTTP/1.1\r\nHost: a\r\n\r\n", HG_VERDICT_DROP},
		{"GET /pub/admin/x HTTP/1.1\r\nHost: a\r\n\r\n", HG_VERDICT_UNDECIDED},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(c); i++) {
		struct frame_flow f = {.ins = inspector(e.e), .dport = 80, .dst = {93, 184, 216, 34}};
		frame_handshake(&f);
		cr_expect_eq(frame(&f, true, HG_TCP_ACK | HG_TCP_PSH, (const uint8_t *)c[i].req, strlen(c[i].req)),
			     c[i].want, "case %zu", i);
		hg_inspector_free(f.ins);
	}
	env_free(&e);
}
