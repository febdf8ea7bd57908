/* config_file.h - `--config FILE` for every command whose options are
 * tables (opts.h): `key: value` lines with the long options' names, '#'
 * starts a comment, a flag takes "", true/yes or false/no. Each line is
 * applied through the same tables as the command line (cli_set_by_name),
 * where --config stands: options after it override it. */
#ifndef HOSTGATE_CLI_CONFIG_FILE_H
#define HOSTGATE_CLI_CONFIG_FILE_H

#include "opts.h"

/* Files may name other files (a `config:` key): nesting deeper than this
 * is an error (a file that includes itself), not a stack overflow. */
enum { CLI_CONFIG_MAX_DEPTH = 8 };

/* Applies path's lines. positional_key (e.g. "rules"), when not NULL,
 * names the key whose values are positional arguments, given to
 * positional(ud, value). Values are copied and kept for the process's life
 * (options keep pointers to them). 0, or -1 after a file:line:col message
 * for each bad line. */
int cli_read_config(const char *path, const struct cli_group *groups, size_t n_groups, const char *positional_key,
		    int (*positional)(void *ud, const char *value), void *ud);

#endif
