/* geoip.h - a MaxMind country database read once into address ranges, for
 * the geoip keyword: finalize turns a rule's countries into an interval
 * set (the nft table holds it, the engine binary-searches it), so the
 * kernel and replay decide from the same networks. */
#ifndef HOSTGATE_GEOIP_H
#define HOSTGATE_GEOIP_H

#include "hostgate/ipset.h"

struct hg_geoip_db;

/* Opens path (MaxMind DB format) and walks its whole search tree once.
 * NULL on failure with a reason in err. */
struct hg_geoip_db *hg_geoip_db_open(const char *path, char *err, size_t errlen);
void hg_geoip_db_close(struct hg_geoip_db *db);

/* The networks whose country.iso_code is one of codes; negated: those that
 * have a country that is none of them (an address without a country never
 * matches, as in Suricata's geoip). IPv4 and IPv6 alike (ANFW extends
 * Suricata's IPv4-only geoip to IPv6). Replaces *out. */
void hg_geoip_db_set(const struct hg_geoip_db *db, const char (*codes)[3], size_t n, bool negated,
		     struct hg_ipset *out);
/* Whether any network of the database has this country. */
bool hg_geoip_db_has(const struct hg_geoip_db *db, const char code[3]);
/* The country of one address straight from libmaxminddb's lookup (not the
 * walked ranges): false when it has none. For tests and diagnostics. */
bool hg_geoip_db_lookup(const struct hg_geoip_db *db, const struct hg_ip *ip, char code[3]);
/* Networks read (after merging nothing: one per tree leaf with a country). */
size_t hg_geoip_db_networks(const struct hg_geoip_db *db);

#endif
