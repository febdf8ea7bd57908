/* json.h - the shipper's JSON: a strict reader for the few values it needs
 * from untrusted bytes (API answers, IMDS documents, log lines' timestamps)
 * and a writer of request bodies into a growable buffer.
 *
 * The reader never allocates and never builds a tree: it validates as it
 * walks (RFC 8259) and returns slices into the input. A lookup walks the
 * whole top-level value, so a document that is not valid JSON is refused
 * even when the wanted member comes first. Depth is capped (JSON_MAX_DEPTH):
 * hostile nesting cannot exhaust the stack. */
#ifndef HOSTGATE_SHIP_JSON_H
#define HOSTGATE_SHIP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NONE, JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

/* A value found in a document: its bytes (a string's without the quotes,
 * still escaped). */
struct json_val {
	enum json_type type;
	const char *p;
	size_t n;
};

/* True when s[0..n) is one valid JSON value (whitespace around allowed). */
bool json_valid(const char *s, size_t n);

/* Finds the member reached by following keys (NULL-terminated list of
 * object member names, each level an object) in the document s[0..n).
 * Keys are compared with the document's names after unescaping. Returns
 * false when the document is invalid or the path is absent (out->type
 * JSON_NONE). The first of duplicate names wins. */
bool json_get(const char *s, size_t n, const char *const *path, struct json_val *out);
/* Same, but says whether the document is valid: true with out->type
 * JSON_NONE when valid and the path is absent. */
bool json_lookup(const char *s, size_t n, const char *const *path, struct json_val *out);
/* Same, for a path given as arguments: json_get1(s, n, &v, "a", "b", NULL). */
bool json_getv(const char *s, size_t n, struct json_val *out, ...);

/* A string value unescaped into buf (NUL-terminated; \u escapes to UTF-8,
 * surrogate pairs joined, a lone surrogate refused). False when v is not a
 * string, does not fit, or holds a NUL. */
bool json_string(const struct json_val *v, char *buf, size_t cap);
/* A number value as a signed 64-bit integer (no fraction or exponent). */
bool json_int(const struct json_val *v, int64_t *out);

/* Calls fn for each element of an array value; stops early when fn returns
 * false. False when v is not a valid array. */
bool json_array_each(const struct json_val *v, bool (*fn)(void *ud, const struct json_val *el), void *ud);

/* An ISO 8601 / RFC 3339 time "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|+HHMM)"
 * (Suricata writes "+0000"; IMDS writes "Z") as epoch microseconds. */
bool iso8601_us(const char *s, size_t n, int64_t *us);

/* ---------------------------------------------------------------- writer */

struct jbuf {
	char *p;
	size_t n, cap;
};

void jbuf_reserve(struct jbuf *b, size_t more);
void jbuf_put(struct jbuf *b, const char *s, size_t n);
void jbuf_puts(struct jbuf *b, const char *s);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0..n) as a JSON string, quotes included. The bytes must be valid UTF-8
 * (checked by the caller): '"', '\\' and control characters escaped, the
 * rest copied. */
void jbuf_put_string(struct jbuf *b, const char *s, size_t n);
void jbuf_free(struct jbuf *b);

#endif
