/* cmd_compile.c - check, compile and apply: the compiler's commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ci_output.h"
#include "cli.h"
#include "hostgate/apply.h"

/* The three commands' options: the shared rule options, then each
 * command's own table. */
struct compile_args {
	struct hg_rules_args rules;
	struct hg_nft_opts nft;
	const char *emit;
	const char *output;
	bool check_only;
	bool lint_fails; /* check --lint: a lint finding is a failure */
};

enum {
	OPT_EMIT = CLI_OPT_COMMAND,
	OPT_OUTPUT = 'o',
	OPT_NFLOG_GROUP = CLI_OPT_COMMAND + 1,
	OPT_CHECK,
	OPT_FORMAT,
	OPT_LINT,
};

static const struct cli_opt check_opts[] = {
	{"format", "text|github", OPT_FORMAT, "github: errors and warnings also as workflow annotations"},
	{"lint", NULL, OPT_LINT, "exit 1 when the linter finds anything (its warnings are printed anyway)"},
	{0},
};

static const struct cli_opt compile_opts[] = {
	{"emit", "nft|suricata|json", OPT_EMIT, "what to write (default nft)"},
	{"output", "FILE", OPT_OUTPUT, "write to FILE (complete or not at all) instead of stdout"},
	{"nflog-group", "N", OPT_NFLOG_GROUP, "NFLOG group of the hold rule in the nft table (default 0)"},
	{0},
};

static const struct cli_opt apply_opts[] = {
	{"check", NULL, OPT_CHECK, "only check the table with the kernel (nft -c); change nothing"},
	{"nflog-group", "N", OPT_NFLOG_GROUP, "NFLOG group of the hold rule (default 0)"},
	{0},
};

const struct cli_usage check_usage = {"check", "RULES...",
					     "Validates rule files and reports each group's capacity."};
const struct cli_usage compile_usage = {"compile", "RULES...",
					       "Compiles rule files to an nftables table, Suricata rules or JSON."};
const struct cli_usage apply_usage = {"apply", "RULES...",
					     "Loads the compiled nftables table atomically (root)."};

static int compile_set(void *ud, int val, const char *arg)
{
	struct compile_args *c = ud;
	uint32_t n;
	switch (val) {
	case OPT_EMIT:
		if (strcmp(arg, "nft") && strcmp(arg, "suricata") && strcmp(arg, "json")) {
			fprintf(stderr, "hostgate: --emit wants nft, suricata or json, not '%s'\n", arg);
			return -1;
		}
		c->emit = arg;
		return 0;
	case OPT_OUTPUT:
		c->output = arg;
		return 0;
	case OPT_NFLOG_GROUP:
		if (cli_parse_u32("nflog-group", arg, 0, 65535, &n))
			return -1;
		c->nft.nflog_group = (uint16_t)n;
		return 0;
	case OPT_CHECK:
		c->check_only = true;
		return 0;
	case OPT_FORMAT: {
		enum cli_format f;
		if (!cli_format_parse(arg, &f)) {
			fprintf(stderr, "hostgate: --format wants text or github, not '%s'\n", arg);
			return -1;
		}
		c->rules.diag_format = f;
		return 0;
	}
	case OPT_LINT:
		c->lint_fails = true;
		return 0;
	}
	return -1;
}

/* CLI_OK with at least one rule file, or CLI_HELP / CLI_ERROR. */
static enum cli_result parse_args(struct compile_args *c, const struct cli_usage *u, const struct cli_opt *own,
				  int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	hg_load_opts_defaults(&c->rules.load);
	/* check, compile and apply emit no names: no domain matchers. */
	c->rules.load.lazy_matchers = true;
	hg_nft_opts_defaults(&c->nft);
	c->emit = "nft";
	struct cli_group groups[] = {
		hg_rules_args_group(&c->rules),
		{"options", own, compile_set, c},
	};
	int first;
	enum cli_result r = cli_parse(u, groups, HG_ARRAY_LEN(groups), argc, argv, &first);
	if (r != CLI_OK)
		return r;
	hg_rules_args_positional(&c->rules, argc, argv, first);
	if (c->rules.files.n == 0)
		return cli_usage_error(u, "no rule files given");
	return CLI_OK;
}

static void print_capacity(const struct hg_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_groups; i++) {
		const struct hg_rule_group *g = rs->groups[i];
		printf("%s %s: %zu rule%s, capacity %u used", g->type == HG_GROUP_STATEFUL ? "stateful" : "stateless",
		       g->name, g->type == HG_GROUP_STATEFUL ? g->n_rules : g->n_srules,
		       (g->type == HG_GROUP_STATEFUL ? g->n_rules : g->n_srules) == 1 ? "" : "s",
		       g->consumed_capacity);
		if (g->capacity)
			printf(" of %u declared", g->capacity);
		if (g->attached)
			fputs(" (attached: not referenced by the policy)", stdout);
		putchar('\n');
	}
}

int cmd_check(int argc, char **argv)
{
	struct compile_args c;
	enum cli_result pr = parse_args(&c, &check_usage, check_opts, argc, argv);
	int status = pr == CLI_HELP ? HG_EXIT_OK : HG_EXIT_USAGE;
	if (pr != CLI_OK)
		goto out;
	c.rules.lint_codes = HG_LINT_ALL;
	struct hg_ruleset *rs = hg_rules_args_load(&c.rules);
	if (!rs)
		goto out;
	print_capacity(rs);
	size_t lint = c.rules.lint_found;
	printf("ok: %zu file%s, %zu group%s", c.rules.files.n, c.rules.files.n == 1 ? "" : "s", rs->n_groups,
	       rs->n_groups == 1 ? "" : "s");
	if (lint)
		printf(", %zu lint warning%s", lint, lint == 1 ? "" : "s");
	putchar('\n');
	hg_ruleset_free(rs);
	status = lint && c.lint_fails ? HG_EXIT_FAIL : HG_EXIT_OK;
out:
	hg_rules_args_fini(&c.rules);
	return status;
}

int cmd_compile(int argc, char **argv)
{
	struct compile_args c;
	FILE *out = NULL;
	struct hg_ruleset *rs = NULL;
	enum cli_result pr = parse_args(&c, &compile_usage, compile_opts, argc, argv);
	int status = pr == CLI_HELP ? HG_EXIT_OK : HG_EXIT_USAGE;
	if (pr != CLI_OK)
		goto out;
	rs = hg_rules_args_load(&c.rules);
	if (!rs)
		goto out;
	/* Straight to the output (a million names make hundreds of MB of
	 * Suricata rules: no copy in memory). A file is written under a
	 * temporary name and renamed into place once complete, so a failure
	 * leaves no half-written file; on stdout a failure (running out of
	 * memory or space: bad input was refused at load, before any output)
	 * is reported by the exit status. */
	char *tmp = c.output ? xasprintf("%s.tmp.%ld", c.output, (long)getpid()) : NULL;
	out = tmp ? fopen(tmp, "w") : stdout;
	if (!out) {
		fprintf(stderr, "hostgate: %s: %s\n", c.output, strerror(errno));
		free(tmp);
		goto out;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	int r = !strcmp(c.emit, "nft")        ? hg_emit_nft(out, rs, &c.nft)
		: !strcmp(c.emit, "suricata") ? hg_emit_suricata(out, rs)
					      : hg_emit_json(out, rs);
	if (r < 0) {
		fprintf(stderr, "hostgate: cannot emit %s: %s\n", c.emit, strerror(-r));
		status = HG_EXIT_FAIL;
	} else if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "hostgate: write failed: %s\n", strerror(errno));
		status = HG_EXIT_FAIL;
	} else {
		status = HG_EXIT_OK;
	}
	if (tmp) {
		if (fclose(out) != 0 && status == HG_EXIT_OK) {
			fprintf(stderr, "hostgate: write failed: %s\n", strerror(errno));
			status = HG_EXIT_FAIL;
		}
		out = NULL;
		if (status == HG_EXIT_OK && rename(tmp, c.output) < 0) {
			fprintf(stderr, "hostgate: %s: %s\n", c.output, strerror(errno));
			status = HG_EXIT_FAIL;
		}
		if (status != HG_EXIT_OK)
			unlink(tmp);
		free(tmp);
	}
out:
	if (out && out != stdout)
		fclose(out);
	hg_ruleset_free(rs);
	hg_rules_args_fini(&c.rules);
	return status;
}

int cmd_apply(int argc, char **argv)
{
	struct compile_args c;
	enum cli_result pr = parse_args(&c, &apply_usage, apply_opts, argc, argv);
	int status = pr == CLI_HELP ? HG_EXIT_OK : HG_EXIT_USAGE;
	if (pr != CLI_OK)
		goto out;
	struct hg_ruleset *rs = hg_rules_args_load(&c.rules);
	if (!rs)
		goto out;
	char *err = NULL;
	int r = hg_apply_ruleset(rs, &c.nft, c.check_only, &err);
	if (r < 0) {
		fprintf(stderr, "hostgate: apply failed (previous table left unchanged): %s\n",
			err ? err : strerror(-r));
		status = HG_EXIT_FAIL;
	} else {
		printf("%s table inet %s\n", c.check_only ? "checked" : "applied", c.nft.table);
		status = HG_EXIT_OK;
	}
	free(err);
	hg_ruleset_free(rs);
out:
	hg_rules_args_fini(&c.rules);
	return status;
}
