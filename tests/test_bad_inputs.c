/* test_bad_inputs.c - every file in tests/bad/ is a hostile or broken input
 * with a sibling .expect file; the real hostgate binary must reject it with
 * the expected exit status and diagnostics, and print nothing on stdout.
 *
 * .expect format, one directive per line:
 *   status N          expected exit status (default 2)
 *   cmd WORDS...      the subcommand and options (default "check")
 *   stderr TEXT       TEXT must occur in stderr ("{}" stands for the input path)
 *   stdout-empty      stdout must be empty (always checked for status 2) */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return buf;
}

/* Runs argv with stdout/stderr captured; returns the exit status. */
static int run(char **argv, char **out, char **err)
{
	int po[2], pe[2];
	cr_assert(pipe(po) == 0 && pipe(pe) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]), close(pe[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]), close(pe[1]);
	/* Outputs are small for bad inputs; read stderr after stdout. */
	*out = slurp_fd(po[0]);
	*err = slurp_fd(pe[0]);
	close(po[0]), close(pe[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *replace_path(const char *text, const char *path)
{
	const char *p = strstr(text, "{}");
	if (!p)
		return strdup(text);
	char *r;
	cr_assert(asprintf(&r, "%.*s%s%s", (int)(p - text), text, path, p + 2) > 0);
	return r;
}

static int check_case(const char *dir, const char *expect_name)
{
	char expect_path[4096], input[4096];
	snprintf(expect_path, sizeof(expect_path), "%s/%s", dir, expect_name);
	/* The input is the file with the same stem and another extension. */
	size_t stem = strlen(expect_name) - strlen(".expect");
	DIR *d = opendir(dir);
	input[0] = '\0';
	for (struct dirent *e; (e = readdir(d));) {
		if (!strncmp(e->d_name, expect_name, stem) && e->d_name[stem] == '.' &&
		    strcmp(e->d_name, expect_name))
			snprintf(input, sizeof(input), "tests/bad/%s", e->d_name);
	}
	closedir(d);
	cr_expect(input[0], "%s: no input file beside it", expect_name);
	if (!input[0])
		return 1;

	FILE *f = fopen(expect_path, "r");
	cr_assert(f);
	char line[4096];
	int want_status = 2;
	char *argv[32] = {getenv("HG_BIN"), (char *)"check"};
	int argc = 2;
	bool own_args = false; /* argv[1..] strdup'd from a cmd line */
	char *wants[64];
	int n_wants = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "status ", 7)) {
			want_status = atoi(line + 7);
		} else if (!strncmp(line, "cmd ", 4)) {
			if (own_args)
				for (int i = 1; i < argc; i++)
					free(argv[i]);
			argc = 1;
			own_args = true;
			for (char *tok = strtok(line + 4, " "); tok && argc < 30; tok = strtok(NULL, " "))
				argv[argc++] = strdup(tok);
		} else if (!strncmp(line, "stderr ", 7) && n_wants < 64) {
			wants[n_wants++] = replace_path(line + 7, input);
		}
	}
	fclose(f);
	argv[argc++] = input;
	argv[argc] = NULL;

	char *out, *err;
	int status = run(argv, &out, &err);
	int failures = 0;
	if (status != want_status) {
		cr_expect_eq(status, want_status, "%s: exit status %d, want %d; stderr:\n%s", input, status,
			     want_status, err);
		failures++;
	}
	if (want_status == 2 && out[0]) {
		cr_expect(!out[0], "%s: stdout not empty:\n%s", input, out);
		failures++;
	}
	for (int i = 0; i < n_wants; i++) {
		if (!strstr(err, wants[i])) {
			cr_expect(strstr(err, wants[i]), "%s: stderr lacks '%s'; stderr was:\n%s", input, wants[i],
				  err);
			failures++;
		}
		free(wants[i]);
	}
	free(out);
	free(err);
	for (int i = 1; own_args && i < argc - 1; i++)
		free(argv[i]);
	return failures;
}

Test(bad_inputs, every_case_rejected_precisely)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src && getenv("HG_BIN"), "HG_SRCDIR and HG_BIN must be set (meson test does)");
	cr_assert(chdir(src) == 0);
	DIR *d = opendir("tests/bad");
	cr_assert(d);
	int cases = 0, failed = 0;
	char *names[512];
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) && n < 512;) {
		size_t len = strlen(e->d_name);
		if (len > 7 && !strcmp(e->d_name + len - 7, ".expect"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	for (int i = 0; i < n; i++) {
		cases++;
		failed += check_case("tests/bad", names[i]) ? 1 : 0;
		free(names[i]);
	}
	cr_log_info("%d bad-input cases, %d failed", cases, failed);
	cr_expect_geq(cases, 25, "at least 25 bad-input cases");
}
