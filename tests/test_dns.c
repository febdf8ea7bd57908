/* test_dns.c - the DNS message parser (runtime/dns.c) on byte vectors:
 * queries as RFC 1035 §4.1 lays them out, compression pointers (§4.1.4)
 * good and hostile, the TCP length prefix (§4.2.2) and partial messages. */
#include <criterion/criterion.h>
#include <string.h>

#include "hostgate/appparse.h"

static uint8_t names[DNS_NAMES_CAP];

/* Header: id 0x1234, RD set, the given counts. */
static size_t hdr(uint8_t *b, uint16_t flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	const uint8_t h[12] = {0x12, 0x34, (uint8_t)(flags >> 8), (uint8_t)flags, 0, (uint8_t)qd, 0, (uint8_t)an,
			       0, (uint8_t)ns, 0, (uint8_t)ar};
	memcpy(b, h, 12);
	return 12;
}

/* "www.example.com" -> 3www7example3com0 */
static size_t qname(uint8_t *b, const char *dotted)
{
	size_t n = 0;
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		b[n++] = (uint8_t)l;
		memcpy(b + n, dotted, l);
		n += l;
		dotted += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	return n;
}

static size_t query(uint8_t *b, const char *name, uint16_t qtype)
{
	size_t n = hdr(b, 0x0100, 1, 0, 0, 0);
	n += qname(b + n, name);
	b[n++] = (uint8_t)(qtype >> 8);
	b[n++] = (uint8_t)qtype;
	b[n++] = 0;
	b[n++] = 1; /* IN */
	return n;
}

static void assert_name(const struct dns_msg *m, unsigned i, const char *want)
{
	cr_assert_lt(i, m->n_queries);
	cr_assert_eq(m->q[i].name.len, strlen(want), "name %u: %.*s", i, (int)m->q[i].name.len,
		     (const char *)m->q[i].name.p);
	cr_assert(!memcmp(m->q[i].name.p, want, strlen(want)));
}

Test(dns, plain_query)
{
	uint8_t b[512];
	size_t n = query(b, "www.Example.com", 1);
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_eq(m.id, 0x1234);
	cr_assert_eq(m.opcode, 0);
	cr_assert_eq(m.n_queries, 1);
	/* as sent: case kept, no trailing dot */
	assert_name(&m, 0, "www.Example.com");
	cr_assert_eq(m.q[0].qtype, 1);
	cr_assert_eq(m.q[0].qclass, 1);
	cr_assert_eq(m.flags, 0);
	cr_assert_eq(m.consumed, n);
}

/* IDNA names are left as sent (A-labels). */
Test(dns, idna_left_as_sent)
{
	uint8_t b[512];
	size_t n = query(b, "xn--bcher-kva.example", 28);
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	assert_name(&m, 0, "xn--bcher-kva.example");
}

Test(dns, root_query_is_empty_name)
{
	uint8_t b[64];
	size_t n = query(b, "", 2);
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_eq(m.n_queries, 1);
	cr_assert_not_null(m.q[0].name.p);
	cr_assert_eq(m.q[0].name.len, 0);
}

/* An EDNS query: one OPT record in the additional section (RFC 6891). */
Test(dns, edns_opt_record)
{
	uint8_t b[512];
	size_t n = query(b, "a.example", 1);
	b[11] = 1; /* ARCOUNT */
	const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
	memcpy(b + n, opt, sizeof(opt));
	n += sizeof(opt);
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_eq(m.arcount, 1);
	assert_name(&m, 0, "a.example");
	/* RDLENGTH claiming more than there is */
	b[n - 1] = 4;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
}

/* Two questions, the second compressed against the first (§4.1.4). */
Test(dns, compressed_second_question)
{
	uint8_t b[512];
	size_t n = hdr(b, 0x0100, 2, 0, 0, 0);
	size_t first = n;
	n += qname(b + n, "www.example.com");
	b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	b[n++] = 3, memcpy(b + n, "api", 3), n += 3;
	b[n++] = 0xc0, b[n++] = (uint8_t)(first + 4); /* -> "example.com" */
	b[n++] = 0, b[n++] = 28, b[n++] = 0, b[n++] = 1;
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_eq(m.n_queries, 2);
	assert_name(&m, 0, "www.example.com");
	assert_name(&m, 1, "api.example.com");
	cr_assert_eq(m.q[1].qtype, 28);
	cr_assert(m.flags & DNS_F_MULTI_QUESTION);
	cr_assert(m.flags & DNS_F_COMPRESSED_QNAME);
}

/* Hostile names: every one is refused, none loops. */
Test(dns, hostile_names)
{
	struct {
		const char *what;
		uint8_t name[8];
		size_t len;
	} cases[] = {
		{"pointer to itself", {0xc0, 12}, 2},
		{"pointer forward", {0xc0, 20, 0, 0, 0, 0, 0, 0}, 8},
		{"pointer into the header", {0xc0, 2}, 2},
		{"label after pointer loop", {1, 'a', 0xc0, 12}, 4},
		{"extended label type 01", {0x41, 'a', 0}, 3},
		{"extended label type 10", {0x81, 'a', 0}, 3},
		{"label past the end", {9, 'a', 'b'}, 3},
		{"no terminator", {1, 'a'}, 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[64];
		size_t n = hdr(b, 0x0100, 1, 0, 0, 0);
		memcpy(b + n, cases[i].name, cases[i].len);
		n += cases[i].len;
		if (i < 5)
			b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
		struct dns_msg m;
		cr_expect_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS, "%s",
			     cases[i].what);
	}
}

/* A label of 64 bytes and a name over 255 wire bytes (§2.3.4). */
Test(dns, length_limits)
{
	uint8_t b[600];
	char label[70];
	memset(label, 'a', 64);
	label[64] = 0;
	size_t n = query(b, label, 1);
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);

	/* 4 labels of 63: 256 wire bytes with the root */
	char big[300];
	memset(big, 'b', sizeof(big));
	for (int k = 1; k < 4; k++)
		big[k * 64 - 1] = '.';
	big[4 * 64 - 1] = 0;
	n = query(b, big, 1);
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
	/* 3 labels of 63 and one of 61: 255 bytes, the most there is */
	big[3 * 64 + 61] = 0;
	n = query(b, big, 1);
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_eq(m.q[0].name.len, 253);
}

/* A pointer chain that expands: each name jumps to the one before; the
 * rendered names are bounded by names_cap, what does not fit is dropped. */
Test(dns, expansion_is_bounded)
{
	uint8_t b[2048];
	size_t n = hdr(b, 0x0100, 40, 0, 0, 0);
	size_t prev = n;
	char label[64];
	memset(label, 'x', 63);
	label[63] = 0;
	char four[300];
	snprintf(four, sizeof(four), "%s.%s.%s.%.61s", label, label, label, label);
	n += qname(b + n, four);
	b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	for (int k = 1; k < 40; k++) {
		b[n++] = 0xc0 | (uint8_t)(prev >> 8), b[n++] = (uint8_t)prev;
		b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	}
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_leq(m.n_queries, DNS_MAX_QUERIES);
	cr_assert_eq(m.n_queries, DNS_NAMES_CAP / 253);
	cr_assert(m.flags & DNS_F_QUESTIONS_DROPPED);
	for (unsigned i = 0; i < m.n_queries; i++)
		cr_assert_eq(m.q[i].name.len, 253);
}

Test(dns, not_dns)
{
	static const char *const texts[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"SSH-2.0-OpenSSH_9.6\r\n",
		"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
		"\0\0\0\0\0\0\0\0\0\0\0\0", /* all counts zero */
	};
	struct dns_msg m;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = i == 3 ? 12 : strlen(texts[i]);
		cr_expect_eq(dns_udp_parse((const uint8_t *)texts[i], len, names, sizeof(names), &m),
			     HG_PARSE_NOT_THIS, "case %zu", i);
	}
	/* an unassigned opcode (3) */
	uint8_t b[64];
	size_t n = query(b, "a.b", 1);
	b[2] = 3 << 3;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
	/* counts claiming more than the message holds */
	n = query(b, "a.b", 1);
	b[5] = 20;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
}

/* A response sent by the client side (the capture missed the query):
 * DNS, flagged, its question parsed. */
Test(dns, response_flagged)
{
	uint8_t b[64];
	size_t n = query(b, "a.example", 1);
	b[2] = 0x81;
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert(m.flags & DNS_F_RESPONSE);
}

/* §4.2.2: the TCP length prefix; every prefix of the stream is NEED_MORE
 * until the message is whole; a second message after it is left alone. */
Test(dns, tcp_prefix_and_partial)
{
	uint8_t b[600];
	size_t q = query(b + 2, "tcp.example.org", 16);
	b[0] = (uint8_t)(q >> 8);
	b[1] = (uint8_t)q;
	size_t n = q + 2;
	memcpy(b + n, b, n); /* pipelined second query */
	struct dns_msg m;
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(dns_tcp_parse(b, k, 16384, names, sizeof(names), &m), HG_PARSE_NEED_MORE, "at %zu", k);
	cr_assert_eq(dns_tcp_parse(b, n, 16384, names, sizeof(names), &m), HG_PARSE_FOUND);
	assert_name(&m, 0, "tcp.example.org");
	cr_assert_eq(m.consumed, n);
	cr_assert_eq(dns_tcp_parse(b, 2 * n, 16384, names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert_eq(m.consumed, n);
	/* a length below a header */
	b[0] = 0, b[1] = 5;
	cr_assert_eq(dns_tcp_parse(b, n, 16384, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
}

/* A TCP message longer than the caller buffers: the questions are enough. */
Test(dns, tcp_message_beyond_limit)
{
	uint8_t b[200];
	size_t q = query(b + 2, "long.example", 1);
	size_t mlen = q + 11 + 4000; /* one record with 4000 bytes of RDATA */
	b[0] = (uint8_t)(mlen >> 8), b[1] = (uint8_t)mlen;
	b[2 + 11] = 1; /* ARCOUNT */
	size_t n = 2 + q;
	const uint8_t rr[] = {0, 0, 16, 0, 1, 0, 0, 0, 0, 0x0f, 0xa0};
	memcpy(b + n, rr, sizeof(rr));
	n += sizeof(rr);
	memset(b + n, 'z', sizeof(b) - n);
	struct dns_msg m;
	cr_assert_eq(dns_tcp_parse(b, sizeof(b), 4096, names, sizeof(names), &m), HG_PARSE_NEED_MORE);
	cr_assert_eq(dns_tcp_parse(b, sizeof(b), sizeof(b), names, sizeof(names), &m), HG_PARSE_FOUND);
	cr_assert(m.flags & DNS_F_TRUNCATED);
	assert_name(&m, 0, "long.example");
	/* cut inside the question: INVALID at the limit */
	cr_assert_eq(dns_tcp_parse(b, 20, 20, names, sizeof(names), &m), HG_PARSE_INVALID);
}

/* NetBIOS name service (RFC 1002 §4.2) uses DNS's message format with a
 * first-level encoded name (RFC 1001 §14.1) and type NB: not DNS, as for
 * Suricata and tshark; the same name with type A is. */
Test(dns, netbios_name_query_is_not_dns)
{
	uint8_t b[128];
	size_t n = query(b, "FHEPFCELEHFCEPFFFACACACACACACABN", 0x20);
	struct dns_msg m;
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
	n = query(b, "FHEPFCELEHFCEPFFFACACACACACACABN.scope", 0x21);
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_NOT_THIS);
	n = query(b, "FHEPFCELEHFCEPFFFACACACACACACABN", 1);
	cr_assert_eq(dns_udp_parse(b, n, names, sizeof(names), &m), HG_PARSE_FOUND);
}

/* A client that sends a few bytes and waits for an answer must not be
 * kept waiting on DNS detection: what has come must already fit a DNS
 * header (from 5 bytes on, the opcode is known), or it is not DNS. */
Test(dns, short_tcp_start_rules_out_early)
{
	struct dns_msg m;
	static const struct {
		const char *b;
		size_t n;
	} t[] = {{"HELLO there\r\n", 13}, {"\x00\x05", 2}, {"hello\r\n", 7}, {"\x00\x20\x12\x34\x01\x00\x40\x00", 8}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(dns_tcp_parse((const uint8_t *)t[i].b, t[i].n, 16384, names, sizeof(names), &m),
			     HG_PARSE_NOT_THIS, "case %zu", i);
}
