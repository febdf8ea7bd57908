/* domain_matcher.c - the domain-list matcher: one open-addressing hash table
 * over the targets, looked up once per label boundary of the queried name, so
 * the cost of a lookup depends on the name, not on the size of the list.
 *
 * Layout (compact, one allocation each): every target's bytes, lower-cased,
 * without the wildcard dot and the trailing dot, sit in one byte arena; the
 * table holds 12-byte slots {offset, index, tag|kind|length}. An exact
 * target "a.example.com" and a dot target ".example.com" are separate slots
 * (flag DM_EXACT / DM_WILD) of the same key "example.com", so the whole
 * queried name needs one probe sequence for both kinds.
 *
 * Hashing is seeded per process (getrandom) so a hostile list or a hostile
 * stream of names cannot aim at one probe chain (STYLE.md 10, Redis dict.c). */
#include "hostgate/domain.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

enum {
	DM_EXACT = 1u << 0, /* "a.example.com": the name itself */
	DM_WILD = 1u << 1,  /* ".example.com": the name and every subdomain */
	DM_MAX_NAME = 253,  /* RFC 1035 §2.3.4, text form without the trailing dot */
};

/* meta = tag << 10 | kind << 8 | length. Keys are 1..253 bytes and kind is
 * never 0, so meta == 0 marks an empty slot. The tag is the top 22 bits of
 * the 64-bit hash (the position comes from the low bits), so a probe
 * rarely reads key bytes it will not match. */
struct dm_slot {
	uint32_t off; /* key bytes in names[] */
	uint32_t index;
	uint32_t meta;
};

static inline uint32_t slot_meta(uint64_t h, unsigned kind, size_t len)
{
	return (uint32_t)(h >> 42) << 10 | kind << 8 | (uint32_t)len;
}

static inline size_t slot_len(const struct dm_slot *s)
{
	return s->meta & 0xff;
}

struct hg_domain_matcher {
	uint64_t seed;
	uint64_t k[2]; /* odd multipliers derived from the seed */
	struct dm_slot *slots;
	size_t mask; /* table size - 1, a power of two minus one */
	size_t count;
	/* A one-word-per-probe Bloom filter (two bits of one 64-bit word per
	 * key) that fits in cache: most suffixes of a queried name are in no
	 * list, and the filter answers those without touching the table. */
	uint64_t *filter;
	size_t fmask; /* words - 1 */
	char *names;
	size_t names_len, names_cap;
};

/* ------------------------------------------------------------------ hash */

typedef unsigned __int128 dm_u128;

/* 64x64->128 multiply folded to 64 bits: a full-avalanche mix of two words
 * that costs one multiplication. */
static inline uint64_t dm_mix(uint64_t a, uint64_t b)
{
	dm_u128 p = (dm_u128)a * b;
	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/* Bytes p[0..n), n < 8, as a little-endian word. p has 8 readable bytes
 * (our buffers are padded), so one load plus a mask does it. */
static inline uint64_t dm_tail(const unsigned char *p, size_t n)
{
	uint64_t w;
	memcpy(&w, p, 8);
	if (n == 0)
		return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return w & (~0ull << (64 - 8 * n));
#else
	return w & (~0ull >> (64 - 8 * n));
#endif
}

/* The hash of a name chains its labels from the right:
 *   H(com) = L(seed, "com"), H(example.com) = L(H(com), "example"), ...
 * so one right-to-left pass over a queried name yields the hash of every
 * suffix that starts on a label boundary, which is what a lookup probes.
 * L() mixes a label's words and its length into the chain; every step is a
 * 64x64->128 multiply with seeded multipliers. */
static inline uint64_t dm_label(const struct hg_domain_matcher *m, uint64_t h, const unsigned char *p,
				size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8); /* host order: the hash never leaves the process */
		h = dm_mix(h ^ w, m->k[0]);
	}
	return dm_mix(h ^ dm_tail(p + i, n - i) ^ (n * 0x9e3779b97f4a7c15ull), m->k[1]);
}

static uint64_t process_seed[2];

static void seed_init(void)
{
	if (process_seed[0] | process_seed[1])
		return;
	uint64_t s[2];
	if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
		/* No entropy source: still vary per run rather than fail. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
		s[1] = (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32);
	}
	process_seed[0] = s[0] | 1;
	process_seed[1] = s[1];
}

/* Hash of a whole key (lower-cased, no leading or trailing dot, padded). */
static uint64_t name_hash(const struct hg_domain_matcher *m, const unsigned char *key, size_t len)
{
	uint64_t h = m->seed;
	size_t end = len;
	for (size_t i = len; i-- > 0;) {
		if (key[i] == '.') {
			h = dm_label(m, h, key + i + 1, end - (i + 1));
			end = i;
		}
	}
	return dm_label(m, h, key, end);
}

/* The filter reads the high half of the hash; the table the low half. */
static inline uint64_t filter_bits(uint64_t h)
{
	return (1ull << (h >> 58)) | (1ull << ((h >> 52) & 63));
}

static inline bool filter_maybe(const struct hg_domain_matcher *m, uint64_t h)
{
	uint64_t b = filter_bits(h);
	return (m->filter[(h >> 32) & m->fmask] & b) == b;
}

static inline void filter_set(struct hg_domain_matcher *m, uint64_t h)
{
	m->filter[(h >> 32) & m->fmask] |= filter_bits(h);
}

/* ----------------------------------------------------------------- table */

/* Big tables are probed at random: back them with transparent huge pages
 * where the kernel allows (madvise mode), which removes most TLB misses
 * from a lookup. Plain calloc'd memory otherwise. */
static void *huge_alloc(size_t bytes, bool zero)
{
	const size_t huge = 2u << 20;
	if (bytes < huge)
		return zero ? xcalloc(1, bytes) : xmalloc(bytes);
	void *p = aligned_alloc(huge, (bytes + huge - 1) & ~(huge - 1));
	if (!p)
		hg_oom();
	madvise(p, bytes, MADV_HUGEPAGE);
	if (zero)
		memset(p, 0, bytes);
	return p;
}

static void *table_alloc(size_t bytes)
{
	return huge_alloc(bytes, true);
}

static size_t table_size_for(size_t n)
{
	/* Load factor at most 1/2: short linear-probe chains for misses. */
	size_t size = 16;
	while (size < n * 2)
		size *= 2;
	return size;
}

struct hg_domain_matcher *hg_domain_matcher_new(size_t expected)
{
	seed_init();
	struct hg_domain_matcher *m = xcalloc(1, sizeof(*m));
	m->seed = process_seed[0];
	m->k[0] = (process_seed[1] ^ 0xd6e8feb86659fd93ull) | 1;
	m->k[1] = (process_seed[1] * 0xa3b195354a39b70dull) | 1;
	size_t size = table_size_for(expected);
	m->slots = table_alloc(size * sizeof(*m->slots));
	m->mask = size - 1;
	m->filter = table_alloc(size / 8 * sizeof(uint64_t)); /* 16..32 bits a key */
	m->fmask = size / 8 - 1;
	/* Reserve 64 bytes a name (typical names are 20-30): only the pages
	 * written cost memory, and a list of long names does not have to be
	 * grown, which would hold the old and the new copy at once. */
	m->names_cap = expected ? expected * 64 : 256;
	m->names = huge_alloc(m->names_cap, false);
	return m;
}

void hg_domain_matcher_free(struct hg_domain_matcher *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->filter);
	free(m->names);
	free(m);
}

size_t hg_domain_matcher_count(const struct hg_domain_matcher *m)
{
	return m ? m->count : 0;
}

size_t hg_domain_matcher_bytes(const struct hg_domain_matcher *m)
{
	if (!m)
		return 0;
	/* The names reservation's untouched tail is address space, not memory. */
	return sizeof(*m) + (m->mask + 1) * sizeof(*m->slots) + (m->fmask + 1) * sizeof(uint64_t) +
	       m->names_len;
}

static void grow(struct hg_domain_matcher *m)
{
	/* Slots keep only the hash's top bits: rehash every key from its
	 * bytes, and rebuild the filter (which grows with the table) too. */
	size_t size = (m->mask + 1) * 2;
	struct dm_slot *slots = table_alloc(size * sizeof(*slots));
	free(m->filter);
	m->filter = table_alloc(size / 8 * sizeof(uint64_t));
	m->fmask = size / 8 - 1;
	unsigned char key[DM_MAX_NAME + 8] = {0};
	for (size_t i = 0; i <= m->mask; i++) {
		const struct dm_slot *s = &m->slots[i];
		if (!s->meta)
			continue;
		memcpy(key, m->names + s->off, slot_len(s));
		uint64_t h = name_hash(m, key, slot_len(s));
		size_t pos = h & (size - 1);
		while (slots[pos].meta)
			pos = (pos + 1) & (size - 1);
		slots[pos] = *s;
		filter_set(m, h);
	}
	free(m->slots);
	m->slots = slots;
	m->mask = size - 1;
}

void hg_domain_matcher_add(struct hg_domain_matcher *m, const char *target, size_t len, uint32_t index)
{
	uint8_t kind = DM_EXACT;
	if (len && target[0] == '.') {
		kind = DM_WILD;
		target++;
		len--;
	}
	if (len && target[len - 1] == '.')
		len--;
	if (len == 0 || len > DM_MAX_NAME)
		return; /* validated targets never get here */

	unsigned char key[DM_MAX_NAME + 8] = {0};
	for (size_t i = 0; i < len; i++)
		key[i] = hg_lower((unsigned char)target[i]);
	uint64_t h = name_hash(m, key, len);
	uint32_t meta = slot_meta(h, kind, len);

	size_t pos = h & m->mask;
	for (;; pos = (pos + 1) & m->mask) {
		struct dm_slot *s = &m->slots[pos];
		if (!s->meta)
			break;
		if (s->meta == meta && memcmp(m->names + s->off, key, len) == 0) {
			/* A duplicate: the first in list order wins. */
			if (index < s->index)
				s->index = index;
			return;
		}
	}
	if (m->names_len + len > m->names_cap) {
		while (m->names_len + len > m->names_cap)
			m->names_cap += m->names_cap / 2; /* 1.5x: less slack at 1M names */
		char *names = huge_alloc(m->names_cap, false);
		memcpy(names, m->names, m->names_len);
		free(m->names);
		m->names = names;
	}
	if (m->names_len + len > UINT32_MAX)
		hg_oom(); /* offsets are 32-bit: 4 GiB of names is far past any list */
	memcpy(m->names + m->names_len, key, len);
	m->slots[pos] = (struct dm_slot){.off = (uint32_t)m->names_len, .index = index, .meta = meta};
	m->names_len += len;
	m->count++;
	filter_set(m, h);
	if (m->count * 2 > m->mask + 1)
		grow(m);
}

/* Smallest index among the slots of key whose flags intersect want. */
static inline bool probe(const struct hg_domain_matcher *m, uint64_t h, const unsigned char *key, size_t len,
			 unsigned want, uint32_t *best)
{
	bool found = false;
	uint32_t meta = slot_meta(h, 0, len); /* tag and length; kind masked below */
	for (size_t pos = h & m->mask;; pos = (pos + 1) & m->mask) {
		const struct dm_slot *s = &m->slots[pos];
		if (!s->meta)
			return found;
		if ((s->meta & ~0x300u) == meta && (s->meta >> 8 & want) &&
		    memcmp(m->names + s->off, key, len) == 0) {
			if (s->index < *best)
				*best = s->index;
			found = true;
		}
	}
}

/* The keys a queried name can match, right to left: every suffix after a
 * dot (wildcard targets only), then the whole name (exact or wildcard
 * targets). All are hashed in one pass; those the filter rules out are
 * dropped and the home slots of the rest prefetched, so their cache misses
 * overlap. buf receives the lower-cased name; returns the number of
 * candidates, of which the first *n_suffix are suffixes. */
struct dm_query {
	unsigned char buf[DM_MAX_NAME + 1 + 8];
	size_t n;
	uint32_t starts[DM_MAX_NAME + 2];
	uint64_t hashes[DM_MAX_NAME + 2];
	size_t k, n_suffix;
};

static inline void dm_candidates(const struct hg_domain_matcher *m, const char *name, size_t len,
				 struct dm_query *q)
{
	if (len && name[len - 1] == '.')
		len--;
	/* Only a suffix of at most 253 bytes can equal a key, and a suffix
	 * starts after a dot: so the last 254 bytes of a longer name are all
	 * that matters (a hostile SNI may be far longer than any real name). */
	bool whole = len <= DM_MAX_NAME;
	size_t skip = whole ? 0 : len - (DM_MAX_NAME + 1);
	size_t n = len - skip;
	unsigned char *buf = q->buf;
	for (size_t i = 0; i < n; i++)
		buf[i] = hg_lower((unsigned char)name[skip + i]);
	q->n = n;

	/* First every hash, prefetching its filter word (the filter is a few
	 * MB at a million names: each word is a likely cache miss, and these
	 * overlap), then the filter tests, prefetching the home slots. */
	size_t k = 0;
	uint64_t h = m->seed;
	size_t end = n;
	for (size_t i = n; i-- > 0;) {
		if (buf[i] != '.')
			continue;
		if (end > i + 1) { /* an empty label starts no key */
			h = dm_label(m, h, buf + i + 1, end - (i + 1));
			q->starts[k] = (uint32_t)(i + 1);
			q->hashes[k++] = h;
			__builtin_prefetch(&m->filter[(h >> 32) & m->fmask]);
		} else {
			h = dm_label(m, h, buf + i + 1, 0);
		}
		end = i;
	}
	size_t n_suffix = k;
	if (whole && end > 0) {
		h = dm_label(m, h, buf, end);
		q->starts[k] = 0;
		q->hashes[k++] = h;
		__builtin_prefetch(&m->filter[(h >> 32) & m->fmask]);
	}
	size_t kept = 0;
	q->n_suffix = 0;
	for (size_t j = 0; j < k; j++) {
		if (!filter_maybe(m, q->hashes[j]))
			continue;
		__builtin_prefetch(&m->slots[q->hashes[j] & m->mask]);
		q->starts[kept] = q->starts[j];
		q->hashes[kept++] = q->hashes[j];
		if (j < n_suffix)
			q->n_suffix = kept;
	}
	k = kept;
	q->k = k;
}

bool hg_domain_matcher_lookup(const struct hg_domain_matcher *m, const char *name, size_t len,
			      uint32_t *index)
{
	if (!m || m->count == 0)
		return false;
	struct dm_query q;
	dm_candidates(m, name, len, &q);
	uint32_t best = UINT32_MAX;
	bool found = false;
	for (size_t j = 0; j < q.k; j++) {
		unsigned want = j >= q.n_suffix ? (DM_EXACT | DM_WILD) : DM_WILD;
		found |= probe(m, q.hashes[j], q.buf + q.starts[j], q.n - q.starts[j], want, &best);
	}
	if (found)
		*index = best;
	return found;
}

/* A batch is worked in groups, stage by stage, so that the cache misses of
 * different names overlap instead of following each other: (1) hash and
 * filter every name of the group and prefetch its home slots; (2) walk the
 * probe chains, keep the slots whose tag and length match and prefetch
 * their key bytes; (3) compare the bytes. A random hit in a big list costs
 * two dependent misses (slot, then key bytes); a group pays them about
 * once. A name with more candidates or matching slots than a group keeps
 * track of (hostile names with many labels) goes the one-at-a-time way. */
enum { DM_GROUP = 8, DM_GROUP_CAND = 6, DM_GROUP_MATCH = 4 };

struct dm_pending {
	const struct dm_slot *slot[DM_GROUP_MATCH];
	uint32_t start[DM_GROUP_MATCH];
	size_t n;
	bool slow;
};

void hg_domain_matcher_lookup_batch(const struct hg_domain_matcher *m, size_t count, const char *const *names,
				    const size_t *lens, uint32_t *index, bool *found)
{
	if (!m || m->count == 0) {
		for (size_t i = 0; i < count; i++)
			found[i] = false;
		return;
	}
	struct dm_query q[DM_GROUP];
	struct dm_pending p[DM_GROUP];
	for (size_t base = 0; base < count; base += DM_GROUP) {
		size_t g = HG_MIN((size_t)DM_GROUP, count - base);
		for (size_t i = 0; i < g; i++)
			dm_candidates(m, names[base + i], lens[base + i], &q[i]);
		for (size_t i = 0; i < g; i++) {
			p[i].n = 0;
			p[i].slow = q[i].k > DM_GROUP_CAND;
			for (size_t j = 0; !p[i].slow && j < q[i].k; j++) {
				unsigned want = j >= q[i].n_suffix ? (DM_EXACT | DM_WILD) : DM_WILD;
				size_t klen = q[i].n - q[i].starts[j];
				uint32_t meta = slot_meta(q[i].hashes[j], 0, klen);
				for (size_t pos = q[i].hashes[j] & m->mask;; pos = (pos + 1) & m->mask) {
					const struct dm_slot *s = &m->slots[pos];
					if (!s->meta)
						break;
					if ((s->meta & ~0x300u) != meta || !(s->meta >> 8 & want))
						continue;
					if (p[i].n == DM_GROUP_MATCH) {
						p[i].slow = true;
						break;
					}
					__builtin_prefetch(m->names + s->off);
					p[i].slot[p[i].n] = s;
					p[i].start[p[i].n++] = q[i].starts[j];
				}
			}
		}
		for (size_t i = 0; i < g; i++) {
			uint32_t best = UINT32_MAX;
			bool hit = false;
			if (p[i].slow) {
				hit = hg_domain_matcher_lookup(m, names[base + i], lens[base + i], &best);
			} else {
				for (size_t j = 0; j < p[i].n; j++) {
					const struct dm_slot *s = p[i].slot[j];
					if (memcmp(m->names + s->off, q[i].buf + p[i].start[j], slot_len(s)) == 0) {
						hit = true;
						if (s->index < best)
							best = s->index;
					}
				}
			}
			found[base + i] = hit;
			if (hit)
				index[base + i] = best;
		}
	}
}
