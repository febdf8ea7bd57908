/* ci_output.h - results in the forms CI systems read: GitHub Actions
 * workflow commands (::error file=F,line=L::message) and JUnit XML. */
#ifndef HOSTGATE_CI_OUTPUT_H
#define HOSTGATE_CI_OUTPUT_H

#include <stdio.h>

#include "hostgate/diag.h"

enum cli_format { CLI_FORMAT_TEXT, CLI_FORMAT_GITHUB };

/* "text" or "github"; false for anything else. */
bool cli_format_parse(const char *s, enum cli_format *out);

/* One workflow command: level is "error", "warning" or "notice"; loc may
 * have no file (then no file/line properties). */
void ci_github_annotation(FILE *out, const char *level, struct hg_loc loc, const char *title, const char *msg);
/* Every diagnostic record as a workflow command. */
void ci_github_diags(FILE *out, const struct hg_diag *d);

/* JUnit XML (the Ant/Jenkins shape CI systems render): one <testsuite>
 * per cases file, one <testcase> per case, <failure> for a wrong verdict,
 * <error> when the case could not be run. Built in memory, written once. */
struct ci_junit;
struct ci_junit *ci_junit_new(const char *suite_name, const char *file);
/* failure/error: NULL for a passed case; message is one line. */
void ci_junit_case(struct ci_junit *j, const char *name, struct hg_loc loc, const char *failure,
		   const char *error, double seconds);
/* Writes path (complete or not at all: a temporary file renamed). 0 or
 * -errno. Frees j either way. */
int ci_junit_write(struct ci_junit *j, const char *path);

#endif
