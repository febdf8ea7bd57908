/* run_metrics.c - `hostgate run --metrics-log FILE`: the periodic stats as
 * CloudWatch Embedded Metric Format events (EMF specification: a root
 * "_aws" member with Timestamp and CloudWatchMetrics directives naming
 * Namespace, Dimensions and Metrics, each metric and dimension a root
 * member), one JSON line appended per stats interval. `hostgate ship
 * --metrics-log` sends them with x-amzn-logs-format: json/emf and
 * CloudWatch extracts the metrics. Namespace "Hostgate" (AWS/ is AWS's
 * own); dimension sets [FirewallName] and [FirewallName, AvailabilityZone],
 * as ANFW's own metrics use; custom actions add their own events, metric
 * Packets with the CustomAction dimension. Counts are per interval (the difference from
 * the previous event), so CloudWatch's Sum over a period is the period's
 * count. The file is opened for each line (O_APPEND): logrotate needs no
 * signal for it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_live.h"

/* The metrics, in the order of struct live_counters' members. */
static const struct {
	const char *name, *unit;
} metric_names[LIVE_METRIC_N] = {
	{"PassedFlows", "Count"},   {"DroppedFlows", "Count"},   {"RejectedFlows", "Count"},
	{"Alerts", "Count"},        {"HeldPackets", "Count"},    {"ReleasedPackets", "Count"},
	{"DiscardedPackets", "Count"}, {"LostEvents", "Count"},
};

void live_note_verdict_latency(struct live *L, uint64_t us)
{
	struct live_metrics *m = &L->metrics;
	uint32_t v = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	m->lat_seen++;
	if (m->lat_n < LIVE_LATENCY_SAMPLES) {
		m->lat_us[m->lat_n++] = v;
		return;
	}
	/* reservoir sampling: every decision of the interval equally likely
	 * to be among the values sent (EMF takes up to 100 per metric) */
	m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
	uint64_t k = (m->rng >> 33) % m->lat_seen;
	if (k < LIVE_LATENCY_SAMPLES)
		m->lat_us[k] = v;
}

/* A string member's value: the names come from rule files and options. */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The dimensions every event carries, root members: ,"FirewallName":..,
 * "AvailabilityZone":.. */
static void put_where(FILE *f, const struct live *L)
{
	fputs(",\"FirewallName\":", f);
	put_json_string(f, L->rs && L->rs->firewall_name ? L->rs->firewall_name : "hostgate");
	fputs(",\"AvailabilityZone\":", f);
	put_json_string(f, L->ro.availability_zone ? L->ro.availability_zone : "local");
}

/* Closes the lines built in f (open_memstream on *line, *len) and appends
 * them to the metrics file in one write (O_APPEND); a failure is counted. */
static void append_lines(struct live_metrics *m, FILE *f, char **line, size_t *len)
{
	if (fclose(f)) {
		m->lost++;
		free(*line);
		return;
	}
	int fd = *len ? open(m->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640) : -1;
	ssize_t w = fd >= 0 ? write(fd, *line, *len) : -1;
	if (*len && w != (ssize_t)*len) {
		if (!m->lost++)
			live_log("cannot write %s: %s (metrics lost: counted)", m->path,
				 fd < 0 || w < 0 ? strerror(errno) : "short write");
	}
	if (fd >= 0)
		close(fd);
	free(*line);
}

void live_write_metrics(struct live *L, const uint64_t now_total[LIVE_METRIC_N], uint64_t now_us)
{
	struct live_metrics *m = &L->metrics;
	if (!m->path)
		return;
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	if (!f) {
		m->lost++;
		return;
	}
	fprintf(f, "{\"_aws\":{\"Timestamp\":%" PRIu64 ",\"CloudWatchMetrics\":[{\"Namespace\":\"Hostgate\","
		   "\"Dimensions\":[[\"FirewallName\"],[\"FirewallName\",\"AvailabilityZone\"]],\"Metrics\":[",
		now_us / 1000);
	for (int i = 0; i < LIVE_METRIC_N; i++)
		fprintf(f, "{\"Name\":\"%s\",\"Unit\":\"%s\"},", metric_names[i].name, metric_names[i].unit);
	fputs("{\"Name\":\"VerdictLatency\",\"Unit\":\"Microseconds\"}]}]}", f);
	put_where(f, L);
	for (int i = 0; i < LIVE_METRIC_N; i++) {
		uint64_t d = now_total[i] >= m->prev[i] ? now_total[i] - m->prev[i] : now_total[i];
		fprintf(f, ",\"%s\":%" PRIu64, metric_names[i].name, d);
		m->prev[i] = now_total[i];
	}
	/* the sampled latencies of the interval's decisions (a list: CloudWatch
	 * keeps the distribution, so p50/p99 work); 0 when there was none */
	fputs(",\"VerdictLatency\":", f);
	if (!m->lat_n) {
		fputs("0", f);
	} else {
		fputc('[', f);
		for (uint32_t i = 0; i < m->lat_n; i++)
			fprintf(f, "%s%" PRIu32, i ? "," : "", m->lat_us[i]);
		fputc(']', f);
	}
	fprintf(f, ",\"VerdictsSampled\":%" PRIu64 "}\n", m->lat_seen);
	m->lat_n = 0;
	m->lat_seen = 0;
	append_lines(m, f, &line, &len);
}

/* The custom actions' events: ANFW "sets the dimension name to
 * CustomAction and you provide the dimension value" (API Dimension). Each
 * value is an event of its own, since every dimension is a root member
 * and one event has one CustomAction. A value the table no longer
 * publishes still gets the event of the packets it counted before the
 * reload that removed it, then no more. */
void live_write_custom_metrics(struct live *L, uint64_t now_us)
{
	struct live_metrics *m = &L->metrics;
	struct live_custom *c = &L->custom;
	if (!m->path || !c->n)
		return;
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	if (!f) {
		m->lost++;
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct live_custom_value *x = &c->v[i];
		if (!x->present && !x->interval)
			continue;
		fprintf(f,
			"{\"_aws\":{\"Timestamp\":%" PRIu64 ",\"CloudWatchMetrics\":[{\"Namespace\":\"Hostgate\","
			"\"Dimensions\":[[\"FirewallName\",\"CustomAction\"],[\"FirewallName\",\"AvailabilityZone\","
			"\"CustomAction\"]],\"Metrics\":[{\"Name\":\"Packets\",\"Unit\":\"Count\"}]}]}",
			now_us / 1000);
		put_where(f, L);
		fputs(",\"CustomAction\":", f);
		put_json_string(f, x->value);
		fprintf(f, ",\"Packets\":%" PRIu64 "}\n", x->interval);
		x->interval = 0;
	}
	append_lines(m, f, &line, &len);
}
