/* test_flood.c - a capture of a million distinct flows (SYNs from varying
 * source addresses and ports, one microsecond apart so none times out),
 * then the real TLS flows of pcaps/real-tls.pcap: replayed with
 * --max-flows 65536, the flow table evicts (and the summary says so), the
 * legitimate flows after the flood get the verdicts they get alone, and
 * the peak RSS stays under a bound derived from the configuration.
 * The full million runs in ~4 s, ~8 s under ASan, so ASan keeps it; under
 * ASan (ASAN_OPTIONS set) only the configured bound is asserted, not the
 * tighter SYN-flood one (shadow memory and the quarantine are ASan's). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostgate/flow.h"
#include "hostgate/inspect.h"

#define MAX_FLOWS 65536

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 + TCP SYN from 10.(i>>16).(i>>8).(i) : 1024+(i&0x7fff)
 * to 198.51.100.99:443 (checksums are not checked by replay). */
static void syn_frame(uint8_t f[54], uint32_t i)
{
	memset(f, 0, 54);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put16(ip + 2, 40);
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10, ip[13] = (uint8_t)(i >> 16), ip[14] = (uint8_t)(i >> 8), ip[15] = (uint8_t)i;
	ip[16] = 198, ip[17] = 51, ip[18] = 100, ip[19] = 99;
	uint8_t *tcp = ip + 20;
	put16(tcp, 1024 + (i & 0x7fff));
	put16(tcp + 2, 443);
	tcp[4] = (uint8_t)(i >> 24) ^ 0x5a, tcp[5] = (uint8_t)(i >> 16), tcp[6] = (uint8_t)(i >> 8), tcp[7] = (uint8_t)i;
	tcp[12] = 5 << 4;
	tcp[13] = 0x02;
	put16(tcp + 14, 64240);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot read %s", path);
	size_t cap = 1 << 16, len = 0, r;
	char *buf = malloc(cap);
	while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0)
		if ((len += r) + 1 >= cap)
			buf = realloc(buf, cap *= 2);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Runs hostgate replay --json --max-flows MAX_FLOWS on capture, stdout and
 * stderr into out/err; returns the exit status and the child's peak RSS
 * (getrusage RUSAGE_CHILDREN after waitpid: the largest child so far, so
 * the runs go smallest first). */
static int replay(const char *capture, const char *out, const char *err, long *maxrss_kib)
{
	const char *bin = getenv("HG_BIN"), *src = getenv("HG_SRCDIR");
	char mf[16];
	snprintf(mf, sizeof(mf), "%d", MAX_FLOWS);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || chdir(src) < 0)
			_exit(127);
		execl(bin, bin, "replay", "--json", "--max-flows", mf, "rulesets/seed-zero-trust.yaml", capture,
		      (char *)NULL);
		_exit(127);
	}
	int st;
	cr_assert(waitpid(pid, &st, 0) == pid);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	*maxrss_kib = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The (5-tuple, name, verdict) of each --json line. Lines are cut into
 * strings first: ASan's strstr checks the whole haystack, which over a
 * million lines is quadratic. */
static size_t flow_lines(char *json, char lines[][320], size_t max)
{
	size_t n = 0;
	for (char *p = json, *nl; (nl = strchr(p, '\n')) && n < max; p = nl + 1) {
		*nl = '\0';
		char sip[64] = "", dip[64] = "", verdict[16] = "", name[200] = "-";
		unsigned sp = 0, dp = 0;
		const char *a = strstr(p, "\"src_ip\":\""), *b = strstr(p, "\"dest_ip\":\""), *v = strstr(p, "\"verdict\":\""),
			   *s = strstr(p, "\"sni\":\"");
		if (!a || a > nl || !b || b > nl || !v || v > nl)
			continue;
		sscanf(a + 10, "%63[^\"]\",\"src_port\":%u", sip, &sp);
		sscanf(b + 11, "%63[^\"]\",\"dest_port\":%u", dip, &dp);
		sscanf(v + 11, "%15[^\"]", verdict);
		if (s && s < nl)
			sscanf(s + 7, "%199[^\"]", name);
		snprintf(lines[n++], 320, "%s:%u -> %s:%u %s %s", sip, sp, dip, dp, name, verdict);
	}
	return n;
}

Test(flood, million_flows_bounded_and_still_deciding, .timeout = 300)
{
	const char *src = getenv("HG_SRCDIR");
	cr_assert(src && getenv("HG_BIN"));
	bool asan = getenv("ASAN_OPTIONS") != NULL;
	uint32_t n = 1000000;
	char path[] = "/tmp/hg-flood-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	char out[64], err[64], real[4096];
	snprintf(out, sizeof(out), "%s.json", path);
	snprintf(err, sizeof(err), "%s.err", path);
	snprintf(real, sizeof(real), "%s/pcaps/real-tls.pcap", src);

	/* The baseline: the legitimate flows alone (binary, ruleset, table). */
	long base_kib, flood_kib;
	cr_assert_eq(replay(real, out, err, &base_kib), 0);
	char *alone_json = slurp(out);
	static char alone[64][320], flooded[64][320];
	size_t n_alone = flow_lines(alone_json, alone, 64);
	cr_assert_geq(n_alone, 8u);

	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	cr_assert(d);
	uint8_t f[54];
	struct pcap_pkthdr h = {.caplen = 54, .len = 60};
	for (uint32_t i = 0; i < n; i++) {
		syn_frame(f, i);
		h.ts.tv_sec = 1700000000 + i / 1000000;
		h.ts.tv_usec = i % 1000000;
		pcap_dump((u_char *)d, &h, f);
	}
	/* Then the legitimate flows, shifted to follow the flood. */
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *in = pcap_open_offline(real, errbuf);
	cr_assert(in, "%s", errbuf);
	struct pcap_pkthdr *rh;
	const u_char *data;
	long base = -1;
	while (pcap_next_ex(in, &rh, &data) == 1) {
		if (base < 0)
			base = rh->ts.tv_sec;
		struct pcap_pkthdr c = *rh;
		c.ts.tv_sec = 1700000000 + n / 1000000 + 2 + (rh->ts.tv_sec - base);
		pcap_dump((u_char *)d, &c, data);
	}
	pcap_close(in);
	pcap_dump_close(d);
	pcap_close(dead);

	int st = replay(path, out, err, &flood_kib);
	char *e = slurp(err);
	cr_assert_eq(st, 0, "replay failed (%d): %s", st, e);

	/* The summary: "...; N flows evicted". */
	unsigned long long evicted = 0;
	const char *ev = strstr(e, " flows evicted");
	cr_assert(ev, "the summary does not report evictions: %s", e);
	while (ev > e && ev[-1] != ' ')
		ev--;
	evicted = strtoull(ev, NULL, 10);
	cr_expect_geq(evicted, (unsigned long long)(n - MAX_FLOWS), "summary: %s", e);

	/* Each legitimate flow is decided as it is without the flood. */
	char *flood_json = slurp(out);
	size_t n_flooded = 0;
	bool github_pass = false;
	for (char *p = flood_json, *nl; (nl = strchr(p, '\n')) && n_flooded < 64; p = nl + 1) {
		*nl = '\0';
		const char *dst = strstr(p, "\"dest_ip\":\"");
		if (dst && !strncmp(dst + 11, "198.51.100.99\"", 14))
			continue; /* a SYN of the flood */
		github_pass |= strstr(p, "\"sni\":\"api.github.com\"},\"verdict\":\"pass\"") != NULL;
		*nl = '\n';
		char one[1][320];
		char *next = nl + 1, keep = *next;
		*next = '\0'; /* this line only */
		if (flow_lines(p, one, 1))
			memcpy(flooded[n_flooded++], one[0], 320);
		*next = keep;
	}
	cr_expect_eq(n_flooded, n_alone, "flows after the flood: %zu, alone: %zu", n_flooded, n_alone);
	for (size_t i = 0; i < n_alone; i++) {
		bool found = false;
		for (size_t k = 0; k < n_flooded && !found; k++)
			found = !strcmp(alone[i], flooded[k]);
		cr_expect(found, "after the flood, no flow \"%s\"", alone[i]);
	}
	cr_expect(github_pass, "api.github.com after the flood is not passed");

	/* The bound, from the configuration: the baseline run (binary,
	 * ruleset, libraries, and the same preallocated flow table) plus what
	 * the configured caps let the traffic add: an app-layer buffer per
	 * flow, the stream buffer cap, the fragment buffer cap and the QUIC
	 * states. The table's own size is reported by the flow module. */
	struct hg_inspect_config ic;
	hg_inspect_config_defaults(&ic);
	ic.flow.max_flows = MAX_FLOWS;
	ic.flow.user_size = sizeof(struct hg_iflow);
	struct hg_flow_table *t = hg_flow_table_new(&ic.flow);
	cr_assert(t);
	struct hg_flow_stats fs;
	hg_flow_get_stats(t, &fs);
	hg_flow_table_free(t);
	long table_kib = (long)(fs.bytes >> 10);
	long stream_kib = (long)((ic.stream.max_bytes ? ic.stream.max_bytes : 64u << 20) >> 10);
	long frag_kib = (long)((ic.defrag.max_bytes ? ic.defrag.max_bytes : 16u << 20) >> 10);
	long app_kib = (long)(((uint64_t)MAX_FLOWS * (sizeof(struct hg_iflow_app) + 16)) >> 10);
	long quic_kib = (long)(((uint64_t)ic.max_quic_states * (sizeof(struct quic_state) + 16)) >> 10);
	long bound_kib = base_kib + table_kib + app_kib + stream_kib + frag_kib + quic_kib;
	/* A SYN flood uses none of the caps: the table's pages become backed. */
	long syn_bound_kib = base_kib + table_kib + 16 * 1024;
	cr_log_info("flood: %u flows, %llu evicted; peak RSS %ld MiB (alone %ld MiB); configured bound %ld MiB "
		    "(table %ld, app buffers %ld, streams %ld, fragments %ld, QUIC %ld MiB), SYN-flood bound %ld MiB%s",
		    n, evicted, flood_kib >> 10, base_kib >> 10, bound_kib >> 10, table_kib >> 10, app_kib >> 10,
		    stream_kib >> 10, frag_kib >> 10, quic_kib >> 10, syn_bound_kib >> 10,
		    asan ? " (ASan: SYN-flood bound not asserted)" : "");
	cr_expect_lt(flood_kib, bound_kib, "peak RSS %ld KiB beyond the configured bound %ld KiB", flood_kib,
		     bound_kib);
	if (!asan) {
		cr_expect_lt(flood_kib, syn_bound_kib, "peak RSS %ld KiB beyond the SYN-flood bound %ld KiB", flood_kib,
			     syn_bound_kib);
	}
	free(alone_json);
	free(flood_json);
	free(e);
	unlink(path);
	unlink(out);
	unlink(err);
}
