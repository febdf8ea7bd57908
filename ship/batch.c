/* batch.c - PutLogEvents batches: the API's limits applied as lines are
 * taken, file order kept for acknowledgement, time order at sending. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"

void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
}

void batch_fini(struct batch *b)
{
	hg_vec_free(&b->ev);
	hg_vec_free(&b->ends);
	jbuf_free(&b->msgs);
	free(b->order);
	memset(b, 0, sizeof(*b));
}

void batch_reset(struct batch *b, uint64_t ino)
{
	b->ev.n = 0;
	b->msgs.n = 0;
	b->bytes = 0;
	b->tmin = b->tmax = 0;
	b->ino = ino;
	b->dirty = b->closed = false;
	b->opened_us = 0;
	b->acked = 0;
	b->ends.n = 0;
}

static void touch(struct batch *b, int64_t now_us)
{
	if (!b->dirty) {
		b->dirty = true;
		b->opened_us = now_us;
	}
}

bool batch_add(struct batch *b, const char *msg, size_t len, int64_t ts_ms, uint64_t end_off, int64_t now_us)
{
	uint64_t cost = len + BATCH_EVENT_OVERHEAD;
	if (b->ev.n) {
		int64_t lo = ts_ms < b->tmin ? ts_ms : b->tmin, hi = ts_ms > b->tmax ? ts_ms : b->tmax;
		if (b->ev.n >= BATCH_MAX_EVENTS || b->bytes + cost > BATCH_MAX_BYTES || hi - lo >= BATCH_MAX_SPAN_MS) {
			b->closed = true;
			return false;
		}
		b->tmin = lo;
		b->tmax = hi;
	} else {
		b->tmin = b->tmax = ts_ms;
	}
	touch(b, now_us);
	struct batch_event e = {ts_ms, b->msgs.n, (uint32_t)len, end_off};
	jbuf_put(&b->msgs, msg, len);
	hg_vec_push(&b->ev, e);
	b->bytes += cost;
	b->end_off = end_off;
	if (b->ev.n == BATCH_MAX_EVENTS || b->bytes + BATCH_EVENT_OVERHEAD + 1 > BATCH_MAX_BYTES)
		b->closed = true;
	return true;
}

void batch_skip(struct batch *b, uint64_t end_off, int64_t now_us)
{
	touch(b, now_us);
	b->end_off = end_off;
}

bool batch_next_range(struct batch *b, size_t *lo, size_t *hi)
{
	if (b->acked >= b->ev.n)
		return false;
	if (!b->ends.n)
		hg_vec_push(&b->ends, b->ev.n);
	*lo = b->acked;
	*hi = b->ends.v[b->ends.n - 1];
	return true;
}

uint64_t batch_range_done(struct batch *b)
{
	if (b->ends.n)
		b->acked = b->ends.v[--b->ends.n];
	if (b->acked >= b->ev.n)
		return b->end_off;
	return b->ev.v[b->acked - 1].end_off;
}

bool batch_range_split(struct batch *b)
{
	size_t lo, hi;
	if (!batch_next_range(b, &lo, &hi) || hi - lo < 2)
		return false;
	hg_vec_push(&b->ends, lo + (hi - lo) / 2);
	return true;
}

static int by_time(const void *pa, const void *pb, void *ud)
{
	const struct batch *b = ud;
	size_t a = *(const size_t *)pa, c = *(const size_t *)pb;
	int64_t ta = b->ev.v[a].ts_ms, tc = b->ev.v[c].ts_ms;
	if (ta != tc)
		return ta < tc ? -1 : 1;
	return a < c ? -1 : a > c;
}

void batch_body(struct batch *b, size_t lo, size_t hi, const char *group, const char *stream, struct jbuf *out)
{
	out->n = 0;
	b->order = xreallocarray(b->order, BATCH_MAX_EVENTS, sizeof(size_t));
	size_t n = hi - lo;
	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		b->order[i] = lo + i;
		if (i && b->ev.v[lo + i].ts_ms < b->ev.v[lo + i - 1].ts_ms)
			sorted = false;
	}
	if (!sorted)
		qsort_r(b->order, n, sizeof(size_t), by_time, b);
	jbuf_reserve(out, b->msgs.n + n * 40 + 256);
	jbuf_puts(out, "{\"logGroupName\":");
	jbuf_put_string(out, group, strlen(group));
	jbuf_puts(out, ",\"logStreamName\":");
	jbuf_put_string(out, stream, strlen(stream));
	jbuf_puts(out, ",\"logEvents\":[");
	for (size_t i = 0; i < n; i++) {
		const struct batch_event *e = &b->ev.v[b->order[i]];
		jbuf_printf(out, "%s{\"timestamp\":%lld,\"message\":", i ? "," : "", (long long)e->ts_ms);
		jbuf_put_string(out, b->msgs.p + e->msg_off, e->msg_len);
		jbuf_put(out, "}", 1);
	}
	jbuf_puts(out, "]}");
}

/* ------------------------------------------------------------- lines */

/* event_timestamp's seconds in milliseconds, saturated: a hostile value
 * becomes "too far ahead" or "too old" (counted and skipped), never an
 * overflow. */
static int64_t secs_to_ms(int64_t secs)
{
	if (secs > INT64_MAX / 1000)
		return INT64_MAX;
	if (secs < INT64_MIN / 1000)
		return INT64_MIN;
	return secs * 1000;
}

static bool ts_of(const char *s, size_t n, int64_t *ms)
{
	struct json_val v;
	int64_t x;
	/* the cheap test first: one of the names must be in the line at all */
	if (memmem(s, n, "\"_aws\"", 6) && json_getv(s, n, &v, "_aws", "Timestamp", NULL) && json_int(&v, &x)) {
		*ms = x;
		return true;
	}
	const char *const paths[][3] = {{"timestamp", NULL, NULL}, {"event", "timestamp", NULL}};
	for (size_t k = 0; k < 2; k++) {
		if (!json_lookup(s, n, paths[k], &v))
			return false; /* not JSON: no timestamp of its own */
		if (v.type == JSON_STRING && iso8601_us(v.p, v.n, &x)) {
			*ms = x / 1000;
			return true;
		}
	}
	if (json_getv(s, n, &v, "event_timestamp", NULL)) {
		char buf[24];
		if (v.type == JSON_STRING && v.n < sizeof(buf)) {
			memcpy(buf, v.p, v.n);
			buf[v.n] = 0;
			struct json_val num = {JSON_NUMBER, buf, v.n};
			if (json_int(&num, &x)) {
				*ms = secs_to_ms(x);
				return true;
			}
		} else if (json_int(&v, &x)) {
			*ms = secs_to_ms(x);
			return true;
		}
	}
	return false;
}

enum line_kind line_classify(const char *s, size_t *np, int64_t now_ms, int64_t *ts_ms, bool *has_ts)
{
	size_t n = *np;
	while (n && s[n - 1] == '\r')
		n--;
	*np = n;
	*has_ts = false;
	*ts_ms = now_ms;
	if (!n)
		return LINE_EMPTY;
	if (n > EVENT_MAX_MESSAGE)
		return LINE_TOO_LARGE;
	size_t bad;
	if (!hg_utf8_valid((const unsigned char *)s, n, &bad))
		return LINE_INVALID_UTF8;
	int64_t ts;
	if (ts_of(s, n, &ts)) {
		*has_ts = true;
		*ts_ms = ts;
	}
	if (*ts_ms < now_ms - EVENT_MAX_AGE_MS)
		return LINE_TOO_OLD;
	if (*ts_ms > now_ms + EVENT_MAX_AHEAD_MS)
		return LINE_TOO_NEW;
	return LINE_OK;
}
