/* refset.c - the CIDR file behind an @NAME IP set reference: one address or
 * CIDR a line (what `aws ec2 get-managed-prefix-list-entries --query
 * 'Entries[].Cidr' --output text | tr '\t' '\n'` prints). */
#include "hostgate/refset.h"

#include <errno.h>
#include <string.h>

bool hg_refset_load(struct hg_arena *arena, const char *path, size_t max_bytes, struct hg_ipset *out,
		    struct hg_diag *d)
{
	const char *file = hg_arena_strdup(arena, path);
	char *text;
	size_t len;
	int r = hg_read_file(path, max_bytes, &text, &len);
	if (r < 0) {
		hg_diag_error(d, (struct hg_loc){file, 0, 0}, "cannot read reference set: %s",
			      r == -EFBIG ? "file too large" : strerror(-r));
		return false;
	}
	struct hg_ipset s = {0};
	size_t cap = 0, errors = d->errors;
	uint32_t line = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len;
		line++;
		size_t ls = i, a = i, b = e;
		while (a < b && (text[a] == ' ' || text[a] == '\t'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		i = nl ? e + 1 : len;
		if (a == b || text[a] == '#')
			continue;
		char buf[64];
		struct hg_ip lo, hi;
		bool ok = b - a < sizeof(buf);
		if (ok) {
			memcpy(buf, text + a, b - a);
			buf[b - a] = 0;
			ok = hg_ip_parse_cidr(buf, &lo, &hi);
		}
		if (!ok) {
			hg_diag_error(d, (struct hg_loc){file, line, (uint32_t)(a - ls + 1)},
				      "invalid CIDR '%.*s' in reference set", (int)HG_MIN(b - a, (size_t)64), text + a);
			continue;
		}
		if (s.n == cap) {
			cap = cap ? cap * 2 : 64;
			s.r = xreallocarray(s.r, cap, sizeof(*s.r));
		}
		s.r[s.n++] = (struct hg_iprange){lo, hi};
	}
	free(text);
	if (d->errors != errors) {
		hg_ipset_free(&s);
		return false;
	}
	if (!s.n) {
		hg_diag_error(d, (struct hg_loc){file, 0, 0}, "reference set file has no CIDR");
		return false;
	}
	hg_ipset_normalize(&s);
	hg_ipset_free(out);
	*out = s;
	return true;
}
