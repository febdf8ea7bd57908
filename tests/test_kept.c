/* test_kept.c - the live daemon's kept copies (hold.h hg_kept_*): the
 * packets of allowed flows that a reload decides again, one age list
 * without an index. Caps per flow and overall, eviction oldest first,
 * removal by the walk, the record walk. */
#include <criterion/criterion.h>
#include <string.h>

#include "hostgate/hold.h"

static struct hg_hold_key key(uint16_t sport)
{
	struct hg_hold_key k;
	memset(&k, 0, sizeof(k));
	k.src.b[10] = k.src.b[11] = 0xff;
	k.src.b[12] = 10, k.src.b[15] = 2;
	k.dst = k.src;
	k.dst.b[15] = 9;
	k.sport = sport;
	k.dport = 80;
	k.proto = 6;
	return k;
}

struct walk {
	uint16_t ports[16];
	size_t lens[16], pkts[16];
	size_t n;
	uint16_t remove_port;
};

static bool walk_cb(void *ud, const struct hg_hold_key *k, const uint8_t *pkts, size_t n, uint64_t t)
{
	(void)t;
	struct walk *w = ud;
	size_t off = 0, len, c = 0;
	const uint8_t *dg;
	while (hg_kept_next(pkts, n, &off, &dg, &len))
		c++;
	cr_assert_eq(off, n, "the walk must end exactly at the record's end");
	w->ports[w->n] = k->sport;
	w->lens[w->n] = n;
	w->pkts[w->n++] = c;
	return k->sport == w->remove_port;
}

Test(kept, records_oldest_first_with_their_packets)
{
	struct hg_kept_config c = {.max_flows = 16, .flow_bytes = 1024, .total_bytes = 1 << 20};
	struct hg_kept *k = hg_kept_new(&c);
	cr_assert_not_null(k);
	uint8_t d[300];
	memset(d, 0xab, sizeof(d));
	struct hg_hold_key a = key(1000), b = key(1001);
	struct hg_kept_rec *ra = hg_kept_start(k, &a, 1);
	cr_assert(hg_kept_add(k, ra, d, 100));
	cr_assert(hg_kept_add(k, ra, d, 200));
	struct hg_kept_rec *rb = hg_kept_start(k, &b, 2);
	cr_assert(hg_kept_add(k, rb, d, 50));
	struct walk w = {.remove_port = 1000};
	hg_kept_foreach(k, walk_cb, &w);
	cr_assert_eq(w.n, 2);
	cr_assert_eq(w.ports[0], 1000);
	cr_assert_eq(w.pkts[0], 2);
	cr_assert_eq(w.lens[0], 2 + 100 + 2 + 200);
	cr_assert_eq(w.ports[1], 1001);
	cr_assert_eq(w.pkts[1], 1);
	/* the callback removed 1000 */
	struct walk w2 = {0};
	hg_kept_foreach(k, walk_cb, &w2);
	cr_assert_eq(w2.n, 1);
	cr_assert_eq(w2.ports[0], 1001);
	struct walk w3 = {.remove_port = 1001};
	hg_kept_foreach(k, walk_cb, &w3);
	struct hg_kept_stats st;
	hg_kept_get_stats(k, &st);
	cr_assert_eq(st.flows, 0);
	cr_assert_eq(st.bytes_now, 0);
	hg_kept_free(k);
}

Test(kept, over_the_flow_cap_the_record_has_no_bytes_and_takes_no_more)
{
	struct hg_kept_config c = {.max_flows = 16, .flow_bytes = 512, .total_bytes = 1 << 20};
	struct hg_kept *k = hg_kept_new(&c);
	uint8_t d[400] = {0};
	struct hg_hold_key a = key(2000);
	struct hg_kept_rec *r = hg_kept_start(k, &a, 1);
	cr_assert(hg_kept_add(k, r, d, 400));
	cr_assert_not(hg_kept_add(k, r, d, 200), "over 512 bytes");
	cr_assert_not(hg_kept_add(k, r, d, 10), "a record over its cap never takes more");
	struct walk w = {0};
	hg_kept_foreach(k, walk_cb, &w);
	cr_assert_eq(w.n, 1);
	cr_assert_eq(w.lens[0], 0, "kept without bytes: the flow keeps its verdict");
	struct hg_kept_stats st;
	hg_kept_get_stats(k, &st);
	cr_assert_eq(st.over_flow_cap, 1);
	cr_assert_eq(st.bytes_now, 0);
	hg_kept_free(k);
}

Test(kept, total_and_flow_caps_evict_the_oldest)
{
	struct hg_kept_config c = {.max_flows = 4, .flow_bytes = 1024, .total_bytes = 4096};
	struct hg_kept *k = hg_kept_new(&c);
	uint8_t d[1000] = {0};
	for (uint16_t p = 0; p < 6; p++) {
		struct hg_hold_key kk = key((uint16_t)(3000 + p));
		cr_assert(hg_kept_add(k, hg_kept_start(k, &kk, p), d, 1000));
		struct hg_kept_stats st;
		hg_kept_get_stats(k, &st);
		cr_assert_leq(st.bytes_now, 4096);
		cr_assert_leq(st.flows, 4);
	}
	struct walk w = {0};
	hg_kept_foreach(k, walk_cb, &w);
	cr_assert_eq(w.n, 4);
	for (size_t i = 0; i < w.n; i++)
		cr_assert_eq(w.ports[i], 3002 + i, "oldest evicted first");
	struct hg_kept_stats st;
	hg_kept_get_stats(k, &st);
	cr_assert_eq(st.evicted, 2);
	hg_kept_free(k);

	/* total_bytes 0: nothing kept */
	c.total_bytes = 0;
	k = hg_kept_new(&c);
	struct hg_hold_key kk = key(1);
	cr_assert_null(hg_kept_start(k, &kk, 0));
	cr_assert_not(hg_kept_add(k, NULL, d, 10));
	hg_kept_free(k);
}

Test(kept, walk_stops_at_a_truncated_length)
{
	const uint8_t rec[] = {0, 3, 1, 2, 3, 0, 9, 1};
	size_t off = 0, len;
	const uint8_t *dg;
	cr_assert(hg_kept_next(rec, sizeof(rec), &off, &dg, &len));
	cr_assert_eq(len, 3);
	cr_assert_eq(dg[2], 3);
	cr_assert_not(hg_kept_next(rec, sizeof(rec), &off, &dg, &len), "9 bytes announced, 1 left");
	cr_assert_eq(off, 5);
}
