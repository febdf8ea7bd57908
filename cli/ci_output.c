/* ci_output.c - GitHub Actions workflow commands and JUnit XML.
 *
 * Workflow commands (docs.github.com, "Workflow commands for GitHub
 * Actions"): `::error file={name},line={line},col={col},title={title}::{message}`
 * on its own line of output. The runner decodes %25, %0D, %0A in the message
 * and additionally %3A and %2C in properties, so those characters are
 * encoded, or a hostile name could end the command early or start another.
 *
 * JUnit XML has no single standard; this writes the shape Ant's JUnit task
 * defined and Jenkins, GitLab and the GitHub test-report actions read:
 * <testsuites><testsuite name tests failures errors skipped time>
 * <testcase name classname file line time><failure message type>text
 * </failure></testcase>. Text goes through cli_term_escape (XML 1.0 allows
 * no control characters but tab, CR and LF, and only valid UTF-8) and then
 * the five XML escapes. */
#include "ci_output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

bool cli_format_parse(const char *s, enum cli_format *out)
{
	if (!strcmp(s, "text"))
		*out = CLI_FORMAT_TEXT;
	else if (!strcmp(s, "github"))
		*out = CLI_FORMAT_GITHUB;
	else
		return false;
	return true;
}

static void gh_escape(FILE *out, const char *s, bool property)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '%')
			fputs("%25", out);
		else if (c == '\r')
			fputs("%0D", out);
		else if (c == '\n')
			fputs("%0A", out);
		else if (property && c == ':')
			fputs("%3A", out);
		else if (property && c == ',')
			fputs("%2C", out);
		else
			fputc(c, out);
	}
}

void ci_github_annotation(FILE *out, const char *level, struct hg_loc loc, const char *title, const char *msg)
{
	fprintf(out, "::%s", level);
	const char *sep = " ";
	if (loc.file) {
		fputs(" file=", out);
		gh_escape(out, loc.file, true);
		if (loc.line)
			fprintf(out, ",line=%u", loc.line);
		if (loc.line && loc.col)
			fprintf(out, ",col=%u", loc.col);
		sep = ",";
	}
	if (title) {
		fprintf(out, "%stitle=", sep);
		gh_escape(out, title, true);
	}
	fputs("::", out);
	char *safe = cli_term_escape(msg);
	gh_escape(out, safe, false);
	free(safe);
	fputc('\n', out);
}

void ci_github_diags(FILE *out, const struct hg_diag *d)
{
	static const char *const level[] = {"error", "warning", "notice"};
	for (size_t i = 0; i < d->recs.n; i++) {
		const struct hg_diag_record *r = &d->recs.v[i];
		ci_github_annotation(out, level[r->level], r->loc, "hostgate", r->msg);
	}
	size_t stored = 0;
	for (size_t i = 0; i < d->recs.n; i++)
		stored += d->recs.v[i].level == HG_DIAG_ERROR;
	if (d->errors > stored) {
		char msg[80];
		snprintf(msg, sizeof(msg), "%zu more errors not shown", d->errors - stored);
		ci_github_annotation(out, "error", (struct hg_loc){0}, "hostgate", msg);
	}
}

/* ---- JUnit ------------------------------------------------------------- */

struct ci_junit {
	char *suite, *file;
	char *body;
	size_t body_len;
	FILE *mem;
	size_t tests, failures, errors;
	double seconds;
};

static void xml_text(FILE *out, const char *s)
{
	char *safe = cli_term_escape(s);
	for (const char *p = safe; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: fputc(*p, out);
		}
	}
	free(safe);
}

struct ci_junit *ci_junit_new(const char *suite_name, const char *file)
{
	struct ci_junit *j = xcalloc(1, sizeof(*j));
	j->suite = xstrdup(suite_name);
	j->file = xstrdup(file);
	j->mem = open_memstream(&j->body, &j->body_len);
	if (!j->mem)
		abort();
	return j;
}

void ci_junit_case(struct ci_junit *j, const char *name, struct hg_loc loc, const char *failure,
		   const char *error, double seconds)
{
	FILE *o = j->mem;
	j->tests++;
	j->failures += failure != NULL;
	j->errors += error != NULL;
	j->seconds += seconds;
	fputs("    <testcase name=\"", o);
	xml_text(o, name);
	fputs("\" classname=\"", o);
	xml_text(o, j->suite);
	fputs("\" file=\"", o);
	xml_text(o, loc.file ? loc.file : j->file);
	fprintf(o, "\" line=\"%u\" time=\"%.3f\"", loc.line, seconds);
	if (!failure && !error) {
		fputs("/>\n", o);
		return;
	}
	const char *what = failure ? "failure" : "error";
	const char *text = failure ? failure : error;
	fprintf(o, ">\n      <%s message=\"", what);
	xml_text(o, text);
	fprintf(o, "\" type=\"%s\">", failure ? "verdict" : "capture");
	xml_text(o, text);
	fprintf(o, "</%s>\n    </testcase>\n", what);
}

int ci_junit_write(struct ci_junit *j, const char *path)
{
	fclose(j->mem);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int rc = 0;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		rc = -errno;
		goto out;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fputs("<testsuites name=\"hostgate test\"", f);
	fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", j->tests, j->failures,
		j->errors, j->seconds);
	fputs("  <testsuite name=\"", f);
	xml_text(f, j->suite);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\">\n", j->tests,
		j->failures, j->errors, j->seconds);
	fwrite(j->body, 1, j->body_len, f);
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (fflush(f) != 0 || ferror(f))
		rc = -errno;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
out:
	free(tmp);
	free(j->body);
	free(j->suite);
	free(j->file);
	free(j);
	return rc;
}
