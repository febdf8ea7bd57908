/* test_stream.c - first-bytes reassembly: in order, 1-byte segments,
 * reverse order, retransmissions, conflicting overlaps under both policies,
 * the depth cap, the global byte cap, midstream and SYN data. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/engine.h"
#include "hostgate/stream.h"

#define ISN 0xfffffff0u /* wraps during the test: sequence arithmetic is modular */

static const char msg[] =
	"\x16\x03\x01\x02\x40 ClientHello padding to make this at least sixty-four bytes long!!";

static struct hg_stream_ctx *ctx(uint32_t depth, uint64_t max, enum hg_stream_policy pol)
{
	struct hg_stream_config cfg = {.depth_to_server = depth, .max_bytes = max, .policy = pol};
	struct hg_stream_ctx *c = hg_stream_ctx_new(&cfg);
	cr_assert(c);
	return c;
}

static void syn(struct hg_stream_ctx *c, struct hg_stream *s)
{
	cr_assert(!hg_stream_segment(c, s, HG_TCP_SYN, ISN, NULL, 0));
	cr_assert(hg_stream_flags(s) & HG_STREAM_F_BASE);
}

static void seg(struct hg_stream_ctx *c, struct hg_stream *s, uint32_t off, const char *d,
		uint32_t len)
{
	hg_stream_segment(c, s, HG_TCP_ACK | HG_TCP_PSH, ISN + 1 + off, (const uint8_t *)d, len);
}

static void expect_prefix(const struct hg_stream *s, const char *want, size_t n)
{
	size_t len;
	const uint8_t *p = hg_stream_data(s, &len);
	cr_assert_eq(len, n, "prefix %zu, want %zu", len, n);
	cr_assert(n == 0 || !memcmp(p, want, n));
}

Test(stream, in_order_and_one_byte_segments)
{
	size_t n = strlen(msg);
	for (int mode = 0; mode < 2; mode++) {
		struct hg_stream_ctx *c = ctx(0, 0, HG_STREAM_POLICY_FIRST_WINS);
		struct hg_stream s;
		hg_stream_init(&s, 0);
		syn(c, &s);
		if (mode == 0) {
			seg(c, &s, 0, msg, 10);
			seg(c, &s, 10, msg + 10, (uint32_t)(n - 10));
		} else {
			for (uint32_t i = 0; i < n; i++) {
				seg(c, &s, i, msg + i, 1);
				expect_prefix(&s, msg, i + 1);
			}
		}
		expect_prefix(&s, msg, n);
		cr_expect(!(hg_stream_flags(&s) & (HG_STREAM_F_CONFLICT | HG_STREAM_F_OOO |
						  HG_STREAM_F_MIDSTREAM | HG_STREAM_F_GAP)));
		struct hg_stream_stats st;
		hg_stream_get_stats(c, &st);
		cr_expect_eq(st.bytes, n);
		cr_expect_eq(st.buffers, 1);
		hg_stream_release(c, &s);
		hg_stream_get_stats(c, &st);
		cr_expect_eq(st.buffers, 0);
		hg_stream_ctx_free(c);
	}
}

Test(stream, reverse_order)
{
	size_t n = strlen(msg);
	struct hg_stream_ctx *c = ctx(0, 0, HG_STREAM_POLICY_FIRST_WINS);
	struct hg_stream s;
	hg_stream_init(&s, 0);
	syn(c, &s);
	for (uint32_t i = (uint32_t)n; i-- > 0;) {
		seg(c, &s, i, msg + i, 1);
		expect_prefix(&s, msg, i == 0 ? n : 0);
		if (i)
			cr_expect(hg_stream_flags(&s) & HG_STREAM_F_GAP);
	}
	cr_expect(hg_stream_flags(&s) & HG_STREAM_F_OOO);
	cr_expect(!(hg_stream_flags(&s) & HG_STREAM_F_GAP));
	cr_expect(!(hg_stream_flags(&s) & HG_STREAM_F_CONFLICT));
	/* out-of-order chunks of 7 from the back, overlapping by 3 */
	struct hg_stream s2;
	hg_stream_init(&s2, 0);
	syn(c, &s2);
	for (int i = (int)n - 7; i > -7; i -= 4) {
		int a = i < 0 ? 0 : i;
		seg(c, &s2, (uint32_t)a, msg + a, (uint32_t)HG_MIN(7, (int)n - a));
	}
	expect_prefix(&s2, msg, n);
	cr_expect(!(hg_stream_flags(&s2) & HG_STREAM_F_CONFLICT));
	hg_stream_release(c, &s);
	hg_stream_release(c, &s2);
	hg_stream_ctx_free(c);
}

Test(stream, retransmission_ignored)
{
	size_t n = strlen(msg);
	struct hg_stream_ctx *c = ctx(0, 0, HG_STREAM_POLICY_FIRST_WINS);
	struct hg_stream s;
	hg_stream_init(&s, 0);
	syn(c, &s);
	seg(c, &s, 0, msg, 20);
	seg(c, &s, 0, msg, 20);          /* exact */
	seg(c, &s, 5, msg + 5, 10);      /* inside */
	seg(c, &s, 30, msg + 30, 10);    /* ahead */
	seg(c, &s, 30, msg + 30, 10);    /* ahead, again */
	seg(c, &s, 10, msg + 10, (uint32_t)(n - 10)); /* fills the hole, covers both */
	/* SYN retransmitted, and data from before ISN+1 */
	hg_stream_segment(c, &s, HG_TCP_SYN, ISN, NULL, 0);
	hg_stream_segment(c, &s, HG_TCP_ACK, ISN - 5, (const uint8_t *)"xxxxx", 5);
	expect_prefix(&s, msg, n);
	cr_expect(!(hg_stream_flags(&s) & HG_STREAM_F_CONFLICT));
	struct hg_stream_stats st;
	hg_stream_get_stats(c, &st);
	cr_expect_eq(st.retransmissions, 4);
	cr_expect_eq(st.bytes, n);
	hg_stream_release(c, &s);
	hg_stream_ctx_free(c);
}

/* A conflicting overlap, in order (against the prefix) and out of order
 * (against buffered bytes), under both policies. */
Test(stream, overlap_conflict_policies)
{
	size_t n = strlen(msg);
	for (int pol = 0; pol < 2; pol++) {
		for (int ooo = 0; ooo < 2; ooo++) {
			struct hg_stream_ctx *c = ctx(0, 0, (enum hg_stream_policy)pol);
			struct hg_stream s;
			hg_stream_init(&s, 0);
			syn(c, &s);
			char evil[16];
			memset(evil, 'X', sizeof(evil));
			if (!ooo) {
				seg(c, &s, 0, msg, 30);
				seg(c, &s, 25, evil, 10); /* [25,30) conflicts, [30,35) new */
			} else {
				seg(c, &s, 20, msg + 20, 20);
				seg(c, &s, 25, evil, 10); /* conflicts with buffered [25,35) */
			}
			seg(c, &s, 0, msg, (uint32_t)n);
			/* first data wins */
			char want[128];
			memcpy(want, msg, n);
			if (!ooo)
				memset(want + 30, 'X', 5);
			expect_prefix(&s, want, n);
			uint32_t fl = hg_stream_flags(&s);
			cr_expect(fl & HG_STREAM_F_CONFLICT, "pol %d ooo %d", pol, ooo);
			cr_expect_eq(hg_stream_conflict_offset(&s), 25);
			cr_expect_eq(!!(fl & HG_STREAM_F_DROP), pol == HG_STREAM_POLICY_DROP,
				     "pol %d ooo %d", pol, ooo);
			struct hg_stream_stats st;
			hg_stream_get_stats(c, &st);
			/* in order, the full resend differs from the kept X's too */
			cr_expect_eq(st.conflicts, ooo ? 1u : 2u);
			hg_stream_release(c, &s);
			hg_stream_ctx_free(c);
		}
	}
}

/* The shapes in which Linux's receiver keeps another copy than the first
 * (tcp_data_queue_ofo: a segment from the same start that ends further
 * replaces the queued one; an earlier-starting one wins over a queued
 * one's head) and a hole filled with bytes that differ from those queued
 * past it: each is a conflict at the first differing byte, marked for drop
 * under the drop policy. */
Test(stream, overlap_shapes_linux_replaces)
{
	char other[64];
	memcpy(other, msg, sizeof(other));
	memset(other + 20, 'Y', 10); /* differs in [20,30) */
	for (int shape = 0; shape < 3; shape++) {
		struct hg_stream_ctx *c = ctx(0, 0, HG_STREAM_POLICY_DROP);
		struct hg_stream s;
		hg_stream_init(&s, 0);
		syn(c, &s);
		if (shape == 0) {
			seg(c, &s, 20, msg + 20, 5);
			seg(c, &s, 20, other + 20, 20);
		} else if (shape == 1) {
			seg(c, &s, 22, msg + 22, 20);
			seg(c, &s, 20, other + 20, 8);
		} else {
			seg(c, &s, 20, msg + 20, 20);
			seg(c, &s, 0, other, 40);
		}
		uint32_t fl = hg_stream_flags(&s);
		cr_expect(fl & HG_STREAM_F_CONFLICT, "shape %d", shape);
		cr_expect(fl & HG_STREAM_F_DROP, "shape %d", shape);
		cr_expect_eq(hg_stream_conflict_offset(&s), shape == 1 ? 22u : 20u, "shape %d", shape);
		hg_stream_release(c, &s);
		hg_stream_ctx_free(c);
	}
}

Test(stream, depth_cap)
{
	struct hg_stream_ctx *c = ctx(32, 0, HG_STREAM_POLICY_FIRST_WINS);
	struct hg_stream s;
	hg_stream_init(&s, 0);
	syn(c, &s);
	seg(c, &s, 40, msg + 40, 10); /* wholly beyond */
	cr_expect(hg_stream_flags(&s) & HG_STREAM_F_DEPTH);
	expect_prefix(&s, msg, 0);
	seg(c, &s, 0, msg, 20);
	seg(c, &s, 20, msg + 20, 30); /* crosses depth: cut at 32 */
	expect_prefix(&s, msg, 32);
	cr_expect(hg_stream_complete(&s));
	struct hg_stream_stats st;
	hg_stream_get_stats(c, &st);
	cr_expect_eq(st.beyond_depth, 2);
	cr_expect_eq(st.bytes, 32);
	cr_expect_eq(st.mem, 32 + 4);
	hg_stream_release(c, &s);
	hg_stream_ctx_free(c);
}

Test(stream, global_cap)
{
	/* room for 3 buffers of 1024 + 128 */
	struct hg_stream_ctx *c = ctx(1024, 3 * 1152 + 100, HG_STREAM_POLICY_FIRST_WINS);
	struct hg_stream s[5];
	for (int i = 0; i < 5; i++) {
		hg_stream_init(&s[i], 0);
		syn(c, &s[i]);
		seg(c, &s[i], 0, msg, 10);
	}
	for (int i = 0; i < 5; i++) {
		bool nomem = hg_stream_flags(&s[i]) & HG_STREAM_F_NOMEM;
		cr_expect_eq(nomem, i >= 3, "stream %d", i);
		expect_prefix(&s[i], msg, i < 3 ? 10 : 0);
		cr_expect_eq(hg_stream_complete(&s[i]), i >= 3);
	}
	struct hg_stream_stats st;
	hg_stream_get_stats(c, &st);
	cr_expect_eq(st.nomem, 2);
	cr_expect_leq(st.mem, 3 * 1152 + 100);
	/* released buffers serve new streams (from the cache) */
	hg_stream_release(c, &s[0]);
	struct hg_stream t;
	hg_stream_init(&t, 0);
	syn(c, &t);
	seg(c, &t, 0, msg + 1, 5);
	expect_prefix(&t, msg + 1, 5);
	hg_stream_get_stats(c, &st);
	cr_expect_eq(st.buffers, 3);
	for (int i = 1; i < 5; i++)
		hg_stream_release(c, &s[i]);
	hg_stream_release(c, &t);
	hg_stream_ctx_free(c);
}

Test(stream, midstream_syn_data_fin_rst)
{
	struct hg_stream_ctx *c = ctx(0, 0, HG_STREAM_POLICY_FIRST_WINS);
	struct hg_stream s;
	hg_stream_init(&s, 0);
	/* a bare ACK first tells nothing */
	hg_stream_segment(c, &s, HG_TCP_ACK, 500, NULL, 0);
	cr_expect(!(hg_stream_flags(&s) & HG_STREAM_F_BASE));
	hg_stream_segment(c, &s, HG_TCP_ACK, 500, (const uint8_t *)"abc", 3);
	cr_expect(hg_stream_flags(&s) & HG_STREAM_F_MIDSTREAM);
	hg_stream_segment(c, &s, HG_TCP_ACK | HG_TCP_FIN, 503, (const uint8_t *)"de", 2);
	expect_prefix(&s, "abcde", 5);
	cr_expect(hg_stream_complete(&s), "FIN with everything before it");
	hg_stream_release(c, &s);

	/* TCP Fast Open: data on the SYN starts at ISN+1 */
	hg_stream_init(&s, 0);
	hg_stream_segment(c, &s, HG_TCP_SYN, 77, (const uint8_t *)"GET", 3);
	hg_stream_segment(c, &s, HG_TCP_ACK, 81, (const uint8_t *)" /", 2);
	expect_prefix(&s, "GET /", 5);
	cr_expect(!(hg_stream_flags(&s) & HG_STREAM_F_MIDSTREAM));
	/* RST payload is not data */
	hg_stream_segment(c, &s, HG_TCP_RST, 83, (const uint8_t *)"zz", 2);
	expect_prefix(&s, "GET /", 5);
	cr_expect(hg_stream_flags(&s) & HG_STREAM_F_RST);
	hg_stream_release(c, &s);

	/* the to-client direction has its own depth; NONE disables it */
	struct hg_stream_config cfg = {.depth_to_client = HG_STREAM_DEPTH_NONE};
	struct hg_stream_ctx *c2 = hg_stream_ctx_new(&cfg);
	hg_stream_init(&s, 1);
	hg_stream_segment(c2, &s, HG_TCP_ACK, 1, (const uint8_t *)"x", 1);
	cr_expect(hg_stream_flags(&s) & HG_STREAM_F_NONE);
	expect_prefix(&s, "", 0);
	hg_stream_release(c2, &s);
	hg_stream_ctx_free(c2);
	hg_stream_ctx_free(c);
}

/* Random segmentations of a 4 KiB message, shuffled and duplicated, must
 * always rebuild it exactly, without a conflict. */
Test(stream, random_segmentations)
{
	static uint8_t data[4096];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245 + 12345;
		data[i] = (uint8_t)(x >> 16);
	}
	struct hg_stream_ctx *c = ctx(4096, 0, HG_STREAM_POLICY_DROP);
	for (int round = 0; round < 200; round++) {
		struct { uint32_t off, len; } segs[600];
		int n = 0;
		for (uint32_t off = 0; off < sizeof(data) && n < 590;) {
			x = x * 1103515245 + 12345;
			uint32_t len = 1 + (x >> 16) % 300;
			if (off + len > sizeof(data))
				len = (uint32_t)sizeof(data) - off;
			segs[n].off = off, segs[n].len = len, n++;
			if ((x >> 8) % 5 == 0) /* a duplicate, shifted back */
				segs[n].off = off > 10 ? off - 10 : 0, segs[n].len = len, n++;
			off += len;
		}
		for (int i = n - 1; i > 0; i--) {
			x = x * 1103515245 + 12345;
			int j = (int)((x >> 16) % (uint32_t)(i + 1));
			__typeof__(segs[0]) tmp = segs[i];
			segs[i] = segs[j], segs[j] = tmp;
		}
		struct hg_stream s;
		hg_stream_init(&s, 0);
		hg_stream_segment(c, &s, HG_TCP_SYN, x, NULL, 0);
		for (int i = 0; i < n; i++) {
			uint32_t len = HG_MIN(segs[i].len, (uint32_t)sizeof(data) - segs[i].off);
			hg_stream_segment(c, &s, HG_TCP_ACK, x + 1 + segs[i].off, data + segs[i].off, len);
		}
		size_t len;
		const uint8_t *p = hg_stream_data(&s, &len);
		cr_assert_eq(len, sizeof(data), "round %d", round);
		cr_assert(!memcmp(p, data, len), "round %d", round);
		cr_assert(!(hg_stream_flags(&s) & (HG_STREAM_F_CONFLICT | HG_STREAM_F_DROP)));
		hg_stream_release(c, &s);
	}
	hg_stream_ctx_free(c);
}
