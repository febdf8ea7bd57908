/* cmd_compile.c - check, compile and apply: the compiler's commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hostgate/apply.h"

/* Shared argument loop: rules options, the command's own, then files. */
struct compile_args {
	struct hg_rules_args rules;
	struct hg_nft_opts nft;
	const char *emit;
	const char *output;
	bool check_only;
};

static int parse_args(struct compile_args *c, int argc, char **argv, bool allow_emit)
{
	memset(c, 0, sizeof(*c));
	hg_load_opts_defaults(&c->rules.load);
	/* check, compile and apply emit no names: no domain matchers. */
	c->rules.load.lazy_matchers = true;
	hg_nft_opts_defaults(&c->nft);
	c->emit = "nft";
	for (int i = 1; i < argc; i++) {
		int r = hg_rules_args_option(&c->rules, argc, argv, &i);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		const char *arg = argv[i];
		if (allow_emit && (!strcmp(arg, "--emit") || !strcmp(arg, "-o")) && i + 1 < argc) {
			if (!strcmp(arg, "--emit"))
				c->emit = argv[++i];
			else
				c->output = argv[++i];
		} else if (!strcmp(arg, "--nflog-group") && i + 1 < argc) {
			c->nft.nflog_group = (uint16_t)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(arg, "--check")) {
			c->check_only = true;
		} else if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "hostgate: unknown option '%s'\n", arg);
			return -1;
		} else {
			hg_vec_push(&c->rules.files, arg);
		}
	}
	if (c->rules.files.n == 0) {
		fprintf(stderr, "hostgate: no rule files given\n");
		return -1;
	}
	if (strcmp(c->emit, "nft") && strcmp(c->emit, "suricata") && strcmp(c->emit, "json")) {
		fprintf(stderr, "hostgate: --emit wants nft, suricata or json, not '%s'\n", c->emit);
		return -1;
	}
	return 0;
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
		putchar('\n');
	}
}

int cmd_check(int argc, char **argv)
{
	struct compile_args c;
	int status = HG_EXIT_USAGE;
	if (parse_args(&c, argc, argv, false) < 0)
		goto out;
	struct hg_ruleset *rs = hg_rules_args_load(&c.rules);
	if (!rs)
		goto out;
	print_capacity(rs);
	printf("ok: %zu file%s, %zu group%s\n", c.rules.files.n, c.rules.files.n == 1 ? "" : "s", rs->n_groups,
	       rs->n_groups == 1 ? "" : "s");
	hg_ruleset_free(rs);
	status = HG_EXIT_OK;
out:
	hg_rules_args_fini(&c.rules);
	return status;
}

int cmd_compile(int argc, char **argv)
{
	struct compile_args c;
	int status = HG_EXIT_USAGE;
	FILE *out = NULL;
	struct hg_ruleset *rs = NULL;
	if (parse_args(&c, argc, argv, true) < 0)
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
	int status = HG_EXIT_USAGE;
	if (parse_args(&c, argc, argv, false) < 0)
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
