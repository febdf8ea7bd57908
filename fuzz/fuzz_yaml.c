/* fuzz_yaml.c - libFuzzer target for the YAML/CloudFormation/ANFW-JSON
 * loader and finalize: arbitrary bytes as one rules file. Loading may fail;
 * it must not crash, leak or report success with errors. */
#include <stdlib.h>

#include "hostgate/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_load_opts o;
	struct hg_diag d;
	hg_load_opts_defaults(&o);
	o.max_alias_nodes = 10000; /* keep each input fast */
	hg_diag_init(&d);
	bool ok = hg_load_yaml(rs, "fuzz.yaml", (const char *)data, size, &o, &d);
	if (ok != (d.errors == 0))
		abort();
	if (ok && !hg_ruleset_finalize(rs, &o, &d) && d.errors == 0)
		abort();
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
	return 0;
}
