/* cmd_replay.c - replay (per-flow verdicts and ANFW logs for a capture) and
 * diff (the flows whose verdict changes between two rulesets). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "replay_run.h"

struct replay_out {
	FILE *out;
	bool json;
	uint64_t n;
};

static void print_json_str(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	size_t len = strlen(s);
	size_t need = hg_json_escape(NULL, 0, s, len);
	char *buf = xmalloc(need + 1);
	hg_json_escape(buf, need + 1, s, len);
	fprintf(out, "\"%s\"", buf);
	free(buf);
}

static const char *proto_name(uint8_t p)
{
	const char *n = hg_log_proto_name(p);
	return n ? n : "IP";
}

/* A name the flow carried, "OBJ":{"KEY":"value"}, and a comma; nothing
 * when absent. */
static void print_name_json(FILE *out, const char *obj, const char *key, const char *v)
{
	if (!v)
		return;
	fprintf(out, "\"%s\":{\"%s\":", obj, key);
	print_json_str(out, v);
	fputs("},", out);
}

/* The names, as replay --json and diff --json write them. */
static void print_names_json(FILE *out, const struct flow_record *r)
{
	print_name_json(out, "tls", "sni", r->sni);
	print_name_json(out, "http", "hostname", r->host);
	print_name_json(out, "quic", "sni", r->quic_sni);
}

static void print_record_json(FILE *out, const struct flow_record *r)
{
	char src[64], dst[64];
	hg_ip_format(&r->cli, src, sizeof(src));
	hg_ip_format(&r->srv, dst, sizeof(dst));
	fprintf(out, "{\"flow_id\":%llu,\"src_ip\":\"%s\",\"src_port\":%u,\"dest_ip\":\"%s\",\"dest_port\":%u,",
		(unsigned long long)r->flow_id, src, r->cport, dst, r->sport);
	fprintf(out, "\"proto\":\"%s\",\"app_proto\":\"%s\",", proto_name(r->proto), hg_app_proto_name(r->app));
	print_names_json(out, r);
	if (r->dns_query) {
		fputs("\"dns\":{\"query\":", out);
		print_json_str(out, r->dns_query);
		fputs("},", out);
	}
	fprintf(out, "\"verdict\":\"%s\",", hg_verdict_name(r->verdict));
	/* decided_by: the layer (stateless_rule, fragment_default,
	 * stateful_rule, stream_exception_policy, ...), then what in it. */
	fprintf(out, "\"decided_by\":\"%s\",", hg_layer_name(r->by));
	if (r->sid) {
		fprintf(out, "\"rule\":{\"signature_id\":%u,\"signature\":", r->sid);
		print_json_str(out, r->msg);
		fputs(",\"group\":", out);
		print_json_str(out, r->group);
		fputs("},", out);
	} else if (r->by == HG_BY_STATELESS_RULE) {
		fprintf(out, "\"rule\":{\"priority\":%u,\"action\":", r->sl_priority);
		print_json_str(out, r->msg);
		fputs(",\"group\":", out);
		print_json_str(out, r->group);
		fputs("},", out);
	}
	if (r->sl_dropped || r->sl_passed)
		fprintf(out, "\"stateless\":{\"dropped\":%u,\"passed\":%u},", r->sl_dropped, r->sl_passed);
	fputs("\"alerts\":[", out);
	for (size_t i = 0; i < r->alert_sids.n; i++) {
		fprintf(out, "%s{\"signature_id\":%u,\"signature\":", i ? "," : "", r->alert_sids.v[i]);
		print_json_str(out, r->alert_msgs.v[i]);
		fprintf(out, ",\"action\":\"%s\"}", r->alert_actions.v[i]);
	}
	fprintf(out, "],\"pkts_toserver\":%llu,\"pkts_toclient\":%llu,\"bytes_toserver\":%llu,\"bytes_toclient\":%llu,",
		(unsigned long long)r->pkts[0], (unsigned long long)r->pkts[1], (unsigned long long)r->bytes[0],
		(unsigned long long)r->bytes[1]);
	fputs("\"evasion\":[", out);
	bool first = true;
	for (uint32_t bit = 1; bit && bit <= r->evasion; bit <<= 1)
		if (r->evasion & bit) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", hg_evasion_name(bit));
			first = false;
		}
	fputs("]}\n", out);
}

/* The name a reader recognises a flow by. */
static const char *record_name(const struct flow_record *r, const char **kind)
{
	if (r->sni)
		return *kind = "sni", r->sni;
	if (r->host)
		return *kind = "host", r->host;
	if (r->quic_sni)
		return *kind = "quic", r->quic_sni;
	if (r->dns_query)
		return *kind = "dns", r->dns_query;
	return *kind = "", "";
}

/* The table is for a terminal: every name from the wire (and the rules'
 * messages) goes through cli_term_escape, so a hostile SNI cannot split a
 * row, move the cursor or reorder what is shown. */
static void print_record_line(FILE *out, const struct flow_record *r)
{
	char src[80], dst[80];
	const char *kind;
	char *name = cli_term_escape(record_name(r, &kind));
	char *msg = cli_term_escape(r->msg), *group = cli_term_escape(r->group);
	format_endpoint(src, sizeof(src), &r->cli, r->cport);
	format_endpoint(dst, sizeof(dst), &r->srv, r->sport);
	fprintf(out, "%-4s %-22s -> %-24s %-7s %s%s%-28s %-6s", proto_name(r->proto), src, dst,
		hg_app_proto_name(r->app), kind, *kind ? "=" : "", name, hg_verdict_name(r->verdict));
	fprintf(out, " by %s", hg_layer_name(r->by));
	if (r->sid)
		fprintf(out, " sid %u \"%s\"%s%s", r->sid, msg, r->group ? " in " : "", group);
	else if (r->by == HG_BY_STATELESS_RULE)
		fprintf(out, " %s priority %u%s%s", msg, r->sl_priority, r->group ? " in " : "", group);
	else if (r->msg)
		fprintf(out, " (%s)", msg);
	if (r->evasion)
		fputs(" [evasion]", out);
	fputc('\n', out);
	free(name);
	free(msg);
	free(group);
}

static void replay_sink(void *ud, struct flow_record *r)
{
	struct replay_out *o = ud;
	o->n++;
	if (o->json)
		print_record_json(o->out, r);
	else
		print_record_line(o->out, r);
}


/* RULES... FILE: the capture is the last argument. */
static int split_rules_and_capture(struct hg_rules_args *ra, const char **capture, size_t want_captures)
{
	if (ra->files.n < want_captures + 1) {
		cli_usage_error(&replay_usage, "want RULES... and a capture file");
		return -1;
	}
	*capture = ra->files.v[--ra->files.n];
	return 0;
}

enum { OPT_JSON = CLI_OPT_COMMAND, OPT_PACKETS };

static const struct cli_opt replay_opts[] = {
	{"json", NULL, OPT_JSON, "one JSON object per flow (EVE-like) instead of the table"},
	{"packets", "FILE", OPT_PACKETS, "one JSON line per frame to FILE: its verdict and the layer that decided it"},
	{0},
};

const struct cli_usage replay_usage = {
	"replay", "RULES... FILE.pcap",
	"Replays a capture through the rules: each flow's verdict, the deciding rule, ANFW's logs."};

struct replay_flags {
	bool json;
	const char *packets;
};

static int set_flag(void *ud, int val, const char *arg)
{
	struct replay_flags *f = ud;
	if (val == OPT_PACKETS)
		f->packets = arg;
	else
		f->json = true;
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	struct hg_rules_args ra = {0};
	struct run_opts ro;
	struct replay_flags fl = {0};
	struct cli_group own = {"output options", replay_opts, set_flag, &fl};
	int pr = run_cmdline(&replay_usage, &own, 1, argc, argv, &ra, &ro);
	int status = pr == CLI_HELP ? HG_EXIT_OK : HG_EXIT_USAGE;
	if (pr != CLI_OK)
		goto out;
	const char *capture;
	if (split_rules_and_capture(&ra, &capture, 1) < 0)
		goto out;
	struct hg_ruleset *rs = hg_rules_args_load(&ra);
	if (!rs)
		goto out;
	bool json = fl.json;
	struct replay_out o = {.out = stdout, .json = json};
	if (fl.packets && !(ro.packets = fopen(fl.packets, "w"))) {
		fprintf(stderr, "hostgate: %s: %s\n", fl.packets, strerror(errno));
		hg_ruleset_free(rs);
		goto out;
	}
	record_fn sink = replay_sink;
	void *ud = &o;
	struct run_stats st;
	const struct hg_ruleset *rsv[1] = {rs};
	status = run_capture(capture, rsv, 1, &ro, &sink, &ud, &st);
	if (status != 2)
		print_summary(json ? stderr : stdout, &st);
	if (ro.packets && fclose(ro.packets) && !status) {
		fprintf(stderr, "hostgate: %s: %s\n", fl.packets, strerror(errno));
		status = 2;
	}
	hg_ruleset_free(rs);
out:
	hg_rules_args_fini(&ra);
	return status;
}

/* ---- diff ---------------------------------------------------------------- */

static int record_cmp(const void *a, const void *b)
{
	const struct flow_record *x = a, *y = b;
	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	int c = hg_ip_cmp(&x->cli, &y->cli);
	if (c)
		return c;
	if ((c = hg_ip_cmp(&x->srv, &y->srv)))
		return c;
	if (x->cport != y->cport)
		return x->cport < y->cport ? -1 : 1;
	if (x->sport != y->sport)
		return x->sport < y->sport ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static void describe(char *buf, size_t len, const struct flow_record *r)
{
	if (r->sid) {
		char *msg = cli_term_escape(r->msg), *group = cli_term_escape(r->group);
		snprintf(buf, len, "%s (sid %u \"%s\"%s%s)", hg_verdict_name(r->verdict), r->sid, msg,
			 r->group ? " in " : "", group);
		free(msg);
		free(group);
	} else {
		snprintf(buf, len, "%s (no rule decided)", hg_verdict_name(r->verdict));
	}
}

const struct cli_usage diff_usage = {
	"diff", "OLD-RULES NEW-RULES FILE.pcap",
	"Replays a capture through two rulesets: the flows whose verdict changes (exit 1 when any)."};

/* One side of a changed flow in diff --json. */
static void print_side_json(FILE *out, const struct flow_record *r)
{
	fprintf(out, "{\"verdict\":\"%s\"", hg_verdict_name(r->verdict));
	if (r->sid) {
		fprintf(out, ",\"signature_id\":%u,\"signature\":", r->sid);
		print_json_str(out, r->msg);
		fputs(",\"group\":", out);
		print_json_str(out, r->group);
	}
	fputc('}', out);
}

/* diff --json: one document, {"flows":N,"changed":M,"changes":[...]}, each
 * change the flow (the fields replay --json names them by) with its "old"
 * and "new" verdict and deciding rule. */
static void print_change_json(FILE *out, const struct flow_record *a, const struct flow_record *b, bool first)
{
	char src[64], dst[64];
	hg_ip_format(&a->cli, src, sizeof(src));
	hg_ip_format(&a->srv, dst, sizeof(dst));
	fprintf(out, "%s\n{\"src_ip\":\"%s\",\"src_port\":%u,\"dest_ip\":\"%s\",\"dest_port\":%u,", first ? "" : ",",
		src, a->cport, dst, a->sport);
	fprintf(out, "\"proto\":\"%s\",\"app_proto\":\"%s\",", proto_name(a->proto), hg_app_proto_name(a->app));
	print_names_json(out, a);
	fputs("\"old\":", out);
	print_side_json(out, a);
	fputs(",\"new\":", out);
	print_side_json(out, b);
	fputc('}', out);
}

static const struct cli_opt diff_opts[] = {
	{"json", NULL, OPT_JSON, "one JSON document: the flow count and each change, old and new"},
	{0},
};

int cmd_diff(int argc, char **argv)
{
	struct run_opts ro;
	struct hg_rules_args old = {0}, new = {0};
	HG_VEC(const char *) pos = {0};
	bool json = false;
	struct cli_group own = {"output options", diff_opts, set_flag, &json};
	int pr = run_cmdline(&diff_usage, &own, 1, argc, argv, &old, &ro);
	int status = pr == CLI_HELP ? HG_EXIT_OK : HG_EXIT_USAGE;
	if (pr != CLI_OK)
		goto out;
	/* The positional arguments: OLD NEW FILE. */
	for (size_t i = 0; i < old.files.n; i++)
		hg_vec_push(&pos, old.files.v[i]);
	old.files.n = 0;
	if (pos.n != 3) {
		cli_usage_error(&diff_usage, "want OLD-RULES NEW-RULES FILE.pcap");
		goto out;
	}
	/* Both rulesets get the same --param/--home-net. */
	new.load = old.load;
	for (size_t i = 0; i < old.params.n; i++) {
		struct hg_param p = {xstrdup(old.params.v[i].name), old.params.v[i].value};
		hg_vec_push(&new.params, p);
	}
	hg_vec_push(&old.files, pos.v[0]);
	hg_vec_push(&new.files, pos.v[1]);
	struct hg_ruleset *rs_old = hg_rules_args_load(&old);
	struct hg_ruleset *rs_new = rs_old ? hg_rules_args_load(&new) : NULL;
	if (rs_old && rs_new) {
		struct record_list c[2] = {0};
		record_fn sinks[2] = {record_list_sink, record_list_sink};
		void *uds[2] = {&c[0], &c[1]};
		const struct hg_ruleset *rsv[2] = {rs_old, rs_new};
		struct run_stats st;
		status = run_capture(pos.v[2], rsv, 2, &ro, sinks, uds, &st);
		if (status != 2) {
			qsort(c[0].v.v, c[0].v.n, sizeof(struct flow_record), record_cmp);
			qsort(c[1].v.v, c[1].v.n, sizeof(struct flow_record), record_cmp);
			size_t changed = 0;
			if (json)
				fputs("{\"changes\":[", stdout);
			for (size_t i = 0; i < c[0].v.n && i < c[1].v.n; i++) {
				struct flow_record *a = &c[0].v.v[i], *b = &c[1].v.v[i];
				if (a->verdict == b->verdict)
					continue;
				if (json) {
					print_change_json(stdout, a, b, !changed);
					changed++;
					continue;
				}
				char src[80], dst[80], da[512], db[512];
				const char *kind;
				char *name = cli_term_escape(record_name(a, &kind));
				format_endpoint(src, sizeof(src), &a->cli, a->cport);
				format_endpoint(dst, sizeof(dst), &a->srv, a->sport);
				describe(da, sizeof(da), a);
				describe(db, sizeof(db), b);
				printf("%s %s -> %s %s%s%s: %s -> %s\n", proto_name(a->proto), src, dst, kind,
				       *kind ? "=" : "", name, da, db);
				free(name);
				changed++;
			}
			if (json)
				printf("],\n\"flows\":%zu,\"changed\":%zu}\n", c[0].v.n, changed);
			fprintf(json ? stderr : stdout, "diff: %zu of %zu flows change verdict\n", changed, c[0].v.n);
			status = changed ? HG_EXIT_FAIL : HG_EXIT_OK;
		}
		record_list_free(&c[0]);
		record_list_free(&c[1]);
	}
	hg_ruleset_free(rs_old);
	hg_ruleset_free(rs_new);
out:
	hg_vec_free(&pos);
	hg_rules_args_fini(&old);
	hg_rules_args_fini(&new);
	return status;
}
