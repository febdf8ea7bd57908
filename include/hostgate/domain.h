/* domain.h - domain-name validation and the domain matcher.
 *
 * ANFW semantics (reference/anfw.md §1.2): "abc.example.com" matches only
 * itself; ".example.com" matches example.com and every subdomain on a label
 * boundary. Matching is ASCII case-insensitive and ignores one trailing dot.
 * The matcher is built once by the compiler and shared read-only with the
 * runtime; a lookup costs at most one hash probe per label of the queried
 * name, whatever the size of the list. */
#ifndef HOSTGATE_DOMAIN_H
#define HOSTGATE_DOMAIN_H

#include "hostgate/util.h"

/* Checks a domain-list target: labels of 1..63 of [A-Za-z0-9-_] not starting
 * or ending with '-', total <= 253 octets, a leading '.' as the only wildcard.
 * On failure returns false and sets *why to a static message and *bad_col to
 * the 0-based offset of the offending character. */
bool hg_domain_valid(const char *name, size_t len, const char **why, size_t *bad_off);

struct hg_domain_matcher;

/* Builds an empty matcher; add targets in list order; index is returned by
 * lookups (the caller maps it to a sid). Duplicate targets keep the first.
 * Lookups work at any time; they are fastest once the matcher is sealed
 * into its compact lookup form, which happens by itself when `expected`
 * targets have been added (so give the exact count when known), or on
 * hg_domain_matcher_seal(). Adding after sealing is allowed (it rebuilds).
 * Targets are expected to pass hg_domain_valid(); one with an empty label
 * right after its wildcard dot ("..a") never matches. */
struct hg_domain_matcher *hg_domain_matcher_new(size_t expected);
void hg_domain_matcher_add(struct hg_domain_matcher *m, const char *target, size_t len, uint32_t index);
void hg_domain_matcher_seal(struct hg_domain_matcher *m);
void hg_domain_matcher_free(struct hg_domain_matcher *m);
size_t hg_domain_matcher_count(const struct hg_domain_matcher *m);
size_t hg_domain_matcher_bytes(const struct hg_domain_matcher *m);

/* Looks name up. Returns true when some target matches and sets *index to
 * the smallest index among matching targets (the first in list order, so the
 * lowest generated sid, as Suricata would report). */
bool hg_domain_matcher_lookup(const struct hg_domain_matcher *m, const char *name, size_t len,
			      uint32_t *index);

/* The same answers for count names at once (names[i] of lens[i] bytes):
 * found[i], and index[i] when found. Faster per name on a big list, because
 * the cache misses of several lookups overlap; for a caller that holds
 * several names at a time (a batch of held packets). */
void hg_domain_matcher_lookup_batch(const struct hg_domain_matcher *m, size_t count, const char *const *names,
				    const size_t *lens, uint32_t *index, bool *found);

#endif
