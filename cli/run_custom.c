/* run_custom.c - `hostgate run`'s custom actions (PublishMetricAction): the
 * kernel counts their packets, one counter object per dimension value
 * (table.h; the stateless layer is nft rules the daemon never sees), and
 * the daemon reads the counters back through netlink (table_read.h) at
 * each stats interval: the stats line carries the packets since the
 * daemon started, the EMF metrics the packets of the interval.
 *
 * Counts never go backwards and are not lost at a reload: the counters
 * are read just before each table transaction (what they counted so far
 * is folded in), a reload keeps the objects of the values the new rules
 * still publish (their counts go on) and deletes the others; a counter
 * found below its last reading was made anew (the table was replaced
 * whole, or by someone else) and counts from zero. Only packets counted
 * by a removed value's counter between that read and the commit, a
 * window of one transaction, go uncounted. At start the counters an
 * earlier daemon left are the baseline: the counts are this daemon's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/table.h"
#include "hostgate/table_read.h"
#include "run_live.h"

static struct live_custom_value *find_or_add(struct live_custom *c, const char *value)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].value, value))
			return &c->v[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct live_custom_value *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	struct live_custom_value *x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	strcpy(x->value, value);
	return x;
}

void live_custom_sample(struct live *L)
{
	struct live_custom *c = &L->custom;
	struct hg_table_counters ctr;
	int r = hg_table_read_counters(L->nft.table, HG_CA_COUNTER_PREFIX, &ctr);
	if (r) {
		if (!c->read_errors++)
			live_log("cannot read the custom action counters: %s (counted; read again next time)",
				 strerror(-r));
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		c->v[i].present = false;
	for (size_t i = 0; i < ctr.n; i++) {
		char value[HG_CA_VALUE_MAX + 1];
		if (!hg_ca_counter_value(value, ctr.v[i].name))
			continue;
		struct live_custom_value *x = find_or_add(c, value);
		if (!x) {
			c->read_errors++;
			continue;
		}
		uint64_t now = ctr.v[i].packets;
		if (c->primed) {
			uint64_t d = now >= x->last ? now - x->last : now; /* below: made anew */
			x->total += d;
			x->interval += d;
		}
		x->last = now;
		x->present = true;
	}
	c->primed = true;
	hg_table_counters_free(&ctr);
}

void live_custom_table_replaced(struct live *L)
{
	for (size_t i = 0; i < L->custom.n; i++)
		L->custom.v[i].last = 0;
}

bool live_custom_keeps(const char *const *values, size_t n, const char *counter)
{
	char value[HG_CA_VALUE_MAX + 1];
	if (!hg_ca_counter_value(value, counter))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(values[i], value))
			return true;
	return false;
}

void live_custom_free(struct live *L)
{
	free(L->custom.v);
	memset(&L->custom, 0, sizeof(L->custom));
}
