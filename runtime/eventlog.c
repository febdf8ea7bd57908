/* eventlog.c - alert and netflow events as ANFW log lines or flat EVE JSON.
 *
 * Layout, escaping and delivery rules are documented in eventlog.h. Events
 * are formatted straight into the output buffer by a tiny JSON builder
 * that never allocates, and written with write(2) so that a failed write
 * tells exactly which lines reached the file (one '\n' per event). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostgate/eventlog.h"

/* Room for any event: at most ~16 string fields of HG_EVENTLOG_FIELD_MAX
 * bytes, each escaped to at most 6 bytes per input byte, plus the fixed
 * keys. A line that still does not fit is counted lost. */
#define OUT_CAP (256u * 1024u)
/* How long closing an asynchronous log waits for its file to take the
 * queue before counting the rest lost. */
#define CLOSE_DRAIN_MS 2000

/* JSON readers that use doubles (JavaScript, CloudWatch) lose precision
 * above 2^53; Suricata masks its flow ids to 51 bits for that reason. */
#define FLOW_ID_MASK 0x0007ffffffffffffull

struct hg_eventlog {
	int fd;
	bool is_stdout;
	bool flush_each;
	bool midline;       /* a partial line was written before a failure */
	enum hg_log_format fmt;
	char *path;
	char *prefix;       /* {"firewall_name":...,"event_timestamp":" */
	size_t prefix_len;
	char *out;          /* pending whole lines */
	size_t out_len;
	uint64_t out_events;
	struct hg_eventlog_stats st;
	struct evq *q;      /* hg_eventlog_set_async: the writer thread's queue */
};

/* The queue of an asynchronous log: whole lines appended by the caller
 * into `in` (never more than cap bytes: an event that does not fit is
 * counted lost), swapped by the writer thread for its empty `wr` and
 * written from there without the lock, so the caller never waits for the
 * file. Everything below the mutex is shared; fd and midline belong to the
 * writer while it runs. */
struct evq {
	pthread_mutex_t mu;
	pthread_cond_t more, idle;
	pthread_t thread;
	char *in, *wr;
	size_t cap, in_len;
	uint64_t in_events;
	int new_fd;         /* a reopened file, taken by the writer at switch_at */
	size_t switch_at;   /* bytes of `in` that still go to the old file */
	bool busy;          /* the writer holds a batch */
	uint64_t busy_events;
	bool stop;
	/* Give up on the file (closing, and it would not take the queue in
	 * time): the writer's writes fail from here, so it returns and is
	 * joined. Never pthread_cancel: a thread unwound out of write()
	 * leaves its frames as they were, which AddressSanitizer then takes
	 * for overflows when the thread exits. */
	atomic_bool abort;
};

/* ------------------------------------------------------------ JSON builder */

struct jb {
	char *p;
	size_t len, cap;
	bool over;       /* ran out of room: the event is discarded */
	bool comma;      /* the next key or value needs a ',' first */
};

static void jb_raw(struct jb *b, const char *s, size_t n)
{
	if (!b->p) { /* measuring */
		b->len += n;
		return;
	}
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void jb_ch(struct jb *b, char c)
{
	if (!b->p) {
		b->len++;
		return;
	}
	if (b->over || b->len == b->cap) {
		b->over = true;
		return;
	}
	b->p[b->len++] = c;
}

#define jb_lit(b, s) jb_raw((b), (s), sizeof(s) - 1)

static void jb_sep(struct jb *b)
{
	if (b->comma)
		jb_ch(b, ',');
	b->comma = true;
}

/* "key": -- keys are our own literals, never escaped. */
static void jb_key_n(struct jb *b, const char *k, size_t n)
{
	jb_sep(b);
	jb_ch(b, '"');
	jb_raw(b, k, n);
	jb_lit(b, "\":");
	b->comma = false;
}
#define jb_key(b, k) jb_key_n((b), (k), sizeof(k) - 1)

static void jb_open(struct jb *b, const char *k, size_t n)
{
	if (k)
		jb_key_n(b, k, n);
	else
		jb_sep(b);
	jb_ch(b, '{');
	b->comma = false;
}
#define jb_open_obj(b, k) jb_open((b), (k), sizeof(k) - 1)

static void jb_close(struct jb *b)
{
	jb_ch(b, '}');
	b->comma = true;
}

static size_t u64_digits(char *d, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		d[i] = tmp[n - 1 - i];
	return n;
}

static void jb_u64(struct jb *b, uint64_t v)
{
	char d[20];
	jb_sep(b);
	jb_raw(b, d, u64_digits(d, v));
}

static void jb_bool(struct jb *b, bool v)
{
	jb_sep(b);
	if (v)
		jb_lit(b, "true");
	else
		jb_lit(b, "false");
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629 §4 table: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static const char hexd[16] = "0123456789abcdef";

static void jb_u00(struct jb *b, uint8_t c)
{
	char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
	jb_raw(b, e, 6);
}

/* Escapes s[0..n) (no quotes), keeping at most limit input bytes and never
 * cutting a UTF-8 sequence in two. Runs of plain bytes are copied at once. */
static void jb_escape(struct jb *b, const uint8_t *s, size_t n, size_t limit)
{
	size_t lim = HG_MIN(n, limit), i = 0, run = 0;

	while (i < lim) {
		uint8_t c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		jb_raw(b, (const char *)s + run, i - run);
		if (c < 0x80) {
			switch (c) {
			case '"': jb_lit(b, "\\\""); break;
			case '\\': jb_lit(b, "\\\\"); break;
			case '\n': jb_lit(b, "\\n"); break;
			case '\r': jb_lit(b, "\\r"); break;
			case '\t': jb_lit(b, "\\t"); break;
			default: jb_u00(b, c); break; /* other controls, DEL */
			}
			i++;
		} else {
			/* Validated against the whole input, so a character
			 * cut by the limit is left out rather than mangled. */
			size_t len = utf8_seq(s + i, n - i);
			if (len == 0) {
				jb_u00(b, c);
				i++;
			} else if (i + len > lim) {
				run = i;
				break;
			} else if (len == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
				   (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
				/* U+2028/2029: valid JSON, but they end lines
				 * in JavaScript and some log viewers. */
				jb_lit(b, "\\u202");
				jb_ch(b, s[i + 2] == 0xa8 ? '8' : '9');
				i += 3;
			} else {
				jb_raw(b, (const char *)s + i, len);
				i += len;
			}
		}
		run = i;
	}
	jb_raw(b, (const char *)s + run, i - run);
}

static void jb_strn(struct jb *b, const void *s, size_t n)
{
	jb_sep(b);
	jb_ch(b, '"');
	jb_escape(b, s, n, HG_EVENTLOG_FIELD_MAX);
	jb_ch(b, '"');
}

static void jb_str(struct jb *b, const char *s)
{
	jb_strn(b, s ? s : "", s ? strlen(s) : 0);
}

/* -------------------------------------------------------------- helpers */

size_t hg_json_escape(char *buf, size_t cap, const void *s, size_t len)
{
	struct jb b = {.p = buf, .cap = cap};

	if (buf)
		jb_escape(&b, s, len, len);
	if (!buf || b.over) {
		b = (struct jb){0}; /* p == NULL: count only */
		jb_escape(&b, s, len, len);
		return b.len;
	}
	if (b.len < cap)
		buf[b.len] = '\0';
	return b.len;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), by the
 * era/day-of-era arithmetic: no tables, no libc time zone state. */
static void civil_from_days(uint64_t days, uint64_t *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468; /* days since 0000-03-01 */
	uint64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

size_t hg_log_time_format(char *buf, size_t cap, uint64_t ts_us)
{
	char t[48], *p = t;
	uint64_t secs = ts_us / 1000000, y;
	unsigned usec = (unsigned)(ts_us % 1000000), m, d;
	unsigned sod = (unsigned)(secs % 86400);

	civil_from_days(secs / 86400, &y, &m, &d);
	if (y < 1000) {
		*p++ = (char)('0' + y / 1000);
		*p++ = (char)('0' + y / 100 % 10);
		p = put2(p, (unsigned)(y % 100));
	} else {
		p += u64_digits(p, y);
	}
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, sod / 3600);
	*p++ = ':';
	p = put2(p, sod / 60 % 60);
	*p++ = ':';
	p = put2(p, sod % 60);
	*p++ = '.';
	p = put2(p, usec / 10000);
	p = put2(p, usec / 100 % 100);
	p = put2(p, usec % 100);
	memcpy(p, "+0000", 5);
	p += 5;

	size_t n = (size_t)(p - t);
	if (cap) {
		size_t k = HG_MIN(n, cap - 1);
		memcpy(buf, t, k);
		buf[k] = '\0';
	}
	return n;
}

/* IANA protocol keywords, as Suricata prints them. */
const char *hg_log_proto_name(uint8_t ip_proto)
{
	switch (ip_proto) {
	case 0: return "HOPOPT";
	case 1: return "ICMP";
	case 2: return "IGMP";
	case 4: return "IPv4";
	case 6: return "TCP";
	case 17: return "UDP";
	case 41: return "IPv6";
	case 43: return "IPv6-Route";
	case 44: return "IPv6-Frag";
	case 47: return "GRE";
	case 50: return "ESP";
	case 51: return "AH";
	case 58: return "IPv6-ICMP";
	case 59: return "IPv6-NoNxt";
	case 60: return "IPv6-Opts";
	case 89: return "OSPFIGP";
	case 103: return "PIM";
	case 112: return "VRRP";
	case 132: return "SCTP";
	case 136: return "UDPLite";
	default: return NULL;
	}
}

const char *hg_log_format_name(enum hg_log_format f)
{
	return f == HG_LOG_EVE ? "eve" : "anfw";
}

bool hg_log_format_parse(const char *s, enum hg_log_format *out)
{
	if (!strcmp(s, "anfw"))
		*out = HG_LOG_ANFW;
	else if (!strcmp(s, "eve"))
		*out = HG_LOG_EVE;
	else
		return false;
	return true;
}

void hg_log_alert_from_engine(struct hg_log_alert *out, const struct hg_alert *a,
			      const char *policy_arn)
{
	*out = (struct hg_log_alert){
		.signature_id = a->sid,
		.rev = a->rev,
		.signature = a->msg,
		.blocked = a->blocked,
		.verdict = a->verdict_action,
		.resource_arn = a->group ? a->group->arn : policy_arn,
	};
}

/* ------------------------------------------------------------- delivery */

static int wait_writable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int r;
	do {
		r = poll(&pfd, 1, 1000);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -EAGAIN;
}

/* The writer thread's wait before each write: until the file takes bytes,
 * or abort. 0, or -EAGAIN when aborted. */
#define ABORT_POLL_MS 100
static int wait_writable_or_abort(int fd, const atomic_bool *abort)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	for (;;) {
		if (atomic_load(abort))
			return -EAGAIN;
		int r = poll(&pfd, 1, ABORT_POLL_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Writes all of buf; returns 0 or -errno, with *done the bytes written.
 * With abort (the writer thread), each write waits for the file to take
 * bytes and a pipe or socket is given at most PIPE_BUF at a time, which it
 * then takes without blocking: the writer can always see abort. */
static int write_all(int fd, const char *buf, size_t len, size_t *done, const atomic_bool *abort)
{
	size_t off = 0, most = len;
	int rc = 0;
	struct stat sb;
	if (abort && fstat(fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
		most = PIPE_BUF;

	while (off < len) {
		if (abort && (rc = wait_writable_or_abort(fd, abort)) != 0)
			break;
		ssize_t n = write(fd, buf + off, len - off < most ? len - off : most);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_writable(fd) == 0)
				continue;
			rc = -EAGAIN;
			break;
		}
		rc = n < 0 ? -errno : -EIO;
		break;
	}
	*done = off;
	return rc;
}

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;
	const char *end = p + n;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		lines++;
		p++;
	}
	return lines;
}

static void note_error(struct hg_eventlog *log, int rc)
{
	log->st.last_errno = -rc;
}

/* What one delivery did, added to the stats by whoever holds them. */
struct delivery {
	uint64_t written, lost, bytes;
	int rc;
};

static void add_delivery(struct hg_eventlog_stats *st, const struct delivery *d)
{
	st->events_written += d->written;
	st->events_lost += d->lost;
	st->bytes_written += d->bytes;
	if (d->rc)
		st->last_errno = -d->rc;
}

/* Writes buf (events whole lines) to the log's file: the caller's thread
 * for a synchronous log, the writer thread for an asynchronous one. */
static struct delivery deliver(struct hg_eventlog *log, const char *buf, size_t len, uint64_t events,
			       const atomic_bool *abort)
{
	struct delivery d = {0};
	size_t done = 0;
	if (log->is_stdout)
		fflush(stdout); /* keep order with stdio output on the same fd */
	if (log->midline) {
		/* End the line a failed write left half done, so every later
		 * line still parses on its own. */
		d.rc = write_all(log->fd, "\n", 1, &done, abort);
		d.bytes += done;
		if (d.rc == 0)
			log->midline = false;
	}
	done = 0;
	if (d.rc == 0) {
		d.rc = write_all(log->fd, buf, len, &done, abort);
		d.bytes += done;
	}
	if (d.rc == 0) {
		d.written = events;
	} else {
		uint64_t ok = count_lines(buf, done);
		d.written = ok;
		d.lost = events - ok;
		if (done && buf[done - 1] != '\n')
			log->midline = true;
	}
	return d;
}

static int enqueue(struct hg_eventlog *log);

int hg_eventlog_flush(struct hg_eventlog *log)
{
	if (!log || !log->out_len)
		return 0;
	if (log->q)
		return enqueue(log);
	struct delivery d = deliver(log, log->out, log->out_len, log->out_events, NULL);
	add_delivery(&log->st, &d);
	log->out_len = 0;
	log->out_events = 0;
	return d.rc;
}

/* ------------------------------------------------------ the writer thread */

/* Hands the formatted lines to the writer; never waits for the file. When
 * the queue has no room for them they are lost, counted. */
static int enqueue(struct hg_eventlog *log)
{
	struct evq *q = log->q;
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	if (q->in_len + log->out_len <= q->cap) {
		memcpy(q->in + q->in_len, log->out, log->out_len);
		q->in_len += log->out_len;
		q->in_events += log->out_events;
		pthread_cond_signal(&q->more);
	} else {
		log->st.events_lost += log->out_events;
		log->st.events_queue_full += log->out_events;
		log->st.last_errno = ENOBUFS;
		rc = -ENOBUFS;
	}
	pthread_mutex_unlock(&q->mu);
	log->out_len = 0;
	log->out_events = 0;
	return rc;
}

static void *writer_main(void *arg)
{
	struct hg_eventlog *log = arg;
	struct evq *q = log->q;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->in_len && q->new_fd < 0 && !q->stop)
			pthread_cond_wait(&q->more, &q->mu);
		if (!q->in_len && q->new_fd < 0 && q->stop)
			break;
		char *batch = q->in;
		size_t len = q->in_len, old_part = q->new_fd >= 0 ? q->switch_at : len;
		uint64_t events = q->in_events;
		int new_fd = q->new_fd;
		q->in = q->wr;
		q->wr = batch;
		q->in_len = 0;
		q->in_events = 0;
		q->new_fd = -1;
		q->busy = true;
		q->busy_events = events;
		pthread_mutex_unlock(&q->mu);

		/* The lines queued before a reopen go to the old file. */
		uint64_t old_events = count_lines(batch, old_part);
		struct delivery d = {0}, d2 = {0};
		if (old_part)
			d = deliver(log, batch, old_part, old_events, &q->abort);
		if (new_fd >= 0) {
			close(log->fd);
			log->fd = new_fd;
			log->midline = false; /* a fresh file starts on a line boundary */
		}
		if (len > old_part)
			d2 = deliver(log, batch + old_part, len - old_part, events - old_events, &q->abort);

		pthread_mutex_lock(&q->mu);
		add_delivery(&log->st, &d);
		add_delivery(&log->st, &d2);
		q->busy = false;
		pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int hg_eventlog_set_async(struct hg_eventlog *log, size_t queue_bytes)
{
	if (log->q)
		return 0;
	struct evq *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cap = queue_bytes < OUT_CAP ? OUT_CAP : queue_bytes;
	q->in = malloc(q->cap);
	q->wr = malloc(q->cap);
	q->new_fd = -1;
	int rc = -ENOMEM;
	if (!q->in || !q->wr)
		goto fail;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->idle, NULL);
	hg_eventlog_flush(log); /* what is pending goes first, from here */
	log->q = q;
	log->flush_each = true; /* each event is queued at once */
	rc = -pthread_create(&q->thread, NULL, writer_main, log);
	if (rc) {
		log->q = NULL;
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->more);
		pthread_cond_destroy(&q->idle);
		goto fail;
	}
	return 0;
fail:
	free(q->in);
	free(q->wr);
	free(q);
	return rc;
}

/* Stops the writer once the queue is written, waiting at most timeout_ms
 * for a file that does not take it (a pipe nobody reads): then what is
 * left is counted lost and the writer is cancelled in its write. */
static void stop_writer(struct hg_eventlog *log, int timeout_ms)
{
	struct evq *q = log->q;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->more);
	int r = 0;
	while ((q->in_len || q->busy) && r == 0)
		r = pthread_cond_timedwait(&q->idle, &q->mu, &until);
	/* Stuck: the writer's writes fail from now on, so the batch in its
	 * hands and what is queued are counted lost by its deliveries. */
	if (q->in_len || q->busy)
		atomic_store(&q->abort, true);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	if (q->new_fd >= 0) {
		close(log->fd);
		log->fd = q->new_fd;
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->idle);
	free(q->in);
	free(q->wr);
	free(q);
	log->q = NULL;
}

/* ------------------------------------------------------------- events */

static void ev_begin(struct hg_eventlog *log, struct jb *b, uint64_t ts_us, const char *arn)
{
	if (log->fmt == HG_LOG_EVE) {
		jb_ch(b, '{');
		b->comma = false;
		return;
	}
	char d[20];
	jb_raw(b, log->prefix, log->prefix_len);
	jb_raw(b, d, u64_digits(d, ts_us / 1000000));
	jb_ch(b, '"');
	b->comma = true;
	if (arn) {
		jb_open_obj(b, "aws_metadata");
		jb_key(b, "resource_arn");
		jb_str(b, arn);
		jb_close(b);
	}
	jb_open_obj(b, "event");
}

static void ev_end(struct hg_eventlog *log, struct jb *b)
{
	jb_ch(b, '}');
	if (log->fmt == HG_LOG_ANFW)
		jb_ch(b, '}');
	jb_ch(b, '\n');
}

static bool proto_has_ports(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

/* timestamp ... app_proto, with the tuple as seen in direction fwd. */
static void ev_tuple(struct jb *b, const struct hg_log_flow *f, uint64_t ts_us,
		     const char *event_type, bool fwd)
{
	char tbuf[48], ip[64];
	const struct hg_log_dir *dir = fwd ? &f->ts : &f->tc;

	jb_key(b, "timestamp");
	jb_sep(b);
	jb_ch(b, '"');
	jb_raw(b, tbuf, HG_MIN(hg_log_time_format(tbuf, sizeof(tbuf), ts_us), sizeof(tbuf) - 1));
	jb_ch(b, '"');
	jb_key(b, "flow_id");
	jb_u64(b, f->flow_id & FLOW_ID_MASK);
	jb_key(b, "event_type");
	jb_str(b, event_type);
	hg_ip_format(fwd ? &f->src : &f->dst, ip, sizeof(ip));
	jb_key(b, "src_ip");
	jb_str(b, ip);
	if (proto_has_ports(f->ip_proto)) {
		jb_key(b, "src_port");
		jb_u64(b, fwd ? f->sport : f->dport);
	}
	hg_ip_format(fwd ? &f->dst : &f->src, ip, sizeof(ip));
	jb_key(b, "dest_ip");
	jb_str(b, ip);
	if (proto_has_ports(f->ip_proto)) {
		jb_key(b, "dest_port");
		jb_u64(b, fwd ? f->dport : f->sport);
	}
	jb_key(b, "proto");
	const char *pn = hg_log_proto_name(f->ip_proto);
	if (pn) {
		jb_str(b, pn);
	} else {
		char num[4] = {(char)('0' + f->ip_proto / 100), (char)('0' + f->ip_proto / 10 % 10),
			       (char)('0' + f->ip_proto % 10), 0};
		jb_str(b, num);
	}
	if (f->ip_proto == 1 || f->ip_proto == 58) {
		jb_key(b, "icmp_type");
		jb_u64(b, dir->icmp_type);
		jb_key(b, "icmp_code");
		jb_u64(b, dir->icmp_code);
	}
	if (f->app_proto) {
		jb_key(b, "app_proto");
		jb_str(b, f->app_proto);
	}
}

static void jb_slice(struct jb *b, const char *key, size_t keylen, struct hg_slice s)
{
	if (!s.p)
		return;
	jb_key_n(b, key, keylen);
	jb_strn(b, s.p, s.len);
}
#define jb_slice_k(b, k, s) jb_slice((b), (k), sizeof(k) - 1, (s))

static void ev_app(struct jb *b, const struct hg_log_flow *f)
{
	if (f->tls) {
		jb_open_obj(b, "tls");
		jb_slice_k(b, "sni", f->tls->sni);
		jb_key(b, "version");
		jb_str(b, f->tls->version ? f->tls->version : "UNDETERMINED");
		jb_close(b);
	}
	if (f->http) {
		const struct hg_log_http *h = f->http;
		jb_open_obj(b, "http");
		jb_slice_k(b, "hostname", h->hostname);
		jb_slice_k(b, "url", h->url);
		jb_slice_k(b, "http_user_agent", h->user_agent);
		jb_slice_k(b, "http_method", h->method);
		jb_slice_k(b, "protocol", h->protocol);
		jb_key(b, "length");
		jb_u64(b, h->length);
		jb_close(b);
	}
	if (f->n_dns_queries) {
		jb_open_obj(b, "dns");
		jb_key(b, "query");
		jb_ch(b, '[');
		b->comma = false;
		for (size_t i = 0; i < f->n_dns_queries; i++) {
			jb_open(b, NULL, 0);
			jb_key(b, "type");
			jb_str(b, "query");
			jb_key(b, "rrname");
			jb_strn(b, f->dns_queries[i].p, f->dns_queries[i].len);
			jb_close(b);
		}
		jb_ch(b, ']');
		b->comma = true;
		jb_close(b);
	}
}

/* Formats one event into the output buffer with fill(); when it does not
 * fit behind the pending lines, flushes them and formats again. */
typedef void (*ev_fill_fn)(struct hg_eventlog *log, struct jb *b, const void *arg);

static int ev_emit(struct hg_eventlog *log, ev_fill_fn fill, const void *arg)
{
	int rc = 0;

	for (int attempt = 0;; attempt++) {
		struct jb b = {.p = log->out + log->out_len, .cap = OUT_CAP - log->out_len};
		fill(log, &b, arg);
		if (!b.over) {
			log->out_len += b.len;
			log->out_events++;
			break;
		}
		if (attempt == 0 && log->out_len) {
			rc = hg_eventlog_flush(log);
			continue;
		}
		log->st.events_lost++;
		note_error(log, -EMSGSIZE);
		return -EMSGSIZE;
	}
	if (log->flush_each || OUT_CAP - log->out_len < 4096) {
		int r = hg_eventlog_flush(log);
		if (r)
			rc = r;
	}
	return rc;
}

struct alert_args {
	const struct hg_log_flow *f;
	const struct hg_log_alert *a;
	uint64_t ts_us;
	bool to_server;
};

static void fill_alert(struct hg_eventlog *log, struct jb *b, const void *arg)
{
	const struct alert_args *x = arg;
	const struct hg_log_flow *f = x->f;
	const struct hg_log_alert *a = x->a;

	ev_begin(log, b, x->ts_us, a->resource_arn);
	ev_tuple(b, f, x->ts_us, "alert", x->to_server);
	jb_key(b, "direction");
	jb_str(b, x->to_server ? "to_server" : "to_client");
	if (f->tls || f->http) {
		/* Suricata attaches app-layer alerts to their transaction. */
		jb_key(b, "tx_id");
		jb_u64(b, 0);
	}
	jb_open_obj(b, "alert");
	jb_key(b, "action");
	jb_str(b, a->blocked ? "blocked" : "allowed");
	jb_key(b, "signature_id");
	jb_u64(b, a->signature_id);
	jb_key(b, "rev");
	jb_u64(b, a->rev);
	jb_key(b, "signature");
	jb_str(b, a->signature);
	jb_key(b, "category");
	jb_str(b, a->category);
	jb_key(b, "severity");
	jb_u64(b, a->severity ? a->severity : 3);
	jb_close(b);
	if (a->verdict) {
		jb_open_obj(b, "verdict");
		jb_key(b, "action");
		jb_str(b, a->verdict);
		jb_close(b);
	}
	ev_app(b, f);
	ev_end(log, b);
}

int hg_eventlog_alert(struct hg_eventlog *log, const struct hg_log_flow *flow,
		      const struct hg_log_alert *a, uint64_t ts_us, bool to_server)
{
	struct alert_args x = {flow, a, ts_us, to_server};
	return ev_emit(log, fill_alert, &x);
}

struct netflow_args {
	const struct hg_log_flow *f;
	uint64_t ts_us, start, end;
	bool fwd;
};

static void fill_netflow(struct hg_eventlog *log, struct jb *b, const void *arg)
{
	const struct netflow_args *x = arg;
	const struct hg_log_flow *f = x->f;
	const struct hg_log_dir *d = x->fwd ? &f->ts : &f->tc;
	char tbuf[48];
	size_t tn;

	ev_begin(log, b, x->ts_us, NULL);
	ev_tuple(b, f, x->ts_us, "netflow", x->fwd);
	jb_open_obj(b, "netflow");
	jb_key(b, "pkts");
	jb_u64(b, d->pkts);
	jb_key(b, "bytes");
	jb_u64(b, d->bytes);
	jb_key(b, "start");
	tn = HG_MIN(hg_log_time_format(tbuf, sizeof(tbuf), x->start), sizeof(tbuf) - 1);
	jb_strn(b, tbuf, tn);
	jb_key(b, "end");
	tn = HG_MIN(hg_log_time_format(tbuf, sizeof(tbuf), x->end), sizeof(tbuf) - 1);
	jb_strn(b, tbuf, tn);
	jb_key(b, "age");
	jb_u64(b, x->end / 1000000 - x->start / 1000000);
	jb_key(b, "min_ttl");
	jb_u64(b, d->min_ttl);
	jb_key(b, "max_ttl");
	jb_u64(b, d->max_ttl);
	if (f->state) {
		jb_key(b, "state");
		jb_str(b, f->state);
	}
	if (f->reason) {
		jb_key(b, "reason");
		jb_str(b, f->reason);
	}
	jb_key(b, "alerted");
	jb_bool(b, f->alerted);
	jb_close(b);
	if (f->ip_proto == 6) {
		static const struct {
			uint8_t bit;
			const char *name;
		} flags[] = {
			{HG_TCP_SYN, "syn"}, {HG_TCP_FIN, "fin"}, {HG_TCP_RST, "rst"},
			{HG_TCP_PSH, "psh"}, {HG_TCP_ACK, "ack"}, {HG_TCP_URG, "urg"},
			{HG_TCP_ECE, "ecn"}, {HG_TCP_CWR, "cwr"},
		};
		char hex[2] = {hexd[d->tcp_flags >> 4], hexd[d->tcp_flags & 15]};
		jb_open_obj(b, "tcp");
		jb_key(b, "tcp_flags");
		jb_strn(b, hex, 2);
		for (size_t i = 0; i < HG_ARRAY_LEN(flags); i++) {
			if (d->tcp_flags & flags[i].bit) {
				jb_key_n(b, flags[i].name, 3);
				jb_bool(b, true);
			}
		}
		jb_close(b);
	}
	ev_end(log, b);
}

int hg_eventlog_netflow(struct hg_eventlog *log, const struct hg_log_flow *flow, uint64_t ts_us)
{
	struct netflow_args x = {.f = flow, .ts_us = ts_us, .fwd = true};
	const struct hg_log_dir *dirs[2] = {&flow->ts, &flow->tc};
	bool any = false;
	int rc, rc2 = 0;

	/* The flow's span over both directions, as Suricata's startts and
	 * lastts; directions without packets do not count. */
	for (int i = 0; i < 2; i++) {
		if (!dirs[i]->pkts)
			continue;
		if (!any || dirs[i]->first_us < x.start)
			x.start = dirs[i]->first_us;
		if (!any || dirs[i]->last_us > x.end)
			x.end = dirs[i]->last_us;
		any = true;
	}
	if (!any) {
		x.start = flow->ts.first_us;
		x.end = flow->ts.last_us;
	}
	if (x.end < x.start)
		x.end = x.start;
	rc = ev_emit(log, fill_netflow, &x);
	if (flow->tc.pkts) {
		x.fwd = false;
		rc2 = ev_emit(log, fill_netflow, &x);
	}
	return rc ? rc : rc2;
}

/* ------------------------------------------------------------ lifecycle */

static int open_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

/* Escaped "name" for the envelope; config strings, escaped all the same. */
static size_t build_prefix(char *buf, size_t cap, const char *fw, const char *az)
{
	struct jb b = {.p = buf, .cap = cap};
	jb_lit(&b, "{\"firewall_name\":\"");
	jb_escape(&b, (const uint8_t *)fw, strlen(fw), HG_EVENTLOG_FIELD_MAX);
	jb_lit(&b, "\",\"availability_zone\":\"");
	jb_escape(&b, (const uint8_t *)az, strlen(az), HG_EVENTLOG_FIELD_MAX);
	jb_lit(&b, "\",\"event_timestamp\":\"");
	return b.over ? 0 : b.len;
}

struct hg_eventlog *hg_eventlog_open(const char *path_or_dash, enum hg_log_format fmt,
				     const char *firewall_name, const char *availability_zone,
				     int *err)
{
	struct hg_eventlog *log = NULL;
	size_t pcap = 2 * 6 * HG_EVENTLOG_FIELD_MAX + 128;
	int rc;

	if (!path_or_dash || !*path_or_dash) {
		rc = -EINVAL;
		goto err;
	}
	log = calloc(1, sizeof(*log));
	if (!log) {
		rc = -ENOMEM;
		goto err;
	}
	log->fd = -1;
	log->fmt = fmt;
	log->path = strdup(path_or_dash);
	log->out = malloc(OUT_CAP);
	log->prefix = malloc(pcap);
	if (!log->path || !log->out || !log->prefix) {
		rc = -ENOMEM;
		goto err;
	}
	log->prefix_len = build_prefix(log->prefix, pcap, firewall_name ? firewall_name : "hostgate",
				       availability_zone ? availability_zone : "");
	if (!strcmp(path_or_dash, "-")) {
		log->fd = STDOUT_FILENO;
		log->is_stdout = true;
	} else {
		rc = open_path(path_or_dash);
		if (rc < 0)
			goto err;
		log->fd = rc;
	}
	if (err)
		*err = 0;
	return log;
err:
	if (log) {
		free(log->path);
		free(log->out);
		free(log->prefix);
		free(log);
	}
	if (err)
		*err = rc;
	errno = -rc;
	return NULL;
}

int hg_eventlog_close(struct hg_eventlog *log)
{
	int rc;

	if (!log)
		return 0;
	rc = hg_eventlog_flush(log);
	if (log->q)
		stop_writer(log, CLOSE_DRAIN_MS);
	if (!log->is_stdout && log->fd >= 0 && close(log->fd) < 0 && !rc)
		rc = -errno;
	free(log->path);
	free(log->out);
	free(log->prefix);
	free(log);
	return rc;
}

void hg_eventlog_set_flush_each(struct hg_eventlog *log, bool on)
{
	log->flush_each = on;
}

int hg_eventlog_reopen(struct hg_eventlog *log)
{
	int rc = hg_eventlog_flush(log), fd;

	if (log->is_stdout)
		return rc;
	fd = open_path(log->path);
	if (fd < 0) {
		log->st.reopen_failures++;
		note_error(log, fd);
		return fd;
	}
	if (log->q) {
		/* The writer switches once the lines queued so far are out. */
		struct evq *q = log->q;
		pthread_mutex_lock(&q->mu);
		if (q->new_fd >= 0)
			close(q->new_fd); /* a second reopen before the first took */
		else
			q->switch_at = q->in_len;
		q->new_fd = fd;
		pthread_cond_signal(&q->more);
		pthread_mutex_unlock(&q->mu);
		return rc;
	}
	close(log->fd);
	log->fd = fd;
	log->midline = false; /* a fresh file starts on a line boundary */
	return rc;
}

void hg_eventlog_stats(const struct hg_eventlog *log, struct hg_eventlog_stats *out)
{
	if (log->q)
		pthread_mutex_lock(&log->q->mu);
	*out = log->st;
	if (log->q)
		pthread_mutex_unlock(&log->q->mu);
}
