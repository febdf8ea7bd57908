/* refset.h - ANFW IP set references (ReferenceSets.IPSetReferences, @NAME
 * in rules): their CIDRs come from a file given with --reference-set
 * NAME=FILE, since the prefix lists themselves live in AWS. */
#ifndef HOSTGATE_REFSET_H
#define HOSTGATE_REFSET_H

#include "hostgate/diag.h"
#include "hostgate/ipset.h"

/* Reads one CIDR (or address) a line; blank lines and '#' comments are
 * skipped. Errors at file:line:col. The file name is kept in arena for the
 * diagnostics. Replaces *out on success. */
bool hg_refset_load(struct hg_arena *arena, const char *path, size_t max_bytes, struct hg_ipset *out,
		    struct hg_diag *d);

#endif
