/* domain_matcher.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
void hg_domain_matcher_free(struct hg_domain_matcher *m) { (void)m; }
