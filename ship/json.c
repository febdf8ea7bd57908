/* json.c - a validating JSON walker (RFC 8259) that returns slices, and a
 * writer of request bodies. Used on untrusted bytes: API answers, IMDS
 * documents, every log line's timestamp. Fuzzed by fuzz/fuzz_ship_json.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "hostgate/util.h"

struct cur {
	const char *p, *e;
	int depth;
};

static void ws(struct cur *c)
{
	while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* At '"': steps over the string (escapes checked, raw bytes UTF-8
 * checked); *s, *n get its body. */
static bool skip_string(struct cur *c, const char **s, size_t *n)
{
	c->p++;
	const char *start = c->p;
	while (c->p < c->e) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '"') {
			*s = start;
			*n = (size_t)(c->p - start);
			size_t bad;
			c->p++;
			return hg_utf8_valid((const unsigned char *)start, *n, &bad);
		}
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->e - c->p < 2)
				return false;
			char esc = c->p[1];
			if (esc == 'u') {
				if (c->e - c->p < 6)
					return false;
				for (int k = 2; k < 6; k++)
					if (hg_hex_digit((unsigned char)c->p[k]) < 0)
						return false;
				c->p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", esc) || !esc)
				return false;
			c->p += 2;
			continue;
		}
		c->p++;
	}
	return false;
}

/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool skip_number(struct cur *c)
{
	const char *p = c->p, *e = c->e;
	if (p < e && *p == '-')
		p++;
	if (p >= e)
		return false;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (p < e && *p == '.') {
		p++;
		if (p >= e || *p < '0' || *p > '9')
			return false;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9')
			return false;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	c->p = p;
	return true;
}

static bool lit(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->e - c->p) < n || memcmp(c->p, word, n))
		return false;
	c->p += n;
	return true;
}

/* Does the (escaped) key s[0..n) equal name? */
static bool key_eq(const char *s, size_t n, const char *name)
{
	if (!memchr(s, '\\', n))
		return strlen(name) == n && !memcmp(s, name, n);
	char buf[256];
	struct json_val v = {JSON_STRING, s, n};
	return json_string(&v, buf, sizeof(buf)) && !strcmp(buf, name);
}

/* Parses one value at c. When want is set and *path is NULL, this value is
 * the one sought: recorded in out. When want is set and *path names a
 * member, the search goes on inside this value if it is an object. */
static bool value(struct cur *c, const char *const *path, bool want, struct json_val *out)
{
	ws(c);
	if (c->p >= c->e)
		return false;
	const char *start = c->p;
	enum json_type t;
	bool here = want && !*path;
	switch (*c->p) {
	case '{': {
		t = JSON_OBJECT;
		if (++c->depth > JSON_MAX_DEPTH)
			return false;
		c->p++;
		ws(c);
		if (c->p < c->e && *c->p == '}') {
			c->p++;
			c->depth--;
			break;
		}
		for (;;) {
			ws(c);
			const char *k;
			size_t kn;
			if (c->p >= c->e || *c->p != '"' || !skip_string(c, &k, &kn))
				return false;
			ws(c);
			if (c->p >= c->e || *c->p != ':')
				return false;
			c->p++;
			bool descend = want && *path && out->type == JSON_NONE && key_eq(k, kn, *path);
			if (!value(c, descend ? path + 1 : path, descend, out))
				return false;
			ws(c);
			if (c->p < c->e && *c->p == ',') {
				c->p++;
				continue;
			}
			if (c->p < c->e && *c->p == '}') {
				c->p++;
				break;
			}
			return false;
		}
		c->depth--;
		break;
	}
	case '[':
		t = JSON_ARRAY;
		if (++c->depth > JSON_MAX_DEPTH)
			return false;
		c->p++;
		ws(c);
		if (c->p < c->e && *c->p == ']') {
			c->p++;
			c->depth--;
			break;
		}
		for (;;) {
			if (!value(c, path, false, out))
				return false;
			ws(c);
			if (c->p < c->e && *c->p == ',') {
				c->p++;
				continue;
			}
			if (c->p < c->e && *c->p == ']') {
				c->p++;
				break;
			}
			return false;
		}
		c->depth--;
		break;
	case '"': {
		const char *s;
		size_t n;
		if (!skip_string(c, &s, &n))
			return false;
		if (here) {
			out->type = JSON_STRING;
			out->p = s;
			out->n = n;
		}
		return true;
	}
	case 't':
		t = JSON_TRUE;
		if (!lit(c, "true"))
			return false;
		break;
	case 'f':
		t = JSON_FALSE;
		if (!lit(c, "false"))
			return false;
		break;
	case 'n':
		t = JSON_NULL;
		if (!lit(c, "null"))
			return false;
		break;
	default:
		t = JSON_NUMBER;
		if (!skip_number(c))
			return false;
		break;
	}
	if (here) {
		out->type = t;
		out->p = start;
		out->n = (size_t)(c->p - start);
	}
	return true;
}

static bool walk(const char *s, size_t n, const char *const *path, bool want, struct json_val *out)
{
	struct cur c = {s, s + n, 0};
	out->type = JSON_NONE;
	out->p = NULL;
	out->n = 0;
	if (!value(&c, path, want, out))
		goto bad;
	ws(&c);
	if (c.p != c.e)
		goto bad;
	return true;
bad:
	out->type = JSON_NONE;
	return false;
}

bool json_valid(const char *s, size_t n)
{
	static const char *const none[] = {NULL};
	struct json_val v;
	return walk(s, n, none, false, &v);
}

bool json_lookup(const char *s, size_t n, const char *const *path, struct json_val *out)
{
	return walk(s, n, path, true, out);
}

bool json_get(const char *s, size_t n, const char *const *path, struct json_val *out)
{
	return walk(s, n, path, true, out) && out->type != JSON_NONE;
}

bool json_getv(const char *s, size_t n, struct json_val *out, ...)
{
	const char *path[9];
	size_t k = 0;
	va_list ap;
	va_start(ap, out);
	for (const char *key; (key = va_arg(ap, const char *)) && k < 8;)
		path[k++] = key;
	va_end(ap);
	path[k] = NULL;
	return json_get(s, n, path, out);
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t hex4(const char *p)
{
	return (uint32_t)(hg_hex_digit((unsigned char)p[0]) << 12 | hg_hex_digit((unsigned char)p[1]) << 8 |
			  hg_hex_digit((unsigned char)p[2]) << 4 | hg_hex_digit((unsigned char)p[3]));
}

bool json_string(const struct json_val *v, char *buf, size_t cap)
{
	if (v->type != JSON_STRING || !cap)
		return false;
	const char *p = v->p, *e = v->p + v->n;
	size_t o = 0;
	while (p < e) {
		char tmp[4];
		size_t tn;
		if (*p != '\\') {
			tmp[0] = *p++;
			tn = 1;
		} else {
			/* the walker checked the escapes' shape */
			char esc = p[1];
			p += 2;
			switch (esc) {
			case 'b': tmp[0] = '\b'; tn = 1; break;
			case 'f': tmp[0] = '\f'; tn = 1; break;
			case 'n': tmp[0] = '\n'; tn = 1; break;
			case 'r': tmp[0] = '\r'; tn = 1; break;
			case 't': tmp[0] = '\t'; tn = 1; break;
			case 'u': {
				uint32_t cp = hex4(p);
				p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return false;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
						return false;
					uint32_t lo = hex4(p + 2);
					if (lo < 0xdc00 || lo > 0xdfff)
						return false;
					p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (!cp)
					return false;
				tn = put_utf8(tmp, cp);
				break;
			}
			default: tmp[0] = esc; tn = 1; break;
			}
		}
		if (o + tn >= cap)
			return false;
		memcpy(buf + o, tmp, tn);
		o += tn;
	}
	buf[o] = 0;
	return true;
}

bool json_int(const struct json_val *v, int64_t *out)
{
	if (v->type != JSON_NUMBER || !v->n || v->n > 20)
		return false;
	char buf[24];
	memcpy(buf, v->p, v->n);
	buf[v->n] = 0;
	if (strpbrk(buf, ".eE"))
		return false;
	char *end;
	errno = 0;
	long long x = strtoll(buf, &end, 10);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

bool json_array_each(const struct json_val *v, bool (*fn)(void *ud, const struct json_val *el), void *ud)
{
	if (v->type != JSON_ARRAY)
		return false;
	struct cur c = {v->p + 1, v->p + v->n - 1, 0};
	ws(&c);
	if (c.p == c.e)
		return true;
	for (;;) {
		static const char *const here[] = {NULL};
		struct json_val el = {JSON_NONE, NULL, 0};
		if (!value(&c, here, true, &el))
			return false;
		if (!fn(ud, &el))
			return true;
		ws(&c);
		if (c.p == c.e)
			return true;
		if (*c.p != ',')
			return false;
		c.p++;
	}
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool iso8601_us(const char *s, size_t n, int64_t *us)
{
	int Y, M, D, h, mi, sec;
	if (n < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
	    !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60)
		return false;
	size_t i = 19;
	int64_t frac = 0;
	if (i < n && s[i] == '.') {
		i++;
		int k = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (k < 6) {
				frac = frac * 10 + (s[i] - '0');
				k++;
			}
			i++;
		}
		if (!k)
			return false;
		while (k++ < 6)
			frac *= 10;
	}
	int off = 0;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		int sign = s[i] == '-' ? -1 : 1;
		i++;
		if (n - i >= 5 && s[i + 2] == ':' && digits(s + i, 2, &oh) && digits(s + i + 3, 2, &om))
			i += 5;
		else if (n - i >= 4 && digits(s + i, 2, &oh) && digits(s + i + 2, 2, &om))
			i += 4;
		else
			return false;
		if (oh > 23 || om > 59)
			return false;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return false;
	}
	if (i != n)
		return false;
	int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - off;
	*us = t * 1000000 + frac;
	return true;
}

/* ---------------------------------------------------------------- writer */

void jbuf_reserve(struct jbuf *b, size_t more)
{
	if (b->n + more + 1 <= b->cap)
		return;
	size_t nc = b->cap ? b->cap : 4096;
	while (nc < b->n + more + 1)
		nc *= 2;
	b->p = xrealloc(b->p, nc);
	b->cap = nc;
}

void jbuf_put(struct jbuf *b, const char *s, size_t n)
{
	jbuf_reserve(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_put(b, s, strlen(s));
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	jbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

void jbuf_put_string(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	jbuf_reserve(b, n * 6 + 2);
	char *o = b->p + b->n;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch < 0x20) {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		} else {
			*o++ = (char)ch;
		}
	}
	*o++ = '"';
	b->n = (size_t)(o - b->p);
	b->p[b->n] = 0;
}

void jbuf_free(struct jbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}
