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

#include "run_live.h"

const char live_usage[] =
	"usage: hostgate run RULES... --inside IF[,IF...] [--nflog-group N] [--alert-log F]\n"
	"       [--flow-log F] [--log-format anfw|eve] [--stats-interval S] [--user NAME]\n"
	"       [--remove-on-exit] [--verdict-timeout S] [--home-net CIDR,...] [--config FILE]\n"
	"       [--reload-keep-bytes N] [--reload-keep-flow-bytes N]\n";

static int parse_u32(const char *opt, const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || !*v || *end || n < lo || n > hi) {
		fprintf(stderr, "hostgate: %s wants a number in %u..%u, not '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* --config FILE: `key: value` lines with the long options' names (`rules:`
 * adds a rule file); '#' starts a comment. Read before the command line,
 * which overrides it. Strings are kept for the process's life. */
static int read_config(struct live *L, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "hostgate: %s: %s\n", path, strerror(errno));
		return -1;
	}
	HG_VEC(char *) av = {0};
	hg_vec_push(&av, xstrdup("run"));
	char line[4096];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = line;
		char *hash = strchr(s, '#');
		if (hash)
			*hash = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			s[--n] = 0;
		if (!n)
			continue;
		char *colon = strchr(s, ':');
		if (!colon) {
			fprintf(stderr, "%s:%u:1: error: expected 'key: value'\n", path, lineno);
			rc = -1;
			continue;
		}
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!strcmp(s, "rules")) {
			hg_vec_push(&av, xstrdup(v));
			continue;
		}
		if (!strcmp(s, "remove-on-exit")) {
			if (!*v || !strcmp(v, "true") || !strcmp(v, "yes"))
				hg_vec_push(&av, xstrdup("--remove-on-exit"));
			continue;
		}
		hg_vec_push(&av, xasprintf("--%s", s));
		hg_vec_push(&av, xstrdup(v));
	}
	fclose(f);
	if (!rc)
		rc = live_parse_args(L, (int)av.n, av.v);
	/* The strings stay referenced by L (files, paths): never freed. */
	hg_vec_free(&av);
	return rc;
}

int live_parse_args(struct live *L, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int r = hg_rules_args_option(&L->ra, argc, argv, &i);
		if (r > 0 && !strcmp(argv[i - 1], "--home-net"))
			L->home_net_given = true;
		if (!r)
			r = run_opts_option(&L->ro, argc, argv, &i);
		if (r < 0)
			return -1;
		if (r)
			continue;
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (!strcmp(a, "--remove-on-exit")) {
			L->remove_on_exit = true;
		} else if (a[0] == '-' && a[1] && !has_val) {
			fprintf(stderr, "hostgate: %s needs a value (or is unknown)\n", a);
			return -1;
		} else if (!strcmp(a, "--inside")) {
			char *list = xstrdup(argv[++i]);
			for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
				hg_vec_push(&L->inside, tok);
			/* list is referenced by L->inside: kept for the process's life */
		} else if (!strcmp(a, "--nflog-group")) {
			uint32_t g;
			if (parse_u32(a, argv[++i], 0, 65535, &g))
				return -1;
			L->nft.nflog_group = (uint16_t)g;
		} else if (!strcmp(a, "--alert-log-group")) {
			uint32_t g;
			if (parse_u32(a, argv[++i], 0, 65535, &g))
				return -1;
			L->nft.alert_log_group = (uint16_t)g;
		} else if (!strcmp(a, "--stats-interval")) {
			if (parse_u32(a, argv[++i], 0, 86400, &L->stats_interval))
				return -1;
		} else if (!strcmp(a, "--verdict-timeout")) {
			if (parse_u32(a, argv[++i], 1, 86400 * 7, &L->verdict_timeout))
				return -1;
		} else if (!strcmp(a, "--hold-flows")) {
			if (parse_u32(a, argv[++i], 16, 1u << 24, &L->holdc.max_flows))
				return -1;
		} else if (!strcmp(a, "--reload-keep-bytes")) {
			uint32_t n;
			if (parse_u32(a, argv[++i], 0, UINT32_MAX, &n))
				return -1;
			L->keptc.total_bytes = n;
		} else if (!strcmp(a, "--reload-keep-flow-bytes")) {
			if (parse_u32(a, argv[++i], 256, 65536, &L->keptc.flow_bytes))
				return -1;
		} else if (!strcmp(a, "--user")) {
			L->user = argv[++i];
		} else if (!strcmp(a, "--config")) {
			if (read_config(L, argv[++i]))
				return -1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "hostgate: unknown option '%s'\n", a);
			return -1;
		} else {
			hg_vec_push(&L->ra.files, a);
		}
	}
	return 0;
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
