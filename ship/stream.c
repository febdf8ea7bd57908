/* stream.c - one log followed and shipped: lines taken into a batch under
 * the PutLogEvents rules, the batch sent, the answer acted on:
 *
 *   200           acknowledged: the state file moves past the sent lines;
 *                 rejectedLogEventsInfo counted and logged
 *   throttling,   the same batch again after a backoff (exponential with
 *   5xx, network  jitter, capped); the file is not read meanwhile
 *   auth error    credentials fetched again (at most once a minute), backoff
 *   invalid       the batch split in halves down to the event at fault,
 *                 which is counted and skipped
 *   not found     CreateLogStream (and CreateLogGroup with --create-group),
 *                 then the batch again
 *
 * Lines the API would refuse whatever we do (empty, over 256 KB, not UTF-8,
 * older than 14 days, more than 2 hours ahead) are counted and skipped; the
 * acknowledged offset moves past them with the batch they were read in. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "stream.h"

void ship_stream_init(struct ship_stream *s, const char *name, const char *path, const char *group,
		      const char *stream, bool emf, struct state_entry *st)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->group = group;
	s->stream = stream;
	s->emf = emf;
	s->state = st;
	tail_init(&s->tail, path, st->ino, st->off, EVENT_MAX_MESSAGE);
	batch_init(&s->batch);
	batch_reset(&s->batch, s->tail.ino);
}

void ship_stream_fini(struct ship_stream *s)
{
	tail_fini(&s->tail);
	batch_fini(&s->batch);
}

static void say(struct shipper *sh, struct ship_stream *s, const char *fmt, ...) HG_PRINTF(3, 4);
static void say(struct shipper *sh, struct ship_stream *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(sh->log, "hostgate ship: %s: ", s->name);
	vfprintf(sh->log, fmt, ap);
	fputc('\n', sh->log);
	fflush(sh->log);
	va_end(ap);
}

static void save_state(struct shipper *sh, struct ship_stream *s, uint64_t ino, uint64_t off)
{
	s->state->ino = ino;
	s->state->off = off;
	int rc = state_save(sh->state_path, sh->states, sh->n_states);
	if (rc) {
		s->c.state_errors++;
		say(sh, s, "cannot write %s: %s (shipping goes on; a restart may repeat)", sh->state_path,
		    strerror(-rc));
	}
}

/* Takes lines into the batch until it closes or the file has no more. */
static void fill(struct shipper *sh, struct ship_stream *s, int64_t now_us)
{
	struct batch *b = &s->batch;
	int64_t now_ms = now_us / 1000;
	while (!b->closed) {
		struct tail_line l;
		int r = tail_peek(&s->tail, &l);
		if (r < 0) {
			s->c.read_errors++;
			say(sh, s, "read error on %s: %s", s->tail.path, strerror(errno));
			return;
		}
		if (!r) {
			if (b->dirty)
				return; /* the batch goes first; rotation after */
			uint64_t before = s->tail.ino;
			if (tail_rotate(&s->tail, now_us, sh->t.rotate_wait_us)) {
				batch_reset(b, s->tail.ino);
				if (s->tail.ino != before || !s->state->ino) {
					say(sh, s, "now reading %s (inode %" PRIu64 ")", s->tail.path, s->tail.ino);
					save_state(sh, s, s->tail.ino, tail_offset(&s->tail));
				}
				continue;
			}
			if (s->tail.have_peek)
				continue;
			return;
		}
		if (!b->dirty)
			b->ino = s->tail.ino;
		if (l.too_long) {
			s->c.skip_too_large++;
			batch_skip(b, l.end, now_us);
			tail_consume(&s->tail);
			continue;
		}
		size_t n = l.len;
		int64_t ts;
		bool has_ts;
		enum line_kind k = line_classify(l.p, &n, now_ms, &ts, &has_ts);
		uint64_t *skip = NULL;
		switch (k) {
		case LINE_OK: break;
		case LINE_EMPTY: skip = &s->c.skip_empty; break;
		case LINE_TOO_LARGE: skip = &s->c.skip_too_large; break;
		case LINE_INVALID_UTF8: skip = &s->c.skip_invalid_utf8; break;
		case LINE_TOO_OLD: skip = &s->c.skip_too_old; break;
		case LINE_TOO_NEW: skip = &s->c.skip_too_new; break;
		}
		if (skip) {
			(*skip)++;
			batch_skip(b, l.end, now_us);
			tail_consume(&s->tail);
			continue;
		}
		if (!batch_add(b, l.p, n, ts, l.end, now_us))
			return; /* closed; the line waits for the next batch */
		if (!has_ts)
			s->c.no_timestamp++;
		tail_consume(&s->tail);
	}
}

static void backoff(struct shipper *sh, struct ship_stream *s, int64_t now_us)
{
	if (!s->waiting_since_us)
		s->waiting_since_us = now_us;
	unsigned k = s->failures < 30 ? s->failures : 30;
	s->failures++;
	int64_t d = sh->t.backoff_base_us << k;
	if (d > sh->t.backoff_cap_us || d <= 0)
		d = sh->t.backoff_cap_us;
	/* equal jitter: half fixed, half random, so retries of many
	 * shippers spread out without ever retrying at once */
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint64_t)now_us * 6364136223846793005ull;
	int64_t half = d / 2;
	s->next_try_us = now_us + half + (half ? (int64_t)(rnd % (uint64_t)half) : 0);
}

static void succeeded(struct ship_stream *s)
{
	s->failures = 0;
	s->waiting_since_us = 0;
	s->next_try_us = 0;
}

/* CreateLogStream (and CreateLogGroup first when allowed and needed). */
static bool create(struct shipper *sh, struct ship_stream *s)
{
	struct jbuf *b = &sh->body;
	for (int pass = 0; pass < 2; pass++) {
		b->n = 0;
		jbuf_puts(b, "{\"logGroupName\":");
		jbuf_put_string(b, s->group, strlen(s->group));
		jbuf_puts(b, ",\"logStreamName\":");
		jbuf_put_string(b, s->stream, strlen(s->stream));
		jbuf_puts(b, "}");
		struct logs_result r;
		logs_call(sh->api, "CreateLogStream", b->p, b->n, false, s->force_refresh, &r);
		s->force_refresh = false;
		s->c.calls++;
		if (r.outcome == LOGS_OK || r.outcome == LOGS_EXISTS) {
			if (r.outcome == LOGS_OK) {
				s->c.streams_created++;
				say(sh, s, "created log stream %s in %s", s->stream, s->group);
			}
			return true;
		}
		if (r.outcome == LOGS_NOT_FOUND && s->create_group && !pass) {
			b->n = 0;
			jbuf_puts(b, "{\"logGroupName\":");
			jbuf_put_string(b, s->group, strlen(s->group));
			jbuf_puts(b, "}");
			struct logs_result g;
			logs_call(sh->api, "CreateLogGroup", b->p, b->n, false, false, &g);
			s->c.calls++;
			if (g.outcome == LOGS_OK) {
				s->c.groups_created++;
				say(sh, s, "created log group %s", s->group);
			}
			if (g.outcome == LOGS_OK || g.outcome == LOGS_EXISTS)
				continue;
			r = g;
		}
		s->c.create_errors++;
		if (r.outcome == LOGS_AUTH)
			s->force_refresh = true;
		say(sh, s, "cannot create log stream %s in %s: %s%s%s%s", s->stream, s->group,
		    r.type[0] ? r.type : logs_outcome_name(r.outcome), r.message[0] ? " (" : "", r.message,
		    r.message[0] ? ")" : "");
		if (r.outcome == LOGS_NOT_FOUND && !s->create_group)
			say(sh, s, "the log group %s does not exist: create it, or give --create-group", s->group);
		return false;
	}
	return false;
}

static void count_rejected(struct shipper *sh, struct ship_stream *s, const struct logs_result *r, size_t n)
{
	uint64_t nn = 0, no = 0, ne = 0;
	if (r->too_new_start >= 0 && (size_t)r->too_new_start < n)
		nn = n - (size_t)r->too_new_start;
	if (r->too_old_end >= 0)
		no = (uint64_t)HG_MIN((size_t)r->too_old_end + 1, n);
	if (r->expired_end >= 0)
		ne = (uint64_t)HG_MIN((size_t)r->expired_end + 1, n);
	if (!(nn | no | ne))
		return;
	s->c.rejected_too_new += nn;
	s->c.rejected_too_old += no;
	s->c.rejected_expired += ne;
	say(sh, s, "CloudWatch rejected %" PRIu64 " too new, %" PRIu64 " too old, %" PRIu64
		   " expired of %zu events (rejectedLogEventsInfo)",
	    nn, no, ne, n);
}

/* One PutLogEvents of the batch's current range, and what follows. */
static void send_range(struct shipper *sh, struct ship_stream *s, int64_t now_us)
{
	struct batch *b = &s->batch;
	size_t lo, hi;
	if (!batch_next_range(b, &lo, &hi)) {
		/* nothing (left) to send: lines skipped only, or all done */
		save_state(sh, s, b->ino, b->end_off);
		batch_reset(b, s->tail.ino);
		return;
	}
	batch_body(b, lo, hi, s->group, s->stream, &sh->body);
	struct logs_result r;
	logs_call(sh->api, "PutLogEvents", sh->body.p, sh->body.n, s->emf, s->force_refresh, &r);
	s->force_refresh = false;
	s->c.calls++;
	s->last = r.outcome;
	switch (r.outcome) {
	case LOGS_OK: {
		uint64_t nrej = 0;
		count_rejected(sh, s, &r, hi - lo);
		if (r.too_new_start >= 0 && (size_t)r.too_new_start < hi - lo)
			nrej += hi - lo - (size_t)r.too_new_start;
		int64_t olde = r.too_old_end > r.expired_end ? r.too_old_end : r.expired_end;
		if (olde >= 0)
			nrej += HG_MIN((size_t)olde + 1, hi - lo);
		s->c.events += hi - lo - HG_MIN(nrej, hi - lo);
		for (size_t i = lo; i < hi; i++)
			s->c.bytes += b->ev.v[i].msg_len;
		s->c.acked_batches++;
		uint64_t off = batch_range_done(b);
		if (s->waiting_since_us)
			say(sh, s, "delivering again after %.1f s of failures",
			    (double)(now_us - s->waiting_since_us) / 1e6);
		succeeded(s);
		if (b->acked >= b->ev.n) {
			save_state(sh, s, b->ino, b->end_off);
			batch_reset(b, s->tail.ino);
		} else {
			save_state(sh, s, b->ino, off);
		}
		return;
	}
	case LOGS_INVALID:
		if (batch_range_split(b)) {
			s->c.splits++;
			return; /* the first half next, at once */
		}
		s->c.rejected_invalid++;
		say(sh, s, "event at offset %" PRIu64 " refused (%s: %s): skipped",
		    lo ? b->ev.v[lo - 1].end_off : 0, r.type, r.message);
		save_state(sh, s, b->ino, batch_range_done(b));
		if (b->acked >= b->ev.n) {
			save_state(sh, s, b->ino, b->end_off);
			batch_reset(b, s->tail.ino);
		}
		return;
	case LOGS_NOT_FOUND:
		if (create(sh, s))
			return; /* the batch again, at once */
		break;
	case LOGS_AUTH:
		s->c.auth_errors++;
		s->force_refresh = true;
		break;
	case LOGS_THROTTLED: s->c.throttled++; break;
	case LOGS_SERVER: s->c.server_errors++; break;
	case LOGS_NETWORK: s->c.network_errors++; break;
	case LOGS_NO_CREDS: s->c.no_credentials++; break;
	case LOGS_EXISTS:
	case LOGS_OTHER: s->c.other_errors++; break;
	}
	/* A line per failure would flood the journal during an outage: the
	 * first and then every 10th. */
	if (s->failures % 10 == 0)
		say(sh, s, "PutLogEvents failed (%s%s%s%s), %u in a row; retrying with backoff",
		    r.type[0] ? r.type : logs_outcome_name(r.outcome), r.message[0] ? ": " : "", r.message,
		    r.status ? "" : "", s->failures + 1);
	backoff(sh, s, now_us);
}

int64_t ship_stream_step(struct shipper *sh, struct ship_stream *s, int64_t now_us, bool drain)
{
	if (s->next_try_us > now_us)
		return s->next_try_us;
	struct batch *b = &s->batch;
	uint64_t acked_before = s->c.acked_batches;
	/* a batch already in flight (split halves, a retry) goes first */
	if (b->acked || b->ends.n)
		send_range(sh, s, now_us);
	if (s->next_try_us > now_us)
		return s->next_try_us;
	if (!b->acked && !b->ends.n)
		fill(sh, s, now_us);
	if (b->dirty && (b->closed || drain || now_us - b->opened_us >= sh->t.flush_us))
		send_range(sh, s, now_us);
	if (s->next_try_us > now_us)
		return s->next_try_us;
	/* something was acknowledged: more lines may wait behind it (a
	 * backlog), so come back at once rather than at the next poll */
	if (s->c.acked_batches != acked_before || (b->dirty && b->closed))
		return now_us;
	if (b->dirty)
		return b->opened_us + sh->t.flush_us;
	return INT64_MAX;
}

bool ship_stream_idle(struct ship_stream *s)
{
	struct tail_line l;
	if (s->batch.dirty || s->tail.have_peek)
		return false;
	if (tail_peek(&s->tail, &l) > 0)
		return false;
	return !s->tail.rotated_since_us && !tail_switch_pending(&s->tail);
}

uint64_t ship_stream_backlog(const struct ship_stream *s)
{
	/* not read yet, plus read and not acknowledged */
	uint64_t read = tail_offset(&s->tail);
	uint64_t acked = s->state->ino == s->tail.ino ? s->state->off : 0;
	return tail_backlog(&s->tail) + (read > acked ? read - acked : 0);
}

void ship_stream_stats(const struct ship_stream *s, int64_t now_us, FILE *out)
{
	const struct ship_counts *c = &s->c;
	fprintf(out,
		"\"group\":\"%s\",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"calls\":%" PRIu64
		",\"batches\":%" PRIu64 ",\"backlog_bytes\":%" PRIu64 ",\"waiting_s\":%.1f,\"state\":\"%s\","
		"\"throttled\":%" PRIu64 ",\"server_errors\":%" PRIu64 ",\"network_errors\":%" PRIu64
		",\"auth_errors\":%" PRIu64 ",\"other_errors\":%" PRIu64 ",\"no_credentials\":%" PRIu64
		",\"splits\":%" PRIu64 ",\"streams_created\":%" PRIu64 ",\"groups_created\":%" PRIu64
		",\"create_errors\":%" PRIu64 ",\"skipped\":{\"empty\":%" PRIu64 ",\"too_large\":%" PRIu64
		",\"invalid_utf8\":%" PRIu64 ",\"too_old\":%" PRIu64 ",\"too_new\":%" PRIu64
		"},\"rejected\":{\"too_old\":%" PRIu64 ",\"too_new\":%" PRIu64 ",\"expired\":%" PRIu64
		",\"invalid\":%" PRIu64 "},\"no_timestamp\":%" PRIu64 ",\"rotations\":%" PRIu64
		",\"truncations\":%" PRIu64 ",\"lost_files\":%" PRIu64 ",\"read_errors\":%" PRIu64
		",\"state_errors\":%" PRIu64,
		s->group, c->events, c->bytes, c->calls, c->acked_batches, ship_stream_backlog(s),
		s->waiting_since_us ? (double)(now_us - s->waiting_since_us) / 1e6 : 0.0,
		s->waiting_since_us ? "waiting" : "ok", c->throttled, c->server_errors, c->network_errors,
		c->auth_errors, c->other_errors, c->no_credentials, c->splits, c->streams_created, c->groups_created,
		c->create_errors, c->skip_empty, c->skip_too_large, c->skip_invalid_utf8, c->skip_too_old,
		c->skip_too_new, c->rejected_too_old, c->rejected_too_new, c->rejected_expired, c->rejected_invalid,
		c->no_timestamp, s->tail.st.rotations, s->tail.st.truncations, s->tail.st.lost_files, c->read_errors,
		c->state_errors);
}
