/* ipset.c - placeholder until implemented. */
#include "hostgate/ir.h"
#include "hostgate/emit.h"
#include "hostgate/apply.h"
#include <errno.h>
bool hg_ip_parse_cidr(const char *s, struct hg_ip *lo, struct hg_ip *hi) { (void)s; (void)lo; (void)hi; return false; }
void hg_ipset_free(struct hg_ipset *s) { free(s->r); s->r = NULL; s->n = 0; }
void hg_portset_free(struct hg_portset *s) { free(s->r); s->r = NULL; s->n = 0; }
#include <stdlib.h>
