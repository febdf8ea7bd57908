/* emit_nft.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
void hg_nft_opts_defaults(struct hg_nft_opts *o) { *o = (struct hg_nft_opts){.table = "hostgate", .nflog_group = 7, .alert_log_group = 8, .snaplen = 65535, .verdict_timeout = 3600}; }
int hg_emit_nft(FILE *out, const struct hg_ruleset *rs, const struct hg_nft_opts *o) { (void)out; (void)rs; (void)o; return -ENOSYS; }
