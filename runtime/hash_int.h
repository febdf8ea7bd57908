/* hash_int.h - private to the packet front (defrag.c, flow.c): a seeded
 * multiply-fold hash over 64-bit words, and the seed source. Keys are
 * attacker-chosen, so the seed comes from getrandom() at table creation
 * (STYLE.md 10); the hash is not cryptographic, only unpredictable. */
#ifndef HOSTGATE_HASH_INT_H
#define HOSTGATE_HASH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct hg_hash_seed {
	uint64_t k[4];
};

static inline uint64_t hg_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* nw 64-bit words of a key whose padding the caller zeroed. */
static inline uint64_t hg_hash_words(const struct hg_hash_seed *s, const uint64_t *w, size_t nw)
{
	uint64_t h = s->k[0];
	size_t i = 0;
	for (; i + 2 <= nw; i += 2)
		h = hg_mum(w[i] ^ s->k[1] ^ h, w[i + 1] ^ s->k[2]);
	if (i < nw)
		h = hg_mum(w[i] ^ s->k[1] ^ h, s->k[3]);
	return hg_mum(h ^ s->k[3], s->k[0] ^ (uint64_t)nw);
}

/* Called once per table: getrandom, or (no entropy syscall) the clock and
 * an address, which still differs per run. Never zero words. */
static inline void hg_hash_seed_init(struct hg_hash_seed *s)
{
	if (getrandom(s->k, sizeof(s->k), GRND_NONBLOCK) != (ssize_t)sizeof(s->k)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)s;
		for (int i = 0; i < 4; i++) {
			x = hg_mum(x ^ 0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull + (uint64_t)i);
			s->k[i] = x;
		}
	}
	for (int i = 0; i < 4; i++)
		s->k[i] |= 1;
}

#endif
