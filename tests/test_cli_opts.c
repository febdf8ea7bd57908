/* test_cli_opts.c - the command line: cli_parse (getopt_long over option
 * tables) with the shared rule options and the replay options, and every
 * command's -h/--help, --version and exit statuses through the binary. The
 * conventions tested are GNU's (getopt_long(3): "--name=value" and
 * "--name value" are the same; the GNU coding standards, "--help" and
 * "--version" print to standard output and exit successfully). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <string.h>

#include "cli.h"
#include "replay_run.h"
#include "sh_util.h"

/* argv from a space-separated line (words are not quoted). */
struct argv_buf {
	char text[512];
	char *v[32];
	int c;
};

static void split(struct argv_buf *a, const char *line)
{
	snprintf(a->text, sizeof(a->text), "%s", line);
	a->c = 0;
	for (char *tok = strtok(a->text, " "); tok; tok = strtok(NULL, " "))
		a->v[a->c++] = tok;
	a->v[a->c] = NULL;
}

static const struct cli_usage u = {"testcmd", "FILES...", "a command for the tests"};

static enum cli_result parse_rules(const char *line, struct hg_rules_args *ra, struct argv_buf *a)
{
	memset(ra, 0, sizeof(*ra));
	hg_load_opts_defaults(&ra->load);
	split(a, line);
	struct cli_group g = hg_rules_args_group(ra);
	int first = -1;
	enum cli_result r = cli_parse(&u, &g, 1, a->c, a->v, &first);
	if (r == CLI_OK)
		hg_rules_args_positional(ra, a->c, a->v, first);
	return r;
}

Test(cli_opts, equals_and_separate_values_are_the_same)
{
	const char *forms[] = {"x --home-net=10.0.0.0/8 --param=Dom=.example.com a.yaml",
			       "x --home-net 10.0.0.0/8 --param Dom=.example.com a.yaml",
			       "x a.yaml --param Dom=.example.com --home-net=10.0.0.0/8"};
	for (size_t i = 0; i < 3; i++) {
		struct hg_rules_args ra;
		struct argv_buf a;
		cr_assert_eq(parse_rules(forms[i], &ra, &a), CLI_OK, "%s", forms[i]);
		cr_assert_str_eq(ra.load.home_net, "10.0.0.0/8", "%s", forms[i]);
		cr_assert(ra.home_net_given);
		cr_assert_eq(ra.params.n, 1);
		cr_assert_str_eq(ra.params.v[0].name, "Dom");
		cr_assert_str_eq(ra.params.v[0].value, ".example.com");
		cr_assert_eq(ra.files.n, 1);
		cr_assert_str_eq(ra.files.v[0], "a.yaml");
		hg_rules_args_fini(&ra);
	}
}

Test(cli_opts, param_value_keeps_later_equals_and_repeats)
{
	struct hg_rules_args ra;
	struct argv_buf a;
	cr_assert_eq(parse_rules("x --param=A=b=c --param B= r1 r2", &ra, &a), CLI_OK);
	cr_assert_eq(ra.params.n, 2);
	cr_assert_str_eq(ra.params.v[0].name, "A");
	cr_assert_str_eq(ra.params.v[0].value, "b=c");
	cr_assert_str_eq(ra.params.v[1].name, "B");
	cr_assert_str_eq(ra.params.v[1].value, "");
	cr_assert_eq(ra.files.n, 2);
	cr_assert(!ra.home_net_given);
	hg_rules_args_fini(&ra);
}

Test(cli_opts, double_dash_ends_options)
{
	struct hg_rules_args ra;
	struct argv_buf a;
	cr_assert_eq(parse_rules("x a -- --home-net", &ra, &a), CLI_OK);
	cr_assert_eq(ra.files.n, 2);
	cr_assert_str_eq(ra.files.v[0], "a");
	cr_assert_str_eq(ra.files.v[1], "--home-net");
	cr_assert_null(ra.load.home_net);
	hg_rules_args_fini(&ra);
}

Test(cli_opts, unique_prefix_is_accepted)
{
	/* getopt_long accepts an unambiguous abbreviation. */
	struct hg_rules_args ra;
	struct argv_buf a;
	cr_assert_eq(parse_rules("x --home=::/0 a", &ra, &a), CLI_OK);
	cr_assert_str_eq(ra.load.home_net, "::/0");
	hg_rules_args_fini(&ra);
}

Test(cli_opts, usage_errors, .init = cr_redirect_stderr)
{
	const char *bad[] = {
		"x --home-net",          /* missing value */
		"x --bogus a",           /* unknown long option */
		"x -z a",                /* unknown short option */
		"x --param=novalue a",   /* NAME=VALUE wanted */
		"x --param==v a",        /* empty NAME */
		"x --help=yes a",        /* --help takes no value */
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(bad); i++) {
		struct hg_rules_args ra;
		struct argv_buf a;
		cr_assert_eq(parse_rules(bad[i], &ra, &a), CLI_ERROR, "%s", bad[i]);
		hg_rules_args_fini(&ra);
	}
	fflush(stderr);
	cr_assert_stderr_neq_str("");
}

Test(cli_opts, help_prints_every_option_to_stdout, .init = cr_redirect_stdout)
{
	struct hg_rules_args ra;
	struct argv_buf a;
	cr_assert_eq(parse_rules("x a --help", &ra, &a), CLI_HELP);
	cr_assert_eq(parse_rules("x -h", &ra, &a), CLI_HELP);
	hg_rules_args_fini(&ra);
	fflush(stdout);
	FILE *f = cr_get_redirected_stdout();
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	cr_assert(strstr(buf, "usage: hostgate testcmd [OPTIONS] FILES..."), "%s", buf);
	cr_assert(strstr(buf, "--param=NAME=VALUE"), "%s", buf);
	cr_assert(strstr(buf, "--home-net=CIDR"), "%s", buf);
}

static enum cli_result parse_run(const char *line, struct hg_rules_args *ra, struct run_opts *ro)
{
	static struct argv_buf a;
	memset(ra, 0, sizeof(*ra));
	split(&a, line);
	return run_cmdline(&u, NULL, 0, a.c, a.v, ra, ro);
}

Test(cli_opts, replay_options_in_both_forms)
{
	struct hg_rules_args ra;
	struct run_opts ro;
	cr_assert_eq(parse_run("x --max-flows=1000 --stream-depth 4096 --overlap-policy=drop --log-format eve "
			       "--alert-log=/tmp/a --flow-log /tmp/f r.yaml c.pcap",
			       &ra, &ro),
		     CLI_OK);
	cr_assert_eq(ro.inspect.flow.max_flows, 1000);
	cr_assert_eq(ro.inspect.stream.depth_to_server, 4096);
	cr_assert_eq(ro.inspect.stream.policy, HG_STREAM_POLICY_DROP);
	cr_assert_eq(ro.log_format, HG_LOG_EVE);
	cr_assert_str_eq(ro.alert_log, "/tmp/a");
	cr_assert_str_eq(ro.flow_log, "/tmp/f");
	cr_assert_eq(ra.files.n, 2);
	hg_rules_args_fini(&ra);
}

Test(cli_opts, replay_option_values_checked, .init = cr_redirect_stderr)
{
	const char *bad[] = {"x --max-flows=0 r", "x --max-flows=-5 r", "x --max-flows=12abc r",
			     "x --stream-depth=99999999999 r", "x --overlap-policy=last r", "x --log-format=xml r"};
	for (size_t i = 0; i < HG_ARRAY_LEN(bad); i++) {
		struct hg_rules_args ra;
		struct run_opts ro;
		cr_assert_eq(parse_run(bad[i], &ra, &ro), CLI_ERROR, "%s", bad[i]);
		hg_rules_args_fini(&ra);
	}
}

static int noop_set(void *ud, int val, const char *arg)
{
	return 0;
}

Test(cli_opts, two_tables_claiming_one_value_abort, .signal = SIGABRT)
{
	static const struct cli_opt t1[] = {{"one", NULL, CLI_OPT_COMMAND, "x"}, {0}};
	static const struct cli_opt t2[] = {{"two", NULL, CLI_OPT_COMMAND, "y"}, {0}};
	struct cli_group g[] = {{"a", t1, noop_set, NULL}, {"b", t2, noop_set, NULL}};
	struct argv_buf a;
	split(&a, "x --one");
	int first;
	cli_parse(&u, g, 2, a.c, a.v, &first);
}

Test(cli_opts, set_by_name_as_a_config_file_does, .init = cr_redirect_stderr)
{
	struct hg_rules_args ra = {0};
	struct run_opts ro;
	hg_load_opts_defaults(&ra.load);
	run_opts_defaults(&ro);
	struct cli_group g[] = {hg_rules_args_group(&ra), run_opts_group(&ro)};
	cr_assert_eq(cli_set_by_name(g, 2, "home-net", "192.0.2.0/24"), 0);
	cr_assert_str_eq(ra.load.home_net, "192.0.2.0/24");
	cr_assert_eq(cli_set_by_name(g, 2, "max-flows", "77"), 0);
	cr_assert_eq(ro.inspect.flow.max_flows, 77);
	cr_assert_eq(cli_set_by_name(g, 2, "max-flows", "none"), -1);
	cr_assert_eq(cli_set_by_name(g, 2, "no-such-key", "1"), -2);
	hg_rules_args_fini(&ra);
}

/* ---- through the binary -------------------------------------------------- */

static const char *bin(void)
{
	const char *b = getenv("HG_BIN");
	cr_assert(b, "HG_BIN is set by meson test");
	return b;
}

Test(cli_binary, help_and_version_to_stdout_exit_0)
{
	char *out = sh_out("%s --help 2>/dev/null; echo rc=$?", bin());
	cr_assert(strstr(out, "usage: hostgate COMMAND"), "%s", out);
	cr_assert(strstr(out, "rc=0"), "%s", out);
	free(out);
	out = sh_out("%s --version 2>/dev/null; echo rc=$?", bin());
	cr_assert(!strncmp(out, "hostgate ", 9) && strstr(out, "rc=0"), "%s", out);
	/* The version is meson's project version. */
	cr_assert(strstr(out, HG_TEST_PROJECT_VERSION), "%s", out);
	free(out);
	/* No command: the usage on stderr, status 2. */
	cr_assert_eq(sh("%s >/dev/null 2>&1", bin()), 2);
	cr_assert_eq(sh("%s frobnicate >/dev/null 2>&1", bin()), 2);
}

Test(cli_binary, every_command_has_help)
{
	const char *cmds[] = {"check", "compile", "apply", "replay", "test", "diff", "run"};
	for (size_t i = 0; i < HG_ARRAY_LEN(cmds); i++)
		for (int form = 0; form < 3; form++) {
			const char *flag = form == 0 ? "--help" : form == 1 ? "-h" : "";
			char *out = form == 2 ? sh_out("%s help %s 2>/dev/null; echo rc=$?", bin(), cmds[i])
					      : sh_out("%s %s %s 2>/dev/null; echo rc=$?", bin(), cmds[i], flag);
			char want[64];
			snprintf(want, sizeof(want), "usage: hostgate %s ", cmds[i]);
			cr_assert(strstr(out, want), "%s %s: %s", cmds[i], flag, out);
			cr_assert(strstr(out, "rc=0"), "%s %s: %s", cmds[i], flag, out);
			free(out);
		}
}

Test(cli_binary, usage_errors_exit_2)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src);
	cr_assert_eq(sh("%s check --no-such-option %s/rulesets/stateless.yaml 2>/dev/null", bin(), src), 2);
	cr_assert_eq(sh("%s compile --emit=yaml %s/rulesets/stateless.yaml 2>/dev/null", bin(), src), 2);
	cr_assert_eq(sh("%s compile --nflog-group=70000 %s/rulesets/stateless.yaml 2>/dev/null", bin(), src), 2);
	cr_assert_eq(sh("%s replay %s/rulesets/stateless.yaml 2>/dev/null", bin(), src), 2);
	cr_assert_eq(sh("%s check 2>/dev/null", bin()), 2);
}

Test(cli_binary, option_forms_give_the_same_output)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src);
	char *a = sh_out("%s compile --emit=json --home-net=10.9.0.0/16 %s/rulesets/seed-zero-trust.yaml", bin(), src);
	char *b = sh_out("%s compile %s/rulesets/seed-zero-trust.yaml --emit json --home-net 10.9.0.0/16", bin(), src);
	cr_assert(strlen(a) > 100);
	cr_assert(strstr(a, "10.9.0.0-10.9.255.255"), "HOME_NET given is in the output");
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(cli_binary, run_config_errors_are_located_and_bounded)
{
	char dir[] = "/tmp/hg-cliopts-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	/* A file that includes itself: an error, not a stack overflow. */
	char path[128];
	snprintf(path, sizeof(path), "%s/self.conf", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "# loops\nconfig: %s/self.conf\n", dir);
	fclose(f);
	char *out = sh_out("%s run --config=%s/self.conf 2>&1; echo rc=$?", bin(), dir);
	cr_assert(strstr(out, "nested more than") && strstr(out, "rc=2"), "%s", out);
	free(out);
	/* An unknown key and a bad value, each with file:line. */
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "inside: lo\nno-such-key: 1\n\nhold-flows: 3\n");
	fclose(f);
	out = sh_out("%s run --config %s/bad.conf 2>&1; echo rc=$?", bin(), dir);
	cr_assert(strstr(out, "bad.conf:2:1: error: unknown option 'no-such-key'"), "%s", out);
	cr_assert(strstr(out, "bad.conf:4:1: error: bad value for 'hold-flows'"), "%s", out);
	cr_assert(strstr(out, "rc=2"), "%s", out);
	free(out);
	sh("rm -rf %s", dir);
}

/* --nice: the range setpriority(2) takes, a sign allowed, nothing else. */
Test(run_opts, nice_range)
{
	const char *bad[] = {"-21", "20", "x", "-5x", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = sh_out("%s run --nice='%s' r.yaml --inside lo 2>&1; echo rc=$?", bin(), bad[i]);
		cr_assert(strstr(out, "--nice wants a number in -20..19") && strstr(out, "rc=2"), "%s: %s", bad[i], out);
		free(out);
	}
	/* In range: parsed, and the run goes on to its next check. */
	char *out = sh_out("%s run --nice=-20 --inside lo 2>&1; echo rc=$?", bin());
	cr_assert(!strstr(out, "--nice wants") && strstr(out, "needs rule files"), "%s", out);
	free(out);
}

/* ---- the replay table on a terminal (issue 11) --------------------------- */

Test(term_escape, vectors)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"plain.example.com", "plain.example.com"},
		{"a\r\nb", "a\\x0d\\x0ab"},
		{"\x1b[2J", "\\x1b[2J"},
		{"del\x7f", "del\\x7f"},
		{"c1\xc2\x85", "c1\\u0085"},                       /* NEL */
		{"rlo\xe2\x80\xae.com", "rlo\\u202e.com"},          /* RIGHT-TO-LEFT OVERRIDE */
		{"iso\xe2\x81\xa6x\xe2\x81\xa9", "iso\\u2066x\\u2069"}, /* isolates */
		{"ls\xe2\x80\xa8", "ls\\u2028"},
		{"zw\xe2\x80\x8b", "zw\\u200b"},
		{"bom\xef\xbb\xbf", "bom\\ufeff"},
		{"b\xc3\xbc" "cher.de", "b\xc3\xbc" "cher.de"},     /* valid UTF-8 stays */
		{"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},           /* 4-byte stays */
		{"bad\xff", "bad\\xff"},
		{"over\xc0\xaf", "over\\xc0\\xaf"},                 /* overlong '/' */
		{"sur\xed\xa0\x80", "sur\\xed\\xa0\\x80"},          /* a surrogate */
		{"cut\xe2\x80", "cut\\xe2\\x80"},                   /* truncated */
		{"back\\slash", "back\\\\slash"},
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(v); i++) {
		char *e = cli_term_escape(v[i].in);
		cr_assert_str_eq(e, v[i].out, "vector %zu", i);
		free(e);
	}
	char *e = cli_term_escape(NULL);
	cr_assert_str_eq(e, "");
	free(e);
}

static bool has_bytes(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

Test(replay_table, hostile_names_are_escaped)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src);
	/* tests/data/replay/hostile-names.pcap: 7 flows (make_hostile_names.py). */
	char *out = sh_out("%s replay %s/rulesets/seed-zero-trust.yaml %s/tests/data/replay/hostile-names.pcap", bin(),
			   src, src);
	size_t lines = 0;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 8, "one row per flow plus the summary: %s", out);
	size_t bad;
	cr_assert(hg_utf8_valid((const unsigned char *)out, strlen(out), &bad), "invalid UTF-8 at %zu", bad);
	cr_assert(!has_bytes(out, "\r") && !has_bytes(out, "\x1b") && !has_bytes(out, "\xe2\x80\xae") &&
		  !has_bytes(out, "\xe2\x80\x8b"),
		  "raw control or bidi bytes in the table");
	cr_assert(has_bytes(out, "sni=evil.example.com\\x0d\\x0aTCP fake"), "%s", out);
	cr_assert(has_bytes(out, "sni=a\\x1b[31mred"), "%s", out);
	cr_assert(has_bytes(out, "sni=moc.elpmaxe\\u202e.example.com"), "%s", out);
	cr_assert(has_bytes(out, "sni=zero\\u200bwidth"), "%s", out);
	cr_assert(has_bytes(out, "sni=bad\\xff\\xfeutf8"), "%s", out);
	cr_assert(has_bytes(out, "sni=back\\\\slash"), "%s", out);
	cr_assert(has_bytes(out, "host=rtl\\u202emoc"), "%s", out);
	free(out);
}

/* ---- man pages and completion follow the option tables ------------------ */

/* Every long option a command's --help lists is documented in its man page
 * (doc/hostgate.1.scd, hostgate ship's in hostgate-ship.1.scd): a new
 * option needs its line there. */
Test(cli_docs, man_pages_document_every_option)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src);
	const char *cmds[] = {"check", "compile", "apply", "replay", "test", "diff", "run", "ship"};
	for (size_t i = 0; i < HG_ARRAY_LEN(cmds); i++) {
		const char *page = strcmp(cmds[i], "ship") ? "hostgate.1.scd" : "hostgate-ship.1.scd";
		char *missing = sh_out("for o in $(%s %s --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do "
				       "[ \"$o\" = --help ] || grep -q -- \"\\*$o\\*\" %s/doc/%s || echo \"$o\"; done",
				       bin(), cmds[i], src, page);
		cr_assert_str_eq(missing, "", "options of hostgate %s missing from doc/%s:\n%s", cmds[i], page, missing);
		free(missing);
	}
	/* and the page lists every command */
	char *missing = sh_out("for c in $(%s --help | awk '/^commands:/ {on=1; next} on && /^  [a-z]/ {print $1}'); do "
			       "grep -q \"^\\*$c\\*\" %s/doc/hostgate.1.scd || echo $c; done",
			       bin(), src);
	cr_assert_str_eq(missing, "", "commands missing from doc/hostgate.1.scd: %s", missing);
	free(missing);
}

static char *complete(const char *line_words, int cword)
{
	const char *src = getenv("HG_SRCDIR");
	return sh_out("bash -c 'source %s/contrib/hostgate.bash-completion; COMP_WORDS=(%s %s); COMP_CWORD=%d; "
		      "_hostgate; printf \"%%s \" \"${COMPREPLY[@]}\"' 2>&1",
		      src, bin(), line_words, cword);
}

Test(cli_docs, bash_completion_of_commands_and_options)
{
	if (sh("command -v bash >/dev/null 2>&1"))
		cr_skip_test("SKIP: no bash");
	char *out = complete("c", 1);
	cr_assert_str_eq(out, "check compile ", "%s", out);
	free(out);
	out = complete("replay --alert-l", 2);
	cr_assert_str_eq(out, "--alert-log= ", "%s", out);
	free(out);
	out = complete("compile --emit s", 3);
	cr_assert_str_eq(out, "suricata ", "%s", out);
	free(out);
	out = complete("test --fo", 2);
	cr_assert_str_eq(out, "--format= ", "%s", out);
	free(out);
	out = complete("ship --cr", 2);
	cr_assert_str_eq(out, "--create-group ", "%s", out);
	free(out);
}

/* ---- progress of a long replay: a terminal only -------------------------- */

Test(cli_progress, on_a_terminal_only)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src);
	/* Not a terminal (a pipe): nothing on stderr. */
	char *out = sh_out("%s replay %s/rulesets/seed-zero-trust.yaml %s/pcaps/seed-demo.pcap 2>&1 >/dev/null", bin(),
			   src, src);
	cr_assert_str_eq(out, "", "%s", out);
	free(out);
	if (sh("command -v script >/dev/null 2>&1"))
		cr_skip_test("SKIP: no script(1) to give the replay a terminal");
	/* A terminal (script(1)'s pty); HG_PROGRESS_MS=0 redraws at every
	 * packet so a small capture shows it. */
	out = sh_out("HG_PROGRESS_MS=0 script -qec '%s replay %s/rulesets/seed-zero-trust.yaml %s/pcaps/seed-demo.pcap "
		     ">/dev/null' /dev/null",
		     bin(), src, src);
	cr_assert(strstr(out, "\rreplay: 1 packets, 1 flows, 0% of "), "%s", out);
	cr_assert(strstr(out, "packets/s"), "%s", out);
	/* the last redraw is near the end of the file, and the line is erased */
	const char *last = NULL;
	for (const char *p = out; (p = strstr(p, "\rreplay: ")); p++)
		last = p;
	cr_assert_not_null(last);
	const char *pct = strstr(last, " flows, ");
	cr_assert(pct && strtol(pct + 8, NULL, 10) >= 90, "%s", last);
	cr_assert(strstr(out, "\r\033[K"), "erased at the end");
	free(out);
}
