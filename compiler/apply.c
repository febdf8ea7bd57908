/* apply.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
int hg_apply_ruleset(const struct hg_ruleset *rs, const struct hg_nft_opts *o, bool check_only, char **err) { (void)rs; (void)o; (void)check_only; *err = NULL; return -ENOSYS; }
