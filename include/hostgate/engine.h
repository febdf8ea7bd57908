/* engine.h - the decision engine: decides flows with AWS Network Firewall
 * semantics (Suricata's where ANFW is silent), the same in replay and live.
 *
 * The engine knows nothing about pcap, decoding or streams. The caller keeps
 * a struct hg_eng_flow per flow (fixed size, zeroed by hg_eng_flow_init) and
 * calls hg_engine_packet() for each packet with what decode, the flow table
 * and the app-layer parsers know so far. Section numbers (§) refer to
 * reference/anfw.md.
 *
 * An engine is immutable after hg_engine_new(): any number of threads may
 * share it, each with its own flows. It borrows the ruleset, which must
 * outlive it. A flow's state refers to the engine that decided it (rule
 * indexes): after a reload keep only its verdict, or re-init it.
 *
 * Modelling choices where ANFW/Suricata act per packet (documented at the
 * code): a matching pass, drop or reject rule decides the whole flow (DG:
 * pass "passes the unscanned packets"; Suricata drops the flow on a drop);
 * the established-family default actions decide on the first unmatched
 * established packet that carries payload (a payload-less ACK dropped
 * alone would leave the flow alive); an alert rule or alert default
 * action logs once per flow (IP-only alert rules once per direction). */
#ifndef HOSTGATE_ENGINE_H
#define HOSTGATE_ENGINE_H

#include "hostgate/ir.h"
#include "hostgate/order.h"

/* What a packet gets, and (once decided) what its flow gets. */
enum hg_verdict {
	HG_VERDICT_UNDECIDED, /* no decision yet: keep inspecting (live: hold) */
	HG_VERDICT_PASS,      /* passed: the rest of the flow passes uninspected */
	HG_VERDICT_DROP,
	HG_VERDICT_REJECT,    /* drop + TCP reset (just a drop for other protocols) */
};

/* "pass", "drop", "reject"; "undecided" for HG_VERDICT_UNDECIDED. */
const char *hg_verdict_name(enum hg_verdict v);

enum hg_dir { HG_DIR_TO_SERVER, HG_DIR_TO_CLIENT };

/* TCP flags as on the wire (byte 13 of the TCP header). */
enum {
	HG_TCP_FIN = 0x01, HG_TCP_SYN = 0x02, HG_TCP_RST = 0x04, HG_TCP_PSH = 0x08,
	HG_TCP_ACK = 0x10, HG_TCP_URG = 0x20, HG_TCP_ECE = 0x40, HG_TCP_CWR = 0x80,
};

/* One packet as the engine sees it. */
struct hg_eng_pkt {
	uint8_t ip_proto;       /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ... */
	struct hg_ip src, dst;  /* as on the wire (IPv4 mapped, see ipset.h) */
	uint16_t sport, dport;  /* as on the wire; 0 for protocols without ports */
	enum hg_dir dir;        /* to_server: src is the flow's client */
	uint8_t tcp_flags;      /* HG_TCP_* */
	bool first_in_dir;      /* first packet of the flow in this direction */
	bool established;       /* TCP: handshake completed; UDP etc.: seen both ways */
	bool fragment;          /* an IP fragment, or a datagram reassembled from */
				/* fragments (its stateless fate is its first */
				/* fragment's: the same headers) */
	bool later_fragment;    /* a fragment past offset 0: no transport header, */
				/* so ports and TCP flags match nothing (as nft's */
				/* th/tcp expressions on a non-first fragment) */
	const uint8_t *payload; /* L4 payload of this packet (content without a */
	size_t payload_len;     /* sticky buffer looks here) */
};

/* The app-layer protocol of a flow as detection knows it so far. */
enum hg_app_proto {
	HG_APP_UNKNOWN, /* not (yet) determined: more payload may tell */
	HG_APP_NONE,    /* there is no app layer to detect (e.g. ICMP, no payload will come) */
	HG_APP_FAILED,  /* payload seen, no parser recognised it (EVE "failed") */
	HG_APP_TLS,
	HG_APP_HTTP,
	HG_APP_QUIC,
	HG_APP_SSH,
	HG_APP_DNS,
	HG_APP_SMTP,
	HG_APP_FTP,
	HG_APP_HTTP2,
	HG_APP_SMB,
	HG_APP_DCERPC,
	HG_APP_IMAP,
	HG_APP_MSN,
	HG_APP_KRB5,
	HG_APP_IKEV2,
	HG_APP_TFTP,
	HG_APP_NTP,
	HG_APP_DHCP,
	HG_APP__COUNT
};

/* "tls", "http", ...; "failed" for FAILED; "unknown" for UNKNOWN and NONE. */
const char *hg_app_proto_name(enum hg_app_proto a);

/* A byte string borrowed from the caller; p == NULL means "absent" (a
 * present but empty buffer has p != NULL, len 0). */
struct hg_slice {
	const uint8_t *p;
	size_t len;
};

/* The app-layer facts known so far for the flow (cumulative, not per
 * packet). Buffers are only looked at when their completeness flag says so:
 * a rule on tls.sni never sees a partial ClientHello (§5.1, §6). */
struct hg_eng_app {
	enum hg_app_proto proto;
	/* TLS: HG_SSL_* messages seen (HG_SSL_CLIENT_HELLO once the whole
	 * ClientHello is parsed, however many segments it spanned). */
	uint32_t ssl_state;
	struct hg_slice tls_sni;       /* raw SNI as sent; absent without the extension */
	/* HTTP/1 request. uri and method need the request line; the rest the
	 * complete request headers. */
	bool http_request_line;
	bool http_request_headers;
	struct hg_slice http_host;     /* normalised: lower case, no port, no trailing dots */
	struct hg_slice http_host_raw;
	struct hg_slice http_header_names; /* "\r\nHost\r\nAccept\r\n\r\n" (§6) */
	struct hg_slice http_uri, http_method, http_user_agent;
	struct hg_slice http_uri_raw; /* the request-target as sent (http_uri: normalised) */
	struct hg_slice quic_sni;      /* for logs; no rule buffer reads it (§5.4) */
	/* dns.query: the question names of a DNS request (a multi-buffer,
	 * as in Suricata 7: a rule matches when one name satisfies all of its
	 * dns.query matches). dns_query is the first; the engine tries each
	 * of dns_queries[0..n_dns_queries) in turn. Absent for responses. */
	struct hg_slice dns_query;
	const struct hg_slice *dns_queries;
	size_t n_dns_queries;
	/* ja4.hash: the JA4 fingerprint of the TLS or QUIC ClientHello; set
	 * once the whole ClientHello is parsed (absent before). */
	struct hg_slice ja4;
	/* ja3.hash (32 hex digits) and ja3.string of the TLS ClientHello, and
	 * the client's version as Suricata's ssl_version reads it (first valid
	 * supported_versions entry, else legacy_version): with ja4. */
	struct hg_slice ja3_hash, ja3_string;
	uint16_t tls_version;
	/* http.request_header: the request's header lines as sent (between
	 * the request line and the empty line), with http_request_headers. */
	struct hg_slice http_headers_raw;
};

/* Which layer decided a packet or a flow (replay's "decided_by"). */
enum hg_layer {
	HG_BY_NONE,              /* nothing decided: passes (§3.3: no default action, traffic passes) */
	HG_BY_STATELESS_RULE,    /* a stateless rule's aws:pass / aws:drop (§3.1) */
	HG_BY_STATELESS_DEFAULT, /* StatelessDefaultActions */
	HG_BY_FRAGMENT_DEFAULT,  /* StatelessFragmentDefaultActions (UDP fragments) */
	HG_BY_FRAGMENT_NOT_UDP,  /* §3.1: fragments of other protocols, silently dropped */
	HG_BY_STATEFUL_RULE,
	HG_BY_STATEFUL_DEFAULT,  /* StatefulDefaultActions */
	HG_BY_STREAM_EXCEPTION,  /* StreamExceptionPolicy */
	HG_BY__COUNT
};

/* "none", "stateless_rule", "stateless_default", "fragment_default",
 * "fragment_not_udp", "stateful_rule", "stateful_default",
 * "stream_exception_policy". */
const char *hg_layer_name(enum hg_layer l);

/* The stateless layer's decision on one packet (§3.1). */
struct hg_eng_sl {
	enum hg_sl_action action; /* pass, drop, or forward to the stateful engine */
	enum hg_layer by;         /* STATELESS_RULE, STATELESS_DEFAULT, FRAGMENT_* */
	uint32_t rule;            /* STATELESS_RULE: index in the stateless order */
};

/* Per-flow engine state: caller-allocated, zeroed by hg_eng_flow_init().
 * Fields are the engine's; read them through the functions below. */
#define HG_ENG_MAX_FIRED 16
struct hg_eng_flow {
	uint8_t verdict;  /* enum hg_verdict of the flow; UNDECIDED until decided */
	uint8_t why;      /* what decided (private) */
	uint8_t flags;    /* private HG_ENGF_* bits */
	uint8_t n_fired;
	uint32_t decider; /* index of the deciding rule, or default-action bit */
	uint32_t decider_sid;
	uint32_t alerts_discarded; /* alerts beyond the per-packet cap */
	uint32_t fired[HG_ENG_MAX_FIRED]; /* rules that already alerted */
	uint64_t flowbits; /* flowbits: bit i = name i of the ruleset (hg_flowbit.bit) */
	/* The stateless layer decides packets, not flows (§3.1): what it did
	 * to this flow's packets, for the flow's report. sl_verdict is DROP
	 * once it dropped one, else PASS once it passed one (aws:pass skips
	 * the stateful engine), else UNDECIDED; sl_by/sl_rule say which. */
	uint8_t sl_verdict, sl_by;
	uint8_t last_by;   /* enum hg_layer that decided the last packet */
	uint8_t last_sl_by;/* the stateless layer's part in the last packet */
	uint32_t last_sl_rule; /* (forwarded ones too: custom actions count them) */
	uint32_t sl_rule;
	uint32_t sl_dropped, sl_passed; /* packets */
	bool forwarded;    /* a packet reached the stateful engine */
};

static inline void hg_eng_flow_init(struct hg_eng_flow *f)
{
	*f = (struct hg_eng_flow){0};
}
static inline bool hg_eng_flow_decided(const struct hg_eng_flow *f)
{
	return f->verdict != HG_VERDICT_UNDECIDED;
}
static inline enum hg_verdict hg_eng_flow_verdict(const struct hg_eng_flow *f)
{
	return (enum hg_verdict)f->verdict;
}
/* The verdict of a flow that ended: a stateful drop or reject; else a drop
 * when the stateless layer dropped any of its packets; else the stateful
 * pass; else pass, since without a default action unmatched traffic
 * passes (§3.3). A StreamExceptionPolicy verdict counts only once a packet
 * of the flow reached the stateful engine (the stateless layer forwarded
 * it): a mid-stream flow the stateless layer passes or drops entirely never
 * meets the policy. */
enum hg_verdict hg_eng_flow_final(const struct hg_eng_flow *f);
/* True once a packet was evaluated with the app layer complete (TLS
 * ClientHello or HTTP request headers parsed, or known to be none/failed):
 * app rules have had their look. */
bool hg_eng_flow_app_seen(const struct hg_eng_flow *f);
/* True once a rule's match could not be run on a packet of the flow (a
 * pcre search hit its match or depth limit, or memory ran out): the rule's
 * answer is unknown, so the engine stopped there and left the flow
 * undecided (unless an earlier drop of that packet decided it). The caller
 * must not pass it: the inspector drops it (HG_EVASION_MATCH_ERROR). */
bool hg_eng_flow_match_error(const struct hg_eng_flow *f);

/* One alert event (the rule's match, or a default action's log). */
struct hg_alert {
	const struct hg_rule *rule;        /* NULL for a policy default action */
	const struct hg_rule_group *group; /* resource_arn; NULL: the policy */
	uint32_t sid, rev;
	const char *msg;                   /* alert.signature; never NULL ("" when absent) */
	enum hg_action action;             /* the rule's (effective) action */
	bool blocked;                      /* alert.action "blocked" (else "allowed") */
	const char *alert_action;          /* "blocked" / "allowed" */
	enum hg_verdict verdict;           /* the packet's verdict after evaluation */
	const char *verdict_action;        /* verdict.action: "pass" "drop" "reject", */
					   /* "alert" when the packet is undecided */
};

typedef void (*hg_alert_fn)(void *ud, const struct hg_alert *a);

struct hg_engine;

/* Precomputes evaluation order and lookup tables from a finalized ruleset
 * (its policy). Returns NULL with errno set when rs has no policy. */
struct hg_engine *hg_engine_new(const struct hg_ruleset *rs);
void hg_engine_free(struct hg_engine *e);

/* Decides one packet: the stateless layer (§3.1), then, for forwarded
 * traffic of an undecided flow, the stateful rules in evaluation order
 * (§2.3) and, in strict order, the stateful default actions (§3.3).
 * Returns this packet's verdict. PASS/DROP/REJECT from a stateless rule or
 * default concern this packet only; from the stateful layer they decide the
 * flow (hg_eng_flow_decided() then says so) and every later packet of the
 * flow returns the same without inspection. Alerts go to cb (may be NULL),
 * in evaluation order, after the verdict is known. */
enum hg_verdict hg_engine_packet(const struct hg_engine *e, struct hg_eng_flow *f,
				 const struct hg_eng_pkt *p, const struct hg_eng_app *app,
				 hg_alert_fn cb, void *ud);

/* The stateless layer alone (§3.1): stateless rules in order, then the
 * fragment default for fragments, the stateless default otherwise;
 * fragments of protocols other than UDP are dropped first. The caller
 * runs it on each fragment before reassembly (a dropped fragment never
 * joins its datagram); hg_engine_packet() runs it on every other packet. */
void hg_engine_stateless(const struct hg_engine *e, const struct hg_eng_pkt *p, struct hg_eng_sl *out);

/* Records on f what the stateless layer did to one of its packets that
 * hg_engine_packet() did not see (a fragment dropped before reassembly). */
void hg_eng_flow_note_stateless(struct hg_eng_flow *f, const struct hg_eng_sl *sl);

/* The stateless rule at index i of the stateless order (hg_eng_sl.rule),
 * or NULL. */
const struct hg_sl_rank *hg_engine_stateless_rule(const struct hg_engine *e, uint32_t i);

/* The flow was picked up midstream (or hit another stream exception): apply
 * StreamExceptionPolicy (§3.2). DROP and REJECT decide the flow (no alert);
 * CONTINUE returns UNDECIDED and later packets are evaluated "without
 * context": not established, no app layer. */
enum hg_verdict hg_engine_stream_exception(const struct hg_engine *e, struct hg_eng_flow *f);

/* What decided a flow. */
enum hg_decider_kind {
	HG_DECIDER_NONE,
	HG_DECIDER_RULE,             /* a stateful rule */
	HG_DECIDER_DEFAULT_ACTION,   /* a StatefulDefaultActions entry */
	HG_DECIDER_STREAM_EXCEPTION, /* StreamExceptionPolicy */
	HG_DECIDER_STATELESS,        /* the stateless layer (layer says which part) */
};

struct hg_eng_decider {
	enum hg_decider_kind kind;
	enum hg_layer layer;               /* decided_by */
	const struct hg_rule *rule;        /* HG_DECIDER_RULE */
	const struct hg_sl_rank *srule;    /* layer HG_BY_STATELESS_RULE */
	const struct hg_rule_group *group; /* NULL: the policy */
	uint32_t sid, rev;  /* default actions: their alert sid 2/4/6/8 */
	const char *msg;    /* rule msg, "aws:drop_established action", ... ("" if none) */
};

bool hg_engine_flow_decider(const struct hg_engine *e, const struct hg_eng_flow *f,
			    struct hg_eng_decider *out);
/* "sid 7 \"not matching any TLS allowlisted FQDNs\"" or "no decision"; returns
 * what snprintf returns. */
int hg_engine_describe(const struct hg_engine *e, const struct hg_eng_flow *f, char *buf,
		       size_t len);

/* Whether some rule reads sticky buffer b: buffers that cost memory per
 * flow (ja3.string) are kept only then. */
bool hg_engine_uses_buffer(const struct hg_engine *e, enum hg_buffer b);

/* Sizes of the precomputed tables, for `check` and benchmarks. */
struct hg_engine_info {
	size_t n_rules;       /* stateful rules in evaluation order */
	size_t n_stateless;   /* stateless rules */
	size_t n_port_indexed;/* rules found through the port index */
	size_t n_addr_indexed;/* ... through the single-address index */
	size_t bytes;
};
void hg_engine_get_info(const struct hg_engine *e, struct hg_engine_info *out);
/* The policy the engine decides with (its settings: flow timeouts...). */
const struct hg_policy *hg_engine_policy(const struct hg_engine *e);

#endif
