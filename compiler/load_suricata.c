/* load_suricata.c - the Suricata rule subset ANFW accepts (RulesString and
 * .rules files): logical lines are tokenized with a position per byte and
 * parsed into one struct hg_rule each. A bad rule gets every error it has
 * reported at file:line:col and is skipped; the next rule is parsed anyway. */
#include "hostgate/ir.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <limits.h>
#include <pcre2.h>
#include <string.h>

/* Addresses nest ([a,[b,!c]]); a hostile rule must not recurse without end. */
#define MAX_LIST_DEPTH 32

struct pos {
	uint32_t line, col;
};

struct sid_slot {
	uint32_t sid; /* 0 = empty (sid 0 is invalid anyway) */
	struct hg_loc loc;
};

struct sp {
	struct hg_ruleset *rs;
	struct hg_rule_group *g;
	struct hg_diag *d;
	struct hg_loc base;
	bool block;
	/* The current logical line: continuation lines joined, each byte with
	 * the position it was read from. */
	HG_VEC(char) c;
	HG_VEC(struct pos) p;
	/* sid -> first location, open addressing (sids of the whole group). */
	struct sid_slot *sids;
	size_t sid_cap, sid_n;
	HG_VEC(struct hg_rule *) rules;
};

/* The rule being built and the keyword state that modifiers refer to. */
struct rctx {
	struct hg_rule r;
	HG_VEC(struct hg_match) m;
	enum hg_buffer cur;    /* current sticky buffer */
	bool cur_dot;          /* dotprefix applied to it */
	bool cur_has;          /* some match already uses it */
	struct hg_loc cur_loc; /* where the sticky buffer was named */
	long last;             /* index in m of the last content, -1 if none */
	bool seen_sid, seen_rev, seen_prio, seen_msg, seen_flow, seen_ssl, seen_app;
	bool seen_geoip, seen_tcp_flags, seen_dsize, seen_sslv;
	bool has_pcre, has_content;
	HG_VEC(struct hg_flowbit) fb;
};

/* ------------------------------------------------------------- positions */

static struct hg_loc loc_at(const struct sp *p, size_t i)
{
	struct hg_loc l = {p->base.file, 0, 0};
	if (p->p.n == 0)
		return p->base;
	if (i < p->p.n) {
		l.line = p->p.v[i].line;
		l.col = p->p.v[i].col;
	} else {
		/* Just past the end of the line: one column after its last byte. */
		l.line = p->p.v[p->p.n - 1].line;
		l.col = p->p.v[p->p.n - 1].col + 1;
	}
	return l;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static size_t skip_ws(const struct sp *p, size_t i, size_t end)
{
	while (i < end && is_ws(p->c.v[i]))
		i++;
	return i;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
	return hg_ascii_casecmp_eq(s, n, w, strlen(w));
}

static char *arena_text(const struct sp *p, size_t a, size_t b)
{
	return hg_arena_strndup(p->rs->arena, p->c.v + a, b - a);
}

/* ------------------------------------------------------------- numbers */

static bool parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	if (n == 0 || n > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_i32(const char *s, size_t n, int32_t *out)
{
	bool neg = n > 0 && s[0] == '-';
	uint32_t v;
	if (!parse_u32(s + neg, n - neg, neg ? (uint32_t)INT32_MAX + 1 : INT32_MAX, &v))
		return false;
	*out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return true;
}

/* "80", "1024:", ":1023", "1000:2000" (Suricata port syntax). */
static bool port_literal_ok(const char *s, size_t n, bool *reversed)
{
	*reversed = false;
	const char *colon = memchr(s, ':', n);
	uint32_t lo = 0, hi = 65535;
	if (!colon)
		return parse_u32(s, n, 65535, &lo);
	size_t a = (size_t)(colon - s), b = n - a - 1;
	if (a == 0 && b == 0)
		return false;
	if (a && !parse_u32(s, a, 65535, &lo))
		return false;
	if (b && !parse_u32(colon + 1, b, 65535, &hi))
		return false;
	if (lo > hi) {
		*reversed = true;
		return false;
	}
	return true;
}

/* ------------------------------------------------- addresses and ports */

static struct hg_expr *parse_expr(struct sp *p, size_t *i, size_t end, bool port, int depth);

static struct hg_expr *parse_list(struct sp *p, size_t *i, size_t end, bool port, int depth,
				  struct hg_expr *e)
{
	size_t open = *i;
	HG_VEC(struct hg_expr *) items = {0};
	(*i)++; /* '[' */
	for (;;) {
		*i = skip_ws(p, *i, end);
		if (*i < end && p->c.v[*i] == ']' && items.n == 0) {
			hg_diag_error(p->d, loc_at(p, open), "empty list '[]'");
			goto fail;
		}
		struct hg_expr *it = parse_expr(p, i, end, port, depth + 1);
		if (!it)
			goto fail;
		hg_vec_push(&items, it);
		*i = skip_ws(p, *i, end);
		if (*i < end && p->c.v[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < end && p->c.v[*i] == ']') {
			(*i)++;
			break;
		}
		if (*i >= end)
			hg_diag_error(p->d, loc_at(p, open), "'[' is not closed by ']'");
		else
			hg_diag_error(p->d, loc_at(p, *i), "expected ',' or ']' in %s list, found '%c'",
				      port ? "port" : "address", p->c.v[*i]);
		goto fail;
	}
	e->kind = HG_EXPR_LIST;
	e->n_items = items.n;
	e->items = hg_arena_alloc(p->rs->arena, items.n * sizeof(*e->items));
	memcpy(e->items, items.v, items.n * sizeof(*e->items));
	hg_vec_free(&items);
	return e;
fail:
	hg_vec_free(&items);
	return NULL;
}

static bool var_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t k = 0; k < n; k++) {
		char c = s[k];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* expr := '!'? ( 'any' | '$'NAME | '@'NAME | literal | '[' expr (',' expr)* ']' ) */
static struct hg_expr *parse_expr(struct sp *p, size_t *i, size_t end, bool port, int depth)
{
	const char *what = port ? "port" : "address";
	*i = skip_ws(p, *i, end);
	size_t start = *i;
	if (depth > MAX_LIST_DEPTH) {
		hg_diag_error(p->d, loc_at(p, start), "%s lists nested deeper than %d", what, MAX_LIST_DEPTH);
		return NULL;
	}
	struct hg_expr *e = hg_arena_alloc(p->rs->arena, sizeof(*e));
	e->loc = loc_at(p, start);
	if (*i < end && p->c.v[*i] == '!') {
		e->negated = true;
		(*i)++;
		*i = skip_ws(p, *i, end);
	}
	if (*i < end && p->c.v[*i] == '[')
		return parse_list(p, i, end, port, depth, e);
	size_t a = *i;
	while (*i < end && !is_ws(p->c.v[*i]) && p->c.v[*i] != ',' && p->c.v[*i] != ']' && p->c.v[*i] != '[')
		(*i)++;
	size_t n = *i - a;
	const char *s = p->c.v + a;
	if (n == 0) {
		if (*i < end)
			hg_diag_error(p->d, loc_at(p, a), "expected an %s, found '%c'", what, p->c.v[a]);
		else
			hg_diag_error(p->d, loc_at(p, a), "expected an %s", what);
		return NULL;
	}
	if (word_eq(s, n, "any")) {
		e->kind = HG_EXPR_ANY;
		e->text = "any";
	} else if (s[0] == '$' || s[0] == '@') {
		if (!var_name_ok(s + 1, n - 1)) {
			hg_diag_error(p->d, e->loc, "invalid variable name '%.*s'", (int)n, s);
			return NULL;
		}
		e->kind = s[0] == '$' ? HG_EXPR_VAR : HG_EXPR_REF;
		e->text = arena_text(p, a + 1, *i);
	} else {
		e->kind = HG_EXPR_LITERAL;
		e->text = arena_text(p, a, *i);
		if (port) {
			bool rev;
			if (!port_literal_ok(s, n, &rev)) {
				if (rev)
					hg_diag_error(p->d, loc_at(p, a),
						      "invalid port range '%s': the low end is above the high end",
						      e->text);
				else
					hg_diag_error(p->d, loc_at(p, a),
						      "invalid port or port range '%s' (ports are 0..65535, ranges "
						      "LO:HI, LO: or :HI)",
						      e->text);
				return NULL;
			}
		} else {
			struct hg_ip lo, hi;
			if (!hg_ip_parse_cidr(e->text, &lo, &hi)) {
				hg_diag_error(p->d, loc_at(p, a), "invalid address or CIDR '%s'", e->text);
				return NULL;
			}
		}
	}
	return e;
}

/* A whole header field: one expression and nothing after it. */
static struct hg_expr *parse_field(struct sp *p, size_t a, size_t b, bool port)
{
	size_t i = a;
	struct hg_expr *e = parse_expr(p, &i, b, port, 0);
	if (!e)
		return NULL;
	i = skip_ws(p, i, b);
	if (i < b) {
		hg_diag_error(p->d, loc_at(p, i), "unexpected '%c' in %s", p->c.v[i], port ? "port" : "address");
		return NULL;
	}
	return e;
}

/* ------------------------------------------------------------- strings */

/* A quoted option value: "..." with \" \; \\ \: escapes. [*ba, *bb) is
 * the body, still escaped (content needs to see its '|'). */
static bool quoted_body(struct sp *p, size_t a, size_t b, const char *kw, size_t *ba, size_t *bb)
{
	if (a >= b || p->c.v[a] != '"') {
		hg_diag_error(p->d, loc_at(p, a), "'%s' needs a quoted string", kw);
		return false;
	}
	size_t i = a + 1;
	for (; i < b; i++) {
		if (p->c.v[i] == '\\') {
			i++;
			continue;
		}
		if (p->c.v[i] == '"')
			break;
	}
	if (i >= b) {
		hg_diag_error(p->d, loc_at(p, a), "unterminated string (no closing '\"')");
		return false;
	}
	if (i + 1 != b) {
		hg_diag_error(p->d, loc_at(p, skip_ws(p, i + 1, b)), "unexpected text after the closing quote of '%s'",
			      kw);
		return false;
	}
	*ba = a + 1;
	*bb = i;
	return true;
}

static bool escapable(char c)
{
	return c == '"' || c == ';' || c == '\\' || c == ':' || c == '|';
}

/* msg: unescaped into the arena. Quotes are optional (the DG prints
 * "msg:this is a stateful drop rule;"). */
static const char *parse_msg(struct sp *p, size_t a, size_t b)
{
	size_t ba = a, bb = b;
	if (a < b && p->c.v[a] == '"' && !quoted_body(p, a, b, "msg", &ba, &bb))
		return NULL;
	char *out = hg_arena_alloc(p->rs->arena, bb - ba + 1);
	size_t n = 0;
	for (size_t i = ba; i < bb; i++) {
		char c = p->c.v[i];
		if (c == '\\') {
			if (i + 1 >= bb || !escapable(p->c.v[i + 1])) {
				hg_diag_error(p->d, loc_at(p, i),
					      "invalid escape in msg (only \\\", \\;, \\\\ and \\: are allowed)");
				return NULL;
			}
			c = p->c.v[++i];
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}


/* content:[!]"text|0d 0a|text" into bytes. */
static bool parse_content(struct sp *p, size_t a, size_t b, struct hg_match *m)
{
	if (a < b && p->c.v[a] == '!') {
		m->negated = true;
		a = skip_ws(p, a + 1, b);
	}
	size_t ba, bb;
	if (!quoted_body(p, a, b, "content", &ba, &bb))
		return false;
	uint8_t *out = hg_arena_alloc(p->rs->arena, bb - ba + 1);
	size_t n = 0;
	bool hex = false;
	size_t hex_start = 0;
	int nib = -1;
	for (size_t i = ba; i < bb; i++) {
		char c = p->c.v[i];
		if (hex) {
			if (c == '|') {
				if (nib >= 0) {
					hg_diag_error(p->d, loc_at(p, i), "odd number of hex digits in content");
					return false;
				}
				hex = false;
			} else if (c == ' ') {
				continue;
			} else if (hg_hex_digit((unsigned char)c) < 0) {
				hg_diag_error(p->d, loc_at(p, i), "invalid hex character '%c' in content", c);
				return false;
			} else if (nib < 0) {
				nib = hg_hex_digit((unsigned char)c);
			} else {
				out[n++] = (uint8_t)(nib << 4 | hg_hex_digit((unsigned char)c));
				nib = -1;
			}
			continue;
		}
		if (c == '|') {
			hex = true;
			hex_start = i;
			continue;
		}
		if (c == '\\') {
			if (i + 1 >= bb || !escapable(p->c.v[i + 1])) {
				hg_diag_error(p->d, loc_at(p, i),
					      "invalid escape in content (escape only \", ;, \\, : and |)");
				return false;
			}
			c = p->c.v[++i];
		} else if (c == ';' || c == '"') {
			/* Suricata insists on these being escaped. */
			hg_diag_error(p->d, loc_at(p, i), "'%c' must be escaped in content (\\%c or |%02x|)", c, c,
				      (unsigned char)c);
			return false;
		}
		out[n++] = (uint8_t)c;
	}
	if (hex) {
		hg_diag_error(p->d, loc_at(p, hex_start), "'|' opens hex bytes that are never closed in content");
		return false;
	}
	if (n == 0) {
		hg_diag_error(p->d, loc_at(p, a), "empty content");
		return false;
	}
	m->bytes = out;
	m->len = n;
	return true;
}

/* ------------------------------------------------------------- options */

enum kw {
	KW_MSG,
	KW_SID,
	KW_REV,
	KW_PRIORITY,
	KW_FLOW,
	KW_SSL_STATE,
	KW_BUFFER,      /* sticky buffer, arg = enum hg_buffer */
	KW_LEGACY_MOD,  /* http_host etc.: moves the last content, arg = buffer */
	KW_PKT_DATA,
	KW_CONTENT,
	KW_NOCASE,
	KW_STARTSWITH,
	KW_ENDSWITH,
	KW_DEPTH,
	KW_OFFSET,
	KW_DISTANCE,
	KW_WITHIN,
	KW_DOTPREFIX,
	KW_ALERT,
	KW_NOALERT,
	KW_GEOIP,
	KW_FLOWBITS,
	KW_IP_PROTO,
	KW_APP_LAYER,
	KW_PCRE,
	KW_TCP_FLAGS,
	KW_DSIZE,
	KW_SSL_VERSION,
	KW_IGNORED, /* accepted and ignored: metadata, classtype, ... */
};

enum { V_NONE, V_REQUIRED, V_OPTIONAL };

struct kwdef {
	const char *name;
	enum kw kw;
	int arg;
	int value;
};

static const struct kwdef keywords[] = {
	{"msg", KW_MSG, 0, V_REQUIRED},
	{"sid", KW_SID, 0, V_REQUIRED},
	{"rev", KW_REV, 0, V_REQUIRED},
	{"priority", KW_PRIORITY, 0, V_REQUIRED},
	{"flow", KW_FLOW, 0, V_REQUIRED},
	{"ssl_state", KW_SSL_STATE, 0, V_REQUIRED},
	{"tls.sni", KW_BUFFER, HG_BUF_TLS_SNI, V_NONE},
	{"tls_sni", KW_BUFFER, HG_BUF_TLS_SNI, V_NONE},
	{"http.host", KW_BUFFER, HG_BUF_HTTP_HOST, V_NONE},
	{"http.host.raw", KW_BUFFER, HG_BUF_HTTP_HOST_RAW, V_NONE},
	{"http.header_names", KW_BUFFER, HG_BUF_HTTP_HEADER_NAMES, V_NONE},
	{"http.uri", KW_BUFFER, HG_BUF_HTTP_URI, V_NONE},
	{"http.uri.raw", KW_BUFFER, HG_BUF_HTTP_URI_RAW, V_NONE},
	{"http.method", KW_BUFFER, HG_BUF_HTTP_METHOD, V_NONE},
	{"http.user_agent", KW_BUFFER, HG_BUF_HTTP_USER_AGENT, V_NONE},
	{"dns.query", KW_BUFFER, HG_BUF_DNS_QUERY, V_NONE},
	{"dns_query", KW_BUFFER, HG_BUF_DNS_QUERY, V_NONE},
	{"ja4.hash", KW_BUFFER, HG_BUF_JA4_HASH, V_NONE},
	{"ja3.hash", KW_BUFFER, HG_BUF_JA3_HASH, V_NONE},
	{"ja3_hash", KW_BUFFER, HG_BUF_JA3_HASH, V_NONE},
	{"ja3.string", KW_BUFFER, HG_BUF_JA3_STRING, V_NONE},
	{"ja3_string", KW_BUFFER, HG_BUF_JA3_STRING, V_NONE},
	{"http.request_header", KW_BUFFER, HG_BUF_HTTP_REQUEST_HEADER, V_NONE},
	{"pcre", KW_PCRE, 0, V_REQUIRED},
	{"tcp.flags", KW_TCP_FLAGS, 0, V_REQUIRED},
	{"flags", KW_TCP_FLAGS, 0, V_REQUIRED},
	{"dsize", KW_DSIZE, 0, V_REQUIRED},
	{"ssl_version", KW_SSL_VERSION, 0, V_REQUIRED},
	{"http_host", KW_LEGACY_MOD, HG_BUF_HTTP_HOST, V_NONE},
	{"http_raw_host", KW_LEGACY_MOD, HG_BUF_HTTP_HOST_RAW, V_NONE},
	{"http_uri", KW_LEGACY_MOD, HG_BUF_HTTP_URI, V_NONE},
	{"http_raw_uri", KW_LEGACY_MOD, HG_BUF_HTTP_URI_RAW, V_NONE},
	{"http_method", KW_LEGACY_MOD, HG_BUF_HTTP_METHOD, V_NONE},
	{"http_user_agent", KW_LEGACY_MOD, HG_BUF_HTTP_USER_AGENT, V_NONE},
	{"pkt_data", KW_PKT_DATA, 0, V_NONE},
	{"content", KW_CONTENT, 0, V_REQUIRED},
	{"nocase", KW_NOCASE, 0, V_NONE},
	{"startswith", KW_STARTSWITH, 0, V_NONE},
	{"endswith", KW_ENDSWITH, 0, V_NONE},
	{"depth", KW_DEPTH, 0, V_REQUIRED},
	{"offset", KW_OFFSET, 0, V_REQUIRED},
	{"distance", KW_DISTANCE, 0, V_REQUIRED},
	{"within", KW_WITHIN, 0, V_REQUIRED},
	{"fast_pattern", KW_IGNORED, 0, V_OPTIONAL},
	{"dotprefix", KW_DOTPREFIX, 0, V_NONE},
	{"alert", KW_ALERT, 0, V_NONE},
	{"noalert", KW_NOALERT, 0, V_NONE},
	{"geoip", KW_GEOIP, 0, V_REQUIRED},
	{"flowbits", KW_FLOWBITS, 0, V_REQUIRED},
	{"ip_proto", KW_IP_PROTO, 0, V_REQUIRED},
	{"app-layer-protocol", KW_APP_LAYER, 0, V_REQUIRED},
	{"metadata", KW_IGNORED, 0, V_REQUIRED},
	{"classtype", KW_IGNORED, 0, V_REQUIRED},
	{"reference", KW_IGNORED, 0, V_REQUIRED},
	{"target", KW_IGNORED, 0, V_REQUIRED},
};

static const struct kwdef *find_keyword(const char *s, size_t n)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(keywords); i++)
		if (word_eq(s, n, keywords[i].name))
			return &keywords[i];
	return NULL;
}

/* Real Suricata keywords hostgate refuses, with the reason (an unknown
 * word gets a "did you mean" instead). */
static const struct {
	const char *const *names;
	const char *why;
} refused[] = {
	{(const char *const[]){"ja3s.hash", "ja3s.string", "ja4s.hash", "tls.version", "tls.cert_subject",
			       "tls.cert_issuer", "tls.cert_serial", "tls.cert_fingerprint", "tls.certs",
			       "tls.cert_chain_len", "tls.cert_expired", "tls.cert_valid", "tls.cert_notbefore",
			       "tls.cert_notafter", "tls_cert_subject", "tls_cert_issuer", NULL},
	 "it reads the server's handshake, and hostgate decides from the client's first bytes"},
	{(const char *const[]){"http.stat_code", "http.stat_msg", "http.response_header", "http.response_line",
			       "http.response_body", "http.server", "http.location", "http.request_body",
			       "file.data",
			       "file_data", "filestore", "filemagic", "filename", "fileext", "filesize",
			       "filemd5", "filesha1", "filesha256", NULL},
	 "hostgate inspects the request line and headers only, not bodies, files or responses "
	 "(ANFW does not support file keywords either)"},
	{(const char *const[]){"dataset", "datarep", "iprep", "lua", "luajit", "threshold",
			       "detection_filter", NULL},
	 "AWS Network Firewall does not support it (suricata-limitations-caveats)"},
	{(const char *const[]){"xbits", "flowint", "tag", "byte_test", "byte_jump", "byte_extract", "byte_math",
			       "isdataat", "urilen", "ttl", "itype", "icode", "base64_decode", "base64_data",
			       "http.cookie", "http.content_len", "http.content_type", NULL},
	 "not implemented by hostgate"},
};

static void unsupported(struct sp *p, size_t at, const char *s, size_t n)
{
	const char *names[HG_ARRAY_LEN(keywords) + 1];
	for (size_t i = 0; i < HG_ARRAY_LEN(keywords); i++)
		names[i] = keywords[i].name;
	names[HG_ARRAY_LEN(keywords)] = NULL;
	char *w = xstrndup(s, n);
	const char *why = NULL;
	for (size_t i = 0; i < HG_ARRAY_LEN(refused) && !why; i++)
		for (size_t k = 0; refused[i].names[k] && !why; k++)
			if (word_eq(s, n, refused[i].names[k]))
				why = refused[i].why;
	const char *near = why ? NULL : hg_diag_nearest(w, names);
	if (why)
		hg_diag_error(p->d, loc_at(p, at), "unsupported keyword '%s': %s", w, why);
	else if (near)
		hg_diag_error(p->d, loc_at(p, at), "unsupported keyword '%s'; did you mean '%s'?", w, near);
	else
		hg_diag_error(p->d, loc_at(p, at), "unsupported keyword '%s'", w);
	free(w);
}

/* Items of a comma (or '|') separated value, whitespace trimmed. */
struct item {
	size_t a, b;
};

static bool next_item(const struct sp *p, size_t *i, size_t end, const char *seps, struct item *it)
{
	if (*i > end)
		return false;
	size_t a = skip_ws(p, *i, end), b = a;
	while (b < end && !strchr(seps, p->c.v[b]))
		b++;
	size_t next = b + 1;
	while (b > a && is_ws(p->c.v[b - 1]))
		b--;
	it->a = a;
	it->b = b;
	*i = next;
	return true;
}

static void parse_flow(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} words[] = {
		{"to_server", HG_FLOW_TO_SERVER},
		{"from_client", HG_FLOW_TO_SERVER},
		{"to_client", HG_FLOW_TO_CLIENT},
		{"from_server", HG_FLOW_TO_CLIENT},
		{"established", HG_FLOW_ESTABLISHED},
		{"not_established", HG_FLOW_NOT_ESTABLISHED},
		{"stateless", HG_FLOW_STATELESS},
		{"only_stream", HG_FLOW_ONLY_STREAM},
		{"no_stream", HG_FLOW_NO_STREAM},
	};
	static const uint32_t exclusive[] = {
		HG_FLOW_TO_SERVER | HG_FLOW_TO_CLIENT,
		HG_FLOW_ESTABLISHED | HG_FLOW_NOT_ESTABLISHED,
		HG_FLOW_ESTABLISHED | HG_FLOW_STATELESS,
		HG_FLOW_NOT_ESTABLISHED | HG_FLOW_STATELESS,
		HG_FLOW_ONLY_STREAM | HG_FLOW_NO_STREAM,
	};
	size_t i = a;
	struct item it;
	uint32_t flow = 0;
	while (next_item(p, &i, b, ",", &it)) {
		const char *s = p->c.v + it.a;
		size_t n = it.b - it.a;
		size_t k;
		for (k = 0; k < HG_ARRAY_LEN(words); k++)
			if (word_eq(s, n, words[k].name))
				break;
		if (k == HG_ARRAY_LEN(words)) {
			hg_diag_error(p->d, loc_at(p, it.a),
				      "unknown flow option '%.*s' (expected to_server, to_client, established, "
				      "not_established, stateless, only_stream or no_stream)",
				      (int)n, s);
			return;
		}
		uint32_t nf = flow | words[k].bit;
		for (size_t e = 0; e < HG_ARRAY_LEN(exclusive); e++)
			if ((nf & exclusive[e]) == exclusive[e]) {
				hg_diag_error(p->d, loc_at(p, it.a), "flow option '%.*s' contradicts an earlier one",
					      (int)n, s);
				return;
			}
		flow = nf;
	}
	x->r.flow = flow;
}

static void parse_ssl_state(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} states[] = {
		{"client_hello", HG_SSL_CLIENT_HELLO}, {"server_hello", HG_SSL_SERVER_HELLO},
		{"client_keyx", HG_SSL_CLIENT_KEYX},   {"server_keyx", HG_SSL_SERVER_KEYX},
		{"unknown", HG_SSL_UNKNOWN},
	};
	size_t i = a;
	struct item it;
	while (next_item(p, &i, b, ",|", &it)) {
		size_t s0 = it.a;
		bool neg = s0 < it.b && p->c.v[s0] == '!';
		if (neg)
			s0 = skip_ws(p, s0 + 1, it.b);
		const char *s = p->c.v + s0;
		size_t n = it.b - s0, k;
		for (k = 0; k < HG_ARRAY_LEN(states); k++)
			if (word_eq(s, n, states[k].name))
				break;
		if (k == HG_ARRAY_LEN(states)) {
			hg_diag_error(p->d, loc_at(p, s0),
				      "unknown ssl_state '%.*s' (expected client_hello, server_hello, client_keyx, "
				      "server_keyx or unknown)",
				      (int)n, s);
			return;
		}
		if (neg)
			x->r.ssl_state_not |= states[k].bit;
		else
			x->r.ssl_state |= states[k].bit;
	}
}

/* flowbits:set,NAME / unset / toggle / isset / isnotset, or flowbits:noalert.
 * One name per keyword: Suricata's '|' and '&' lists are not supported. */
static void parse_flowbits(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	static const struct {
		const char *name;
		enum hg_flowbit_op op;
	} ops[] = {
		{"set", HG_FB_SET},		{"unset", HG_FB_UNSET},	      {"toggle", HG_FB_TOGGLE},
		{"isset", HG_FB_ISSET}, {"isnotset", HG_FB_ISNOTSET},
	};
	size_t i = a;
	struct item op, nm;
	next_item(p, &i, b, ",", &op);
	const char *s = p->c.v + op.a;
	size_t n = op.b - op.a;
	bool has_name = next_item(p, &i, b, ",", &nm);
	if (word_eq(s, n, "noalert")) {
		if (has_name)
			hg_diag_error(p->d, loc_at(p, nm.a), "'flowbits:noalert' takes no name");
		else
			x->r.noalert = true;
		return;
	}
	size_t k;
	for (k = 0; k < HG_ARRAY_LEN(ops); k++)
		if (word_eq(s, n, ops[k].name))
			break;
	if (k == HG_ARRAY_LEN(ops)) {
		hg_diag_error(p->d, loc_at(p, op.a),
			      "unknown flowbits operation '%.*s' (expected set, unset, toggle, isset, isnotset "
			      "or noalert)",
			      (int)n, s);
		return;
	}
	if (!has_name || nm.a == nm.b) {
		hg_diag_error(p->d, loc_at(p, has_name ? nm.a : op.a), "'flowbits:%s' needs a name", ops[k].name);
		return;
	}
	struct item extra;
	if (next_item(p, &i, b, ",", &extra)) {
		hg_diag_error(p->d, loc_at(p, extra.a), "flowbits takes one operation and one name");
		return;
	}
	const char *name = p->c.v + nm.a;
	size_t nn = nm.b - nm.a;
	for (size_t c = 0; c < nn; c++) {
		unsigned char ch = (unsigned char)name[c];
		if (ch == '|' || ch == '&') {
			hg_diag_error(p->d, loc_at(p, nm.a + c),
				      "flowbits name lists ('%c') are not supported; use one flowbits per name", ch);
			return;
		}
		if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\\') {
			hg_diag_error(p->d, loc_at(p, nm.a + c), "invalid character in flowbits name '%.*s'",
				      (int)nn, name);
			return;
		}
	}
	if (nn > 255) {
		hg_diag_error(p->d, loc_at(p, nm.a), "flowbits name longer than 255 characters");
		return;
	}
	struct hg_flowbit fb = {.loc = loc_at(p, op.a), .op = ops[k].op,
				.name = hg_arena_strndup(p->rs->arena, name, nn)};
	hg_vec_push(&x->fb, fb);
}

/* IP protocol names ip_proto accepts (the /etc/protocols names rules use). */
static const struct {
	const char *name;
	uint8_t num;
} ip_protos[] = {
	{"hopopt", 0}, {"icmp", 1},	    {"igmp", 2},  {"ipip", 4},  {"tcp", 6},
	{"egp", 8},    {"udp", 17},	    {"ipv6", 41}, {"gre", 47},	{"esp", 50},
	{"ah", 51},    {"ipv6-icmp", 58}, {"icmpv6", 58}, {"ospf", 89}, {"pim", 103},
	{"vrrp", 112}, {"l2tp", 115},	    {"sctp", 132},
};

/* ip_proto:[!|<|>]NUMBER-or-NAME. Several in one rule must all hold. */
static void parse_ip_proto(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	size_t i = a;
	char sign = 0;
	if (i < b && strchr("!<>", p->c.v[i]))
		sign = p->c.v[i++];
	i = skip_ws(p, i, b);
	const char *s = p->c.v + i;
	size_t n = b - i;
	uint32_t num;
	bool ok = parse_u32(s, n, 255, &num);
	for (size_t k = 0; !ok && k < HG_ARRAY_LEN(ip_protos); k++)
		if (hg_ascii_casecmp_eq(s, n, ip_protos[k].name, strlen(ip_protos[k].name))) {
			num = ip_protos[k].num;
			ok = true;
		}
	if (!ok || n == 0) {
		hg_diag_error(p->d, loc_at(p, i),
			      "invalid ip_proto '%.*s' (expected 0..255 or a protocol name such as tcp, udp, "
			      "icmp, gre, esp)",
			      (int)n, s);
		return;
	}
	if ((sign == '<' && num == 0) || (sign == '>' && num == 255)) {
		hg_diag_error(p->d, loc_at(p, a), "ip_proto:%c%u matches no protocol", sign, (unsigned)num);
		return;
	}
	uint8_t set[32] = {0};
	for (uint32_t v = 0; v < 256; v++) {
		bool in = sign == '<' ? v < num : sign == '>' ? v > num : sign == '!' ? v != num : v == num;
		if (in)
			set[v >> 3] |= (uint8_t)(1u << (v & 7));
	}
	if (!x->r.has_ip_proto) {
		memcpy(x->r.ip_proto, set, sizeof(set));
		x->r.has_ip_proto = true;
		return;
	}
	bool any = false;
	for (size_t k = 0; k < sizeof(set); k++) {
		x->r.ip_proto[k] &= set[k];
		any |= x->r.ip_proto[k] != 0;
	}
	if (!any)
		hg_diag_error(p->d, loc_at(p, a), "this ip_proto contradicts an earlier one: the rule matches "
						  "no protocol");
}

/* app-layer-protocol:[!]NAME with the names of rule protocols, or failed. */
static void parse_app_layer(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	size_t i = a;
	bool neg = i < b && p->c.v[i] == '!';
	if (neg)
		i = skip_ws(p, i + 1, b);
	const char *s = p->c.v + i;
	size_t n = b - i;
	char buf[32];
	enum hg_proto pr;
	if (memchr(s, ',', n)) {
		hg_diag_error(p->d, loc_at(p, i + (size_t)((const char *)memchr(s, ',', n) - s)),
			      "app-layer-protocol modes (',...') are not supported");
		return;
	}
	bool ok = n && n < sizeof(buf);
	if (ok) {
		memcpy(buf, s, n);
		buf[n] = 0;
		/* Transport names are not app-layer protocols. */
		ok = hg_proto_from_name(buf, &pr) && pr != HG_PROTO_IP && pr != HG_PROTO_TCP &&
		     pr != HG_PROTO_UDP && pr != HG_PROTO_ICMP;
	}
	const char *why = n && n < sizeof(buf) ? hg_proto_refusal(buf) : NULL;
	if (word_eq(s, n, "failed")) {
		x->r.app_layer = HG_APP_LAYER_FAILED;
	} else if (ok) {
		x->r.app_layer = (int)pr;
	} else if (why) {
		hg_diag_error(p->d, loc_at(p, i), "app-layer-protocol '%.*s' cannot be detected: %s", (int)n, s, why);
		return;
	} else {
		hg_diag_error(p->d, loc_at(p, i),
			      "unknown app-layer-protocol '%.*s' (expected tls, http, quic, dns, ssh, ... or "
			      "failed)",
			      (int)n, s);
		return;
	}
	x->r.has_app_layer = true;
	x->r.app_layer_not = neg;
}

/* pcre:[!]"/pattern/flags" (Suricata payload keywords, pcre). The pattern
 * is given to PCRE2 as written: a rule's \; and \" are PCRE2's literal ';'
 * and '"'. It is compiled here to report errors at their column; the
 * engine JIT-compiles its own copy. Flags: Suricata's PCRE ones (i s m x A
 * E G) and R (relative to the previous match); its buffer-selecting ones
 * (U, H, P, ...) are written as sticky buffers here. */
static void parse_pcre(struct sp *p, struct rctx *x, size_t a, size_t b, size_t kwpos)
{
	struct hg_match m = {.loc = loc_at(p, kwpos), .kind = HG_MATCH_PCRE, .buffer = x->cur,
			     .dotprefix = x->cur_dot, .offset = -1, .depth = -1,
			     .distance = INT32_MIN, .within = INT32_MIN};
	if (a < b && p->c.v[a] == '!') {
		m.negated = true;
		a = skip_ws(p, a + 1, b);
	}
	size_t ba, bb;
	if (!quoted_body(p, a, b, "pcre", &ba, &bb))
		return;
	size_t last = bb;
	while (last > ba + 1 && p->c.v[last - 1] != '/')
		last--;
	if (bb - ba < 2 || p->c.v[ba] != '/' || last <= ba + 1) {
		hg_diag_error(p->d, loc_at(p, ba), "pcre needs \"/pattern/flags\"");
		return;
	}
	last--; /* the closing '/' */
	static const struct {
		char c;
		uint32_t opt;
	} mods[] = {
		{'i', PCRE2_CASELESS}, {'s', PCRE2_DOTALL},	     {'m', PCRE2_MULTILINE}, {'x', PCRE2_EXTENDED},
		{'A', PCRE2_ANCHORED}, {'E', PCRE2_DOLLAR_ENDONLY}, {'G', PCRE2_UNGREEDY}, {'R', 0},
	};
	for (size_t i = last + 1; i < bb; i++) {
		char c = p->c.v[i];
		size_t k;
		for (k = 0; k < HG_ARRAY_LEN(mods); k++)
			if (mods[k].c == c)
				break;
		if (k == HG_ARRAY_LEN(mods)) {
			hg_diag_error(p->d, loc_at(p, i),
				      "pcre modifier '%c' is not supported (hostgate takes i, s, m, x, A, E, G and "
				      "R; write a buffer as a sticky buffer before the pcre)",
				      c);
			return;
		}
		if (c == 'R')
			m.pcre_relative = true;
		m.pcre_options |= mods[k].opt;
	}
	if (m.pcre_relative && !x->cur_has) {
		hg_diag_error(p->d, loc_at(p, kwpos),
			      "pcre with R (relative) needs a content or pcre before it in '%s'",
			      hg_buffer_name(x->cur));
		return;
	}
	int err;
	PCRE2_SIZE eoff;
	const char *pat = p->c.v + ba + 1;
	size_t plen = last - ba - 1;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, plen, m.pcre_options | PCRE2_NEVER_UTF, &err, &eoff, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		hg_diag_error(p->d, loc_at(p, ba + 1 + HG_MIN((size_t)eoff, plen)), "invalid pcre: %s", (char *)msg);
		return;
	}
	pcre2_code_free(re);
	m.pcre = arena_text(p, ba + 1, last);
	m.pcre_flags = arena_text(p, last + 1, bb);
	hg_vec_push(&x->m, m);
	x->cur_has = true;
	x->has_pcre = true;
}

/* tcp.flags:[+*!]FLAGS[,IGNORED] with F S R P A U C E and 0 (no flag)
 * (Suricata header keywords, tcp.flags). */
static bool tcp_flag_bits(struct sp *p, size_t a, size_t b, uint8_t *out, bool allow_zero)
{
	static const char letters[] = "FSRPAUEC"; /* bit i = letters[i] (wire order) */
	*out = 0;
	if (a == b) {
		hg_diag_error(p->d, loc_at(p, a), "tcp.flags needs flags (F, S, R, P, A, U, C, E or 0)");
		return false;
	}
	for (size_t i = a; i < b; i++) {
		char c = p->c.v[i];
		if (c == '1' || c == '2')
			c = c == '1' ? 'C' : 'E'; /* Suricata's old names of CWR/ECE */
		const char *l = c ? strchr(letters, c >= 'a' && c <= 'z' ? c - 32 : c) : NULL;
		if (c == '0' && allow_zero && b - a == 1)
			return true;
		if (!l) {
			hg_diag_error(p->d, loc_at(p, i),
				      "unknown TCP flag '%c' (expected F, S, R, P, A, U, C, E, or 0 alone)", p->c.v[i]);
			return false;
		}
		*out |= (uint8_t)(1u << (l - letters));
	}
	return true;
}

static void parse_tcp_flags(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	struct hg_tcp_flag_match t = {.mode = '='};
	size_t i = a;
	if (i < b && strchr("+*!", p->c.v[i]))
		t.mode = p->c.v[i++];
	const char *comma = memchr(p->c.v + i, ',', b - i);
	size_t fe = comma ? (size_t)(comma - p->c.v) : b;
	while (fe > i && is_ws(p->c.v[fe - 1]))
		fe--;
	if (!tcp_flag_bits(p, i, fe, &t.flags, t.mode == '='))
		return;
	if (comma) {
		size_t ia = skip_ws(p, (size_t)(comma - p->c.v) + 1, b);
		if (!tcp_flag_bits(p, ia, b, &t.ignore, false))
			return;
	}
	x->r.has_tcp_flags = true;
	x->r.tcp_flags = t;
}

/* dsize:N, <N, >N, !N, N<>M (Suricata payload keywords, dsize). */
static void parse_dsize(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	struct hg_dsize d = {.mode = '='};
	const char *s = p->c.v;
	size_t i = a;
	if (i < b && strchr("<>!", s[i]))
		d.mode = s[i++];
	i = skip_ws(p, i, b);
	const char *rng = d.mode == '=' ? memmem(s + i, b - i, "<>", 2) : NULL;
	size_t e1 = rng ? (size_t)(rng - s) : b;
	size_t e1t = e1;
	while (e1t > i && is_ws(s[e1t - 1]))
		e1t--;
	bool ok = parse_u32(s + i, e1t - i, 65535, &d.a);
	if (ok && rng) {
		size_t j = skip_ws(p, e1 + 2, b);
		d.mode = 'r';
		ok = parse_u32(s + j, b - j, 65535, &d.b) && d.b > d.a + 1;
	}
	if (!ok) {
		hg_diag_error(p->d, loc_at(p, a),
			      "invalid dsize '%.*s' (expected N, <N, >N, !N or MIN<>MAX with MIN < MAX - 1, "
			      "N in 0..65535)",
			      (int)(b - a), s + a);
		return;
	}
	if ((d.mode == '<' && d.a == 0) || (d.mode == '>' && d.a == 65535)) {
		hg_diag_error(p->d, loc_at(p, a), "dsize:%c%u matches no packet", d.mode, (unsigned)d.a);
		return;
	}
	x->r.has_dsize = true;
	x->r.dsize = d;
}

/* ssl_version:[!]V[,[!]V...] with sslv2 sslv3 tls1.0 tls1.1 tls1.2 tls1.3
 * (Suricata TLS keywords, ssl_version). */
static void parse_ssl_version(struct sp *p, struct rctx *x, size_t a, size_t b)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} vers[] = {
		{"sslv2", HG_SSLV_SSL2},   {"sslv3", HG_SSLV_SSL3},   {"tls1.0", HG_SSLV_TLS10},
		{"tls1.1", HG_SSLV_TLS11}, {"tls1.2", HG_SSLV_TLS12}, {"tls1.3", HG_SSLV_TLS13},
	};
	size_t i = a;
	struct item it;
	while (next_item(p, &i, b, ",", &it)) {
		size_t s0 = it.a;
		bool neg = s0 < it.b && p->c.v[s0] == '!';
		if (neg)
			s0 = skip_ws(p, s0 + 1, it.b);
		size_t k;
		for (k = 0; k < HG_ARRAY_LEN(vers); k++)
			if (word_eq(p->c.v + s0, it.b - s0, vers[k].name))
				break;
		if (k == HG_ARRAY_LEN(vers)) {
			hg_diag_error(p->d, loc_at(p, s0),
				      "unknown ssl_version '%.*s' (expected sslv2, sslv3, tls1.0, tls1.1, tls1.2 or "
				      "tls1.3)",
				      (int)(it.b - s0), p->c.v + s0);
			return;
		}
		*(neg ? &x->r.ssl_version_not : &x->r.ssl_version) |= vers[k].bit;
	}
}

/* geoip:[src|dst|both|any,][!]CC[,CC...]: one '!' negates the whole list
 * and no direction means any (Suricata detect-geoip.c). The networks come
 * from the database at finalize. */
static void parse_geoip(struct sp *p, struct rctx *x, size_t a, size_t b, size_t kwpos)
{
	static const char *const dirs[] = {"src", "dst", "both", "any"};
	struct hg_geoip *g = hg_arena_alloc(p->rs->arena, sizeof(*g));
	HG_VEC(size_t) cc = {0};
	g->loc = loc_at(p, kwpos);
	g->on = HG_GEO_ANY;
	size_t i = a;
	struct item it;
	bool first = true;
	while (next_item(p, &i, b, ",", &it)) {
		const char *s = p->c.v + it.a;
		size_t n = it.b - it.a;
		if (first) {
			first = false;
			size_t k;
			for (k = 0; k < HG_ARRAY_LEN(dirs); k++)
				if (word_eq(s, n, dirs[k]))
					break;
			if (k < HG_ARRAY_LEN(dirs)) {
				g->on = (enum hg_geo_on)k;
				continue;
			}
		}
		if (n && s[0] == '!') {
			g->negated = true;
			s++, n--;
		}
		bool ok = n == 2;
		for (size_t c = 0; ok && c < n; c++)
			ok = (s[c] >= 'A' && s[c] <= 'Z') || (s[c] >= 'a' && s[c] <= 'z');
		if (!ok) {
			hg_diag_error(p->d, loc_at(p, it.a),
				      "geoip: '%.*s' is not a two-letter country code (ISO 3166 alpha-2)",
				      (int)(it.b - it.a), p->c.v + it.a);
			hg_vec_free(&cc);
			return;
		}
		hg_vec_push(&cc, (size_t)(s - p->c.v));
	}
	if (!cc.n) {
		hg_diag_error(p->d, loc_at(p, a), "geoip needs at least one country code");
		hg_vec_free(&cc);
		return;
	}
	g->codes = hg_arena_alloc(p->rs->arena, cc.n * sizeof(*g->codes));
	for (size_t k = 0; k < cc.n; k++) {
		g->codes[k][0] = (char)(p->c.v[cc.v[k]] & ~0x20); /* upper case */
		g->codes[k][1] = (char)(p->c.v[cc.v[k] + 1] & ~0x20);
		g->codes[k][2] = 0;
	}
	g->n_codes = cc.n;
	hg_vec_free(&cc);
	x->r.geoip = g;
}

static struct hg_match *last_content(struct sp *p, struct rctx *x, size_t at, const char *kw)
{
	if (x->last < 0) {
		hg_diag_error(p->d, loc_at(p, at), "'%s' needs a preceding content", kw);
		return NULL;
	}
	return &x->m.v[x->last];
}

/* Leaving a sticky buffer that no content used: the rule then asks only
 * that the buffer exists (e.g. "tls.sni;" alone). */
static void close_buffer(struct rctx *x)
{
	if (x->cur != HG_BUF_PAYLOAD && !x->cur_has) {
		struct hg_match m = {.loc = x->cur_loc, .kind = HG_MATCH_BUFFER_PRESENT, .buffer = x->cur,
				     .dotprefix = x->cur_dot, .offset = -1, .depth = -1,
				     .distance = INT32_MIN, .within = INT32_MIN};
		hg_vec_push(&x->m, m);
	}
}

static void set_buffer(struct rctx *x, enum hg_buffer b, struct hg_loc loc)
{
	close_buffer(x);
	x->cur = b;
	x->cur_dot = false;
	x->cur_has = false;
	x->cur_loc = loc;
	x->last = -1;
}

static void once(struct sp *p, bool *seen, size_t at, const char *kw)
{
	if (*seen)
		hg_diag_error(p->d, loc_at(p, at), "'%s' given twice in one rule", kw);
	*seen = true;
}

static void apply_option(struct sp *p, struct rctx *x, const struct kwdef *k, size_t kwpos, size_t va, size_t vb)
{
	const char *v = p->c.v + va;
	size_t vn = vb - va;
	struct hg_loc vloc = loc_at(p, va);
	struct hg_match *m;
	uint32_t u;
	int32_t s;
	switch (k->kw) {
	case KW_MSG:
		once(p, &x->seen_msg, kwpos, k->name);
		x->r.msg = parse_msg(p, va, vb);
		break;
	case KW_SID:
		once(p, &x->seen_sid, kwpos, k->name);
		if (!parse_u32(v, vn, UINT32_MAX, &u) || u == 0)
			hg_diag_error(p->d, vloc, "invalid sid '%.*s' (expected 1..4294967295)", (int)vn, v);
		else
			x->r.sid = u;
		break;
	case KW_REV:
		once(p, &x->seen_rev, kwpos, k->name);
		if (!parse_u32(v, vn, UINT32_MAX, &u))
			hg_diag_error(p->d, vloc, "invalid rev '%.*s'", (int)vn, v);
		else
			x->r.rev = u;
		break;
	case KW_PRIORITY:
		once(p, &x->seen_prio, kwpos, k->name);
		if (!parse_u32(v, vn, 255, &u) || u == 0)
			hg_diag_error(p->d, vloc, "invalid priority '%.*s' (expected 1..255)", (int)vn, v);
		else
			x->r.priority = u;
		break;
	case KW_FLOW:
		once(p, &x->seen_flow, kwpos, k->name);
		parse_flow(p, x, va, vb);
		break;
	case KW_SSL_STATE:
		once(p, &x->seen_ssl, kwpos, k->name);
		parse_ssl_state(p, x, va, vb);
		break;
	case KW_BUFFER:
		set_buffer(x, (enum hg_buffer)k->arg, loc_at(p, kwpos));
		break;
	case KW_PKT_DATA:
		set_buffer(x, HG_BUF_PAYLOAD, loc_at(p, kwpos));
		break;
	case KW_LEGACY_MOD:
		if (!(m = last_content(p, x, kwpos, k->name)))
			break;
		if (m->buffer != HG_BUF_PAYLOAD) {
			hg_diag_error(p->d, loc_at(p, kwpos), "'%s' modifies a content already in '%s'", k->name,
				      hg_buffer_name(m->buffer));
			break;
		}
		m->buffer = (enum hg_buffer)k->arg;
		break;
	case KW_CONTENT: {
		struct hg_match nm = {.loc = loc_at(p, kwpos), .kind = HG_MATCH_CONTENT, .buffer = x->cur,
				      .dotprefix = x->cur_dot, .offset = -1, .depth = -1,
				      .distance = INT32_MIN, .within = INT32_MIN};
		if (!parse_content(p, va, vb, &nm))
			break;
		hg_vec_push(&x->m, nm);
		x->last = (long)x->m.n - 1;
		x->cur_has = true;
		x->has_content = true;
		break;
	}
	case KW_NOCASE:
		if ((m = last_content(p, x, kwpos, k->name)))
			m->nocase = true;
		break;
	case KW_STARTSWITH:
		if ((m = last_content(p, x, kwpos, k->name)))
			m->startswith = true;
		break;
	case KW_ENDSWITH:
		if ((m = last_content(p, x, kwpos, k->name)))
			m->endswith = true;
		break;
	case KW_DEPTH:
	case KW_OFFSET:
		if (!(m = last_content(p, x, kwpos, k->name)))
			break;
		if (!parse_u32(v, vn, INT32_MAX, &u) || (k->kw == KW_DEPTH && u == 0)) {
			hg_diag_error(p->d, vloc, "invalid %s '%.*s' (expected a %s integer)", k->name, (int)vn, v,
				      k->kw == KW_DEPTH ? "positive" : "non-negative");
			break;
		}
		*(k->kw == KW_DEPTH ? &m->depth : &m->offset) = (int32_t)u;
		break;
	case KW_DISTANCE:
	case KW_WITHIN:
		if (!(m = last_content(p, x, kwpos, k->name)))
			break;
		if (!parse_i32(v, vn, &s) || s == INT32_MIN || (k->kw == KW_WITHIN && s <= 0)) {
			hg_diag_error(p->d, vloc, "invalid %s '%.*s' (expected %s integer)", k->name, (int)vn, v,
				      k->kw == KW_WITHIN ? "a positive" : "an");
			break;
		}
		*(k->kw == KW_WITHIN ? &m->within : &m->distance) = s;
		break;
	case KW_DOTPREFIX:
		if (x->cur == HG_BUF_PAYLOAD) {
			hg_diag_error(p->d, loc_at(p, kwpos),
				      "'dotprefix' transforms a sticky buffer; put it right after tls.sni or http.host");
		} else if (x->cur_has) {
			hg_diag_error(p->d, loc_at(p, kwpos),
				      "'dotprefix' must come before the first content of '%s'", hg_buffer_name(x->cur));
		} else {
			x->cur_dot = true;
		}
		break;
	case KW_ALERT:
		/* Only a pass rule changes: it then logs (reference/anfw.md
		 * §2.2); on an alerting action it changes nothing. */
		if (x->r.action == HG_ACT_PASS)
			x->r.alert_on_pass = true;
		break;
	case KW_NOALERT:
		x->r.noalert = true;
		break;
	case KW_GEOIP:
		once(p, &x->seen_geoip, kwpos, k->name);
		parse_geoip(p, x, va, vb, kwpos);
		break;
	case KW_PCRE:
		parse_pcre(p, x, va, vb, kwpos);
		break;
	case KW_TCP_FLAGS:
		once(p, &x->seen_tcp_flags, kwpos, k->name);
		parse_tcp_flags(p, x, va, vb);
		break;
	case KW_DSIZE:
		once(p, &x->seen_dsize, kwpos, k->name);
		parse_dsize(p, x, va, vb);
		break;
	case KW_SSL_VERSION:
		once(p, &x->seen_sslv, kwpos, k->name);
		parse_ssl_version(p, x, va, vb);
		break;
	case KW_FLOWBITS:
		parse_flowbits(p, x, va, vb);
		break;
	case KW_IP_PROTO:
		parse_ip_proto(p, x, va, vb);
		break;
	case KW_APP_LAYER:
		once(p, &x->seen_app, kwpos, k->name);
		parse_app_layer(p, x, va, vb);
		break;
	case KW_IGNORED:
		break;
	}
}

/* Checks that need the whole rule (a modifier may follow its content). */
static void check_matches(struct sp *p, struct rctx *x)
{
	/* The table holds only client-to-server packets for the daemon: a
	 * per-packet drop of a server-to-client packet, or the alert it logs,
	 * would be the engine's alone (replay would log what live never
	 * could). A plain pass logs nothing and the table passes server
	 * packets anyway (AWS's keep-alive pass rules have a to_client mirror). */
	bool logs = x->r.action != HG_ACT_PASS || x->r.alert_on_pass;
	if ((x->r.has_tcp_flags || x->r.has_dsize) && logs && !(x->r.flow & HG_FLOW_TO_SERVER))
		hg_diag_error(p->d, x->r.loc,
			      "a%s %s rule on %s needs flow:to_server here: the table hands hostgate's daemon "
			      "client-to-server packets only, so it could not %s a server's packet by it",
			      x->r.action == HG_ACT_ALERT ? "n" : "", hg_action_name(x->r.action),
			      x->r.has_tcp_flags ? "tcp.flags" : "dsize",
			      x->r.action == HG_ACT_DROP || x->r.action == HG_ACT_REJECT ? "drop" : "log");
	if ((x->r.ssl_version | x->r.ssl_version_not) && !(x->r.flow & HG_FLOW_TO_SERVER))
		hg_diag_error(p->d, x->r.loc,
			      "ssl_version needs flow:to_server here: hostgate reads the client's ClientHello "
			      "only, never the server's version that Suricata would match on replies");
	bool h2 = x->r.proto == HG_PROTO_HTTP2 ||
		  (x->r.has_app_layer && !x->r.app_layer_not && x->r.app_layer == (int)HG_PROTO_HTTP2);
	for (size_t i = 0; i < x->m.n; i++) {
		const struct hg_match *m = &x->m.v[i];
		/* HTTP/2 sends its headers HPACK-compressed in frames, which
		 * hostgate does not decode (and, inside TLS, never sees): an HTTP
		 * buffer on an http2 flow would never exist. */
		bool http_buf = m->buffer == HG_BUF_HTTP_HOST || m->buffer == HG_BUF_HTTP_HOST_RAW ||
				m->buffer == HG_BUF_HTTP_HEADER_NAMES || m->buffer == HG_BUF_HTTP_URI ||
				m->buffer == HG_BUF_HTTP_URI_RAW || m->buffer == HG_BUF_HTTP_METHOD ||
				m->buffer == HG_BUF_HTTP_USER_AGENT || m->buffer == HG_BUF_HTTP_REQUEST_HEADER;
		if (h2 && http_buf)
			hg_diag_error(p->d, m->loc,
				      "'%s' on HTTP/2: hostgate does not decode HTTP/2 header frames (HPACK), so "
				      "the buffer would never exist; match the TLS SNI instead",
				      hg_buffer_name(m->buffer));
		/* ANFW's rule caveats: "pcre is only allowed together with
		 * content, tls.sni, http.host or dns.query". */
		if (m->kind == HG_MATCH_PCRE && !x->has_content && m->buffer != HG_BUF_TLS_SNI &&
		    m->buffer != HG_BUF_HTTP_HOST && m->buffer != HG_BUF_DNS_QUERY)
			hg_diag_error(p->d, m->loc,
				      "pcre on '%s' without a content: ANFW allows pcre only together with "
				      "content, tls.sni, http.host or dns.query",
				      hg_buffer_name(m->buffer));
		if (m->kind != HG_MATCH_CONTENT)
			continue;
		if (m->startswith && (m->offset >= 0 || m->depth >= 0 || m->distance != INT32_MIN ||
				      m->within != INT32_MIN))
			hg_diag_error(p->d, m->loc, "'startswith' cannot be combined with depth, offset, distance "
						    "or within");
		if (m->buffer == HG_BUF_HTTP_HOST) {
			/* Suricata rejects both: http.host is normalised to lower case. */
			if (m->nocase) {
				hg_diag_error(p->d, m->loc,
					      "'nocase' is not allowed with http.host: the buffer is normalised to "
					      "lower case (use a lower-case pattern, or http.host.raw)");
			} else {
				for (size_t k = 0; k < m->len; k++)
					if (m->bytes[k] >= 'A' && m->bytes[k] <= 'Z') {
						hg_diag_error(p->d, m->loc,
							      "http.host content has upper-case characters; the buffer "
							      "is normalised to lower case, so it can never match");
						break;
					}
			}
		}
	}
}

/* The options between '(' and ')': keyword[:value]; ... */
static bool parse_options(struct sp *p, struct rctx *x, size_t i, size_t end)
{
	for (;;) {
		i = skip_ws(p, i, end);
		if (i >= end)
			break;
		size_t ka = i;
		while (i < end && !is_ws(p->c.v[i]) && p->c.v[i] != ':' && p->c.v[i] != ';')
			i++;
		size_t kb = i;
		if (ka == kb) {
			hg_diag_error(p->d, loc_at(p, ka), "expected an option keyword, found '%c'", p->c.v[ka]);
			return false;
		}
		const struct kwdef *k = find_keyword(p->c.v + ka, kb - ka);
		char kwname[64];
		snprintf(kwname, sizeof(kwname), "%.*s", (int)HG_MIN(kb - ka, (size_t)63), p->c.v + ka);
		i = skip_ws(p, i, end);
		size_t va = 0, vb = 0;
		bool has_value = false, terminated = true;
		if (i < end && p->c.v[i] == ':') {
			has_value = true;
			i++;
			/* The value runs to the first ';' outside quotes; '\'
			 * escapes the next byte. */
			bool q = false;
			size_t qa = 0, j;
			for (j = i; j < end; j++) {
				char c = p->c.v[j];
				if (c == '\\') {
					j++;
					continue;
				}
				if (c == '"') {
					qa = q ? qa : j;
					q = !q;
				} else if (c == ';' && !q) {
					break;
				}
			}
			if (q) {
				hg_diag_error(p->d, loc_at(p, qa), "unterminated string (no closing '\"')");
				return false; /* the rest of the rule is inside the string */
			}
			if (j > end)
				j = end;
			va = skip_ws(p, i, j);
			vb = j;
			while (vb > va && is_ws(p->c.v[vb - 1]))
				vb--;
			terminated = j < end;
			i = j;
		} else if (i < end && p->c.v[i] != ';') {
			hg_diag_error(p->d, loc_at(p, i), "missing ';' after option '%s'", kwname);
			return false;
		} else if (i >= end) {
			terminated = false;
		}
		if (!terminated)
			hg_diag_error(p->d, loc_at(p, end), "missing ';' after option '%s'", kwname);
		i++; /* past ';' */

		if (!k) {
			unsupported(p, ka, p->c.v + ka, kb - ka);
		} else if (has_value && k->value == V_NONE) {
			hg_diag_error(p->d, loc_at(p, ka), "'%s' takes no value", k->name);
		} else if (!has_value && k->value == V_REQUIRED) {
			hg_diag_error(p->d, loc_at(p, ka), "'%s' needs a value ('%s:...;')", k->name, k->name);
		} else if (has_value && k->value == V_REQUIRED && va == vb) {
			hg_diag_error(p->d, loc_at(p, va), "empty value for '%s'", k->name);
		} else {
			apply_option(p, x, k, ka, va, vb);
		}
		if (!terminated)
			return true;
	}
	return true;
}

/* ---------------------------------------------------------------- rules */

static size_t sid_hash(uint32_t sid, size_t cap)
{
	return (size_t)((sid * 2654435761u) & (cap - 1));
}

static struct sid_slot *sid_find(struct sp *p, uint32_t sid)
{
	if (!p->sid_cap)
		return NULL;
	for (size_t h = sid_hash(sid, p->sid_cap);; h = (h + 1) & (p->sid_cap - 1)) {
		if (p->sids[h].sid == sid)
			return &p->sids[h];
		if (!p->sids[h].sid)
			return NULL;
	}
}

static void sid_insert(struct sp *p, uint32_t sid, struct hg_loc loc)
{
	if ((p->sid_n + 1) * 2 > p->sid_cap) {
		size_t ncap = p->sid_cap ? p->sid_cap * 2 : 256;
		struct sid_slot *n = xcalloc(ncap, sizeof(*n));
		for (size_t i = 0; i < p->sid_cap; i++) {
			if (!p->sids[i].sid)
				continue;
			size_t h = sid_hash(p->sids[i].sid, ncap);
			while (n[h].sid)
				h = (h + 1) & (ncap - 1);
			n[h] = p->sids[i];
		}
		free(p->sids);
		p->sids = n;
		p->sid_cap = ncap;
	}
	size_t h = sid_hash(sid, p->sid_cap);
	while (p->sids[h].sid)
		h = (h + 1) & (p->sid_cap - 1);
	p->sids[h] = (struct sid_slot){sid, loc};
	p->sid_n++;
}

static bool parse_action(const char *s, size_t n, enum hg_action *a)
{
	static const enum hg_action acts[] = {HG_ACT_PASS, HG_ACT_DROP, HG_ACT_REJECT, HG_ACT_ALERT};
	for (size_t i = 0; i < HG_ARRAY_LEN(acts); i++)
		if (word_eq(s, n, hg_action_name(acts[i]))) {
			*a = acts[i];
			return true;
		}
	return false;
}

/* action proto src sport dir dst dport (options) on p->c[from, p->c.n). */
static void parse_rule(struct sp *p, size_t from)
{
	size_t errors = p->d->errors;
	size_t n = p->c.n;
	while (n > from && is_ws(p->c.v[n - 1]))
		n--;
	struct rctx x = {.cur = HG_BUF_PAYLOAD, .last = -1};
	x.r.loc = loc_at(p, from);

	/* The options: first '(' to last ')'. Header fields hold no '('. */
	const char *open_p = memchr(p->c.v + from, '(', n - from);
	size_t open = open_p ? (size_t)(open_p - p->c.v) : n;
	size_t close = n;
	if (open < n) {
		for (size_t k = n; k > open + 1; k--)
			if (p->c.v[k - 1] == ')') {
				close = k - 1;
				break;
			}
		if (close == n)
			hg_diag_error(p->d, loc_at(p, open),
				      "unbalanced parentheses: this '(' is never closed by ')'");
		else if (skip_ws(p, close + 1, n) < n)
			hg_diag_error(p->d, loc_at(p, skip_ws(p, close + 1, n)),
				      "unexpected text after the closing ')' of the options");
	}

	/* The header: seven whitespace-separated fields (brackets may hold
	 * spaces). */
	static const char *const field_names[] = {"an action", "a protocol", "a source address",
						   "a source port", "a direction ('->' or '<>')",
						   "a destination address", "a destination port"};
	size_t fa[7], fb[7], nf = 0, i = from;
	for (;;) {
		i = skip_ws(p, i, open);
		if (i >= open)
			break;
		size_t a = i;
		int depth = 0;
		while (i < open && (depth > 0 || !is_ws(p->c.v[i]))) {
			if (p->c.v[i] == '[')
				depth++;
			else if (p->c.v[i] == ']' && depth > 0)
				depth--;
			i++;
		}
		if (nf == 7) {
			hg_diag_error(p->d, loc_at(p, a), "unexpected '%.*s' after the rule header; expected '('",
				      (int)(i - a), p->c.v + a);
			goto out;
		}
		fa[nf] = a;
		fb[nf++] = i;
	}
	if (nf < 7) {
		hg_diag_error(p->d, loc_at(p, open), "incomplete rule header: expected %s", field_names[nf]);
		goto out;
	}
	if (open >= n)
		hg_diag_error(p->d, loc_at(p, n), "rule has no options: expected '(' after the destination port");

	const char *s = p->c.v;
	if (!parse_action(s + fa[0], fb[0] - fa[0], &x.r.action))
		hg_diag_error(p->d, loc_at(p, fa[0]), "unknown action '%.*s' (expected pass, drop, reject or alert)",
			      (int)(fb[0] - fa[0]), s + fa[0]);
	char *proto = arena_text(p, fa[1], fb[1]);
	if (!hg_proto_from_name(proto, &x.r.proto)) {
		const char *why = hg_proto_refusal(proto);
		if (why)
			hg_diag_error(p->d, loc_at(p, fa[1]), "protocol '%s' cannot be detected: %s", proto, why);
		else
			hg_diag_error(p->d, loc_at(p, fa[1]), "unknown protocol '%s' (hostgate detects %s)", proto,
				      hg_proto_names_list());
	}
	x.r.src = parse_field(p, fa[2], fb[2], false);
	x.r.sport = parse_field(p, fa[3], fb[3], true);
	size_t dn = fb[4] - fa[4];
	if (dn == 2 && !memcmp(s + fa[4], "->", 2))
		x.r.bidirectional = false;
	else if (dn == 2 && !memcmp(s + fa[4], "<>", 2))
		x.r.bidirectional = true;
	else
		hg_diag_error(p->d, loc_at(p, fa[4]), "invalid direction '%.*s' (expected '->' or '<>')", (int)dn,
			      s + fa[4]);
	x.r.dst = parse_field(p, fa[5], fb[5], false);
	x.r.dport = parse_field(p, fa[6], fb[6], true);

	bool complete = open < n && parse_options(p, &x, open + 1, close);
	close_buffer(&x);
	check_matches(p, &x);
	if (complete && !x.seen_sid)
		hg_diag_error(p->d, x.r.loc, "rule has no 'sid' option (every rule needs a unique sid)");
	if (p->d->errors != errors)
		goto out;

	struct sid_slot *first = sid_find(p, x.r.sid);
	if (first) {
		hg_diag_error(p->d, x.r.loc, "duplicate sid %u in rule group '%s'", x.r.sid,
			      p->g->name ? p->g->name : "?");
		hg_diag_note(p->d, first->loc, "sid %u is first used here", x.r.sid);
		goto out;
	}
	sid_insert(p, x.r.sid, x.r.loc);

	struct hg_rule *r = hg_arena_alloc(p->rs->arena, sizeof(*r));
	*r = x.r;
	r->n_matches = x.m.n;
	if (x.m.n) {
		r->matches = hg_arena_alloc(p->rs->arena, x.m.n * sizeof(*r->matches));
		memcpy(r->matches, x.m.v, x.m.n * sizeof(*r->matches));
	}
	r->n_flowbits = x.fb.n;
	if (x.fb.n) {
		r->flowbits = hg_arena_alloc(p->rs->arena, x.fb.n * sizeof(*r->flowbits));
		memcpy(r->flowbits, x.fb.v, x.fb.n * sizeof(*r->flowbits));
	}
	r->text = arena_text(p, from, n);
	hg_vec_push(&p->rules, r);
out:
	hg_vec_free(&x.m);
	hg_vec_free(&x.fb);
}

/* --------------------------------------------------------------- lines */

static void push_byte(struct sp *p, char c, uint32_t line, uint32_t col)
{
	hg_vec_push(&p->c, c);
	hg_vec_push(&p->p, ((struct pos){line, col}));
}

bool hg_load_suricata(struct hg_ruleset *rs, struct hg_rule_group *g, const char *text, size_t len,
		      struct hg_loc base, bool base_is_block, struct hg_diag *d)
{
	struct sp p = {.rs = rs, .g = g, .d = d, .base = base, .block = base_is_block};
	size_t errors = d->errors;
	/* Rules already in the group (a second RulesString) keep their sids. */
	for (size_t k = 0; k < g->n_rules; k++)
		if (g->rules[k]->sid && !sid_find(&p, g->rules[k]->sid))
			sid_insert(&p, g->rules[k]->sid, g->rules[k]->loc);

	size_t i = 0;
	uint32_t k = 0; /* physical line index within text */
	while (i < len) {
		p.c.n = p.p.n = 0;
		/* One logical line: physical lines joined while one ends in '\'
		 * (a comment line never continues). */
		for (;;) {
			const char *nl = memchr(text + i, '\n', len - i);
			size_t eol = nl ? (size_t)(nl - text) : len;
			size_t le = eol;
			if (le > i && text[le - 1] == '\r')
				le--;
			bool comment = false;
			if (p.c.n == 0) {
				size_t f = i;
				while (f < le && (text[f] == ' ' || text[f] == '\t'))
					f++;
				comment = f < le && text[f] == '#';
			}
			bool cont = !comment && le > i && text[le - 1] == '\\';
			size_t ce = cont ? le - 1 : le;
			uint32_t line = base.line + k;
			uint32_t col0 = k == 0 ? base.col : (base_is_block ? base.col : 1);
			if (col0 == 0)
				col0 = 1;
			for (size_t j = i; j < ce; j++)
				push_byte(&p, text[j], line, col0 + (uint32_t)(j - i));
			i = nl ? eol + 1 : len;
			k++;
			if (!cont || i >= len)
				break;
		}
		size_t f = skip_ws(&p, 0, p.c.n);
		if (f >= p.c.n || p.c.v[f] == '#')
			continue;
		parse_rule(&p, f);
	}

	if (p.rules.n) {
		struct hg_rule **v = hg_arena_alloc(rs->arena, (g->n_rules + p.rules.n) * sizeof(*v));
		if (g->n_rules)
			memcpy(v, g->rules, g->n_rules * sizeof(*v));
		memcpy(v + g->n_rules, p.rules.v, p.rules.n * sizeof(*v));
		g->rules = v;
		g->n_rules += p.rules.n;
	}
	hg_vec_free(&p.rules);
	hg_vec_free(&p.c);
	hg_vec_free(&p.p);
	free(p.sids);
	return d->errors == errors;
}
