/* stream.h - first-bytes TCP reassembly: per flow and direction, the first
 * `depth` bytes from ISN+1, delivered in order as one contiguous prefix.
 *
 * Out-of-order segments are buffered (inside the same depth), retransmitted
 * bytes are ignored, and overlapping bytes that differ from what was
 * received are an evasion: flagged with their offset, first data wins, and
 * under HG_STREAM_POLICY_DROP the stream is also marked for drop. A buffer
 * is allocated when a direction's first payload arrives (2 KiB, doubling up
 * to depth as bytes come) and released with the flow, or earlier by the
 * caller once it needs no more bytes (hg_stream_release: do so when the
 * flow is decided). A context caps the total across flows: beyond it a new
 * stream goes unbuffered, or a buffered one stops growing, flagged
 * HG_STREAM_F_NOMEM and counted. */
#ifndef HOSTGATE_STREAM_H
#define HOSTGATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_packet;

enum hg_stream_policy {
	HG_STREAM_POLICY_FIRST_WINS, /* keep the first bytes; flag the conflict */
	HG_STREAM_POLICY_DROP,       /* the same, and mark the stream for drop */
};

struct hg_stream_config {
	uint32_t depth_to_server;    /* default 16384 */
	uint32_t depth_to_client;    /* default 4096; HG_STREAM_DEPTH_NONE: none */
	uint64_t max_bytes;          /* buffers across all streams; default 64 MiB */
	enum hg_stream_policy policy;
};
#define HG_STREAM_DEPTH_NONE UINT32_MAX

enum {
	HG_STREAM_F_BASE = 1u << 0,      /* the start sequence number is known */
	HG_STREAM_F_MIDSTREAM = 1u << 1, /* no SYN seen: bytes count from the first
					    data seen, not from ISN+1 */
	HG_STREAM_F_DEPTH = 1u << 2,     /* data reached or went past depth */
	HG_STREAM_F_CONFLICT = 1u << 3,  /* overlapping bytes differed (evasion) */
	HG_STREAM_F_DROP = 1u << 4,      /* conflict under HG_STREAM_POLICY_DROP */
	HG_STREAM_F_NOMEM = 1u << 5,     /* global cap reached: not buffered, or
					    stopped at the bytes it holds */
	HG_STREAM_F_OOO = 1u << 6,       /* data arrived out of order at some point */
	HG_STREAM_F_FIN = 1u << 7,       /* FIN seen: the direction ends at fin_off */
	HG_STREAM_F_RST = 1u << 8,
	HG_STREAM_F_GAP = 1u << 9,       /* bytes are missing before buffered data */
	HG_STREAM_F_NONE = 1u << 10,     /* this direction is not reassembled (depth 0) */
};

/* One direction of one flow. Zero it (hg_stream_init) before first use;
 * the fields are the stream code's, read them through the functions. */
struct hg_stream {
	uint8_t *buf;          /* cap data bytes + cap/8 bitmap bytes */
	uint32_t cap;          /* grows by doubling from 2 KiB up to depth */
	uint32_t base;         /* sequence number of byte 0 */
	uint32_t contig;       /* bytes contiguous from 0 */
	uint32_t hi;           /* highest end of buffered data */
	uint32_t depth;
	uint32_t conflict_off; /* offset of the first conflicting byte */
	uint32_t fin_off;      /* stream offset of the FIN */
	uint16_t flags;        /* HG_STREAM_F_* */
	uint16_t dir;          /* which depth applies: 0 to server, 1 to client */
};

struct hg_stream_stats {
	uint64_t segments;       /* segments with payload handled */
	uint64_t bytes;          /* new bytes buffered */
	uint64_t in_order, out_of_order;
	uint64_t retransmissions;/* segments that brought nothing new */
	uint64_t conflicts;      /* segments whose overlap differed */
	uint64_t beyond_depth;   /* segments (partly) past depth */
	uint64_t before_base;    /* segments (partly) before byte 0 */
	uint64_t nomem;          /* streams left unbuffered or stopped at the cap */
	uint64_t buffers;        /* buffers allocated now */
	uint64_t mem;            /* their bytes now (cache included) */
	uint64_t mem_peak;
};

struct hg_stream_ctx;

/* cfg may be NULL (defaults); zero fields take defaults. NULL on OOM. */
struct hg_stream_ctx *hg_stream_ctx_new(const struct hg_stream_config *cfg);
void hg_stream_ctx_free(struct hg_stream_ctx *c);
void hg_stream_get_stats(const struct hg_stream_ctx *c, struct hg_stream_stats *out);
const struct hg_stream_config *hg_stream_get_config(const struct hg_stream_ctx *c);

/* dir: 0 client to server, 1 server to client. */
static inline void hg_stream_init(struct hg_stream *s, unsigned dir)
{
	*s = (struct hg_stream){0};
	s->dir = (uint16_t)dir;
}

/* Feeds one TCP packet of this direction (SYN, data, FIN, RST alike).
 * Returns true when the contiguous prefix grew. */
bool hg_stream_packet(struct hg_stream_ctx *c, struct hg_stream *s, const struct hg_packet *p);

/* The same, from the raw fields (tests, fuzzers). */
bool hg_stream_segment(struct hg_stream_ctx *c, struct hg_stream *s, uint8_t tcp_flags,
		       uint32_t seq, const uint8_t *data, uint32_t len);

/* The contiguous prefix from byte 0: re-run the app parsers on it. NULL
 * (and 0) before any byte arrived. Valid until the next call on s. */
static inline const uint8_t *hg_stream_data(const struct hg_stream *s, size_t *len)
{
	*len = s->buf ? s->contig : 0;
	return s->buf;
}
static inline uint32_t hg_stream_flags(const struct hg_stream *s)
{
	return s->flags;
}
/* Offset of the first conflicting byte; meaningful with HG_STREAM_F_CONFLICT. */
static inline uint32_t hg_stream_conflict_offset(const struct hg_stream *s)
{
	return s->conflict_off;
}
/* True when no more bytes can join the prefix: depth reached, or a FIN
 * closed the direction with everything before it present. */
static inline bool hg_stream_complete(const struct hg_stream *s)
{
	return (s->buf && s->contig >= s->depth) ||
	       ((s->flags & HG_STREAM_F_FIN) && s->contig >= s->fin_off) ||
	       (s->flags & (HG_STREAM_F_NOMEM | HG_STREAM_F_NONE | HG_STREAM_F_RST));
}

/* Gives the buffer back (to a small cache in c). hg_stream_init state
 * after (a later segment starts a midstream stream: stop feeding it);
 * safe on a never-used stream. */
void hg_stream_release(struct hg_stream_ctx *c, struct hg_stream *s);

#endif
