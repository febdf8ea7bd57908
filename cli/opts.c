/* opts.c - getopt_long over tables of options, the --help text built from
 * the same tables. */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/util.h"

enum { CLI_MAX_OPTS = 96 };

void cli_print_usage(FILE *out, const struct cli_usage *u, const struct cli_group *groups, size_t n_groups)
{
	fprintf(out, "usage: hostgate %s [OPTIONS] %s\n%s\n", u->command, u->args, u->summary);
	for (size_t g = 0; g < n_groups; g++) {
		if (!groups[g].opts[0].name)
			continue;
		fprintf(out, "\n%s:\n", groups[g].title);
		for (const struct cli_opt *o = groups[g].opts; o->name; o++) {
			char left[64];
			int n = o->val < 0x80 ? snprintf(left, sizeof(left), "-%c, --%s", o->val, o->name)
					      : snprintf(left, sizeof(left), "    --%s", o->name);
			if (o->metavar)
				snprintf(left + n, sizeof(left) - (size_t)n, "=%s", o->metavar);
			/* Help on its own line when the left column is wide. */
			if (strlen(left) > 28)
				fprintf(out, "  %s\n  %-28s  %s\n", left, "", o->help);
			else
				fprintf(out, "  %-28s  %s\n", left, o->help);
		}
	}
	fputs("\n  -h, --help                    this text\n", out);
}

enum cli_result cli_usage_error(const struct cli_usage *u, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "hostgate %s: ", u->command);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see hostgate %s --help)\n", u->command);
	return CLI_ERROR;
}

enum cli_result cli_parse(const struct cli_usage *u, const struct cli_group *groups, size_t n_groups, int argc,
			  char **argv, int *first_pos)
{
	struct option longopts[CLI_MAX_OPTS + 2];
	/* ':' first: a missing value is reported as ':' (not '?'). */
	char shortopts[2 * CLI_MAX_OPTS + 8] = ":h";
	size_t n = 0, sl = 2;
	for (size_t g = 0; g < n_groups; g++)
		for (const struct cli_opt *o = groups[g].opts; o->name; o++) {
			/* Two tables claiming one value would send an option to
			 * the wrong handler: a programming error. */
			for (size_t k = 0; k < n; k++)
				if (longopts[k].val == o->val)
					abort();
			if (n == CLI_MAX_OPTS)
				abort();
			longopts[n++] = (struct option){o->name, o->metavar ? required_argument : no_argument,
							NULL, o->val};
			if (o->val < 0x80) {
				shortopts[sl++] = (char)o->val;
				if (o->metavar)
					shortopts[sl++] = ':';
			}
		}
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n] = (struct option){0};
	shortopts[sl] = 0;

	/* optind = 0 re-initialises GNU getopt (a test may parse twice). */
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const char *bad = argv[optind - 1];
		if (c == 'h') {
			cli_print_usage(stdout, u, groups, n_groups);
			return CLI_HELP;
		}
		if (c == '?') {
			if (optopt && optopt < 0x80)
				return cli_usage_error(u, "unknown option '-%c'", optopt);
			if (optopt)
				return cli_usage_error(u, "option '%s' takes no value", bad);
			return cli_usage_error(u, "unknown option '%s'", bad);
		}
		if (c == ':')
			return cli_usage_error(u, "option '%s' needs a value", bad);
		bool handled = false;
		for (size_t g = 0; g < n_groups && !handled; g++)
			for (const struct cli_opt *o = groups[g].opts; o->name && !handled; o++)
				if (o->val == c) {
					handled = true;
					if (groups[g].fn(groups[g].ud, c, optarg) < 0) {
						fprintf(stderr, "(see hostgate %s --help)\n", u->command);
						return CLI_ERROR;
					}
				}
	}
	*first_pos = optind;
	return CLI_OK;
}

int cli_parse_u32(const char *opt, const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || !*v || *end || v[0] == '-' || n < lo || n > hi) {
		fprintf(stderr, "hostgate: --%s wants a number in %u..%u, not '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

int cli_set_by_name(const struct cli_group *groups, size_t n_groups, const char *name, const char *value)
{
	for (size_t g = 0; g < n_groups; g++)
		for (const struct cli_opt *o = groups[g].opts; o->name; o++) {
			if (strcmp(o->name, name))
				continue;
			if (!o->metavar) {
				/* A flag: "", true or yes sets it; false or no leaves it. */
				if (!strcmp(value, "false") || !strcmp(value, "no"))
					return 0;
				if (*value && strcmp(value, "true") && strcmp(value, "yes"))
					return -1;
				value = NULL;
			}
			return groups[g].fn(groups[g].ud, o->val, value) < 0 ? -1 : 0;
		}
	return -2;
}
