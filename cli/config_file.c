/* config_file.c - the one reader of `--config FILE` (run, ship): lines of
 * `key: value` applied as the command line's options would be. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_file.h"
#include "hostgate/util.h"

static int depth; /* of nested files being read; back to 0 after each */
/* The values options keep pointers to (paths, names), for the process's
 * life: in one arena a static pointer reaches (not leaked, freed at exit). */
static struct hg_arena *values;

int cli_read_config(const char *path, const struct cli_group *groups, size_t n_groups, const char *positional_key,
		    int (*positional)(void *ud, const char *value), void *ud)
{
	if (depth >= CLI_CONFIG_MAX_DEPTH) {
		fprintf(stderr, "hostgate: %s: --config nested more than %d deep (a file including itself?)\n", path,
			CLI_CONFIG_MAX_DEPTH);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "hostgate: %s: %s\n", path, strerror(errno));
		return -1;
	}
	depth++;
	char line[4096];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = line;
		char *hash = strchr(s, '#');
		if (hash)
			*hash = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			s[--n] = 0;
		if (!n)
			continue;
		unsigned col = (unsigned)(s - line) + 1;
		char *colon = strchr(s, ':');
		if (!colon) {
			fprintf(stderr, "%s:%u:%u: error: expected 'key: value'\n", path, lineno, col);
			rc = -1;
			continue;
		}
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!values)
			values = hg_arena_new();
		int r;
		if (positional_key && !strcmp(s, positional_key))
			r = positional(ud, hg_arena_strdup(values, v));
		else
			r = cli_set_by_name(groups, n_groups, s, hg_arena_strdup(values, v));
		if (r == -2)
			fprintf(stderr, "%s:%u:%u: error: unknown option '%s'\n", path, lineno, col, s);
		else if (r < 0)
			fprintf(stderr, "%s:%u:%u: error: bad value for '%s'\n", path, lineno, col, s);
		if (r < 0)
			rc = -1;
	}
	fclose(f);
	depth--;
	return rc;
}
