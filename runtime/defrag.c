/* defrag.c - IPv4 and IPv6 fragment reassembly with fixed caps: datagrams
 * in flight, buffer bytes, 65535 bytes per datagram, a packet-time timeout.
 * Overlaps keep the first data received; differing bytes are flagged. */
#include "hostgate/decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash_int.h"

#define DG_MAX 65535u               /* an IP datagram's payload cannot be larger */
#define DG_UNITS (65536u / 8)       /* 8-byte fragment units */
#define DG_BITMAP (DG_UNITS / 8)    /* bytes of the per-datagram unit bitmap */
#define DG_GROW 2048u               /* buffers grow in these steps */
#define NIL UINT32_MAX

/* Key: addresses, id, and for IPv4 the protocol (RFC 791); IPv6 keys on
 * (src, dst, id) (RFC 8200 §4.5). Padding zeroed: hashed as words. */
struct dg_key {
	struct hg_ip src, dst;
	uint32_t id;
	uint8_t family, proto;
	uint8_t pad[2];
};

struct dg {
	struct dg_key key;
	uint32_t hnext;            /* hash chain / free list */
	uint32_t older, newer;     /* age list (by first fragment) */
	uint64_t first_us;
	uint8_t *buf;              /* [unit bitmap][data]; NULL until data */
	uint32_t cap;              /* data bytes allocated */
	uint32_t hi;               /* highest end received */
	uint32_t total;            /* payload length once the last fragment came */
	uint32_t units_have;
	bool have_total, have_first, conflict, in_use;
	uint8_t ttl, hlen, v6next;
	uint8_t hdr[60];           /* IPv4 header of fragment 0; IPv6 fixed header */
};

struct hg_defrag {
	struct hg_defrag_config cfg;
	struct hg_hash_seed seed;
	struct dg *dg;
	uint32_t *bucket;
	uint32_t mask;
	uint32_t free_head;
	uint32_t oldest, newest;
	uint64_t now;
	struct hg_defrag_stats st;
	uint8_t out[60 + DG_MAX];  /* the last reassembled datagram */
};

struct hg_defrag *hg_defrag_new(const struct hg_defrag_config *cfg)
{
	struct hg_defrag *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (cfg)
		d->cfg = *cfg;
	if (!d->cfg.max_datagrams)
		d->cfg.max_datagrams = 4096;
	if (!d->cfg.max_bytes)
		d->cfg.max_bytes = 16u << 20;
	if (!d->cfg.timeout_us)
		d->cfg.timeout_us = 30u * 1000000u;
	if (d->cfg.max_datagrams > (1u << 24)) {
		free(d);
		errno = EINVAL;
		return NULL;
	}
	uint32_t nb = 16;
	while (nb < d->cfg.max_datagrams)
		nb <<= 1;
	d->mask = nb - 1;
	d->dg = calloc(d->cfg.max_datagrams, sizeof(*d->dg));
	d->bucket = malloc(nb * sizeof(*d->bucket));
	if (!d->dg || !d->bucket) {
		hg_defrag_free(d);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		d->bucket[i] = NIL;
	for (uint32_t i = 0; i < d->cfg.max_datagrams; i++)
		d->dg[i].hnext = i + 1 < d->cfg.max_datagrams ? i + 1 : NIL;
	d->free_head = 0;
	d->oldest = d->newest = NIL;
	hg_hash_seed_init(&d->seed);
	return d;
}

void hg_defrag_free(struct hg_defrag *d)
{
	if (!d)
		return;
	if (d->dg)
		for (uint32_t i = 0; i < d->cfg.max_datagrams; i++)
			free(d->dg[i].buf);
	free(d->dg);
	free(d->bucket);
	free(d);
}

void hg_defrag_get_stats(const struct hg_defrag *d, struct hg_defrag_stats *out)
{
	*out = d->st;
}

static uint32_t key_hash(const struct hg_defrag *d, const struct dg_key *k)
{
	uint64_t w[5];
	_Static_assert(sizeof(struct dg_key) == sizeof(w), "dg_key is 5 words");
	memcpy(w, k, sizeof(w));
	return (uint32_t)hg_hash_words(&d->seed, w, 5) & d->mask;
}

static void dg_release(struct hg_defrag *d, uint32_t i)
{
	struct dg *g = &d->dg[i];
	/* unlink from the hash chain */
	uint32_t *pp = &d->bucket[key_hash(d, &g->key)];
	while (*pp != i)
		pp = &d->dg[*pp].hnext;
	*pp = g->hnext;
	/* and from the age list */
	if (g->older != NIL)
		d->dg[g->older].newer = g->newer;
	else
		d->oldest = g->newer;
	if (g->newer != NIL)
		d->dg[g->newer].older = g->older;
	else
		d->newest = g->older;
	if (g->buf) {
		free(g->buf);
		d->st.bytes -= DG_BITMAP + (uint64_t)g->cap;
	}
	memset(g, 0, sizeof(*g));
	g->hnext = d->free_head;
	d->free_head = i;
	d->st.in_flight--;
}

void hg_defrag_expire(struct hg_defrag *d, uint64_t now_us)
{
	if (now_us > d->now)
		d->now = now_us;
	while (d->oldest != NIL && d->dg[d->oldest].first_us + d->cfg.timeout_us <= d->now) {
		dg_release(d, d->oldest);
		d->st.timeouts++;
	}
}

/* Room for delta more buffer bytes, dropping the oldest other datagrams. */
static bool make_room(struct hg_defrag *d, uint32_t keep, uint64_t delta)
{
	while (d->st.bytes + delta > d->cfg.max_bytes) {
		uint32_t victim = d->oldest;
		if (victim == keep)
			victim = d->dg[victim].newer;
		if (victim == NIL)
			return false;
		dg_release(d, victim);
		d->st.evictions++;
	}
	return true;
}

static bool dg_grow(struct hg_defrag *d, uint32_t i, uint32_t end)
{
	struct dg *g = &d->dg[i];
	if (g->buf && end <= g->cap)
		return true;
	uint32_t ncap = (end + DG_GROW - 1) / DG_GROW * DG_GROW;
	if (ncap > DG_MAX + 1)
		ncap = DG_MAX + 1;
	uint64_t delta = g->buf ? ncap - g->cap : (uint64_t)DG_BITMAP + ncap;
	if (!make_room(d, i, delta))
		return false;
	uint8_t *nb = realloc(g->buf, DG_BITMAP + (size_t)ncap);
	if (!nb)
		return false;
	if (!g->buf)
		memset(nb, 0, DG_BITMAP);
	g->buf = nb;
	g->cap = ncap;
	d->st.bytes += delta;
	return true;
}

static uint32_t dg_lookup(struct hg_defrag *d, const struct dg_key *k)
{
	uint32_t h = key_hash(d, k);
	for (uint32_t i = d->bucket[h]; i != NIL; i = d->dg[i].hnext)
		if (!memcmp(&d->dg[i].key, k, sizeof(*k)))
			return i;
	if (d->free_head == NIL) {
		/* Full: the oldest datagram makes way (it is the most likely
		 * never to complete). */
		dg_release(d, d->oldest);
		d->st.evictions++;
	}
	uint32_t i = d->free_head;
	struct dg *g = &d->dg[i];
	d->free_head = g->hnext;
	g->key = *k;
	g->in_use = true;
	g->first_us = d->now;
	g->hnext = d->bucket[h];
	d->bucket[h] = i;
	g->older = d->newest;
	g->newer = NIL;
	if (d->newest != NIL)
		d->dg[d->newest].newer = i;
	else
		d->oldest = i;
	d->newest = i;
	d->st.in_flight++;
	return i;
}

static inline bool unit_have(const uint8_t *bm, uint32_t u)
{
	return bm[u >> 3] & (1u << (u & 7));
}

/* Builds the whole datagram in d->out and decodes it into out. */
static enum hg_defrag_result dg_finish(struct hg_defrag *d, uint32_t i, const struct hg_packet *frag,
				       struct hg_decode_stats *st, struct hg_packet *out)
{
	struct dg *g = &d->dg[i];
	const uint8_t *data = g->buf + DG_BITMAP;
	uint32_t len;

	if (g->key.family == 4) {
		len = g->hlen + g->total;
		if (len > DG_MAX) {
			d->st.bad++;
			dg_release(d, i);
			return HG_DEFRAG_DROPPED;
		}
		memcpy(d->out, g->hdr, g->hlen);
		d->out[2] = (uint8_t)(len >> 8);
		d->out[3] = (uint8_t)len;
		d->out[6] &= 0x40; /* keep DF, clear MF and the offset */
		d->out[7] = 0;
		memcpy(d->out + g->hlen, data, g->total);
	} else {
		/* The unfragmentable extension headers are not kept: nothing
		 * after us reads them, and the fixed header says all we need. */
		len = 40 + g->total;
		memcpy(d->out, g->hdr, 40);
		d->out[4] = (uint8_t)(g->total >> 8);
		d->out[5] = (uint8_t)g->total;
		d->out[6] = g->v6next;
		memcpy(d->out + 40, data, g->total);
	}
	bool conflict = g->conflict;
	dg_release(d, i);

	memset(out, 0, sizeof(*out));
	out->ts_us = frag->ts_us;
	out->wire_len = len;
	out->n_vlan = frag->n_vlan;
	memcpy(out->vlan, frag->vlan, sizeof(out->vlan));
	out->flags = HG_PKT_F_REASSEMBLED | (conflict ? HG_PKT_F_FRAG_OVERLAP : 0);
	if (!hg_decode_ip(st, d->out, len, false, out))
		return HG_DEFRAG_DROPPED;
	if (out->flags & HG_PKT_F_FRAGMENT) { /* a fragment inside a fragment */
		d->st.bad++;
		return HG_DEFRAG_DROPPED;
	}
	d->st.reassembled++;
	return HG_DEFRAG_DONE;
}

enum hg_defrag_result hg_defrag_add(struct hg_defrag *d, const struct hg_packet *frag,
				    struct hg_decode_stats *st, struct hg_packet *out)
{
	hg_defrag_expire(d, frag->ts_us);
	if (!(frag->flags & HG_PKT_F_FRAGMENT) || (frag->flags & HG_PKT_F_SNAPPED)) {
		/* a cut fragment cannot be reassembled faithfully */
		d->st.bad++;
		return HG_DEFRAG_DROPPED;
	}
	struct dg_key k;
	memset(&k, 0, sizeof(k));
	k.src = frag->src;
	k.dst = frag->dst;
	k.id = frag->frag.id;
	k.family = frag->family;
	k.proto = frag->family == 4 ? frag->frag.next : 0;

	uint32_t o = frag->frag.offset, e = o + frag->frag.len;
	uint32_t i = dg_lookup(d, &k);
	struct dg *g = &d->dg[i];

	/* Consistency: nothing past a known end, one end only. */
	if ((g->have_total && e > g->total) ||
	    (!frag->frag.more && ((g->have_total && e != g->total) || g->hi > e)) || e > DG_MAX) {
		d->st.bad++;
		return HG_DEFRAG_DROPPED;
	}
	if (e > o && !dg_grow(d, i, e)) {
		d->st.nomem++;
		dg_release(d, i);
		return HG_DEFRAG_DROPPED;
	}
	g = &d->dg[i]; /* make_room never moves it, but be plain about it */
	d->st.fragments++;
	if (!frag->frag.more) {
		g->have_total = true;
		g->total = e;
	}
	if (o == 0 && !g->have_first) {
		g->have_first = true;
		g->ttl = frag->ttl;
		if (frag->family == 4) {
			g->hlen = (uint8_t)frag->l3_hlen;
			memcpy(g->hdr, frag->l3, g->hlen);
		} else {
			memcpy(g->hdr, frag->l3, 40);
			g->v6next = frag->frag.next;
		}
	}
	if (e > g->hi)
		g->hi = e;

	uint8_t *bm = g->buf, *data = g->buf ? g->buf + DG_BITMAP : NULL;
	const uint8_t *src = frag->frag.data;
	bool overlap = false, conflict = false;
	for (uint32_t u = o / 8; e > o && u * 8 < e; u++) {
		uint32_t a = u * 8, b = HG_MIN(a + 8, e);
		if (unit_have(bm, u)) {
			overlap = true;
			if (memcmp(data + a, src + (a - o), b - a))
				conflict = true;
			continue; /* first data wins */
		}
		memcpy(data + a, src + (a - o), b - a);
		bm[u >> 3] |= (uint8_t)(1u << (u & 7));
		g->units_have++;
	}
	if (overlap)
		d->st.overlaps++;
	if (conflict) {
		d->st.conflicts++;
		g->conflict = true;
	}

	if (g->have_total && g->have_first && g->units_have == (g->total + 7) / 8)
		return dg_finish(d, i, frag, st, out);
	return HG_DEFRAG_HELD;
}
