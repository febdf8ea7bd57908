/* batch.h - one PutLogEvents batch, closed by the API's limits (API
 * reference, PutLogEvents): 10,000 events, 1,048,576 bytes counted as the
 * UTF-8 messages plus 26 per event, a span under 24 hours. Events are kept
 * in file order (so acknowledging a prefix is a file offset) and sent
 * sorted by timestamp (stable). A batch rejected as invalid is split in
 * halves down to the single event at fault. */
#ifndef HOSTGATE_SHIP_BATCH_H
#define HOSTGATE_SHIP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "hostgate/util.h"

#define BATCH_MAX_EVENTS 10000u
#define BATCH_MAX_BYTES 1048576u
#define BATCH_EVENT_OVERHEAD 26u
#define BATCH_MAX_SPAN_MS (24ll * 3600 * 1000)
/* "Each log event can be no larger than 256 KB", counted with its 26 bytes. */
#define EVENT_MAX_BYTES 262144u
#define EVENT_MAX_MESSAGE (EVENT_MAX_BYTES - BATCH_EVENT_OVERHEAD)
#define EVENT_MAX_AGE_MS (14ll * 24 * 3600 * 1000)
#define EVENT_MAX_AHEAD_MS (2ll * 3600 * 1000)

struct batch_event {
	int64_t ts_ms;
	size_t msg_off;   /* in batch.msgs */
	uint32_t msg_len;
	uint64_t end_off; /* file offset after this event's line */
};

struct batch {
	HG_VEC(struct batch_event) ev;
	struct jbuf msgs;
	uint64_t bytes;       /* counted bytes */
	int64_t tmin, tmax;
	uint64_t ino;         /* the file the offsets are in */
	uint64_t end_off;     /* after the last line taken (events and skipped lines) */
	bool dirty;           /* lines taken (events or skipped) since the last ack */
	bool closed;          /* full: send it now */
	int64_t opened_us;    /* when its first line was taken */
	/* sending: events [0, acked) are acknowledged; the stack holds the ends
	 * of the ranges still to send (split halves) */
	size_t acked;
	HG_VEC(size_t) ends;
	size_t *order;        /* scratch: indices sorted by time */
};

void batch_init(struct batch *b);
void batch_fini(struct batch *b);
/* Empties it for the next lines of file ino. */
void batch_reset(struct batch *b, uint64_t ino);
/* Adds an event; false (and closed set) when it would break a limit: the
 * caller keeps the line for the next batch. */
bool batch_add(struct batch *b, const char *msg, size_t len, int64_t ts_ms, uint64_t end_off, int64_t now_us);
/* A line taken but not sent (counted and skipped): moves end_off. */
void batch_skip(struct batch *b, uint64_t end_off, int64_t now_us);

/* The range to send now: [*lo, *hi); false when all is acknowledged. */
bool batch_next_range(struct batch *b, size_t *lo, size_t *hi);
/* The range was accepted: its events are acknowledged; returns the file
 * offset now acknowledged. */
uint64_t batch_range_done(struct batch *b);
/* The range was refused as invalid: split it (true), or it is one event
 * (false: the caller counts it rejected and calls batch_range_done). */
bool batch_range_split(struct batch *b);

/* The PutLogEvents request for events [lo, hi), sorted by timestamp. */
void batch_body(struct batch *b, size_t lo, size_t hi, const char *group, const char *stream, struct jbuf *out);

/* What a log line is, for shipping. */
enum line_kind {
	LINE_OK,
	LINE_EMPTY,       /* nothing to send */
	LINE_TOO_LARGE,   /* over EVENT_MAX_MESSAGE */
	LINE_INVALID_UTF8,/* CloudWatch takes UTF-8 text only */
	LINE_TOO_OLD,     /* more than 14 days before now */
	LINE_TOO_NEW,     /* more than 2 hours after now */
};
/* Classifies a line (*n: its length; trailing CRs dropped) and finds its timestamp (ms): the EMF _aws.Timestamp,
 * the EVE "timestamp", the ANFW event.timestamp, the envelope's
 * event_timestamp, in that order; *has_ts false when none (now is used). */
enum line_kind line_classify(const char *s, size_t *n, int64_t now_ms, int64_t *ts_ms, bool *has_ts);

#endif
