/* load_cfn.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
bool hg_load_yaml(struct hg_ruleset *rs, const char *path, const char *text, size_t len, const struct hg_load_opts *o, struct hg_diag *d) { (void)rs; (void)text; (void)len; (void)o; hg_diag_error(d, (struct hg_loc){path, 0, 0}, "YAML loader not implemented"); return false; }
