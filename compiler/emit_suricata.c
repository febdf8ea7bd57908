/* emit_suricata.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
int hg_emit_suricata(FILE *out, const struct hg_ruleset *rs) { (void)out; (void)rs; return -ENOSYS; }
