/* test_await.c - the bytes a passed flow released, compared with what the
 * client sends again before the server acknowledged them (await.h):
 * identical re-sends go on, different ones are refused, bytes past the
 * release are new; sequence numbers wrap; the caps refuse what they cannot
 * compare rather than pass it. */
#include <criterion/criterion.h>
#include <string.h>

#include "hostgate/await.h"

static const uint8_t *B(const char *s)
{
	return (const uint8_t *)s;
}

static struct hg_await_pool *pool(uint32_t flow_bytes, uint64_t total)
{
	struct hg_await_config c = {.flow_bytes = flow_bytes, .total_bytes = total};
	struct hg_await_pool *p = hg_await_pool_new(&c);
	cr_assert(p);
	return p;
}

Test(await, same_differs_new)
{
	struct hg_await_pool *p = pool(0, 1 << 20);
	struct hg_await a = {0};
	hg_await_begin(p, &a, 1001, 7, 0);
	cr_expect(hg_await_empty(&a));
	cr_expect(hg_await_release(p, &a, 1001, B("GET / HTTP/1.1\r\nHost: a\r\n"), 25));
	cr_expect(!hg_await_empty(&a));
	cr_expect_eq(a.end, 1026);
	cr_expect_eq(hg_await_compare(p, &a, 1001, B("GET / HTTP/1.1\r\nHost: a\r\n"), 25), HG_AWAIT_SAME);
	cr_expect_eq(hg_await_compare(p, &a, 1001, B("GET / HTTP/1.1\r\nHost: b\r\n"), 25), HG_AWAIT_DIFFERS);
	/* a re-send that only partly overlaps, the overlap changed */
	cr_expect_eq(hg_await_compare(p, &a, 1023, B("b\r\nmore"), 7), HG_AWAIT_DIFFERS);
	cr_expect_eq(hg_await_compare(p, &a, 1023, B("a\r\nmore"), 7), HG_AWAIT_SAME);
	cr_expect_eq(hg_await_compare(p, &a, 1026, B("next"), 4), HG_AWAIT_NEW);
	/* bytes before the stream's start (the SYN's number) are trimmed */
	cr_expect_eq(hg_await_compare(p, &a, 999, B("xxGET"), 5), HG_AWAIT_SAME);
	cr_expect_eq(hg_await_compare(p, &a, 990, B("xx"), 2), HG_AWAIT_NEW);
	struct hg_await_stats st;
	hg_await_get_stats(p, &st);
	cr_expect_eq(st.resent, 3);
	cr_expect_eq(st.differ, 2);
	cr_expect_eq(st.flows_now, 1);
	hg_await_end(p, &a, true);
	hg_await_get_stats(p, &st);
	cr_expect_eq(st.flows_now, 0);
	cr_expect_eq(st.bytes_now, 0);
	cr_expect_eq(st.settled, 1);
	hg_await_pool_free(p);
}

/* The server's ACK must cover every released byte, on the same connection;
 * sequence numbers wrap at 2^32 (RFC 9293 §3.4). */
Test(await, acked_wraps)
{
	struct hg_await_pool *p = pool(0, 1 << 20);
	struct hg_await a = {0};
	uint32_t start = 0xfffffff0u;
	hg_await_begin(p, &a, start, 42, 0);
	cr_expect(hg_await_release(p, &a, start, B("0123456789abcdefWRAPPED!"), 24));
	cr_expect_eq(a.end, 8u);
	cr_expect(!hg_await_acked(&a, 42, start));
	cr_expect(!hg_await_acked(&a, 42, 7));
	cr_expect(!hg_await_acked(&a, 41, 8));
	cr_expect(hg_await_acked(&a, 42, 8));
	cr_expect(hg_await_acked(&a, 42, 100));
	cr_expect_eq(hg_await_compare(p, &a, 2, B("APPED!"), 6), HG_AWAIT_SAME);
	cr_expect_eq(hg_await_compare(p, &a, 2, B("APPEDX"), 6), HG_AWAIT_DIFFERS);
	hg_await_end(p, &a, false);
	cr_expect(!hg_await_acked(&a, 42, 100));
	hg_await_pool_free(p);
}

/* Released out of order with a gap: bytes in the gap were never released
 * (nor inspected), so they are new; a held segment that overlaps an
 * earlier one with other bytes is refused (the first copy wins). */
Test(await, gaps_and_conflicts)
{
	struct hg_await_pool *p = pool(0, 1 << 20);
	struct hg_await a = {0};
	hg_await_begin(p, &a, 1, 1, 0);
	cr_expect(hg_await_release(p, &a, 11, B("klmnopqrst"), 10));
	cr_expect(hg_await_release(p, &a, 1, B("abcde"), 5));
	cr_expect(!hg_await_release(p, &a, 3, B("cXe"), 3));
	cr_expect_eq(hg_await_compare(p, &a, 6, B("FGHIJ"), 5), HG_AWAIT_NEW);
	cr_expect_eq(hg_await_compare(p, &a, 1, B("abcdeFGHIJklm"), 13), HG_AWAIT_SAME);
	cr_expect_eq(hg_await_compare(p, &a, 3, B("cXe"), 3), HG_AWAIT_DIFFERS);
	cr_expect(!hg_await_acked(&a, 1, 11));
	cr_expect(hg_await_acked(&a, 1, 21));
	hg_await_end(p, &a, false);
	hg_await_pool_free(p);
}

/* A wait that outlasts HG_AWAIT_SLOW_US is said once. */
Test(await, slow_once)
{
	struct hg_await_pool *p = pool(0, 1 << 20);
	struct hg_await a = {0};
	hg_await_begin(p, &a, 1, 1, 1000);
	cr_expect(!hg_await_slow(p, &a, 1000 + HG_AWAIT_SLOW_US - 1));
	cr_expect(!hg_await_slow(p, &a, 5)); /* a clock stepped back */
	cr_expect(hg_await_slow(p, &a, 1000 + HG_AWAIT_SLOW_US));
	cr_expect(!hg_await_slow(p, &a, 1000 + 2 * HG_AWAIT_SLOW_US));
	struct hg_await_stats st;
	hg_await_get_stats(p, &st);
	cr_expect_eq(st.slow, 1);
	hg_await_end(p, &a, false);
	hg_await_pool_free(p);
}

/* Past the per-flow cap a released byte is not kept: a re-send over it
 * cannot be compared and is refused; over the pool's total a flow keeps
 * nothing, the same. */
Test(await, caps_refuse)
{
	struct hg_await_pool *p = pool(1024, 1 << 20);
	struct hg_await a = {0};
	hg_await_begin(p, &a, 1, 1, 0);
	uint8_t big[2000];
	memset(big, 'a', sizeof(big));
	cr_expect(hg_await_release(p, &a, 1, big, sizeof(big)));
	cr_expect(a.lost);
	cr_expect_eq(hg_await_compare(p, &a, 1, big, 1000), HG_AWAIT_SAME);
	cr_expect_eq(hg_await_compare(p, &a, 1, big, 1500), HG_AWAIT_UNKNOWN);
	cr_expect_eq(hg_await_compare(p, &a, 2001, big, 10), HG_AWAIT_NEW);
	struct hg_await_stats st;
	hg_await_get_stats(p, &st);
	cr_expect_eq(st.over_cap, 1);
	cr_expect_eq(st.unknown, 1);
	hg_await_end(p, &a, false);
	hg_await_pool_free(p);

	p = pool(1024, 0);
	hg_await_begin(p, &a, 1, 1, 0);
	cr_expect(hg_await_release(p, &a, 1, big, 10));
	cr_expect_eq(hg_await_compare(p, &a, 1, big, 10), HG_AWAIT_UNKNOWN);
	cr_expect_eq(hg_await_compare(p, &a, 11, big, 10), HG_AWAIT_NEW);
	hg_await_get_stats(p, &st);
	cr_expect_eq(st.bytes_now, 0);
	hg_await_end(p, &a, false);
	hg_await_pool_free(p);
}
