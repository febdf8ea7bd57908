/* test_hold.c - the live daemon's held packets (hold.h): a per-flow queue
 * in the caller's flow state, packets kept decoded (their view points into
 * the copy, not into the caller's frame), released in order or discarded,
 * and the caps: packets and bytes per flow, flows holding at once, bytes
 * in all. A release empties the queue before its callback runs, so the
 * callback may hold packets of the flow again (a reload's new rules). */
#include <criterion/criterion.h>
#include <string.h>

#include "hostgate/hold.h"

/* A TCP segment 10.0.0.2:40000 -> 192.0.2.1:80 with payload bytes of c,
 * decoded into *p (which points into b). */
static void segment(uint8_t *b, size_t payload, uint8_t c, struct hg_packet *p)
{
	size_t tot = 40 + payload;
	memset(b, 0, 40);
	b[0] = 0x45, b[2] = (uint8_t)(tot >> 8), b[3] = (uint8_t)tot, b[8] = 64, b[9] = 6;
	b[12] = 10, b[15] = 2, b[16] = 192, b[18] = 2, b[19] = 1;
	b[20] = 40000 >> 8, b[21] = 40000 & 0xff, b[23] = 80;
	b[32] = 5 << 4, b[33] = 0x18;
	memset(b + 40, c, payload);
	struct hg_decode_stats st = {0};
	*p = (struct hg_packet){.wire_len = (uint32_t)tot};
	cr_assert(hg_decode_ip(&st, b, (uint32_t)tot, false, p));
}

struct seen {
	int n;
	uint8_t first[8];
	uint32_t lens[8];
	struct hg_hold *h;
	struct hg_hold_queue *q;
	const struct hg_packet *again;
};

static void seen_cb(void *ud, const struct hg_packet *p)
{
	struct seen *s = ud;
	cr_assert(p->l3 && p->payload && p->payload >= p->l3 && p->payload < p->l3 + p->l3_len,
		  "the decoded view points into the copy");
	if (s->q)
		cr_assert_eq(s->q->n_pkts, (uint32_t)s->n, "emptied before the callbacks (then held again)");
	s->first[s->n] = p->payload[0];
	s->lens[s->n++] = p->payload_len;
	if (s->q) {
		cr_assert(hg_hold_push(s->h, s->q, s->again ? s->again : p));
	}
}

Test(hold, queue_keeps_decoded_copies_in_order)
{
	struct hg_hold *h = hg_hold_new(NULL);
	cr_assert_not_null(h);
	struct hg_hold_queue q = {0};
	uint8_t b[2000];
	struct hg_packet p;
	for (uint8_t i = 0; i < 3; i++) {
		segment(b, 100u + i, (uint8_t)('a' + i), &p);
		cr_assert(hg_hold_push(h, &q, &p));
	}
	memset(b, 0, sizeof(b)); /* the caller's frame is gone */
	struct hg_hold_stats st;
	hg_hold_get_stats(h, &st);
	cr_expect_eq(st.flows, 1);
	cr_expect_eq(st.pkts_now, 3);
	cr_expect_eq(st.bytes_now, 140 + 141 + 142);
	struct seen s = {0};
	hg_hold_release(h, &q, seen_cb, &s);
	cr_expect_eq(s.n, 3);
	cr_expect(s.first[0] == 'a' && s.first[1] == 'b' && s.first[2] == 'c');
	cr_expect(s.lens[0] == 100 && s.lens[2] == 102);
	hg_hold_get_stats(h, &st);
	cr_expect_eq(st.flows + st.pkts_now + st.bytes_now, 0);
	cr_expect_eq(st.released, 3);
	cr_expect_eq(q.n_pkts, 0);
	hg_hold_free(h);
}

Test(hold, release_may_hold_again)
{
	struct hg_hold *h = hg_hold_new(&(struct hg_hold_config){.total_bytes = 300});
	struct hg_hold_queue q = {0};
	uint8_t b[200];
	struct hg_packet p;
	segment(b, 100, 'x', &p);
	cr_assert(hg_hold_push(h, &q, &p));
	cr_assert(hg_hold_push(h, &q, &p));
	/* Held again from the callback: the bytes being released no longer
	 * count against the total (280 of 300 would refuse the second). */
	struct seen s = {.h = h, .q = &q};
	hg_hold_release(h, &q, seen_cb, &s);
	cr_expect_eq(s.n, 2);
	cr_expect_eq(q.n_pkts, 2);
	struct hg_hold_stats st;
	hg_hold_get_stats(h, &st);
	cr_expect_eq(st.flows, 1);
	cr_expect_eq(st.bytes_now, 280);
	hg_hold_discard(h, &q);
	hg_hold_get_stats(h, &st);
	cr_expect_eq(st.discarded, 2);
	cr_expect_eq(st.flows + st.pkts_now + st.bytes_now, 0);
	hg_hold_free(h);
}

Test(hold, caps_refuse_and_count)
{
	struct hg_hold *h = hg_hold_new(&(struct hg_hold_config){
		.max_flows = 2, .flow_pkts = 3, .flow_bytes = 1000, .total_bytes = 1900});
	struct hg_hold_queue q[3] = {{0}};
	uint8_t b[1200];
	struct hg_packet p;
	segment(b, 10, 'x', &p);
	for (int i = 0; i < 3; i++)
		cr_assert(hg_hold_push(h, &q[0], &p));
	cr_expect_not(hg_hold_push(h, &q[0], &p), "a fourth packet over flow_pkts");
	segment(b, 961, 'y', &p);
	cr_expect_not(hg_hold_push(h, &q[1], &p), "1001 bytes over flow_bytes");
	segment(b, 900, 'y', &p);
	cr_expect(hg_hold_push(h, &q[1], &p));
	segment(b, 10, 'z', &p);
	cr_expect_not(hg_hold_push(h, &q[2], &p), "a third flow over max_flows");
	struct hg_hold_stats st;
	hg_hold_get_stats(h, &st);
	cr_expect_eq(st.over_flow_cap, 2);
	cr_expect_eq(st.table_full, 1);
	hg_hold_discard(h, &q[0]);
	cr_expect(hg_hold_push(h, &q[2], &p), "room again once a flow holds nothing");
	segment(b, 900, 'w', &p);
	cr_expect_not(hg_hold_push(h, &q[2], &p), "990 + 940 bytes over total_bytes");
	hg_hold_get_stats(h, &st);
	cr_expect_eq(st.over_total_cap, 1);
	cr_expect_eq(st.bytes_now, 990);
	hg_hold_discard(h, &q[1]);
	hg_hold_discard(h, &q[2]);
	hg_hold_free(h);
}
