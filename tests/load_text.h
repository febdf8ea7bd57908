/* load_text.h - a ruleset from text in a test: Suricata rules (a path
 * ending in .rules: one stateful group) or a CloudFormation/YAML document,
 * loaded and finalized with the default options; a failure prints the
 * diagnostics and fails the test. Static in each test program. */
#ifndef HOSTGATE_TEST_LOAD_TEXT_H
#define HOSTGATE_TEST_LOAD_TEXT_H

#include <criterion/criterion.h>
#include <string.h>

#include "hostgate/ir.h"

static inline struct hg_ruleset *load_text(const char *path, const char *text)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_load_opts o;
	struct hg_diag d;
	hg_load_opts_defaults(&o);
	hg_diag_init(&d);
	bool ok;
	if (strstr(path, ".rules")) {
		struct hg_rule_group *g = hg_group_new(rs, (struct hg_loc){path, 1, 1}, "rules", HG_GROUP_STATEFUL);
		g->source = HG_SRC_RULES_STRING;
		ok = hg_load_suricata(rs, g, text, strlen(text), (struct hg_loc){path, 1, 1}, false, &d);
	} else {
		ok = hg_load_yaml(rs, path, text, strlen(text), &o, &d);
	}
	ok = ok && hg_ruleset_finalize(rs, &o, &d);
	if (!ok)
		hg_diag_print(&d, stderr);
	cr_assert(ok, "loading %s failed", path);
	hg_diag_fini(&d);
	return rs;
}

#endif
