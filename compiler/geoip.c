/* geoip.c - reads a MaxMind country database (libmaxminddb) into a list of
 * (network, country) by walking its binary search tree once, so a rule's
 * countries become an interval set: the same ranges for the nft table and
 * the engine. Lookups of single addresses (tests) use libmaxminddb's own.
 *
 * The tree of an IPv6 database holds IPv4 at ::/96; ::ffff:0:0/96 is an
 * alias of it (MaxMind's writer links it there), so it is skipped and the
 * ::/96 networks are re-based onto ::ffff:0:0/96, where hostgate keeps
 * IPv4 (ipset.h). Other aliases (6to4 2002::/16, Teredo) stay: libmaxminddb
 * answers lookups there with the IPv4 data, and so do we. */
#include "hostgate/geoip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct geo_net {
	struct hg_iprange r;
	char cc[3];
};

struct hg_geoip_db {
	MMDB_s mmdb;
	HG_VEC(struct geo_net) nets;
};

/* country.iso_code of a data record, as Suricata's geoip reads it. */
static bool entry_country(MMDB_entry_s *e, char cc[3])
{
	MMDB_entry_data_s v;
	if (MMDB_get_value(e, &v, "country", "iso_code", NULL) != MMDB_SUCCESS || !v.has_data ||
	    v.type != MMDB_DATA_TYPE_UTF8_STRING || v.data_size != 2)
		return false;
	cc[0] = v.utf8_string[0];
	cc[1] = v.utf8_string[1];
	cc[2] = 0;
	return true;
}

static void bit_set(uint8_t b[16], unsigned i)
{
	b[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
}

/* A leaf: the network prefix/depth of a tree of `bits` bits. */
static void add_net(struct hg_geoip_db *db, const uint8_t prefix[16], unsigned depth, unsigned bits,
		    const char cc[3])
{
	struct geo_net n = {.cc = {cc[0], cc[1], 0}};
	uint8_t lo[16] = {0}, hi[16];
	if (bits == 32) {
		/* An IPv4 database: bits 0..31 are the address. */
		lo[10] = lo[11] = 0xff;
		memcpy(lo + 12, prefix, 4);
	} else {
		static const uint8_t zero96[12];
		if (!memcmp(prefix, zero96, 12) && depth >= 96) {
			/* ::/96 holds IPv4: re-base onto ::ffff:0:0/96. */
			lo[10] = lo[11] = 0xff;
			memcpy(lo + 12, prefix + 12, 4);
		} else {
			memcpy(lo, prefix, 16);
		}
	}
	/* hi: every bit past the prefix set (IPv4 bits are 96..127). */
	memcpy(hi, lo, 16);
	for (unsigned i = (bits == 32 ? 96 : 0) + depth; i < 128; i++)
		bit_set(hi, i);
	n.r.lo = (struct hg_ip){{0}};
	memcpy(n.r.lo.b, lo, 16);
	memcpy(n.r.hi.b, hi, 16);
	hg_vec_push(&db->nets, n);
}

struct frame {
	uint32_t node;
	unsigned depth;
	uint8_t prefix[16];
};

static bool walk(struct hg_geoip_db *db, char *err, size_t errlen)
{
	unsigned bits = db->mmdb.metadata.ip_version == 6 ? 128 : 32;
	uint32_t nodes = db->mmdb.metadata.node_count;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	/* Depth-first: at most one pending sibling per level. */
	struct frame st[130];
	size_t sp = 0;
	st[sp++] = (struct frame){.node = 0, .depth = 0};
	while (sp) {
		struct frame f = st[--sp];
		MMDB_search_node_s n;
		if (MMDB_read_node(&db->mmdb, f.node, &n) != MMDB_SUCCESS) {
			snprintf(err, errlen, "corrupt search tree (node %u)", (unsigned)f.node);
			return false;
		}
		for (int side = 1; side >= 0; side--) {
			struct frame c = f;
			c.depth = f.depth + 1;
			if (side)
				bit_set(c.prefix, f.depth);
			uint8_t type = side ? n.right_record_type : n.left_record_type;
			uint64_t rec = side ? n.right_record : n.left_record;
			if (bits == 128 && c.depth == 96 && !memcmp(c.prefix, mapped, 12))
				continue; /* ::ffff:0:0/96: the IPv4 alias */
			if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
				if (c.depth >= bits || rec >= nodes || sp >= HG_ARRAY_LEN(st)) {
					snprintf(err, errlen, "corrupt search tree (node %u)", (unsigned)f.node);
					return false;
				}
				c.node = (uint32_t)rec;
				st[sp++] = c;
			} else if (type == MMDB_RECORD_TYPE_DATA) {
				MMDB_entry_s e = side ? n.right_record_entry : n.left_record_entry;
				char cc[3];
				if (entry_country(&e, cc))
					add_net(db, c.prefix, c.depth, bits, cc);
			} else if (type == MMDB_RECORD_TYPE_INVALID) {
				snprintf(err, errlen, "corrupt search tree (node %u)", (unsigned)f.node);
				return false;
			}
		}
	}
	return true;
}

struct hg_geoip_db *hg_geoip_db_open(const char *path, char *err, size_t errlen)
{
	struct hg_geoip_db *db = xcalloc(1, sizeof(*db));
	int st = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
	if (st != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s", st == MMDB_IO_ERROR ? strerror(errno) : MMDB_strerror(st));
		free(db);
		return NULL;
	}
	if (!walk(db, err, errlen)) {
		hg_geoip_db_close(db);
		return NULL;
	}
	return db;
}

void hg_geoip_db_close(struct hg_geoip_db *db)
{
	if (!db)
		return;
	MMDB_close(&db->mmdb);
	hg_vec_free(&db->nets);
	free(db);
}

static bool listed(const char (*codes)[3], size_t n, const char cc[3])
{
	for (size_t i = 0; i < n; i++)
		if (codes[i][0] == cc[0] && codes[i][1] == cc[1])
			return true;
	return false;
}

void hg_geoip_db_set(const struct hg_geoip_db *db, const char (*codes)[3], size_t n, bool negated,
		     struct hg_ipset *out)
{
	struct hg_ipset s = {0};
	size_t cap = 0;
	for (size_t i = 0; i < db->nets.n; i++) {
		const struct geo_net *g = &db->nets.v[i];
		if (listed(codes, n, g->cc) == negated)
			continue;
		if (s.n == cap) {
			cap = cap ? cap * 2 : 64;
			s.r = xreallocarray(s.r, cap, sizeof(*s.r));
		}
		s.r[s.n++] = g->r;
	}
	hg_ipset_normalize(&s);
	hg_ipset_free(out);
	*out = s;
}

bool hg_geoip_db_has(const struct hg_geoip_db *db, const char code[3])
{
	for (size_t i = 0; i < db->nets.n; i++)
		if (db->nets.v[i].cc[0] == code[0] && db->nets.v[i].cc[1] == code[1])
			return true;
	return false;
}

bool hg_geoip_db_lookup(const struct hg_geoip_db *db, const struct hg_ip *ip, char code[3])
{
	struct sockaddr_storage ss = {0};
	if (hg_ip_is_v4(ip)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, ip->b + 12, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, ip->b, 16);
	}
	int e;
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr((MMDB_s *)&db->mmdb, (struct sockaddr *)&ss, &e);
	return e == MMDB_SUCCESS && r.found_entry && entry_country(&r.entry, code);
}

size_t hg_geoip_db_networks(const struct hg_geoip_db *db)
{
	return db->nets.n;
}
