/* rules_args.c - the options every rule-reading command shares, and the
 * load-then-finalize step with its diagnostics. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int hg_rules_args_option(struct hg_rules_args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (!strcmp(arg, "--param") || !strcmp(arg, "--home-net")) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "hostgate: %s needs a value\n", arg);
			return -1;
		}
		const char *val = argv[++*i];
		if (!strcmp(arg, "--home-net")) {
			a->load.home_net = val;
			return 1;
		}
		const char *eq = strchr(val, '=');
		if (!eq || eq == val) {
			fprintf(stderr, "hostgate: --param wants NAME=VALUE, got '%s'\n", val);
			return -1;
		}
		struct hg_param p = {.name = xstrndup(val, (size_t)(eq - val)), .value = eq + 1};
		hg_vec_push(&a->params, p);
		return 1;
	}
	return 0;
}

void hg_rules_args_fini(struct hg_rules_args *a)
{
	for (size_t i = 0; i < a->params.n; i++)
		free((char *)a->params.v[i].name);
	hg_vec_free(&a->params);
	hg_vec_free(&a->files);
}

struct hg_ruleset *hg_rules_args_load(struct hg_rules_args *a)
{
	a->load.params = a->params.v;
	a->load.n_params = a->params.n;
	struct hg_diag d;
	hg_diag_init(&d);
	struct hg_ruleset *rs = hg_ruleset_new();
	for (size_t i = 0; i < a->files.n; i++)
		hg_load_file(rs, a->files.v[i], &a->load, &d);
	if (!hg_diag_failed(&d))
		hg_ruleset_finalize(rs, &a->load, &d);
	hg_diag_print(&d, stderr);
	bool failed = hg_diag_failed(&d);
	if (failed)
		fprintf(stderr, "hostgate: %zu error%s; nothing emitted or applied\n", d.errors,
			d.errors == 1 ? "" : "s");
	hg_diag_fini(&d);
	if (failed) {
		hg_ruleset_free(rs);
		return NULL;
	}
	return rs;
}
