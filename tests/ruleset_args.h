/* ruleset_args.h - the sidecar of a ruleset: rulesets/NAME.EXT.args holds
 * the options hostgate needs to load rulesets/NAME.EXT (--geoip-db FILE,
 * --reference-set NAME=FILE), whitespace-separated, '#' comments, paths
 * from the source root. Every harness that walks rulesets/ reads it. */
#ifndef HG_TESTS_RULESET_ARGS_H
#define HG_TESTS_RULESET_ARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/ir.h"

/* The options as one line ("" when there is no sidecar); malloc'd. */
static inline char *ruleset_args(const char *ruleset_path)
{
	char side[4096], line[4096];
	snprintf(side, sizeof(side), "%s.args", ruleset_path);
	char *out = calloc(1, 1);
	size_t n = 0;
	FILE *f = fopen(side, "r");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\n")] = 0;
		size_t k = strlen(line);
		if (!k)
			continue;
		out = realloc(out, n + k + 2);
		memcpy(out + n, line, k);
		n += k;
		out[n++] = ' ';
		out[n] = 0;
	}
	fclose(f);
	return out;
}

/* The options into load options (the library's view of the same flags).
 * refs (cap entries) and the strings of args must outlive o. */
static inline void ruleset_args_apply(char *args, struct hg_load_opts *o, struct hg_param *refs, size_t cap)
{
	char *save = NULL;
	for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char *v = strtok_r(NULL, " \t", &save);
		if (!v)
			break;
		if (!strcmp(t, "--geoip-db")) {
			o->geoip_db = v;
		} else if (!strcmp(t, "--reference-set") && strchr(v, '=') && o->n_refsets < cap) {
			*strchr(v, '=') = 0;
			refs[o->n_refsets++] = (struct hg_param){v, v + strlen(v) + 1};
			o->refsets = refs;
		}
	}
}

#endif
