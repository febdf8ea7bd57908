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
 *       sid: 3                         # optional: the deciding rule */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

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

/* Checks one case; prints its line. */
static bool check_case(const struct case_def *c, const struct capture_result *cap)
{
	const char *name = c->name ? c->name : "(unnamed)";
	if (cap->failed) {
		printf("FAIL %s: capture %s could not be replayed\n", name, c->pcap);
		return false;
	}
	size_t selected = 0, wrong = 0;
	const struct flow_record *bad = NULL;
	for (size_t i = 0; i < cap->flows.v.n; i++) {
		const struct flow_record *r = &cap->flows.v.v[i];
		if (!selects(c, r))
			continue;
		selected++;
		if (r->verdict != c->verdict || (c->sid >= 0 && (long)r->sid != c->sid)) {
			wrong++;
			bad = r;
		}
	}
	if (!selected) {
		printf("FAIL %s: no flow in %s matches (%s:%u)\n", name, c->pcap, c->loc.file, c->loc.line);
		return false;
	}
	if (wrong) {
		printf("FAIL %s: %zu of %zu flows got %s", name, wrong, selected, hg_verdict_name(bad->verdict));
		if (bad->sid) {
			char *msg = cli_term_escape(bad->msg);
			printf(" (sid %u \"%s\")", bad->sid, msg);
			free(msg);
		}
		printf(", want %s", hg_verdict_name(c->verdict));
		if (c->sid >= 0)
			printf(" (sid %ld)", c->sid);
		printf(" (%s:%u)\n", c->loc.file, c->loc.line);
		return false;
	}
	printf("PASS %s (%zu flow%s)\n", name, selected, selected == 1 ? "" : "s");
	return true;
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
	int pr = run_cmdline(&test_usage, NULL, 0, argc, argv, &ra, &ro);
	if (pr == CLI_HELP)
		status = HG_EXIT_OK;
	if (pr != CLI_OK)
		goto out;
	if (ra.files.n < 2) {
		cli_usage_error(&test_usage, "want RULES... and a CASES.yaml");
		goto out;
	}
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
		hg_diag_print(&d, stderr);
		goto out;
	}
	rs = hg_rules_args_load(&ra);
	if (!rs)
		goto out;
	char *dir_copy = xstrdup(cases_path);
	const char *dir = dirname(dir_copy);
	size_t failed = 0;
	for (size_t i = 0; i < cases.n; i++) {
		struct capture_result *cap = NULL;
		for (size_t k = 0; k < caps.n; k++)
			if (!strcmp(caps.v[k].pcap, cases.v[i].pcap))
				cap = &caps.v[k];
		if (!cap) {
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
		}
		failed += !check_case(&cases.v[i], cap);
	}
	free(dir_copy);
	printf("%zu passed, %zu failed\n", cases.n - failed, failed);
	status = failed ? HG_EXIT_FAIL : HG_EXIT_OK;
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
