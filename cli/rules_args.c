/* rules_args.c - the options every rule-reading command shares, and the
 * load-then-finalize step with its diagnostics. */
#include <stdlib.h>
#include <string.h>

#include "ci_output.h"
#include "cli.h"

/* A new shared option: a line here (value from the CLI_OPT_RULES range)
 * and a case in rules_args_set(). */
enum {
	OPT_PARAM = CLI_OPT_RULES,
	OPT_HOME_NET,
	OPT_STRICT,
	OPT_ATTACH_GROUPS,
	OPT_REFERENCE_SET,
	OPT_GEOIP_DB,
	OPT_LINT_IGNORE,
};

static const struct cli_opt rules_opts[] = {
	{"param", "NAME=VALUE", OPT_PARAM, "a CloudFormation template's Parameter (repeatable)"},
	{"home-net", "CIDR[,CIDR...]", OPT_HOME_NET, "HOME_NET (default RFC 1918 and fc00::/7)"},
	{"strict", NULL, OPT_STRICT, "treat every warning as an error"},
	{"attach-groups", NULL, OPT_ATTACH_GROUPS, "append rule groups the policy does not reference"},
	{"reference-set", "NAME=FILE", OPT_REFERENCE_SET,
	 "the CIDRs (one a line) of IP set reference @NAME (ReferenceSets; repeatable)"},
	{"geoip-db", "FILE", OPT_GEOIP_DB, "a MaxMind country database (.mmdb) for geoip rules"},
	{"lint-ignore", "GROUP:HG1xx[,...]", OPT_LINT_IGNORE, "silence lint codes for a group ('*': all groups)"},
	{0},
};

static int rules_args_set(void *ud, int val, const char *arg)
{
	struct hg_rules_args *a = ud;
	switch (val) {
	case OPT_STRICT:
		a->strict = true;
		return 0;
	case OPT_ATTACH_GROUPS:
		a->load.attach_groups = true;
		return 0;
	case OPT_LINT_IGNORE: {
		unsigned codes[HG_LINT__LAST - HG_LINT__FIRST + 2];
		size_t glen;
		int n = hg_lint_parse_ignore(arg, &glen, codes, HG_ARRAY_LEN(codes));
		if (n < 0)
			return -1;
		char *group = xstrndup(arg, glen);
		hg_vec_push(&a->lint_groups, group);
		for (int k = 0; k < n; k++) {
			struct hg_lint_ignore x = {group, codes[k]};
			hg_vec_push(&a->lint_ignore, x);
		}
		return 0;
	}
	case OPT_HOME_NET:
		a->load.home_net = arg;
		a->home_net_given = true;
		return 0;
	case OPT_GEOIP_DB:
		a->load.geoip_db = arg;
		return 0;
	case OPT_PARAM:
	case OPT_REFERENCE_SET: {
		bool ref = val == OPT_REFERENCE_SET;
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg || (ref && !eq[1])) {
			fprintf(stderr, "hostgate: --%s wants NAME=%s, got '%s'\n", ref ? "reference-set" : "param",
				ref ? "FILE" : "VALUE", arg);
			return -1;
		}
		struct hg_param p = {.name = xstrndup(arg, (size_t)(eq - arg)), .value = eq + 1};
		if (ref)
			hg_vec_push(&a->refsets, p);
		else
			hg_vec_push(&a->params, p);
		return 0;
	}
	}
	return -1;
}

struct cli_group hg_rules_args_group(struct hg_rules_args *a)
{
	return (struct cli_group){"rule options", rules_opts, rules_args_set, a};
}

void hg_rules_args_positional(struct hg_rules_args *a, int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++)
		hg_vec_push(&a->files, argv[i]);
}

void hg_rules_args_fini(struct hg_rules_args *a)
{
	for (size_t i = 0; i < a->params.n; i++)
		free((char *)a->params.v[i].name);
	for (size_t i = 0; i < a->refsets.n; i++)
		free((char *)a->refsets.v[i].name);
	hg_vec_free(&a->params);
	hg_vec_free(&a->refsets);
	hg_vec_free(&a->files);
	for (size_t i = 0; i < a->lint_groups.n; i++)
		free(a->lint_groups.v[i]);
	hg_vec_free(&a->lint_groups);
	hg_vec_free(&a->lint_ignore);
}

struct hg_ruleset *hg_rules_args_load(struct hg_rules_args *a)
{
	a->load.params = a->params.v;
	a->load.n_params = a->params.n;
	a->load.refsets = a->refsets.v;
	a->load.n_refsets = a->refsets.n;
	struct hg_diag d;
	hg_diag_init(&d);
	d.strict = a->strict;
	struct hg_ruleset *rs = hg_ruleset_new();
	for (size_t i = 0; i < a->files.n; i++)
		hg_load_file(rs, a->files.v[i], &a->load, &d);
	if (!hg_diag_failed(&d) && hg_ruleset_finalize(rs, &a->load, &d)) {
		/* check lints everything; the other commands say only what
		 * can never match (HG101), which changes what they decide. */
		struct hg_lint_opts lo = {
			.codes = a->lint_codes ? a->lint_codes : HG_LINT_BIT(HG_LINT_NEVER_MATCHES),
			.ignore = a->lint_ignore.v,
			.n_ignore = a->lint_ignore.n,
		};
		a->lint_found = hg_lint(rs, &lo, &d);
	}
	if (a->diag_format == CLI_FORMAT_GITHUB)
		ci_github_diags(stdout, &d);
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
