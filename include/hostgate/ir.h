/* ir.h - the intermediate representation every loader fills and every
 * emitter and the engine read.
 *
 *   ruleset ─ policy ─ stateless group refs ─► group ─ stateless rules
 *                    └ stateful group refs  ─► group ─ rules (5-tuple, Suricata,
 *                                                     or generated from a domain list)
 *
 * All nodes live in the ruleset's arena (one free releases the tree) except
 * the resolved address/port sets and domain matchers, which are released by
 * hg_ruleset_free(). Every node carries the location it was read from. */
#ifndef HOSTGATE_IR_H
#define HOSTGATE_IR_H

#include "hostgate/diag.h"
#include "hostgate/domain.h"
#include "hostgate/ipset.h"

/* ---------------------------------------------------------------- enums */

enum hg_action { HG_ACT_PASS, HG_ACT_DROP, HG_ACT_REJECT, HG_ACT_ALERT };

/* Rule protocols: the transport ones and the app-layer ones ANFW accepts. */
enum hg_proto {
	HG_PROTO_IP,
	HG_PROTO_TCP,
	HG_PROTO_UDP,
	HG_PROTO_ICMP,
	HG_PROTO_TLS,
	HG_PROTO_HTTP,
	HG_PROTO_QUIC,
	HG_PROTO_DNS,
	HG_PROTO_SSH,
	HG_PROTO_SMTP,
	HG_PROTO_FTP,
	HG_PROTO_SMB,
	HG_PROTO_DCERPC,
	HG_PROTO_IMAP,
	HG_PROTO_MSN,
	HG_PROTO_KRB5,
	HG_PROTO_IKEV2,
	HG_PROTO_TFTP,
	HG_PROTO_NTP,
	HG_PROTO_DHCP,
	HG_PROTO_HTTP2,
	HG_PROTO__COUNT
};

enum hg_rule_order { HG_ORDER_DEFAULT_ACTION, HG_ORDER_STRICT };

enum hg_stream_exception { HG_SEP_DROP, HG_SEP_CONTINUE, HG_SEP_REJECT };

/* StatefulDefaultActions, a bit each (reference/anfw.md §3.3). */
enum {
	HG_SDA_DROP_STRICT = 1u << 0,
	HG_SDA_DROP_ESTABLISHED = 1u << 1,
	HG_SDA_DROP_ESTABLISHED_APP_LAYER = 1u << 2,
	HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER = 1u << 3,
	HG_SDA_ALERT_STRICT = 1u << 4,
	HG_SDA_ALERT_ESTABLISHED = 1u << 5,
	HG_SDA_ALERT_ESTABLISHED_APP_LAYER = 1u << 6,
	HG_SDA_ALERT_ESTABLISHED_APP_LAYER_TO_SERVER = 1u << 7,
};

/* Stateless standard actions. */
enum hg_sl_action { HG_SL_PASS, HG_SL_DROP, HG_SL_FORWARD };

enum hg_list_type { HG_LIST_ALLOWLIST, HG_LIST_DENYLIST, HG_LIST_REJECTLIST, HG_LIST_ALERTLIST };
enum { HG_TARGET_TLS_SNI = 1u << 0, HG_TARGET_HTTP_HOST = 1u << 1 };

/* -------------------------------------------------------- addresses, ports */

/* An address or port expression as written, before variables are resolved:
 * "any", a literal ("10.0.0.0/8", "80", "1024:"), "$VAR", "@REF", or a
 * bracketed list; each may be negated. */
enum hg_expr_kind { HG_EXPR_ANY, HG_EXPR_LITERAL, HG_EXPR_VAR, HG_EXPR_REF, HG_EXPR_LIST };

struct hg_expr {
	struct hg_loc loc;
	enum hg_expr_kind kind;
	bool negated;
	const char *text;       /* literal or variable name (without '$'/'@') */
	struct hg_expr **items; /* HG_EXPR_LIST */
	size_t n_items;
};

enum hg_var_kind { HG_VAR_IP, HG_VAR_PORT };

/* A RuleVariables entry (IPSets / PortSets) at group or policy level. */
struct hg_var {
	struct hg_loc loc;
	const char *name;
	enum hg_var_kind kind;
	struct hg_expr **defs; /* each Definition entry */
	size_t n_defs;
	/* Filled by hg_ruleset_finalize(). */
	struct hg_ipset ips;
	struct hg_portset ports;
	bool resolved, resolving;
};

/* ------------------------------------------------------- stateful rules */

/* Where a content match looks (Suricata sticky buffers). */
enum hg_buffer {
	HG_BUF_PAYLOAD,      /* packet/stream payload (no sticky buffer) */
	HG_BUF_TLS_SNI,      /* tls.sni (raw SNI, as sent) */
	HG_BUF_HTTP_HOST,    /* http.host (normalised: lower case, no port/trailing dot) */
	HG_BUF_HTTP_HOST_RAW,/* http.host.raw */
	HG_BUF_HTTP_HEADER_NAMES,
	HG_BUF_HTTP_URI,
	HG_BUF_HTTP_METHOD,
	HG_BUF_HTTP_USER_AGENT,
	HG_BUF_DNS_QUERY,
	HG_BUF_JA4_HASH,     /* ja4.hash: the JA4 fingerprint of the TLS/QUIC ClientHello */
	HG_BUF_JA3_HASH,     /* ja3.hash: MD5 of the JA3 string, 32 lower-case hex digits */
	HG_BUF_JA3_STRING,   /* ja3.string: "version,ciphers,extensions,groups,formats" */
	HG_BUF_HTTP_REQUEST_HEADER, /* http.request_header: each "Name: value" on its own */
	HG_BUF_HTTP_URI_RAW, /* http.uri.raw: the request-target as sent (http.uri is normalised) */
	HG_BUF__COUNT
};

enum hg_match_kind {
	HG_MATCH_CONTENT,   /* content:"..." with modifiers */
	HG_MATCH_DOMAINSET, /* a whole domain list, one matcher: sid per target */
	HG_MATCH_BUFFER_PRESENT, /* the sticky buffer exists (e.g. a bare tls.sni;) */
	HG_MATCH_PCRE,      /* pcre:"/re/flags": a PCRE2 pattern on the buffer */
};

struct hg_domain_list;

struct hg_match {
	struct hg_loc loc;
	enum hg_match_kind kind;
	enum hg_buffer buffer;
	bool dotprefix; /* transform: prepend '.' to the buffer */
	/* HG_MATCH_CONTENT */
	const uint8_t *bytes;
	size_t len;
	bool negated, nocase, startswith, endswith;
	int32_t offset, depth;   /* -1 when unset */
	int32_t distance, within;/* relative to the previous match; INT32_MIN when unset */
	/* HG_MATCH_PCRE: the pattern between the slashes as written, PCRE2
	 * compile options from the flags, and /R (relative to the previous
	 * match). negated is pcre:!"...". The engine compiles its own copy. */
	const char *pcre, *pcre_flags;
	uint32_t pcre_options;
	bool pcre_relative;
	/* HG_MATCH_DOMAINSET: sid of target i is sid_base + i */
	const struct hg_domain_list *list;
	uint32_t sid_base;
};

/* flow: keyword bits. */
enum {
	HG_FLOW_TO_SERVER = 1u << 0,
	HG_FLOW_TO_CLIENT = 1u << 1,
	HG_FLOW_ESTABLISHED = 1u << 2,
	HG_FLOW_NOT_ESTABLISHED = 1u << 3,
	HG_FLOW_STATELESS = 1u << 4,
	HG_FLOW_ONLY_STREAM = 1u << 5,
	HG_FLOW_NO_STREAM = 1u << 6,
};

/* ssl_state: bits; negated bits in ssl_state_not. */
enum {
	HG_SSL_CLIENT_HELLO = 1u << 0,
	HG_SSL_SERVER_HELLO = 1u << 1,
	HG_SSL_CLIENT_KEYX = 1u << 2,
	HG_SSL_SERVER_KEYX = 1u << 3,
	HG_SSL_UNKNOWN = 1u << 4,
};

/* flowbits: operations on per-flow named bits (Suricata). set, unset and
 * toggle apply when the rest of the rule matched; isset and isnotset are
 * conditions. */
enum hg_flowbit_op { HG_FB_SET, HG_FB_UNSET, HG_FB_TOGGLE, HG_FB_ISSET, HG_FB_ISNOTSET };

/* Distinct flowbit names a ruleset may use (the engine keeps one uint64_t
 * per flow). */
#define HG_MAX_FLOWBITS 64

struct hg_flowbit {
	struct hg_loc loc;
	enum hg_flowbit_op op;
	const char *name;
	uint32_t bit; /* filled by hg_ruleset_finalize(): 0..HG_MAX_FLOWBITS-1 */
};

/* app-layer-protocol: values beyond the hg_proto ones. */
#define HG_APP_LAYER_FAILED ((int)HG_PROTO__COUNT)

/* tcp.flags:[+*!]FLAGS[,IGNORED] (Suricata header keywords): bits as on
 * the wire (HG_TCP_* in engine.h). mode '=' exactly flags among the
 * unignored bits, '+' at least these, '*' any of these, '!' none of these. */
struct hg_tcp_flag_match {
	char mode;
	uint8_t flags, ignore;
};

/* dsize:N, <N, >N, !N, N<>M (payload bytes of the packet; range exclusive). */
struct hg_dsize {
	char mode; /* '=', '<', '>', '!', 'r' */
	uint32_t a, b;
};

/* ssl_version: a bit per version; negated ones in ssl_version_not. */
enum {
	HG_SSLV_SSL2 = 1u << 0,
	HG_SSLV_SSL3 = 1u << 1,
	HG_SSLV_TLS10 = 1u << 2,
	HG_SSLV_TLS11 = 1u << 3,
	HG_SSLV_TLS12 = 1u << 4,
	HG_SSLV_TLS13 = 1u << 5,
};

/* geoip:[src|dst|both|any,][!]CC[,CC...] (Suricata header keywords, ANFW
 * rule-groups-geo-ip-filtering: IPv4 and IPv6). set is filled by finalize
 * from the --geoip-db database: the networks whose country.iso_code is
 * listed (negated: every network with a country that is not listed). */
enum hg_geo_on { HG_GEO_SRC, HG_GEO_DST, HG_GEO_BOTH, HG_GEO_ANY };

struct hg_geoip {
	struct hg_loc loc;
	enum hg_geo_on on;
	bool negated;
	char (*codes)[3];
	size_t n_codes;
	struct hg_ipset set; /* released by hg_ruleset_free() */
};

/* How the engine must evaluate a rule (computed by hg_ruleset_finalize()). */
enum hg_rule_class {
	HG_CLASS_IP_ONLY, /* no flow context: first packet in each direction */
	HG_CLASS_PACKET,  /* per packet, no app-layer data needed */
	HG_CLASS_APP,     /* needs the app-layer protocol or a buffer */
};

struct hg_rule {
	struct hg_loc loc;
	enum hg_action action;
	enum hg_proto proto;
	struct hg_expr *src, *sport, *dst, *dport;
	bool bidirectional; /* "<>" (StatefulRules Direction ANY) */
	uint32_t sid, rev;
	uint32_t priority; /* 0 = not given (Suricata's default 3 applies) */
	const char *msg;   /* NULL when absent */
	uint32_t flow;     /* HG_FLOW_* */
	uint32_t ssl_state, ssl_state_not;
	struct hg_match *matches;
	size_t n_matches;
	bool noalert;      /* noalert; */
	bool alert_on_pass;/* "alert;" on a pass rule: log it */
	bool never_matches;/* a rule kept for its text only (none today) */
	/* Packet keywords (NULL / has_* false when absent). */
	bool has_tcp_flags, has_dsize;
	struct hg_tcp_flag_match tcp_flags;
	struct hg_dsize dsize;
	uint32_t ssl_version, ssl_version_not; /* HG_SSLV_* */
	struct hg_geoip *geoip;
	const char *text;  /* source text of the rule, for messages; may be NULL */
	/* flowbits:, in rule order (evaluation order of set/unset/toggle). */
	struct hg_flowbit *flowbits;
	size_t n_flowbits;
	/* ip_proto: (every one given, intersected): the IP protocols the
	 * rule matches, bit n of ip_proto[n >> 3] for protocol n. */
	bool has_ip_proto;
	uint8_t ip_proto[32];
	/* app-layer-protocol: an enum hg_proto value or HG_APP_LAYER_FAILED
	 * (only when has_app_layer), negated with app_layer_not. */
	bool has_app_layer, app_layer_not;
	int app_layer;
	/* Filled by hg_ruleset_finalize(). */
	struct hg_ipset src_set, dst_set;
	struct hg_portset sport_set, dport_set;
	enum hg_rule_class cls;
	const struct hg_rule_group *group;
};

/* A RulesSourceList: kept whole; the generated rules reference it. */
struct hg_domain_target {
	struct hg_loc loc;
	const char *name; /* lower-cased, trailing dot removed; leading '.' kept */
};

struct hg_domain_list {
	struct hg_loc loc;
	enum hg_list_type type;
	uint32_t target_types; /* HG_TARGET_* */
	struct hg_domain_target *targets;
	size_t n_targets;
	/* Built by hg_ruleset_finalize(), or, when the load options say
	 * lazy_matchers, by hg_ruleset_build_matchers() (hg_engine_new()
	 * calls it). NULL until then. */
	struct hg_domain_matcher *matcher;
};

/* ------------------------------------------------------ stateless rules */

struct hg_tcp_flags {
	uint8_t flags, masks; /* masks == 0 means "all eight flags" */
};

struct hg_stateless_rule {
	struct hg_loc loc;
	uint32_t priority;
	enum hg_sl_action action;
	const char **custom_actions;	/* custom action names (ActionName) */
	const char **custom_dimensions; /* each one's PublishMetricAction dimension value */
	size_t n_custom_actions;
	struct hg_ipset sources, destinations;     /* empty = any */
	struct hg_portset src_ports, dst_ports;    /* empty = any */
	bool any_source, any_destination, any_sport, any_dport;
	uint8_t protocols[32]; /* bitmap of IP protocol numbers; all zero = any */
	struct hg_tcp_flags *tcp_flags;
	size_t n_tcp_flags;
	/* Entries of Sources, Destinations, SourcePorts, DestinationPorts as
	 * written, for capacity (§3.1: overlapping entries still count);
	 * 0 means "count the ranges of the set". */
	uint32_t n_written[4];
};

/* ------------------------------------------------------------ groups */

enum hg_group_type { HG_GROUP_STATEFUL, HG_GROUP_STATELESS };
enum hg_source_kind { HG_SRC_NONE, HG_SRC_DOMAIN_LIST, HG_SRC_STATEFUL_RULES, HG_SRC_RULES_STRING,
		      HG_SRC_STATELESS };

struct hg_rule_group {
	struct hg_loc loc;
	const char *name;
	const char *arn; /* for logs' aws_metadata.resource_arn */
	const char *logical_id; /* CloudFormation resource name, when any */
	enum hg_group_type type;
	enum hg_source_kind source;
	uint32_t capacity;         /* declared; 0 when absent */
	bool has_rule_order;
	enum hg_rule_order rule_order;
	struct hg_var **vars;
	size_t n_vars;
	struct hg_domain_list *list; /* HG_SRC_DOMAIN_LIST */
	struct hg_rule **rules;       /* stateful: given or generated from the list */
	size_t n_rules;
	struct hg_stateless_rule **srules;
	size_t n_srules;
	uint32_t consumed_capacity; /* as ANFW counts it (filled by finalize) */
	/* Lint codes silenced for this group ("HG104,HG105"), from its
	 * hostgate:lint-ignore tag; NULL when none. */
	const char *lint_ignore;
	/* Not referenced by the policy; appended by --attach-groups. */
	bool attached;
};

struct hg_group_ref {
	struct hg_loc loc;
	/* ResourceArn as written; when the loader cannot bind group itself it
	 * leaves group NULL and finalize matches this against each group's arn
	 * or its name (the part after the last '/'). */
	const char *arn;
	uint32_t priority; /* 0 when absent (DEFAULT_ACTION_ORDER) */
	bool drop_to_alert; /* Override.Action DROP_TO_ALERT */
	struct hg_rule_group *group;
};

struct hg_policy {
	struct hg_loc loc;
	const char *name;
	const char *arn;
	bool synthesized; /* no policy in the inputs: defaults + every group */
	enum hg_sl_action stateless_default, stateless_fragment_default;
	const char **stateless_default_custom, **stateless_fragment_custom;
	const char **stateless_default_dimensions, **stateless_fragment_dimensions; /* as custom_dimensions */
	size_t n_stateless_default_custom, n_stateless_fragment_custom;
	struct hg_group_ref *stateless_refs; /* sorted by priority */
	size_t n_stateless_refs;
	struct hg_group_ref *stateful_refs;  /* in evaluation order */
	size_t n_stateful_refs;
	enum hg_rule_order rule_order;
	enum hg_stream_exception stream_exception;
	/* FlowTimeouts.TcpIdleTimeoutSeconds (60..6000; finalize fills in
	 * ANFW's default, 350): the conntrack, flow-table and verdict-element
	 * lifetime of an idle TCP flow. */
	uint32_t tcp_idle_timeout;
	uint32_t default_actions; /* HG_SDA_* */
	struct hg_var **vars;     /* PolicyVariables.RuleVariables */
	size_t n_vars;
	/* Filled by finalize: the effective HOME_NET and EXTERNAL_NET. */
	struct hg_ipset home_net, external_net;
};

/* --------------------------------------------------------- the ruleset */

struct hg_ruleset {
	struct hg_arena *arena;
	const char *firewall_name; /* Firewall's FirewallName, or "hostgate" */
	struct hg_policy *policy;  /* set by finalize (synthesized if none) */
	struct hg_policy **policies; /* every policy read */
	size_t n_policies;
	struct hg_rule_group **groups; /* every group read, in input order */
	size_t n_groups;
	/* Private to the loaders (pending CloudFormation references etc.). */
	void *load_state;
};

/* Options of loading and finalizing. */
struct hg_param {
	const char *name, *value;
};

struct hg_load_opts {
	const struct hg_param *params; /* --param NAME=VALUE for CloudFormation */
	size_t n_params;
	const char *home_net;  /* "--home-net" comma list; NULL: RFC1918 + fc00::/7 */
	/* Caps against hostile inputs. */
	size_t max_file_bytes;   /* default 64 MiB */
	size_t max_depth;        /* YAML nesting, default 64 */
	size_t max_alias_nodes;  /* nodes reachable through aliases, default 100000 */
	size_t max_scalar_bytes; /* default 4 MiB (RulesString allows 2,000,000) */
	/* Finalize leaves the domain lists' matchers unbuilt: compile, check
	 * and apply never look a name up (the emitted table does not hold the
	 * names), and a million-name matcher costs about half the time and
	 * a third of the memory of compiling its list. Default false. */
	bool lazy_matchers;
	/* Rule groups that the inputs' policy does not reference are appended
	 * to its references (--attach-groups) instead of being an error. */
	bool attach_groups;
	/* --reference-set NAME=FILE: the CIDRs (one a line) of ANFW's IP set
	 * references (ReferenceSets.IPSetReferences), used in rules as @NAME. */
	const struct hg_param *refsets;
	size_t n_refsets;
	/* --geoip-db FILE: a MaxMind DB (country) for the geoip keyword. */
	const char *geoip_db;
};

/* ANFW's FlowTimeouts.TcpIdleTimeoutSeconds default and range (API
 * FlowTimeouts). */
#define HG_TCP_IDLE_DEFAULT 350
#define HG_TCP_IDLE_MIN 60
#define HG_TCP_IDLE_MAX 6000

void hg_load_opts_defaults(struct hg_load_opts *o);

struct hg_ruleset *hg_ruleset_new(void);
void hg_ruleset_free(struct hg_ruleset *rs);

/* Reads one input file of any supported kind (detected by extension, then
 * content) and adds its groups/policies to rs. Errors go to d. Returns false
 * when anything in the file failed. */
bool hg_load_file(struct hg_ruleset *rs, const char *path, const struct hg_load_opts *o,
		  struct hg_diag *d);
/* Per-format loaders (used by hg_load_file and by the tests). */
bool hg_load_yaml(struct hg_ruleset *rs, const char *path, const char *text, size_t len,
		  const struct hg_load_opts *o, struct hg_diag *d);
/* Parses Suricata rules text into group g. base is the location of the first
 * character of text in its file (a RulesString inside YAML starts mid-file). */
bool hg_load_suricata(struct hg_ruleset *rs, struct hg_rule_group *g, const char *text, size_t len,
		      struct hg_loc base, bool base_is_block, struct hg_diag *d);
bool hg_load_domain_file(struct hg_ruleset *rs, const char *path, const char *text, size_t len,
			 struct hg_diag *d);

/* After every file is loaded: picks or synthesizes the policy, resolves
 * variables and expressions into sets, generates domain-list rules and
 * matchers, checks sids, rule order and capacity. */
bool hg_ruleset_finalize(struct hg_ruleset *rs, const struct hg_load_opts *o, struct hg_diag *d);

/* Builds the matcher of every domain list that has none yet (after
 * finalize with lazy_matchers). The matchers are derived from the lists, a
 * cache that hg_ruleset_free() releases, so this takes the ruleset const:
 * hg_engine_new() calls it. Not thread-safe: call it before the ruleset is
 * shared between threads. */
void hg_ruleset_build_matchers(const struct hg_ruleset *rs);

/* Helpers shared by loaders and emitters. */
struct hg_rule_group *hg_group_new(struct hg_ruleset *rs, struct hg_loc loc, const char *name,
				   enum hg_group_type type);
const char *hg_action_name(enum hg_action a);   /* "pass" ... */
const char *hg_proto_name(enum hg_proto p);     /* "tcp", "tls" ... */
bool hg_proto_from_name(const char *s, enum hg_proto *p); /* case-insensitive */
/* Why a protocol name that Suricata (ANFW's engine) knows but hostgate does
 * not accept is refused: a rule on it could never match, since hostgate
 * cannot tell such flows from the client's bytes. NULL for names nobody
 * knows (a plain "unknown protocol"). */
const char *hg_proto_refusal(const char *s);
/* "ip, tcp, udp, icmp, tls, ...": every name hg_proto_from_name() takes. */
const char *hg_proto_names_list(void);
const char *hg_buffer_name(enum hg_buffer b);   /* "tls.sni" ... */
const char *hg_list_type_name(enum hg_list_type t);
const char *hg_sda_name(uint32_t bit);          /* "aws:drop_strict" ... */
/* The evaluation order of a policy's rules: hostgate/order.h. */

/* Suricata's priority for ordering: the given one or 3. */
static inline uint32_t hg_rule_priority(const struct hg_rule *r) { return r->priority ? r->priority : 3; }

#endif
