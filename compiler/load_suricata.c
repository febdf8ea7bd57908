/* load_suricata.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
bool hg_load_suricata(struct hg_ruleset *rs, struct hg_rule_group *g, const char *text, size_t len, struct hg_loc base, bool base_is_block, struct hg_diag *d) { (void)rs; (void)g; (void)text; (void)len; (void)base_is_block; hg_diag_error(d, base, "Suricata loader not implemented"); return false; }
