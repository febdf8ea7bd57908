/* test_http.c - HTTP/1 request parser: every truncation point, the
 * http.host normalisation libhtp applies (absolute URI first, port, IPv6
 * literal, case, trailing dots), Host duplicates and conflicts, bare LF
 * lines, the http.header_names buffer byte for byte, and the limit. */
#include <criterion/criterion.h>
#include <string.h>

#include "hostgate/appparse.h"

static uint8_t hostbuf[256], namesbuf[1024];
static const struct http_bufs bufs = { hostbuf, sizeof(hostbuf), namesbuf, sizeof(namesbuf) };

static bool slice_is(struct hg_slice s, const char *str)
{
	if (!str)
		return s.p == NULL;
	return s.p && s.len == strlen(str) && !memcmp(s.p, str, s.len);
}

static enum hg_parse parse(const char *req, size_t len, struct http_req *r)
{
	return http_request_parse((const uint8_t *)req, len, 65536, &bufs, r);
}

struct hcase {
	const char *name, *req;
	const char *method, *target, *host, *host_raw, *ua, *names; /* NULL: absent / unchecked names */
	uint32_t flags;    /* must all be set */
	uint32_t noflags;  /* must all be clear */
};

static const struct hcase cases[] = {
	{ "curl", "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
	  "GET", "/", "www.example.com", "www.example.com", "curl/8.5.0",
	  "\r\nHost\r\nUser-Agent\r\nAccept\r\n\r\n", 0,
	  HTTP_F_LF_ONLY | HTTP_F_DUP_HOST | HTTP_F_NO_HOST | HTTP_F_UNKNOWN_METHOD | HTTP_F_BAD_HEADER },
	{ "absolute URI wins over Host", "GET http://Api.GitHub.com:8080/x?y=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
	  "GET", "http://Api.GitHub.com:8080/x?y=1", "api.github.com", "other.example", NULL,
	  "\r\nHost\r\n\r\n", HTTP_F_ABSOLUTE_URI | HTTP_F_HOST_MISMATCH, 0 },
	{ "absolute URI agreeing with Host", "GET HTTP://a.example/ HTTP/1.1\r\nHost: A.Example:80\r\n\r\n",
	  "GET", "HTTP://a.example/", "a.example", "A.Example:80", NULL, NULL, HTTP_F_ABSOLUTE_URI,
	  HTTP_F_HOST_MISMATCH },
	{ "absolute URI with userinfo", "GET http://user:pw@b.example:81 HTTP/1.1\r\n\r\n",
	  "GET", "http://user:pw@b.example:81", "b.example", NULL, NULL, NULL, HTTP_F_ABSOLUTE_URI,
	  HTTP_F_NO_HOST },
	{ "absolute URI without authority falls back to Host", "GET http:///p HTTP/1.1\r\nHost: c.example\r\n\r\n",
	  "GET", "http:///p", "c.example", "c.example", NULL, NULL, 0, HTTP_F_HOST_MISMATCH },
	{ "Host with port", "GET /a HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
	  "GET", "/a", "example.com", "example.com:8080", NULL, NULL, 0, HTTP_F_HOST_INVALID },
	{ "IPv6 literal with port", "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:443\r\n\r\n",
	  "GET", "/", "[2001:db8::1]", "[2001:DB8::1]:443", NULL, NULL, 0, HTTP_F_HOST_INVALID },
	{ "IPv6 literal without port", "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	  "GET", "/", "[::1]", "[::1]", NULL, NULL, 0, HTTP_F_HOST_INVALID },
	{ "upper case and trailing dot", "GET / HTTP/1.1\r\nHost: WWW.Example.COM.\r\n\r\n",
	  "GET", "/", "www.example.com", "WWW.Example.COM.", NULL, NULL, 0, 0 },
	{ "anfw.md §6 example", "GET / HTTP/1.1\r\nHost: WWW.Example.COM.:8080\r\n\r\n",
	  "GET", "/", "www.example.com", "WWW.Example.COM.:8080", NULL, NULL, 0, 0 },
	{ "several trailing dots", "GET / HTTP/1.1\r\nHost: evil.example...\r\n\r\n",
	  "GET", "/", "evil.example", "evil.example...", NULL, NULL, 0, 0 },
	{ "OWS around the value", "GET / HTTP/1.1\r\nHost: \t d.example \t\r\n\r\n",
	  "GET", "/", "d.example", "d.example", NULL, NULL, 0, 0 },
	{ "duplicate Host, same host", "GET / HTTP/1.1\r\nHost: a.example\r\nhost: A.EXAMPLE:80\r\n\r\n",
	  "GET", "/", "a.example", "a.example", NULL, "\r\nHost\r\n\r\n", HTTP_F_DUP_HOST,
	  HTTP_F_HOST_CONFLICT },
	{ "conflicting Host", "GET / HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n\r\n",
	  "GET", "/", "good.example", "good.example", NULL, NULL, HTTP_F_DUP_HOST | HTTP_F_HOST_CONFLICT, 0 },
	{ "LF only", "GET /x HTTP/1.1\nHost: lf.example\nUser-Agent: x\n\n",
	  "GET", "/x", "lf.example", "lf.example", "x", "\r\nHost\r\nUser-Agent\r\n\r\n", HTTP_F_LF_ONLY, 0 },
	{ "HTTP/1.0 without Host", "GET / HTTP/1.0\r\nAccept: */*\r\n\r\n",
	  "GET", "/", NULL, NULL, NULL, "\r\nAccept\r\n\r\n", HTTP_F_NO_HOST, 0 },
	{ "no headers", "GET / HTTP/1.0\r\n\r\n", "GET", "/", NULL, NULL, NULL, "\r\n\r\n",
	  HTTP_F_NO_HOST, 0 },
	{ "header names as first seen, repeats once", "POST /f HTTP/1.1\r\nHost: h\r\naccept: a\r\nAccept: b\r\nX-A: 1\r\nHOST: h\r\nContent-Length: 0\r\n\r\n",
	  "POST", "/f", "h", "h", NULL, "\r\nHost\r\naccept\r\nX-A\r\nContent-Length\r\n\r\n",
	  HTTP_F_DUP_HOST, HTTP_F_HOST_CONFLICT },
	{ "CONNECT authority-form", "CONNECT Example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	  "CONNECT", "Example.com:443", "example.com", "example.com:443", NULL, NULL, 0,
	  HTTP_F_HOST_MISMATCH },
	{ "empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", NULL, "", NULL, NULL,
	  HTTP_F_EMPTY_HOST, HTTP_F_NO_HOST },
	{ "leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: e\r\n\r\n", "GET", "/", "e", "e", NULL,
	  NULL, HTTP_F_LEADING_CRLF, 0 },
	{ "space before colon (libhtp keeps the header)", "GET / HTTP/1.1\r\nHost : f.example\r\n\r\n",
	  "GET", "/", "f.example", "f.example", NULL, "\r\nHost\r\n\r\n", HTTP_F_BAD_HEADER, 0 },
	{ "line without colon skipped", "GET / HTTP/1.1\r\nnonsense\r\nHost: g\r\n\r\n",
	  "GET", "/", "g", "g", NULL, "\r\nHost\r\n\r\n", HTTP_F_BAD_HEADER, 0 },
	{ "obs-fold flagged", "GET / HTTP/1.1\r\nHost: h.example\r\n  folded\r\n\r\n",
	  "GET", "/", "h.example", "h.example", NULL, NULL, HTTP_F_FOLDED, 0 },
	{ "unknown method", "FOO /x HTTP/1.1\r\nHost: i\r\n\r\n", "FOO", "/x", "i", "i", NULL, NULL,
	  HTTP_F_UNKNOWN_METHOD, 0 },
	{ "bad host bytes flagged", "GET / HTTP/1.1\r\nHost: a b@c:99999\r\n\r\n", "GET", "/", "a b@c",
	  "a b@c:99999", NULL, NULL, HTTP_F_HOST_INVALID, 0 },
};

Test(http, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hcase *c = &cases[i];
		size_t n = strlen(c->req);
		struct http_req r;

		cr_assert_eq(parse(c->req, n, &r), HG_PARSE_FOUND, "%s: %s", c->name, r.err ? r.err : "");
		cr_assert(slice_is(r.method, c->method), "%s: method", c->name);
		cr_assert(slice_is(r.target, c->target), "%s: target", c->name);
		cr_assert(slice_is(r.host, c->host), "%s: host '%.*s'", c->name, (int)r.host.len,
			  r.host.p ? (const char *)r.host.p : "(null)");
		cr_assert(slice_is(r.host_raw, c->host_raw), "%s: host_raw", c->name);
		cr_assert(slice_is(r.user_agent, c->ua), "%s: user agent", c->name);
		if (c->names)
			cr_assert(slice_is(r.header_names, c->names), "%s: header_names", c->name);
		else
			cr_assert_not_null(r.header_names.p, "%s: header_names", c->name);
		cr_assert_eq(r.flags & c->flags, c->flags, "%s: flags %#x want %#x", c->name, r.flags,
			     c->flags);
		cr_assert_eq(r.flags & c->noflags, 0, "%s: flags %#x", c->name, r.flags);
		cr_assert_eq(r.consumed, n, "%s: consumed", c->name);
		if (r.host.p)
			cr_assert_eq(r.host.p, hostbuf);
	}
}

Test(http, every_truncation_point)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hcase *c = &cases[i];
		size_t n = strlen(c->req);
		struct http_req r;

		for (size_t len = 0; len < n; len++)
			cr_assert_eq(parse(c->req, len, &r), HG_PARSE_NEED_MORE, "%s: len %zu: %s", c->name,
				     len, hg_parse_name(parse(c->req, len, &r)));
	}
}

Test(http, followed_by_body)
{
	static const char req[] = "POST /u HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\n\r\nbody";
	struct http_req r;

	cr_assert_eq(parse(req, sizeof(req) - 1, &r), HG_PARSE_FOUND);
	cr_assert_eq(r.consumed, sizeof(req) - 1 - 4);
	cr_assert_eq(r.n_headers, 2);
	cr_assert_eq(r.http_minor, 1);
	cr_assert(slice_is(r.version, "HTTP/1.1"));
}

Test(http, not_http_and_invalid)
{
	static const struct {
		const char *req;
		size_t len;
		enum hg_parse want;
	} t[] = {
		{ "\x16\x03\x01\x02\x00", 5, HG_PARSE_NOT_THIS },
		{ "SSH-2.0-OpenSSH_9.6\r\n", 21, HG_PARSE_NOT_THIS },
		{ " GET / HTTP/1.1\r\n", 17, HG_PARSE_NOT_THIS },
		{ "\x00\x01", 2, HG_PARSE_NOT_THIS },
		/* Lenient as libhtp (issue 9 item 10): a known method makes the
		 * line HTTP whatever follows; odd parts are flagged. */
		{ "GET\r\n", 5, HG_PARSE_FOUND },                /* HTTP/0.9, method only */
		{ "GET /\r\n", 7, HG_PARSE_FOUND },              /* HTTP/0.9 */
		{ "GET / HTTP/2.0\r\n\r\n", 18, HG_PARSE_FOUND },
		{ "GET / HTTX/1.1\r\n\r\n", 18, HG_PARSE_FOUND },
		{ "GET / HTTP/1.10\r\n\r\n", 19, HG_PARSE_FOUND },
		{ "GET /a\x01 HTTP/1.1\r\n\r\n", 20, HG_PARSE_FOUND },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, HG_PARSE_NOT_THIS }, /* h2 preface */
		/* other protocols' first lines: no known method, no HTTP/ */
		{ "EHLO mail.example\r\n", 19, HG_PARSE_NOT_THIS },
		{ "USER anonymous\r\n", 16, HG_PARSE_NOT_THIS },
		{ "a001 CAPABILITY\r\n", 17, HG_PARSE_NOT_THIS },
		{ "FOO\x00 / HTTP/1.1\r\n", 18, HG_PARSE_NOT_THIS },
		{ "G", 1, HG_PARSE_NEED_MORE },
		{ "", 0, HG_PARSE_NEED_MORE },
	};
	struct http_req r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_eq(http_request_parse((const uint8_t *)t[i].req, t[i].len, 65536, &bufs, &r),
			     t[i].want, "case %zu", i);
	/* a method token longer than any method */
	char longm[64];

	memset(longm, 'A', sizeof(longm));
	cr_assert_eq(http_request_parse((uint8_t *)longm, sizeof(longm), 65536, &bufs, &r),
		     HG_PARSE_NOT_THIS);
}

Test(http, limit_truncates_headers)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a.example\r\nX-Pad: xxxxxxxxxxxxxxxxxxxxxx";
	size_t n = sizeof(req) - 1;
	struct http_req r;

	cr_assert_eq(http_request_parse((const uint8_t *)req, n - 1, n, &bufs, &r), HG_PARSE_NEED_MORE);
	cr_assert_eq(http_request_parse((const uint8_t *)req, n, n, &bufs, &r), HG_PARSE_FOUND);
	cr_assert(r.flags & HTTP_F_TRUNCATED);
	cr_assert(slice_is(r.host, "a.example"));
	cr_assert(slice_is(r.header_names, "\r\nHost\r\n\r\n"));
	/* more bytes than the limit: only limit bytes are looked at */
	cr_assert_eq(http_request_parse((const uint8_t *)req, n, 20, &bufs, &r), HG_PARSE_FOUND);
	cr_assert(r.flags & HTTP_F_TRUNCATED);
	cr_assert_null(r.host.p);
	/* the request line itself beyond the limit */
	cr_assert_eq(http_request_parse((const uint8_t *)req, n, 10, &bufs, &r), HG_PARSE_INVALID);
}

Test(http, small_caller_buffers)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a-rather-long-name.example\r\nAccept: x\r\n\r\n";
	uint8_t h[8], nm[10];
	struct http_bufs small = { h, sizeof(h), nm, sizeof(nm) };
	struct http_req r;

	cr_assert_eq(http_request_parse((const uint8_t *)req, sizeof(req) - 1, 0, &small, &r),
		     HG_PARSE_FOUND);
	cr_assert(r.flags & HTTP_F_HOST_TOO_LONG);
	cr_assert(r.flags & HTTP_F_NAMES_TRUNCATED);
	cr_assert_null(r.host.p);
	cr_assert_null(r.header_names.p);
	/* no buffers at all */
	cr_assert_eq(http_request_parse((const uint8_t *)req, sizeof(req) - 1, 0, NULL, &r),
		     HG_PARSE_FOUND);
	cr_assert(slice_is(r.host_raw, "a-rather-long-name.example"));
}

Test(http, host_normalise)
{
	static const struct {
		const char *in, *out;
		bool bad;
	} t[] = {
		{ "Example.COM", "example.com", false },
		{ "example.com:80", "example.com", false },
		{ "example.com.", "example.com", false },
		{ "example.com.:", "example.com", false },
		{ "[FE80::1]:8080", "[fe80::1]", false },
		{ "[fe80::1", "[fe80::1", true },
		{ "[::1]x", "[::1]", true },
		{ "host:port", "host", true },
		{ "host:65536", "host", true },
		{ "...", "", false },
		{ "", "", false },
	};
	uint8_t out[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool bad;
		size_t n = http_host_normalise((const uint8_t *)t[i].in, strlen(t[i].in), out,
					       sizeof(out), &bad);

		cr_assert_eq(n, strlen(t[i].out), "%s", t[i].in);
		cr_assert(!memcmp(out, t[i].out, n), "%s", t[i].in);
		cr_assert_eq(bad, t[i].bad, "%s", t[i].in);
	}
}

/* Request lines as zeek's methods.pcap sends them (issue 9 item 10):
 * Suricata's libhtp takes each for HTTP, and the Host is reported. */
Test(http, lenient_request_lines)
{
	static const struct {
		const char *line;
		const char *method, *target, *version; /* NULL: absent */
		uint32_t flags;
	} t[] = {
		{ "OPTIONS * HTTP/1.1", "OPTIONS", "*", "HTTP/1.1", 0 },
		{ "OPTIONS HTTP/1.1", "OPTIONS", NULL, "HTTP/1.1", HTTP_F_NO_TARGET },
		{ "OPTIONSHTTP/1.1", "OPTIONSHTTP/1.1", NULL, NULL, HTTP_F_NO_VERSION | HTTP_F_NO_TARGET },
		{ "OPTIONS", "OPTIONS", NULL, NULL, HTTP_F_NO_VERSION | HTTP_F_NO_TARGET },
		{ "GET / HTTP/1.", "GET", "/", "HTTP/1.", HTTP_F_BAD_VERSION },
		{ "GET /HTTP/1.1", "GET", "/HTTP/1.1", NULL, HTTP_F_NO_VERSION },
		{ "GET/ HTTP/1.1", "GET/", NULL, "HTTP/1.1", HTTP_F_NO_TARGET | HTTP_F_UNKNOWN_METHOD },
		{ "GET/HTTP/1.1", "GET/HTTP/1.1", NULL, NULL, HTTP_F_NO_VERSION | HTTP_F_UNKNOWN_METHOD },
		{ "\xc3\x82\xc3 / HTTP/1.", "\xc3\x82\xc3", "/", "HTTP/1.", HTTP_F_UNKNOWN_METHOD },
		{ "CCM_POST /HTTP/1.1", "CCM_POST", "/HTTP/1.1", NULL, HTTP_F_UNKNOWN_METHOD | HTTP_F_NO_VERSION },
		{ "get /x HTTP/1.1", "get", "/x", "HTTP/1.1", HTTP_F_UNKNOWN_METHOD },
		{ "GET   /x \t HTTP/1.1", "GET", "/x", "HTTP/1.1", HTTP_F_BAD_LINE },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char req[256];
		int n = snprintf(req, sizeof(req), "%s\nHost: www.google.com\n\n", t[i].line);
		struct http_req r;
		cr_assert_eq(http_request_parse((const uint8_t *)req, (size_t)n, 65536, &bufs, &r), HG_PARSE_FOUND,
			     "%s", t[i].line);
		cr_expect(slice_is(r.method, t[i].method), "%s: method", t[i].line);
		cr_expect(t[i].target ? slice_is(r.target, t[i].target) : !r.target.p, "%s: target", t[i].line);
		cr_expect(t[i].version ? slice_is(r.version, t[i].version) : !r.version.p, "%s: version",
			  t[i].line);
		cr_expect_eq(r.flags & t[i].flags, t[i].flags, "%s: flags %#x", t[i].line, r.flags);
		cr_expect(slice_is(r.host, "www.google.com"), "%s: host", t[i].line);
		cr_expect_eq(r.consumed, (size_t)n, "%s: consumed", t[i].line);
	}
	/* HTTP/0.9 without headers: the request ends with its line */
	struct http_req r;
	cr_assert_eq(http_request_parse((const uint8_t *)"GET /\r\n", 7, 65536, &bufs, &r), HG_PARSE_FOUND);
	cr_assert(r.flags & HTTP_F_NO_VERSION);
	cr_assert(r.flags & HTTP_F_NO_HOST);
	cr_assert_eq(r.consumed, 7);
}
