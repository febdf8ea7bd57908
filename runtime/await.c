/* await.c - the bytes a passed TCP flow released, kept until the server
 * acknowledges them, and the comparison of re-sent segments (await.h).
 * A flow's bytes are one block grown as needed (up to flow_bytes): the
 * bytes by offset from the stream's start, then a bitmap of the ones
 * released, since released segments may leave gaps (held out of order). */
#include "hostgate/await.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/util.h"

struct hg_await_pool {
	struct hg_await_config c;
	struct hg_await_stats st;
};

void hg_await_config_defaults(struct hg_await_config *c)
{
	*c = (struct hg_await_config){.flow_bytes = 16384, .total_bytes = 16ull * 1024 * 1024};
}

struct hg_await_pool *hg_await_pool_new(const struct hg_await_config *c)
{
	struct hg_await_config d;
	hg_await_config_defaults(&d);
	if (c) {
		if (c->flow_bytes)
			d.flow_bytes = c->flow_bytes;
		d.total_bytes = c->total_bytes; /* 0: keep nothing (every re-send refused) */
	}
	if (d.flow_bytes > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	struct hg_await_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->c = d;
	return p;
}

void hg_await_pool_free(struct hg_await_pool *p)
{
	free(p);
}

void hg_await_get_stats(const struct hg_await_pool *p, struct hg_await_stats *out)
{
	*out = p->st;
}

static uint64_t block_len(uint32_t cap)
{
	return cap ? (uint64_t)cap + (cap + 7) / 8 : 0;
}

static bool bit(const struct hg_await *a, uint32_t i)
{
	return a->buf[a->cap + i / 8] & (1u << (i % 8));
}

/* Room for need bytes (capped at flow_bytes and by the pool's total):
 * false when there is less than need. */
static bool grow(struct hg_await_pool *p, struct hg_await *a, uint32_t need)
{
	if (need <= a->cap)
		return true;
	uint32_t ncap = a->cap ? a->cap : 1024;
	while (ncap < need && ncap < p->c.flow_bytes)
		ncap = ncap > p->c.flow_bytes / 2 ? p->c.flow_bytes : ncap * 2;
	ncap = HG_MIN(ncap, p->c.flow_bytes);
	if (ncap <= a->cap)
		return false;
	uint64_t add = block_len(ncap) - block_len(a->cap);
	if (p->st.bytes_now + add > p->c.total_bytes)
		return false;
	uint8_t *nb = calloc(1, block_len(ncap));
	if (!nb)
		return false;
	if (a->buf) {
		memcpy(nb, a->buf, a->cap);
		memcpy(nb + ncap, a->buf + a->cap, (a->cap + 7) / 8);
		free(a->buf);
	}
	a->buf = nb;
	a->cap = ncap;
	p->st.bytes_now += add;
	return ncap >= need;
}

void hg_await_end(struct hg_await_pool *p, struct hg_await *a, bool settled)
{
	if (!a->active)
		return;
	p->st.bytes_now -= block_len(a->cap);
	p->st.flows_now--;
	if (settled)
		p->st.settled++;
	free(a->buf);
	*a = (struct hg_await){0};
}

void hg_await_begin(struct hg_await_pool *p, struct hg_await *a, uint32_t start, uint32_t ct_id,
		    uint64_t now_us)
{
	hg_await_end(p, a, false);
	*a = (struct hg_await){.start = start, .end = start, .ct_id = ct_id, .since_us = now_us, .active = true};
	p->st.flows_now++;
	p->st.started++;
}

/* The part of a segment at or after the stream's start: its offset from
 * it and its bytes (bytes before the start are the SYN's sequence number
 * or older: a receiver trims them). False when nothing is left. */
static bool clip(const struct hg_await *a, uint32_t *seq, const uint8_t **data, uint32_t *len, uint32_t *off)
{
	int32_t rel = (int32_t)(*seq - a->start);
	if (rel < 0) {
		uint32_t cut = (uint32_t)-(int64_t)rel;
		if (cut >= *len)
			return false;
		*data += cut;
		*len -= cut;
		*seq += cut;
		rel = 0;
	}
	*off = (uint32_t)rel;
	return *len > 0;
}

bool hg_await_release(struct hg_await_pool *p, struct hg_await *a, uint32_t seq, const uint8_t *data,
		      uint32_t len)
{
	uint32_t off;
	if (!a->active || !clip(a, &seq, &data, &len, &off))
		return true;
	if ((int32_t)(seq + len - a->end) > 0)
		a->end = seq + len;
	uint64_t stop = (uint64_t)off + len;
	if (stop > UINT32_MAX || !grow(p, a, (uint32_t)stop)) {
		if (!a->lost)
			p->st.over_cap++;
		a->lost = true;
		stop = HG_MIN(stop, a->cap);
	}
	bool same = true;
	for (uint32_t i = off; i < stop; i++) {
		if (bit(a, i)) {
			same &= a->buf[i] == data[i - off];
		} else {
			a->buf[i] = data[i - off];
			a->buf[a->cap + i / 8] |= (uint8_t)(1u << (i % 8));
		}
	}
	if (stop > a->hi)
		a->hi = (uint32_t)stop;
	return same;
}

bool hg_await_empty(const struct hg_await *a)
{
	return a->end == a->start;
}

enum hg_await_cmp hg_await_compare(struct hg_await_pool *p, const struct hg_await *a, uint32_t seq,
				   const uint8_t *data, uint32_t len)
{
	uint32_t off;
	if (!a->active || !clip(a, &seq, &data, &len, &off))
		return HG_AWAIT_NEW;
	uint32_t released = a->end - a->start;
	if (off >= released)
		return HG_AWAIT_NEW;
	uint32_t stop = (uint32_t)HG_MIN((uint64_t)off + len, (uint64_t)released);
	bool overlap = false;
	for (uint32_t i = off; i < stop; i++) {
		if (i >= a->cap) {
			/* released past what could be kept: no way to compare */
			p->st.unknown++;
			return HG_AWAIT_UNKNOWN;
		}
		if (!bit(a, i))
			continue; /* a gap: never released, so never inspected */
		overlap = true;
		if (a->buf[i] != data[i - off]) {
			p->st.differ++;
			return HG_AWAIT_DIFFERS;
		}
	}
	if (!overlap)
		return HG_AWAIT_NEW;
	p->st.resent++;
	return HG_AWAIT_SAME;
}

bool hg_await_slow(struct hg_await_pool *p, struct hg_await *a, uint64_t now_us)
{
	if (!a->active || a->slow || now_us < a->since_us || now_us - a->since_us < HG_AWAIT_SLOW_US)
		return false;
	a->slow = true;
	p->st.slow++;
	return true;
}

bool hg_await_acked(const struct hg_await *a, uint32_t ct_id, uint32_t ack)
{
	return a->active && a->ct_id == ct_id && (int32_t)(ack - a->end) >= 0;
}
