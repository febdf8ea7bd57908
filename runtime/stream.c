/* stream.c - first-bytes TCP reassembly (see stream.h): the first depth
 * bytes of a direction in one buffer addressed by stream offset, a bitmap of
 * the bytes held past the contiguous prefix, and a global byte cap. */
#include "hostgate/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/decode.h"
#include "hostgate/engine.h" /* HG_TCP_* */

/* Buffers start at this many data bytes (a ClientHello or a request's
 * headers fit) and double up to the depth. */
#define INITIAL_CAP 2048u
/* Freed initial-size buffers kept per direction for the next flows: they
 * spare the allocator on a busy gateway and count against max_bytes. */
#define CACHE_MAX 64

struct cached {
	struct cached *next;
};

struct hg_stream_ctx {
	struct hg_stream_config cfg;
	uint32_t depth[2];
	uint32_t initial[2];
	struct cached *cache[2];
	unsigned n_cache[2];
	struct hg_stream_stats st;
};

static size_t bufsize(uint32_t cap)
{
	size_t n = (size_t)cap + (cap + 7) / 8;
	return n < sizeof(struct cached) ? sizeof(struct cached) : n;
}

struct hg_stream_ctx *hg_stream_ctx_new(const struct hg_stream_config *cfg)
{
	struct hg_stream_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	if (!c->cfg.depth_to_server)
		c->cfg.depth_to_server = 16384;
	if (!c->cfg.depth_to_client)
		c->cfg.depth_to_client = 4096;
	if (!c->cfg.max_bytes)
		c->cfg.max_bytes = 64u << 20;
	if ((c->cfg.depth_to_server != HG_STREAM_DEPTH_NONE && c->cfg.depth_to_server > (1u << 30)) ||
	    (c->cfg.depth_to_client != HG_STREAM_DEPTH_NONE && c->cfg.depth_to_client > (1u << 30))) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	c->depth[0] = c->cfg.depth_to_server == HG_STREAM_DEPTH_NONE ? 0 : c->cfg.depth_to_server;
	c->depth[1] = c->cfg.depth_to_client == HG_STREAM_DEPTH_NONE ? 0 : c->cfg.depth_to_client;
	for (int d = 0; d < 2; d++)
		c->initial[d] = HG_MIN(c->depth[d], INITIAL_CAP);
	return c;
}

static void cache_drain(struct hg_stream_ctx *c)
{
	for (int d = 0; d < 2; d++) {
		while (c->cache[d]) {
			struct cached *x = c->cache[d];
			c->cache[d] = x->next;
			free(x);
			c->st.mem -= bufsize(c->initial[d]);
		}
		c->n_cache[d] = 0;
	}
}

void hg_stream_ctx_free(struct hg_stream_ctx *c)
{
	if (!c)
		return;
	cache_drain(c);
	free(c);
}

void hg_stream_get_stats(const struct hg_stream_ctx *c, struct hg_stream_stats *out)
{
	*out = c->st;
}

const struct hg_stream_config *hg_stream_get_config(const struct hg_stream_ctx *c)
{
	return &c->cfg;
}

/* Accounts for delta more bytes under the cap. */
static bool mem_take(struct hg_stream_ctx *c, size_t delta)
{
	if (c->st.mem + delta > c->cfg.max_bytes)
		cache_drain(c);
	if (c->st.mem + delta > c->cfg.max_bytes)
		return false;
	c->st.mem += delta;
	if (c->st.mem > c->st.mem_peak)
		c->st.mem_peak = c->st.mem;
	return true;
}

/* Gives s a buffer of at least want data bytes (up to its depth), keeping
 * its bytes and bitmap. */
static bool buf_grow(struct hg_stream_ctx *c, struct hg_stream *s, uint32_t want)
{
	unsigned d = s->dir & 1;
	uint32_t ncap = s->buf ? s->cap : c->initial[d];
	while (ncap < want)
		ncap = ncap > s->depth / 2 ? s->depth : ncap * 2;
	if (!s->buf && ncap == c->initial[d] && c->cache[d]) {
		struct cached *x = c->cache[d];
		c->cache[d] = x->next;
		c->n_cache[d]--;
		s->buf = (uint8_t *)x;
		s->cap = ncap;
		memset(s->buf + ncap, 0, (ncap + 7) / 8);
		c->st.buffers++;
		return true;
	}
	size_t osz = s->buf ? bufsize(s->cap) : 0, nsz = bufsize(ncap);
	if (!mem_take(c, nsz - osz))
		return false;
	uint8_t *nb = realloc(s->buf, nsz);
	if (!nb) {
		c->st.mem -= nsz - osz;
		return false;
	}
	size_t obm = s->buf ? (s->cap + 7) / 8 : 0, nbm = (ncap + 7) / 8;
	if (obm)
		memmove(nb + ncap, nb + s->cap, obm);
	memset(nb + ncap + obm, 0, nbm - obm);
	if (!s->buf)
		c->st.buffers++;
	s->buf = nb;
	s->cap = ncap;
	return true;
}

void hg_stream_release(struct hg_stream_ctx *c, struct hg_stream *s)
{
	unsigned d = s->dir & 1;
	if (s->buf) {
		c->st.buffers--;
		if (s->cap == c->initial[d] && c->n_cache[d] < CACHE_MAX) {
			struct cached *x = (struct cached *)(void *)s->buf;
			x->next = c->cache[d];
			c->cache[d] = x;
			c->n_cache[d]++;
		} else {
			free(s->buf);
			c->st.mem -= bufsize(s->cap);
		}
	}
	hg_stream_init(s, d);
}

static inline bool bit(const uint8_t *bm, uint32_t i)
{
	return bm[i >> 3] & (1u << (i & 7));
}
static inline void setbit(uint8_t *bm, uint32_t i)
{
	bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void note_conflict(struct hg_stream_ctx *c, struct hg_stream *s, uint32_t off)
{
	if (!(s->flags & HG_STREAM_F_CONFLICT)) {
		s->flags |= HG_STREAM_F_CONFLICT;
		s->conflict_off = off;
	} else if (off < s->conflict_off) {
		s->conflict_off = off;
	}
	if (c->cfg.policy == HG_STREAM_POLICY_DROP)
		s->flags |= HG_STREAM_F_DROP;
}

bool hg_stream_segment(struct hg_stream_ctx *c, struct hg_stream *s, uint8_t tcp_flags,
		       uint32_t seq, const uint8_t *data, uint32_t len)
{
	unsigned d = s->dir & 1;
	if (!c->depth[d]) {
		s->flags |= HG_STREAM_F_NONE;
		return false;
	}
	/* A SYN occupies one sequence number: data (TCP Fast Open) follows it. */
	uint32_t dseq = tcp_flags & HG_TCP_SYN ? seq + 1 : seq;
	if (!(s->flags & HG_STREAM_F_BASE)) {
		if (tcp_flags & HG_TCP_SYN)
			s->flags |= HG_STREAM_F_BASE;
		else if (len || (tcp_flags & HG_TCP_FIN))
			s->flags |= HG_STREAM_F_BASE | HG_STREAM_F_MIDSTREAM;
		else
			return false; /* a bare ACK tells nothing of the start */
		s->base = dseq;
		s->depth = c->depth[d];
	}
	if (tcp_flags & HG_TCP_RST) {
		/* RST payload is diagnostic text, never stream data (RFC 9293 §3.5.3) */
		s->flags |= HG_STREAM_F_RST;
		return false;
	}
	int32_t rel = (int32_t)(dseq - s->base);
	if ((tcp_flags & HG_TCP_FIN) && !(s->flags & HG_STREAM_F_FIN) &&
	    (int64_t)rel + len >= 0) {
		s->flags |= HG_STREAM_F_FIN;
		s->fin_off = (uint32_t)(rel + (int64_t)len);
	}
	if (!len)
		return false;
	c->st.segments++;
	if (rel < 0) {
		c->st.before_base++;
		if ((uint32_t)-(int64_t)rel >= len) {
			c->st.retransmissions++;
			return false;
		}
		data += (uint32_t)-(int64_t)rel;
		len -= (uint32_t)-(int64_t)rel;
		rel = 0;
	}
	uint32_t off = (uint32_t)rel;
	if (off >= s->depth) {
		s->flags |= HG_STREAM_F_DEPTH;
		c->st.beyond_depth++;
		return false;
	}
	uint32_t end = off + HG_MIN(len, s->depth - off);
	if (end < off + (uint64_t)len) {
		s->flags |= HG_STREAM_F_DEPTH;
		c->st.beyond_depth++;
	}
	if (end > s->cap && !(s->flags & HG_STREAM_F_NOMEM) && !buf_grow(c, s, end)) {
		/* the cap: keep what is held, take nothing past it */
		s->flags |= HG_STREAM_F_NOMEM;
		c->st.nomem++;
	}
	if (end > s->cap) {
		if (off >= s->cap)
			return false;
		end = s->cap;
	}
	uint8_t *buf = s->buf, *bm = s->buf + s->cap;
	uint32_t old = s->contig;

	/* The common case: the next bytes, nothing buffered past them. */
	if (off == s->contig && s->hi <= s->contig) {
		memcpy(buf + off, data, end - off);
		c->st.bytes += end - off;
		c->st.in_order++;
		s->contig = s->hi = end;
		if (end == s->depth)
			s->flags |= HG_STREAM_F_DEPTH;
		return true;
	}

	bool fresh = false, conflict = false;
	uint32_t pos = off;
	/* Bytes of the prefix: a retransmission must say the same. */
	if (pos < s->contig) {
		uint32_t stop = HG_MIN(end, s->contig);
		for (; pos < stop; pos++) {
			if (buf[pos] != data[pos - off]) {
				if (!conflict)
					note_conflict(c, s, pos);
				conflict = true;
				pos = stop;
				break;
			}
		}
		pos = stop;
	}
	/* Past the prefix, up to the highest byte held: per the bitmap. */
	uint32_t stop = HG_MIN(end, s->hi);
	for (; pos < stop; pos++) {
		if (bit(bm, pos)) {
			if (buf[pos] != data[pos - off] && !conflict) {
				note_conflict(c, s, pos);
				conflict = true;
			}
		} else {
			buf[pos] = data[pos - off];
			setbit(bm, pos);
			c->st.bytes++;
			fresh = true;
		}
	}
	/* Past everything held: new bytes. */
	if (pos < end) {
		memcpy(buf + pos, data + (pos - off), end - pos);
		c->st.bytes += end - pos;
		for (; pos < end; pos++)
			setbit(bm, pos);
		fresh = true;
		s->hi = end;
	}
	while (s->contig < s->hi && bit(bm, s->contig))
		s->contig++;

	if (off > old) {
		s->flags |= HG_STREAM_F_OOO;
		c->st.out_of_order++;
	} else {
		c->st.in_order++;
	}
	if (conflict)
		c->st.conflicts++;
	else if (!fresh)
		c->st.retransmissions++;
	if (s->hi > s->contig)
		s->flags |= HG_STREAM_F_GAP;
	else
		s->flags &= (uint16_t)~HG_STREAM_F_GAP;
	if (s->contig == s->depth)
		s->flags |= HG_STREAM_F_DEPTH;
	return s->contig > old;
}

bool hg_stream_packet(struct hg_stream_ctx *c, struct hg_stream *s, const struct hg_packet *p)
{
	if (p->ip_proto != 6 || !p->l4)
		return false;
	return hg_stream_segment(c, s, p->tcp_flags, p->tcp_seq, p->payload, p->payload_len);
}
