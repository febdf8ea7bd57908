/* stream.h - one shipped log: a file followed (tail), the batch being
 * built or sent, the log group and stream it goes to, its backoff and its
 * counts. The shipper steps each stream in turn; a stream that waits on
 * the endpoint (backoff) stops reading its file meanwhile. */
#ifndef HOSTGATE_SHIP_STREAM_H
#define HOSTGATE_SHIP_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "batch.h"
#include "logs_api.h"
#include "state.h"
#include "tail.h"

struct ship_timing {
	int64_t flush_us;        /* a batch waits this long for more lines */
	int64_t backoff_base_us; /* first retry delay; doubles per failure */
	int64_t backoff_cap_us;  /* the doubling's cap (60 s) */
	int64_t rotate_wait_us;  /* a rotated file is read this long after the change */
};

struct ship_counts {
	uint64_t events, bytes, calls, acked_batches;
	uint64_t throttled, server_errors, network_errors, auth_errors, other_errors, no_credentials;
	uint64_t splits, streams_created, groups_created, create_errors;
	uint64_t skip_empty, skip_too_large, skip_invalid_utf8, skip_too_old, skip_too_new;
	uint64_t rejected_too_old, rejected_too_new, rejected_expired, rejected_invalid;
	uint64_t no_timestamp, read_errors, state_errors;
};

struct ship_stream {
	const char *name;  /* "alert", "flow", "metrics": its state entry */
	const char *group, *stream;
	bool emf;          /* sent with x-amzn-logs-format: json/emf */
	bool create_group; /* --create-group */
	struct tail tail;
	struct batch batch;
	struct state_entry *state; /* its acknowledged position */
	int64_t next_try_us;
	unsigned failures;   /* consecutive, for the backoff */
	int64_t waiting_since_us; /* first failure of the current run; 0: none */
	bool force_refresh;
	enum logs_outcome last;
	struct ship_counts c;
};

struct shipper {
	struct logs_client *api;
	struct ship_timing t;
	const char *state_path;
	struct state_entry *states;
	size_t n_states;
	struct jbuf body; /* request scratch */
	FILE *log;        /* messages (stderr) */
};

void ship_stream_init(struct ship_stream *s, const char *name, const char *path, const char *group,
		      const char *stream, bool emf, struct state_entry *st);
void ship_stream_fini(struct ship_stream *s);

/* Does what is due on s: reads lines into the batch, sends it when closed
 * or old enough (or at once when drain), handles the answer. Returns the
 * time (µs) it wants to be stepped again at the latest. */
int64_t ship_stream_step(struct shipper *sh, struct ship_stream *s, int64_t now_us, bool drain);
/* True when everything written to the file so far is acknowledged. */
bool ship_stream_idle(struct ship_stream *s);
/* Bytes of the log not acknowledged yet (bounded only by the disk and
 * logrotate while the endpoint is unreachable). */
uint64_t ship_stream_backlog(const struct ship_stream *s);
/* The stream's counts as a JSON object's members (no braces); waiting_s is
 * how long it has been failing at now_us. */
void ship_stream_stats(const struct ship_stream *s, int64_t now_us, FILE *out);

#endif
