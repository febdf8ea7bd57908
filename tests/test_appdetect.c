/* test_appdetect.c - app-layer protocol detection end to end: real captures
 * (tests/data/appproto/, copied from the public corpus) through the
 * inspector and the engine as replay runs them, with the server port moved
 * to show that detection is by content, not port; and rules on the
 * detected protocols decided as ANFW documents them. */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/inspect.h"
#include "load_text.h"

/* ------------------------------------------------------------ harness */

struct flowres {
	enum hg_app_proto app;
	char name[300]; /* dns.query, SNI or Host: what the flow is known by */
	enum hg_verdict verdict;
	uint16_t sport; /* server port */
	unsigned alerts;
};

struct results {
	struct flowres f[64];
	size_t n;
};

static void on_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	(void)why;
	struct results *r = ud;
	if (r->n == sizeof(r->f) / sizeof(r->f[0]))
		return;
	struct flowres *x = &r->f[r->n++];
	const struct hg_eng_app *a = &ev->iflow->app;
	x->app = a->proto;
	struct hg_slice s = a->dns_query.p ? a->dns_query : a->tls_sni.p ? a->tls_sni : a->http_host;
	snprintf(x->name, sizeof(x->name), "%.*s", (int)s.len, s.p ? (const char *)s.p : "");
	x->verdict = hg_iflow_verdict(ev->iflow);
	x->sport = ev->flow->sport;
	x->alerts = ev->iflow->n_alerts;
}

/* Replays a capture of tests/data/appproto/ under rules; packets to or
 * from port `from` are rewritten to port `to` (0: unchanged). */
static void replay(const char *rules_path, const char *rules, const char *pcap_name, uint16_t from, uint16_t to,
		   struct results *out)
{
	char path[1024], err[PCAP_ERRBUF_SIZE];
	const char *src = getenv("HG_SRCDIR");
	snprintf(path, sizeof(path), "%s/tests/data/appproto/%s", src ? src : ".", pcap_name);
	struct hg_ruleset *rs = load_text(rules_path, rules ? rules : "alert ip any any -> 192.0.2.255 any (sid:99;)\n");
	struct hg_engine *e = hg_engine_new(rs);
	cr_assert_not_null(e);
	struct hg_inspect_config cfg;
	hg_inspect_config_defaults(&cfg);
	memset(out, 0, sizeof(*out));
	struct hg_inspect_callbacks cb = {.flow_end = on_end, .ud = out};
	struct hg_inspector *ins = hg_inspector_new(e, &cfg, &cb);
	cr_assert_not_null(ins);
	pcap_t *pc = pcap_open_offline(path, err);
	cr_assert_not_null(pc, "%s: %s", path, err);
	struct pcap_pkthdr *h;
	const u_char *data;
	static uint8_t frame[65536];
	struct hg_decode_stats ds = {0};
	while (pcap_next_ex(pc, &h, &data) == 1) {
		uint32_t n = h->caplen < sizeof(frame) ? h->caplen : (uint32_t)sizeof(frame);
		memcpy(frame, data, n);
		struct hg_packet p;
		if (from && hg_decode(&ds, pcap_datalink(pc), 0, frame, n, h->len, &p) && p.l4 &&
		    (p.ip_proto == 6 || p.ip_proto == 17)) {
			uint8_t *l4 = (uint8_t *)(uintptr_t)p.l4;
			for (int k = 0; k < 2; k++)
				if ((uint16_t)(l4[2 * k] << 8 | l4[2 * k + 1]) == from) {
					l4[2 * k] = (uint8_t)(to >> 8);
					l4[2 * k + 1] = (uint8_t)to;
				}
		}
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		hg_inspector_frame(ins, pcap_datalink(pc), ts, frame, n, h->len, NULL);
	}
	pcap_close(pc);
	hg_inspector_free(ins); /* ends every flow: on_end for each */
	hg_engine_free(e);
	hg_ruleset_free(rs);
}

static const struct flowres *only_flow(const struct results *r)
{
	cr_assert_eq(r->n, 1, "flows: %zu", r->n);
	return &r->f[0];
}

/* --------------------------------------------------------------- DNS */

/* Detection by content: the same captures on their port, on another port,
 * and over TCP with the 2-byte length prefix (RFC 1035 §4.2.2). */
Test(appdetect, dns_udp_and_tcp_any_port)
{
	static const struct {
		const char *pcap;
		uint16_t port;
		const char *name;
	} t[] = {
		{"dns_udp.pcap", 53, "www.tcpdump.org"},
		{"dns_tcp.pcap", 53, "www.tcpdump.org"},
		{"edns-opts.pcap", 53, "example.com"},
	};
	static const uint16_t ports[] = {0, 5353, 40000};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
			struct results r;
			replay("x.rules", NULL, t[i].pcap, ports[k] ? t[i].port : 0, ports[k], &r);
			const struct flowres *f = only_flow(&r);
			cr_expect_eq(f->app, HG_APP_DNS, "%s port %u: %s", t[i].pcap, ports[k],
				     hg_app_proto_name(f->app));
			cr_expect_str_eq(f->name, t[i].name, "%s port %u", t[i].pcap, ports[k]);
			if (ports[k])
				cr_expect_eq(f->sport, ports[k]);
		}
}

/* The dns.query sticky buffer and its modifiers. Expected verdicts from
 * the documentation, not from hostgate:
 *  - Suricata 7 "DNS Keywords" (docs.suricata.io/en/suricata-7.0.8/rules/
 *    dns-keywords.html): dns.query is the query name, a sticky buffer that
 *    content and its modifiers apply to; names are as sent (no lower-casing
 *    by the engine: nocase does that).
 *  - Suricata 7 "Transformations", dotprefix: "alert dns any any -> any any
 *    (dns.query; dotprefix; content:\".microsoft.com\"; sid:1;)" matches
 *    windows.update.microsoft.com, not windows.update.fakemicrosoft.com.
 *  - ANFW (DG suricata-limitations-caveats) lists dns.query among the sticky
 *    buffers its rules use; a matching drop rule blocks the flow (API
 *    StatefulRule, Action DROP: "Blocks the packets"). */
Test(appdetect, dns_query_rules_decide)
{
	static const struct {
		const char *rule;
		enum hg_verdict want;
	} t[] = {
		{"drop dns any any -> any any (dns.query; content:\"www.tcpdump.org\"; sid:1;)", HG_VERDICT_DROP},
		{"drop dns any any -> any any (dns.query; content:\"WWW.TCPDUMP.ORG\"; sid:1;)", HG_VERDICT_PASS},
		{"drop dns any any -> any any (dns.query; content:\"WWW.TCPDUMP.ORG\"; nocase; sid:1;)",
		 HG_VERDICT_DROP},
		{"drop dns any any -> any any (dns.query; content:\"tcpdump.org\"; endswith; sid:1;)", HG_VERDICT_DROP},
		{"drop dns any any -> any any (dns.query; content:\"tcpdump\"; endswith; sid:1;)", HG_VERDICT_PASS},
		{"drop dns any any -> any any (dns.query; content:\"www.\"; startswith; sid:1;)", HG_VERDICT_DROP},
		{"drop dns any any -> any any (dns.query; dotprefix; content:\".tcpdump.org\"; endswith; sid:1;)",
		 HG_VERDICT_DROP},
		{"drop dns any any -> any any (dns.query; dotprefix; content:\".dump.org\"; endswith; sid:1;)",
		 HG_VERDICT_PASS},
		/* the trailing root dot is not part of the name */
		{"drop dns any any -> any any (dns.query; content:\"org.\"; endswith; sid:1;)", HG_VERDICT_PASS},
		/* the protocol alone, and app-layer-protocol: on an ip rule */
		{"drop dns any any -> any any (sid:1;)", HG_VERDICT_DROP},
		{"drop ip any any -> any any (app-layer-protocol:dns; sid:1;)", HG_VERDICT_DROP},
		{"drop ip any any -> any any (app-layer-protocol:!dns; sid:1;)", HG_VERDICT_PASS},
		/* a DNS rule does not match a TLS rule's protocol */
		{"drop tls any any -> any any (sid:1;)", HG_VERDICT_PASS},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (int tcp = 0; tcp < 2; tcp++) {
			struct results r;
			char text[512];
			snprintf(text, sizeof(text), "%s\n", t[i].rule);
			replay("x.rules", text, tcp ? "dns_tcp.pcap" : "dns_udp.pcap", 53, 8053, &r);
			const struct flowres *f = only_flow(&r);
			cr_expect_eq(f->verdict, t[i].want, "%s over %s: %s", t[i].rule, tcp ? "TCP" : "UDP",
				     hg_verdict_name(f->verdict));
		}
}

/* The same through a StatefulRules group (Protocol: DNS, API StatefulRule
 * Header.Protocol enum) with the rule options AWS documents as Keyword /
 * Settings pairs. */
Test(appdetect, stateful_rule_protocol_dns)
{
	static const char yaml[] =
		"RuleGroup:\n"
		"  RulesSource:\n"
		"    StatefulRules:\n"
		"      - Action: DROP\n"
		"        Header: {Protocol: DNS, Source: ANY, SourcePort: ANY, Direction: FORWARD,\n"
		"                 Destination: ANY, DestinationPort: ANY}\n"
		"        RuleOptions:\n"
		"          - {Keyword: msg, Settings: ['\"no tcpdump lookups\"']}\n"
		"          - {Keyword: dns.query}\n"
		"          - {Keyword: content, Settings: ['\"tcpdump.org\"']}\n"
		"          - {Keyword: nocase}\n"
		"          - {Keyword: endswith}\n"
		"          - {Keyword: sid, Settings: ['5']}\n"
		"Type: STATEFUL\n"
		"Capacity: 10\n"
		"RuleGroupName: dns\n";
	struct results r;
	replay("g.yaml", yaml, "dns_udp.pcap", 0, 0, &r);
	cr_assert_eq(only_flow(&r)->verdict, HG_VERDICT_DROP);
	cr_assert_eq(r.f[0].alerts, 1);
	replay("g.yaml", yaml, "edns-opts.pcap", 0, 0, &r);
	cr_assert_eq(only_flow(&r)->verdict, HG_VERDICT_PASS);
}

/* ------------------------------------------------- the other protocols */

static size_t count_app(const struct results *r, enum hg_app_proto a)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->f[i].app == a;
	return n;
}

/* Every protocol of ANFW's StatefulRule Protocol enum (API StatefulRule)
 * in a real capture, on its port and moved to another: the number of
 * flows of each is what tshark dissects in the capture (its flows that
 * start with the client's first message; TFTP's transfer flow, which
 * starts from the server's new port, RFC 1350 §4, is not one). */
Test(appdetect, every_protocol_by_content)
{
	static const struct {
		const char *pcap;
		uint16_t port;
		enum hg_app_proto app;
		size_t flows;
	} t[] = {
		{"ssh.pcap", 22, HG_APP_SSH, 1},
		{"smtp.pcap", 25, HG_APP_SMTP, 1},
		{"ftp.pcap", 21, HG_APP_FTP, 1},
		{"imap.pcap", 143, HG_APP_IMAP, 1},
		{"msn.pcap", 1863, HG_APP_MSN, 1},
		{"http2.pcap", 80, HG_APP_HTTP2, 1},
		{"smb-dcerpc.pcap", 445, HG_APP_SMB, 2},
		{"smb-dcerpc.pcap", 135, HG_APP_DCERPC, 2},
		{"dcerpc-udp.pcap", 34964, HG_APP_DCERPC, 4},
		{"krb5-tcp.pcap", 88, HG_APP_KRB5, 3},
		{"krb5-udp.pcap", 88, HG_APP_KRB5, 1},
		{"ntp.pcap", 123, HG_APP_NTP, 1},
		{"dhcp.pcapng", 67, HG_APP_DHCP, 2},
		{"tftp.pcap", 69, HG_APP_TFTP, 1},
		{"ikev2.pcap", 500, HG_APP_IKEV2, 1},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (int moved = 0; moved < 2; moved++) {
			struct results r;
			replay("x.rules", NULL, t[i].pcap, moved ? t[i].port : 0, moved ? 40123 : 0, &r);
			cr_expect_eq(count_app(&r, t[i].app), t[i].flows, "%s%s: %zu %s flows of %zu", t[i].pcap,
				     moved ? " (port moved)" : "", count_app(&r, t[i].app),
				     hg_app_proto_name(t[i].app), r.n);
		}
}

/* A rule on each protocol drops its flow and leaves the others alone
 * (API StatefulRule: "DROP - Blocks the packets"; the Header's Protocol
 * names the app-layer protocol, detected on any port as Suricata detects
 * it by content; DG suricata-examples uses app-layer-protocol: the same
 * way). */
Test(appdetect, protocol_rules_decide)
{
	static const struct {
		const char *pcap, *proto;
	} t[] = {
		{"ssh.pcap", "ssh"},       {"smtp.pcap", "smtp"},     {"ftp.pcap", "ftp"},
		{"imap.pcap", "imap"},     {"msn.pcap", "msn"},       {"http2.pcap", "http2"},
		{"krb5-udp.pcap", "krb5"}, {"ntp.pcap", "ntp"},       {"dhcp.pcapng", "dhcp"},
		{"ikev2.pcap", "ikev2"},   {"dcerpc-udp.pcap", "dcerpc"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char rules[256];
		struct results r;
		snprintf(rules, sizeof(rules), "drop %s any any -> any any (msg:\"no %s\"; sid:1;)\n", t[i].proto,
			 t[i].proto);
		replay("x.rules", rules, t[i].pcap, 0, 0, &r);
		for (size_t k = 0; k < r.n; k++)
			cr_expect_eq(r.f[k].verdict, HG_VERDICT_DROP, "%s: %s rule: %s", t[i].pcap, t[i].proto,
				     hg_verdict_name(r.f[k].verdict));
		/* another protocol's rule does not touch it */
		snprintf(rules, sizeof(rules), "drop %s any any -> any any (sid:1;)\n",
			 strcmp(t[i].proto, "ssh") ? "ssh" : "smtp");
		replay("x.rules", rules, t[i].pcap, 0, 0, &r);
		for (size_t k = 0; k < r.n; k++)
			cr_expect_eq(r.f[k].verdict, HG_VERDICT_PASS, "%s: other rule", t[i].pcap);
		/* app-layer-protocol: on an ip rule, negated too */
		snprintf(rules, sizeof(rules), "drop ip any any -> any any (app-layer-protocol:!%s; sid:1;)\n",
			 t[i].proto);
		replay("x.rules", rules, t[i].pcap, 0, 0, &r);
		for (size_t k = 0; k < r.n; k++)
			cr_expect_eq(r.f[k].verdict, HG_VERDICT_PASS, "%s: !%s", t[i].pcap, t[i].proto);
	}
}

/* zeek's methods.pcap (client side): request lines with odd, lower-case
 * and unknown methods, extra or missing parts, HTTP/0.9. Suricata's libhtp
 * takes each for an HTTP request; the Host header names www.google.com. */
Test(appdetect, lenient_http_request_lines)
{
	struct results r;
	replay("x.rules", NULL, "http-methods.pcap", 80, 8080, &r);
	cr_assert_eq(r.n, 49);
	for (size_t i = 0; i < r.n; i++) {
		cr_expect_eq(r.f[i].app, HG_APP_HTTP, "flow %zu: %s", i, hg_app_proto_name(r.f[i].app));
		cr_expect_str_eq(r.f[i].name, "www.google.com", "flow %zu", i);
	}
	/* and an HTTP_HOST deny list target applies to them (DG
	 * suricata-examples, domain filtering: "drop http ... http.host;
	 * content:\"www.google.com\"; startswith; endswith;") */
	replay("x.rules",
	       "drop http any any -> any any (http.host; content:\"www.google.com\"; startswith; endswith; sid:2;)\n",
	       "http-methods.pcap", 0, 0, &r);
	for (size_t i = 0; i < r.n; i++)
		cr_expect_eq(r.f[i].verdict, HG_VERDICT_DROP, "flow %zu", i);
}

/* The detectors on byte vectors: the first client bytes each protocol's
 * specification gives, and look-alikes that must not pass. */
Test(appdetect, first_bytes_tcp)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum hg_app_proto want; /* HG_APP_UNKNOWN: NOT_THIS */
	} t[] = {
		{"SSH-2.0-OpenSSH_9.6\r\n", 21, HG_APP_SSH},
		{"EHLO client.example\r\n", 21, HG_APP_SMTP},
		{"helo x\r\n", 8, HG_APP_SMTP},
		{"USER anonymous\r\n", 16, HG_APP_FTP},
		{"FEAT\r\n", 6, HG_APP_FTP},
		{"a001 CAPABILITY\r\n", 17, HG_APP_IMAP},
		{"1 login user pass\r\n", 19, HG_APP_IMAP},
		/* SMTP/POP3 SASL (RFC 4954, 5034), not an IMAP tag "AUTH" */
		{"AUTH LOGIN\r\n", 12, HG_APP_UNKNOWN},
		{"VER 1 MSNP8 CVR0\r\n", 18, HG_APP_MSN},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, HG_APP_HTTP2},
		{"\x00\x00\x00\x2f\xfeSMB@\x00", 10, HG_APP_SMB},
		{"\x00\x00\x00\x2f\xffSMBr\x00", 10, HG_APP_SMB},
		{"\x00\x00\x00\x2f\xfaSMBr\x00", 10, HG_APP_UNKNOWN},
		{"\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00\x01\x00\x00\x00", 16, HG_APP_DCERPC},
		{"\x05\x00\x0b\x03\x10\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00", 16, HG_APP_UNKNOWN},
		/* Kerberos AS-REQ over TCP: length, [APPLICATION 10] SEQUENCE, pvno 5 */
		{"\x00\x00\x00\x0b\x6a\x09\x30\x07\xa1\x03\x02\x01\x05\xa2\x00", 15, HG_APP_KRB5},
		{"\x00\x00\x00\x0b\x6a\x09\x30\x07\xa1\x03\x02\x01\x04\xa2\x00", 15, HG_APP_UNKNOWN},
		{"GET / HTTP/1.1\r\n", 16, HG_APP_UNKNOWN},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hg_detect_tcp st = {0};
		enum hg_app_proto a = HG_APP_UNKNOWN;
		enum hg_parse r = hg_detect_tcp(&st, (const uint8_t *)t[i].bytes, t[i].len, true, &a);
		if (t[i].want == HG_APP_UNKNOWN)
			cr_expect_eq(r, HG_PARSE_NOT_THIS, "case %zu: %s", i, hg_app_proto_name(a));
		else
			cr_expect(r == HG_PARSE_FOUND && a == t[i].want, "case %zu: %s", i, hg_parse_name(r));
		/* every shorter prefix waits or rules out, never names another */
		for (size_t k = 0; k < t[i].len; k++) {
			struct hg_detect_tcp s2 = {0};
			enum hg_app_proto b = HG_APP_UNKNOWN;
			if (hg_detect_tcp(&s2, (const uint8_t *)t[i].bytes, k, false, &b) == HG_PARSE_FOUND)
				cr_expect_eq(b, t[i].want, "case %zu at %zu", i, k);
		}
	}
}

Test(appdetect, first_bytes_udp)
{
	uint8_t ntp[48] = {0x23}; /* LI 0, VN 4, mode 3 (RFC 5905 §7.3) */
	cr_expect_eq(hg_detect_udp(ntp, sizeof(ntp), true), HG_APP_NTP);
	ntp[0] = 0x24; /* server mode: a flow whose request was not seen */
	cr_expect_eq(hg_detect_udp(ntp, sizeof(ntp), true), HG_APP_NTP);
	ntp[0] = 0x26; /* control (mode 6) is not an NTP header */
	cr_expect_eq(hg_detect_udp(ntp, sizeof(ntp), true), HG_APP_UNKNOWN);
	cr_expect_eq(hg_detect_udp(ntp, 47, true), HG_APP_UNKNOWN);
	/* TFTP RRQ (RFC 1350 §5), with an RFC 2347 option, and a bad mode */
	static const uint8_t rrq[] = "\x00\x01" "file.bin\0" "OCTET\0" "blksize\0" "1428";
	cr_expect_eq(hg_detect_udp(rrq, sizeof(rrq), false), HG_APP_TFTP);
	static const uint8_t bad[] = "\x00\x01" "file.bin\0" "binary";
	cr_expect_eq(hg_detect_udp(bad, sizeof(bad), false), HG_APP_UNKNOWN);
	/* DHCP: the magic cookie at 236 (RFC 2131 §3) */
	uint8_t dhcp[300] = {1, 1, 6};
	dhcp[236] = 99, dhcp[237] = 130, dhcp[238] = 83, dhcp[239] = 99;
	cr_expect_eq(hg_detect_udp(dhcp, sizeof(dhcp), false), HG_APP_DHCP);
	dhcp[239] = 98;
	cr_expect_eq(hg_detect_udp(dhcp, sizeof(dhcp), false), HG_APP_UNKNOWN);
	/* IKEv2 IKE_SA_INIT (RFC 7296 §3.1), and behind a NAT-T marker */
	uint8_t ike[4 + 28] = {0};
	uint8_t *h = ike + 4;
	h[0] = 0xa8, h[16] = 33, h[17] = 0x20, h[18] = 34, h[19] = 0x08, h[27] = 28;
	cr_expect_eq(hg_detect_udp(h, 28, false), HG_APP_IKEV2);
	cr_expect_eq(hg_detect_udp(ike, sizeof(ike), false), HG_APP_IKEV2); /* Length excludes the marker */
	h[19] = 0x20; /* a response first is not an initiator's IKE_SA_INIT */
	cr_expect_eq(hg_detect_udp(ike, sizeof(ike), false), HG_APP_UNKNOWN);
}
