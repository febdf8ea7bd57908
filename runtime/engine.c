/* engine.c - decides flows as AWS Network Firewall does: the stateless layer
 * per packet, then the stateful rules in ANFW's evaluation order and the
 * strict-order default actions. Section numbers (§) are reference/anfw.md.
 *
 * hg_engine_new() flattens every stateful rule of the policy into one array
 * in evaluation order and indexes it by transport protocol, destination port
 * and app-layer protocol, so a packet only looks at rules that could match
 * it. Per packet, the candidate lists are merged by evaluation index, which
 * reproduces Suricata's "collect every match, sort, apply the first pass or
 * drop" (detect-engine-alert.c PacketAlertFinalize) in one ordered walk. */
#include "hostgate/engine.h"
#include "engine_int.h"
#include "hostgate/order.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Suricata's packet_alert_max default is 15; alerts beyond the cap are
 * counted as discarded, never buffered without bound. */
#define ENG_MAX_ALERTS 16

/* Port-indexed rules list at most this many destination ports;
 * address-indexed ones at most this many single addresses. */
#ifndef ENG_PORT_INDEX_MAX
#define ENG_PORT_INDEX_MAX 64
#endif
#define ENG_ADDR_INDEX_MAX 16

enum { TP_TCP, TP_UDP, TP_ICMP, TP_OTHER, TP__COUNT };

/* f->why */
enum { WHY_NONE, WHY_RULE, WHY_DEFAULT, WHY_EXCEPTION };
/* f->flags */
enum {
	HG_ENGF_MIDSTREAM = 1u << 0, /* StreamExceptionPolicy CONTINUE: no context */
	HG_ENGF_APP_SEEN = 1u << 1,
	HG_ENGF_DEFAULT_LOGGED = 1u << 2,
	HG_ENGF_MATCH_ERROR = 1u << 3, /* a rule's match could not be run */
};
/* Keys in f->fired: rule index, direction for IP-only rules (Suricata
 * evaluates those once per direction), or a default action. */
#define FIRED_DIR_BIT 0x80000000u
#define FIRED_SDA_BASE 0x40000000u

/* A content group: the content matches of one rule on one buffer. */
struct eng_cgroup {
	enum hg_buffer buffer;
	bool dotprefix;
	const struct hg_match **m;
	void **re; /* per m: the compiled pcre, NULL for a content */
	size_t n;
};

struct eng_rule {
	const struct hg_rule *r;
	const struct hg_rule_group *g;
	enum hg_action act; /* effective: DROP_TO_ALERT applied */
	bool src_any, dst_any, sport_any, dport_any;
	bool port_indexed, addr_indexed; /* in some bucket's index */
	struct eng_cgroup *cg;
	size_t n_cg;
	const struct hg_match **other; /* DOMAINSET and BUFFER_PRESENT */
	size_t n_other;
	bool dns_query; /* reads dns.query, a multi-buffer (rule_match_any) */
};

/* A sorted list of rule indexes. */
struct idx_list {
	uint32_t *v;
	size_t n, cap;
};

/* Rules keyed by single addresses: sorted distinct keys, and per key a
 * sorted run of rule indexes. */
struct addr_index {
	struct hg_ip *keys;
	uint32_t *off; /* n + 1 offsets into idx */
	uint32_t *idx;
	size_t n;
};

/* The rules one transport protocol's packets may match, split so that a
 * packet walks only the lists that concern it: IP-only rules only on the
 * first packet of a direction (§2.2), rules with a few destination ports
 * or a few single addresses only when the packet has one of them. */
struct eng_bucket {
	struct idx_list any;     /* packet and app rules to try on every packet */
	struct idx_list any_ipo; /* IP-only rules to try on first packets */
	uint16_t *ports;         /* sorted distinct destination ports */
	uint32_t *port_off;      /* n_ports + 1 offsets into port_idx */
	uint32_t *port_idx;      /* per port: sorted rule indexes */
	size_t n_ports;
	struct addr_index by_dst, by_src;
};

struct hg_engine {
	const struct hg_ruleset *rs;
	const struct hg_policy *pol;
	struct eng_rule *rules; /* evaluation order */
	size_t n_rules;
	struct eng_bucket tp[TP__COUNT];
	struct idx_list app[HG_APP__COUNT];
	struct hg_sl_rank *sl;
	size_t n_sl;
	size_t n_port_indexed, n_addr_indexed;
	size_t bytes;
	bool strict;
	uint32_t buffers; /* bit per enum hg_buffer some rule reads */
};

/* ------------------------------------------------------------ names */

const char *hg_verdict_name(enum hg_verdict v)
{
	switch (v) {
	case HG_VERDICT_PASS: return "pass";
	case HG_VERDICT_DROP: return "drop";
	case HG_VERDICT_REJECT: return "reject";
	default: return "undecided";
	}
}

static const char *const layer_names[HG_BY__COUNT] = {
	"none", "stateless_rule", "stateless_default", "fragment_default", "fragment_not_udp",
	"stateful_rule", "stateful_default", "stream_exception_policy",
};

const char *hg_layer_name(enum hg_layer l)
{
	return (unsigned)l < HG_BY__COUNT ? layer_names[l] : "none";
}

static enum hg_layer why_layer(uint8_t why)
{
	switch (why) {
	case WHY_RULE: return HG_BY_STATEFUL_RULE;
	case WHY_DEFAULT: return HG_BY_STATEFUL_DEFAULT;
	case WHY_EXCEPTION: return HG_BY_STREAM_EXCEPTION;
	default: return HG_BY_NONE;
	}
}

static const char *const app_names[HG_APP__COUNT] = {
	"unknown", "unknown", "failed", "tls", "http", "quic", "ssh", "dns", "smtp", "ftp", "http2",
	"smb", "dcerpc", "imap", "msn", "krb5", "ikev2", "tftp", "ntp", "dhcp",
};

const char *hg_app_proto_name(enum hg_app_proto a)
{
	return (unsigned)a < HG_APP__COUNT ? app_names[a] : "unknown";
}

bool hg_eng_flow_app_seen(const struct hg_eng_flow *f)
{
	return f->flags & HG_ENGF_APP_SEEN;
}

bool hg_eng_flow_match_error(const struct hg_eng_flow *f)
{
	return f->flags & HG_ENGF_MATCH_ERROR;
}

/* The app-layer protocol a rule protocol needs; UNKNOWN for the transport
 * ones. Every app-layer protocol the loader accepts is detected
 * (runtime/inspect.c, detect.c). */
static enum hg_app_proto rule_app(enum hg_proto p)
{
	switch (p) {
	case HG_PROTO_IP:
	case HG_PROTO_TCP:
	case HG_PROTO_UDP:
	case HG_PROTO_ICMP: return HG_APP_UNKNOWN;
	case HG_PROTO_TLS: return HG_APP_TLS;
	case HG_PROTO_HTTP: return HG_APP_HTTP;
	case HG_PROTO_QUIC: return HG_APP_QUIC;
	case HG_PROTO_SSH: return HG_APP_SSH;
	case HG_PROTO_DNS: return HG_APP_DNS;
	case HG_PROTO_SMTP: return HG_APP_SMTP;
	case HG_PROTO_FTP: return HG_APP_FTP;
	case HG_PROTO_HTTP2: return HG_APP_HTTP2;
	case HG_PROTO_SMB: return HG_APP_SMB;
	case HG_PROTO_DCERPC: return HG_APP_DCERPC;
	case HG_PROTO_IMAP: return HG_APP_IMAP;
	case HG_PROTO_MSN: return HG_APP_MSN;
	case HG_PROTO_KRB5: return HG_APP_KRB5;
	case HG_PROTO_IKEV2: return HG_APP_IKEV2;
	case HG_PROTO_TFTP: return HG_APP_TFTP;
	case HG_PROTO_NTP: return HG_APP_NTP;
	case HG_PROTO_DHCP: return HG_APP_DHCP;
	default: return HG_APP__COUNT;
	}
}

static int tp_of(uint8_t ip_proto)
{
	switch (ip_proto) {
	case 6: return TP_TCP;
	case 17: return TP_UDP;
	case 1:
	case 58: return TP_ICMP;
	default: return TP_OTHER;
	}
}

/* ------------------------------------------------------ set lookups */

/* Inlined binary searches over the resolved sets (ipset.h: sorted,
 * disjoint ranges); these run for every candidate rule of every packet. */
static bool ipset_has(const struct hg_ipset *s, const struct hg_ip *ip)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(ip->b, s->r[mid].lo.b, 16) < 0)
			hi = mid;
		else if (memcmp(ip->b, s->r[mid].hi.b, 16) > 0)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool portset_has(const struct hg_portset *s, uint16_t port)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (port < s->r[mid].lo)
			hi = mid;
		else if (port > s->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool ports_all(const struct hg_portset *s)
{
	return s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535;
}

static bool ips_all(const struct hg_ipset *s)
{
	static const struct hg_ip zero, ones = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	return s->n == 1 && !memcmp(&s->r[0].lo, &zero, 16) && !memcmp(&s->r[0].hi, &ones, 16);
}

/* ---------------------------------------------------- building */

static void idx_push(struct idx_list *l, uint32_t v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = v;
}

/* Splits a rule's matches into per-buffer content groups (relative
 * matches chain within one buffer) and the other kinds. */
static void build_matches(struct hg_engine *e, struct eng_rule *er)
{
	const struct hg_rule *r = er->r;
	if (!r->n_matches)
		return;
	er->cg = xcalloc(r->n_matches, sizeof(*er->cg));
	er->other = xcalloc(r->n_matches, sizeof(*er->other));
	e->bytes += r->n_matches * (sizeof(*er->cg) + sizeof(*er->other));
	for (size_t i = 0; i < r->n_matches; i++) {
		const struct hg_match *m = &r->matches[i];
		er->dns_query |= m->buffer == HG_BUF_DNS_QUERY;
		e->buffers |= 1u << m->buffer;
		if (m->kind != HG_MATCH_CONTENT && m->kind != HG_MATCH_PCRE) {
			er->other[er->n_other++] = m;
			continue;
		}
		struct eng_cgroup *g = NULL;
		for (size_t k = 0; k < er->n_cg; k++)
			if (er->cg[k].buffer == m->buffer && er->cg[k].dotprefix == m->dotprefix)
				g = &er->cg[k];
		if (!g) {
			g = &er->cg[er->n_cg++];
			g->buffer = m->buffer;
			g->dotprefix = m->dotprefix;
			g->m = xcalloc(r->n_matches, sizeof(*g->m));
			g->re = xcalloc(r->n_matches, sizeof(*g->re));
			e->bytes += r->n_matches * (sizeof(*g->m) + sizeof(*g->re));
		}
		/* A pattern that does not compile here (the loader compiled it:
		 * no memory) is a match error wherever it is searched, never a
		 * miss (pcre_find()). */
		if (m->kind == HG_MATCH_PCRE)
			g->re[g->n] = hg_eng_pcre_compile(m);
		g->m[g->n++] = m;
	}
}

/* Counts the ports of a set, stopping past the index limit. */
static size_t port_count(const struct hg_portset *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n && n <= ENG_PORT_INDEX_MAX; i++)
		n += (size_t)s->r[i].hi - s->r[i].lo + 1;
	return n;
}

struct port_entry {
	uint16_t port;
	uint32_t idx;
};

static int cmp_port_entry(const void *a, const void *b)
{
	const struct port_entry *x = a, *y = b;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A set of at most ENG_ADDR_INDEX_MAX single addresses (a threat list's
 * "[1.2.3.4, 5.6.7.8]"); returns the count or 0. */
static size_t singles(const struct hg_ipset *s)
{
	if (!s->n || s->n > ENG_ADDR_INDEX_MAX)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(&s->r[i].lo, &s->r[i].hi, sizeof(struct hg_ip)))
			return 0;
	return s->n;
}

struct addr_entry {
	struct hg_ip ip;
	uint32_t idx;
};

static int cmp_addr_entry(const void *a, const void *b)
{
	const struct addr_entry *x = a, *y = b;
	int c = memcmp(&x->ip, &y->ip, sizeof(x->ip));
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void addr_index_build(struct hg_engine *e, struct addr_index *ix, struct addr_entry *v, size_t n)
{
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_addr_entry);
	ix->keys = xcalloc(n, sizeof(*ix->keys));
	ix->off = xcalloc(n + 1, sizeof(*ix->off));
	ix->idx = xcalloc(n, sizeof(*ix->idx));
	size_t ni = 0;
	for (size_t k = 0; k < n; k++) {
		if (!ix->n || memcmp(&ix->keys[ix->n - 1], &v[k].ip, sizeof(v[k].ip))) {
			ix->keys[ix->n] = v[k].ip;
			ix->off[ix->n++] = (uint32_t)ni;
		}
		ix->idx[ni++] = v[k].idx;
	}
	ix->off[ix->n] = (uint32_t)ni;
	e->bytes += n * (sizeof(struct hg_ip) + 2 * sizeof(uint32_t));
}

static void addr_index_free(struct addr_index *ix)
{
	free(ix->keys);
	free(ix->off);
	free(ix->idx);
}

/* Fills one transport bucket: rules whose destination ports (either
 * side's for "<>") are few are found through the port index, the rest are
 * tried on every packet. */
static void build_bucket(struct hg_engine *e, struct eng_bucket *b, int tp)
{
	HG_VEC(struct port_entry) pe = {0};
	HG_VEC(struct addr_entry) de = {0}, se = {0};
	bool has_ports = tp == TP_TCP || tp == TP_UDP;

	for (uint32_t i = 0; i < e->n_rules; i++) {
		struct eng_rule *er = &e->rules[i];
		const struct hg_rule *r = er->r;
		switch (r->proto) {
		case HG_PROTO_IP: break;
		case HG_PROTO_TCP: if (tp != TP_TCP) continue; break;
		case HG_PROTO_UDP: if (tp != TP_UDP) continue; break;
		case HG_PROTO_ICMP: if (tp != TP_ICMP) continue; break;
		default: continue; /* app-layer protocols: e->app lists */
		}
		size_t nd = er->dport_any ? SIZE_MAX : port_count(&r->dport_set);
		size_t ns = 0;
		if (r->bidirectional)
			ns = er->sport_any ? SIZE_MAX : port_count(&r->sport_set);
		if (!has_ports || nd == SIZE_MAX || ns == SIZE_MAX ||
		    nd + ns > ENG_PORT_INDEX_MAX) {
			/* Not by port: by a few single addresses (one-way
			 * rules only), else on every packet. */
			size_t n;
			if (!r->bidirectional && (n = singles(&r->dst_set))) {
				for (size_t k = 0; k < n; k++)
					hg_vec_push(&de, ((struct addr_entry){r->dst_set.r[k].lo, i}));
				er->addr_indexed = true;
			} else if (!r->bidirectional && (n = singles(&r->src_set))) {
				for (size_t k = 0; k < n; k++)
					hg_vec_push(&se, ((struct addr_entry){r->src_set.r[k].lo, i}));
				er->addr_indexed = true;
			} else {
				idx_push(r->cls == HG_CLASS_IP_ONLY ? &b->any_ipo : &b->any, i);
			}
			continue;
		}
		/* A "<>" rule matches a packet whose destination port is in
		 * either of its port sets. */
		for (int side = 0; side < (r->bidirectional ? 2 : 1); side++) {
			const struct hg_portset *ps = side ? &r->sport_set : &r->dport_set;
			for (size_t k = 0; k < ps->n; k++)
				for (uint32_t port = ps->r[k].lo; port <= ps->r[k].hi; port++)
					hg_vec_push(&pe, ((struct port_entry){(uint16_t)port, i}));
		}
		er->port_indexed = true;
	}
	if (pe.n) {
		qsort(pe.v, pe.n, sizeof(*pe.v), cmp_port_entry);
		b->ports = xcalloc(pe.n, sizeof(*b->ports));
		b->port_off = xcalloc(pe.n + 1, sizeof(*b->port_off));
		b->port_idx = xcalloc(pe.n, sizeof(*b->port_idx));
		size_t ni = 0;
		for (size_t k = 0; k < pe.n; k++) {
			if (k && pe.v[k].port == pe.v[k - 1].port && pe.v[k].idx == pe.v[k - 1].idx)
				continue; /* "<>" with the port on both sides */
			if (!b->n_ports || b->ports[b->n_ports - 1] != pe.v[k].port) {
				b->ports[b->n_ports] = pe.v[k].port;
				b->port_off[b->n_ports++] = (uint32_t)ni;
			}
			b->port_idx[ni++] = pe.v[k].idx;
		}
		b->port_off[b->n_ports] = (uint32_t)ni;
		e->bytes += pe.n * (sizeof(uint16_t) + 2 * sizeof(uint32_t));
	}
	addr_index_build(e, &b->by_dst, de.v, de.n);
	addr_index_build(e, &b->by_src, se.v, se.n);
	e->bytes += (b->any.cap + b->any_ipo.cap) * sizeof(uint32_t);
	hg_vec_free(&pe);
	hg_vec_free(&de);
	hg_vec_free(&se);
}

struct hg_engine *hg_engine_new(const struct hg_ruleset *rs)
{
	if (!rs || !rs->policy) {
		errno = EINVAL;
		return NULL;
	}
	/* Domain lists finalized with lazy_matchers get theirs now: a list
	 * without one would never match. */
	hg_ruleset_build_matchers(rs);
	const struct hg_policy *pol = rs->policy;
	struct hg_engine *e = xcalloc(1, sizeof(*e));
	e->rs = rs;
	e->pol = pol;
	e->strict = pol->rule_order == HG_ORDER_STRICT;

	/* The evaluation order the nft emitter lays the kernel out in
	 * (order.h): one function, so both agree by construction. */
	size_t n;
	struct hg_rule_rank *ord = hg_policy_stateful_order(pol, &n);
	e->rules = xcalloc(n + 1, sizeof(*e->rules));
	for (size_t i = 0; i < n; i++) {
		const struct hg_rule *r = ord[i].r;
		struct eng_rule *er = &e->rules[e->n_rules++];
		er->r = r;
		er->g = ord[i].g;
		er->act = ord[i].act;
		er->src_any = ips_all(&r->src_set);
		er->dst_any = ips_all(&r->dst_set);
		er->sport_any = ports_all(&r->sport_set);
		er->dport_any = ports_all(&r->dport_set);
	}
	free(ord);
	e->bytes += sizeof(*e) + e->n_rules * sizeof(*e->rules);
	for (size_t i = 0; i < e->n_rules; i++)
		build_matches(e, &e->rules[i]);

	for (int tp = 0; tp < TP__COUNT; tp++)
		build_bucket(e, &e->tp[tp], tp);
	for (size_t i = 0; i < e->n_rules; i++) {
		e->n_port_indexed += e->rules[i].port_indexed;
		e->n_addr_indexed += e->rules[i].addr_indexed;
	}
	for (uint32_t i = 0; i < e->n_rules; i++) {
		enum hg_app_proto a = rule_app(e->rules[i].r->proto);
		if (a != HG_APP_UNKNOWN && a != HG_APP__COUNT)
			idx_push(&e->app[a], i);
	}

	/* Stateless rules: groups by reference priority, rules by priority
	 * (§3.1), the order the emitter writes them in. */
	e->sl = hg_policy_stateless_order(pol, &e->n_sl);
	e->bytes += e->n_sl * sizeof(*e->sl);
	return e;
}

void hg_engine_free(struct hg_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_rules; i++) {
		for (size_t k = 0; k < e->rules[i].n_cg; k++) {
			for (size_t j = 0; j < e->rules[i].cg[k].n; j++)
				hg_eng_pcre_free(e->rules[i].cg[k].re[j]);
			free(e->rules[i].cg[k].re);
			free(e->rules[i].cg[k].m);
		}
		free(e->rules[i].cg);
		free(e->rules[i].other);
	}
	for (int tp = 0; tp < TP__COUNT; tp++) {
		free(e->tp[tp].any.v);
		free(e->tp[tp].any_ipo.v);
		addr_index_free(&e->tp[tp].by_dst);
		addr_index_free(&e->tp[tp].by_src);
		free(e->tp[tp].ports);
		free(e->tp[tp].port_off);
		free(e->tp[tp].port_idx);
	}
	for (int a = 0; a < HG_APP__COUNT; a++)
		free(e->app[a].v);
	free(e->rules);
	free(e->sl);
	free(e);
}

bool hg_engine_uses_buffer(const struct hg_engine *e, enum hg_buffer b)
{
	return (e->buffers >> b) & 1;
}

void hg_engine_get_info(const struct hg_engine *e, struct hg_engine_info *out)
{
	out->n_rules = e->n_rules;
	out->n_stateless = e->n_sl;
	out->n_port_indexed = e->n_port_indexed;
	out->n_addr_indexed = e->n_addr_indexed;
	out->bytes = e->bytes;
}

const struct hg_policy *hg_engine_policy(const struct hg_engine *e)
{
	return e->pol;
}

/* ------------------------------------------------------- stateless */

static bool sl_match(const struct hg_stateless_rule *r, const struct hg_eng_pkt *p)
{
	static const uint8_t no_protos[32];
	/* A fragment past offset 0 carries no transport header: port and
	 * flag matches fail on it, as nft's th/tcp expressions do. */
	bool l4ports = (p->ip_proto == 6 || p->ip_proto == 17) && !p->later_fragment;

	if (memcmp(r->protocols, no_protos, sizeof(no_protos)) &&
	    !(r->protocols[p->ip_proto >> 3] & (1u << (p->ip_proto & 7))))
		return false;
	if (!r->any_source && r->sources.n && !ipset_has(&r->sources, &p->src))
		return false;
	if (!r->any_destination && r->destinations.n && !ipset_has(&r->destinations, &p->dst))
		return false;
	/* Ports apply only to TCP and UDP (§3.1): a rule that names ports
	 * does not match other protocols. */
	if (!r->any_sport && r->src_ports.n && (!l4ports || !portset_has(&r->src_ports, p->sport)))
		return false;
	if (!r->any_dport && r->dst_ports.n && (!l4ports || !portset_has(&r->dst_ports, p->dport)))
		return false;
	if (r->n_tcp_flags) {
		/* TCP flags apply only to TCP; for the flags in Masks (all
		 * eight when empty) those in Flags must be set, the rest clear. */
		if (p->ip_proto != 6 || p->later_fragment)
			return false;
		bool any = false;
		for (size_t i = 0; i < r->n_tcp_flags && !any; i++) {
			uint8_t mask = r->tcp_flags[i].masks ? r->tcp_flags[i].masks : 0xff;
			any = (p->tcp_flags & mask) == (r->tcp_flags[i].flags & mask);
		}
		if (!any)
			return false;
	}
	return true;
}

void hg_engine_stateless(const struct hg_engine *e, const struct hg_eng_pkt *p, struct hg_eng_sl *out)
{
	*out = (struct hg_eng_sl){.action = HG_SL_DROP, .by = HG_BY_FRAGMENT_NOT_UDP};
	/* §3.1: "Network Firewall only manages UDP packet fragments and
	 * silently drops packet fragments for other protocols." */
	if (p->fragment && p->ip_proto != 17)
		return;
	for (size_t i = 0; i < e->n_sl; i++)
		if (sl_match(e->sl[i].r, p)) {
			*out = (struct hg_eng_sl){e->sl[i].r->action, HG_BY_STATELESS_RULE, (uint32_t)i};
			return;
		}
	if (p->fragment)
		*out = (struct hg_eng_sl){e->pol->stateless_fragment_default, HG_BY_FRAGMENT_DEFAULT, 0};
	else
		*out = (struct hg_eng_sl){e->pol->stateless_default, HG_BY_STATELESS_DEFAULT, 0};
}

const struct hg_sl_rank *hg_engine_stateless_rule(const struct hg_engine *e, uint32_t i)
{
	return i < e->n_sl ? &e->sl[i] : NULL;
}

/* -------------------------------------------------------- stateful */

/* A sticky buffer, present only once the app layer has it complete. */
static bool get_buffer(enum hg_buffer b, const struct hg_eng_pkt *p, const struct hg_eng_app *a,
		       struct hg_slice *out)
{
	const struct hg_slice *s = NULL;
	switch (b) {
	case HG_BUF_PAYLOAD:
		if (!p->payload_len)
			return false; /* content needs payload (SIG_MASK_REQUIRE_PAYLOAD) */
		out->p = p->payload;
		out->len = p->payload_len;
		return true;
	case HG_BUF_TLS_SNI:
		/* tls.sni exists only after the whole ClientHello (§6). */
		if (a->proto == HG_APP_TLS && (a->ssl_state & HG_SSL_CLIENT_HELLO))
			s = &a->tls_sni;
		break;
	case HG_BUF_HTTP_HOST:
		if (a->proto == HG_APP_HTTP && a->http_request_headers)
			s = &a->http_host;
		break;
	case HG_BUF_HTTP_HOST_RAW:
		if (a->proto == HG_APP_HTTP && a->http_request_headers)
			s = &a->http_host_raw;
		break;
	case HG_BUF_HTTP_HEADER_NAMES:
		if (a->proto == HG_APP_HTTP && a->http_request_headers)
			s = &a->http_header_names;
		break;
	case HG_BUF_HTTP_USER_AGENT:
		if (a->proto == HG_APP_HTTP && a->http_request_headers)
			s = &a->http_user_agent;
		break;
	case HG_BUF_HTTP_URI:
		if (a->proto == HG_APP_HTTP && a->http_request_line)
			s = &a->http_uri;
		break;
	case HG_BUF_HTTP_URI_RAW:
		if (a->proto == HG_APP_HTTP && a->http_request_line)
			s = &a->http_uri_raw;
		break;
	case HG_BUF_HTTP_METHOD:
		if (a->proto == HG_APP_HTTP && a->http_request_line)
			s = &a->http_method;
		break;
	case HG_BUF_DNS_QUERY:
		if (a->proto == HG_APP_DNS)
			s = &a->dns_query;
		break;
	case HG_BUF_JA4_HASH:
		/* The caller sets ja4 only once the ClientHello is complete. */
		if (a->proto == HG_APP_TLS || a->proto == HG_APP_QUIC)
			s = &a->ja4;
		break;
	case HG_BUF_JA3_HASH:
		/* "JA3 and JA4 are used to fingerprint TLS and QUIC clients"
		 * (Suricata rules/ja-keywords); set with the whole ClientHello. */
		if (a->proto == HG_APP_TLS || a->proto == HG_APP_QUIC)
			s = &a->ja3_hash;
		break;
	case HG_BUF_JA3_STRING:
		if (a->proto == HG_APP_TLS || a->proto == HG_APP_QUIC)
			s = &a->ja3_string;
		break;
	case HG_BUF_HTTP_REQUEST_HEADER:
		/* The header block; request_header_match() splits it. */
		if (a->proto == HG_APP_HTTP && a->http_request_headers)
			s = &a->http_headers_raw;
		break;
	default:
		break;
	}
	if (!s || !s->p)
		return false;
	*out = *s;
	return true;
}

static bool addr_side(const struct eng_rule *er, const struct hg_ip *src, uint16_t sport,
		      const struct hg_ip *dst, uint16_t dport, bool has_ports)
{
	const struct hg_rule *r = er->r;
	if (!er->sport_any && (!has_ports || !portset_has(&r->sport_set, sport)))
		return false;
	if (!er->dport_any && (!has_ports || !portset_has(&r->dport_set, dport)))
		return false;
	if (!er->src_any && !ipset_has(&r->src_set, src))
		return false;
	if (!er->dst_any && !ipset_has(&r->dst_set, dst))
		return false;
	return true;
}

/* flowbits:isset/isnotset against the flow's bits as they are now (set by
 * earlier rules, this packet's included). */
static bool flowbits_hold(const struct hg_rule *r, uint64_t bits)
{
	for (size_t i = 0; i < r->n_flowbits; i++) {
		const struct hg_flowbit *fb = &r->flowbits[i];
		bool on = (bits >> (fb->bit & 63)) & 1;
		if ((fb->op == HG_FB_ISSET && !on) || (fb->op == HG_FB_ISNOTSET && on))
			return false;
	}
	return true;
}

/* set/unset/toggle of a rule that matched, in the order written
 * (Suricata's post-match flowbits). */
static void flowbits_apply(const struct hg_rule *r, uint64_t *bits)
{
	for (size_t i = 0; i < r->n_flowbits; i++) {
		const struct hg_flowbit *fb = &r->flowbits[i];
		uint64_t m = (uint64_t)1 << (fb->bit & 63);
		switch (fb->op) {
		case HG_FB_SET: *bits |= m; break;
		case HG_FB_UNSET: *bits &= ~m; break;
		case HG_FB_TOGGLE: *bits ^= m; break;
		default: break;
		}
	}
}

/* app-layer-protocol: (Suricata detect-app-layer-protocol.c): nothing
 * matches while the protocol is not known; "!x" matches a known other one. */
static bool app_layer_match(const struct hg_rule *r, const struct hg_eng_app *a)
{
	if (a->proto == HG_APP_UNKNOWN || a->proto == HG_APP_NONE)
		return false;
	enum hg_app_proto want = r->app_layer == HG_APP_LAYER_FAILED ? HG_APP_FAILED
								     : rule_app((enum hg_proto)r->app_layer);
	return (a->proto == want) != r->app_layer_not;
}

/* tcp.flags (Suricata detect-tcp-flags.c): the packet's flags minus the
 * ignored ones; '=' exactly, '+' all of these, '*' any of these, '!' none.
 * Only TCP packets match. */
static bool tcp_flags_match(const struct hg_tcp_flag_match *t, const struct hg_eng_pkt *p)
{
	if (p->ip_proto != 6)
		return false;
	uint8_t f = p->tcp_flags & (uint8_t)~t->ignore;
	switch (t->mode) {
	case '+': return (f & t->flags) == t->flags;
	case '*': return (f & t->flags) != 0;
	case '!': return (f & t->flags) == 0;
	default: return f == t->flags;
	}
}

/* dsize (detect-dsize.c): the packet's payload length; N<>M exclusive. */
static bool dsize_match(const struct hg_dsize *d, size_t n)
{
	switch (d->mode) {
	case '<': return n < d->a;
	case '>': return n > d->a;
	case '!': return n != d->a;
	case 'r': return n > d->a && n < d->b;
	default: return n == d->a;
	}
}

/* geoip: the packet's source and/or destination in the countries' networks
 * (detect-geoip.c: src, dst, both = AND, any = OR); by the packet's own
 * addresses, whichever way a "<>" rule matched. */
static bool geoip_match(const struct hg_geoip *g, const struct hg_eng_pkt *p)
{
	bool s = g->on != HG_GEO_DST && ipset_has(&g->set, &p->src);
	bool d = g->on != HG_GEO_SRC && ipset_has(&g->set, &p->dst);
	switch (g->on) {
	case HG_GEO_SRC: return s;
	case HG_GEO_DST: return d;
	case HG_GEO_BOTH: return s && d;
	default: return s || d;
	}
}

/* ssl_version (detect-ssl-version.c): the client's version from its
 * ClientHello (the first valid supported_versions entry, else
 * legacy_version), compared with every listed version; one '!' negates
 * the whole list. The loader requires flow:to_server. */
static bool ssl_version_match(const struct hg_rule *r, const struct hg_eng_app *a)
{
	if (a->proto != HG_APP_TLS || !(a->ssl_state & HG_SSL_CLIENT_HELLO))
		return false;
	uint32_t v = 0;
	switch (a->tls_version) {
	case 0x0002: v = HG_SSLV_SSL2; break;
	case 0x0300: v = HG_SSLV_SSL3; break;
	case 0x0301: v = HG_SSLV_TLS10; break;
	case 0x0302: v = HG_SSLV_TLS11; break;
	case 0x0303: v = HG_SSLV_TLS12; break;
	case 0x0304: v = HG_SSLV_TLS13; break;
	default:
		if ((a->tls_version >> 8) == 0x7f)
			v = HG_SSLV_TLS13; /* TLS 1.3 drafts */
		break;
	}
	bool in = (v & (r->ssl_version | r->ssl_version_not)) != 0;
	return in != (r->ssl_version_not != 0);
}

/* http.request_header (Suricata HTTP keywords): a multi-buffer, one
 * "Name: value" per request header line; the rule's matches must all hold
 * on one of them. */
static int request_header_match(const struct eng_cgroup *g, const struct hg_eng_app *a)
{
	const uint8_t *p = a->http_headers_raw.p, *end = p + a->http_headers_raw.len;
	uint8_t small[512];
	uint8_t *tmp = a->http_headers_raw.len + 2 <= sizeof(small) ? small : malloc(a->http_headers_raw.len + 2);
	int hit = HG_ENG_NO_MATCH;
	if (!tmp)
		return HG_ENG_MATCH_ERROR; /* unknown, not "no match" */
	while (p < end && hit == HG_ENG_NO_MATCH) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *le = nl ? nl : end;
		const uint8_t *q = le;
		if (q > p && q[-1] == '\r')
			q--;
		const uint8_t *colon = memchr(p, ':', (size_t)(q - p));
		if (colon && colon > p && *p != ' ' && *p != '\t') {
			const uint8_t *v = colon + 1;
			while (v < q && (*v == ' ' || *v == '\t'))
				v++;
			const uint8_t *ve = q;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t nn = (size_t)(colon - p), vn = (size_t)(ve - v);
			memcpy(tmp, p, nn);
			tmp[nn] = ':';
			tmp[nn + 1] = ' ';
			memcpy(tmp + nn + 2, v, vn);
			hit = hg_eng_content_match(g->m, g->re, g->n, tmp, nn + 2 + vn, g->dotprefix);
		}
		p = nl ? nl + 1 : end;
	}
	if (tmp != small)
		free(tmp);
	return hit;
}

/* The rule's header, flow and ssl_state options, and matches. On a
 * DOMAINSET match *sid is the matching target's sid. *err: a match could
 * not be run (hg_eng_content_match's HG_ENG_MATCH_ERROR); false then. */
static bool rule_match(const struct eng_rule *er, const struct hg_eng_pkt *p,
		       const struct hg_eng_app *a, uint64_t bits, uint32_t *sid, bool *err)
{
	const struct hg_rule *r = er->r;

	/* §2.2: "only evaluates IP-only rules for the first packet in each
	 * direction of the flow". */
	if (r->cls == HG_CLASS_IP_ONLY && !p->first_in_dir)
		return false;
	/* tls/http/...: only flows the app layer identified as such, on any
	 * port (§1.3: the catch-alls touch only identified TLS/HTTP). */
	enum hg_app_proto need = rule_app(r->proto);
	if (need != HG_APP_UNKNOWN && a->proto != need)
		return false;
	if (r->has_ip_proto && !(r->ip_proto[p->ip_proto >> 3] & (1u << (p->ip_proto & 7))))
		return false;
	if (r->n_flowbits && !flowbits_hold(r, bits))
		return false;
	if (r->has_app_layer && !app_layer_match(r, a))
		return false;
	if (r->flow) {
		if ((r->flow & HG_FLOW_TO_SERVER) && p->dir != HG_DIR_TO_SERVER)
			return false;
		if ((r->flow & HG_FLOW_TO_CLIENT) && p->dir != HG_DIR_TO_CLIENT)
			return false;
		if ((r->flow & HG_FLOW_ESTABLISHED) && !p->established)
			return false;
		if ((r->flow & HG_FLOW_NOT_ESTABLISHED) && p->established)
			return false;
	}
	bool has_ports = p->ip_proto == 6 || p->ip_proto == 17;
	if (!addr_side(er, &p->src, p->sport, &p->dst, p->dport, has_ports) &&
	    !(r->bidirectional && addr_side(er, &p->dst, p->dport, &p->src, p->sport, has_ports)))
		return false;
	if (r->has_tcp_flags && !tcp_flags_match(&r->tcp_flags, p))
		return false;
	if (r->has_dsize && !dsize_match(&r->dsize, p->payload_len))
		return false;
	if (r->geoip && !geoip_match(r->geoip, p))
		return false;
	if ((r->ssl_version | r->ssl_version_not) && !ssl_version_match(r, a))
		return false;
	if (r->ssl_state | r->ssl_state_not) {
		/* Suricata detect-ssl-state.c: the listed states, negated ones
		 * flipped; any hit matches. Needs a TLS flow. */
		if (a->proto != HG_APP_TLS)
			return false;
		uint32_t listed = r->ssl_state | r->ssl_state_not;
		if (!((a->ssl_state & listed) ^ r->ssl_state_not))
			return false;
	}
	for (size_t i = 0; i < er->n_cg; i++) {
		const struct eng_cgroup *g = &er->cg[i];
		struct hg_slice b;
		/* An absent buffer fails the rule, negated content included. */
		if (!get_buffer(g->buffer, p, a, &b))
			return false;
		int hit = g->buffer == HG_BUF_HTTP_REQUEST_HEADER
				  ? request_header_match(g, a)
				  : hg_eng_content_match(g->m, g->re, g->n, b.p, b.len, g->dotprefix);
		if (hit == HG_ENG_MATCH_ERROR)
			*err = true;
		if (hit != HG_ENG_MATCH)
			return false;
	}
	*sid = r->sid;
	for (size_t i = 0; i < er->n_other; i++) {
		const struct hg_match *m = er->other[i];
		struct hg_slice b;
		if (!get_buffer(m->buffer, p, a, &b))
			return false;
		if (m->kind != HG_MATCH_DOMAINSET)
			continue; /* HG_MATCH_BUFFER_PRESENT */
		/* The generated per-target rules are exact (startswith +
		 * endswith) or dotprefix + endswith contents (§1.3): a name
		 * with a trailing dot matches neither, whatever the matcher
		 * would forgive. */
		uint32_t idx;
		if (!m->list || !m->list->matcher || !b.len || b.p[b.len - 1] == '.')
			return false;
		if (!hg_domain_matcher_lookup(m->list->matcher, (const char *)b.p, b.len, &idx))
			return false;
		*sid = m->sid_base + idx;
	}
	return true;
}

/* A rule on dns.query matches when one of the request's names satisfies
 * all of its dns.query conditions (Suricata 7 multi-buffers: every match
 * of the rule on the buffer looks at the same name). */
static bool rule_match_any(const struct eng_rule *er, const struct hg_eng_pkt *p,
			   const struct hg_eng_app *a, uint64_t bits, uint32_t *sid, bool *err)
{
	if (!er->dns_query || a->n_dns_queries <= 1)
		return rule_match(er, p, a, bits, sid, err);
	struct hg_eng_app one = *a;
	for (size_t k = 0; k < a->n_dns_queries; k++) {
		one.dns_query = a->dns_queries[k];
		if (rule_match(er, p, &one, bits, sid, err))
			return true;
	}
	return false;
}

/* --------------------------------------------------------- alerts */

struct pending {
	const struct eng_rule *er; /* NULL: default action */
	uint32_t sid;
	const char *msg;
	enum hg_action act;
	bool blocked;
};

struct eval {
	struct pending al[ENG_MAX_ALERTS];
	size_t n_al;
	uint32_t discarded;
	bool packet_only; /* the verdict is this packet's, not the flow's */
};

static bool fired(const struct hg_eng_flow *f, uint32_t key)
{
	for (size_t i = 0; i < f->n_fired; i++)
		if (f->fired[i] == key)
			return true;
	return false;
}

static void mark_fired(struct hg_eng_flow *f, uint32_t key)
{
	/* When full, later alerts may repeat: logged, as Suricata would. */
	if (f->n_fired < HG_ENG_MAX_FIRED)
		f->fired[f->n_fired++] = key;
}

static void queue_alert(struct eval *ev, const struct eng_rule *er, uint32_t sid, const char *msg,
			enum hg_action act, bool blocked)
{
	if (ev->n_al == ENG_MAX_ALERTS) {
		ev->discarded++;
		return;
	}
	ev->al[ev->n_al++] = (struct pending){er, sid, msg, act, blocked};
}

static void emit_alerts(const struct eval *ev, enum hg_verdict v, hg_alert_fn cb, void *ud)
{
	for (size_t i = 0; i < ev->n_al; i++) {
		const struct pending *pa = &ev->al[i];
		struct hg_alert a = {
			.rule = pa->er ? pa->er->r : NULL,
			.group = pa->er ? pa->er->g : NULL,
			.sid = pa->sid,
			.rev = pa->er ? pa->er->r->rev : 1,
			.msg = pa->msg ? pa->msg : "",
			.action = pa->act,
			.blocked = pa->blocked,
			.alert_action = pa->blocked ? "blocked" : "allowed",
			.verdict = v,
			.verdict_action = v == HG_VERDICT_UNDECIDED ? "alert" : hg_verdict_name(v),
		};
		cb(ud, &a);
	}
}

/* ------------------------------------------------- default actions */

/* §3.3: sids 2, 4, 6, 8 are the alert twins of strict, established and
 * the two app-layer variants. 2 and 4 are observed in real logs; 6 and 8
 * follow the same pattern ("presumably", the reference says): we take
 * 6 = aws:alert_established_app_layer, 8 = ..._app_layer_to_server. */
static const struct {
	uint32_t drop_bit, alert_bit, sid;
	const char *alert_msg, *drop_msg;
} sda_table[] = {
	{HG_SDA_DROP_STRICT, HG_SDA_ALERT_STRICT, 2, "aws:alert_strict action",
	 "aws:drop_strict action"},
	{HG_SDA_DROP_ESTABLISHED, HG_SDA_ALERT_ESTABLISHED, 4, "aws:alert_established action",
	 "aws:drop_established action"},
	{HG_SDA_DROP_ESTABLISHED_APP_LAYER, HG_SDA_ALERT_ESTABLISHED_APP_LAYER, 6,
	 "aws:alert_established_app_layer action", "aws:drop_established_app_layer action"},
	{HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER, HG_SDA_ALERT_ESTABLISHED_APP_LAYER_TO_SERVER, 8,
	 "aws:alert_established_app_layer_to_server action",
	 "aws:drop_established_app_layer_to_server action"},
};

/* The app layer has said what it will say: the TLS ClientHello or HTTP
 * request headers are complete, another protocol was identified, or
 * detection knows there is none or failed. */
static bool app_ready(const struct hg_eng_app *a)
{
	switch (a->proto) {
	case HG_APP_UNKNOWN: return false;
	case HG_APP_TLS: return a->ssl_state & HG_SSL_CLIENT_HELLO;
	case HG_APP_HTTP: return a->http_request_headers;
	default: return true;
	}
}

/* Whether default action i applies to an unmatched packet.
 *
 * The engine decides flows, not packets. Suricata drops an unmatched
 * payload-less packet of an established flow (the handshake's last ACK, a
 * window update) on its own, which leaves the flow alive; only packets
 * that carry payload decide the established family here. drop_strict drops
 * the handshake itself (§3.3), which kills the flow: it decides at once. */
static bool sda_applies(size_t i, const struct hg_eng_pkt *p, const struct hg_eng_app *a)
{
	bool est = p->established && p->payload_len > 0;
	switch (i) {
	case 0: return true;
	case 1: return est;
	case 2: return est && app_ready(a);
	default: return est && app_ready(a) && p->dir == HG_DIR_TO_SERVER;
	}
}

static enum hg_verdict default_actions(const struct hg_engine *e, struct hg_eng_flow *f,
				       const struct hg_eng_pkt *p, const struct hg_eng_app *a,
				       struct eval *ev)
{
	uint32_t sda = e->pol->default_actions;
	enum hg_verdict v = HG_VERDICT_UNDECIDED;

	for (size_t i = 0; i < HG_ARRAY_LEN(sda_table); i++) {
		if (!(sda & sda_table[i].drop_bit) || !sda_applies(i, p, a))
			continue;
		v = HG_VERDICT_DROP;
		f->why = WHY_DEFAULT;
		f->decider = sda_table[i].drop_bit;
		f->decider_sid = sda_table[i].sid;
		/* "Without the alert variant, a noalert keyword is appended to
		 * the generated drop rules" (§3.3, BP). With it, the drop logs
		 * as its alert twin, blocked (§4.2: sid 4, "blocked"). */
		if (sda & sda_table[i].alert_bit) {
			queue_alert(ev, NULL, sda_table[i].sid, sda_table[i].alert_msg, HG_ACT_DROP, true);
			mark_fired(f, FIRED_SDA_BASE + (uint32_t)i);
		}
		break;
	}
	/* Alert twins without their drop log what it would drop, once per
	 * flow (the engine sees the first packets, not a packet stream). */
	for (size_t i = 0; i < HG_ARRAY_LEN(sda_table); i++) {
		uint32_t key = FIRED_SDA_BASE + (uint32_t)i;
		if (!(sda & sda_table[i].alert_bit) || fired(f, key) || !sda_applies(i, p, a))
			continue;
		queue_alert(ev, NULL, sda_table[i].sid, sda_table[i].alert_msg, HG_ACT_ALERT, false);
		mark_fired(f, key);
	}
	return v;
}

/* ------------------------------------------------------ the walk */

/* Merges the candidate lists (each sorted), lowest index first. */
#define MERGE_MAX 6
struct merge {
	const uint32_t *l[MERGE_MAX];
	size_t n[MERGE_MAX], i[MERGE_MAX];
	int k;
};

static void merge_add(struct merge *mg, const uint32_t *l, size_t n)
{
	if (n) {
		mg->l[mg->k] = l;
		mg->n[mg->k] = n;
		mg->i[mg->k++] = 0;
	}
}

static bool merge_next(struct merge *mg, uint32_t *out)
{
	int best = -1;
	for (int k = 0; k < mg->k; k++)
		if (mg->i[k] < mg->n[k] && (best < 0 || mg->l[k][mg->i[k]] < mg->l[best][mg->i[best]]))
			best = k;
	if (best < 0)
		return false;
	*out = mg->l[best][mg->i[best]++];
	return true;
}

static void port_lookup(const struct eng_bucket *b, uint16_t port, struct merge *mg)
{
	size_t lo = 0, hi = b->n_ports;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (port < b->ports[mid])
			hi = mid;
		else if (port > b->ports[mid])
			lo = mid + 1;
		else {
			merge_add(mg, b->port_idx + b->port_off[mid], b->port_off[mid + 1] - b->port_off[mid]);
			return;
		}
	}
}

static void addr_lookup(const struct addr_index *ix, const struct hg_ip *ip, struct merge *mg)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(ip, &ix->keys[mid], sizeof(*ip));
		if (c < 0)
			hi = mid;
		else if (c > 0)
			lo = mid + 1;
		else {
			merge_add(mg, ix->idx + ix->off[mid], ix->off[mid + 1] - ix->off[mid]);
			return;
		}
	}
}

static enum hg_verdict stateful_eval(const struct hg_engine *e, struct hg_eng_flow *f,
				     const struct hg_eng_pkt *p, const struct hg_eng_app *a,
				     struct eval *ev)
{
	int tp = tp_of(p->ip_proto);
	const struct eng_bucket *b = &e->tp[tp];
	struct merge mg = {.k = 0};
	merge_add(&mg, b->any.v, b->any.n);
	if (p->first_in_dir)
		merge_add(&mg, b->any_ipo.v, b->any_ipo.n);
	if (tp == TP_TCP || tp == TP_UDP)
		port_lookup(b, p->dport, &mg);
	if (b->by_dst.n)
		addr_lookup(&b->by_dst, &p->dst, &mg);
	if (b->by_src.n)
		addr_lookup(&b->by_src, &p->src, &mg);
	if (a->proto > HG_APP_FAILED && a->proto < HG_APP__COUNT)
		merge_add(&mg, e->app[a->proto].v, e->app[a->proto].n);

	enum hg_verdict v = HG_VERDICT_UNDECIDED;
	uint32_t idx;
	while (merge_next(&mg, &idx)) {
		const struct eng_rule *er = &e->rules[idx];
		const struct hg_rule *r = er->r;
		uint32_t sid;
		bool err = false;
		if (!rule_match_any(er, p, a, f->flowbits, &sid, &err)) {
			/* Whether this rule matches is unknown: no later rule
			 * may pass the flow in its stead. The walk stops and
			 * the flow stays undecided with the error flagged; the
			 * inspector drops it (HG_EVASION_MATCH_ERROR). An
			 * earlier drop of this walk stands. */
			if (err) {
				f->flags |= HG_ENGF_MATCH_ERROR;
				if (v == HG_VERDICT_UNDECIDED)
					return v;
			}
			continue;
		}
		/* Later rules of this packet see the bits this one sets. */
		if (r->n_flowbits)
			flowbits_apply(r, &f->flowbits);
		if (er->act == HG_ACT_PASS) {
			/* A pass after the decision only ends the walk (Suricata
			 * drops the alerts ranked below a pass). §2.3: pass ends
			 * inspection of the flow; it logs only with "alert;". */
			if (v == HG_VERDICT_UNDECIDED) {
				v = HG_VERDICT_PASS;
				if (r->cls == HG_CLASS_PACKET) {
					/* A per-packet pass (flow:, no app-layer
					 * condition) passes this packet only, as in
					 * Suricata 7; AWS's strict egress template
					 * relies on it: `pass tcp ... (flow:
					 * not_established, to_server)` lets the
					 * handshake through and leaves the flow to
					 * the rules after it. */
					ev->packet_only = true;
				} else {
					f->why = WHY_RULE;
					f->decider = idx;
					f->decider_sid = sid;
				}
				if (r->alert_on_pass)
					queue_alert(ev, er, sid, r->msg, HG_ACT_PASS, false);
			}
			break;
		}
		if (er->act == HG_ACT_DROP || er->act == HG_ACT_REJECT) {
			/* The first drop/reject decides; later ones still log
			 * (Suricata keeps every drop alert of the packet; the
			 * first to set the flow action wins). */
			if (v == HG_VERDICT_UNDECIDED) {
				/* REJECT "Drops traffic ... and sends a TCP reset
				 * packet back"; "REJECT is available only for TCP
				 * traffic" (API StatefulRule): other protocols get
				 * the drop, without an ICMP answer. */
				v = er->act == HG_ACT_REJECT && p->ip_proto == 6 ? HG_VERDICT_REJECT : HG_VERDICT_DROP;
				f->why = WHY_RULE;
				f->decider = idx;
				f->decider_sid = sid;
			}
			if (!r->noalert)
				queue_alert(ev, er, sid, r->msg, er->act, true);
			continue;
		}
		/* alert: logs, never changes the verdict; each rule once per
		 * flow (IP-only ones once per direction). */
		uint32_t key = idx | (r->cls == HG_CLASS_IP_ONLY && p->dir == HG_DIR_TO_CLIENT ?
				      FIRED_DIR_BIT : 0);
		if (r->noalert || fired(f, key))
			continue;
		queue_alert(ev, er, sid, r->msg, HG_ACT_ALERT, false);
		mark_fired(f, key);
	}
	/* §3.3: default actions apply only in strict order, to packets no
	 * pass/drop/reject rule matched. */
	if (v == HG_VERDICT_UNDECIDED && e->strict && e->pol->default_actions)
		v = default_actions(e, f, p, a, ev);
	if (app_ready(a))
		f->flags |= HG_ENGF_APP_SEEN;
	return v;
}

/* The stateful layer's verdict of the flow, if it has one: a stream
 * exception verdict given before any packet reached it does not count. */
static enum hg_verdict stateful_verdict(const struct hg_eng_flow *f)
{
	if (f->why == WHY_EXCEPTION && !f->forwarded && (f->sl_dropped || f->sl_passed))
		return HG_VERDICT_UNDECIDED;
	return (enum hg_verdict)f->verdict;
}

enum hg_verdict hg_eng_flow_final(const struct hg_eng_flow *f)
{
	enum hg_verdict v = stateful_verdict(f);
	if (v == HG_VERDICT_DROP || v == HG_VERDICT_REJECT)
		return v;
	if (f->sl_verdict == HG_VERDICT_DROP)
		return HG_VERDICT_DROP;
	return HG_VERDICT_PASS;
}

void hg_eng_flow_note_stateless(struct hg_eng_flow *f, const struct hg_eng_sl *sl)
{
	bool drop = sl->action == HG_SL_DROP;
	if (sl->action == HG_SL_FORWARD)
		return;
	if (drop)
		f->sl_dropped++;
	else
		f->sl_passed++;
	if (drop ? f->sl_verdict != HG_VERDICT_DROP : f->sl_verdict == HG_VERDICT_UNDECIDED) {
		f->sl_verdict = drop ? HG_VERDICT_DROP : HG_VERDICT_PASS;
		f->sl_by = (uint8_t)sl->by;
		f->sl_rule = sl->rule;
	}
}

enum hg_verdict hg_engine_packet(const struct hg_engine *e, struct hg_eng_flow *f,
				 const struct hg_eng_pkt *p, const struct hg_eng_app *app,
				 hg_alert_fn cb, void *ud)
{
	static const struct hg_eng_app no_app = {.proto = HG_APP_NONE};

	/* The stateless engine sees every packet first (§3.1): aws:pass and
	 * aws:drop skip stateful inspection and are never logged. They decide
	 * this packet only; the flow keeps what they did for its report. */
	struct hg_eng_sl sl;
	hg_engine_stateless(e, p, &sl);
	f->last_sl_by = (uint8_t)sl.by;
	f->last_sl_rule = sl.rule;
	if (sl.action != HG_SL_FORWARD) {
		f->last_by = (uint8_t)sl.by;
		hg_eng_flow_note_stateless(f, &sl);
		return sl.action == HG_SL_DROP ? HG_VERDICT_DROP : HG_VERDICT_PASS;
	}
	f->forwarded = true;
	if (f->verdict != HG_VERDICT_UNDECIDED) {
		f->last_by = (uint8_t)why_layer(f->why);
		return (enum hg_verdict)f->verdict;
	}

	struct hg_eng_pkt q;
	if (!app)
		app = &no_app;
	if (f->flags & HG_ENGF_MIDSTREAM) {
		/* StreamExceptionPolicy CONTINUE: rules apply "without
		 * context" (§3.2): no established state, no app layer. */
		q = *p;
		q.established = false;
		p = &q;
		app = &no_app;
	}
	struct eval ev;
	ev.n_al = 0;
	ev.discarded = 0;
	ev.packet_only = false;
	enum hg_verdict v = stateful_eval(e, f, p, app, &ev);
	if (!ev.packet_only)
		f->verdict = (uint8_t)v;
	f->last_by = (uint8_t)(v == HG_VERDICT_UNDECIDED ? HG_BY_NONE
			       : ev.packet_only ? HG_BY_STATEFUL_RULE : why_layer(f->why));
	f->alerts_discarded += ev.discarded;
	if (cb)
		emit_alerts(&ev, v, cb, ud);
	return v;
}

enum hg_verdict hg_engine_stream_exception(const struct hg_engine *e, struct hg_eng_flow *f)
{
	if (f->verdict != HG_VERDICT_UNDECIDED)
		return (enum hg_verdict)f->verdict;
	switch (e->pol->stream_exception) {
	case HG_SEP_CONTINUE:
		f->flags |= HG_ENGF_MIDSTREAM;
		return HG_VERDICT_UNDECIDED;
	case HG_SEP_REJECT:
		f->verdict = HG_VERDICT_REJECT;
		break;
	default: /* DROP, the default: "fails closed" */
		f->verdict = HG_VERDICT_DROP;
		break;
	}
	f->why = WHY_EXCEPTION;
	f->last_by = HG_BY_STREAM_EXCEPTION;
	return (enum hg_verdict)f->verdict;
}

/* ------------------------------------------------------- describe */

bool hg_engine_flow_decider(const struct hg_engine *e, const struct hg_eng_flow *f,
			    struct hg_eng_decider *out)
{
	*out = (struct hg_eng_decider){.kind = HG_DECIDER_NONE, .layer = HG_BY_NONE, .msg = ""};
	/* The same precedence as hg_eng_flow_final(): a stateful drop or
	 * reject, else a stateless drop, else a stateful pass, else a
	 * stateless pass. */
	enum hg_verdict sv = stateful_verdict(f);
	bool stateful_block = sv == HG_VERDICT_DROP || sv == HG_VERDICT_REJECT;
	bool sl = f->sl_verdict == HG_VERDICT_DROP || (f->sl_verdict == HG_VERDICT_PASS && sv == HG_VERDICT_UNDECIDED);
	if (sl && !stateful_block) {
		out->kind = HG_DECIDER_STATELESS;
		out->layer = (enum hg_layer)f->sl_by;
		if (f->sl_by == HG_BY_STATELESS_RULE) {
			out->srule = hg_engine_stateless_rule(e, f->sl_rule);
			out->msg = f->sl_verdict == HG_VERDICT_DROP ? "aws:drop" : "aws:pass";
			out->group = out->srule ? out->srule->g : NULL;
		} else {
			static const char *const msgs[] = {
				[HG_BY_STATELESS_DEFAULT] = "StatelessDefaultActions",
				[HG_BY_FRAGMENT_DEFAULT] = "StatelessFragmentDefaultActions",
				[HG_BY_FRAGMENT_NOT_UDP] = "non-UDP fragment (silently dropped)",
			};
			out->msg = f->sl_by < HG_ARRAY_LEN(msgs) && msgs[f->sl_by] ? msgs[f->sl_by] : "";
		}
		return true;
	}
	out->layer = why_layer(f->why);
	switch (f->why) {
	case WHY_RULE: {
		if (f->decider >= e->n_rules)
			return false;
		const struct eng_rule *er = &e->rules[f->decider];
		out->kind = HG_DECIDER_RULE;
		out->rule = er->r;
		out->group = er->g;
		out->sid = f->decider_sid;
		out->rev = er->r->rev;
		out->msg = er->r->msg ? er->r->msg : "";
		return true;
	}
	case WHY_DEFAULT:
		out->kind = HG_DECIDER_DEFAULT_ACTION;
		out->sid = f->decider_sid;
		out->rev = 1;
		for (size_t i = 0; i < HG_ARRAY_LEN(sda_table); i++)
			if (sda_table[i].drop_bit == f->decider)
				out->msg = sda_table[i].drop_msg;
		return true;
	case WHY_EXCEPTION:
		out->kind = HG_DECIDER_STREAM_EXCEPTION;
		out->msg = "stream exception policy";
		return true;
	default:
		return false;
	}
}

int hg_engine_describe(const struct hg_engine *e, const struct hg_eng_flow *f, char *buf,
		       size_t len)
{
	struct hg_eng_decider d;
	if (!hg_engine_flow_decider(e, f, &d))
		return snprintf(buf, len, "no decision");
	if (d.kind == HG_DECIDER_STREAM_EXCEPTION)
		return snprintf(buf, len, "%s", d.msg);
	return snprintf(buf, len, "sid %u \"%s\"", (unsigned)d.sid, d.msg);
}
