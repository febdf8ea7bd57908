/* cli.h - the subcommands of the hostgate binary and their shared option
 * parsing. Each cmd_*() returns the process exit status: 0 success, 1 a
 * negative result (a failed test case, a verdict diff), 2 bad input. */
#ifndef HOSTGATE_CLI_H
#define HOSTGATE_CLI_H

#include "hostgate/emit.h"
#include "hostgate/ir.h"
#include "hostgate/lint.h"
#include "opts.h"

enum { HG_EXIT_OK = 0, HG_EXIT_FAIL = 1, HG_EXIT_USAGE = 2 };

/* Options common to every command that reads rules. */
struct hg_rules_args {
	struct hg_load_opts load;
	HG_VEC(struct hg_param) params;
	HG_VEC(struct hg_param) refsets; /* --reference-set NAME=FILE */
	HG_VEC(const char *) files;
	bool home_net_given;
	bool strict; /* --strict: warnings are errors */
	/* CLI_FORMAT_GITHUB: load diagnostics also as workflow annotations
	 * on stdout (ci_output.h). */
	int diag_format;
	HG_VEC(struct hg_lint_ignore) lint_ignore; /* --lint-ignore */
	HG_VEC(char *) lint_groups;                /* their group names (owned) */
	uint32_t lint_codes;                       /* lint checks to run; 0: HG101 only */
	size_t lint_found;                         /* findings of the last load */
};

/* The shared rule options (--param, --home-net, ...) as a cli_parse group
 * applying to a (whose load options the caller has defaulted). */
struct cli_group hg_rules_args_group(struct hg_rules_args *a);
/* argv[first..] (cli_parse's positional arguments) into a->files. */
void hg_rules_args_positional(struct hg_rules_args *a, int argc, char **argv, int first);
void hg_rules_args_fini(struct hg_rules_args *a);
/* Loads and finalizes every file; prints diagnostics; NULL on any error. */
struct hg_ruleset *hg_rules_args_load(struct hg_rules_args *a);

/* Each command's usage line (its file's), listed by `hostgate --help`. */
extern const struct cli_usage check_usage, compile_usage, apply_usage, replay_usage, test_usage, diff_usage,
	run_usage, ship_usage;

/* s made safe to print on a terminal (term_escape.c): control bytes,
 * invalid UTF-8, bidi and zero-width characters escaped; malloc'd. */
char *cli_term_escape(const char *s);

int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ship(int argc, char **argv);

#endif
