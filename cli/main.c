/* main.c - the hostgate command line: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{"check", cmd_check, "check RULES...                     validate rule files, report capacity"},
	{"compile", cmd_compile, "compile RULES... [--emit nft|suricata|json] [-o FILE]"},
	{"apply", cmd_apply, "apply RULES... [--check]           load the nftables table atomically"},
	{"replay", cmd_replay, "replay RULES... FILE.pcap [--json] [--alert-log F] [--flow-log F] [--log-format anfw|eve]"},
	{"test", cmd_test, "test RULES... CASES.yaml            compare verdicts with expectations"},
	{"diff", cmd_diff, "diff OLD NEW FILE.pcap              flows whose verdict changes"},
	{"run", cmd_run, "run RULES... --inside IF[,IF...] [--nflog-group N] [--alert-log F] ...  the live daemon"},
};

static void usage(FILE *out)
{
	fputs("usage: hostgate COMMAND [OPTIONS] ...\n\ncommands:\n", out);
	for (size_t i = 0; i < HG_ARRAY_LEN(commands); i++)
		fprintf(out, "  hostgate %s\n", commands[i].usage);
	fputs("\nrule options: --param NAME=VALUE (CloudFormation Parameters), --home-net CIDR[,CIDR...]\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? HG_EXIT_USAGE : HG_EXIT_OK;
	}
	for (size_t i = 0; i < HG_ARRAY_LEN(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hostgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return HG_EXIT_USAGE;
}
