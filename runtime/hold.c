/* hold.c - per-flow queues of held packets: a fixed slot array with a
 * seeded hash over the client-to-server 5-tuple, packet copies counted
 * against per-flow and total caps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hostgate/hold.h"

#define NIL UINT32_MAX

struct hg_hold_pkt {
	struct hg_hold_pkt *next;
	size_t len;
	uint8_t data[];
};

struct hg_hold {
	struct hg_hold_config c;
	struct hg_hold_flow *slot;
	uint32_t *bucket;
	uint32_t mask;
	uint32_t free_head; /* free slots chained through hnext */
	uint64_t seed;
	struct hg_hold_stats st;
};

void hg_hold_config_defaults(struct hg_hold_config *c)
{
	*c = (struct hg_hold_config){
		.max_flows = 65536,
		.flow_pkts = 64,
		.flow_bytes = 256 * 1024,
		.total_bytes = 64ull * 1024 * 1024,
	};
}

struct hg_hold *hg_hold_new(const struct hg_hold_config *c)
{
	struct hg_hold_config d;
	hg_hold_config_defaults(&d);
	if (c) {
		if (c->max_flows)
			d.max_flows = c->max_flows;
		if (c->flow_pkts)
			d.flow_pkts = c->flow_pkts;
		if (c->flow_bytes)
			d.flow_bytes = c->flow_bytes;
		if (c->total_bytes)
			d.total_bytes = c->total_bytes;
	}
	if (d.max_flows > (1u << 26)) {
		errno = EINVAL;
		return NULL;
	}
	struct hg_hold *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = d;
	uint32_t nb = 1;
	while (nb < d.max_flows)
		nb <<= 1;
	h->mask = nb - 1;
	h->slot = calloc(d.max_flows, sizeof(*h->slot));
	h->bucket = malloc(sizeof(*h->bucket) * nb);
	if (!h->slot || !h->bucket) {
		hg_hold_free(h);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		h->bucket[i] = NIL;
	for (uint32_t i = 0; i < d.max_flows; i++)
		h->slot[i].hnext = i + 1 < d.max_flows ? i + 1 : NIL;
	h->free_head = 0;
	/* Clients pick ports and addresses: a seeded hash keeps them from
	 * building one long chain. */
	if (getrandom(&h->seed, sizeof(h->seed), 0) != sizeof(h->seed))
		h->seed = (uint64_t)(uintptr_t)h ^ 0x9e3779b97f4a7c15ull;
	return h;
}

void hg_hold_free(struct hg_hold *h)
{
	if (!h)
		return;
	if (h->slot)
		for (uint32_t i = 0; i < h->c.max_flows; i++)
			if (h->slot[i].in_use)
				hg_hold_discard(h, &h->slot[i]);
	free(h->slot);
	free(h->bucket);
	free(h);
}

static uint32_t key_hash(const struct hg_hold *h, const struct hg_hold_key *k)
{
	uint64_t x = h->seed ^ 0xcbf29ce484222325ull;
	const uint8_t *p = (const uint8_t *)k;
	for (size_t i = 0; i < sizeof(*k); i++)
		x = (x ^ p[i]) * 0x100000001b3ull;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (uint32_t)x;
}

struct hg_hold_flow *hg_hold_get(struct hg_hold *h, const struct hg_hold_key *key, bool create,
				 bool *created)
{
	if (created)
		*created = false;
	uint32_t b = key_hash(h, key) & h->mask;
	for (uint32_t i = h->bucket[b]; i != NIL; i = h->slot[i].hnext)
		if (!memcmp(&h->slot[i].key, key, sizeof(*key)))
			return &h->slot[i];
	if (!create)
		return NULL;
	if (h->free_head == NIL) {
		h->st.table_full++;
		return NULL;
	}
	uint32_t i = h->free_head;
	struct hg_hold_flow *f = &h->slot[i];
	h->free_head = f->hnext;
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->in_use = true;
	f->hnext = h->bucket[b];
	h->bucket[b] = i;
	h->st.flows++;
	if (created)
		*created = true;
	return f;
}

bool hg_hold_push(struct hg_hold *h, struct hg_hold_flow *f, const uint8_t *data, size_t len)
{
	if (f->n_pkts >= h->c.flow_pkts || f->bytes + len > h->c.flow_bytes) {
		h->st.over_flow_cap++;
		return false;
	}
	if (h->st.bytes_now + len > h->c.total_bytes) {
		h->st.over_total_cap++;
		return false;
	}
	struct hg_hold_pkt *p = malloc(sizeof(*p) + len);
	if (!p) {
		h->st.over_total_cap++;
		return false;
	}
	p->next = NULL;
	p->len = len;
	memcpy(p->data, data, len);
	if (f->tail)
		f->tail->next = p;
	else
		f->head = p;
	f->tail = p;
	f->n_pkts++;
	f->bytes += (uint32_t)len;
	h->st.pkts_now++;
	h->st.bytes_now += len;
	h->st.held++;
	return true;
}

static void drain(struct hg_hold *h, struct hg_hold_flow *f,
		  void (*fn)(void *ud, const uint8_t *data, size_t len), void *ud)
{
	struct hg_hold_pkt *p = f->head;
	while (p) {
		struct hg_hold_pkt *next = p->next;
		if (fn) {
			fn(ud, p->data, p->len);
			h->st.released++;
		} else {
			h->st.discarded++;
		}
		h->st.pkts_now--;
		h->st.bytes_now -= p->len;
		free(p);
		p = next;
	}
	f->head = f->tail = NULL;
	f->n_pkts = f->bytes = 0;
}

void hg_hold_release(struct hg_hold *h, struct hg_hold_flow *f,
		     void (*fn)(void *ud, const uint8_t *data, size_t len), void *ud)
{
	drain(h, f, fn, ud);
}

void hg_hold_discard(struct hg_hold *h, struct hg_hold_flow *f)
{
	drain(h, f, NULL, NULL);
}

void hg_hold_remove(struct hg_hold *h, const struct hg_hold_key *key)
{
	uint32_t b = key_hash(h, key) & h->mask;
	for (uint32_t *pi = &h->bucket[b]; *pi != NIL; pi = &h->slot[*pi].hnext) {
		struct hg_hold_flow *f = &h->slot[*pi];
		if (memcmp(&f->key, key, sizeof(*key)))
			continue;
		uint32_t i = *pi;
		hg_hold_discard(h, f);
		*pi = f->hnext;
		f->in_use = false;
		f->hnext = h->free_head;
		h->free_head = i;
		h->st.flows--;
		return;
	}
}

void hg_hold_foreach(struct hg_hold *h, void (*fn)(void *ud, struct hg_hold_flow *f), void *ud)
{
	for (uint32_t i = 0; i < h->c.max_flows; i++)
		if (h->slot[i].in_use)
			fn(ud, &h->slot[i]);
}

void hg_hold_get_stats(const struct hg_hold *h, struct hg_hold_stats *out)
{
	*out = h->st;
}

/* ------------------------------------------------------------ kept */

/* A record: its datagrams length-prefixed in one block grown as needed
 * (at most flow_bytes), in a chained hash and an age list (oldest first,
 * evicted first). */
struct kept_rec {
	struct hg_hold_key key;
	struct kept_rec *hnext, *older, *newer;
	uint64_t created_us;
	uint8_t *buf;
	uint32_t len, cap;
	bool over; /* lost its bytes: never takes more */
};

struct hg_kept {
	struct hg_kept_config c;
	struct kept_rec **bucket;
	uint32_t mask;
	uint64_t seed;
	struct kept_rec *oldest, *newest;
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
	uint32_t nb = 1;
	while (nb < d.max_flows)
		nb <<= 1;
	k->mask = nb - 1;
	k->bucket = calloc(nb, sizeof(*k->bucket));
	if (!k->bucket) {
		free(k);
		errno = ENOMEM;
		return NULL;
	}
	if (getrandom(&k->seed, sizeof(k->seed), 0) != sizeof(k->seed))
		k->seed = (uint64_t)(uintptr_t)k ^ 0x9e3779b97f4a7c15ull;
	return k;
}

void hg_kept_free(struct hg_kept *k)
{
	if (!k)
		return;
	for (struct kept_rec *r = k->oldest, *n; r; r = n) {
		n = r->newer;
		free(r->buf);
		free(r);
	}
	free(k->bucket);
	free(k);
}

static uint32_t kept_hash(const struct hg_kept *k, const struct hg_hold_key *key)
{
	struct hg_hold h = {.seed = k->seed};
	return key_hash(&h, key) & k->mask;
}

static struct kept_rec **kept_find(struct hg_kept *k, const struct hg_hold_key *key)
{
	struct kept_rec **pr = &k->bucket[kept_hash(k, key)];
	while (*pr && memcmp(&(*pr)->key, key, sizeof(*key)))
		pr = &(*pr)->hnext;
	return pr;
}

static void kept_drop_bytes(struct hg_kept *k, struct kept_rec *r)
{
	k->st.bytes_now -= r->cap;
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

/* Unlinks *pr (its hash link) and frees it. */
static void kept_unlink(struct hg_kept *k, struct kept_rec **pr)
{
	struct kept_rec *r = *pr;
	*pr = r->hnext;
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

void hg_kept_remove(struct hg_kept *k, const struct hg_hold_key *key)
{
	struct kept_rec **pr = kept_find(k, key);
	if (*pr)
		kept_unlink(k, pr);
}

static void kept_evict_oldest(struct hg_kept *k)
{
	struct kept_rec *r = k->oldest;
	kept_unlink(k, kept_find(k, &r->key));
	k->st.evicted++;
}

bool hg_kept_add(struct hg_kept *k, const struct hg_hold_key *key, const uint8_t *data, size_t len,
		 uint64_t now_us)
{
	if (!k->c.total_bytes)
		return false;
	struct kept_rec **pr = kept_find(k, key), *r = *pr;
	if (!r) {
		while (k->oldest && k->st.flows >= k->c.max_flows)
			kept_evict_oldest(k);
		r = calloc(1, sizeof(*r));
		if (!r) {
			k->st.evicted++;
			return false;
		}
		r->key = *key;
		r->created_us = now_us;
		r->hnext = NULL;
		*kept_find(k, key) = r;
		r->older = k->newest;
		if (k->newest)
			k->newest->newer = r;
		else
			k->oldest = r;
		k->newest = r;
		k->st.flows++;
	}
	if (r->over)
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
		/* Older records make room (this one is the newest). */
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
	for (struct kept_rec *r = k->oldest, *n; r; r = n) {
		n = r->newer;
		if (fn(ud, &r->key, r->buf, r->len, r->created_us))
			kept_unlink(k, kept_find(k, &r->key));
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
