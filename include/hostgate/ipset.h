/* ipset.h - resolved address and port sets: sorted, disjoint, closed ranges.
 *
 * Addresses live in one 128-bit space: IPv4 a.b.c.d is ::ffff:a.b.c.d, so a
 * set and its complement cover both families at once (EXTERNAL_NET, being
 * !HOME_NET, holds all of IPv6 when HOME_NET is IPv4 only). The nft emitter
 * splits a set into its IPv4 and IPv6 parts; the engine binary-searches it. */
#ifndef HOSTGATE_IPSET_H
#define HOSTGATE_IPSET_H

#include "hostgate/util.h"

struct hg_ip {
	uint8_t b[16]; /* network byte order */
};

struct hg_iprange {
	struct hg_ip lo, hi; /* inclusive */
};

struct hg_ipset {
	struct hg_iprange *r; /* malloc'd, sorted by lo, disjoint, not adjacent */
	size_t n;
};

struct hg_portrange {
	uint16_t lo, hi; /* inclusive */
};

struct hg_portset {
	struct hg_portrange *r;
	size_t n;
};

/* Parses "10.0.0.0/8", "10.1.2.3", "2001:db8::/32", "::1". Host bits set
 * below the prefix are accepted and masked off (as Suricata and nft do).
 * Returns false on a malformed address or prefix. */
bool hg_ip_parse_cidr(const char *s, struct hg_ip *lo, struct hg_ip *hi);
static inline bool hg_ip_is_v4(const struct hg_ip *ip)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	for (int i = 0; i < 12; i++)
		if (ip->b[i] != pfx[i])
			return false;
	return true;
}
void hg_ip_from_v4(struct hg_ip *ip, const uint8_t v4[4]);
int hg_ip_cmp(const struct hg_ip *a, const struct hg_ip *b);
/* Formats as dotted quad for mapped IPv4, RFC 5952 text otherwise. */
void hg_ip_format(const struct hg_ip *ip, char *buf, size_t len);

void hg_ipset_free(struct hg_ipset *s);
void hg_ipset_copy(struct hg_ipset *dst, const struct hg_ipset *src);
void hg_ipset_add(struct hg_ipset *s, const struct hg_ip *lo, const struct hg_ip *hi);
/* Sorts and merges ranges appended in any order (r[0..n) as filled by the
 * caller with malloc'd storage): bulk building in O(n log n). */
void hg_ipset_normalize(struct hg_ipset *s);
void hg_ipset_all(struct hg_ipset *s);                  /* any */
void hg_ipset_union(struct hg_ipset *dst, const struct hg_ipset *src);
void hg_ipset_subtract(struct hg_ipset *dst, const struct hg_ipset *src);
void hg_ipset_complement(struct hg_ipset *s);
bool hg_ipset_contains(const struct hg_ipset *s, const struct hg_ip *ip); /* O(log n) */
bool hg_ipset_is_all(const struct hg_ipset *s);
bool hg_ipset_equal(const struct hg_ipset *a, const struct hg_ipset *b);
bool hg_ipset_intersects(const struct hg_ipset *a, const struct hg_ipset *b);

void hg_portset_free(struct hg_portset *s);
void hg_portset_copy(struct hg_portset *dst, const struct hg_portset *src);
void hg_portset_add(struct hg_portset *s, uint16_t lo, uint16_t hi);
void hg_portset_all(struct hg_portset *s);
void hg_portset_union(struct hg_portset *dst, const struct hg_portset *src);
void hg_portset_subtract(struct hg_portset *dst, const struct hg_portset *src);
void hg_portset_complement(struct hg_portset *s);
bool hg_portset_contains(const struct hg_portset *s, uint16_t port);
bool hg_portset_is_all(const struct hg_portset *s);
bool hg_portset_equal(const struct hg_portset *a, const struct hg_portset *b);

#endif
