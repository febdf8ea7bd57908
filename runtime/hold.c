/* hold.c - the held packets' queues (one per flow, in its flow area) and
 * their accounting: each packet a copy of its datagram with its decoded
 * view pointing into the copy, counted against per-flow and total caps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/hold.h"

struct hg_hold_pkt {
	struct hg_hold_pkt *next;
	struct hg_packet p; /* its pointers into data */
	size_t len;
	uint8_t data[];
};

struct hg_hold {
	struct hg_hold_config c;
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
	struct hg_hold *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = d;
	return h;
}

void hg_hold_free(struct hg_hold *h)
{
	free(h);
}

/* A pointer of the decoded view moved from the datagram at from to its
 * copy at to (NULL stays NULL, and so does one outside the datagram). */
static const uint8_t *rebase(const uint8_t *q, const uint8_t *from, size_t len, const uint8_t *to)
{
	if (!q || q < from || q > from + len)
		return NULL;
	return to + (q - from);
}

bool hg_hold_push(struct hg_hold *h, struct hg_hold_queue *q, const struct hg_packet *p)
{
	size_t len = p->l3_len;
	if (q->n_pkts >= h->c.flow_pkts || q->bytes + len > h->c.flow_bytes) {
		h->st.over_flow_cap++;
		return false;
	}
	if (!q->n_pkts && h->st.flows >= h->c.max_flows) {
		h->st.table_full++;
		return false;
	}
	if (h->st.bytes_now + len > h->c.total_bytes) {
		h->st.over_total_cap++;
		return false;
	}
	struct hg_hold_pkt *k = malloc(sizeof(*k) + len);
	if (!k) {
		h->st.over_total_cap++;
		return false;
	}
	k->next = NULL;
	k->len = len;
	memcpy(k->data, p->l3, len);
	k->p = *p;
	k->p.l3 = k->data;
	k->p.l4 = rebase(p->l4, p->l3, len, k->data);
	k->p.payload = rebase(p->payload, p->l3, len, k->data);
	k->p.frag.data = rebase(p->frag.data, p->l3, len, k->data);
	if (q->tail)
		q->tail->next = k;
	else
		q->head = k;
	q->tail = k;
	if (!q->n_pkts)
		h->st.flows++;
	q->n_pkts++;
	q->bytes += (uint32_t)len;
	h->st.pkts_now++;
	h->st.bytes_now += len;
	h->st.held++;
	return true;
}

static void drain(struct hg_hold *h, struct hg_hold_queue *q, void (*fn)(void *ud, const struct hg_packet *p),
		  void *ud)
{
	struct hg_hold_pkt *k = q->head;
	if (q->n_pkts)
		h->st.flows--;
	h->st.pkts_now -= q->n_pkts;
	h->st.bytes_now -= q->bytes;
	*(fn ? &h->st.released : &h->st.discarded) += q->n_pkts;
	/* Emptied and uncounted before fn runs: fn may hold packets of the
	 * flow again (a reload's new rules). */
	*q = (struct hg_hold_queue){0};
	while (k) {
		struct hg_hold_pkt *next = k->next;
		if (fn)
			fn(ud, &k->p);
		free(k);
		k = next;
	}
}

void hg_hold_release(struct hg_hold *h, struct hg_hold_queue *q, void (*fn)(void *ud, const struct hg_packet *p),
		     void *ud)
{
	drain(h, q, fn, ud);
}

void hg_hold_discard(struct hg_hold *h, struct hg_hold_queue *q)
{
	drain(h, q, NULL, NULL);
}

void hg_hold_get_stats(const struct hg_hold *h, struct hg_hold_stats *out)
{
	*out = h->st;
}
