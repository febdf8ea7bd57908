/* http_uri.c - the normalised request URI that Suricata's http.uri
 * matches (libhtp with Suricata's defaults: the IDS personality, its
 * lower-casing turned off, uri-include-all off), so that %-encoding, "..",
 * doubled or backslash separators do not slip past a rule on the path:
 *   - absolute-form "scheme://authority/path?q": only "/path?q";
 *   - the path: %XX and %uHHHH decoded (%2F included: path-decode-separators),
 *     '\' taken for '/', dot segments removed (RFC 3986 §5.2.4), runs of '/'
 *     compressed; a %-sequence that is not one stays as written;
 *   - the query after '?' as sent; a '#' fragment dropped.
 * http.uri.raw is the request-target as sent. */
#include "hostgate/appparse.h"

#include <string.h>

#include "hostgate/util.h"

/* %XX and %uHHHH (a code point past 0xff becomes '?', libhtp's best-fit
 * replacement); backslash to slash. Returns the decoded length. */
static size_t decode_path(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c == '%' && i + 2 < n && hg_hex_digit(s[i + 1]) >= 0 &&
		    hg_hex_digit(s[i + 2]) >= 0) {
			c = (uint8_t)(hg_hex_digit(s[i + 1]) << 4 | hg_hex_digit(s[i + 2]));
			i += 2;
		} else if (c == '%' && i + 5 < n && (s[i + 1] == 'u' || s[i + 1] == 'U') &&
			   hg_hex_digit(s[i + 2]) >= 0 && hg_hex_digit(s[i + 3]) >= 0 &&
			   hg_hex_digit(s[i + 4]) >= 0 && hg_hex_digit(s[i + 5]) >= 0) {
			unsigned cp = (unsigned)(hg_hex_digit(s[i + 2]) << 12 | hg_hex_digit(s[i + 3]) << 8 |
						 hg_hex_digit(s[i + 4]) << 4 | hg_hex_digit(s[i + 5]));
			c = cp < 0x100 ? (uint8_t)cp : '?';
			i += 5;
		}
		out[o++] = c == '\\' ? '/' : c;
	}
	return o;
}

/* RFC 3986 §5.2.4 remove_dot_segments, in place, with runs of '/'
 * compressed first. */
static size_t dot_segments(uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (!(p[i] == '/' && o && p[o - 1] == '/'))
			p[o++] = p[i];
	n = o;
	size_t in = 0;
	o = 0;
	while (in < n) {
		size_t rest = n - in;
		const uint8_t *s = p + in;
		if (rest >= 3 && !memcmp(s, "../", 3)) {
			in += 3;
		} else if (rest >= 2 && !memcmp(s, "./", 2)) {
			in += 2;
		} else if (rest >= 3 && !memcmp(s, "/./", 3)) {
			in += 2;
		} else if (rest == 2 && !memcmp(s, "/.", 2)) {
			p[in + 1] = '/';
			in += 1;
		} else if ((rest >= 4 && !memcmp(s, "/../", 4)) || (rest == 3 && !memcmp(s, "/..", 3))) {
			/* drop the last output segment */
			while (o > 0 && p[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			if (rest == 3) {
				p[in + 2] = '/';
				in += 2;
			} else {
				in += 3;
			}
		} else if ((rest == 1 && s[0] == '.') || (rest == 2 && !memcmp(s, "..", 2))) {
			in = n;
		} else {
			/* move the first segment (with its leading '/') */
			size_t k = 1;
			while (k < rest && s[k] != '/')
				k++;
			if (s[0] != '/')
				for (k = 0; k < rest && s[k] != '/'; k++)
					;
			memmove(p + o, s, k);
			o += k;
			in += k;
		}
	}
	return o;
}

size_t http_uri_normalise(const uint8_t *t, size_t n, uint8_t *out)
{
	size_t a = 0;
	/* absolute-form: scheme "://" authority: keep what follows it */
	size_t i = 0;
	while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
			 (i && ((t[i] >= '0' && t[i] <= '9') || t[i] == '+' || t[i] == '-' || t[i] == '.'))))
		i++;
	if (i && n - i >= 3 && !memcmp(t + i, "://", 3)) {
		a = i + 3;
		while (a < n && t[a] != '/' && t[a] != '?' && t[a] != '#')
			a++;
	}
	size_t e = a;
	while (e < n && t[e] != '#')
		e++;
	size_t q = a;
	while (q < e && t[q] != '?')
		q++;
	size_t o = decode_path(t + a, q - a, out);
	o = dot_segments(out, o);
	memcpy(out + o, t + q, e - q);
	return o + (e - q);
}
