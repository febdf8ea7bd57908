/* main.c - the hostgate command line: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

struct command {
	const struct cli_usage *usage;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{&check_usage, cmd_check},   {&compile_usage, cmd_compile}, {&apply_usage, cmd_apply},
	{&replay_usage, cmd_replay}, {&test_usage, cmd_test},       {&diff_usage, cmd_diff},
	{&run_usage, cmd_run},        {&ship_usage, cmd_ship},
};

static void usage(FILE *out)
{
	fputs("usage: hostgate COMMAND [OPTIONS] ARGS...\n"
	      "       hostgate COMMAND --help\n"
	      "       hostgate --version\n\n"
	      "An egress firewall speaking AWS Network Firewall's rule language, enforced with nftables.\n\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < HG_ARRAY_LEN(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].usage->command, commands[i].usage->summary);
	fputs("\nexit status: 0 success; 1 a negative result (a failed test case, a changed verdict,\n"
	      "a failed apply); 2 bad input or usage.\n"
	      "See hostgate(1).\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return HG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		/* `hostgate help COMMAND` is `hostgate COMMAND --help`. */
		if (argc > 2 && !strcmp(argv[1], "help"))
			for (size_t i = 0; i < HG_ARRAY_LEN(commands); i++)
				if (!strcmp(argv[2], commands[i].usage->command)) {
					char *av[] = {argv[2], (char *)"--help", NULL};
					return commands[i].fn(2, av);
				}
		usage(stdout);
		return HG_EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		/* The git description when it says more than the version. */
		const char *git = HG_GIT_DESCRIBE;
		if (*git && strcmp(git, HG_PROJECT_VERSION) && strcmp(git + (*git == 'v'), HG_PROJECT_VERSION))
			printf("hostgate %s (git %s)\n", HG_PROJECT_VERSION, git);
		else
			printf("hostgate %s\n", HG_PROJECT_VERSION);
		return HG_EXIT_OK;
	}
	for (size_t i = 0; i < HG_ARRAY_LEN(commands); i++)
		if (!strcmp(argv[1], commands[i].usage->command))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hostgate: unknown command '%s'\n(see hostgate --help)\n", argv[1]);
	return HG_EXIT_USAGE;
}
