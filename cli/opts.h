/* opts.h - the command line of every subcommand: tables of long options
 * (with their help text) parsed by getopt_long, so --opt=value and
 * --opt value both work, -h/--help prints the usage to stdout, and the
 * usage, the man page and the bash completion read from one place. */
#ifndef HOSTGATE_CLI_OPTS_H
#define HOSTGATE_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* One option. val is a printable character for options that also have a
 * short form (-o), otherwise a value from the owning table's range below:
 * every table used by one command must have distinct vals (cli_parse
 * checks). */
struct cli_opt {
	const char *name;    /* long name without "--" */
	const char *metavar; /* NULL: takes no value */
	int val;
	const char *help;
};

/* Value ranges, one per table (a new table takes the next range). */
enum {
	CLI_OPT_RULES = 0x100,   /* rules_args.c: --param, --home-net, ... */
	CLI_OPT_RUN = 0x200,     /* replay_run.c: --max-flows, logs, ... */
	CLI_OPT_COMMAND = 0x300, /* each command's own table */
	CLI_OPT_COMMAND2 = 0x400, /* a second table of a command */
};

/* Applies one option; prints its own message and returns -1 when the value
 * is bad, else 0. */
typedef int (*cli_opt_fn)(void *ud, int val, const char *arg);

/* A table of options (terminated by a zero entry) and who applies them. */
struct cli_group {
	const char *title; /* heading in --help: "rule options" */
	const struct cli_opt *opts;
	cli_opt_fn fn;
	void *ud;
};

/* What a command says about itself in --help and in `hostgate --help`. */
struct cli_usage {
	const char *command; /* "compile" */
	const char *args;    /* "RULES..." */
	const char *summary; /* one line */
};

enum cli_result { CLI_OK, CLI_HELP, CLI_ERROR };

/* Parses argv[1..] (argv[0] is the command's name) with getopt_long over
 * the groups' options plus -h/--help. Options and positional arguments may
 * be mixed; "--" ends the options. On CLI_OK *first_pos is the index of the
 * first positional argument in the (permuted) argv. CLI_HELP: the usage was
 * printed to stdout (exit 0). CLI_ERROR: a message was printed to stderr
 * (exit 2). */
enum cli_result cli_parse(const struct cli_usage *u, const struct cli_group *groups, size_t n_groups, int argc,
			  char **argv, int *first_pos);

/* The usage text cli_parse prints for -h. */
void cli_print_usage(FILE *out, const struct cli_usage *u, const struct cli_group *groups, size_t n_groups);

/* Applies the option called name (a configuration file's key) with value,
 * as if given on the command line; a flag takes "", true/yes or false/no.
 * 0, -1 bad value (message printed by the group, or none for a flag),
 * -2 no such option. */
int cli_set_by_name(const struct cli_group *groups, size_t n_groups, const char *name, const char *value);

/* A decimal number in lo..hi for option opt; -1 after a message. */
int cli_parse_u32(const char *opt, const char *v, uint32_t lo, uint32_t hi, uint32_t *out);

/* A usage error after cli_parse (a missing positional argument): prints
 * "hostgate CMD: msg" and the hint to run --help. Returns CLI_ERROR. */
enum cli_result cli_usage_error(const struct cli_usage *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
