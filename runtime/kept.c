/* kept.c - the copies of allowed flows' client packets up to their
 * verdict, which a reload feeds to the new rules: one age list (oldest
 * first, evicted first), bounded per flow and in all. No index: a record
 * is filled at its flow's verdict, through the pointer its start gave,
 * and read or removed only by walking the list (a reload). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/hold.h"

/* A record: its datagrams length-prefixed in one block grown as needed
 * (at most flow_bytes). */
struct hg_kept_rec {
	struct hg_hold_key key;
	struct hg_kept_rec *older, *newer;
	uint64_t created_us;
	uint8_t *buf;
	uint32_t len, cap;
	bool over; /* lost its bytes: never takes more */
};

struct hg_kept {
	struct hg_kept_config c;
	struct hg_kept_rec *oldest, *newest;
	struct hg_kept_stats st;
};

void hg_kept_config_defaults(struct hg_kept_config *c)
{
	*c = (struct hg_kept_config){
		.max_flows = 65536,
		.flow_bytes = 4096,
		.total_bytes = 16ull * 1024 * 1024,
	};
}

struct hg_kept *hg_kept_new(const struct hg_kept_config *c)
{
	struct hg_kept_config d;
	hg_kept_config_defaults(&d);
	if (c) {
		if (c->max_flows)
			d.max_flows = c->max_flows;
		if (c->flow_bytes)
			d.flow_bytes = c->flow_bytes;
		d.total_bytes = c->total_bytes; /* 0: keep nothing */
	}
	if (d.max_flows > (1u << 26) || d.flow_bytes > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	struct hg_kept *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->c = d;
	return k;
}

void hg_kept_free(struct hg_kept *k)
{
	if (!k)
		return;
	for (struct hg_kept_rec *r = k->oldest, *n; r; r = n) {
		n = r->newer;
		free(r->buf);
		free(r);
	}
	free(k);
}

static void kept_drop_bytes(struct hg_kept *k, struct hg_kept_rec *r)
{
	k->st.bytes_now -= r->cap;
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

static void kept_unlink(struct hg_kept *k, struct hg_kept_rec *r)
{
	if (r->older)
		r->older->newer = r->newer;
	else
		k->oldest = r->newer;
	if (r->newer)
		r->newer->older = r->older;
	else
		k->newest = r->older;
	kept_drop_bytes(k, r);
	free(r);
	k->st.flows--;
}

static void kept_evict_oldest(struct hg_kept *k)
{
	kept_unlink(k, k->oldest);
	k->st.evicted++;
}

struct hg_kept_rec *hg_kept_start(struct hg_kept *k, const struct hg_hold_key *key, uint64_t now_us)
{
	if (!k->c.total_bytes)
		return NULL;
	while (k->oldest && k->st.flows >= k->c.max_flows)
		kept_evict_oldest(k);
	struct hg_kept_rec *r = calloc(1, sizeof(*r));
	if (!r) {
		k->st.evicted++;
		return NULL;
	}
	r->key = *key;
	r->created_us = now_us;
	r->older = k->newest;
	if (k->newest)
		k->newest->newer = r;
	else
		k->oldest = r;
	k->newest = r;
	k->st.flows++;
	return r;
}

bool hg_kept_add(struct hg_kept *k, struct hg_kept_rec *r, const uint8_t *data, size_t len)
{
	if (!r || r->over)
		return false;
	size_t need = (size_t)r->len + 2 + len;
	if (len > 0xffff || need > k->c.flow_bytes) {
		kept_drop_bytes(k, r);
		r->over = true;
		k->st.over_flow_cap++;
		return false;
	}
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 512;
		while (cap < need)
			cap *= 2;
		if (cap > k->c.flow_bytes)
			cap = k->c.flow_bytes;
		/* Older records make room (r is the newest, or as good as). */
		while (k->st.bytes_now + (cap - r->cap) > k->c.total_bytes && k->oldest != r)
			kept_evict_oldest(k);
		uint8_t *nb = k->st.bytes_now + (cap - r->cap) <= k->c.total_bytes ? realloc(r->buf, cap) : NULL;
		if (!nb) {
			kept_drop_bytes(k, r);
			r->over = true;
			k->st.evicted++;
			return false;
		}
		k->st.bytes_now += cap - r->cap;
		r->buf = nb;
		r->cap = (uint32_t)cap;
	}
	r->buf[r->len] = (uint8_t)(len >> 8);
	r->buf[r->len + 1] = (uint8_t)len;
	memcpy(r->buf + r->len + 2, data, len);
	r->len += (uint32_t)(2 + len);
	k->st.kept++;
	return true;
}

void hg_kept_foreach(struct hg_kept *k,
		     bool (*fn)(void *ud, const struct hg_hold_key *key, const uint8_t *pkts, size_t n_bytes,
				uint64_t created_us),
		     void *ud)
{
	for (struct hg_kept_rec *r = k->oldest, *n; r; r = n) {
		n = r->newer;
		if (fn(ud, &r->key, r->buf, r->len, r->created_us))
			kept_unlink(k, r);
	}
}

bool hg_kept_next(const uint8_t *pkts, size_t n_bytes, size_t *off, const uint8_t **dg, size_t *len)
{
	if (*off + 2 > n_bytes)
		return false;
	size_t l = (size_t)pkts[*off] << 8 | pkts[*off + 1];
	if (l > n_bytes - *off - 2)
		return false;
	*dg = pkts + *off + 2;
	*len = l;
	*off += 2 + l;
	return true;
}

void hg_kept_get_stats(const struct hg_kept *k, struct hg_kept_stats *out)
{
	*out = k->st;
}
