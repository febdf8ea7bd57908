/* term_escape.c - names from the wire made safe for a terminal table: a
 * hostile SNI or Host could otherwise split rows (CR, LF), move the cursor
 * or recolour the screen (ESC), reorder what is shown (Unicode bidi
 * overrides, Trojan Source, CVE-2021-42574), hide characters (zero-width)
 * or leave the terminal mid-sequence (invalid UTF-8). What is escaped is
 * written so it cannot be mistaken for the name: \xNN for a byte,
 * \uXXXX for a code point, \\ for a backslash. */
#include "cli.h"

#include <string.h>

/* Code points a terminal must not be given raw. */
static bool invisible_or_reordering(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)   /* C0, DEL, C1 controls */
	       || cp == 0x061c                            /* Arabic letter mark */
	       || (cp >= 0x200b && cp <= 0x200f)          /* zero-width, LRM, RLM */
	       || (cp >= 0x2028 && cp <= 0x202e)          /* line/para separators, embeddings, overrides */
	       || (cp >= 0x2060 && cp <= 0x2069)          /* word joiner .. isolates */
	       || cp == 0xfeff;                           /* zero-width no-break space */
}

/* Length of the UTF-8 sequence at s (RFC 3629), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
					: (s[0] & 0xf8) == 0xf0			    ? 4
												    : 0;
	if (!len || len > n || !hg_utf8_valid(s, len, NULL))
		return 0;
	return len;
}

static uint32_t utf8_decode(const unsigned char *s, size_t len)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

char *cli_term_escape(const char *str)
{
	if (!str)
		return xstrdup("");
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	/* At most 4 output bytes per input byte: a byte becomes at most
	 * \xNN, a 2-byte C1 control or a 3-byte code point at most \uXXXX. */
	char *out = xmalloc(n * 4 + 1), *p = out;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(s + i, n - i);
		if (!len) {
			p += sprintf(p, "\\x%02x", s[i]);
			i++;
			continue;
		}
		uint32_t cp = utf8_decode(s + i, len);
		if (cp == '\\') {
			memcpy(p, "\\\\", 2);
			p += 2;
		} else if (invisible_or_reordering(cp)) {
			p += cp < 0x80 ? sprintf(p, "\\x%02x", (unsigned)cp) : sprintf(p, "\\u%04x", (unsigned)cp);
		} else {
			memcpy(p, s + i, len);
			p += len;
		}
		i += len;
	}
	*p = 0;
	return out;
}
