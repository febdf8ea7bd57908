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

uint32_t hg_hold_key_hash(uint64_t seed, const struct hg_hold_key *k)
{
	uint64_t x = seed ^ 0xcbf29ce484222325ull;
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
	uint32_t b = hg_hold_key_hash(h->seed, key) & h->mask;
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
	uint32_t b = hg_hold_key_hash(h->seed, key) & h->mask;
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
