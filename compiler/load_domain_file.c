/* load_domain_file.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
bool hg_load_domain_file(struct hg_ruleset *rs, const char *path, const char *text, size_t len, struct hg_diag *d) { (void)rs; (void)text; (void)len; hg_diag_error(d, (struct hg_loc){path, 0, 0}, "domain loader not implemented"); return false; }
