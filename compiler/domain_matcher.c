/* domain_matcher.c - the domain-list matcher: a hash of every target, looked
 * up once per label boundary of the queried name that could start a target,
 * so the cost of a lookup depends on the name, not on the size of the list.
 *
 * Two forms. While targets are added they go into a build table (open
 * addressing over 12-byte slots, key bytes in an arena), which removes
 * duplicates and answers lookups. Sealing (explicit, or automatic when as
 * many targets as announced have been added) turns it into the lookup form:
 *  - a blocked Bloom filter of 8 bits a key, four bits of one 64-bit word
 *    (1 MB at a million names: it stays in a core's L2), so most suffixes
 *    of a queried name, which are in no list, cost one L2 read (~3% pass
 *    falsely);
 *  - a directory of one 32-bit offset a home (a home a key: 4 MB at a
 *    million names, cache-near like the filter), and the entries
 *    {length, kind, index, key bytes} of all keys back to back in home
 *    order, with no slack: a key's hash names its home, the directory says
 *    where the home's run of entries starts and ends, and a hit reads the
 *    one or two lines of that run, its only DRAM access. (Runs laid in
 *    64-byte lines, each headed by where its home's run starts, cost 58 MB
 *    where this costs 35, and a third of the runs had drifted past the
 *    two lines a lookup fetches: a second, dependent DRAM miss.)
 * An exact target "a.example.com" and a dot target ".example.com" are
 * entries (kind DM_EXACT / DM_WILD) of the same key "example.com".
 *
 * Hashing is seeded per process (getrandom) so a hostile list or a hostile
 * stream of names cannot aim at one home (STYLE.md 10, Redis dict.c). */
#include "hostgate/domain.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
	DM_EXACT = 1u << 0, /* "a.example.com": the name itself */
	DM_WILD = 1u << 1,  /* ".example.com": the name and every subdomain */
	DM_MAX_NAME = 253,  /* RFC 1035 §2.3.4, text form without the trailing dot */
	/* A queried name is read in a window of its last 254 bytes (a key
	 * starts after a dot and is <= 253 bytes); buffers get 32 bytes of
	 * slack for word-wide reads past the end. */
	DM_WINDOW = DM_MAX_NAME + 1,
	DM_BUF = 256 + 32,
	/* Label counts: a 253-byte key has at most 254 labels, a 254-byte
	 * window 255 (all but 127 of them empty, which no valid name has). */
	DM_MAX_LABELS = 256,
	DM_ENTRY_HDR = 6, /* entry: length, kind, index (4, little-endian), then the key */
	DM_PAD = 32,      /* slack after the entries and the arenas */
	DM_LINE = 64,
};

/* ---------------------------------------------------------- build table */

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
	uint64_t k[4]; /* hash keys derived from the seed */
	size_t count;
	/* Label counts present among the keys, bit n for n labels: a suffix
	 * of the queried name is only hashed and probed when some key has
	 * its number of labels (wild[] for suffixes, any[] for the whole
	 * name), and no label left of the longest key is hashed at all. */
	uint64_t wild[DM_MAX_LABELS / 64], any[DM_MAX_LABELS / 64];
	unsigned max_labels;
	size_t adds, seal_at; /* auto-seal when adds reaches seal_at */

	/* Build form (NULL when sealed). */
	struct dm_slot *slots;
	size_t mask; /* table size - 1, a power of two minus one */
	unsigned char *names;
	size_t names_len, names_cap;

	/* Lookup form (NULL until sealed). */
	uint64_t *filter;
	unsigned fshift;   /* filter word = (h * DM_FMUL) >> fshift */
	uint32_t *dir;     /* n_homes + 1 offsets: home b's entries are [dir[b], dir[b + 1]) */
	size_t n_homes;
	unsigned char *entries; /* every key's entry, in home order, back to back */
	size_t entries_len;
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

/* 8 bytes as a little-endian word (so that the masks below keep a
 * label's first bytes on any host). */
static inline uint64_t dm_load64(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The hash of a key, and of each suffix of a queried name that could be
 * one: its bytes, zero-padded to a multiple of 32, folded 32 bytes a step
 * by two independent 64x64->128 multiplies of the words against seeded
 * keys (as wyhash does), with the length. A suffix is hashed on its own,
 * from where it starts to the end of the name (the zeros of the buffer
 * follow it), so a lookup hashes only the suffixes whose label count some
 * key has, with no per-label masking, and the hashes of one name do not
 * wait on each other. Names up to 32 bytes (nearly all) are one step. p
 * must be zero from len to the next multiple of 32. */
static inline uint64_t dm_hash(const struct hg_domain_matcher *m, const unsigned char *p, size_t len)
{
	uint64_t h = m->seed ^ (len * 0x9e3779b97f4a7c15ull);
	size_t i = 0;
	do {
		h = dm_mix(dm_load64(p + i) ^ m->k[0] ^ h, dm_load64(p + i + 8) ^ m->k[1]) ^
		    dm_mix(dm_load64(p + i + 16) ^ m->k[2], dm_load64(p + i + 24) ^ m->k[3]);
		i += 32;
	} while (i < len);
	return h;
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

/* Hash of a key kept unpadded (in names[]): through a padded copy. */
static uint64_t stored_hash(const struct hg_domain_matcher *m, const unsigned char *key, size_t len)
{
	unsigned char buf[DM_BUF];
	memcpy(buf, key, len);
	memset(buf + len, 0, 32);
	return dm_hash(m, buf, len);
}

/* The filter word comes from the high bits of a second product, its four
 * bits from h's bits 0..23; the home from h's bits 32..63. */
#define DM_FMUL 0x9e3779b97f4a7c15ull

static inline const uint64_t *filter_word(const struct hg_domain_matcher *m, uint64_t h)
{
	return &m->filter[(h * DM_FMUL) >> m->fshift];
}

static inline uint64_t filter_bits(uint64_t h)
{
	return 1ull << (h & 63) | 1ull << (h >> 6 & 63) | 1ull << (h >> 12 & 63) | 1ull << (h >> 18 & 63);
}

static inline size_t home_of(const struct hg_domain_matcher *m, uint64_t h)
{
	return (size_t)((h >> 32) * m->n_homes >> 32);
}

static inline bool mask_has(const uint64_t mask[DM_MAX_LABELS / 64], unsigned n)
{
	return n < DM_MAX_LABELS && (mask[n >> 6] >> (n & 63) & 1);
}

/* ----------------------------------------------------------------- memory */

/* Big tables are probed at random: back them with transparent huge pages
 * where the kernel allows (madvise mode), which removes most TLB misses
 * from a lookup. Plain malloc'd memory otherwise. */
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

static size_t table_size_for(size_t n)
{
	/* Load factor at most 1/2: short linear-probe chains. */
	size_t size = 16;
	while (size < n * 2)
		size *= 2;
	return size;
}

static void table_init(struct hg_domain_matcher *m, size_t expected)
{
	size_t size = table_size_for(expected);
	m->slots = huge_alloc(size * sizeof(*m->slots), true);
	m->mask = size - 1;
	/* Reserve 64 bytes a name (typical names are 20-30): only the pages
	 * written cost memory, and a list of long names does not have to be
	 * grown, which would hold the old and the new copy at once. */
	m->names_cap = (expected ? expected * 64 : 256) + DM_PAD;
	m->names = huge_alloc(m->names_cap, false);
	m->names_len = 0;
}

struct hg_domain_matcher *hg_domain_matcher_new(size_t expected)
{
	seed_init();
	struct hg_domain_matcher *m = xcalloc(1, sizeof(*m));
	m->seed = process_seed[0];
	m->k[0] = (process_seed[1] ^ 0xd6e8feb86659fd93ull) | 1;
	m->k[1] = (process_seed[1] * 0xa3b195354a39b70dull) | 1;
	m->k[2] = (process_seed[0] * 0x9fb21c651e98df25ull) ^ process_seed[1];
	m->k[3] = (process_seed[1] * 0xe7037ed1a0b428dbull) ^ process_seed[0];
	m->seal_at = expected ? expected : 1024;
	table_init(m, expected);
	return m;
}

void hg_domain_matcher_free(struct hg_domain_matcher *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->names);
	free(m->filter);
	free(m->dir);
	free(m->entries);
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
	if (m->entries)
		return sizeof(*m) + ((size_t)1 << (64 - m->fshift)) * 8 + (m->n_homes + 1) * sizeof(*m->dir) +
		       m->entries_len + DM_PAD;
	/* The names reservation's untouched tail is address space, not memory. */
	return sizeof(*m) + (m->mask + 1) * sizeof(*m->slots) + m->names_len;
}

/* ------------------------------------------------------------------ build */

static void table_grow(struct hg_domain_matcher *m)
{
	/* Slots keep only the hash's top bits: rehash every key. */
	size_t size = (m->mask + 1) * 2;
	struct dm_slot *slots = huge_alloc(size * sizeof(*slots), true);
	for (size_t i = 0; i <= m->mask; i++) {
		const struct dm_slot *s = &m->slots[i];
		if (!s->meta)
			continue;
		uint64_t h = stored_hash(m, m->names + s->off, slot_len(s));
		size_t pos = h & (size - 1);
		while (slots[pos].meta)
			pos = (pos + 1) & (size - 1);
		slots[pos] = *s;
	}
	free(m->slots);
	m->slots = slots;
	m->mask = size - 1;
}

/* Puts key (lower-cased, padded) of kind into the build table, or lowers
 * the index of the same key and kind already there. */
static void table_put(struct hg_domain_matcher *m, const unsigned char *key, size_t len, unsigned kind,
		      uint32_t index)
{
	uint64_t h = dm_hash(m, key, len);
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
	if (m->names_len + len + DM_PAD > m->names_cap) {
		while (m->names_len + len + DM_PAD > m->names_cap)
			m->names_cap += m->names_cap / 2; /* 1.5x: less slack at 1M names */
		unsigned char *names = huge_alloc(m->names_cap, false);
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
	if (m->count * 2 > m->mask + 1)
		table_grow(m);
}

static inline uint32_t entry_index(const unsigned char *e)
{
	return (uint32_t)e[2] | (uint32_t)e[3] << 8 | (uint32_t)e[4] << 16 | (uint32_t)e[5] << 24;
}

static inline size_t entry_size(size_t len)
{
	return DM_ENTRY_HDR + len;
}

/* Back from the lookup form to the build table, to add more targets. */
static void unseal(struct hg_domain_matcher *m)
{
	size_t n = m->count;
	m->count = 0;
	table_init(m, n);
	unsigned char key[DM_BUF];
	for (size_t o = 0; o < m->entries_len; o += entry_size(m->entries[o])) {
		const unsigned char *e = m->entries + o;
		memcpy(key, e + DM_ENTRY_HDR, e[0]);
		memset(key + e[0], 0, 32);
		table_put(m, key, e[0], e[1], entry_index(e));
	}
	free(m->filter);
	free(m->dir);
	free(m->entries);
	m->filter = NULL;
	m->dir = NULL;
	m->entries = NULL;
	m->n_homes = n + 1;
}

void hg_domain_matcher_seal(struct hg_domain_matcher *m)
{
	if (!m || m->entries)
		return;
	size_t n = m->count;
	/* The filter: 8 bits a key, a power of two of 64-bit words. */
	unsigned fbits = 1;
	while (((size_t)8 << fbits) < n)
		fbits++;
	m->fshift = 64 - fbits;
	m->filter = huge_alloc(((size_t)1 << fbits) * sizeof(uint64_t), true);
	/* A home a key: runs of about one entry (30 bytes for a typical
	 * name), in one line or two. */
	m->n_homes = n + 1;
	/* Every key's hash and home; the homes' entry bytes counted into
	 * dir[] (a counting sort: dir[b + 1] gets home b's bytes). */
	uint64_t *hashes = xmalloc((m->mask + 1) * sizeof(*hashes));
	m->dir = xcalloc(m->n_homes + 1, sizeof(*m->dir));
	size_t bytes = 0;
	for (size_t i = 0; i <= m->mask; i++) {
		const struct dm_slot *s = &m->slots[i];
		if (!s->meta)
			continue;
		uint64_t h = stored_hash(m, m->names + s->off, slot_len(s));
		hashes[i] = h;
		m->filter[(h * DM_FMUL) >> m->fshift] |= filter_bits(h);
		m->dir[home_of(m, h) + 1] += (uint32_t)entry_size(slot_len(s));
		bytes += entry_size(slot_len(s));
	}
	if (bytes > UINT32_MAX)
		hg_oom(); /* offsets are 32-bit: 4 GiB of entries is far past any list */
	for (size_t b = 0; b < m->n_homes; b++)
		m->dir[b + 1] += m->dir[b];
	/* The entries, each at its home's next free place (the homes' write
	 * positions start as dir[b], kept in a copy). */
	uint32_t *at = xmalloc(m->n_homes * sizeof(*at));
	memcpy(at, m->dir, m->n_homes * sizeof(*at));
	m->entries = huge_alloc(bytes + DM_PAD, false);
	memset(m->entries + bytes, 0, DM_PAD);
	m->entries_len = bytes;
	for (size_t i = 0; i <= m->mask; i++) {
		const struct dm_slot *s = &m->slots[i];
		if (!s->meta)
			continue;
		size_t len = slot_len(s);
		unsigned char *e = m->entries + at[home_of(m, hashes[i])];
		at[home_of(m, hashes[i])] += (uint32_t)entry_size(len);
		e[0] = (unsigned char)len;
		e[1] = (unsigned char)(s->meta >> 8 & 3);
		for (int k = 0; k < 4; k++)
			e[2 + k] = (unsigned char)(s->index >> (8 * k));
		memcpy(e + DM_ENTRY_HDR, m->names + s->off, len);
	}
	free(at);
	free(hashes);
	free(m->slots);
	free(m->names);
	m->slots = NULL;
	m->names = NULL;
	m->names_len = m->names_cap = 0;
	m->mask = 0;
}

static void count_add(struct hg_domain_matcher *m)
{
	if (++m->adds >= m->seal_at) {
		/* All announced targets are in (or, without an announced
		 * count, the list doubled): the lookup form now. */
		hg_domain_matcher_seal(m);
		m->seal_at = m->adds * 2;
	}
}

void hg_domain_matcher_add(struct hg_domain_matcher *m, const char *target, size_t len, uint32_t index)
{
	unsigned kind = DM_EXACT;
	if (len && target[0] == '.') {
		kind = DM_WILD;
		target++;
		len--;
	}
	if (len && target[len - 1] == '.')
		len--;
	if (len == 0 || len > DM_MAX_NAME) {
		/* Validated targets never get here; still one of the
		 * announced count, which must not keep the matcher unsealed. */
		count_add(m);
		return;
	}
	if (m->entries)
		unseal(m);

	unsigned char key[DM_BUF] = {0};
	for (size_t i = 0; i < len; i++)
		key[i] = hg_lower((unsigned char)target[i]);
	unsigned labels = 1;
	for (size_t i = 0; i < len; i++)
		labels += key[i] == '.';
	m->any[labels >> 6] |= 1ull << (labels & 63);
	if (kind == DM_WILD)
		m->wild[labels >> 6] |= 1ull << (labels & 63);
	if (labels > m->max_labels)
		m->max_labels = labels;
	table_put(m, key, len, kind, index);
	count_add(m);
}

/* ----------------------------------------------------------------- lookup */

#ifdef __SSE2__
/* Unaligned 16-byte loads and stores (memcpy: no alignment claimed). */
static inline __m128i dm_ld128(const unsigned char *p)
{
	__m128i v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void dm_st128(unsigned char *p, __m128i v)
{
	memcpy(p, &v, sizeof(v));
}

/* 16 bytes of a name at offset at: lower-cased into out, dots into dots[].
 * 'A'..'Z' are the bytes that, moved so that 'A' is -128, compare below
 * -128 + 26 as signed bytes. */
static inline void dm_chunk(const unsigned char *in, unsigned char *out, size_t at, uint64_t dots[4])
{
	__m128i v = dm_ld128(in);
	__m128i up = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - 'A'))),
				    _mm_set1_epi8((char)(-128 + 26)));
	dm_st128(out, _mm_or_si128(v, _mm_and_si128(up, _mm_set1_epi8(0x20))));
	uint64_t d = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
	dots[at >> 6] |= d << (at & 63);
	if ((at & 63) > 48 && (at >> 6) < 3)
		dots[(at >> 6) + 1] |= d >> (64 - (at & 63));
}
#endif

/* A prepared name: lower-cased bytes, zero-padded, and where its dots are. */
struct dm_query {
	unsigned char buf[DM_BUF];
	uint64_t dots[4];
	size_t n;
	bool whole;
};

/* Prepares name into q: the window of it that can hold a key (its last
 * 254 bytes), lower-cased into q->buf with 32 zero bytes after it, and the
 * bits of its dots. q->whole says whether the window is the whole name
 * (else it starts mid-label and only suffixes after a dot count). One
 * trailing dot is dropped. */
static inline void dm_prep(const char *name, size_t len, struct dm_query *q)
{
	unsigned char *buf = q->buf;
	uint64_t *dots = q->dots;
	bool *whole = &q->whole;
	if (len && name[len - 1] == '.')
		len--;
	*whole = len <= DM_MAX_NAME;
	size_t skip = *whole ? 0 : len - DM_WINDOW;
	const unsigned char *p = (const unsigned char *)name + skip;
	size_t n = len - skip;
	dots[0] = dots[1] = dots[2] = dots[3] = 0;
#ifdef __SSE2__
	if (n < 16) {
		unsigned char tmp[16] = {0};
		memcpy(tmp, p, n);
		dm_chunk(tmp, buf, 0, dots);
		dots[0] &= (1ull << n) - 1; /* the zero padding holds no dots */
	} else {
		size_t off = 0;
		for (; off + 16 <= n; off += 16)
			dm_chunk(p + off, buf + off, off, dots);
		if (off < n) /* the tail as one chunk overlapping the last */
			dm_chunk(p + n - 16, buf + n - 16, n - 16, dots);
	}
	dm_st128(buf + n, _mm_setzero_si128());
	dm_st128(buf + n + 16, _mm_setzero_si128());
#else
	for (size_t i = 0; i < n; i++) {
		buf[i] = hg_lower(p[i]);
		if (p[i] == '.')
			dots[i >> 6] |= 1ull << (i & 63);
	}
	memset(buf + n, 0, 32);
#endif
	q->n = n;
}

/* The suffixes of the prepared name that some key could equal, right to
 * left: each starts after a dot (wildcard targets only) or at the start
 * of the whole name (either kind), its first label is not empty, and its
 * label count is one some key has. Their starts go to start[]; returns how
 * many there are, more than cap when some did not fit. */
static inline size_t dm_suffixes(const struct hg_domain_matcher *m, const struct dm_query *q, uint16_t *start,
				 size_t cap)
{
	size_t k = 0, end = q->n, w = 3;
	while (w && !q->dots[w])
		w--;
	uint64_t bits = q->dots[w];
	unsigned labels = 1;
	for (;; labels++) {
		while (!bits && w)
			bits = q->dots[--w];
		if (!bits)
			break;
		unsigned top = 63 - (unsigned)__builtin_clzll(bits);
		bits ^= 1ull << top;
		size_t s = w * 64 + top + 1; /* the suffix after this dot */
		if (end > s && mask_has(m->wild, labels)) {
			if (k < cap)
				start[k] = (uint16_t)s;
			k++;
		}
		if (labels >= m->max_labels)
			return k; /* longer suffixes, the whole name too, have too many labels */
		end = s - 1;
	}
	if (q->whole && end > 0 && mask_has(m->any, labels)) {
		if (k < cap)
			start[k] = 0;
		k++;
	}
	return k;
}

/* The kinds of target the suffix at start may equal. */
static inline unsigned dm_want(size_t start)
{
	return start ? DM_WILD : DM_EXACT | DM_WILD;
}

/* Byte equality of a[0..n) and b[0..n); both have 16 readable bytes past n. */
static inline bool dm_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
#ifdef __SSE2__
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_cmpeq_epi8(dm_ld128(a + i), dm_ld128(b + i));
		if (_mm_movemask_epi8(x) != 0xffff)
			return false;
	}
	if (i == n)
		return true;
	__m128i x = _mm_cmpeq_epi8(dm_ld128(a + i), dm_ld128(b + i));
	uint32_t diff = ~(uint32_t)_mm_movemask_epi8(x) & ((1u << (n - i)) - 1);
	return diff == 0;
#else
	return memcmp(a, b, n) == 0;
#endif
}

static inline bool dm_filter_maybe(const struct hg_domain_matcher *m, uint64_t h)
{
	uint64_t b = filter_bits(h);
	return (*filter_word(m, h) & b) == b;
}

/* The smallest index among the entries in [p, end) equal to key and of a
 * wanted kind, lowering *best; true when there was one. */
static inline bool dm_scan(const unsigned char *p, const unsigned char *end, const unsigned char *key, size_t len,
			   unsigned want, uint32_t *best)
{
	bool found = false;
	for (; p < end; p += entry_size(p[0])) {
		if (p[0] == len && (p[1] & want) && dm_eq(p + DM_ENTRY_HDR, key, len)) {
			uint32_t idx = entry_index(p);
			if (idx < *best)
				*best = idx;
			found = true;
		}
	}
	return found;
}

/* Build-table probe: the smallest index among the slots of key whose kind
 * intersects want. */
static bool table_probe(const struct hg_domain_matcher *m, uint64_t h, const unsigned char *key, size_t len,
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

/* A probed suffix: where it starts in the query, and its home's entries. */
struct dm_run {
	uint32_t begin, end;
	uint16_t start;
};

/* Whether the suffix of hash h can be a key: the filter's answer, and
 * then its home's entries (in *r), whose first lines are requested. */
static inline bool dm_probe(const struct hg_domain_matcher *m, uint64_t h, struct dm_run *r)
{
	if (!dm_filter_maybe(m, h))
		return false;
	const uint32_t *d = &m->dir[home_of(m, h)];
	r->begin = d[0];
	r->end = d[1];
	/* A run is 30-60 bytes: its first line and the next. */
	__builtin_prefetch(m->entries + r->begin);
	__builtin_prefetch(m->entries + r->begin + DM_LINE);
	return r->begin < r->end;
}

/* Scans the runs of the probed suffixes of q. */
static inline bool dm_finish(const struct hg_domain_matcher *m, const struct dm_query *q, const struct dm_run *r,
			     size_t k, uint32_t *best)
{
	bool found = false;
	for (size_t j = 0; j < k; j++)
		found |= dm_scan(m->entries + r[j].begin, m->entries + r[j].end, q->buf + r[j].start,
				 q->n - r[j].start, dm_want(r[j].start), best);
	return found;
}

bool hg_domain_matcher_lookup(const struct hg_domain_matcher *m, const char *name, size_t len,
			      uint32_t *index)
{
	if (!m || m->count == 0)
		return false;
	struct dm_query q;
	uint16_t start[DM_MAX_LABELS];
	struct dm_run r[DM_MAX_LABELS];
	dm_prep(name, len, &q);
	size_t k = dm_suffixes(m, &q, start, HG_ARRAY_LEN(start));
	uint32_t best = UINT32_MAX;
	bool found = false;
	if (!m->entries) {
		for (size_t j = 0; j < k; j++) {
			const unsigned char *key = q.buf + start[j];
			size_t n = q.n - start[j];
			found |= table_probe(m, dm_hash(m, key, n), key, n, dm_want(start[j]), &best);
		}
	} else {
		/* Every candidate's filter word, home and run first, then the
		 * scans: the reads of one name overlap. */
		size_t kept = 0;
		for (size_t j = 0; j < k; j++) {
			r[kept].start = start[j];
			kept += dm_probe(m, dm_hash(m, q.buf + start[j], q.n - start[j]), &r[kept]);
		}
		found = dm_finish(m, &q, r, kept, &best);
	}
	if (found)
		*index = best;
	return found;
}

/* A batch is worked in groups of up to DM_GROUP names, two groups in
 * flight: the next group is prepared and hashed, its filter words and
 * directory entries requested, then filtered and its runs requested, while
 * the runs the current group asked for arrive; then the current group's
 * runs are scanned. So a random hit's DRAM read (~200 ns
 * on this loaded VM) is hidden behind a group's work instead of stalling
 * the core. A name with more candidates than a group slot holds (hostile
 * names with many labels, against a list with keys of many label counts)
 * is looked up on its own. */
enum { DM_GROUP = 16, DM_GROUP_CAND = 6 };

struct dm_stage {
	struct dm_query q;
	uint16_t start[DM_GROUP_CAND];
	uint64_t h[DM_GROUP_CAND];
	struct dm_run r[DM_GROUP_CAND];
	size_t k; /* > DM_GROUP_CAND: look the name up on its own */
};

static void batch_front(const struct hg_domain_matcher *m, struct dm_stage *st, size_t g, const char *const *names,
			const size_t *lens)
{
	/* Hashes first, their filter words requested; the filter after. */
	for (size_t i = 0; i < g; i++) {
		struct dm_stage *s = &st[i];
		dm_prep(names[i], lens[i], &s->q);
		s->k = dm_suffixes(m, &s->q, s->start, DM_GROUP_CAND);
		for (size_t j = 0; j < s->k && j < DM_GROUP_CAND; j++) {
			s->h[j] = dm_hash(m, s->q.buf + s->start[j], s->q.n - s->start[j]);
			__builtin_prefetch(filter_word(m, s->h[j]));
			__builtin_prefetch(&m->dir[home_of(m, s->h[j])]);
		}
	}
	for (size_t i = 0; i < g; i++) {
		struct dm_stage *s = &st[i];
		if (s->k > DM_GROUP_CAND)
			continue;
		size_t kept = 0;
		for (size_t j = 0; j < s->k; j++) {
			s->r[kept].start = s->start[j];
			kept += dm_probe(m, s->h[j], &s->r[kept]);
		}
		s->k = kept;
	}
}

static void batch_back(const struct hg_domain_matcher *m, struct dm_stage *st, size_t g, const char *const *names,
		       const size_t *lens, uint32_t *index, bool *found)
{
	for (size_t i = 0; i < g; i++) {
		struct dm_stage *s = &st[i];
		uint32_t best = UINT32_MAX;
		bool hit = s->k > DM_GROUP_CAND ? hg_domain_matcher_lookup(m, names[i], lens[i], &best)
						: dm_finish(m, &s->q, s->r, s->k, &best);
		found[i] = hit;
		if (hit)
			index[i] = best;
	}
}

void hg_domain_matcher_lookup_batch(const struct hg_domain_matcher *m, size_t count, const char *const *names,
				    const size_t *lens, uint32_t *index, bool *found)
{
	if (!m || m->count == 0 || !m->entries) {
		for (size_t i = 0; i < count; i++)
			found[i] = hg_domain_matcher_lookup(m, names[i], lens[i], &index[i]);
		return;
	}
	struct dm_stage st[2][DM_GROUP];
	size_t g = HG_MIN((size_t)DM_GROUP, count);
	batch_front(m, st[0], g, names, lens);
	for (size_t base = 0, cur = 0; base < count; base += DM_GROUP, cur ^= 1) {
		size_t next = base + DM_GROUP;
		size_t ng = next < count ? HG_MIN((size_t)DM_GROUP, count - next) : 0;
		if (ng)
			batch_front(m, st[cur ^ 1], ng, names + next, lens + next);
		batch_back(m, st[cur], HG_MIN((size_t)DM_GROUP, count - base), names + base, lens + base, index + base,
			   found + base);
	}
}
