/* cmd_test.c - hostgate test RULES... CASES.yaml: replays each capture the
 * cases name (relative to the cases file) and checks every case's expected
 * verdict; one PASS/FAIL line per case, exit 1 on any mismatch.
 *
 *   cases:
 *     - name: what the case shows
 *       pcap: capture.pcap
 *       match: {sni: a.example.com}    # and/or host, quic_sni, no_sni, src,
 *                                      # sport, dst, dport, proto
 *       verdict: pass | drop | reject
 *       sid: 3                         # optional: the deciding rule
 *
 * --junit FILE writes the results as JUnit XML too; --format github prints
 * failures (and load errors) as GitHub workflow annotations. Exit 0 all
 * passed, 1 a case failed, 2 bad input (rules, cases, an unreadable capture). */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ci_output.h"
#include "cli.h"
#include "replay_run.h"
#include "yaml_tree.h"

struct case_def {
	struct hg_loc loc;
	const char *name, *pcap;
	const char *sni, *host, *quic_sni, *src, *dst, *proto;
	bool no_sni;
	long sport, dport; /* -1: any */
	enum hg_verdict verdict;
	long sid;          /* -1: not checked */
};

struct capture_result {
	const char *pcap;
	struct record_list flows;
	bool failed;
};

static const char *scalar(const struct hg_ynode *n)
{
	return n && n->kind == HG_Y_SCALAR ? n->str : NULL;
}

static bool parse_case(const char *file, const struct hg_ynode *n, struct case_def *c, struct hg_diag *d)
{
	static const char *const keys[] = {"name", "pcap", "match", "verdict", "sid", NULL};
	static const char *const mkeys[] = {"sni", "host", "quic_sni", "no_sni", "src", "sport",
					    "dst", "dport", "proto", NULL};
	memset(c, 0, sizeof(*c));
	c->loc = hg_ynode_loc(file, n);
	c->sport = c->dport = c->sid = -1;
	if (n->kind != HG_Y_MAP) {
		hg_diag_error(d, c->loc, "a case is a mapping with name, pcap, match and verdict");
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n->n_pairs; i++) {
		const char *k = n->pairs[i].key->str;
		bool known = false;
		for (size_t j = 0; keys[j]; j++)
			known |= !strcmp(k, keys[j]);
		if (!known) {
			const char *near = hg_diag_nearest(k, keys);
			hg_diag_error(d, hg_ynode_loc(file, n->pairs[i].key), "unknown key '%s' in a case%s%s%s", k,
				      near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
			ok = false;
		}
	}
	c->name = scalar(hg_ymap_get(n, "name"));
	c->pcap = scalar(hg_ymap_get(n, "pcap"));
	const char *v = scalar(hg_ymap_get(n, "verdict"));
	if (!c->pcap || !v) {
		hg_diag_error(d, c->loc, "a case needs pcap and verdict");
		return false;
	}
	if (!strcmp(v, "pass"))
		c->verdict = HG_VERDICT_PASS;
	else if (!strcmp(v, "drop"))
		c->verdict = HG_VERDICT_DROP;
	else if (!strcmp(v, "reject"))
		c->verdict = HG_VERDICT_REJECT;
	else {
		hg_diag_error(d, hg_ynode_loc(file, hg_ymap_get(n, "verdict")),
			      "invalid verdict '%s'; expected pass, drop or reject", v);
		ok = false;
	}
	const char *sid = scalar(hg_ymap_get(n, "sid"));
	if (sid)
		c->sid = strtol(sid, NULL, 10);
	const struct hg_ynode *m = hg_ymap_get(n, "match");
	if (!m || m->kind != HG_Y_MAP || !m->n_pairs) {
		hg_diag_error(d, c->loc, "a case needs a match mapping (sni, host, quic_sni, sport, ...)");
		return false;
	}
	for (size_t i = 0; i < m->n_pairs; i++) {
		const char *k = m->pairs[i].key->str;
		const char *val = scalar(m->pairs[i].val);
		struct hg_loc kl = hg_ynode_loc(file, m->pairs[i].key);
		if (!val) {
			hg_diag_error(d, kl, "match '%s' wants a scalar", k);
			ok = false;
		} else if (!strcmp(k, "sni"))
			c->sni = val;
		else if (!strcmp(k, "host"))
			c->host = val;
		else if (!strcmp(k, "quic_sni"))
			c->quic_sni = val;
		else if (!strcmp(k, "no_sni"))
			c->no_sni = !strcmp(val, "true");
		else if (!strcmp(k, "src"))
			c->src = val;
		else if (!strcmp(k, "dst"))
			c->dst = val;
		else if (!strcmp(k, "proto"))
			c->proto = val;
		else if (!strcmp(k, "sport"))
			c->sport = strtol(val, NULL, 10);
		else if (!strcmp(k, "dport"))
			c->dport = strtol(val, NULL, 10);
		else {
			const char *near = hg_diag_nearest(k, mkeys);
			hg_diag_error(d, kl, "unknown match key '%s'%s%s%s", k, near ? "; did you mean '" : "",
				      near ? near : "", near ? "'?" : "");
			ok = false;
		}
	}
	return ok;
}

static bool str_eq(const char *want, const char *have)
{
	return !want || (have && !strcmp(want, have));
}

static bool selects(const struct case_def *c, const struct flow_record *r)
{
	char ip[64];
	if (!str_eq(c->sni, r->sni) || !str_eq(c->host, r->host) || !str_eq(c->quic_sni, r->quic_sni))
		return false;
	if (c->no_sni && !r->tls_no_sni)
		return false;
	if ((c->sport >= 0 && c->sport != r->cport) || (c->dport >= 0 && c->dport != r->sport))
		return false;
	if (c->src) {
		hg_ip_format(&r->cli, ip, sizeof(ip));
		if (strcmp(c->src, ip))
			return false;
	}
	if (c->dst) {
		hg_ip_format(&r->srv, ip, sizeof(ip));
		if (strcmp(c->dst, ip))
			return false;
	}
	if (c->proto) {
		const char *pn = hg_log_proto_name(r->proto);
		if (!pn || strcasecmp(pn, c->proto))
			return false;
	}
	return true;
}

enum case_result { CASE_PASS, CASE_FAIL, CASE_ERROR };

/* Checks one case: CASE_PASS with *selected flows, or CASE_FAIL / CASE_ERROR
 * (the capture could not be replayed) with *why, one line, malloc'd. */
static enum case_result check_case(const struct case_def *c, const struct capture_result *cap, size_t *selected,
				   char **why)
{
	*why = NULL;
	*selected = 0;
	if (cap->failed) {
		*why = xasprintf("capture %s could not be replayed", c->pcap);
		return CASE_ERROR;
	}
	size_t wrong = 0;
	const struct flow_record *bad = NULL;
	for (size_t i = 0; i < cap->flows.v.n; i++) {
		const struct flow_record *r = &cap->flows.v.v[i];
		if (!selects(c, r))
			continue;
		++*selected;
		if (r->verdict != c->verdict || (c->sid >= 0 && (long)r->sid != c->sid)) {
			wrong++;
			bad = r;
		}
	}
	if (!*selected) {
		*why = xasprintf("no flow in %s matches", c->pcap);
		return CASE_FAIL;
	}
	if (!wrong)
		return CASE_PASS;
	char *msg = cli_term_escape(bad->msg);
	char got[512] = "", want[32] = "";
	if (bad->sid)
		snprintf(got, sizeof(got), " (sid %u \"%s\")", bad->sid, msg);
	if (c->sid >= 0)
		snprintf(want, sizeof(want), " (sid %ld)", c->sid);
	*why = xasprintf("%zu of %zu flows got %s%s, want %s%s", wrong, *selected, hg_verdict_name(bad->verdict), got,
			 hg_verdict_name(c->verdict), want);
	free(msg);
	return CASE_FAIL;
}

/* One case's line: PASS/FAIL text, or for --format github a workflow
 * annotation at the case's line in the cases file. */
static void report_case(enum cli_format fmt, const struct case_def *c, enum case_result res, size_t selected,
			const char *why)
{
	char *name = cli_term_escape(c->name ? c->name : "(unnamed)");
	if (res == CASE_PASS)
		printf("PASS %s (%zu flow%s)\n", name, selected, selected == 1 ? "" : "s");
	else if (fmt == CLI_FORMAT_GITHUB)
		ci_github_annotation(stdout, "error", c->loc, name, why);
	else
		printf("%s %s: %s (%s:%u)\n", res == CASE_FAIL ? "FAIL" : "ERROR", name, why, c->loc.file, c->loc.line);
	free(name);
}

struct test_opts {
	const char *junit;
	enum cli_format format;
};

enum { OPT_JUNIT = CLI_OPT_COMMAND, OPT_FORMAT };

static const struct cli_opt test_opts_table[] = {
	{"junit", "FILE", OPT_JUNIT, "also write the results as JUnit XML to FILE"},
	{"format", "text|github", OPT_FORMAT, "github: failures and load errors as workflow annotations"},
	{0},
};

static int test_set(void *ud, int val, const char *arg)
{
	struct test_opts *t = ud;
	if (val == OPT_JUNIT) {
		t->junit = arg;
		return 0;
	}
	if (!cli_format_parse(arg, &t->format)) {
		fprintf(stderr, "hostgate: --format wants text or github, not '%s'\n", arg);
		return -1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const struct cli_usage test_usage = {
	"test", "RULES... CASES.yaml",
	"Replays the captures a cases file names and checks each case's expected verdict (exit 1 on any failure)."};

int cmd_test(int argc, char **argv)
{
	struct hg_rules_args ra = {0};
	struct run_opts ro;
	int status = HG_EXIT_USAGE;
	struct hg_ruleset *rs = NULL;
	struct hg_arena *arena = hg_arena_new();
	char *text = NULL;
	HG_VEC(struct case_def) cases = {0};
	HG_VEC(struct capture_result) caps = {0};
	struct hg_diag d;
	hg_diag_init(&d);
	struct test_opts topt = {0};
	struct cli_group own = {"output options", test_opts_table, test_set, &topt};
	int pr = run_cmdline(&test_usage, &own, 1, argc, argv, &ra, &ro);
	if (pr == CLI_HELP)
		status = HG_EXIT_OK;
	if (pr != CLI_OK)
		goto out;
	if (ra.files.n < 2) {
		cli_usage_error(&test_usage, "want RULES... and a CASES.yaml");
		goto out;
	}
	ra.diag_format = topt.format;
	const char *cases_path = ra.files.v[--ra.files.n];
	size_t len;
	int r = hg_read_file(cases_path, ra.load.max_file_bytes, &text, &len);
	if (r < 0) {
		fprintf(stderr, "hostgate: %s: %s\n", cases_path, strerror(-r));
		goto out;
	}
	struct hg_ynode *root = hg_ytree_parse(arena, cases_path, text, len, &ra.load, &d);
	const struct hg_ynode *list = hg_ymap_get(root, "cases");
	if (root && (!list || list->kind != HG_Y_SEQ))
		hg_diag_error(&d, hg_ynode_loc(cases_path, root), "expected a top-level 'cases' list");
	for (size_t i = 0; list && list->kind == HG_Y_SEQ && i < list->n_items; i++) {
		struct case_def c;
		if (parse_case(cases_path, list->items[i], &c, &d))
			hg_vec_push(&cases, c);
	}
	if (hg_diag_failed(&d)) {
		if (topt.format == CLI_FORMAT_GITHUB)
			ci_github_diags(stdout, &d);
		hg_diag_print(&d, stderr);
		goto out;
	}
	rs = hg_rules_args_load(&ra);
	if (!rs)
		goto out;
	struct ci_junit *junit = topt.junit ? ci_junit_new(cases_path, cases_path) : NULL;
	char *dir_copy = xstrdup(cases_path);
	const char *dir = dirname(dir_copy);
	size_t failed = 0, errors = 0;
	for (size_t i = 0; i < cases.n; i++) {
		struct capture_result *cap = NULL;
		double seconds = 0;
		for (size_t k = 0; k < caps.n; k++)
			if (!strcmp(caps.v[k].pcap, cases.v[i].pcap))
				cap = &caps.v[k];
		if (!cap) {
			/* The replay's time goes to the first case of the capture. */
			double t0 = now_s();
			struct capture_result fresh = {.pcap = cases.v[i].pcap};
			hg_vec_push(&caps, fresh);
			cap = &caps.v[caps.n - 1];
			char *path = cases.v[i].pcap[0] == '/' ? xstrdup(cases.v[i].pcap)
							       : xasprintf("%s/%s", dir, cases.v[i].pcap);
			record_fn sink = record_list_sink;
			void *ud = &cap->flows;
			const struct hg_ruleset *rsv[1] = {rs};
			cap->failed = run_capture(path, rsv, 1, &ro, &sink, &ud, NULL) == 2;
			free(path);
			seconds = now_s() - t0;
		}
		size_t selected;
		char *why;
		enum case_result res = check_case(&cases.v[i], cap, &selected, &why);
		failed += res == CASE_FAIL;
		errors += res == CASE_ERROR;
		report_case(topt.format, &cases.v[i], res, selected, why);
		if (junit)
			ci_junit_case(junit, cases.v[i].name ? cases.v[i].name : "(unnamed)", cases.v[i].loc,
				      res == CASE_FAIL ? why : NULL, res == CASE_ERROR ? why : NULL, seconds);
		free(why);
	}
	free(dir_copy);
	printf("%zu passed, %zu failed", cases.n - failed - errors, failed);
	if (errors)
		printf(", %zu could not be run", errors);
	putchar('\n');
	/* A capture that cannot be read is bad input (2), like a bad rule. */
	status = errors ? HG_EXIT_USAGE : failed ? HG_EXIT_FAIL : HG_EXIT_OK;
	if (junit && (r = ci_junit_write(junit, topt.junit)) < 0) {
		fprintf(stderr, "hostgate: %s: %s\n", topt.junit, strerror(-r));
		status = HG_EXIT_USAGE;
	}
out:
	for (size_t k = 0; k < caps.n; k++) {
		record_list_free(&caps.v[k].flows);
	}
	hg_vec_free(&caps);
	hg_vec_free(&cases);
	hg_diag_fini(&d);
	free(text);
	hg_arena_free(arena);
	hg_ruleset_free(rs);
	hg_rules_args_fini(&ra);
	return status;
}
