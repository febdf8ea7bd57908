/* flow.c - the flow table (see flow.h): a fixed array of flows with a
 * seeded, direction-symmetric hash over chained buckets, and one list per
 * timeout class (protocol class x state) ordered by last activity, so
 * expiry and eviction look only at list heads. */
#include "hostgate/flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash_int.h"

#define NIL UINT32_MAX
#define NLISTS (HG_FLOW__NPC * HG_FLOW__NSTATES)
#define US 1000000ull
/* A flow moves to its list's tail at most once per this much packet time:
 * expiry may run up to this late, and busy flows cost no list writes. */
#define LRU_GRANULE_US US

struct hg_flow_table {
	struct hg_flow_config cfg;
	struct hg_hash_seed seed;
	uint8_t *mem;            /* max_flows entries of stride bytes */
	size_t stride;
	uint32_t max_flows;
	uint32_t *bucket;
	uint32_t mask;
	uint32_t free_head;      /* ended flows, chained by hnext */
	uint32_t unused;         /* entries from here on were never used */
	uint32_t head[NLISTS], tail[NLISTS];
	uint64_t timeout_us[NLISTS];
	uint64_t now, next_expire;
	uint64_t id_counter;
	struct hg_flow_stats st;
};

static const char *const end_names[] = {"timeout", "evicted", "reused", "flush"};
static const char *const state_names[] = {"new", "established", "closing", "closed"};

const char *hg_flow_end_name(enum hg_flow_end r)
{
	return (unsigned)r < HG_ARRAY_LEN(end_names) ? end_names[r] : "unknown";
}

const char *hg_flow_state_name(enum hg_flow_state s)
{
	return (unsigned)s < HG_ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

static inline struct hg_flow *F(const struct hg_flow_table *t, uint32_t i)
{
	return (struct hg_flow *)(void *)(t->mem + (size_t)i * t->stride);
}

static inline uint32_t idx(const struct hg_flow_table *t, const struct hg_flow *f)
{
	return (uint32_t)(((const uint8_t *)f - t->mem) / t->stride);
}

#define USER_OFF ((sizeof(struct hg_flow) + 15) & ~(size_t)15)

void *hg_flow_user(struct hg_flow *f)
{
	return (uint8_t *)f + USER_OFF;
}

struct hg_flow_table *hg_flow_table_new(const struct hg_flow_config *cfg)
{
	static const uint32_t defaults[HG_FLOW__NPC][HG_FLOW__NSTATES] = {
		[HG_FLOW_PC_TCP] = {30, 300, 30, 10},
		[HG_FLOW_PC_UDP] = {30, 300, 30, 30},
		[HG_FLOW_PC_OTHER] = {30, 300, 30, 30},
	};
	struct hg_flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (cfg)
		t->cfg = *cfg;
	if (!t->cfg.max_flows)
		t->cfg.max_flows = 65536;
	if (t->cfg.user_size > (1u << 20) || t->cfg.max_flows > (1u << 28))
		goto inval;
	t->stride = (USER_OFF + t->cfg.user_size + 15) & ~(size_t)15;
	uint64_t n = t->cfg.max_flows;
	if (t->cfg.memcap) {
		/* an entry plus, at worst, two bucket heads */
		uint64_t fit = t->cfg.memcap / (t->stride + 2 * sizeof(uint32_t));
		if (fit < n)
			n = fit;
		if (!n)
			goto inval;
	}
	t->max_flows = (uint32_t)n;
	uint32_t nb = 16;
	while (nb < t->max_flows)
		nb <<= 1;
	t->mask = nb - 1;
	/* calloc: untouched entries stay unbacked pages until flows use them */
	t->mem = calloc(t->max_flows, t->stride);
	t->bucket = malloc((size_t)nb * sizeof(uint32_t));
	if (!t->mem || !t->bucket) {
		hg_flow_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		t->bucket[i] = NIL;
	/* No pass over the entries: untouched pages stay unbacked. */
	t->free_head = NIL;
	for (int l = 0; l < NLISTS; l++) {
		uint32_t s = t->cfg.timeout_s[l / HG_FLOW__NSTATES][l % HG_FLOW__NSTATES];
		if (!s)
			s = defaults[l / HG_FLOW__NSTATES][l % HG_FLOW__NSTATES];
		t->timeout_us[l] = s * US;
		t->head[l] = t->tail[l] = NIL;
	}
	hg_hash_seed_init(&t->seed);
	t->st.max_flows = t->max_flows;
	t->st.bytes = sizeof(*t) + (uint64_t)t->max_flows * t->stride + (uint64_t)nb * 4;
	return t;
inval:
	free(t);
	errno = EINVAL;
	return NULL;
}

void hg_flow_table_free(struct hg_flow_table *t)
{
	if (!t)
		return;
	free(t->mem);
	free(t->bucket);
	free(t);
}

void hg_flow_get_stats(const struct hg_flow_table *t, struct hg_flow_stats *out)
{
	*out = t->st;
}

void hg_flow_key_make(const struct hg_packet *p, struct hg_flow_key *k, bool *swapped)
{
	int c = memcmp(p->src.b, p->dst.b, 16);
	memset(k, 0, sizeof(*k));
	k->proto = p->ip_proto;
	if (c < 0 || (c == 0 && p->sport <= p->dport)) {
		k->a = p->src, k->b = p->dst;
		k->pa = p->sport, k->pb = p->dport;
		*swapped = false;
	} else {
		k->a = p->dst, k->b = p->src;
		k->pa = p->dport, k->pb = p->sport;
		*swapped = true;
	}
}

static uint32_t key_hash(const struct hg_flow_table *t, const struct hg_flow_key *k)
{
	uint64_t w[5];
	_Static_assert(sizeof(struct hg_flow_key) == sizeof(w), "flow key is 5 words");
	memcpy(w, k, sizeof(w));
	return (uint32_t)hg_hash_words(&t->seed, w, 5);
}

static void list_unlink(struct hg_flow_table *t, struct hg_flow *f)
{
	uint8_t l = f->list;
	if (f->lprev != NIL)
		F(t, f->lprev)->lnext = f->lnext;
	else
		t->head[l] = f->lnext;
	if (f->lnext != NIL)
		F(t, f->lnext)->lprev = f->lprev;
	else
		t->tail[l] = f->lprev;
}

static void list_append(struct hg_flow_table *t, struct hg_flow *f, uint8_t l)
{
	uint32_t i = idx(t, f);
	f->list = l;
	f->lnext = NIL;
	f->lprev = t->tail[l];
	if (t->tail[l] != NIL)
		F(t, t->tail[l])->lnext = i;
	else
		t->head[l] = i;
	t->tail[l] = i;
	f->lru_us = f->last_us;
}

static inline uint8_t list_of(const struct hg_flow *f)
{
	return (uint8_t)(f->pclass * HG_FLOW__NSTATES + f->state);
}

static void flow_end(struct hg_flow_table *t, struct hg_flow *f, enum hg_flow_end why)
{
	if (t->cfg.end_cb)
		t->cfg.end_cb(t->cfg.ud, f, why);
	t->st.ended[why]++;
	t->st.flows--;
	if (t->cfg.streams) {
		hg_stream_release(t->cfg.streams, &f->stream[0]);
		hg_stream_release(t->cfg.streams, &f->stream[1]);
	}
	uint32_t i = idx(t, f);
	uint32_t *pp = &t->bucket[f->hash & t->mask];
	while (*pp != i)
		pp = &F(t, *pp)->hnext;
	*pp = f->hnext;
	list_unlink(t, f);
	f->in_use = 0;
	f->hnext = t->free_head;
	t->free_head = i;
}

void hg_flow_table_foreach(struct hg_flow_table *t, void (*fn)(void *ud, struct hg_flow *f), void *ud)
{
	for (uint32_t i = 0; i < t->unused; i++)
		if (F(t, i)->in_use)
			fn(ud, F(t, i));
}

void hg_flow_table_expire(struct hg_flow_table *t, uint64_t now_us)
{
	if (now_us > t->now)
		t->now = now_us;
	for (int l = 0; l < NLISTS; l++) {
		while (t->head[l] != NIL) {
			struct hg_flow *f = F(t, t->head[l]);
			if (f->last_us + t->timeout_us[l] > t->now)
				break;
			flow_end(t, f, HG_FLOW_END_TIMEOUT);
		}
	}
}

/* Ends the flow nearest to its timeout: closed flows go before idle new
 * ones, which go before active established ones. */
static void evict_one(struct hg_flow_table *t)
{
	struct hg_flow *best = NULL;
	uint64_t best_at = UINT64_MAX;
	for (int l = 0; l < NLISTS; l++) {
		if (t->head[l] == NIL)
			continue;
		struct hg_flow *f = F(t, t->head[l]);
		uint64_t at = f->last_us + t->timeout_us[l];
		if (at < best_at)
			best_at = at, best = f;
	}
	flow_end(t, best, HG_FLOW_END_EVICTED);
}

void hg_flow_table_flush(struct hg_flow_table *t)
{
	for (;;) {
		struct hg_flow *best = NULL;
		for (int l = 0; l < NLISTS; l++) {
			if (t->head[l] == NIL)
				continue;
			struct hg_flow *f = F(t, t->head[l]);
			if (!best || f->lru_us < best->lru_us)
				best = f;
		}
		if (!best)
			return;
		flow_end(t, best, HG_FLOW_END_FLUSH);
	}
}

/* An entry for key k (hash h), evicting when the table is full, linked
 * into its bucket; the caller fills identity, state and list. */
static struct hg_flow *flow_alloc(struct hg_flow_table *t, const struct hg_flow_key *k, uint32_t h)
{
	if (t->free_head == NIL && t->unused == t->max_flows)
		evict_one(t);
	uint32_t i;
	struct hg_flow *f;
	if (t->free_head != NIL) {
		i = t->free_head;
		f = F(t, i);
		t->free_head = f->hnext;
	} else {
		i = t->unused++;
		f = F(t, i);
	}
	memset(f, 0, t->stride);
	f->key = *k;
	f->hash = h;
	f->hnext = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = i;
	f->in_use = 1;
	/* Flow ids: 20 bits of an unseeded key hash over a 31-bit counter:
	 * unique per table, under 2^51 (the event log's limit, as Suricata's),
	 * and the same in every run over the same capture, so replay logs are
	 * reproducible byte for byte (the table's own hash is seeded). */
	uint32_t idh = 2166136261u;
	for (size_t b = 0; b < sizeof(*k); b++)
		idh = (idh ^ ((const uint8_t *)k)[b]) * 16777619u;
	f->flow_id = (uint64_t)(idh & 0xfffffu) << 31 | (++t->id_counter & ((1ull << 31) - 1));
	hg_stream_init(&f->stream[0], 0);
	hg_stream_init(&f->stream[1], 1);
	t->st.flows++;
	t->st.created++;
	return f;
}

/* What a flow's first packet sets: its time, its client (see
 * hg_flow_packet), whether TCP was picked up midstream. */
static void flow_start(struct hg_flow_table *t, struct hg_flow *f, const struct hg_packet *p)
{
	f->proto = p->ip_proto;
	f->family = p->family;
	f->pclass = p->ip_proto == 6 ? HG_FLOW_PC_TCP
		  : p->ip_proto == 17 ? HG_FLOW_PC_UDP : HG_FLOW_PC_OTHER;
	f->state = HG_FLOW_S_NEW;
	f->first_us = f->last_us = p->ts_us;

	bool sender_is_client = true;
	if (p->ip_proto == 6) {
		uint8_t sa = p->tcp_flags & (HG_TCP_SYN | HG_TCP_ACK);
		if (sa != HG_TCP_SYN) {
			f->flags |= HG_FLOW_F_MIDSTREAM;
			t->st.midstream++;
			if (sa == (HG_TCP_SYN | HG_TCP_ACK))
				sender_is_client = false;
			else if (p->sport != p->dport)
				sender_is_client = p->sport > p->dport;
		}
	}
	if (sender_is_client) {
		f->cli = p->src, f->srv = p->dst;
		f->cport = p->sport, f->sport = p->dport;
	} else {
		f->cli = p->dst, f->srv = p->src;
		f->cport = p->dport, f->sport = p->sport;
	}
}

static struct hg_flow *flow_create(struct hg_flow_table *t, const struct hg_packet *p,
				   const struct hg_flow_key *k, uint32_t h)
{
	struct hg_flow *f = flow_alloc(t, k, h);
	flow_start(t, f, p);
	list_append(t, f, list_of(f));
	return f;
}

/* A flow that no packet started yet (hg_flow_adopt). */
static inline bool flow_unstarted(const struct hg_flow *f)
{
	return !f->d[HG_DIR_TO_SERVER].pkts && !f->d[HG_DIR_TO_CLIENT].pkts;
}

struct hg_flow *hg_flow_adopt(struct hg_flow_table *t, const struct hg_flow *from, uint64_t now_us)
{
	if (t->max_flows == 0 || hg_flow_find_key(t, &from->key))
		return NULL;
	if (now_us > t->now)
		t->now = now_us;
	struct hg_flow *f = flow_alloc(t, &from->key, key_hash(t, &from->key));
	f->cli = from->cli, f->srv = from->srv;
	f->cport = from->cport, f->sport = from->sport;
	f->proto = from->proto;
	f->family = from->family;
	f->pclass = from->pclass;
	f->state = HG_FLOW_S_NEW;
	f->first_us = f->last_us = now_us;
	list_append(t, f, list_of(f));
	return f;
}

static void tcp_track(struct hg_flow *f, const struct hg_packet *p, enum hg_dir dir)
{
	uint8_t fl = p->tcp_flags;
	uint8_t sa = fl & (HG_TCP_SYN | HG_TCP_ACK);

	if (fl & HG_TCP_RST) {
		f->flags |= HG_FLOW_F_RST;
		f->state = HG_FLOW_S_CLOSED;
		return;
	}
	if (dir == HG_DIR_TO_SERVER && sa == HG_TCP_SYN) {
		f->flags |= HG_FLOW_F_SYN;
		f->isn[0] = p->tcp_seq;
	} else if (dir == HG_DIR_TO_CLIENT && sa == (HG_TCP_SYN | HG_TCP_ACK)) {
		f->flags |= HG_FLOW_F_SYNACK;
		f->isn[1] = p->tcp_seq;
	}
	if (f->state == HG_FLOW_S_NEW) {
		/* RFC 9293 §3.5: the client's ACK of the server's ISN completes
		 * the handshake. Midstream flows count once both sides spoke. */
		bool hs = (f->flags & HG_FLOW_F_SYN) && (f->flags & HG_FLOW_F_SYNACK) &&
			  dir == HG_DIR_TO_SERVER && sa == HG_TCP_ACK &&
			  p->tcp_ack == f->isn[1] + 1;
		bool mid = (f->flags & HG_FLOW_F_MIDSTREAM) && f->d[0].pkts && f->d[1].pkts;
		if (hs || mid) {
			f->state = HG_FLOW_S_ESTABLISHED;
			f->flags |= HG_FLOW_F_ESTABLISHED;
		}
	}
	if (fl & HG_TCP_FIN) {
		f->flags |= dir == HG_DIR_TO_SERVER ? HG_FLOW_F_FIN_CLIENT : HG_FLOW_F_FIN_SERVER;
		if ((f->flags & HG_FLOW_F_FIN_CLIENT) && (f->flags & HG_FLOW_F_FIN_SERVER))
			f->state = HG_FLOW_S_CLOSED;
		else if (f->state < HG_FLOW_S_CLOSING)
			f->state = HG_FLOW_S_CLOSING;
	}
}

struct hg_flow *hg_flow_find_key(struct hg_flow_table *t, const struct hg_flow_key *k)
{
	uint32_t h = key_hash(t, k);
	for (uint32_t i = t->bucket[h & t->mask]; i != NIL;) {
		struct hg_flow *c = F(t, i);
		if (c->hash == h && !memcmp(&c->key, k, sizeof(*k)))
			return c;
		i = c->hnext;
	}
	return NULL;
}

struct hg_flow *hg_flow_find(struct hg_flow_table *t, const struct hg_packet *p)
{
	struct hg_flow_key k;
	bool swapped;
	hg_flow_key_make(p, &k, &swapped);
	return hg_flow_find_key(t, &k);
}

struct hg_flow *hg_flow_packet(struct hg_flow_table *t, const struct hg_packet *p,
			       enum hg_dir *dir, bool *created)
{
	struct hg_flow_key k;
	bool swapped;

	*created = false;
	t->st.lookups++;
	if (p->ts_us > t->now)
		t->now = p->ts_us;
	if (t->now >= t->next_expire) {
		hg_flow_table_expire(t, t->now);
		t->next_expire = t->now + US;
	}
	hg_flow_key_make(p, &k, &swapped);
	uint32_t h = key_hash(t, &k);
	struct hg_flow *f = NULL;
	for (uint32_t i = t->bucket[h & t->mask]; i != NIL;) {
		struct hg_flow *c = F(t, i);
		if (c->hash == h && !memcmp(&c->key, &k, sizeof(k))) {
			f = c;
			break;
		}
		i = c->hnext;
	}
	/* A new SYN on a closed tuple is a new connection (port reuse), and so
	 * is a SYN from the client with another initial sequence number than
	 * the flow's, or on a flow picked up without its SYN: the client
	 * started over (its old connection died without a FIN or RST we saw).
	 * Each connection is decided on its own; a retransmitted SYN (the
	 * same ISN) stays in its flow. An adopted flow (hg_flow_adopt) is
	 * started by its first packet as a new one would be. */
	if (f && flow_unstarted(f)) {
		flow_start(t, f, p);
		*created = true;
	} else if (f && p->ip_proto == 6 &&
		   (p->tcp_flags & (HG_TCP_SYN | HG_TCP_ACK | HG_TCP_RST)) == HG_TCP_SYN &&
		   (f->state == HG_FLOW_S_CLOSED || !(f->flags & HG_FLOW_F_SYN) ||
		    (!hg_ip_cmp(&p->src, &f->cli) && p->sport == f->cport && p->tcp_seq != f->isn[0]))) {
		flow_end(t, f, HG_FLOW_END_REUSED);
		f = NULL;
	}
	if (!f) {
		*created = true;
		f = flow_create(t, p, &k, h);
	}

	enum hg_dir d = (!memcmp(p->src.b, f->cli.b, 16) && p->sport == f->cport)
				? HG_DIR_TO_SERVER : HG_DIR_TO_CLIENT;
	*dir = d;
	struct hg_flow_dirstats *ds = &f->d[d];
	if (!ds->pkts)
		ds->ttl_min = ds->ttl_max = p->ttl;
	else if (p->ttl < ds->ttl_min)
		ds->ttl_min = p->ttl;
	else if (p->ttl > ds->ttl_max)
		ds->ttl_max = p->ttl;
	ds->pkts++;
	ds->bytes += p->wire_len;
	ds->tcp_flags |= p->tcp_flags;
	if (p->ts_us > f->last_us)
		f->last_us = p->ts_us;
	if (p->flags & HG_PKT_F_REASSEMBLED)
		f->flags |= HG_FLOW_F_FRAGMENTS;
	if (p->flags & HG_PKT_F_FRAG_OVERLAP)
		f->flags |= HG_FLOW_F_FRAG_OVERLAP;

	if (f->pclass == HG_FLOW_PC_TCP) {
		tcp_track(f, p, d);
	} else if (f->state == HG_FLOW_S_NEW && f->d[0].pkts && f->d[1].pkts) {
		f->state = HG_FLOW_S_ESTABLISHED;
		f->flags |= HG_FLOW_F_ESTABLISHED;
	}
	uint8_t l = list_of(f);
	if (l != f->list || f->last_us - f->lru_us >= LRU_GRANULE_US) {
		list_unlink(t, f);
		list_append(t, f, l);
	}
	return f;
}
