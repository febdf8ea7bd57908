/* fuzz_decode.c - the whole packet front on arbitrary frames: decode (every
 * link type), defrag, flow table, streams, with small caps so eviction and
 * shedding run too. Checks that every decoded slice lies inside its frame. */
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "hostgate/decode.h"
#include "hostgate/flow.h"
#include "hostgate/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, 101,
			   DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP, DLT_NFLOG};

static unsigned ended;

static void on_end(void *ud, struct hg_flow *f, enum hg_flow_end why)
{
	(void)ud, (void)why;
	if (!f->flow_id || f->flow_id >> 63)
		abort();
	ended++;
}

static void inside(const uint8_t *lo, size_t n, const uint8_t *p, size_t len)
{
	if (len && (p < lo || p + len > lo + n))
		abort();
	volatile uint8_t x = 0;
	for (size_t i = 0; i < len; i++)
		x ^= p[i];
	(void)x;
}

/* Input: [link type index] then frames as [len hi][len lo][time step] bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int dlt = dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))];
	data++, size--;

	struct hg_stream_config sc = {.depth_to_server = 2048, .depth_to_client = 512,
				      .max_bytes = 16384, .policy = HG_STREAM_POLICY_DROP};
	struct hg_stream_ctx *streams = hg_stream_ctx_new(&sc);
	struct hg_flow_config fc = {.max_flows = 8, .user_size = 8, .end_cb = on_end,
				    .streams = streams};
	struct hg_flow_table *flows = hg_flow_table_new(&fc);
	struct hg_defrag_config dc = {.max_datagrams = 4, .max_bytes = 20000, .timeout_us = 30000000};
	struct hg_defrag *defrag = hg_defrag_new(&dc);
	if (!streams || !flows || !defrag)
		abort();
	struct hg_decode_stats st = {0};
	uint64_t ts = 1000000;
	unsigned created = 0;

	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		ts += (uint64_t)data[2] * 250000; /* up to ~64 s per step */
		data += 3, size -= 3;
		if (len > size)
			len = size;
		/* a copy of exactly len bytes so ASan sees any overread */
		uint8_t *frame = malloc(len ? len : 1);
		memcpy(frame, data, len);
		data += len, size -= len;

		struct hg_packet pk, re, *p = &pk;
		uint32_t wire = (uint32_t)len + (ts & 1 ? 0 : 40); /* sometimes snapped */
		if (hg_decode(&st, dlt, ts, frame, (uint32_t)len, wire, &pk)) {
			inside(frame, len, pk.l3, pk.l3_len);
			inside(frame, len, pk.l4, pk.l4_len);
			inside(frame, len, pk.payload, pk.payload_len);
			if (pk.flags & HG_PKT_F_FRAGMENT) {
				inside(frame, len, pk.frag.data, pk.frag.len);
				if (hg_defrag_add(defrag, &pk, &st, &re) == HG_DEFRAG_DONE)
					p = &re;
				else
					p = NULL;
			}
			if (p) {
				enum hg_dir dir;
				bool c;
				struct hg_flow *f = hg_flow_packet(flows, p, &dir, &c);
				created += c;
				if (p->ip_proto == 6) {
					hg_stream_packet(streams, &f->stream[dir], p);
					size_t sl;
					const uint8_t *sd = hg_stream_data(&f->stream[dir], &sl);
					inside(sd, sl, sd, sl);
				}
			}
		}
		free(frame);
	}
	hg_flow_table_flush(flows);
	struct hg_flow_stats fs;
	hg_flow_get_stats(flows, &fs);
	if (fs.flows != 0 || fs.created != created)
		abort();
	struct hg_stream_stats ss;
	hg_stream_get_stats(streams, &ss);
	if (ss.buffers != 0 || ss.mem > sc.max_bytes)
		abort();
	struct hg_defrag_stats ds;
	hg_defrag_get_stats(defrag, &ds);
	if (ds.bytes > dc.max_bytes || ds.in_flight > dc.max_datagrams)
		abort();
	uint64_t sum = 0;
	for (int r = 0; r < HG_DR__COUNT; r++)
		sum += st.reason[r];
	if (sum < st.frames)
		abort();
	hg_defrag_free(defrag);
	hg_flow_table_free(flows);
	hg_stream_ctx_free(streams);
	return 0;
}
