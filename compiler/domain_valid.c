/* domain_valid.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
bool hg_domain_valid(const char *name, size_t len, const char **why, size_t *bad_off) { (void)name; (void)len; *why = "unimplemented"; *bad_off = 0; return false; }
