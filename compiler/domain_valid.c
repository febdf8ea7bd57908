/* domain_valid.c - checks a domain-list target (RulesSourceList.Targets).
 * Host-name syntax (RFC 1123 §2.1, plus '_' which real names carry) with
 * ANFW's one wildcard form, a leading dot (reference/anfw.md §1.2). */
#include "hostgate/domain.h"

#include <string.h>

static bool label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static bool fail(const char **why, size_t *bad_off, const char *msg, size_t off)
{
	*why = msg;
	*bad_off = off;
	return false;
}

bool hg_domain_valid(const char *name, size_t len, const char **why, size_t *bad_off)
{
	/* '*' first: it is the mistake people make, and the hint is the fix. */
	const char *star = memchr(name, '*', len);
	if (star)
		return fail(why, bad_off,
			    "'*' is not domain-list syntax; use a leading dot ('.example.com') to match a "
			    "domain and its subdomains",
			    (size_t)(star - name));
	if (len == 0)
		return fail(why, bad_off, "empty domain name", 0);

	size_t start = name[0] == '.' ? 1 : 0; /* the wildcard dot */
	size_t end = len;
	if (end > start && name[end - 1] == '.')
		end--; /* one trailing dot: the absolute form of the same name */
	if (end == start) /* "." or ".." */
		return len == 1 ? fail(why, bad_off, "a lone '.' names no domain", 0)
				: fail(why, bad_off, "empty label (two dots)", 1);
	if (end - start > 253)
		return fail(why, bad_off, "domain name longer than 253 characters", start + 253);

	size_t label = start;
	for (size_t i = start; i <= end; i++) {
		if (i == end || name[i] == '.') {
			if (i == label)
				return fail(why, bad_off, "empty label (two dots)", i);
			if (name[label] == '-')
				return fail(why, bad_off, "label starts with '-'", label);
			if (name[i - 1] == '-')
				return fail(why, bad_off, "label ends with '-'", i - 1);
			label = i + 1;
			continue;
		}
		unsigned char c = (unsigned char)name[i];
		if (!label_char(c)) {
			if (c == ' ' || c == '\t')
				return fail(why, bad_off, "whitespace inside a domain name", i);
			if (c >= 0x80)
				return fail(why, bad_off,
					    "non-ASCII character; write internationalized names in "
					    "their xn-- (punycode) form",
					    i);
			return fail(why, bad_off,
				    "invalid character (a label holds only letters, digits, '-' and '_')", i);
		}
		if (i - label == 63)
			return fail(why, bad_off, "label longer than 63 characters", i);
	}
	return true;
}
