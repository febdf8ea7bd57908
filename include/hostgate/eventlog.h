/* eventlog.h - the event log: decisions (alert events) and ended flows
 * (netflow events) written as ANFW's log lines (reference/anfw.md §4), one
 * JSON object a line, or as flat Suricata EVE objects (--log-format eve).
 *
 * The writer knows nothing of the flow table: the caller fills a struct
 * hg_log_flow from whatever it keeps. Output depends only on the arguments
 * (timestamps are the caller's, from packets in replay), so replaying the
 * same capture gives the same bytes.
 *
 * Line layout, keys always in this order (absent optional keys skipped):
 *
 *   ANFW envelope: firewall_name, availability_zone, event_timestamp (epoch
 *     seconds of ts_us, as a string), aws_metadata{resource_arn} (alerts with
 *     an ARN only), event{...}
 *   event (the whole line in EVE format): timestamp ("YYYY-MM-DDTHH:MM:SS.
 *     uuuuuu+0000", UTC), flow_id, event_type, src_ip, src_port, dest_ip,
 *     dest_port (ports for TCP, UDP and SCTP only), proto ("TCP", "UDP",
 *     "ICMP", "IPv6-ICMP", ...; the number as "%03u" when unnamed),
 *     icmp_type, icmp_code (ICMP/ICMPv6), app_proto (when known), then
 *     alert:   direction, tx_id (0, with a tls or http object), alert{action,
 *              signature_id, rev, signature, category, severity},
 *              verdict{action}, tls{sni, version}, http{hostname, url,
 *              http_user_agent, http_method, protocol, length}
 *     netflow: netflow{pkts, bytes, start, end, age, min_ttl, max_ttl,
 *              state, reason, alerted}, tcp{tcp_flags, syn, fin, rst, psh,
 *              ack, urg, ecn, cwr} (TCP only; flags listed only when set)
 *   IPv4 addresses dotted, IPv6 in RFC 5952 text (hg_ip_format).
 *
 * Strings from the network (SNI, Host, URL, ...) are escaped for JSON:
 * '"', '\\' and control bytes (and DEL, U+2028, U+2029) as \uXXXX or the
 * short escapes; valid UTF-8 passes unchanged; every byte that is not part
 * of a valid UTF-8 sequence (RFC 3629: no overlongs, surrogates or code
 * points above U+10FFFF) is written as \u00XX, i.e. read back as the
 * code point equal to the byte (nothing dropped, the line stays valid
 * UTF-8). Each string field is cut at HG_EVENTLOG_FIELD_MAX input bytes,
 * on a character boundary.
 *
 * Delivery: events are formatted into a buffer owned by the log (no
 * allocation per event) and written with write(2) whole lines at a time,
 * when the buffer fills, on hg_eventlog_flush() and, with flush_each (the
 * live daemon), after every event. An event that cannot be written (write
 * error, disk full, a line over the size limit) is counted in
 * events_lost, never silently dropped; after a partial write the broken
 * line is ended with a newline before the next event. Not thread-safe:
 * one caller per log (hg_eventlog_set_async adds a writer thread of the
 * log's own behind it). */
#ifndef HOSTGATE_EVENTLOG_H
#define HOSTGATE_EVENTLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "hostgate/engine.h" /* struct hg_slice, struct hg_alert */
#include "hostgate/ipset.h"

enum hg_log_format {
	HG_LOG_ANFW, /* ANFW envelope around the EVE event (default) */
	HG_LOG_EVE,  /* the EVE event alone, flat */
};

/* "anfw", "eve"; parses the --log-format argument (false if unknown). */
const char *hg_log_format_name(enum hg_log_format f);
bool hg_log_format_parse(const char *s, enum hg_log_format *out);

/* Input bytes kept of any one string field. */
#define HG_EVENTLOG_FIELD_MAX 2048u

/* One direction of a flow. */
struct hg_log_dir {
	uint64_t pkts, bytes;      /* IP bytes, as Suricata counts */
	uint64_t first_us, last_us;/* packet timestamps, µs since the epoch */
	uint8_t min_ttl, max_ttl;  /* hop limit for IPv6 */
	uint8_t tcp_flags;         /* OR of every TCP flags byte seen (HG_TCP_*) */
	uint8_t icmp_type, icmp_code; /* first ICMP message in this direction */
};

struct hg_log_tls {
	struct hg_slice sni;       /* p == NULL: no SNI, key omitted */
	const char *version;       /* NULL: "UNDETERMINED" (ClientHello only) */
};

/* Absent (p == NULL) fields are omitted; length is always written. */
struct hg_log_http {
	struct hg_slice hostname, url, user_agent, method, protocol;
	uint64_t length;
};

/* A flow as the log sees it. Client = src (it sent the first packet). */
struct hg_log_flow {
	uint64_t flow_id;          /* written masked to 51 bits, as Suricata does, so
				    * readers that parse numbers as doubles keep it exact */
	struct hg_ip src, dst;     /* IPv4 mapped, see ipset.h */
	uint16_t sport, dport;
	uint8_t ip_proto;          /* 6, 17, 1, 58, ... */
	const char *app_proto;     /* "tls", "http", "quic", "failed"...; NULL: omitted */
	struct hg_log_dir ts, tc;  /* to_server, to_client */
	const char *state;         /* netflow: "new" "established" "closed"; NULL omits */
	const char *reason;        /* netflow: "timeout" "shutdown" "forced"; NULL omits */
	bool alerted;              /* netflow: an alert was logged for the flow */
	const struct hg_log_tls *tls;   /* NULL: no tls object */
	const struct hg_log_http *http; /* NULL: no http object */
	/* a DNS request's question names (dns.query): a "dns" object with one
	 * "query" entry a name, as Suricata's EVE writes; 0: no dns object */
	const struct hg_slice *dns_queries;
	size_t n_dns_queries;
};

struct hg_log_alert {
	uint32_t signature_id, rev;
	const char *signature;     /* rule msg; NULL: "" */
	const char *category;      /* NULL: "" (ANFW's value) */
	uint8_t severity;          /* 0: 3, what every ANFW sample shows */
	bool blocked;              /* alert.action "blocked", else "allowed" */
	const char *verdict;       /* verdict.action "pass" "drop" "reject" "alert"; NULL omits */
	const char *resource_arn;  /* aws_metadata.resource_arn (ANFW format); NULL omits */
};

/* Fills a log alert from an engine alert: the group's ARN, else policy_arn
 * (default actions). Strings are borrowed. */
void hg_log_alert_from_engine(struct hg_log_alert *out, const struct hg_alert *a,
			      const char *policy_arn);

struct hg_eventlog_stats {
	uint64_t events_written; /* whole lines handed to the kernel */
	uint64_t events_lost;    /* write errors, oversize lines, a full queue */
	uint64_t events_queue_full; /* of which: no room in the async queue */
	uint64_t bytes_written;
	uint64_t reopen_failures;
	int last_errno;          /* of the last failure, 0 if none */
};

struct hg_eventlog;

/* Opens path for appending (created 0640), or standard output for "-"
 * (stdio's stdout buffer is flushed before each write to keep the order;
 * a closed pipe raises SIGPIPE unless the program ignores it).
 * firewall_name and availability_zone are copied (NULL: "hostgate" and "").
 * Returns NULL with *err = -errno (and errno set) on failure. */
struct hg_eventlog *hg_eventlog_open(const char *path_or_dash, enum hg_log_format fmt,
				     const char *firewall_name, const char *availability_zone,
				     int *err);
/* Flushes, closes the file (not stdout) and frees; NULL is a no-op. Returns
 * 0, or -errno if the final flush or close failed (events then counted lost). */
int hg_eventlog_close(struct hg_eventlog *log);

/* Writes each event as soon as it is formatted (live daemon). Default off:
 * buffered until full, hg_eventlog_flush() or close (replay); a daemon
 * that prefers batching calls hg_eventlog_flush() from its timer instead. */
void hg_eventlog_set_flush_each(struct hg_eventlog *log, bool on);

/* Writes out buffered events: 0, or -errno (failed events counted lost).
 * Asynchronous: hands them to the writer; -ENOBUFS when the queue had no
 * room (counted lost). */
int hg_eventlog_flush(struct hg_eventlog *log);

/* Makes the log asynchronous (the live daemon): each event is formatted in
 * the caller's thread and appended to a queue of queue_bytes (at least
 * 256 KB; memory: twice that) that a writer thread of the log's own writes
 * to the file, so a slow disk or a pipe nobody reads never stalls the
 * caller: an event that finds the queue full is counted lost
 * (events_queue_full). Closing waits up to 2 s for the queue to be written,
 * then counts the rest lost. Reopen switches files after the lines queued
 * so far. Stats may be read from the caller's thread at any time. 0 or
 * -errno. */
int hg_eventlog_set_async(struct hg_eventlog *log, size_t queue_bytes);

/* For SIGHUP after logrotate moved the file: flushes to the old file, then
 * opens the path again. On failure keeps writing to the old file, counts
 * reopen_failures and returns -errno. Standard output: flush only. Call it
 * from the main loop, never from the signal handler. */
int hg_eventlog_reopen(struct hg_eventlog *log);

void hg_eventlog_stats(const struct hg_eventlog *log, struct hg_eventlog_stats *out);

/* One alert event at ts_us (µs since the epoch), in the direction of the
 * packet that fired (to_server: src -> dest as in the flow; else swapped).
 * Returns 0, or -errno when the event was lost (it is counted). */
int hg_eventlog_alert(struct hg_eventlog *log, const struct hg_log_flow *flow,
		      const struct hg_log_alert *a, uint64_t ts_us, bool to_server);

/* The netflow events of an ended flow at ts_us: to_server always, then
 * to_client (src/dest and ports swapped) when that direction saw packets,
 * as Suricata does: a SYN-only or one-way flow gives one line. start/end
 * are the flow's first and last packet (both directions), as Suricata
 * writes them. Returns 0, or -errno if an event was lost. */
int hg_eventlog_netflow(struct hg_eventlog *log, const struct hg_log_flow *flow, uint64_t ts_us);

/* Helpers, exposed for tests and other JSON writers. Each writes into
 * buf[0..cap) and returns the length it needs, like snprintf (NUL-terminated
 * when there is room). hg_json_escape writes the escaped body, without the
 * quotes, as the event log does (no field cut); buf NULL only measures. */
size_t hg_log_time_format(char *buf, size_t cap, uint64_t ts_us); /* 31 chars */
size_t hg_json_escape(char *buf, size_t cap, const void *s, size_t len);
/* "TCP", "UDP", "ICMP", "IPv6-ICMP", ...; NULL for an unnamed number. */
const char *hg_log_proto_name(uint8_t ip_proto);

#endif
