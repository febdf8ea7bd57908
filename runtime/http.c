/* http.c - HTTP/1.x request parser: request line, header block, and the
 * buffers Suricata's rules read (http.host normalised as libhtp does,
 * http.header_names, User-Agent), as slices and caller-owned copies.
 *
 * Tolerant where libhtp is (bare LF line ends, leading empty lines, spaces
 * before a colon) and flags what it tolerates, so policy can decide. */
#include <string.h>

#include "hostgate/appparse.h"
#include "hostgate/util.h"

/* tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~" DIGIT ALPHA. */
static const uint8_t tchar_table[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
	['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static bool is_tchar(uint8_t c) { return tchar_table[c]; }
static bool is_ows(uint8_t c) { return c == ' ' || c == '\t'; }
static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static bool is_alpha(uint8_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* A method token longer than this is not taken for HTTP. */
#define HTTP_METHOD_MAX 32

/* The methods Suricata's HTTP protocol detection recognises at the start of
 * a flow (its pattern list in app-layer-htp.c); another token is still
 * parsed, but flagged HTTP_F_UNKNOWN_METHOD. */
static const char *const known_methods[] = {
	"GET", "PUT", "POST", "HEAD", "TRACE", "OPTIONS", "CONNECT", "DELETE",
	"PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
	"UNLOCK", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL",
	"REPORT", "MKWORKSPACE", "MKACTIVITY", "MERGE", "INVALID",
	"VERSION-CONTROL", "BASELINE-CONTROL",
};

static bool method_known(const uint8_t *m, size_t n)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(known_methods); i++)
		if (strlen(known_methods[i]) == n && !memcmp(known_methods[i], m, n))
			return true;
	return false;
}

static bool slice_ieq(const uint8_t *a, size_t an, const char *b)
{
	return hg_ascii_casecmp_eq((const char *)a, an, b, strlen(b));
}

/* Suricata's HTTP detection patterns are case-insensitive ("get " too). */
static bool method_known_ci(const uint8_t *m, size_t n)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(known_methods); i++)
		if (slice_ieq(m, n, known_methods[i]))
			return true;
	return false;
}

/* ---- host normalisation -------------------------------------------------- */

/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3):
 *   IP-literal = "[" ( IPv6address / IPvFuture ) "]"   kept with brackets
 *   port = *DIGIT                                       removed (<= 65535)
 * then, as libhtp's htp_normalize_hostname_inplace: trailing dots removed
 * and lower case. Finds the host part; *bad when something is off. */
static void host_span(const uint8_t *v, size_t n, size_t *hlen, bool *bad)
{
	size_t h, i;
	const uint8_t *port = NULL;
	size_t port_len = 0;

	*bad = false;
	if (n && v[0] == '[') {
		const uint8_t *rb = memchr(v, ']', n);

		if (!rb) {
			*bad = true;
			h = n;
		} else {
			h = (size_t)(rb - v) + 1;
			if (h < n) {
				if (v[h] != ':')
					*bad = true;
				port = v + h + 1;
				port_len = n - h - 1;
			}
		}
		for (i = 1; i + 1 < h; i++)
			if (!(is_digit(v[i]) || (hg_lower(v[i]) >= 'a' && hg_lower(v[i]) <= 'f') ||
			      v[i] == ':' || v[i] == '.'))
				*bad = true;
	} else {
		const uint8_t *colon = memchr(v, ':', n);

		h = colon ? (size_t)(colon - v) : n;
		if (colon) {
			port = colon + 1;
			port_len = n - h - 1;
		}
		while (h && v[h - 1] == '.')
			h--;
		for (i = 0; i < h; i++)
			if (!(is_alpha(v[i]) || is_digit(v[i]) || v[i] == '-' || v[i] == '.' ||
			      v[i] == '_'))
				*bad = true;
	}
	if (port) {
		uint32_t p = 0;

		for (i = 0; i < port_len; i++) {
			if (!is_digit(port[i]) || (p = p * 10 + (port[i] - '0')) > 65535) {
				*bad = true;
				break;
			}
		}
	}
	*hlen = h;
}

size_t http_host_normalise(const uint8_t *v, size_t n, uint8_t *dst, size_t cap, bool *bad)
{
	size_t h, i;
	bool b;

	host_span(v, n, &h, &b);
	if (bad)
		*bad = b;
	for (i = 0; i < h && i < cap; i++)
		dst[i] = hg_lower(v[i]);
	return h;
}

static bool host_eq(struct hg_slice a, struct hg_slice b)
{
	size_t ah, bh;
	bool bad;

	host_span(a.p, a.len, &ah, &bad);
	host_span(b.p, b.len, &bh, &bad);
	return hg_ascii_casecmp_eq((const char *)a.p, ah, (const char *)b.p, bh);
}

/* ---- http.header_names ---------------------------------------------------- */

/* Suricata builds it from libhtp's header table, where a repeated name
 * (compared without case) is one entry named as first seen: "\r\n" then
 * each name and "\r\n", then a final "\r\n". */
struct names {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void names_add(struct names *nm, const uint8_t *name, size_t n)
{
	size_t i = 2, j;

	if (nm->overflow)
		return;
	/* entries sit between "\r\n" separators from offset 2 */
	while (i < nm->len) {
		for (j = i; j + 1 < nm->len && !(nm->buf[j] == '\r' && nm->buf[j + 1] == '\n'); j++)
			;
		if (hg_ascii_casecmp_eq((const char *)nm->buf + i, j - i, (const char *)name, n))
			return;
		i = j + 2;
	}
	if (nm->cap - nm->len < n + 2) {
		nm->overflow = true;
		return;
	}
	memcpy(nm->buf + nm->len, name, n);
	nm->buf[nm->len + n] = '\r';
	nm->buf[nm->len + n + 1] = '\n';
	nm->len += n + 2;
}

/* ---- lines ---------------------------------------------------------------- */

/* The next line from pos: [*ls, *le) without its CR LF / LF; returns the
 * offset after the LF, or 0 when no LF is present yet. */
static size_t next_line(const uint8_t *buf, size_t len, size_t pos, size_t *le,
			struct http_req *out)
{
	const uint8_t *lf = memchr(buf + pos, '\n', len - pos);
	size_t e;

	if (!lf)
		return 0;
	e = (size_t)(lf - buf);
	if (e > pos && buf[e - 1] == '\r')
		*le = e - 1;
	else {
		*le = e;
		out->flags |= HTTP_F_LF_ONLY;
	}
	return e + 1;
}

/* ---- the request ---------------------------------------------------------- */

/* Request (RFC 9112 §2.1), read in this order:
 *   *( CRLF )          empty lines before the request line are ignored
 *                      (RFC 9112 §2.2 "SHOULD ignore at least one")
 *   method SP request-target SP HTTP-version CRLF       (RFC 9112 §3)
 *     method = token (RFC 9110 §9.1); anything else first: NOT_THIS
 *     request-target: origin-form, absolute-form "scheme://authority/..."
 *       (§3.2.2, its authority wins over Host: RFC 9112 §3.2.2 "MUST ignore
 *       the received Host header field", as libhtp), authority-form for
 *       CONNECT (§3.2.3)
 *     HTTP-version = "HTTP/" DIGIT "." DIGIT (§2.3); major 1 only
 *   *( field-name ":" OWS field-value OWS CRLF )          (RFC 9112 §5)
 *     a line starting with SP/HT is obs-fold (§5.2): flagged, ignored
 *     whitespace before ":" is tolerated and flagged (libhtp does)
 *   CRLF
 * A bare LF ends a line too (RFC 9112 §2.2 allows it; libhtp does). */
enum hg_parse http_request_parse(const uint8_t *buf, size_t len, size_t limit,
				 const struct http_bufs *bufs, struct http_req *out)
{
	size_t pos = 0, i, le = 0, next, ms, me, ts, te, vs;
	struct names nm = { 0 };
	struct hg_slice host_src = { 0 };
	bool at_limit, bad;

	memset(out, 0, sizeof(*out));
	if (limit && len > limit)
		len = limit;
	at_limit = limit && len >= limit;

	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	if (pos)
		out->flags |= HTTP_F_LEADING_CRLF;
	/* The request line, read as leniently as libhtp (Suricata's HTTP
	 * parser) reads it: any method, in any case; spaces and tabs between
	 * the parts, more than one too; no request-target ("OPTIONS
	 * HTTP/1.1"); no version (HTTP/0.9, headers may still follow); any
	 * version string. A line is HTTP when its method is one Suricata's
	 * detection knows (case-insensitive), or when it holds "HTTP/" and
	 * no control bytes; anything else is
	 * NOT_THIS, so other protocols' first lines ("EHLO x", "USER x") stay
	 * theirs. */
	ms = pos;
	next = next_line(buf, len, pos, &le, out);
	size_t line_end = next ? le : len;
	for (i = ms; i < line_end && !is_ows(buf[i]); i++)
		;
	me = i;
	bool known = me > ms && method_known_ci(buf + ms, me - ms);
	if (me == ms && i < line_end)
		return HG_PARSE_NOT_THIS; /* a space first */
	if (me - ms > HTTP_METHOD_MAX && !known)
		return HG_PARSE_NOT_THIS;
	bool ctl = false;
	for (i = ms; i < line_end && !ctl; i++)
		ctl = (buf[i] < 0x20 && buf[i] != '\t' && buf[i] != '\r') || buf[i] == 0x7f;
	if (ctl && !known)
		return HG_PARSE_NOT_THIS; /* binary, not a request line */
	if (!next) {
		if (at_limit) {
			if (!known)
				return HG_PARSE_NOT_THIS;
			out->err = "request line longer than the inspection limit";
			return HG_PARSE_INVALID;
		}
		if (me < len && known) /* the method is complete: HTTP */
			out->method = (struct hg_slice){ buf + ms, me - ms };
		return HG_PARSE_NEED_MORE;
	}
	/* the words: method, [target], [version] */
	vs = le;
	while (vs > me && !is_ows(buf[vs - 1]))
		vs--;
	bool has_version = vs > me && le - vs >= 5 && slice_ieq(buf + vs, 5, "HTTP/");
	/* "GET/HTTP/1.1", "CCM_POST /HTTP/1.1": the version glued to another
	 * word still says HTTP */
	bool names_http = has_version || memmem(buf + ms, le - ms, "HTTP/", 5);
	if (!known && (ctl || !names_http))
		return HG_PARSE_NOT_THIS;
	/* RFC 9113 §3.4: the HTTP/2 preface looks like a request on purpose;
	 * it is not HTTP/1 (runtime/detect.c names it). */
	if (le - ms == 14 && !memcmp(buf + ms, "PRI * HTTP/2.0", 14))
		return HG_PARSE_NOT_THIS;
	if (ctl)
		out->flags |= HTTP_F_BAD_LINE;
	out->method = (struct hg_slice){ buf + ms, me - ms };
	if (!method_known(buf + ms, me - ms))
		out->flags |= HTTP_F_UNKNOWN_METHOD;
	ts = me;
	while (ts < le && is_ows(buf[ts]))
		ts++;
	if (ts - me > 1 || (ts > me && buf[me] != ' '))
		out->flags |= HTTP_F_BAD_LINE;
	/* After the method: [target] [version]. A last word starting "HTTP/"
	 * is the version; of two or more words the last is one, well-formed
	 * or not. */
	bool version_word = has_version && vs >= ts;
	if (!version_word && vs > ts) {
		size_t nwords = 1;
		for (i = ts + 1; i < le; i++)
			if (!is_ows(buf[i]) && is_ows(buf[i - 1]))
				nwords++;
		version_word = nwords >= 2;
	}
	size_t words_end = le;
	if (version_word) {
		words_end = vs;
		out->version = (struct hg_slice){ buf + vs, le - vs };
		if (le - vs == 8 && !memcmp(buf + vs, "HTTP/1.", 7) && is_digit(buf[vs + 7]))
			out->http_minor = (uint8_t)(buf[vs + 7] - '0');
		else
			out->flags |= HTTP_F_BAD_VERSION;
	} else {
		out->flags |= HTTP_F_NO_VERSION;
	}
	te = words_end;
	while (te > ts && is_ows(buf[te - 1]))
		te--;
	if (te > ts) {
		out->target = (struct hg_slice){ buf + ts, te - ts };
	} else {
		out->flags |= HTTP_F_NO_TARGET;
		te = ts;
	}

	/* absolute-form: scheme "://" authority [ path-abempty ... ] (RFC 3986 §3) */
	if (te > ts && is_alpha(buf[ts])) {
		for (i = ts + 1; i < te && (is_alpha(buf[i]) || is_digit(buf[i]) || buf[i] == '+' ||
					    buf[i] == '-' || buf[i] == '.');
		     i++)
			;
		if (te - i >= 3 && !memcmp(buf + i, "://", 3)) {
			size_t as = i + 3, ae = as;

			while (ae < te && buf[ae] != '/' && buf[ae] != '?' && buf[ae] != '#')
				ae++;
			for (i = ae; i > as; i--)
				if (buf[i - 1] == '@') { /* userinfo "@" host */
					as = i;
					break;
				}
			out->flags |= HTTP_F_ABSOLUTE_URI;
			if (ae > as)
				out->uri_authority = (struct hg_slice){ buf + as, ae - as };
		}
	}
	/* authority-form is host:port; "CONNECT / HTTP/1.1" (suricata-verify
	 * bug-7851) names no host. */
	if (!out->uri_authority.p && slice_ieq(out->method.p, out->method.len, "CONNECT") &&
	    te > ts && buf[ts] != '/')
		out->uri_authority = out->target;

	if (bufs && bufs->names && bufs->names_cap >= 2) {
		nm.buf = bufs->names;
		nm.cap = bufs->names_cap;
		nm.buf[0] = '\r';
		nm.buf[1] = '\n';
		nm.len = 2;
	} else {
		nm.overflow = true;
	}

	/* HTTP/0.9 has no header section (RFC 1945 §4.1), but a client that
	 * left out its version may still send one (zeek's methods.pcap:
	 * "OPTIONS\nHost: ..."): headers are read when a header line follows
	 * in what has arrived. */
	bool no_headers = false;
	if (out->flags & HTTP_F_NO_VERSION) {
		size_t le2 = 0;
		size_t n2 = next < len ? next_line(buf, len, next, &le2, out) : 0;
		if (next == len) {
			no_headers = true;
			out->consumed = next;
		} else if (n2 && (le2 == next || !memchr(buf + next, ':', le2 - next))) {
			no_headers = true;
			out->consumed = le2 == next ? n2 : next;
		}
	}

	/* header fields (RFC 9112 §5) */
	size_t hstart = next;
	for (pos = next; !no_headers;) {
		size_t ns, ne, vstart, vend, colon;

		next = next_line(buf, len, pos, &le, out);
		if (!next) {
			if (!at_limit)
				return HG_PARSE_NEED_MORE;
			out->flags |= HTTP_F_TRUNCATED;
			out->consumed = pos;
			out->headers = (struct hg_slice){ buf + hstart, pos - hstart };
			break;
		}
		if (le == pos) { /* the empty line: end of the header section */
			out->consumed = next;
			out->headers = (struct hg_slice){ buf + hstart, pos - hstart };
			break;
		}
		if (is_ows(buf[pos])) {
			out->flags |= HTTP_F_FOLDED;
			pos = next;
			continue;
		}
		for (colon = pos; colon < le && buf[colon] != ':'; colon++)
			;
		ns = pos;
		ne = colon;
		while (ne > ns && is_ows(buf[ne - 1]))
			ne--;
		if (colon == le || ne == ns) {
			out->flags |= HTTP_F_BAD_HEADER;
			pos = next;
			continue;
		}
		if (ne != colon)
			out->flags |= HTTP_F_BAD_HEADER;
		for (i = ns; i < ne; i++)
			if (!is_tchar(buf[i]))
				out->flags |= HTTP_F_BAD_HEADER;
		vstart = colon + 1;
		vend = le;
		while (vstart < vend && is_ows(buf[vstart]))
			vstart++;
		while (vend > vstart && is_ows(buf[vend - 1]))
			vend--;
		out->n_headers++;
		names_add(&nm, buf + ns, ne - ns);
		if (slice_ieq(buf + ns, ne - ns, "Host")) {
			struct hg_slice v = { buf + vstart, vend - vstart };

			if (!out->host_raw.p) {
				out->host_raw = v;
			} else {
				out->flags |= HTTP_F_DUP_HOST;
				if (!host_eq(out->host_raw, v))
					out->flags |= HTTP_F_HOST_CONFLICT;
			}
		} else if (slice_ieq(buf + ns, ne - ns, "User-Agent") && !out->user_agent.p) {
			out->user_agent = (struct hg_slice){ buf + vstart, vend - vstart };
		}
		pos = next;
	}

	if (!nm.overflow && nm.cap - nm.len >= 2) {
		nm.buf[nm.len++] = '\r';
		nm.buf[nm.len++] = '\n';
		out->header_names = (struct hg_slice){ nm.buf, nm.len };
	} else if (bufs && bufs->names) {
		out->flags |= HTTP_F_NAMES_TRUNCATED;
	}

	/* the host: URI authority first, else Host (libhtp) */
	if (out->uri_authority.p) {
		host_src = out->uri_authority;
		if (out->host_raw.p && !host_eq(out->uri_authority, out->host_raw))
			out->flags |= HTTP_F_HOST_MISMATCH;
	} else if (out->host_raw.p) {
		host_src = out->host_raw;
	}
	if (!host_src.p) {
		out->flags |= HTTP_F_NO_HOST;
	} else {
		uint8_t *dst = bufs ? bufs->host : NULL;
		size_t cap = dst ? bufs->host_cap : 0;
		size_t n = http_host_normalise(host_src.p, host_src.len, dst, cap, &bad);

		if (bad)
			out->flags |= HTTP_F_HOST_INVALID;
		if (n == 0)
			out->flags |= HTTP_F_EMPTY_HOST;
		else if (n > cap)
			out->flags |= HTTP_F_HOST_TOO_LONG;
		else
			out->host = (struct hg_slice){ dst, n };
	}
	return HG_PARSE_FOUND;
}
