/* test_flood.c - a capture of a million distinct flows (SYNs from varying
 * sources), then the real TLS flows of pcaps/real-tls.pcap: replayed with
 * --max-flows 65536, the flow table evicts (and says so), memory stays
 * bounded by the configuration, and the legitimate flows that follow are
 * still decided. Under ASan the flood is smaller (it is 10x slower). */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

/* Ethernet + IPv4 + TCP SYN from 10.(i>>16).(i>>8).(i) : 1024+(i&0x7fff). */
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
	tcp[12] = 5 << 4;
	tcp[13] = 0x02;
	put16(tcp + 14, 64240);
}

Test(flood, million_flows_bounded_and_still_deciding, .timeout = 300)
{
	const char *src = getenv("HG_SRCDIR"), *bin = getenv("HG_BIN");
	cr_assert(src && bin);
	uint32_t n = getenv("ASAN_OPTIONS") ? 200000 : 1000000;
	char path[] = "/tmp/hg-flood-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);

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
	char real[4096], err[PCAP_ERRBUF_SIZE];
	snprintf(real, sizeof(real), "%s/pcaps/real-tls.pcap", src);
	pcap_t *in = pcap_open_offline(real, err);
	cr_assert(in, "%s", err);
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

	char cmd[8192];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s' replay --json --max-flows 65536 rulesets/seed-zero-trust.yaml %s "
		 "> %s.json 2> %s.err",
		 src, bin, path, path, path);
	struct rusage before, after;
	getrusage(RUSAGE_CHILDREN, &before);
	int st = system(cmd);
	getrusage(RUSAGE_CHILDREN, &after);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "replay failed: %d", st);

	char out[8192];
	snprintf(out, sizeof(out), "%s.err", path);
	FILE *e = fopen(out, "r");
	cr_assert(e);
	size_t len = fread(out, 1, sizeof(out) - 1, e);
	out[len] = '\0';
	fclose(e);
	unsigned long long evicted = 0;
	const char *ev = strstr(out, " flows evicted");
	if (ev) {
		while (ev > out && ev[-1] != ' ')
			ev--;
		evicted = strtoull(ev, NULL, 10);
	}
	cr_expect_geq(evicted, (unsigned long long)(n - 65536), "summary: %s", out);

	snprintf(cmd, sizeof(cmd), "grep -c '\"sni\":\"api.github.com\"},\"verdict\":\"pass\"' %s.json", path);
	FILE *g = popen(cmd, "r");
	int hits = 0;
	cr_assert(fscanf(g, "%d", &hits) == 1);
	pclose(g);
	cr_expect_eq(hits, 1, "the allowlisted flow after the flood was not decided as pass");
	snprintf(cmd, sizeof(cmd), "grep -c '\"sni\":\"fooexample.com\"},\"verdict\":\"drop\"' %s.json", path);
	g = popen(cmd, "r");
	cr_assert(fscanf(g, "%d", &hits) == 1);
	pclose(g);
	cr_expect_eq(hits, 1, "the unlisted flow after the flood was not dropped");

	/* ru_maxrss of the children: the largest child so far, in KiB. The
	 * bound: 65536 flows of a few hundred bytes each plus the stream cap
	 * (64 MiB) and the fragment cap (16 MiB), with room for the binary. */
	long rss_kib = after.ru_maxrss;
	cr_log_info("flood: %u flows, %llu evicted, peak RSS %ld MiB", n, evicted, rss_kib / 1024);
	cr_expect_lt(rss_kib, 256L * 1024, "peak RSS %ld KiB beyond the configured bound", rss_kib);
	(void)before;
	snprintf(cmd, sizeof(cmd), "rm -f %s %s.json %s.err", path, path, path);
	cr_expect_eq(system(cmd), 0);
}
