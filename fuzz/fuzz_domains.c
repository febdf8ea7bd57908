/* fuzz_domains.c - libFuzzer target for the domain-list file loader and
 * finalize (which builds the list's matcher). */
#include <stdlib.h>

#include "hostgate/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_load_opts o;
	struct hg_diag d;
	hg_load_opts_defaults(&o);
	hg_diag_init(&d);
	bool ok = hg_load_domain_file(rs, "fuzz.txt", (const char *)data, size, &d);
	if (ok != (d.errors == 0))
		abort();
	if (ok && !hg_ruleset_finalize(rs, &o, &d) && d.errors == 0)
		abort();
	hg_diag_fini(&d);
	hg_ruleset_free(rs);
	return 0;
}
