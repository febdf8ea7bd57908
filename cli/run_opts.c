/* run_opts.c - `hostgate run`'s options: the command line, --config files
 * (the same options as `key: value` lines) and HOME_NET from the inside
 * interfaces when nothing else gives it. The one table of options. */
#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "run_live.h"

const struct cli_usage run_usage = {
	"run", "RULES... --inside IF[,IF...]",
	"The live gateway daemon: holds each new flow's first bytes, decides, installs the verdict."};

enum {
	OPT_INSIDE = CLI_OPT_COMMAND,
	OPT_NFLOG_GROUP,
	OPT_ALERT_LOG_GROUP,
	OPT_STATS_INTERVAL,
	OPT_VERDICT_TIMEOUT,
	OPT_HOLD_FLOWS,
	OPT_RELOAD_KEEP_BYTES,
	OPT_RELOAD_KEEP_FLOW_BYTES,
	OPT_USER,
	OPT_CONFIG,
	OPT_REMOVE_ON_EXIT,
	OPT_METRICS_LOG,
	OPT_LOG_QUEUE_BYTES,
	OPT_NICE,
};

static const struct cli_opt live_opts[] = {
	{"inside", "IF[,IF...]", OPT_INSIDE, "the interfaces clients are behind (repeatable)"},
	{"config", "FILE", OPT_CONFIG, "read options from FILE: `key: value` lines, `rules: FILE`"},
	{"user", "NAME", OPT_USER, "switch to this user after opening the sockets"},
	{"nflog-group", "N", OPT_NFLOG_GROUP, "NFLOG group of held packets (default 0)"},
	{"alert-log-group", "N", OPT_ALERT_LOG_GROUP, "NFLOG group of the table's own alerts"},
	{"stats-interval", "SECONDS", OPT_STATS_INTERVAL, "a stats event every SECONDS (0: never; default 60)"},
	{"metrics-log", "FILE", OPT_METRICS_LOG, "append the stats as CloudWatch EMF events to FILE (for hostgate ship)"},
	{"verdict-timeout", "SECONDS", OPT_VERDICT_TIMEOUT, "how long a flow's verdict element lives"},
	{"hold-flows", "N", OPT_HOLD_FLOWS, "undecided flows held at once (default 65536)"},
	{"reload-keep-bytes", "BYTES", OPT_RELOAD_KEEP_BYTES, "first bytes kept of allowed flows, in all, for reload"},
	{"reload-keep-flow-bytes", "BYTES", OPT_RELOAD_KEEP_FLOW_BYTES, "first bytes kept per allowed flow"},
	{"remove-on-exit", NULL, OPT_REMOVE_ON_EXIT, "delete the table on exit (default: it stays, fail closed)"},
	{"log-queue-bytes", "BYTES", OPT_LOG_QUEUE_BYTES,
	 "events queued per log for its writer thread; beyond, counted lost (default 4 MiB)"},
	{"nice", "N", OPT_NICE, "the packet path's scheduling priority, -20 to 19 (default -10)"},
	{0},
};

static int read_config(struct live *L, const char *path);

static int live_set(void *ud, int val, const char *v)
{
	struct live *L = ud;
	uint32_t n;
	switch (val) {
	case OPT_INSIDE: {
		char *list = xstrdup(v);
		for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
			hg_vec_push(&L->inside, tok);
		/* list is referenced by L->inside: kept for the process's life */
		return 0;
	}
	case OPT_NFLOG_GROUP:
		if (cli_parse_u32("nflog-group", v, 0, 65535, &n))
			return -1;
		L->nft.nflog_group = (uint16_t)n;
		return 0;
	case OPT_ALERT_LOG_GROUP:
		if (cli_parse_u32("alert-log-group", v, 0, 65535, &n))
			return -1;
		L->nft.alert_log_group = (uint16_t)n;
		return 0;
	case OPT_STATS_INTERVAL:
		return cli_parse_u32("stats-interval", v, 0, 86400, &L->stats_interval);
	case OPT_VERDICT_TIMEOUT:
		return cli_parse_u32("verdict-timeout", v, 1, 86400 * 7, &L->verdict_timeout);
	case OPT_HOLD_FLOWS:
		return cli_parse_u32("hold-flows", v, 16, 1u << 24, &L->holdc.max_flows);
	case OPT_RELOAD_KEEP_BYTES:
		if (cli_parse_u32("reload-keep-bytes", v, 0, UINT32_MAX, &n))
			return -1;
		L->keptc.total_bytes = n;
		return 0;
	case OPT_RELOAD_KEEP_FLOW_BYTES:
		return cli_parse_u32("reload-keep-flow-bytes", v, 256, 65536, &L->keptc.flow_bytes);
	case OPT_USER:
		L->user = v;
		return 0;
	case OPT_CONFIG:
		return read_config(L, v);
	case OPT_LOG_QUEUE_BYTES:
		return cli_parse_u32("log-queue-bytes", v, 256 * 1024, 1u << 30, &L->log_queue_bytes);
	case OPT_REMOVE_ON_EXIT:
		L->remove_on_exit = true;
		return 0;
	case OPT_METRICS_LOG:
		L->metrics.path = v;
		return 0;
	case OPT_NICE: {
		char *end;
		errno = 0;
		long x = strtol(v, &end, 10);
		if (errno || end == v || *end || x < -20 || x > 19) {
			fprintf(stderr, "hostgate: --nice wants a number in -20..19, not '%s'\n", v);
			return -1;
		}
		L->nice = (int)x;
		return 0;
	}
	}
	return -1;
}

static size_t live_groups(struct live *L, struct cli_group *g)
{
	g[0] = hg_rules_args_group(&L->ra);
	g[1] = run_opts_group(&L->ro);
	g[2] = (struct cli_group){"daemon options", live_opts, live_set, L};
	return 3;
}

/* --config FILE: `key: value` lines with the long options' names (`rules:`
 * adds a rule file), read by the reader every command shares
 * (config_file.c), applied where --config stands on the command line. */
static int add_rules_file(void *ud, const char *path)
{
	struct live *L = ud;
	hg_vec_push(&L->ra.files, path);
	return 0;
}

static int read_config(struct live *L, const char *path)
{
	struct cli_group groups[3];
	size_t n_groups = live_groups(L, groups);
	return cli_read_config(path, groups, n_groups, "rules", add_rules_file, L);
}

int live_parse_args(struct live *L, int argc, char **argv)
{
	struct cli_group groups[3];
	size_t n_groups = live_groups(L, groups);
	int first;
	enum cli_result r = cli_parse(&run_usage, groups, n_groups, argc, argv, &first);
	if (r != CLI_OK)
		return r;
	hg_rules_args_positional(&L->ra, argc, argv, first);
	return CLI_OK;
}

/* HOME_NET when neither --home-net nor the rules say: the networks of the
 * inside interfaces (link-local addresses left out). */
char *live_inside_networks(const struct live *L)
{
	struct ifaddrs *ifa0;
	if (getifaddrs(&ifa0) < 0)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	if (!m) {
		freeifaddrs(ifa0);
		return NULL;
	}
	bool first = true;
	for (struct ifaddrs *ifa = ifa0; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || !ifa->ifa_netmask)
			continue;
		bool ours = false;
		for (size_t i = 0; i < L->inside.n; i++)
			ours |= !strcmp(ifa->ifa_name, L->inside.v[i]);
		if (!ours)
			continue;
		struct hg_ip ip = {{0}};
		int bits = 0;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			const uint8_t *mk = (const uint8_t *)&((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr;
			ip.b[10] = ip.b[11] = 0xff;
			for (int k = 0; k < 4; k++) {
				ip.b[12 + k] = a[k] & mk[k];
				bits += __builtin_popcount(mk[k]);
			}
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			const uint8_t *a = ((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr.s6_addr;
			const uint8_t *mk = ((struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr.s6_addr;
			if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
				continue;
			for (int k = 0; k < 16; k++) {
				ip.b[k] = a[k] & mk[k];
				bits += __builtin_popcount(mk[k]);
			}
		} else {
			continue;
		}
		char buf[64];
		hg_ip_format(&ip, buf, sizeof(buf));
		fprintf(m, "%s%s/%d", first ? "" : ",", buf, bits);
		first = false;
	}
	fclose(m);
	freeifaddrs(ifa0);
	if (first) {
		free(out);
		return NULL;
	}
	return out;
}
