/* sh_util.h - the shell helpers the namespace tests share: run a command
 * built from fixed text and the test's own names, get its status or its
 * standard output. Static in each test program (criterion test files). */
#ifndef HOSTGATE_TEST_SH_UTIL_H
#define HOSTGATE_TEST_SH_UTIL_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "hostgate/util.h"

/* Runs a shell command; returns its exit status (255 when killed). */
static int sh(const char *fmt, ...) HG_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* Standard output of a shell command, malloc'd. */
static char *sh_out(const char *fmt, ...) HG_PRINTF(1, 2);
static char *sh_out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		fwrite(chunk, 1, n, mem);
	pclose(p);
	fclose(mem);
	free(cmd);
	return buf;
}

#endif
