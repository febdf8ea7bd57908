/* cmd_ship.c - `hostgate ship`: sends the logs `hostgate run` writes (alert,
 * flow, metrics) to CloudWatch Logs. A process of its own, so the packet
 * path never waits on the network and the daemon never holds cloud
 * credentials. The log files are the spool; the state file says how far
 * CloudWatch has acknowledged each (ship/state.h), so a crash or an outage
 * loses nothing and repeats at most one batch. The work per log is in
 * ship/stream.c; this file reads the options, finds region, endpoint,
 * credentials and names, and runs the loop. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config_file.h"
#include "opts.h"
#include "../ship/creds.h"
#include "../ship/json.h"
#include "../ship/logs_api.h"
#include "../ship/stream.h"

#define DEFAULT_ALERT_LOG "/var/log/hostgate/alert.json"
#define DEFAULT_STATE_DIR "/var/lib/hostgate-ship"

struct ship_opts {
	const char *alert_log, *flow_log, *metrics_log;
	const char *alert_group, *flow_group, *metrics_group;
	const char *region, *stream, *firewall_name, *state_dir, *profile, *endpoint;
	bool create_group, once, no_alerts;
	uint32_t stats_interval, flush_ms, backoff_base_ms, backoff_cap_ms, rotate_wait_ms, timeout_ms;
	const struct cli_group *groups; /* for --config */
};

enum {
	O_ALERT_LOG = CLI_OPT_COMMAND, O_FLOW_LOG, O_METRICS_LOG, O_ALERT_GROUP, O_FLOW_GROUP, O_METRICS_GROUP,
	O_REGION, O_STREAM, O_FIREWALL, O_CREATE_GROUP, O_STATE_DIR, O_PROFILE, O_ENDPOINT, O_STATS, O_FLUSH,
	O_BACKOFF_BASE, O_BACKOFF_CAP, O_ROTATE_WAIT, O_TIMEOUT, O_ONCE, O_NO_ALERTS, O_CONFIG,
};

static const struct cli_opt ship_opts_table[] = {
	{"alert-log", "FILE", O_ALERT_LOG, "alert log to ship (default " DEFAULT_ALERT_LOG ")"},
	{"flow-log", "FILE", O_FLOW_LOG, "flow log to ship (flow logs ship only when given)"},
	{"metrics-log", "FILE", O_METRICS_LOG, "metrics (EMF) log of `hostgate run --metrics-log` to ship"},
	{"no-alerts", NULL, O_NO_ALERTS, "do not ship the alert log"},
	{"alert-group", "GROUP", O_ALERT_GROUP, "log group of alerts (default /aws/networkfirewall/alert)"},
	{"flow-group", "GROUP", O_FLOW_GROUP, "log group of flows (default /aws/networkfirewall/flow)"},
	{"metrics-group", "GROUP", O_METRICS_GROUP, "log group of metrics (default /hostgate/metrics)"},
	{"stream", "NAME", O_STREAM, "log stream name (default FIREWALL_NAME_INSTANCE-ID or _HOSTNAME)"},
	{"firewall-name", "NAME", O_FIREWALL, "firewall name in the default stream name (default: the logs')"},
	{"create-group", NULL, O_CREATE_GROUP, "create missing log groups (streams are always created)"},
	{"region", "REGION", O_REGION, "AWS region (default AWS_REGION, the profile's, IMDS placement/region)"},
	{"profile", "NAME", O_PROFILE, "profile of the shared credentials and config files (default AWS_PROFILE)"},
	{"endpoint-url", "URL", O_ENDPOINT, "CloudWatch Logs endpoint (default AWS_ENDPOINT_URL_CLOUDWATCH_LOGS)"},
	{"state-dir", "DIR", O_STATE_DIR, "where acknowledged offsets are kept (default " DEFAULT_STATE_DIR ")"},
	{"stats-interval", "S", O_STATS, "seconds between stats lines on stderr, 0 none (default 60)"},
	{"flush-interval-ms", "MS", O_FLUSH, "how long a batch waits for more lines (default 1000)"},
	{"backoff-base-ms", "MS", O_BACKOFF_BASE, "first retry delay, doubled per failure (default 500)"},
	{"backoff-cap-ms", "MS", O_BACKOFF_CAP, "longest retry delay (default 60000)"},
	{"rotate-wait-ms", "MS", O_ROTATE_WAIT, "a rotated file is read this long after the change (default 5000)"},
	{"timeout-ms", "MS", O_TIMEOUT, "HTTP request timeout (default 30000)"},
	{"once", NULL, O_ONCE, "ship what the files hold now, then exit (0 when all was acknowledged)"},
	{"config", "FILE", O_CONFIG, "read options from FILE: `key: value` lines with these options' names"},
	{0},
};

const struct cli_usage ship_usage = {
	"ship", "",
	"Ships the alert, flow and metrics logs of `hostgate run` to CloudWatch Logs (PutLogEvents, SigV4)."};

static int ms_opt(const char *name, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out)
{
	return cli_parse_u32(name, arg, lo, hi, out);
}

static int apply_opt(void *ud, int val, const char *arg)
{
	struct ship_opts *o = ud;
	switch (val) {
	case O_ALERT_LOG: o->alert_log = arg; break;
	case O_FLOW_LOG: o->flow_log = arg; break;
	case O_METRICS_LOG: o->metrics_log = arg; break;
	case O_NO_ALERTS: o->no_alerts = true; break;
	case O_ALERT_GROUP: o->alert_group = arg; break;
	case O_FLOW_GROUP: o->flow_group = arg; break;
	case O_METRICS_GROUP: o->metrics_group = arg; break;
	case O_STREAM: o->stream = arg; break;
	case O_FIREWALL: o->firewall_name = arg; break;
	case O_CREATE_GROUP: o->create_group = true; break;
	case O_REGION: o->region = arg; break;
	case O_PROFILE: o->profile = arg; break;
	case O_ENDPOINT: o->endpoint = arg; break;
	case O_STATE_DIR: o->state_dir = arg; break;
	case O_STATS: return ms_opt("stats-interval", arg, 0, 86400, &o->stats_interval);
	case O_FLUSH: return ms_opt("flush-interval-ms", arg, 0, 600000, &o->flush_ms);
	case O_BACKOFF_BASE: return ms_opt("backoff-base-ms", arg, 1, 60000, &o->backoff_base_ms);
	case O_BACKOFF_CAP: return ms_opt("backoff-cap-ms", arg, 1, 3600000, &o->backoff_cap_ms);
	case O_ROTATE_WAIT: return ms_opt("rotate-wait-ms", arg, 0, 600000, &o->rotate_wait_ms);
	case O_TIMEOUT: return ms_opt("timeout-ms", arg, 100, 600000, &o->timeout_ms);
	case O_ONCE: o->once = true; break;
	case O_CONFIG: return cli_read_config(arg, o->groups, 1, NULL, NULL, NULL);
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Log group names: 1-512 of [.-_/#A-Za-z0-9]; stream names: 1-512, no ':'
 * or '*' (API reference, CreateLogGroup / CreateLogStream). */
static bool valid_group(const char *g)
{
	size_t n = strlen(g);
	return n && n <= 512 && strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/#") == n;
}

static bool valid_stream(const char *s)
{
	size_t n = strlen(s), bad;
	/* quotes, backslashes and control characters are kept out too: the
	 * name goes into the stats line as is */
	return n && n <= 512 && !strpbrk(s, ":*\"\\\n\r\t") && hg_utf8_valid((const unsigned char *)s, n, &bad);
}

/* The firewall name the daemon writes in its lines (ANFW format), read
 * from the first line of the log; NULL when there is none. */
static char *firewall_name_of(const char *path)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	char *out = NULL;
	struct json_val v;
	char buf[256];
	if (n > 0 && json_getv(line, (size_t)n, &v, "firewall_name", NULL) && json_string(&v, buf, sizeof(buf)))
		out = xstrdup(buf);
	free(line);
	return out;
}

static void print_stats(struct ship_stream *st, size_t n, struct creds_ctx *cc)
{
	const char *source = creds_source_name(creds_current_source(cc));
	char ts[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S+0000", &tm);
	fprintf(stderr, "{\"timestamp\":\"%s\",\"event_type\":\"ship_stats\",\"credentials\":{\"source\":\"%s\","
			"\"fetches\":%" PRIu64 "},\"logs\":{",
		ts, source, creds_fetches(cc));
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "%s\"%s\":{", i ? "," : "", st[i].name);
		ship_stream_stats(&st[i], now_us(), stderr);
		fputc('}', stderr);
	}
	fputs("}}\n", stderr);
	fflush(stderr);
}

int cmd_ship(int argc, char **argv)
{
	struct ship_opts o = {
		.stats_interval = 60, .flush_ms = 1000, .backoff_base_ms = 500, .backoff_cap_ms = 60000,
		.rotate_wait_ms = 5000, .timeout_ms = 30000,
	};
	struct cli_group groups[] = {{"ship options", ship_opts_table, apply_opt, &o}};
	o.groups = groups;
	int first;
	enum cli_result pr = cli_parse(&ship_usage, groups, 1, argc, argv, &first);
	int rc = HG_EXIT_USAGE;
	if (pr != CLI_OK) {
		rc = pr == CLI_HELP ? HG_EXIT_OK : HG_EXIT_USAGE;
		goto out_cfg;
	}
	if (first < argc) {
		cli_usage_error(&ship_usage, "no arguments expected ('%s')", argv[first]);
		goto out_cfg;
	}
	const char *alert_log = o.no_alerts ? NULL : (o.alert_log ? o.alert_log : DEFAULT_ALERT_LOG);
	if (!alert_log && !o.flow_log && !o.metrics_log) {
		cli_usage_error(&ship_usage, "nothing to ship (--no-alerts without --flow-log or --metrics-log)");
		goto out_cfg;
	}
	const char *groups_of[3] = {o.alert_group ? o.alert_group : "/aws/networkfirewall/alert",
				    o.flow_group ? o.flow_group : "/aws/networkfirewall/flow",
				    o.metrics_group ? o.metrics_group : "/hostgate/metrics"};
	for (int k = 0; k < 3; k++)
		if (!valid_group(groups_of[k])) {
			cli_usage_error(&ship_usage, "'%s' is not a log group name (1-512 of A-Za-z0-9._-/#)", groups_of[k]);
			goto out_cfg;
		}

	struct creds_ctx *cc = creds_ctx_new(o.profile);
	char *region = NULL, *endpoint = NULL, *stream = NULL, *fw = NULL;
	const char *r = o.region;
	if (!r || !*r)
		r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	if (r && *r)
		region = xstrdup(r);
	if (!region)
		region = creds_profile_region(cc);
	if (!region)
		region = creds_imds_get(cc, "meta-data/placement/region");
	if (!region || !*region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)) {
		fprintf(stderr, "hostgate ship: no AWS region (--region, AWS_REGION, the profile's region, or "
				"IMDS placement/region)\n");
		goto out;
	}
	const char *e = o.endpoint;
	if (!e || !*e)
		e = getenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS");
	if (!e || !*e)
		e = getenv("AWS_ENDPOINT_URL");
	endpoint = e && *e ? xstrdup(e)
			   : xasprintf("https://logs.%s.amazonaws.com%s", region, strncmp(region, "cn-", 3) ? "" : ".cn");

	char err[512] = "";
	const char *source = "none";
	bool on_ec2 = false;
	const struct creds *cr = creds_get(cc, (int64_t)time(NULL), false, err, sizeof(err));
	if (cr) {
		source = creds_source_name(cr->source);
		on_ec2 = cr->source == CREDS_IMDS;
	} else {
		fprintf(stderr, "hostgate ship: %s (retrying)\n", err);
	}

	if (o.stream) {
		stream = xstrdup(o.stream);
	} else {
		fw = o.firewall_name ? xstrdup(o.firewall_name) : firewall_name_of(alert_log ? alert_log : o.flow_log);
		char *id = on_ec2 ? creds_imds_get(cc, "meta-data/instance-id") : NULL;
		char host[HOST_NAME_MAX + 1] = "localhost";
		gethostname(host, sizeof(host));
		host[HOST_NAME_MAX] = 0;
		stream = xasprintf("%s_%s", fw ? fw : "hostgate", id ? id : host);
		free(id);
	}
	if (!valid_stream(stream)) {
		fprintf(stderr, "hostgate ship: '%s' is not a log stream name (no ':', '*', quotes)\n", stream);
		goto out;
	}
	const char *state_dir = o.state_dir ? o.state_dir : DEFAULT_STATE_DIR;
	if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "hostgate ship: %s: %s\n", state_dir, strerror(errno));
		goto out;
	}
	char *state_path = xasprintf("%s/ship.state", state_dir);

	struct state_entry states[3] = {{.name = "alert"}, {.name = "flow"}, {.name = "metrics"}};
	int src = state_load(state_path, states, 3);
	if (src) {
		if (src != -EINVAL)
			fprintf(stderr, "hostgate ship: %s: %s\n", state_path, strerror(-src));
		free(state_path);
		goto out;
	}
	struct shipper sh = {
		.t = {(int64_t)o.flush_ms * 1000, (int64_t)o.backoff_base_ms * 1000, (int64_t)o.backoff_cap_ms * 1000,
		      (int64_t)o.rotate_wait_ms * 1000},
		.state_path = state_path, .states = states, .n_states = 3, .log = stderr,
	};
	sh.api = logs_client_new(endpoint, region, cc, (long)o.timeout_ms);
	if (!sh.api) {
		fprintf(stderr, "hostgate ship: libcurl did not start\n");
		free(state_path);
		goto out;
	}
	struct ship_stream st[3];
	size_t n = 0;
	const char *paths[3] = {alert_log, o.flow_log, o.metrics_log};
	for (int k = 0; k < 3; k++) {
		if (!paths[k])
			continue;
		ship_stream_init(&st[n], states[k].name, paths[k], groups_of[k], stream, k == 2, &states[k]);
		st[n].create_group = o.create_group;
		fprintf(stderr, "hostgate ship: %s: %s -> %s / %s%s\n", states[k].name, paths[k], groups_of[k], stream,
			states[k].ino ? " (resuming)" : "");
		n++;
	}
	fprintf(stderr, "hostgate ship: running: region %s, endpoint %s, credentials from %s, state %s\n", region,
		endpoint, source, state_path);

	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int64_t next_stats = now_us() + (int64_t)o.stats_interval * 1000000;
	rc = HG_EXIT_OK;
	while (!stop) {
		int64_t now = now_us(), wake = now + 250000; /* files are polled */
		for (size_t i = 0; i < n && !stop; i++) {
			int64_t w = ship_stream_step(&sh, &st[i], now_us(), o.once);
			if (w < wake)
				wake = w;
		}
		if (o.once) {
			bool idle = true, failing = false;
			for (size_t i = 0; i < n; i++) {
				idle &= ship_stream_idle(&st[i]);
				failing |= st[i].waiting_since_us != 0;
			}
			if (idle && !failing)
				break;
		}
		now = now_us();
		if (o.stats_interval && now >= next_stats) {
			print_stats(st, n, cc);
			next_stats = now + (int64_t)o.stats_interval * 1000000;
		}
		if (wake > now) {
			int64_t d = wake - now;
			struct timespec ts = {d / 1000000, (d % 1000000) * 1000};
			nanosleep(&ts, NULL);
		}
	}
	fprintf(stderr, "hostgate ship: stopping\n");
	print_stats(st, n, cc);
	for (size_t i = 0; i < n; i++)
		ship_stream_fini(&st[i]);
	logs_client_free(sh.api);
	jbuf_free(&sh.body);
	free(state_path);
out:
	creds_ctx_free(cc);
	free(region);
	free(endpoint);
	free(stream);
	free(fw);
out_cfg:
	return rc;
}
