/* gen_replay.c - writes a large capture for bench/replay: the TCP flows of
 * the given template captures (real TLS and HTTP conversations recorded by
 * pcaps/record.sh) repeated with fresh client addresses and ports, each
 * flow's first server segment with payload followed by bulk data (copies
 * of it, the sequence numbers advancing, and the flow's later segments and
 * acknowledgements shifted to match), until the wanted packet count.
 * Usage: gen_replay OUT.pcap PACKETS BULK_PER_FLOW TEMPLATE.pcap... */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame {
	struct pcap_pkthdr h;
	u_char *data;
};

static struct frame *frames;
static size_t n_frames, cap_frames;

static void load(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p || pcap_datalink(p) != DLT_EN10MB) {
		fprintf(stderr, "gen_replay: %s: %s\n", path, p ? "not Ethernet" : err);
		exit(2);
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	while (pcap_next_ex(p, &h, &d) == 1) {
		/* IPv4 TCP only: the template's conversations. */
		if (h->caplen < 54 || d[12] != 0x08 || d[13] != 0x00 || d[23] != 6)
			continue;
		if (n_frames == cap_frames) {
			cap_frames = cap_frames ? cap_frames * 2 : 1024;
			frames = realloc(frames, cap_frames * sizeof(*frames));
		}
		frames[n_frames].h = *h;
		frames[n_frames].data = malloc(h->caplen);
		memcpy(frames[n_frames].data, d, h->caplen);
		n_frames++;
	}
	pcap_close(p);
}

static void add32(u_char *p, uint32_t v)
{
	uint32_t x = ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) + v;
	p[0] = (u_char)(x >> 24), p[1] = (u_char)(x >> 16), p[2] = (u_char)(x >> 8), p[3] = (u_char)x;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: gen_replay OUT.pcap PACKETS BULK_PER_FLOW TEMPLATE.pcap...\n");
		return 2;
	}
	unsigned long want = strtoul(argv[2], NULL, 10), bulk = strtoul(argv[3], NULL, 10);
	for (int i = 4; i < argc; i++)
		load(argv[i]);
	if (!n_frames)
		return 2;
	/* Bulk follows each flow's first server segment with payload (the
	 * flow: its client port, the server's destination port). */
	bool *bulk_after = calloc(n_frames, sizeof(bool));
	unsigned *seen = calloc(n_frames, sizeof(unsigned));
	size_t n_seen = 0;
	for (size_t i = 0; i < n_frames; i++) {
		const u_char *d = frames[i].data;
		unsigned ihl = (d[14] & 0x0fu) * 4, tot = (unsigned)d[16] << 8 | d[17];
		if (d[26] == 10 || 14 + ihl + 13 >= frames[i].h.caplen)
			continue; /* from the client, or too short */
		unsigned doff = (d[14 + ihl + 12] >> 4) * 4u, cport = (unsigned)d[14 + ihl + 2] << 8 | d[14 + ihl + 3];
		if (tot <= ihl + doff)
			continue;
		bool dup = false;
		for (size_t k = 0; k < n_seen && !dup; k++)
			dup = seen[k] == cport;
		if (!dup) {
			seen[n_seen++] = cport;
			bulk_after[i] = true;
		}
	}
	free(seen);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *out = pcap_dump_open(dead, argv[1]);
	if (!out) {
		fprintf(stderr, "gen_replay: %s\n", pcap_geterr(dead));
		return 2;
	}
	unsigned long written = 0, round = 0;
	u_char buf[65536];
	long t0 = frames[0].h.ts.tv_sec;
	uint32_t *shift = calloc(65536, sizeof(uint32_t)); /* by template client port */
	while (written < want) {
		memset(shift, 0, 65536 * sizeof(uint32_t));
		/* Round r: client 10.(r>>8).(r).x, every client port + r. */
		for (size_t i = 0; i < n_frames && written < want; i++) {
			struct pcap_pkthdr h = frames[i].h;
			memcpy(buf, frames[i].data, h.caplen);
			int to_server = buf[26] == 10; /* source in 10/8: the client */
			u_char *th = buf + 14 + (buf[14] & 0x0f) * 4;
			unsigned tport = to_server ? (unsigned)th[0] << 8 | th[1] : (unsigned)th[2] << 8 | th[3];
			if (shift[tport]) /* the bulk moved the server's byte stream on */
				add32(th + (to_server ? 8 : 4), shift[tport]);
			u_char *cli = to_server ? buf + 26 : buf + 30;
			cli[1] = (u_char)(round >> 8), cli[2] = (u_char)round;
			u_char *cport = buf + 34 + (to_server ? 0 : 2);
			unsigned port = ((unsigned)cport[0] << 8 | cport[1]) + (unsigned)(round % 1000);
			cport[0] = (u_char)(port >> 8), cport[1] = (u_char)port;
			h.ts.tv_sec = 1700000000 + (long)round + (frames[i].h.ts.tv_sec - t0) % 100;
			pcap_dump((u_char *)out, &h, buf);
			written++;
			/* After a flow's first server payload, its bulk data. */
			if (bulk_after[i]) {
				/* Each copy continues the byte stream: seq += payload. */
				u_char *tcp = buf + 14 + (buf[14] & 0x0f) * 4;
				uint32_t plen = ((uint32_t)buf[16] << 8 | buf[17]) - (uint32_t)(buf[14] & 0x0f) * 4 -
						(uint32_t)(tcp[12] >> 4) * 4;
				uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
				for (unsigned long k = 0; k < bulk && written < want; k++) {
					seq += plen;
					shift[tport] += plen;
					tcp[4] = (u_char)(seq >> 24), tcp[5] = (u_char)(seq >> 16);
					tcp[6] = (u_char)(seq >> 8), tcp[7] = (u_char)seq;
					h.ts.tv_usec = (h.ts.tv_usec + 10) % 1000000;
					pcap_dump((u_char *)out, &h, buf);
					written++;
				}
			}
		}
		round++;
	}
	pcap_dump_close(out);
	pcap_close(dead);
	printf("gen_replay: wrote %lu packets (%lu rounds of %zu template frames)\n", written, round, n_frames);
	return 0;
}
