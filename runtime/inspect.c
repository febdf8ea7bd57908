/* inspect.c - one packet through the pipeline: decode, defrag, flow, first
 * bytes of the stream, app-layer detection by content (any port), and the
 * engine. Replay and the live daemon call the same hg_inspector_frame().
 *
 * App detection runs on the client's contiguous first bytes each time they
 * grow, until a parser says FOUND (or every parser said NOT_THIS): parsers
 * are stateless over the prefix, so a ClientHello spread over 1-byte
 * segments or out-of-order segments is parsed once it is whole. */
#include "hostgate/inspect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	TRIED_TLS = 1u << 0,
	TRIED_HTTP = 1u << 1,
	TRIED_QUIC = 1u << 2,
	TRIED_DNS = 1u << 3,
	TRIED_OTHER = 1u << 4, /* hg_detect_tcp(): none of its protocols */
	TRIED_ALL_TCP = TRIED_TLS | TRIED_HTTP | TRIED_DNS | TRIED_OTHER,
};

struct hg_inspector {
	const struct hg_engine *engine;
	struct hg_inspect_config cfg;
	struct hg_inspect_callbacks cb;
	struct hg_flow_table *flows;
	struct hg_stream_ctx *streams;
	struct hg_defrag *defrag;
	struct hg_inspect_stats st;
	uint32_t quic_states;
	/* Joins a ClientHello fragmented over several TLS records. */
	uint8_t tls_scratch[TLS_SCRATCH_MAX];
	/* DNS question names as parsed, before the flow keeps its copy. */
	uint8_t dns_names[DNS_NAMES_CAP];
	/* The JA3 string of the hello being parsed (hashed, kept if wanted). */
	char ja3_scratch[TLS_JA3_MAX];
	/* Stateless rules' packet counts, then the two defaults. */
	uint64_t *sl_hits;
	size_t n_sl_hits;
	enum hg_layer last_by;
	/* The packet being inspected, for the alert callback. */
	struct hg_flow *cur_flow;
	enum hg_dir cur_dir;
	uint64_t cur_ts;
};

void hg_inspect_config_defaults(struct hg_inspect_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_quic_states = 4096;
	/* A client's overlapping segments with different bytes end the flow:
	 * the daemon re-injects every held segment, and which copy the
	 * server's stack keeps is its own (Linux: the first in order, but a
	 * later out-of-order segment that covers a queued one from the same
	 * start replaces it), so an inspection of the other copy proves
	 * nothing. Suricata in IPS mode rewrites the later copy to the first
	 * (docs.suricata.io, IPS Concept, "TCP stream engine"); we cannot
	 * rewrite, so we drop. `--overlap-policy first` is replay's analysis
	 * setting. */
	c->stream.policy = HG_STREAM_POLICY_DROP;
}

static void release_app(struct hg_inspector *ins, struct hg_iflow *fi)
{
	if (!fi->buf)
		return;
	if (fi->buf->quic) {
		free(fi->buf->quic);
		ins->quic_states--;
	}
	free(fi->buf->dns);
	free(fi->buf->ja3_string);
	free(fi->buf->http_head);
	free(fi->buf);
	fi->buf = NULL;
}

/* The caller's area follows the inspector's, 16-byte aligned. */
#define AREA_OFF ((sizeof(struct hg_iflow) + 15) & ~(size_t)15)

void *hg_inspect_area(struct hg_flow *f)
{
	return (uint8_t *)hg_flow_user(f) + AREA_OFF;
}

static void on_flow_end(void *ud, struct hg_flow *f, enum hg_flow_end why)
{
	struct hg_inspector *ins = ud;
	struct hg_iflow *fi = hg_flow_user(f);
	/* An adopted flow no packet started was never inspected here. */
	if (f->d[HG_DIR_TO_SERVER].pkts || f->d[HG_DIR_TO_CLIENT].pkts)
		ins->st.verdicts[hg_iflow_verdict(fi)]++;
	if (ins->cb.flow_end) {
		struct hg_inspect_event ev = {.flow = f, .iflow = fi, .dir = HG_DIR_TO_SERVER, .ts_us = f->last_us,
					      .area = ins->cfg.user_size ? hg_inspect_area(f) : NULL};
		ins->cb.flow_end(ins->cb.ud, &ev, why);
	}
	release_app(ins, fi);
}

struct hg_inspector *hg_inspector_new(const struct hg_engine *e, const struct hg_inspect_config *c,
				      const struct hg_inspect_callbacks *cb)
{
	struct hg_inspector *ins = calloc(1, sizeof(*ins));
	if (!ins)
		return NULL;
	ins->engine = e;
	ins->cfg = *c;
	if (!ins->cfg.max_quic_states)
		ins->cfg.max_quic_states = 4096;
	if (cb)
		ins->cb = *cb;
	struct hg_engine_info info;
	hg_engine_get_info(e, &info);
	ins->n_sl_hits = info.n_stateless + 2;
	ins->sl_hits = calloc(ins->n_sl_hits, sizeof(*ins->sl_hits));
	ins->streams = hg_stream_ctx_new(&c->stream);
	ins->defrag = hg_defrag_new(&c->defrag);
	struct hg_flow_config fc = c->flow;
	/* FlowTimeouts.TcpIdleTimeoutSeconds: an established TCP flow idle
	 * that long is forgotten, so its next packet starts a midstream flow
	 * that StreamExceptionPolicy decides (API FlowTimeouts). */
	const struct hg_policy *pol = hg_engine_policy(e);
	uint32_t *est = &fc.timeout_s[HG_FLOW_PC_TCP][HG_FLOW_S_ESTABLISHED];
	if (!*est && pol && pol->tcp_idle_timeout)
		*est = pol->tcp_idle_timeout;
	fc.user_size = AREA_OFF + c->user_size;
	fc.end_cb = on_flow_end;
	fc.ud = ins;
	fc.streams = ins->streams;
	ins->flows = ins->streams && ins->defrag && ins->sl_hits ? hg_flow_table_new(&fc) : NULL;
	if (!ins->flows) {
		hg_inspector_free(ins);
		errno = ENOMEM;
		return NULL;
	}
	return ins;
}

void hg_inspector_free(struct hg_inspector *ins)
{
	if (!ins)
		return;
	if (ins->flows) {
		hg_flow_table_flush(ins->flows);
		hg_flow_table_free(ins->flows);
	}
	hg_defrag_free(ins->defrag);
	hg_stream_ctx_free(ins->streams);
	free(ins->sl_hits);
	free(ins);
}

const struct hg_engine *hg_inspector_engine(const struct hg_inspector *ins)
{
	return ins->engine;
}

enum hg_layer hg_inspector_last_by(const struct hg_inspector *ins)
{
	return ins->last_by;
}

const uint64_t *hg_inspector_stateless_hits(const struct hg_inspector *ins, size_t *n)
{
	*n = ins->n_sl_hits;
	return ins->sl_hits;
}

static void count_stateless(struct hg_inspector *ins, enum hg_layer by, uint32_t rule)
{
	if (by == HG_BY_STATELESS_RULE && rule < ins->n_sl_hits - 2)
		ins->sl_hits[rule]++;
	else if (by == HG_BY_STATELESS_DEFAULT)
		ins->sl_hits[ins->n_sl_hits - 2]++;
	else if (by == HG_BY_FRAGMENT_DEFAULT)
		ins->sl_hits[ins->n_sl_hits - 1]++;
}

enum hg_verdict hg_iflow_verdict(const struct hg_iflow *fi)
{
	if (fi->forced != HG_VERDICT_UNDECIDED && !hg_eng_flow_decided(&fi->ef))
		return (enum hg_verdict)fi->forced;
	return hg_eng_flow_final(&fi->ef);
}

/* A client resending bytes this long after its SYN, with nothing new, is
 * taken to wait for an answer (decide_at_depth). */
#define STALL_US 1000000u

static const char *const evasion_names[] = {"stream-overlap", "frag-overlap", "host-conflict",
					    "host-mismatch", "ech", "sni-trailing-dot",
					    "dns-multi-question", "stream-depth", "match-error",
					    "stream-urgent"};
static const char *const evasion_msgs[] = {
	"hostgate: TCP segments overlap with different data (evasion)",
	"hostgate: IP fragments overlap with different data (evasion)",
	"hostgate: conflicting HTTP Host headers (evasion)",
	"hostgate: HTTP request URI authority differs from the Host header",
	"hostgate: TLS encrypted ClientHello; the SNI is the outer name",
	"hostgate: TLS SNI ends with a dot (RFC 6066 forbids it; raw tls.sni matches no list target)",
	"hostgate: DNS request with more than one question (RFC 9619); dns.query matches each",
	"hostgate: the flow could not be decided before the stream depth, or before the client waited for an answer",
	"hostgate: a rule's pcre could not be run (match or depth limit, or no memory); the flow is dropped",
	"hostgate: TCP urgent data from the client before the verdict (the server reads it out of band)",
};

const char *hg_evasion_name(uint32_t bit)
{
	for (unsigned i = 0; i < HG_ARRAY_LEN(evasion_names); i++)
		if (bit == 1u << i)
			return evasion_names[i];
	return "?";
}

/* Alerts of the engine and of our evasion checks reach the caller here. */
static void emit_alert(void *ud, const struct hg_alert *a)
{
	struct hg_inspector *ins = ud;
	struct hg_iflow *fi = hg_flow_user(ins->cur_flow);
	fi->n_alerts++;
	ins->st.alerts++;
	if (ins->cb.alert) {
		struct hg_inspect_event ev = {
			.flow = ins->cur_flow, .iflow = fi, .dir = ins->cur_dir, .ts_us = ins->cur_ts,
			.area = ins->cfg.user_size ? hg_inspect_area(ins->cur_flow) : NULL};
		ins->cb.alert(ins->cb.ud, &ev, a);
	}
}

static void flag_evasion(struct hg_inspector *ins, struct hg_iflow *fi, uint32_t bit, bool drop)
{
	if (fi->evasion & bit)
		return;
	fi->evasion |= bit;
	unsigned idx = 0;
	while (!(bit & (1u << idx)))
		idx++;
	if (drop && !hg_eng_flow_decided(&fi->ef)) {
		fi->forced = HG_VERDICT_DROP;
		/* The parsers go on (to their usual depth) so the report says
		 * what the flow was, as for a stream exception verdict. */
		fi->observe = 1;
	}
	enum hg_verdict v = hg_iflow_verdict(fi);
	bool decided = hg_eng_flow_decided(&fi->ef) || fi->forced;
	struct hg_alert a = {
		.sid = HG_SID_EVASION_BASE + idx,
		.rev = 1,
		.msg = evasion_msgs[idx],
		.action = drop ? HG_ACT_DROP : HG_ACT_ALERT,
		.blocked = drop,
		.alert_action = drop ? "blocked" : "allowed",
		.verdict = decided ? v : HG_VERDICT_UNDECIDED,
		.verdict_action = decided ? hg_verdict_name(v) : "alert",
	};
	emit_alert(ins, &a);
}

static struct hg_iflow_app *app_buf(struct hg_inspector *ins, struct hg_iflow *fi)
{
	if (!fi->buf) {
		fi->buf = calloc(1, sizeof(*fi->buf));
		if (!fi->buf)
			ins->st.appbuf_nomem++;
	}
	return fi->buf;
}

/* Copies a slice into a per-flow buffer so it outlives the parse. */
static struct hg_slice keep(uint8_t *dst, size_t cap, uint16_t *dlen, struct hg_slice s)
{
	if (!s.p)
		return (struct hg_slice){0};
	size_t n = s.len < cap ? s.len : cap;
	memcpy(dst, s.p, n);
	*dlen = (uint16_t)n;
	return (struct hg_slice){dst, n};
}

/* ja4.hash: the fingerprint of a complete ClientHello, kept per flow. */
static void keep_ja4(struct hg_iflow_app *b, struct hg_iflow *fi, const struct tls_hello *h, bool quic)
{
	char s[TLS_JA4_LEN + 1];
	b->ja4_len = (uint16_t)tls_ja4(h, quic, s);
	memcpy(b->ja4, s, b->ja4_len);
	fi->app.ja4 = (struct hg_slice){b->ja4, b->ja4_len};
}

/* ja3.hash always (33 bytes); ja3.string only when a rule reads it. */
static void keep_ja3(struct hg_inspector *ins, struct hg_iflow_app *b, struct hg_iflow *fi,
		     const struct tls_hello *h)
{
	size_t n = tls_ja3_string(h, ins->ja3_scratch, sizeof(ins->ja3_scratch));
	if (n > sizeof(ins->ja3_scratch))
		return; /* cannot happen for a hello under TLS_HELLO_MAX */
	tls_ja3_hash(ins->ja3_scratch, n, b->ja3);
	fi->app.ja3_hash = (struct hg_slice){(const uint8_t *)b->ja3, 32};
	if (!hg_engine_uses_buffer(ins->engine, HG_BUF_JA3_STRING))
		return;
	free(b->ja3_string);
	b->ja3_string = malloc(n ? n : 1);
	if (!b->ja3_string) {
		ins->st.appbuf_nomem++;
		return;
	}
	memcpy(b->ja3_string, ins->ja3_scratch, n);
	fi->app.ja3_string = (struct hg_slice){(const uint8_t *)b->ja3_string, n};
}

/* The request head, copied whole so the rule buffers are never cut; the
 * slices of req (into data) are moved onto the copy. */
static struct hg_slice head_slice(const struct hg_iflow_app *b, const uint8_t *data, struct hg_slice s)
{
	if (!s.p || !b->http_head)
		return (struct hg_slice){0};
	return (struct hg_slice){b->http_head + (s.p - data), s.len};
}

static void detect_tls(struct hg_inspector *ins, struct hg_iflow *fi, const uint8_t *data, size_t len)
{
	struct tls_hello h;
	enum hg_parse r = tls_client_hello_parse(data, len, ins->tls_scratch, sizeof(ins->tls_scratch), &h);
	switch (r) {
	case HG_PARSE_NEED_MORE:
		/* A record header of a handshake: the protocol is known already. */
		fi->app.proto = HG_APP_TLS;
		return;
	case HG_PARSE_NOT_THIS:
		fi->tried |= TRIED_TLS;
		/* A first byte of 0x16 made it look like TLS (NEED_MORE on a
		 * shorter prefix): it is not, and the other detectors must
		 * still look at it. */
		if (fi->app.proto == HG_APP_TLS)
			fi->app.proto = HG_APP_UNKNOWN;
		return;
	case HG_PARSE_INVALID:
		/* TLS, but no parsable ClientHello: no tls.sni, no client_hello state. */
		fi->app.proto = HG_APP_TLS;
		fi->done = 1;
		return;
	case HG_PARSE_FOUND:
		break;
	}
	struct hg_iflow_app *b = app_buf(ins, fi);
	fi->app.proto = HG_APP_TLS;
	fi->app.ssl_state |= HG_SSL_CLIENT_HELLO;
	fi->ech = h.ech;
	fi->app.tls_version = tls_client_version(&h);
	if (b) {
		fi->app.tls_sni = keep(b->sni, sizeof(b->sni), &b->sni_len, h.sni);
		keep_ja4(b, fi, &h, false);
		keep_ja3(ins, b, fi, &h);
	}
	fi->done = 1;
	if (h.ech)
		flag_evasion(ins, fi, HG_EVASION_ECH, false);
	if (h.sni.p && h.sni.len && h.sni.p[h.sni.len - 1] == '.')
		flag_evasion(ins, fi, HG_EVASION_SNI_TRAILING_DOT, false);
}

static void detect_http(struct hg_inspector *ins, struct hg_iflow *fi, const uint8_t *data, size_t len,
			size_t limit)
{
	struct hg_iflow_app *b = app_buf(ins, fi);
	if (!b)
		return;
	struct http_bufs bufs = {b->host, sizeof(b->host), b->names, sizeof(b->names)};
	struct http_req req;
	enum hg_parse r = http_request_parse(data, len, limit, &bufs, &req);
	if (r == HG_PARSE_NOT_THIS) {
		fi->tried |= TRIED_HTTP;
		if (fi->app.proto == HG_APP_HTTP) /* said NEED_MORE on a shorter prefix */
			fi->app.proto = HG_APP_UNKNOWN;
		return;
	}
	if (r == HG_PARSE_NEED_MORE) {
		/* Lenient parsing takes any printable first line for a maybe:
		 * the flow is HTTP once its method is a known one. */
		if (req.method.p)
			fi->app.proto = HG_APP_HTTP;
		return;
	}
	fi->app.proto = HG_APP_HTTP;
	fi->done = 1;
	if (r == HG_PARSE_INVALID)
		return;
	fi->app.http_request_line = true;
	fi->app.http_request_headers = true;
	/* The head as sent, then the normalised URI after it (never longer
	 * than the target). */
	free(b->http_head);
	b->http_head = malloc(req.consumed + req.target.len + 1);
	if (!b->http_head) {
		/* No copy, no buffers: rules on them cannot match; counted. */
		ins->st.appbuf_nomem++;
	} else {
		memcpy(b->http_head, data, req.consumed);
	}
	fi->app.http_method = head_slice(b, data, req.method);
	fi->app.http_uri_raw = head_slice(b, data, req.target);
	if (b->http_head && req.target.p) {
		uint8_t *norm = b->http_head + req.consumed;
		fi->app.http_uri = (struct hg_slice){norm, http_uri_normalise(req.target.p, req.target.len, norm)};
	} else {
		fi->app.http_uri = (struct hg_slice){0};
	}
	fi->app.http_user_agent = head_slice(b, data, req.user_agent);
	fi->app.http_headers_raw = head_slice(b, data, req.headers);
	keep(b->protocol, sizeof(b->protocol), &b->protocol_len, req.version);
	if (req.host.p) {
		b->host_len = (uint16_t)req.host.len;
		fi->app.http_host = (struct hg_slice){b->host, req.host.len};
	}
	if (req.flags & HTTP_F_HOST_CONFLICT) {
		/* libhtp joins repeated headers into one value, which no
		 * allowlisted name equals: no http.host the lists could pass. */
		fi->app.http_host = (struct hg_slice){b->host, 0};
		flag_evasion(ins, fi, HG_EVASION_HOST_CONFLICT, false);
	}
	if (req.flags & HTTP_F_HOST_MISMATCH)
		flag_evasion(ins, fi, HG_EVASION_HOST_MISMATCH, false);
	if (req.header_names.p) {
		b->names_len = (uint16_t)req.header_names.len;
		fi->app.http_header_names = (struct hg_slice){b->names, req.header_names.len};
	}
}

/* A DNS message from the client: the flow is DNS; a request's question
 * names become dns.query (a copy the flow keeps: one block, the slices
 * then the names). A response sent first has no dns.query. */
static void keep_dns(struct hg_inspector *ins, struct hg_iflow *fi, const struct dns_msg *m)
{
	fi->app.proto = HG_APP_DNS;
	fi->done = 1;
	if (m->flags & DNS_F_MULTI_QUESTION)
		flag_evasion(ins, fi, HG_EVASION_DNS_MULTI_QUESTION, false);
	if ((m->flags & DNS_F_RESPONSE) || !m->n_queries)
		return;
	struct hg_iflow_app *b = app_buf(ins, fi);
	if (!b)
		return;
	size_t bytes = 0;
	for (unsigned i = 0; i < m->n_queries; i++)
		bytes += m->q[i].name.len;
	b->dns = malloc(m->n_queries * sizeof(*b->dns) + bytes + 1);
	if (!b->dns) {
		ins->st.appbuf_nomem++;
		return;
	}
	uint8_t *names = (uint8_t *)(b->dns + m->n_queries);
	for (unsigned i = 0; i < m->n_queries; i++) {
		if (m->q[i].name.len)
			memcpy(names, m->q[i].name.p, m->q[i].name.len);
		b->dns[i] = (struct hg_slice){names, m->q[i].name.len};
		names += m->q[i].name.len;
	}
	b->n_dns = m->n_queries;
	fi->app.dns_query = b->dns[0];
	fi->app.dns_queries = b->dns;
	fi->app.n_dns_queries = b->n_dns;
}

/* DNS over TCP (RFC 1035 §4.2.2): the length-prefixed message. */
static void detect_dns_tcp(struct hg_inspector *ins, struct hg_iflow *fi, const uint8_t *data, size_t len,
			   size_t limit)
{
	struct dns_msg m;
	enum hg_parse r = dns_tcp_parse(data, len, limit, ins->dns_names, sizeof(ins->dns_names), &m);
	if (r == HG_PARSE_NOT_THIS)
		fi->tried |= TRIED_DNS;
	else if (r == HG_PARSE_FOUND)
		keep_dns(ins, fi, &m);
	else if (r == HG_PARSE_INVALID) {
		fi->app.proto = HG_APP_DNS;
		fi->done = 1;
	}
}

static void detect_tcp(struct hg_inspector *ins, struct hg_flow *f, struct hg_iflow *fi)
{
	size_t len;
	const uint8_t *data = hg_stream_data(&f->stream[HG_DIR_TO_SERVER], &len);
	if (!data || !len)
		return;
	size_t limit = hg_stream_get_config(ins->streams)->depth_to_server;
	if (!(fi->tried & TRIED_TLS))
		detect_tls(ins, fi, data, len);
	/* The other protocols before HTTP/1: the HTTP/2 preface is a valid
	 * HTTP/1 request line. */
	if (!fi->done && fi->app.proto != HG_APP_TLS && !(fi->tried & TRIED_OTHER)) {
		enum hg_app_proto a;
		enum hg_parse r = hg_detect_tcp(&fi->det, data, len, len >= limit, &a);
		if (r == HG_PARSE_FOUND) {
			fi->app.proto = a;
			fi->done = 1;
			return;
		}
		if (r == HG_PARSE_NOT_THIS)
			fi->tried |= TRIED_OTHER;
	}
	if (!fi->done && fi->app.proto != HG_APP_TLS && !(fi->tried & TRIED_DNS))
		detect_dns_tcp(ins, fi, data, len, limit);
	if (!fi->done && fi->app.proto != HG_APP_TLS && !(fi->tried & TRIED_HTTP))
		detect_http(ins, fi, data, len, limit);
	if (fi->done)
		return;
	if ((fi->tried & TRIED_ALL_TCP) == TRIED_ALL_TCP) {
		fi->app.proto = HG_APP_FAILED;
		fi->done = 1;
	} else if (hg_stream_complete(&f->stream[HG_DIR_TO_SERVER])) {
		/* No more bytes will come: what is known is all there is. */
		if (fi->app.proto == HG_APP_UNKNOWN)
			fi->app.proto = HG_APP_FAILED;
		fi->done = 1;
	}
}

/* Client datagrams of a known QUIC version that hold no Initial (0-RTT or
 * Handshake packets reordered ahead of it, or sent first on purpose) after
 * which the Initial is still looked for: giving up at the first would let
 * a leading junk long header hide the ClientHello (ndpi's quic_0RTT.pcap). */
#define QUIC_MAX_BEFORE_INITIAL 8

static void detect_udp(struct hg_inspector *ins, struct hg_iflow *fi, const struct hg_packet *p,
		       uint64_t client_pkts)
{
	if (!p->payload_len)
		return;
	/* QUIC long header (RFC 9000 §17.2): the form bit set. */
	if (!(fi->tried & TRIED_QUIC) && (p->payload[0] & 0x80)) {
		struct hg_iflow_app *b = app_buf(ins, fi);
		if (b && !b->quic) {
			if (ins->quic_states >= ins->cfg.max_quic_states) {
				ins->st.quic_nomem++;
			} else if ((b->quic = malloc(sizeof(*b->quic)))) {
				ins->quic_states++;
				quic_state_init(b->quic);
			}
		}
		if (b && b->quic) {
			struct quic_result qr;
			enum hg_parse r = quic_initial_parse(b->quic, p->payload, p->payload_len, &qr);
			if (r == HG_PARSE_NEED_MORE) {
				fi->app.proto = HG_APP_QUIC;
				return;
			}
			if (r == HG_PARSE_FOUND) {
				fi->app.proto = HG_APP_QUIC;
				fi->app.quic_sni = keep(b->sni, sizeof(b->sni), &b->sni_len, qr.hello.sni);
				keep_ja4(b, fi, &qr.hello, true);
				keep_ja3(ins, b, fi, &qr.hello);
				fi->done = 1;
				return;
			}
			if (r == HG_PARSE_INVALID) {
				fi->app.proto = HG_APP_QUIC;
				fi->done = 1;
				return;
			}
			if (r == HG_PARSE_NOT_THIS && (qr.flags & QUIC_F_NOT_INITIAL) &&
			    !(qr.flags & QUIC_F_UNKNOWN_VERSION) && client_pkts < QUIC_MAX_BEFORE_INITIAL)
				return;
		}
		fi->tried |= TRIED_QUIC;
		if (b && b->quic) {
			/* Not QUIC: the 9 KiB state goes back now, not at flow end. */
			free(b->quic);
			b->quic = NULL;
			ins->quic_states--;
		}
	}
	enum hg_app_proto a = hg_detect_udp(p->payload, p->payload_len, false);
	struct dns_msg m;
	if (a == HG_APP_UNKNOWN &&
	    dns_udp_parse(p->payload, p->payload_len, ins->dns_names, sizeof(ins->dns_names), &m) == HG_PARSE_FOUND) {
		keep_dns(ins, fi, &m);
		return;
	}
	if (a == HG_APP_UNKNOWN)
		a = hg_detect_udp(p->payload, p->payload_len, true);
	fi->app.proto = a != HG_APP_UNKNOWN ? a : HG_APP_FAILED;
	fi->done = 1;
}

static enum hg_verdict inspect_packet(struct hg_inspector *ins, const struct hg_packet *p)
{
	enum hg_dir dir;
	bool created;
	struct hg_flow *f = hg_flow_packet(ins->flows, p, &dir, &created);
	if (!f)
		return HG_VERDICT_UNDECIDED;
	struct hg_iflow *fi = hg_flow_user(f);
	if (created) {
		hg_eng_flow_init(&fi->ef);
		if (p->ip_proto != 6 && p->ip_proto != 17)
			fi->app.proto = HG_APP_NONE;
	}
	ins->cur_flow = f;
	ins->cur_dir = dir;
	ins->cur_ts = p->ts_us;
	if (created && (f->flags & HG_FLOW_F_MIDSTREAM) &&
	    hg_engine_stream_exception(ins->engine, &fi->ef) != HG_VERDICT_UNDECIDED)
		/* The policy decided before the parsers ran; they still run
		 * (to their usual depth) so the report says what the flow
		 * was: its SNI or Host under decided_by
		 * stream_exception_policy (issue 9 item 9). */
		fi->observe = 1;
	if (p->flags & HG_PKT_F_FRAG_OVERLAP)
		flag_evasion(ins, fi, HG_EVASION_FRAG_OVERLAP, false);

	bool undecided = !hg_eng_flow_decided(&fi->ef) && fi->forced == HG_VERDICT_UNDECIDED;
	/* Urgent data: the server's stack takes the byte the urgent pointer
	 * marks out of the stream (Linux without SO_OOBINLINE; RFC 6093 §3),
	 * or takes it in line, as it was configured: which stream the
	 * application reads is not known here, so a client that marks urgent
	 * data (even with no payload: the pointer may mark a later byte) while
	 * its flow is undecided is dropped, as Suricata's
	 * stream.reassembly.urgent.policy `drop` does. Once the application
	 * layer was seen (decided, or no rule left to look) the bytes that
	 * decided it are read, and urgent data later is the application's. */
	if (undecided && !hg_eng_flow_app_seen(&fi->ef) && p->ip_proto == 6 && dir == HG_DIR_TO_SERVER &&
	    (p->tcp_flags & HG_TCP_URG))
		flag_evasion(ins, fi, HG_EVASION_URGENT, true);
	bool stalled = false; /* client bytes sent again, nothing new: it waits for an answer */
	if ((undecided || fi->observe) && !fi->done) {
		if (p->ip_proto == 6) {
			const struct hg_stream *st = &f->stream[dir];
			uint32_t contig0 = st->contig, hi0 = st->hi;
			bool grew = hg_stream_packet(ins->streams, &f->stream[dir], p);
			/* A second apart from the SYN: a resend soon after (a
			 * reload's, a lost segment's) leaves time for the rest. */
			stalled = dir == HG_DIR_TO_SERVER && p->payload_len && !grew && st->contig == contig0 &&
				  st->hi == hi0 && (st->flags & HG_STREAM_F_BASE) &&
				  p->ts_us > f->first_us + STALL_US;
			uint32_t sf = hg_stream_flags(&f->stream[dir]);
			if (sf & HG_STREAM_F_CONFLICT)
				flag_evasion(ins, fi, HG_EVASION_STREAM_OVERLAP, (sf & HG_STREAM_F_DROP) != 0);
			if (dir == HG_DIR_TO_SERVER && (grew || (sf & HG_STREAM_F_FIN)))
				detect_tcp(ins, f, fi);
		} else if (p->ip_proto == 17 && dir == HG_DIR_TO_SERVER) {
			detect_udp(ins, fi, p, f->d[HG_DIR_TO_SERVER].pkts);
		}
	}

	if (fi->forced != HG_VERDICT_UNDECIDED && !hg_eng_flow_decided(&fi->ef))
		return (enum hg_verdict)fi->forced;
	struct hg_eng_pkt ep = {
		.ip_proto = p->ip_proto,
		.src = p->src,
		.dst = p->dst,
		.sport = p->sport,
		.dport = p->dport,
		.dir = dir,
		.tcp_flags = p->tcp_flags,
		.first_in_dir = hg_flow_first_in_dir(f, dir),
		.established = hg_flow_established(f),
		.fragment = (p->flags & HG_PKT_F_REASSEMBLED) != 0,
		.payload = p->payload,
		.payload_len = p->payload_len,
	};
	enum hg_verdict v = hg_engine_packet(ins->engine, &fi->ef, &ep, &fi->app, emit_alert, ins);
	ins->last_by = (enum hg_layer)fi->ef.last_by;
	count_stateless(ins, (enum hg_layer)fi->ef.last_sl_by, fi->ef.last_sl_rule);
	/* A rule the engine could not run must not let the flow pass: it is
	 * dropped with an alert, in replay and live alike. */
	if (hg_eng_flow_match_error(&fi->ef) && !(fi->evasion & HG_EVASION_MATCH_ERROR)) {
		ins->st.match_errors++;
		flag_evasion(ins, fi, HG_EVASION_MATCH_ERROR, true);
		return hg_iflow_verdict(fi);
	}
	/* The bytes that will come without an answer are all here (the depth
	 * or the buffers' cap reached, or the client sends again what it sent:
	 * its window is full of bytes held for us) and no rule could decide:
	 * decided now rather than held forever or passed unseen. (A parser
	 * that gave up at the depth may have called the app layer seen: the
	 * name it never read must not make the flow pass.) */
	if (v == HG_VERDICT_UNDECIDED && ins->cfg.decide_at_depth && p->ip_proto == 6 && dir == HG_DIR_TO_SERVER &&
	    !hg_eng_flow_decided(&fi->ef) &&
	    (stalled || (hg_stream_flags(&f->stream[HG_DIR_TO_SERVER]) & (HG_STREAM_F_DEPTH | HG_STREAM_F_NOMEM)))) {
		flag_evasion(ins, fi, HG_EVASION_DEPTH, true);
		return hg_iflow_verdict(fi);
	}
	if (hg_eng_flow_decided(&fi->ef) && p->ip_proto == 6 && !fi->observe) {
		/* Decided: the first bytes are no longer needed. */
		hg_stream_release(ins->streams, &f->stream[0]);
		hg_stream_release(ins->streams, &f->stream[1]);
		fi->done = 1;
	}
	return v;
}

/* A fragment as the stateless layer sees it: the first one (offset 0)
 * with its transport ports and TCP flags when it holds them, later ones
 * without (they carry no transport header). */
static struct hg_eng_pkt frag_pkt(const struct hg_packet *p)
{
	struct hg_eng_pkt ep = {
		.ip_proto = p->frag.next,
		.src = p->src,
		.dst = p->dst,
		.fragment = true,
		.later_fragment = true,
	};
	const uint8_t *d = p->frag.data;
	bool tcp = ep.ip_proto == 6, udp = ep.ip_proto == 17;
	if (p->frag.offset == 0 && (tcp || udp) && p->frag.len >= (tcp ? 14u : 8u)) {
		ep.later_fragment = false;
		ep.sport = (uint16_t)(d[0] << 8 | d[1]);
		ep.dport = (uint16_t)(d[2] << 8 | d[3]);
		if (tcp)
			ep.tcp_flags = d[13];
	} else if (p->frag.offset == 0 && !tcp && !udp) {
		ep.later_fragment = false;
	}
	return ep;
}

/* A dropped first fragment (it names the ports) is told to its flow, when
 * the flow exists, so the flow's report says the stateless layer dropped
 * part of it; later fragments name no ports. */
static void note_fragment_drop(struct hg_inspector *ins, const struct hg_packet *p, const struct hg_eng_pkt *ep,
			       const struct hg_eng_sl *sl)
{
	if (ep->later_fragment)
		return;
	struct hg_packet k = *p;
	k.ip_proto = ep->ip_proto;
	k.sport = ep->sport;
	k.dport = ep->dport;
	struct hg_flow *f = hg_flow_find(ins->flows, &k);
	if (!f)
		return;
	hg_eng_flow_note_stateless(&((struct hg_iflow *)hg_flow_user(f))->ef, sl);
}

enum hg_verdict hg_inspector_frame(struct hg_inspector *ins, int linktype, uint64_t ts_us,
				   const uint8_t *data, uint32_t caplen, uint32_t wirelen,
				   struct hg_flow **flow_out)
{
	struct hg_packet p;
	ins->st.frames++;
	if (flow_out)
		*flow_out = NULL;
	if (!hg_decode(&ins->st.decode, linktype, ts_us, data, caplen, wirelen, &p)) {
		ins->st.skipped++;
		return HG_VERDICT_UNDECIDED;
	}
	return hg_inspector_packet(ins, &p, flow_out);
}

enum hg_verdict hg_inspector_packet(struct hg_inspector *ins, const struct hg_packet *pkt,
				    struct hg_flow **flow_out)
{
	if (flow_out)
		*flow_out = NULL;
	ins->last_by = HG_BY_NONE;
	const struct hg_packet *pp = pkt;
	struct hg_packet whole;
	if (pkt->flags & HG_PKT_F_FRAGMENT) {
		/* The stateless layer judges each fragment as it comes
		 * (§3.1), before reassembly, as the kernel's prerouting
		 * chain does before conntrack's defrag: a dropped fragment
		 * never joins its datagram. The reassembled datagram then
		 * takes its first fragment's path (same headers). */
		struct hg_eng_sl sl;
		struct hg_eng_pkt ep = frag_pkt(pkt);
		hg_engine_stateless(ins->engine, &ep, &sl);
		count_stateless(ins, sl.by, sl.rule);
		if (sl.action == HG_SL_DROP) {
			note_fragment_drop(ins, pkt, &ep, &sl);
			ins->st.fragments_dropped++;
			ins->st.by[sl.by]++;
			ins->last_by = sl.by;
			return HG_VERDICT_DROP;
		}
		enum hg_defrag_result r = hg_defrag_add(ins->defrag, pkt, &ins->st.decode, &whole);
		if (r != HG_DEFRAG_DONE) {
			ins->st.held_fragments++;
			return r == HG_DEFRAG_DROPPED ? HG_VERDICT_DROP : HG_VERDICT_UNDECIDED;
		}
		pp = &whole;
	}
	ins->st.packets++;
	enum hg_verdict v = inspect_packet(ins, pp);
	if (v != HG_VERDICT_UNDECIDED)
		ins->st.by[ins->last_by]++;
	if (flow_out)
		*flow_out = ins->cur_flow;
	return v;
}

struct hg_flow *hg_inspector_find(struct hg_inspector *ins, const struct hg_packet *p)
{
	return hg_flow_find(ins->flows, p);
}

struct carry {
	struct hg_inspector *to;
	uint64_t now;
	bool (*keep)(void *ud, void *area);
	void *ud;
	size_t size, lost;
};

static void carry_one(void *ud, struct hg_flow *f)
{
	struct carry *c = ud;
	void *a = hg_inspect_area(f);
	if (!c->keep(c->ud, a))
		return;
	struct hg_flow *g = hg_flow_adopt(c->to->flows, f, c->now);
	if (!g) {
		c->lost++;
		return;
	}
	memcpy(hg_inspect_area(g), a, c->size);
	memset(a, 0, c->size);
}

size_t hg_inspector_carry(struct hg_inspector *from, struct hg_inspector *to, uint64_t now_us,
			  bool (*keep_area)(void *ud, void *area), void *ud)
{
	if (!from->cfg.user_size || from->cfg.user_size != to->cfg.user_size)
		return 0;
	struct carry c = {.to = to, .now = now_us, .keep = keep_area, .ud = ud, .size = from->cfg.user_size};
	hg_flow_table_foreach(from->flows, carry_one, &c);
	return c.lost;
}

void hg_inspector_expire(struct hg_inspector *ins, uint64_t now_us)
{
	hg_flow_table_expire(ins->flows, now_us);
	hg_defrag_expire(ins->defrag, now_us);
}

void hg_inspector_flush(struct hg_inspector *ins)
{
	hg_flow_table_flush(ins->flows);
}

void hg_inspector_stats(const struct hg_inspector *ins, struct hg_inspect_stats *out)
{
	*out = ins->st;
	hg_flow_get_stats(ins->flows, &out->flows);
	hg_stream_get_stats(ins->streams, &out->stream);
	hg_defrag_get_stats(ins->defrag, &out->defrag);
}

static void log_dir(const struct hg_flow_dirstats *d, const struct hg_flow *f, struct hg_log_dir *out)
{
	*out = (struct hg_log_dir){
		.pkts = d->pkts,
		.bytes = d->bytes,
		.first_us = f->first_us,
		.last_us = f->last_us,
		.min_ttl = d->ttl_min,
		.max_ttl = d->ttl_max,
		.tcp_flags = d->tcp_flags,
	};
}

void hg_inspect_log_flow(const struct hg_flow *f, const struct hg_iflow *fi, struct hg_log_flow *out,
			 struct hg_log_tls *tls, struct hg_log_http *http)
{
	static const char *const states[] = {"new", "established", "closed", "closed"};
	*out = (struct hg_log_flow){
		.flow_id = f->flow_id,
		.src = f->cli,
		.dst = f->srv,
		.sport = f->cport,
		.dport = f->sport,
		.ip_proto = f->proto,
		.state = states[f->state & 3],
		.alerted = fi->n_alerts > 0,
	};
	switch (fi->app.proto) {
	case HG_APP_UNKNOWN:
	case HG_APP_NONE:
		break;
	default:
		out->app_proto = hg_app_proto_name(fi->app.proto);
	}
	log_dir(&f->d[HG_DIR_TO_SERVER], f, &out->ts);
	log_dir(&f->d[HG_DIR_TO_CLIENT], f, &out->tc);
	if (fi->app.proto == HG_APP_TLS) {
		*tls = (struct hg_log_tls){.sni = fi->app.tls_sni, .version = NULL};
		out->tls = tls;
	} else if (fi->app.proto == HG_APP_QUIC && fi->app.quic_sni.p) {
		*tls = (struct hg_log_tls){.sni = fi->app.quic_sni, .version = NULL};
		out->tls = tls;
	}
	if (fi->app.proto == HG_APP_DNS && fi->app.n_dns_queries) {
		out->dns_queries = fi->app.dns_queries;
		out->n_dns_queries = fi->app.n_dns_queries;
	}
	if (fi->app.proto == HG_APP_HTTP && fi->app.http_request_line && fi->buf) {
		*http = (struct hg_log_http){
			.hostname = fi->app.http_host,
			.url = fi->app.http_uri_raw,
			.user_agent = fi->app.http_user_agent,
			.method = fi->app.http_method,
			.protocol = {fi->buf->protocol, fi->buf->protocol_len},
		};
		out->http = http;
	}
}
