/* gen_replay.c - writes a large capture for bench/replay: the TCP flows of
 * the given template captures (real TLS and HTTP conversations recorded by
 * pcaps/record.sh) repeated with fresh client addresses and ports, each
 * followed by bulk data from the server (copies of a server segment with
 * advancing sequence numbers), until the wanted packet count is reached.
 * Usage: gen_replay OUT.pcap PACKETS BULK_PER_FLOW TEMPLATE.pcap... */
#include <pcap/pcap.h>
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
	/* A server data segment to copy as bulk (the largest one seen). */
	size_t big = 0;
	for (size_t i = 0; i < n_frames; i++)
		if (frames[i].data[34] == 0 && frames[i].h.caplen > frames[big].h.caplen)
			big = i;
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *out = pcap_dump_open(dead, argv[1]);
	if (!out) {
		fprintf(stderr, "gen_replay: %s\n", pcap_geterr(dead));
		return 2;
	}
	unsigned long written = 0, round = 0;
	u_char buf[65536];
	long t0 = frames[0].h.ts.tv_sec;
	while (written < want) {
		/* Round r: client 10.(r>>8).(r).x, every client port + r. */
		for (size_t i = 0; i < n_frames && written < want; i++) {
			struct pcap_pkthdr h = frames[i].h;
			memcpy(buf, frames[i].data, h.caplen);
			int to_server = buf[26] == 10; /* source in 10/8: the client */
			u_char *cli = to_server ? buf + 26 : buf + 30;
			cli[1] = (u_char)(round >> 8), cli[2] = (u_char)round;
			u_char *cport = buf + 34 + (to_server ? 0 : 2);
			unsigned port = ((unsigned)cport[0] << 8 | cport[1]) + (unsigned)(round % 1000);
			cport[0] = (u_char)(port >> 8), cport[1] = (u_char)port;
			h.ts.tv_sec = 1700000000 + (long)round + (frames[i].h.ts.tv_sec - t0) % 100;
			pcap_dump((u_char *)out, &h, buf);
			written++;
			/* After a flow's first server payload, its bulk data. */
			if (!to_server && i == big) {
				for (unsigned long k = 0; k < bulk && written < want; k++) {
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
