/* await.h - a TCP flow the live daemon passed, until the server has
 * acknowledged the bytes that were inspected (issue 11, "insertion after
 * the verdict"). The server may discard a segment the daemon inspected (a
 * PAWS-old timestamp, an ACK below its window) and accept another with the
 * same sequence range and other bytes; so until its ACK covers what was
 * released, the flow stays on the daemon's path and every client segment is
 * compared with the bytes released at the verdict: the same bytes go on,
 * other bytes are dropped (the first copy wins, as in the inspector's
 * reassembly, runtime/stream.c).
 *
 * One struct hg_await lives in the caller's per-flow state; the bytes it
 * keeps come from a pool that bounds them: flow_bytes a flow (bytes
 * released past them are not kept, and a re-send over them cannot be
 * compared: it is refused), total_bytes in all (over it a flow keeps no
 * bytes at all, the same refusal). */
#ifndef HOSTGATE_AWAIT_H
#define HOSTGATE_AWAIT_H

#include <stdbool.h>
#include <stdint.h>

struct hg_await_config {
	uint32_t flow_bytes;  /* default 16 KiB (the stream depth's default) */
	uint64_t total_bytes; /* default 16 MiB */
};

struct hg_await_stats {
	uint64_t flows_now, bytes_now;
	uint64_t started;  /* flows that waited for the server's ACK */
	uint64_t settled;  /* ... and got it */
	uint64_t resent;   /* client segments over released bytes, the same bytes: sent on */
	uint64_t differ;   /* ... with other bytes: dropped */
	uint64_t unknown;  /* ... over released bytes not kept (caps): dropped */
	uint64_t over_cap; /* flows that could not keep all their released bytes */
	uint64_t slow;     /* flows still waiting HG_AWAIT_SLOW_US after the verdict */
};

struct hg_await_pool;

/* A flow's state: zeroed is "not waiting". */
struct hg_await {
	uint32_t start;  /* sequence number of the stream's first byte (ISN + 1) */
	uint32_t end;    /* one past the last byte released (sequence number) */
	uint32_t ct_id;  /* the connection it waits for (the verdict's key) */
	uint32_t cap;    /* bytes buf holds room for (bitmap after them) */
	uint32_t hi;     /* offset one past the highest byte kept */
	uint8_t *buf;    /* cap bytes, then a bitmap of the ones kept */
	uint64_t since_us;
	bool active;
	bool lost;       /* released bytes past what could be kept */
	bool slow;       /* said to wait long (hg_await_slow) */
};

enum hg_await_cmp {
	HG_AWAIT_NEW,     /* no released byte in it: send on */
	HG_AWAIT_SAME,    /* released bytes, all the same: send on */
	HG_AWAIT_DIFFERS, /* a released byte differs: drop */
	HG_AWAIT_UNKNOWN, /* over released bytes that were not kept: drop */
};

void hg_await_config_defaults(struct hg_await_config *c);
/* NULL with errno on failure. */
struct hg_await_pool *hg_await_pool_new(const struct hg_await_config *c);
void hg_await_pool_free(struct hg_await_pool *p);
void hg_await_get_stats(const struct hg_await_pool *p, struct hg_await_stats *out);

/* Starts waiting: the stream starts at start (the client's ISN + 1), the
 * connection is ct_id. Any earlier state of a is ended first. */
void hg_await_begin(struct hg_await_pool *p, struct hg_await *a, uint32_t start, uint32_t ct_id,
		    uint64_t now_us);
/* Records a released segment's payload (seq, len bytes): kept where room
 * allows, the first copy of a byte winning. False when it carried a byte
 * that differs from one released before (the caller drops it: the server
 * must see the bytes the inspector saw, and the inspector kept the first). */
bool hg_await_release(struct hg_await_pool *p, struct hg_await *a, uint32_t seq, const uint8_t *data,
		      uint32_t len);
/* Whether nothing was released (no byte to wait for). */
bool hg_await_empty(const struct hg_await *a);
/* Compares a client segment with what was released (counted). */
enum hg_await_cmp hg_await_compare(struct hg_await_pool *p, const struct hg_await *a, uint32_t seq,
				   const uint8_t *data, uint32_t len);
/* Whether a server ACK (ack, of connection ct_id) covers all released
 * bytes: then the wait is over (hg_await_end). */
bool hg_await_acked(const struct hg_await *a, uint32_t ct_id, uint32_t ack);
/* Whether the wait has lasted over HG_AWAIT_SLOW_US at now_us, true once
 * per flow (counted slow): the server's ACKs do not reach the daemon. */
#define HG_AWAIT_SLOW_US 10000000ull
bool hg_await_slow(struct hg_await_pool *p, struct hg_await *a, uint64_t now_us);
/* Ends the wait: acknowledged (counted settled) or abandoned. */
void hg_await_end(struct hg_await_pool *p, struct hg_await *a, bool settled);

#endif
