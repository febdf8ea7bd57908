/* test_ci_output.c - output for CI through the real binary: `hostgate test
 * --junit` (well-formed XML by xmllint, the counts read back with XPath),
 * `--format github` workflow annotations, `diff --json` (parsed by Python's
 * json module), `check --format github`, and the documented exit statuses
 * (0 ok, 1 a failed case or a changed verdict, 2 bad input).
 *
 * Expected verdicts are the seed's (rulesets/seed-zero-trust.yaml): its
 * AllowedDomains list is an ALLOWLIST with api.github.com, so ANFW passes
 * TLS to api.github.com and drops TLS to any other name (reference/anfw.md
 * §1.3; "Domain list rule groups", AWS Network Firewall Developer Guide). The
 * failing case below expects the opposite on purpose. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh_util.h"

#define SEED "rulesets/seed-zero-trust.yaml"

static const char *src, *bin;
static char dir[64];

static void setup(void)
{
	src = getenv("HG_SRCDIR");
	bin = getenv("HG_BIN");
	cr_assert(src && bin, "HG_SRCDIR and HG_BIN are set by meson test");
	snprintf(dir, sizeof(dir), "/tmp/hg-ci-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	sh("rm -rf '%s'", dir);
}

static bool have_xmllint(void)
{
	return sh("command -v xmllint >/dev/null 2>&1") == 0;
}

/* A cases file in dir: one passing case, one failing case whose name is
 * hostile to XML and to workflow commands, and optionally one whose
 * capture does not exist. */
static void write_cases(bool missing_capture)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/cases.yaml", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"cases:\n"
		"  - name: allowlisted name passes\n"
		"    pcap: %s/pcaps/real-tls.pcap\n"
		"    match: {sni: api.github.com}\n"
		"    verdict: pass\n"
		"  - name: \"wrong <on> & 'purpose' \\\"x\\\"\\u0007 ::error file=evil,line=1::%%0A\"\n"
		"    pcap: %s/pcaps/real-tls.pcap\n"
		"    match: {sni: unknown.test}\n"
		"    verdict: pass\n",
		src, src);
	if (missing_capture)
		fprintf(f,
			"  - name: capture missing\n"
			"    pcap: %s/no-such.pcap\n"
			"    match: {sni: x.test}\n"
			"    verdict: drop\n",
			dir);
	fclose(f);
}

/* Well-formed, and valid against tests/data/junit.xsd (the JUnit shape). */
static void assert_junit_valid(const char *file)
{
	cr_assert_eq(sh("xmllint --noout %s", file), 0, "JUnit output is not well-formed XML");
	cr_assert_eq(sh("xmllint --noout --schema %s/tests/data/junit.xsd %s 2>&1", src, file), 0,
		     "JUnit output does not validate against tests/data/junit.xsd");
}

static char *xpath(const char *file, const char *expr)
{
	char *out = sh_out("xmllint --xpath '%s' '%s' 2>&1", expr, file);
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	return out;
}

TestSuite(ci, .init = setup, .fini = teardown);

Test(ci, junit_of_the_seed_cases_all_pass)
{
	if (!have_xmllint())
		cr_skip_test("SKIP: xmllint not installed (libxml2-utils)");
	char *count = sh_out("grep -c '^  - name:' %s/pcaps/cases.yaml", src);
	long n = strtol(count, NULL, 10);
	free(count);
	cr_assert_gt(n, 10);
	cr_assert_eq(sh("cd %s && %s test %s pcaps/cases.yaml --junit=%s/j.xml >/dev/null", src, bin, SEED, dir), 0);
	char file[128];
	snprintf(file, sizeof(file), "%s/j.xml", dir);
	assert_junit_valid(file);
	char *t = xpath(file, "string(/testsuites/testsuite/@tests)");
	cr_assert_eq(strtol(t, NULL, 10), n, "tests=%s, cases %ld", t, n);
	free(t);
	t = xpath(file, "count(//testcase)");
	cr_assert_eq(strtol(t, NULL, 10), n, "%s", t);
	free(t);
	t = xpath(file, "concat(/testsuites/@failures, \" \", /testsuites/@errors, \" \", count(//failure))");
	cr_assert_str_eq(t, "0 0 0", "%s", t);
	free(t);
}

Test(ci, junit_counts_a_failure_and_escapes_names)
{
	if (!have_xmllint())
		cr_skip_test("SKIP: xmllint not installed (libxml2-utils)");
	write_cases(false);
	cr_assert_eq(sh("cd %s && %s test %s %s/cases.yaml --junit %s/j.xml >/dev/null", src, bin, SEED, dir, dir), 1);
	char file[128];
	snprintf(file, sizeof(file), "%s/j.xml", dir);
	assert_junit_valid(file);
	char *t = xpath(file, "concat(/testsuites/@tests, \" \", /testsuites/@failures, \" \", /testsuites/@errors, \" \", "
			      "count(//testcase/failure))");
	cr_assert_str_eq(t, "2 1 0 1", "%s", t);
	free(t);
	/* The failing case is the second, by name; its message says why. */
	t = xpath(file, "string(//testcase[failure]/@name)");
	cr_assert(!strncmp(t, "wrong <on> & 'purpose' \"x\"\\x07", 30), "%s", t);
	free(t);
	t = xpath(file, "string(//testcase/failure/@message)");
	cr_assert(strstr(t, "got drop") && strstr(t, "want pass"), "%s", t);
	free(t);
	t = xpath(file, "string(//testcase[failure]/@line)");
	cr_assert_eq(strtol(t, NULL, 10), 6, "the case's line in cases.yaml: %s", t);
	free(t);
}

Test(ci, unreadable_capture_is_an_error_and_exit_2)
{
	if (!have_xmllint())
		cr_skip_test("SKIP: xmllint not installed (libxml2-utils)");
	write_cases(true);
	cr_assert_eq(sh("cd %s && %s test %s %s/cases.yaml --junit %s/j.xml >/dev/null 2>&1", src, bin, SEED, dir, dir),
		     2);
	char file[128];
	snprintf(file, sizeof(file), "%s/j.xml", dir);
	assert_junit_valid(file);
	char *t = xpath(file, "concat(/testsuites/@tests, \" \", /testsuites/@failures, \" \", /testsuites/@errors)");
	cr_assert_str_eq(t, "3 1 1", "%s", t);
	free(t);
}

Test(ci, github_annotations_for_failures)
{
	write_cases(false);
	char *out = sh_out("cd %s && %s test %s %s/cases.yaml --format github; echo rc=$?", src, bin, SEED, dir);
	cr_assert(strstr(out, "PASS allowlisted name passes"), "%s", out);
	cr_assert(strstr(out, "rc=1"), "%s", out);
	/* The failure is one workflow command at the case's line; the hostile
	 * name cannot start a second command or break the properties. */
	char want[256];
	snprintf(want, sizeof(want), "::error file=%s/cases.yaml,line=6,col=5,title=wrong <on> & 'purpose' \"x\"\\x07 %%3A%%3Aerror file=evil%%2Cline=1%%3A%%3A%%250A::", dir);
	cr_assert(strstr(out, want), "want %s in:\n%s", want, out);
	size_t commands = 0;
	for (const char *p = out; (p = strstr(p, "::error")); p++)
		commands++;
	cr_assert_eq(commands, 1, "%s", out);
	free(out);
}

Test(ci, check_github_annotations_for_load_errors)
{
	char *out = sh_out("cd %s && %s check --format github tests/bad/bad-cidr.yaml 2>/dev/null; echo rc=$?", src, bin);
	cr_assert(strstr(out, "::error file=tests/bad/bad-cidr.yaml,line=14,col=25,title=hostgate::invalid address"),
		  "%s", out);
	cr_assert(strstr(out, "rc=2"), "%s", out);
	free(out);
}

Test(ci, diff_json_is_one_document_with_the_changes)
{
	/* tests/data/replay/seed-no-github.yaml is the seed without
	 * api.github.com in the allowlist: its TLS and HTTP flows in
	 * seed-demo.pcap change from pass to drop (the allowlist's catch-all). */
	char *out = sh_out("cd %s && %s diff --json %s tests/data/replay/seed-no-github.yaml pcaps/seed-demo.pcap "
			   "2>/dev/null | /usr/bin/python3 -c '"
			   "import json,sys\n"
			   "d=json.load(sys.stdin)\n"
			   "assert d[\"changed\"]==len(d[\"changes\"])\n"
			   "for c in d[\"changes\"]:\n"
			   "  n=c.get(\"tls\",{}).get(\"sni\") or c.get(\"http\",{}).get(\"hostname\")\n"
			   "  print(n,c[\"old\"][\"verdict\"],c[\"new\"][\"verdict\"],c[\"new\"][\"group\"])\n"
			   "print(\"flows\",d[\"flows\"],\"changed\",d[\"changed\"])'",
			   src, bin, SEED);
	cr_assert(strstr(out, "api.github.com pass drop AllowedDomains"), "%s", out);
	cr_assert(strstr(out, "changed 3"), "%s", out);
	cr_assert(!strstr(out, "Traceback"), "%s", out);
	free(out);
	cr_assert_eq(sh("cd %s && %s diff --json %s tests/data/replay/seed-no-github.yaml pcaps/seed-demo.pcap "
			">/dev/null 2>&1",
			src, bin, SEED),
		     1, "changed flows: exit 1");
	out = sh_out("cd %s && %s diff --json %s %s pcaps/seed-demo.pcap 2>/dev/null; echo rc=$?", src, bin, SEED, SEED);
	cr_assert(strstr(out, "\"changed\":0}") && strstr(out, "rc=0"), "%s", out);
	free(out);
	cr_assert_eq(sh("cd %s && %s diff --json %s %s no-such.pcap >/dev/null 2>&1", src, bin, SEED, SEED), 2);
}
