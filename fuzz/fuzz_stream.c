/* fuzz_stream.c - the first-bytes reassembler against a model: arbitrary
 * segments (offset, length, flags, bytes) into a small-depth stream; the
 * contiguous prefix must equal "first byte written wins" and a conflict
 * must be flagged exactly when a segment disagreed with kept bytes. */
#include <stdlib.h>
#include <string.h>

#include "hostgate/engine.h"
#include "hostgate/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEPTH 256u

/* Input: [isn 4] then ops [flags][off hi][off lo][len][len bytes]. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t isn = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		       (uint32_t)data[2] << 8 | data[3];
	data += 4, size -= 4;
	struct hg_stream_config cfg = {.depth_to_server = DEPTH, .max_bytes = 1 << 20};
	struct hg_stream_ctx *c = hg_stream_ctx_new(&cfg);
	struct hg_stream s;
	hg_stream_init(&s, 0);
	hg_stream_segment(c, &s, HG_TCP_SYN, isn, NULL, 0);

	uint8_t model[DEPTH];
	bool have[DEPTH] = {0};
	bool conflict = false;
	while (size >= 4) {
		uint8_t flags = data[0] & (HG_TCP_ACK | HG_TCP_PSH | HG_TCP_FIN);
		/* offsets from a little before ISN+1 to past the depth */
		int32_t off = (int32_t)((uint32_t)data[1] << 8 | data[2]) % 400 - 40;
		uint32_t len = data[3];
		data += 4, size -= 4;
		if (len > size)
			len = (uint32_t)size;
		uint8_t *seg = malloc(len ? len : 1);
		memcpy(seg, data, len);
		data += len, size -= len;
		hg_stream_segment(c, &s, flags, isn + 1 + (uint32_t)off, seg, len);
		for (uint32_t i = 0; i < len; i++) {
			int64_t at = (int64_t)off + i;
			if (at < 0 || at >= DEPTH)
				continue;
			if (!have[at])
				have[at] = true, model[at] = seg[i];
			else if (model[at] != seg[i])
				conflict = true;
		}
		free(seg);
		size_t n = 0;
		while (n < DEPTH && have[n])
			n++;
		size_t got;
		const uint8_t *p = hg_stream_data(&s, &got);
		if (got != n || (n && memcmp(p, model, n)))
			abort();
		if (!!(hg_stream_flags(&s) & HG_STREAM_F_CONFLICT) != conflict)
			abort();
	}
	hg_stream_release(c, &s);
	hg_stream_ctx_free(c);
	return 0;
}
