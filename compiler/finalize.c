/* finalize.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
bool hg_ruleset_finalize(struct hg_ruleset *rs, const struct hg_load_opts *o, struct hg_diag *d) { (void)rs; (void)o; (void)d; return true; }
