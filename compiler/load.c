/* load.c - reads an input file and hands it to the loader of its format:
 * YAML/JSON (CloudFormation, describe-* output, bare documents), Suricata
 * rules text, or a plain domain list. The extension decides when it is
 * known; otherwise the content does. */
#include "hostgate/ir.h"
#include "yaml_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum input_kind { INPUT_YAML, INPUT_SURICATA, INPUT_DOMAINS };

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && hg_ascii_casecmp_eq(s + ls - lx, lx, suffix, lx);
}

static bool line_starts_rule(const char *p, const char *end)
{
	static const char *const actions[] = {"pass ", "drop ", "reject ", "alert "};
	for (unsigned i = 0; i < HG_ARRAY_LEN(actions); i++) {
		size_t n = strlen(actions[i]);
		if ((size_t)(end - p) >= n && memcmp(p, actions[i], n) == 0)
			return true;
	}
	return false;
}

static enum input_kind sniff(const char *path, const char *text, size_t len)
{
	if (ends_with(path, ".yaml") || ends_with(path, ".yml") || ends_with(path, ".json") ||
	    ends_with(path, ".template"))
		return INPUT_YAML;
	if (ends_with(path, ".rules") || ends_with(path, ".suricata"))
		return INPUT_SURICATA;
	if (ends_with(path, ".txt") || ends_with(path, ".list") || ends_with(path, ".domains") ||
	    ends_with(path, ".hosts"))
		return INPUT_DOMAINS;
	/* By content: the first meaningful line. */
	const char *p = text, *end = text + len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p < end && *p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	if (p < end && (*p == '{' || *p == '[' || (*p == '-' && end - p >= 3 && !memcmp(p, "---", 3))))
		return INPUT_YAML;
	if (line_starts_rule(p, end))
		return INPUT_SURICATA;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	const char *colon = memchr(p, ':', (size_t)((eol ? eol : end) - p));
	if (colon && colon + 1 < end && (colon[1] == ' ' || colon[1] == '\n' || colon[1] == '\r'))
		return INPUT_YAML;
	return INPUT_DOMAINS;
}

bool hg_load_file(struct hg_ruleset *rs, const char *path, const struct hg_load_opts *o, struct hg_diag *d)
{
	const char *file = hg_arena_strdup(rs->arena, path);
	struct hg_loc loc = {.file = file};
	char *text;
	size_t len;
	int r = hg_read_file(path, o->max_file_bytes, &text, &len);
	if (r < 0) {
		if (r == -EFBIG)
			hg_diag_error(d, loc, "file is larger than the %zu-byte limit", o->max_file_bytes);
		else
			hg_diag_error(d, loc, "cannot read: %s", strerror(-r));
		return false;
	}
	size_t bad;
	if (!hg_utf8_valid((const unsigned char *)text, len, &bad)) {
		/* Report line and column of the first invalid byte. */
		uint32_t line = 1, col = 1;
		for (size_t i = 0; i < bad; i++) {
			if (text[i] == '\n')
				line++, col = 1;
			else
				col++;
		}
		hg_diag_error(d, (struct hg_loc){file, line, col}, "invalid UTF-8 (byte 0x%02x)",
			      (unsigned char)text[bad]);
		free(text);
		return false;
	}
	bool ok;
	switch (sniff(path, text, len)) {
	case INPUT_YAML:
		ok = hg_load_yaml_owned(rs, file, text, len, o, d);
		text = NULL; /* freed once its tree is built */
		break;
	case INPUT_SURICATA: {
		const char *base = strrchr(file, '/');
		struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){file, 1, 1}, base ? base + 1 : file,
						       HG_GROUP_STATEFUL);
		g->source = HG_SRC_RULES_STRING;
		ok = hg_load_suricata(rs, g, text, len, (struct hg_loc){file, 1, 1}, false, d);
		break;
	}
	default:
		ok = hg_load_domain_file(rs, file, text, len, d);
		break;
	}
	free(text);
	return ok;
}
