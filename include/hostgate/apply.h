/* apply.h - loading the emitted table into the kernel through libnftables,
 * in one transaction: when the new ruleset fails, the old table stays. */
#ifndef HOSTGATE_APPLY_H
#define HOSTGATE_APPLY_H

#include "hostgate/emit.h"

/* Applies nft text atomically. On failure returns -EINVAL (or -errno) and
 * copies libnftables' error text into *err (malloc'd) when err is not NULL.
 * check_only runs nft's check mode (nothing is changed). */
int hg_apply_nft_text(const char *text, bool check_only, char **err);
int hg_apply_ruleset(const struct hg_ruleset *rs, const struct hg_nft_opts *o, bool check_only, char **err);

#endif
