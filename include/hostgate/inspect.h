/* inspect.h - the per-packet pipeline shared by replay and the live daemon:
 * decode -> defrag -> flow -> stream -> app detection (TLS, HTTP, QUIC) ->
 * engine, with callbacks for alerts and for every flow that ends.
 *
 * An inspector owns its flow table, stream buffers, defragmenter and the
 * per-flow app-layer state; it borrows the engine. Memory is bounded by the
 * configuration whatever the traffic: flows (max_flows), stream bytes, QUIC
 * states and fragment buffers each have a cap, and what is shed is counted. */
#ifndef HOSTGATE_INSPECT_H
#define HOSTGATE_INSPECT_H

#include "hostgate/appparse.h"
#include "hostgate/decode.h"
#include "hostgate/engine.h"
#include "hostgate/eventlog.h"
#include "hostgate/flow.h"
#include "hostgate/stream.h"

/* Evasions and anomalies noticed on a flow (hostgate's own, logged as
 * alerts with the sids below, in a range no ANFW rule group uses). */
enum {
	HG_EVASION_STREAM_OVERLAP = 1u << 0, /* TCP segments overlapped with other bytes */
	HG_EVASION_FRAG_OVERLAP = 1u << 1,   /* IP fragments overlapped with other bytes */
	HG_EVASION_HOST_CONFLICT = 1u << 2,  /* several Host headers naming different hosts */
	HG_EVASION_HOST_MISMATCH = 1u << 3,  /* absolute URI authority != Host header */
	HG_EVASION_ECH = 1u << 4,            /* encrypted ClientHello: the SNI is the outer one */
	HG_EVASION_SNI_TRAILING_DOT = 1u << 5, /* SNI ends in '.', which RFC 6066 §3 forbids */
	HG_EVASION_DNS_MULTI_QUESTION = 1u << 6, /* DNS request with QDCOUNT > 1 (RFC 9619) */
	HG_EVASION_DEPTH = 1u << 7,          /* client bytes reached the stream depth, or the
						client sent bytes again (its window full), with
						the flow undecided (decide_at_depth) */
	HG_EVASION_MATCH_ERROR = 1u << 8,    /* a rule's pcre could not be run (match or
						depth limit, no memory): the flow is dropped,
						never passed as if the rule did not match */
	HG_EVASION_URGENT = 1u << 9,         /* client urgent data (URG) before the verdict: the
						server reads the marked byte out of band, not in
						the stream the inspector read */
};
#define HG_SID_EVASION_BASE 9900001u /* + bit index of HG_EVASION_* */

/* Lazily allocated per flow once the client sends payload. */
struct hg_iflow_app {
	uint8_t sni[256];
	uint8_t host[256];
	uint8_t names[512];
	uint8_t protocol[16];
	uint16_t sni_len, host_len, names_len, protocol_len;
	uint8_t ja4[40]; /* ja4.hash (TLS_JA4_LEN bytes) */
	uint16_t ja4_len;
	char ja3[33];    /* ja3.hash */
	char *ja3_string; /* ja3.string, malloc'd, only when a rule reads it */
	/* The HTTP request line and headers as sent (malloc'd, at most the
	 * stream's inspection depth): http.uri, http.method, http.user_agent
	 * and http.request_header point into it, untruncated. */
	uint8_t *http_head;
	struct quic_state *quic; /* UDP flows that look like QUIC */
	/* dns.query: one allocation, the slices then the names they point to */
	struct hg_slice *dns;
	size_t n_dns;
};

/* The inspector's area in each flow (the flow table's user data). */
struct hg_iflow {
	struct hg_eng_flow ef;
	struct hg_eng_app app;
	struct hg_iflow_app *buf;
	uint32_t tried;      /* parsers that said NOT_THIS (private bits) */
	struct hg_detect_tcp det; /* the other TCP detectors' progress */
	uint8_t done;        /* app layer complete: stop parsing */
	uint8_t forced;      /* enum hg_verdict imposed by an evasion policy */
	uint8_t observe;     /* decided before the parsers ran (stream exception
				policy): parse anyway, for the report only */
	uint32_t evasion;    /* HG_EVASION_* */
	uint32_t n_alerts;
	bool tls_seen, ech;
};

struct hg_inspect_config {
	struct hg_flow_config flow;     /* user_size/end_cb/streams are the inspector's */
	struct hg_stream_config stream; /* policy: overlap handling */
	struct hg_defrag_config defrag;
	uint32_t max_quic_states;       /* concurrent QUIC reassembly states; default 4096 */
	/* A TCP flow whose client bytes reach the stream depth (or the
	 * buffers' cap), or whose client sends bytes again without new ones
	 * (its window is full of bytes held: nothing more comes without an
	 * answer), while no rule could decide it yet (a 20 KB ClientHello,
	 * 20 KB of headers) is dropped with an alert (HG_EVASION_DEPTH) instead
	 * of staying undecided: the live daemon, which would otherwise hold it
	 * forever or pass bytes it never saw, sets it. Off: undecided, as
	 * replay has always done. */
	bool decide_at_depth;
	/* Bytes of the caller's own area in each flow (hg_inspect_area),
	 * zeroed when the flow is made: per-flow state of a consumer lives
	 * with the flow, not in a table of its own. It must stay valid when
	 * moved by memcpy (hg_inspector_carry): nothing may point into it. */
	size_t user_size;
};

void hg_inspect_config_defaults(struct hg_inspect_config *c);

/* What the callbacks get. */
struct hg_inspect_event {
	const struct hg_flow *flow;
	const struct hg_iflow *iflow;
	enum hg_dir dir;        /* of the packet (alerts) */
	uint64_t ts_us;
	void *area;             /* the caller's area of the flow (user_size), or NULL */
};

struct hg_inspect_callbacks {
	void (*alert)(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a);
	void (*flow_end)(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why);
	void *ud;
};

struct hg_inspect_stats {
	uint64_t frames, packets, skipped; /* skipped: not decoded (see decode stats) */
	uint64_t held_fragments;
	uint64_t verdicts[4];              /* flows ended, by final enum hg_verdict */
	uint64_t appbuf_nomem, quic_nomem;
	uint64_t alerts;
	uint64_t by[HG_BY__COUNT];         /* frames by the layer that decided them */
	uint64_t fragments_dropped;        /* by the stateless layer, before reassembly */
	uint64_t match_errors;             /* flows dropped for HG_EVASION_MATCH_ERROR */
	struct hg_decode_stats decode;
	struct hg_flow_stats flows;
	struct hg_stream_stats stream;
	struct hg_defrag_stats defrag;
};

struct hg_inspector;

struct hg_inspector *hg_inspector_new(const struct hg_engine *e, const struct hg_inspect_config *c,
				      const struct hg_inspect_callbacks *cb);
/* Ends every flow (flow_end callbacks) and frees. NULL is a no-op. */
void hg_inspector_free(struct hg_inspector *ins);

/* Feeds one captured frame. Returns the packet's verdict (UNDECIDED: the
 * flow is still being inspected; live holds the packet). *flow_out, when
 * not NULL, gets the packet's flow (NULL for skipped frames and held
 * fragments). */
enum hg_verdict hg_inspector_frame(struct hg_inspector *ins, int linktype, uint64_t ts_us,
				   const uint8_t *data, uint32_t caplen, uint32_t wirelen,
				   struct hg_flow **flow_out);
/* The same for a packet already decoded (p borrows the caller's bytes for
 * the call): the caller that needs the packet too decodes it once. */
enum hg_verdict hg_inspector_packet(struct hg_inspector *ins, const struct hg_packet *p,
				    struct hg_flow **flow_out);
/* The flow of a decoded packet if the inspector has it; looks only (nothing
 * counted, created or ended). */
struct hg_flow *hg_inspector_find(struct hg_inspector *ins, const struct hg_packet *p);
/* The caller's area of a flow of an inspector made with user_size (NULL
 * without). */
void *hg_inspect_area(struct hg_flow *f);
/* Moves the caller's area of each flow of from for which keep_area(ud, area)
 * says so into a flow of to with the same identity that has seen no
 * packet yet (hg_flow_adopt: its first packet starts it); the area left
 * in from is zeroed. For a caller that replaces the inspector (new rules)
 * but keeps its per-flow state: the new rules decide the flows from their
 * next packet. Both inspectors need the same user_size. Returns the
 * number of areas that found no flow in to (theirs stay in from). */
size_t hg_inspector_carry(struct hg_inspector *from, struct hg_inspector *to, uint64_t now_us,
			  bool (*keep_area)(void *ud, void *area), void *ud);
/* Ends idle flows at now_us (live: call from a timer). */
void hg_inspector_expire(struct hg_inspector *ins, uint64_t now_us);
/* Ends every flow now (end of a capture). */
void hg_inspector_flush(struct hg_inspector *ins);
void hg_inspector_stats(const struct hg_inspector *ins, struct hg_inspect_stats *out);
const struct hg_engine *hg_inspector_engine(const struct hg_inspector *ins);
/* The layer that decided the last frame (HG_BY_NONE: undecided, held
 * fragments included). */
enum hg_layer hg_inspector_last_by(const struct hg_inspector *ins);
/* Packets each stateless rule took (index: the stateless order), then the
 * stateless default and the fragment default: what custom actions
 * (publish-metric) count. *n is the number of rules + 2. */
const uint64_t *hg_inspector_stateless_hits(const struct hg_inspector *ins, size_t *n);

/* The flow's final verdict (undecided flows passed, §3.3) with evasion
 * policies applied. */
enum hg_verdict hg_iflow_verdict(const struct hg_iflow *f);

/* Fills the log's view of a flow; tls/http point into storage the caller
 * provides (kept only while the flow lives). */
void hg_inspect_log_flow(const struct hg_flow *f, const struct hg_iflow *fi, struct hg_log_flow *out,
			 struct hg_log_tls *tls, struct hg_log_http *http);
/* The evasion name of one HG_EVASION_* bit ("stream-overlap", ...). */
const char *hg_evasion_name(uint32_t bit);

#endif
