/* fuzz_suricata.c - libFuzzer target for the Suricata rule loader and
 * finalize: arbitrary bytes as a RulesString of one stateful group. */
#include <stdlib.h>

#include "hostgate/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_load_opts o;
	struct hg_diag d;
	struct hg_loc base = {"fuzz.rules", 1, 1};
	hg_load_opts_defaults(&o);
	hg_diag_init(&d);
	struct hg_rule_group *g = hg_group_new(rs, base, "fuzz", HG_GROUP_STATEFUL);
	g->source = HG_SRC_RULES_STRING;
	bool ok = hg_load_suricata(rs, g, (const char *)data, size, base, false, &d);
	if (ok != (d.errors == 0))
		abort();
	if (!hg_ruleset_finalize(rs, &o, &d) && d.errors == 0)
		abort();
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
	return 0;
}
