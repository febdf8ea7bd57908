/* cli.h - the subcommands of the hostgate binary and their shared option
 * parsing. Each cmd_*() returns the process exit status: 0 success, 1 a
 * negative result (a failed test case, a verdict diff), 2 bad input. */
#ifndef HOSTGATE_CLI_H
#define HOSTGATE_CLI_H

#include "hostgate/emit.h"
#include "hostgate/ir.h"

enum { HG_EXIT_OK = 0, HG_EXIT_FAIL = 1, HG_EXIT_USAGE = 2 };

/* Options common to every command that reads rules. */
struct hg_rules_args {
	struct hg_load_opts load;
	HG_VEC(struct hg_param) params;
	HG_VEC(const char *) files;
};

/* Consumes a rules-related option at argv[*i] (--param, --home-net).
 * Returns 1 when consumed, 0 when not ours, -1 on a usage error. */
int hg_rules_args_option(struct hg_rules_args *a, int argc, char **argv, int *i);
void hg_rules_args_fini(struct hg_rules_args *a);
/* Loads and finalizes every file; prints diagnostics; NULL on any error. */
struct hg_ruleset *hg_rules_args_load(struct hg_rules_args *a);

int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
