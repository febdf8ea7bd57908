/* table_read.h - table inet T read back from the kernel as data: netlink
 * dumps parsed with libnftnl over a libmnl socket of the call's own (so any
 * thread may call), never the text nft prints for people. Blocking: for
 * start, reload and summaries, not the packet path. */
#ifndef HOSTGATE_TABLE_READ_H
#define HOSTGATE_TABLE_READ_H

#include <stddef.h>
#include <stdint.h>

/* An object of the table, as the replacing transaction names it
 * ("chain", "set", "map", "flowtable", "counter", "quota", "limit",
 * "ct helper", "ct timeout", "ct expectation", "secmark", "synproxy"; NULL
 * for a kind nft has no delete command for here). */
struct hg_table_object {
	const char *kind;
	char name[256];
};

struct hg_table_objects {
	struct hg_table_object *v;
	size_t n;
};

/* The named objects of table inet `table`: chains, sets and maps (not the
 * anonymous ones, which go with their rules), flowtables, stateful
 * objects. 0; -ENOENT when there is no such table; -errno. */
int hg_table_read_objects(const char *table, struct hg_table_objects *out);
void hg_table_objects_free(struct hg_table_objects *o);

/* The generation the table was applied with (its set HG_SET_GENERATION,
 * table.h). 0; -ENOENT when there is no table, set or element. */
int hg_table_read_generation(const char *table, uint16_t *gen);

/* Number of elements in a set of the table, counted over a binary dump
 * (nothing built per element). >= 0, or -errno. */
long hg_table_count_elements(const char *table, const char *set);

/* A named counter object of the table and what it has counted. */
struct hg_table_counter {
	char name[256];
	uint64_t packets, bytes;
};

struct hg_table_counters {
	struct hg_table_counter *v;
	size_t n;
};

/* The counter objects of table inet `table` whose names start with
 * prefix (the custom actions': HG_CA_COUNTER_PREFIX, table.h), in the
 * kernel's order; none when there is no table. 0 or -errno. */
int hg_table_read_counters(const char *table, const char *prefix, struct hg_table_counters *out);
void hg_table_counters_free(struct hg_table_counters *c);

#endif
