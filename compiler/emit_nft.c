/* emit_nft.c - the kernel side: one `nft -f` file that replaces table inet
 * hostgate in one transaction, deciding in the kernel what needs no payload
 * and holding for the daemon what does. Section numbers (§) refer to
 * reference/anfw.md; the engine (runtime/engine.c) is the semantics we match.
 *
 * Layout of the table (names are stable; the daemon relies on them):
 *
 *   set home_net4/6, external_net4/6   the policy's HOME_NET / EXTERNAL_NET,
 *                                      interval sets (empty sets are valid)
 *   set allow4/6, deny4/6              flow verdicts written by the daemon,
 *                                      key saddr . sport . daddr . dport .
 *                                      l4proto, one entry per direction,
 *                                      flags timeout, bounded size
 *   set generation                     the table's generation, one element
 *                                      (read back by the daemon; table.h)
 *   map kN                             kernel-decided 5-tuple rules, one
 *                                      per family and class (see A.)
 *   set alertN                         keys of kernel alert rules
 *   ct timeout hg_tcp_idle_N           FlowTimeouts.TcpIdleTimeoutSeconds
 *   counter hg_ca_V                    packets of custom action dimension
 *                                      value V (stateless; table.h)
 *   chain forward                      hook forward: the stateless layer
 *   chain output                       hook output: the idle timeout of
 *                                      flows the daemon re-injects
 *   chain stateful                     the stateful layer (goto'd)
 *   chain hg_*                         verdict helpers (log + drop, reject),
 *                                      only those a verdict names
 *
 * forward: traffic that neither enters nor leaves an inside interface is
 * accepted (when inside interfaces are configured). Non-UDP fragments are
 * dropped (§3.1: "silently drops packet fragments for other protocols"),
 * then the stateless rules run in group priority, rule priority order
 * (aws:pass accept, aws:drop drop, aws:forward_to_sfe goto stateful), then
 * the fragment default for fragments and the stateless default. With
 * conntrack loaded the kernel reassembles before this hook, so the fragment
 * rules rarely see a fragment; they are there for completeness.
 *
 * stateful, in order:
 *  A. Kernel-decided rules in original orientation. A stateful rule is
 *     decided here when it is IP-only (r->cls == HG_CLASS_IP_ONLY: the
 *     engine looks at it only on the first packet of each direction) and no
 *     rule the kernel cannot evaluate (PACKET/APP class) could decide that
 *     first packet before it in evaluation order (DEFAULT_ACTION_ORDER:
 *     pass, drop, reject, alert, then priority; STRICT_ORDER: group
 *     priority then rule order). App-layer rules cannot match a TCP first
 *     packet (SYN, SYN-ACK: no payload), so domain lists never keep a TCP
 *     5-tuple rule out of the kernel; a UDP first packet carries payload,
 *     so a DNS/QUIC or payload rule overlapping it does. A decision on the
 *     first packet is a flow decision: packets in the original direction
 *     match the rule as written, reply packets match it with the fields
 *     swapped, so a flow passed by a rule has its replies passed too.
 *     Every kernel rule of a family goes into one interval verdict map
 *     per class: TCP/UDP keyed proto . saddr . daddr . sport . dport,
 *     other protocols proto . saddr . daddr (only the dimensions some
 *     member restricts are in the key; a side every member gives as
 *     HOME_NET or EXTERNAL_NET stays a named-set prefilter). A rule is
 *     widened to its map's key (any port is 0-65535, an `ip` rule is
 *     tcp/udp in one map and the other protocol ranges in the other), so
 *     10k rules are a handful of map lookups. Elements of one map must be
 *     disjoint (the kernel refuses overlaps), so precedence is resolved
 *     here: rules are added in evaluation order and a later rule keeps
 *     only the pieces of its boxes that earlier elements leave (a box
 *     minus a box is at most two boxes a dimension); a rule fully covered
 *     is dead and left out. When the pieces would pass PIECES_MAX, the
 *     rule starts a new map of its class after the current one, which
 *     keeps the order. A rule whose key product passes KEY_ELEMS_MAX is
 *     written out as one rule with anonymous sets, in its place.
 *     Alert rules decide nothing: their keys are collected per family and
 *     class into interval sets alertN (a union), each one rule that
 *     copies the first packet to the alert log group; the daemon
 *     re-evaluates the copy with the engine, so the kernel need not know
 *     which rule matched. Under DEFAULT_ACTION_ORDER alerts come after
 *     every decisive rule, so their rules follow the verdict maps; under
 *     STRICT_ORDER they precede them, minus what an earlier decisive rule
 *     decides. A non-first fragment has no transport header, so the
 *     TCP/UDP maps do not match it; conntrack reassembles before this
 *     hook, and non-UDP fragments were dropped in forward.
 *  B. The daemon's verdicts: @deny drop, @allow accept and mark the
 *     conntrack entry with the table's generation, an entry marked with
 *     this generation accepted first (one compare instead of two
 *     concatenated-key lookups for every bulk packet).
 *  C. Kernel-decided rules in reply orientation: the engine also evaluates
 *     IP-only rules on the first server-to-client packet; the same maps,
 *     applied to reply packets as written and (once a reply was seen,
 *     ct status seen-reply) to original packets swapped. Emitted only when
 *     no rule outside the kernel could decide any flow those rules touch.
 *  D. STRICT_ORDER aws:drop_strict, when nothing outside the kernel can
 *     decide a first packet: drop (the handshake too, §3.3).
 *  E. Hold: when any rule or default action needs the daemon, packets
 *     conntrack calls INVALID are dropped (a payload segment without ACK,
 *     a SYN-ACK from the client: nothing the daemon did not see may reach
 *     the server), undecided server-to-client packets pass, and every
 *     client-to-server packet of TCP (whatever its state: the SYN tells the
 *     daemon where the stream starts, and a SYN carrying data, TCP Fast
 *     Open, must not pass uninspected) and UDP flows is copied to NFLOG
 *     group nflog_group and dropped. The daemon decides, writes allow/deny
 *     (both directions) and re-injects allowed packets. Anything else
 *     passes (policy accept).
 *
 * Alerts: packets that must produce an alert event (kernel alert rules,
 * drop/reject without noalert, pass with alert;, aws:alert_strict) are
 * copied to NFLOG group alert_log_group on the flow's first packet
 * (ct state new); the daemon runs them through the engine to write the
 * events. Alerts of reply-orientation matches are not copied (the kernel
 * cannot tell the first reply packet); the engine's replay still has them.
 *
 * Limits (documented, checked by nothing but this comment): decisions on
 * server-to-client packets by PACKET rules, and PACKET rules on protocols
 * other than TCP/UDP, are left to the daemon, which sees only held
 * client-to-server TCP/UDP packets. Matches use the packets' addresses,
 * so NAT on the gateway must happen outside the forward hook's view. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostgate/emit.h"
#include "hostgate/order.h"
#include "hostgate/table.h"

/* A TCP packet that creates a conntrack entry without being a SYN (with
 * nf_conntrack_tcp_loose, Linux's default, such a packet is tracked as
 * new rather than refused). */
#define MIDSTREAM "meta l4proto tcp ct state new tcp flags & (syn | ack) != syn"
/* The conntrack timeout object of the TCP idle timeout (%u: seconds). */
#define HG_CT_TIMEOUT_FMT HG_CT_TIMEOUT_PREFIX "%u"
/* A rule whose key product exceeds this is emitted as one rule with
 * anonymous sets instead of map elements. */
#define KEY_ELEMS_MAX 4096
/* More blockers than this and the overlap walk gives up (conservatively). */
#define BLOCKERS_MAX 512
/* The conntrack mark field of a flow the daemon allowed (B.): the
 * generation of the table that allowed it (hg_nft_opts.ct_mark_gen), in
 * the high 16 bits, so other users of ct mark keep the low ones. Only the
 * current generation takes the fast path: after a reload (a new
 * generation) a flow goes once more through the verdict sets, so a
 * verdict the daemon revoked (allow element deleted, deny added in the
 * reload's transaction) stops it, and a kept one re-marks it. Section A,
 * the kernel's own 5-tuple rules, still runs before it on every packet.
 * A deny element clears the field, and a flow marked by an earlier
 * generation that is in neither set keeps its verdict: the fast path never
 * refreshes the set elements, so a long-lived flow's allow element times
 * out while the flow goes on, and a reload must not cut it then. */

void hg_nft_opts_defaults(struct hg_nft_opts *o)
{
	*o = (struct hg_nft_opts){
		.table = HG_TABLE_DEFAULT,
		.nflog_group = 7,
		.alert_log_group = 8,
		.snaplen = 65535,
		.verdict_timeout = HG_VSET_TIMEOUT_DEFAULT,
		.ct_mark_gen = 1,
	};
}

/* --------------------------------------------------------- printing */

/* The mapped IPv4 block ::ffff:0:0/96 splits the 128-bit space (ipset.h). */
static const struct hg_ip v4_lo = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}};
static const struct hg_ip v4_hi = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static void ip_add(struct hg_ip *ip, int delta)
{
	for (int i = 15; i >= 0; i--) {
		int v = ip->b[i] + delta;
		ip->b[i] = (uint8_t)v;
		if (v >= 0 && v <= 255)
			break;
	}
}

/* The part of s in family fam (4 or 6), still in the 128-bit space. */
static void ipset_family(const struct hg_ipset *s, int fam, struct hg_ipset *out)
{
	*out = (struct hg_ipset){0};
	struct hg_ip below = v4_lo, above = v4_hi;
	ip_add(&below, -1);
	ip_add(&above, 1);
	for (size_t i = 0; i < s->n; i++) {
		const struct hg_iprange *r = &s->r[i];
		if (fam == 4) {
			const struct hg_ip *lo = hg_ip_cmp(&r->lo, &v4_lo) > 0 ? &r->lo : &v4_lo;
			const struct hg_ip *hi = hg_ip_cmp(&r->hi, &v4_hi) < 0 ? &r->hi : &v4_hi;
			if (hg_ip_cmp(lo, hi) <= 0)
				hg_ipset_add(out, lo, hi);
			continue;
		}
		if (hg_ip_cmp(&r->lo, &below) <= 0)
			hg_ipset_add(out, &r->lo, hg_ip_cmp(&r->hi, &below) < 0 ? &r->hi : &below);
		if (hg_ip_cmp(&r->hi, &above) >= 0)
			hg_ipset_add(out, hg_ip_cmp(&r->lo, &above) > 0 ? &r->lo : &above, &r->hi);
	}
}

/* Whether a family part covers the whole family. */
static bool family_full(const struct hg_ipset *part, int fam)
{
	struct hg_ipset all = {0};
	hg_ipset_all(&all);
	struct hg_ipset want;
	ipset_family(&all, fam, &want);
	bool eq = hg_ipset_equal(part, &want);
	hg_ipset_free(&all);
	hg_ipset_free(&want);
	return eq;
}

static void put_ip(FILE *out, const struct hg_ip *ip, int fam)
{
	char buf[64];
	if (fam == 4)
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14], ip->b[15]);
	else
		hg_ip_format(ip, buf, sizeof(buf));
	fputs(buf, out);
}

/* A range as a prefix when it is one, else lo-hi. */
static void put_iprange(FILE *out, const struct hg_iprange *r, int fam)
{
	int bits = fam == 4 ? 32 : 128, first = fam == 4 ? 96 : 0;
	int len = bits;
	/* Longest host part: lo has zeros and hi ones in its last k bits. */
	for (int k = 1; k <= bits; k++) {
		int bit = 127 - (k - 1);
		int byte = bit / 8, mask = 1 << (7 - bit % 8);
		if ((r->lo.b[byte] & mask) || !(r->hi.b[byte] & mask))
			break;
		len = bits - k;
	}
	/* The prefix must cover exactly [lo, hi]: same leading bits. */
	bool same = true;
	for (int bit = first; bit < first + len && same; bit++) {
		int byte = bit / 8, mask = 1 << (7 - bit % 8);
		same = (r->lo.b[byte] & mask) == (r->hi.b[byte] & mask);
	}
	if (!hg_ip_cmp(&r->lo, &r->hi)) {
		put_ip(out, &r->lo, fam);
	} else if (same) {
		put_ip(out, &r->lo, fam);
		fprintf(out, "/%d", len);
	} else {
		put_ip(out, &r->lo, fam);
		fputc('-', out);
		put_ip(out, &r->hi, fam);
	}
}

static void put_port(FILE *out, const struct hg_portrange *r)
{
	if (r->lo == r->hi)
		fprintf(out, "%u", r->lo);
	else
		fprintf(out, "%u-%u", r->lo, r->hi);
}

static const char *proto_nft(unsigned p)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "ipv6-icmp";
	default: return NULL;
	}
}

static void put_proto(FILE *out, unsigned p)
{
	const char *n = proto_nft(p);
	if (n)
		fputs(n, out);
	else
		fprintf(out, "%u", p);
}

static void put_loc(FILE *out, const struct hg_loc *l)
{
	if (l->file)
		fprintf(out, "%s:%u", l->file, l->line);
	else
		fputs("(generated)", out);
}

/* A string inside an nft comment line: no newlines. */
static void put_comment_text(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s && s[i] && i < max; i++)
		fputc(s[i] == '\n' || s[i] == '\r' ? ' ' : s[i], out);
}

/* ------------------------------------------- what the kernel decides */

/* Transport domains a rule can see. */
enum { D_TCP = 1, D_UDP = 2, D_ICMP = 4, D_OTHER = 8, D_ALL = 15 };

static bool proto_tcp_only(enum hg_proto p)
{
	switch (p) {
	case HG_PROTO_TCP:
	case HG_PROTO_TLS:
	case HG_PROTO_HTTP:
	case HG_PROTO_HTTP2:
	case HG_PROTO_SSH:
	case HG_PROTO_SMTP:
	case HG_PROTO_FTP:
	case HG_PROTO_IMAP: return true;
	default: return false;
	}
}

static unsigned proto_domain(enum hg_proto p)
{
	switch (p) {
	case HG_PROTO_IP: return D_ALL;
	case HG_PROTO_UDP: return D_UDP;
	case HG_PROTO_ICMP: return D_ICMP;
	default: return proto_tcp_only(p) ? D_TCP : D_TCP | D_UDP;
	}
}

/* The domains in which a rule outside the kernel could match the first
 * packet of a direction: TCP first packets (SYN, SYN-ACK) carry no payload
 * and are not established, so app-layer rules, content and
 * flow:established rules cannot match them; other first packets carry
 * payload. */
static unsigned first_packet_domain(const struct hg_rule *r)
{
	unsigned d = proto_domain(r->proto);
	if (r->cls == HG_CLASS_APP)
		return d & D_UDP;
	if ((r->flow & HG_FLOW_ESTABLISHED) || r->n_matches)
		d &= ~(unsigned)D_TCP;
	return d;
}

static bool portset_intersects(const struct hg_portset *a, const struct hg_portset *b)
{
	size_t i = 0, k = 0;
	while (i < a->n && k < b->n) {
		if (a->r[i].hi < b->r[k].lo)
			i++;
		else if (b->r[k].hi < a->r[i].lo)
			k++;
		else
			return true;
	}
	return false;
}

/* Whether some packet (in either orientation of either rule) could match
 * both rules' headers. */
static bool headers_overlap(const struct hg_rule *a, const struct hg_rule *b)
{
	for (int sa = 0; sa < 2; sa++)
		for (int sb = 0; sb < 2; sb++) {
			const struct hg_ipset *as = sa ? &a->dst_set : &a->src_set;
			const struct hg_ipset *ad = sa ? &a->src_set : &a->dst_set;
			const struct hg_portset *ap = sa ? &a->dport_set : &a->sport_set;
			const struct hg_portset *aq = sa ? &a->sport_set : &a->dport_set;
			const struct hg_ipset *bs = sb ? &b->dst_set : &b->src_set;
			const struct hg_ipset *bd = sb ? &b->src_set : &b->dst_set;
			const struct hg_portset *bp = sb ? &b->dport_set : &b->sport_set;
			const struct hg_portset *bq = sb ? &b->sport_set : &b->dport_set;
			if (hg_ipset_intersects(as, bs) && hg_ipset_intersects(ad, bd) &&
			    portset_intersects(ap, bp) && portset_intersects(aq, bq))
				return true;
		}
	return false;
}

struct blocker {
	const struct hg_rule *r;
	unsigned dom;
	size_t pos; /* in evaluation order */
};

struct plan {
	struct hg_rule_rank *ev;
	size_t n_ev;
	uint8_t *kernel;       /* per ev: K_ALL decided (or alerted) in section A, K_NOPORT
				  only for protocols without ports (see plan_build) */
	HG_VEC(struct blocker) blockers;
	bool blockers_overflow;
	bool need_inspect;     /* some rule or default action needs the daemon */
	bool reply_section;    /* section C is exact */
	bool kernel_drop_strict;
	bool alert_strict;
	bool hold_all;         /* drop_strict left to the daemon: hold every state */
	bool shape_rules;      /* a daemon rule reads tcp.flags or dsize: a bare ACK too */
};

enum { K_NONE, K_ALL, K_NOPORT };

static bool ports_any(const struct hg_portset *s);

/* Whether a rule outside the kernel could decide, before r (or anywhere:
 * any_pos), a first packet r could match in domains d. */
static bool is_blocked(const struct plan *p, const struct hg_rule *r, size_t pos, bool any_pos, unsigned d)
{
	if (p->blockers_overflow)
		return true;
	for (size_t i = 0; i < p->blockers.n; i++) {
		const struct blocker *b = &p->blockers.v[i];
		if (!any_pos && b->pos >= pos)
			break;
		if ((b->dom & d) && headers_overlap(r, b->r))
			return true;
	}
	return false;
}

static void plan_build(struct plan *p, const struct hg_policy *pol)
{
	memset(p, 0, sizeof(*p));
	p->ev = hg_policy_stateful_order(pol, &p->n_ev);
	p->kernel = xcalloc(p->n_ev + 1, sizeof(*p->kernel));
	bool strict = pol->rule_order == HG_ORDER_STRICT;

	/* Forward walk: blockers are collected in evaluation order, so an
	 * IP-only rule only looks at those before it. */
	for (size_t i = 0; i < p->n_ev; i++) {
		const struct hg_rule *r = p->ev[i].r;
		bool decisive = p->ev[i].act != HG_ACT_ALERT;
		if (r->cls == HG_CLASS_IP_ONLY && !is_blocked(p, r, i, false, proto_domain(r->proto))) {
			p->kernel[i] = K_ALL;
			continue;
		}
		unsigned dom = r->cls == HG_CLASS_IP_ONLY ? proto_domain(r->proto) : first_packet_domain(r);
		/* An `ip` rule that only a TCP/UDP rule outside the kernel
		 * could overtake is still the kernel's for ICMP and the other
		 * protocols, which the daemon never sees (it holds only TCP and
		 * UDP): without this part those packets would pass unjudged. */
		if (r->cls == HG_CLASS_IP_ONLY && r->proto == HG_PROTO_IP && ports_any(&r->sport_set) &&
		    ports_any(&r->dport_set) && !is_blocked(p, r, i, false, D_ICMP | D_OTHER)) {
			p->kernel[i] = K_NOPORT;
			dom &= D_TCP | D_UDP;
		}
		p->need_inspect = true;
		if (r->has_tcp_flags || r->has_dsize)
			p->shape_rules = true;
		if (!decisive || !dom)
			continue;
		if (p->blockers.n >= BLOCKERS_MAX)
			p->blockers_overflow = true;
		else
			hg_vec_push(&p->blockers, ((struct blocker){r, dom, i}));
	}

	/* Section C is exact when no rule outside the kernel could decide a
	 * packet of a flow a kernel rule touches, whatever their order. */
	p->reply_section = true;
	for (size_t i = 0; i < p->n_ev && p->reply_section; i++)
		if (p->kernel[i] && p->ev[i].act != HG_ACT_ALERT &&
		    is_blocked(p, p->ev[i].r, i, true,
			       p->kernel[i] == K_NOPORT ? D_ICMP | D_OTHER : proto_domain(p->ev[i].r->proto)))
			p->reply_section = false;

	uint32_t sda = strict ? pol->default_actions : 0;
	const uint32_t est = HG_SDA_DROP_ESTABLISHED | HG_SDA_DROP_ESTABLISHED_APP_LAYER |
			     HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER | HG_SDA_ALERT_ESTABLISHED |
			     HG_SDA_ALERT_ESTABLISHED_APP_LAYER | HG_SDA_ALERT_ESTABLISHED_APP_LAYER_TO_SERVER;
	if (sda & est)
		p->need_inspect = true;
	p->alert_strict = sda & HG_SDA_ALERT_STRICT;
	if (sda & HG_SDA_DROP_STRICT) {
		/* Drop all drops the unmatched first packet (§3.3): the kernel
		 * can, unless a rule outside it could decide that packet. */
		if (!p->blockers.n && !p->blockers_overflow) {
			p->kernel_drop_strict = true;
			p->reply_section = false; /* every flow is decided on packet 1 */
		} else {
			p->need_inspect = true;
			p->hold_all = true;
		}
	}
}

static void plan_free(struct plan *p)
{
	free(p->ev);
	free(p->kernel);
	hg_vec_free(&p->blockers);
}

/* ---------------------------------------------------- kernel rules */

enum akind { AK_ANY, AK_HOME, AK_EXT, AK_LIT };

/* One kernel rule in one family and one orientation of its header. */
struct krule {
	const struct hg_rule_rank *ev;
	int fam;               /* 4 or 6 */
	unsigned protos[2];    /* l4proto key values */
	size_t n_protos;       /* 0: any protocol */
	bool noport_only;      /* only protocols without ports (plan K_NOPORT) */
	enum akind sk, dk;
	struct hg_ipset src, dst; /* AK_LIT: the family part */
	const struct hg_portset *sport, *dport; /* NULL: any */
};

static enum akind addr_kind(const struct hg_policy *pol, const struct hg_ipset *s)
{
	if (hg_ipset_is_all(s))
		return AK_ANY;
	if (hg_ipset_equal(s, &pol->home_net))
		return AK_HOME;
	if (hg_ipset_equal(s, &pol->external_net))
		return AK_EXT;
	return AK_LIT;
}

/* The family part of a side; false when it matches nothing there. */
static bool side_for_family(const struct hg_policy *pol, const struct hg_ipset *s, int fam, enum akind *k,
			    struct hg_ipset *lit)
{
	*k = addr_kind(pol, s);
	*lit = (struct hg_ipset){0};
	if (*k == AK_ANY)
		return true;
	const struct hg_ipset *whole = *k == AK_HOME ? &pol->home_net : *k == AK_EXT ? &pol->external_net : s;
	struct hg_ipset part;
	ipset_family(whole, fam, &part);
	if (!part.n) {
		hg_ipset_free(&part);
		return false;
	}
	if (family_full(&part, fam)) {
		hg_ipset_free(&part);
		*k = AK_ANY;
		return true;
	}
	if (*k == AK_LIT)
		*lit = part;
	else
		hg_ipset_free(&part);
	return true;
}

static bool ports_any(const struct hg_portset *s)
{
	return s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535;
}

/* a := a ∩ b. */
static void ipset_intersect(struct hg_ipset *a, const struct hg_ipset *b)
{
	struct hg_ipset not_b = {0};
	hg_ipset_copy(&not_b, b);
	hg_ipset_complement(&not_b);
	hg_ipset_subtract(a, &not_b);
	hg_ipset_free(&not_b);
}

static void krules_side(const struct hg_policy *pol, const struct hg_rule_rank *ev, const struct hg_ipset *src,
			const struct hg_ipset *dst, bool swap, bool noport_only, void *vec);

/* Appends the krules of one header orientation of r (swap: "<>" reverse).
 * geoip narrows the packet's own addresses whatever the orientation (the
 * engine's geoip_match): src/dst/both intersect the sides with the
 * countries' networks, any (src OR dst) gives two krules. */
static void krules_of(const struct hg_policy *pol, const struct hg_rule_rank *ev, bool swap, bool noport_only,
		      void *vec)
{
	const struct hg_rule *r = ev->r;
	const struct hg_ipset *src = swap ? &r->dst_set : &r->src_set;
	const struct hg_ipset *dst = swap ? &r->src_set : &r->dst_set;
	const struct hg_geoip *g = r->geoip;
	if (!g) {
		krules_side(pol, ev, src, dst, swap, noport_only, vec);
		return;
	}
	for (int pass = 0; pass < (g->on == HG_GEO_ANY ? 2 : 1); pass++) {
		struct hg_ipset s = {0}, d = {0};
		hg_ipset_copy(&s, src);
		hg_ipset_copy(&d, dst);
		bool on_src = g->on == HG_GEO_SRC || g->on == HG_GEO_BOTH || (g->on == HG_GEO_ANY && pass == 0);
		bool on_dst = g->on == HG_GEO_DST || g->on == HG_GEO_BOTH || (g->on == HG_GEO_ANY && pass == 1);
		if (on_src)
			ipset_intersect(&s, &g->set);
		if (on_dst)
			ipset_intersect(&d, &g->set);
		if (s.n && d.n)
			krules_side(pol, ev, &s, &d, swap, noport_only, vec);
		hg_ipset_free(&s);
		hg_ipset_free(&d);
	}
}

static void krules_side(const struct hg_policy *pol, const struct hg_rule_rank *ev, const struct hg_ipset *src,
			const struct hg_ipset *dst, bool swap, bool noport_only, void *vec)
{
	HG_VEC(struct krule) *out = vec;
	const struct hg_rule *r = ev->r;
	const struct hg_portset *sp = swap ? &r->dport_set : &r->sport_set;
	const struct hg_portset *dp = swap ? &r->sport_set : &r->dport_set;
	bool ported = !ports_any(sp) || !ports_any(dp);

	for (int fam = 4; fam <= 6; fam += 2) {
		struct krule k = {.ev = ev, .fam = fam, .noport_only = noport_only};
		if (!side_for_family(pol, src, fam, &k.sk, &k.src))
			continue;
		if (!side_for_family(pol, dst, fam, &k.dk, &k.dst)) {
			hg_ipset_free(&k.src);
			continue;
		}
		k.sport = ports_any(sp) ? NULL : sp;
		k.dport = ports_any(dp) ? NULL : dp;
		switch (r->proto) {
		case HG_PROTO_TCP: k.protos[k.n_protos++] = 6; break;
		case HG_PROTO_UDP: k.protos[k.n_protos++] = 17; break;
		case HG_PROTO_ICMP: k.protos[k.n_protos++] = fam == 4 ? 1 : 58; break;
		default:
			/* ip: ports only exist for TCP and UDP (the engine's
			 * addr_side) */
			if (ported) {
				k.protos[k.n_protos++] = 6;
				k.protos[k.n_protos++] = 17;
			}
			break;
		}
		if (r->proto == HG_PROTO_ICMP && ported) {
			/* An ICMP rule with ports never matches. */
			hg_ipset_free(&k.src);
			hg_ipset_free(&k.dst);
			continue;
		}
		hg_vec_push(out, k);
	}
}

static void krule_free(struct krule *k)
{
	hg_ipset_free(&k->src);
	hg_ipset_free(&k->dst);
}

/* ---------------------------------------------------- map elements */

/* A key dimension's range, big-endian in 16 bytes so memcmp orders it. */
struct krange {
	uint8_t lo[16], hi[16];
};

enum { KD_PROTO, KD_SADDR, KD_DADDR, KD_SPORT, KD_DPORT, KD__N };

struct kelem {
	struct krange d[KD__N];
	const struct krule *k;
};

struct kvec {
	struct kelem *v;
	size_t n, cap;
};

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

static void kr_port(struct krange *r, uint16_t lo, uint16_t hi)
{
	memset(r, 0, sizeof(*r));
	r->lo[14] = (uint8_t)(lo >> 8);
	r->lo[15] = (uint8_t)lo;
	r->hi[14] = (uint8_t)(hi >> 8);
	r->hi[15] = (uint8_t)hi;
}

static void kr_all(struct krange *r)
{
	memset(r->lo, 0, 16);
	memset(r->hi, 0xff, 16);
}

static void kr_ip(struct krange *r, const struct hg_iprange *ip)
{
	memcpy(r->lo, ip->lo.b, 16);
	memcpy(r->hi, ip->hi.b, 16);
}

struct krvec {
	struct krange *v;
	size_t n, cap;
};

static bool box_overlap(const struct kelem *a, const struct kelem *b)
{
	static const int order[KD__N] = {KD_DADDR, KD_SADDR, KD_DPORT, KD_SPORT, KD_PROTO};
	for (int j = 0; j < KD__N; j++) {
		int i = order[j];
		if (memcmp(a->d[i].lo, b->d[i].hi, 16) > 0 || memcmp(b->d[i].lo, a->d[i].hi, 16) > 0)
			return false;
	}
	return true;
}

/* Number of elements of k's own key product, capped past KEY_ELEMS_MAX. */
static size_t key_count(const struct krule *k)
{
	size_t n = k->n_protos ? k->n_protos : 1;
	size_t f[4] = {k->sk == AK_LIT ? k->src.n : 1, k->dk == AK_LIT ? k->dst.n : 1,
		       k->sport ? k->sport->n : 1, k->dport ? k->dport->n : 1};
	for (int i = 0; i < 4; i++) {
		if (n > KEY_ELEMS_MAX || f[i] > KEY_ELEMS_MAX)
			return KEY_ELEMS_MAX + 1;
		n *= f[i];
	}
	return n;
}

/* Map classes: every kernel rule of a family lands in one map per class
 * (its shape widened to the class's key), so the number of maps does not
 * grow with the rule count. TCP and UDP packets are looked up with ports,
 * every other protocol without; the two classes never see the same packet,
 * so their relative place in the chain cannot change a verdict. An `ip`
 * rule without ports goes into both: tcp/udp with every port, and the
 * other protocols as proto ranges. */
enum { CL_PORT, CL_NOPORT, CL__N };

/* The key of one class map: which dimensions are in the key, which sides
 * are a HOME_NET/EXTERNAL_NET prefilter (all members agree on it). */
struct shape {
	int fam;
	int cls;
	bool alert;
	bool used;
	enum akind sk, dk; /* AK_LIT: in the key; AK_ANY: not looked at */
	bool sport, dport; /* in the key (CL_PORT) */
};

/* The classes a krule belongs to and its protocol ranges there. */
static size_t krule_protos(const struct krule *k, int cls, struct krange *pr)
{
	bool icmp = k->ev->r->proto == HG_PROTO_ICMP;
	if (cls == CL_PORT) {
		if (icmp || k->noport_only)
			return 0;
		if (!k->n_protos) {
			kr_port(&pr[0], 6, 6);
			kr_port(&pr[1], 17, 17);
			return 2;
		}
		for (size_t i = 0; i < k->n_protos; i++)
			kr_port(&pr[i], (uint16_t)k->protos[i], (uint16_t)k->protos[i]);
		return k->n_protos;
	}
	if (icmp) {
		kr_port(&pr[0], (uint16_t)k->protos[0], (uint16_t)k->protos[0]);
		return 1;
	}
	if (k->n_protos)
		return 0;
	kr_port(&pr[0], 0, 5);
	kr_port(&pr[1], 7, 16);
	kr_port(&pr[2], 18, 255);
	return 3;
}

static void shape_fold(struct shape *s, const struct krule *k)
{
	if (!s->used) {
		s->used = true;
		s->sk = k->sk;
		s->dk = k->dk;
	} else {
		if (s->sk != k->sk)
			s->sk = AK_LIT;
		if (s->dk != k->dk)
			s->dk = AK_LIT;
	}
	if (s->cls == CL_PORT) {
		s->sport |= k->sport != NULL;
		s->dport |= k->dport != NULL;
	}
}

/* The family's whole address space as key ranges (IPv4 lives in the
 * mapped block of the 128-bit space, IPv6 keys are the whole space). */
static void fam_all(struct krange *r, int fam)
{
	if (fam == 4) {
		memcpy(r->lo, v4_lo.b, 16);
		memcpy(r->hi, v4_hi.b, 16);
	} else {
		kr_all(r);
	}
}

/* The ranges of one address side under a shape's key. */
static size_t side_ranges(const struct hg_policy *pol, enum akind shape_k, enum akind k, const struct hg_ipset *lit,
			  int fam, struct krvec *out)
{
	struct krange r;
	if (shape_k != AK_LIT) {
		kr_all(&r);
		hg_vec_push(out, r);
		return 1;
	}
	if (k == AK_ANY) {
		fam_all(&r, fam);
		hg_vec_push(out, r);
		return 1;
	}
	struct hg_ipset part = {0};
	if (k == AK_LIT)
		hg_ipset_copy(&part, lit);
	else
		ipset_family(k == AK_HOME ? &pol->home_net : &pol->external_net, fam, &part);
	for (size_t i = 0; i < part.n; i++) {
		kr_ip(&r, &part.r[i]);
		hg_vec_push(out, r);
	}
	size_t n = part.n;
	hg_ipset_free(&part);
	return n;
}

static void port_ranges(bool in_key, const struct hg_portset *p, struct krvec *out)
{
	struct krange r;
	if (!in_key)
		kr_all(&r);
	else if (!p)
		kr_port(&r, 0, 65535);
	if (!in_key || !p) {
		hg_vec_push(out, r);
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		kr_port(&r, p->r[i].lo, p->r[i].hi);
		hg_vec_push(out, r);
	}
}

/* Expands k's key product under shape s (dimensions not in the key span
 * everything, so they never split an element). */
static void shape_elems(const struct hg_policy *pol, const struct shape *s, const struct krule *k, struct kvec *out)
{
	struct krange pr[3];
	size_t np = krule_protos(k, s->cls, pr);
	struct krvec sa = {0}, da = {0}, sp = {0}, dp = {0};
	side_ranges(pol, s->sk, k->sk, &k->src, k->fam, &sa);
	side_ranges(pol, s->dk, k->dk, &k->dst, k->fam, &da);
	port_ranges(s->sport, k->sport, &sp);
	port_ranges(s->dport, k->dport, &dp);
	for (size_t a = 0; a < np; a++)
		for (size_t b = 0; b < sa.n; b++)
			for (size_t c = 0; c < da.n; c++)
				for (size_t e = 0; e < sp.n; e++)
					for (size_t f = 0; f < dp.n; f++) {
						struct kelem el = {.k = k};
						el.d[KD_PROTO] = pr[a];
						el.d[KD_SADDR] = sa.v[b];
						el.d[KD_DADDR] = da.v[c];
						el.d[KD_SPORT] = sp.v[e];
						el.d[KD_DPORT] = dp.v[f];
						hg_vec_push(out, el);
					}
	hg_vec_free(&sa);
	hg_vec_free(&da);
	hg_vec_free(&sp);
	hg_vec_free(&dp);
}

/* 16-byte big-endian +1 / -1 (callers never step past the ends). */
static void be_step(uint8_t *b, int delta)
{
	for (int i = 15; i >= 0; i--) {
		int v = b[i] + delta;
		b[i] = (uint8_t)v;
		if (v >= 0 && v <= 255)
			break;
	}
}

/* Appends box b minus box x as disjoint boxes (at most two a dimension):
 * peel off the parts of b below and above x, one dimension at a time. */
static void box_subtract(const struct kelem *b, const struct kelem *x, struct kvec *out)
{
	static const int order[KD__N] = {KD_PROTO, KD_DPORT, KD_SPORT, KD_SADDR, KD_DADDR};
	struct kelem rest = *b;
	for (int j = 0; j < KD__N; j++) {
		int d = order[j];
		struct krange *r = &rest.d[d];
		const struct krange *c = &x->d[d];
		if (memcmp(r->lo, c->lo, 16) < 0) {
			struct kelem p = rest;
			memcpy(p.d[d].hi, c->lo, 16);
			be_step(p.d[d].hi, -1);
			hg_vec_push(out, p);
			memcpy(r->lo, c->lo, 16);
		}
		if (memcmp(r->hi, c->hi, 16) > 0) {
			struct kelem p = rest;
			memcpy(p.d[d].lo, c->hi, 16);
			be_step(p.d[d].lo, 1);
			hg_vec_push(out, p);
			memcpy(r->hi, c->hi, 16);
		}
	}
}

/* ------------------------------------------------- element index */

/* Elements of a map indexed by the prefix of one address dimension at a
 * few levels (finest first), so subtracting finds its candidates without
 * scanning the whole map: an element is filed at the finest level whose
 * prefix its range stays in; a query visits its own bucket at that level
 * and every coarser one, and the sub-buckets of finer levels (or scans
 * everything when there are too many). */
#define IDX_LEVELS 3
#define IDX_SUB_MAX 4096

struct ibucket {
	uint64_t key;
	struct u32vec ids;
};

struct eindex {
	int dim;  /* KD_DADDR, KD_SADDR, or -1: no index (scan) */
	int fam;
	struct ibucket *b;
	size_t n_used, cap; /* open addressing, cap a power of two */
	struct u32vec wide;
};

static int idx_bits(int fam, int level)
{
	static const int v4[IDX_LEVELS] = {24, 16, 8}, v6[IDX_LEVELS] = {48, 32, 16};
	return fam == 4 ? v4[level] : v6[level];
}

/* The first bits of an address in its family (bits <= 64). */
static uint64_t idx_prefix(const uint8_t *a, int fam, int bits)
{
	uint64_t v = 0;
	int start = fam == 4 ? 12 : 0, n = fam == 4 ? 4 : 8;
	for (int i = 0; i < n; i++)
		v = v << 8 | a[start + i];
	return v >> (n * 8 - bits);
}

static uint64_t idx_key(int level, uint64_t prefix)
{
	return (uint64_t)(level + 1) << 56 | prefix;
}

/* The finest level whose prefix lo and hi share; IDX_LEVELS: none. */
static int idx_level(const struct eindex *x, const struct krange *r)
{
	if (x->fam == 4 && (memcmp(r->lo, v4_lo.b, 12) || memcmp(r->hi, v4_lo.b, 12)))
		return IDX_LEVELS;
	for (int l = 0; l < IDX_LEVELS; l++) {
		int bits = idx_bits(x->fam, l);
		if (idx_prefix(r->lo, x->fam, bits) == idx_prefix(r->hi, x->fam, bits))
			return l;
	}
	return IDX_LEVELS;
}

static uint64_t idx_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static struct ibucket *idx_find(const struct eindex *x, uint64_t key)
{
	if (!x->cap)
		return NULL;
	for (size_t i = idx_hash(key) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		if (!x->b[i].key)
			return NULL;
		if (x->b[i].key == key)
			return &x->b[i];
	}
}

static struct ibucket *idx_get(struct eindex *x, uint64_t key)
{
	if (2 * (x->n_used + 1) > x->cap) {
		size_t ncap = x->cap ? 2 * x->cap : 64;
		struct ibucket *nb = xcalloc(ncap, sizeof(*nb));
		for (size_t i = 0; i < x->cap; i++) {
			if (!x->b[i].key)
				continue;
			size_t k = idx_hash(x->b[i].key) & (ncap - 1);
			while (nb[k].key)
				k = (k + 1) & (ncap - 1);
			nb[k] = x->b[i];
		}
		free(x->b);
		x->b = nb;
		x->cap = ncap;
	}
	size_t i = idx_hash(key) & (x->cap - 1);
	while (x->b[i].key && x->b[i].key != key)
		i = (i + 1) & (x->cap - 1);
	if (!x->b[i].key) {
		x->b[i].key = key;
		x->n_used++;
	}
	return &x->b[i];
}

static void idx_add(struct eindex *x, const struct kelem *el, uint32_t id)
{
	int l = x->dim < 0 ? IDX_LEVELS : idx_level(x, &el->d[x->dim]);
	if (l == IDX_LEVELS) {
		hg_vec_push(&x->wide, id);
		return;
	}
	uint64_t p = idx_prefix(el->d[x->dim].lo, x->fam, idx_bits(x->fam, l));
	struct ibucket *b = idx_get(x, idx_key(l, p));
	hg_vec_push(&b->ids, id);
}

static void idx_free(struct eindex *x)
{
	for (size_t i = 0; i < x->cap; i++)
		hg_vec_free(&x->b[i].ids);
	free(x->b);
	hg_vec_free(&x->wide);
}

/* ------------------------------------------------------- runs */

/* A run: one map or set of one shape (or a big rule written out as a
 * rule with anonymous sets). */
struct run {
	struct shape *sh;      /* NULL: single */
	const struct krule *single;
	struct kvec el;
	struct eindex idx;
	unsigned id;           /* kN for verdict maps, alertN for alert sets */
};

/* Candidate ids of r's elements that may overlap box q (each at most
 * once); false when the index cannot narrow it (scan everything). */
static bool run_candidates(const struct run *r, const struct kelem *q, void *vec)
{
	struct u32vec *out = vec;
	const struct eindex *x = &r->idx;
	if (x->dim < 0)
		return false;
	const struct krange *qr = &q->d[x->dim];
	int lq = idx_level(x, qr);
	if (lq == IDX_LEVELS)
		return false;
	for (int l = 0; l < IDX_LEVELS; l++) {
		int bits = idx_bits(x->fam, l);
		if (l >= lq) {
			const struct ibucket *b = idx_find(x, idx_key(l, idx_prefix(qr->lo, x->fam, bits)));
			for (size_t i = 0; b && i < b->ids.n; i++)
				hg_vec_push(out, b->ids.v[i]);
			continue;
		}
		uint64_t lo = idx_prefix(qr->lo, x->fam, bits), hi = idx_prefix(qr->hi, x->fam, bits);
		if (hi - lo >= IDX_SUB_MAX)
			return false;
		for (uint64_t p = lo;; p++) {
			const struct ibucket *b = idx_find(x, idx_key(l, p));
			for (size_t i = 0; b && i < b->ids.n; i++)
				hg_vec_push(out, b->ids.v[i]);
			if (p == hi)
				break;
		}
	}
	for (size_t i = 0; i < x->wide.n; i++)
		hg_vec_push(out, x->wide.v[i]);
	return true;
}

/* Pieces of one element left after the earlier ones of a map. */
#define PIECES_MAX 256

/* Appends to out what remains of the boxes of in outside every element of
 * r. False when that would pass PIECES_MAX boxes (out is then partial). */
static bool run_subtract(const struct run *r, const struct kvec *in, struct kvec *out)
{
	struct u32vec cand = {0};
	struct kvec cur = {0}, next = {0};
	bool ok = true;
	for (size_t q = 0; q < in->n && ok; q++) {
		cand.n = 0;
		bool narrowed = run_candidates(r, &in->v[q], &cand);
		size_t n = narrowed ? cand.n : r->el.n;
		cur.n = 0;
		hg_vec_push(&cur, in->v[q]);
		for (size_t c = 0; c < n && cur.n && ok; c++) {
			const struct kelem *x = &r->el.v[narrowed ? cand.v[c] : c];
			next.n = 0;
			for (size_t i = 0; i < cur.n; i++) {
				if (box_overlap(&cur.v[i], x))
					box_subtract(&cur.v[i], x, &next);
				else
					hg_vec_push(&next, cur.v[i]);
			}
			struct kvec t = cur;
			cur = next;
			next = t;
			ok = cur.n <= PIECES_MAX;
		}
		for (size_t i = 0; ok && i < cur.n; i++)
			hg_vec_push(out, cur.v[i]);
		ok = ok && out->n <= PIECES_MAX;
	}
	hg_vec_free(&cand);
	hg_vec_free(&cur);
	hg_vec_free(&next);
	return ok;
}

/* ------------------------------------------------------- emission */

struct runvec {
	struct run *v;
	size_t n, cap;
};

struct emitter {
	FILE *out;
	const struct hg_ruleset *rs;
	const struct hg_policy *pol;
	const struct hg_nft_opts *o;
	struct plan plan;
	HG_VEC(struct krule) kr;
	struct shape shapes[2][CL__N][2]; /* [v4, v6][class][decisive, alert] */
	struct runvec runs;   /* verdict maps and big decisive rules, chain order */
	struct runvec alerts; /* alert sets and big alert rules */
	unsigned next_k, next_alert;
	unsigned helpers;     /* H_* bits: the helper chains a verdict named */
	bool frag_marks;      /* the fragments chain sends datagrams on by mark */
};

static size_t run_new(struct runvec *rv, struct shape *sh, const struct krule *single, unsigned id)
{
	struct run r = {.sh = sh, .single = single, .id = id};
	r.idx.dim = !sh ? -1 : sh->dk == AK_LIT ? KD_DADDR : sh->sk == AK_LIT ? KD_SADDR : -1;
	r.idx.fam = sh ? sh->fam : 4;
	hg_vec_push(rv, r);
	return rv->n - 1;
}

static void run_append(struct run *r, const struct kvec *els)
{
	for (size_t i = 0; i < els->n; i++) {
		hg_vec_push(&r->el, els->v[i]);
		idx_add(&r->idx, &els->v[i], (uint32_t)(r->el.n - 1));
	}
}

static void run_free(struct run *r)
{
	hg_vec_free(&r->el);
	idx_free(&r->idx);
}

/* Adds the elements of one krule to the latest set of its kind (*cur, an
 * index into rv or SIZE_MAX): earlier elements win (precedence in
 * evaluation order for verdict maps, plain union for alert sets), so only
 * the uncovered pieces go in; when those would be too many pieces, a new
 * map or set starts after the current one, keeping the order. */
static void run_add(struct runvec *rv, size_t *cur, struct shape *sh, const struct kvec *mine, unsigned *next_id)
{
	if (*cur != SIZE_MAX) {
		struct kvec pieces = {0};
		bool ok = run_subtract(&rv->v[*cur], mine, &pieces);
		if (ok)
			run_append(&rv->v[*cur], &pieces);
		hg_vec_free(&pieces);
		if (ok)
			return;
	}
	*cur = run_new(rv, sh, NULL, (*next_id)++);
	run_append(&rv->v[*cur], mine);
}

/* Puts every kernel rule into the verdict map (or alert set) of its
 * family and class, in evaluation order. */
static void build_runs(struct emitter *e)
{
	bool strict = e->pol->rule_order == HG_ORDER_STRICT;
	bool *big = xcalloc(e->kr.n + 1, sizeof(*big));
	struct krange pr[3];
	for (int f = 0; f < 2; f++)
		for (int c = 0; c < CL__N; c++)
			for (int a = 0; a < 2; a++)
				e->shapes[f][c][a] = (struct shape){.fam = f ? 6 : 4, .cls = c, .alert = a};
	for (size_t i = 0; i < e->kr.n; i++) {
		const struct krule *k = &e->kr.v[i];
		big[i] = key_count(k) > KEY_ELEMS_MAX;
		bool alert = k->ev->act == HG_ACT_ALERT;
		for (int c = 0; !big[i] && c < CL__N; c++)
			if (krule_protos(k, c, pr))
				shape_fold(&e->shapes[k->fam == 6][c][alert], k);
	}
	e->next_k = e->next_alert = 1;
	size_t cur[2][CL__N][2];
	for (int f = 0; f < 2; f++)
		for (int c = 0; c < CL__N; c++)
			cur[f][c][0] = cur[f][c][1] = SIZE_MAX;
	for (size_t i = 0; i < e->kr.n; i++) {
		const struct krule *k = &e->kr.v[i];
		int f = k->fam == 6;
		bool alert = k->ev->act == HG_ACT_ALERT;
		if (big[i]) {
			/* Written out as a rule in its place: later elements
			 * of its family go into maps after it. */
			run_new(alert ? &e->alerts : &e->runs, NULL, k, 0);
			if (!alert)
				cur[f][CL_PORT][0] = cur[f][CL_NOPORT][0] = SIZE_MAX;
			continue;
		}
		for (int c = 0; c < CL__N; c++) {
			struct shape *sh = &e->shapes[f][c][alert];
			if (!krule_protos(k, c, pr))
				continue;
			struct kvec mine = {0};
			shape_elems(e->pol, sh, k, &mine);
			if (alert && strict) {
				/* Alert sets come first in the chain under
				 * STRICT_ORDER: leave out what an earlier
				 * decisive rule decides (copying more is only
				 * work for the daemon, which re-evaluates). */
				for (size_t r = 0; r < e->runs.n && mine.n; r++) {
					const struct run *x = &e->runs.v[r];
					if (!x->sh || x->sh->fam != sh->fam || x->sh->cls != c)
						continue;
					struct kvec left = {0};
					if (run_subtract(x, &mine, &left)) {
						hg_vec_free(&mine);
						mine = left;
					} else {
						hg_vec_free(&left);
					}
				}
			}
			if (mine.n)
				run_add(alert ? &e->alerts : &e->runs, &cur[f][c][alert], sh, &mine,
					alert ? &e->next_alert : &e->next_k);
			hg_vec_free(&mine);
		}
	}
	free(big);
}

static const char *fam_ip(int fam)
{
	return fam == 6 ? "ip6" : "ip";
}

/* The verdict helper chains (put_helpers). Only those some verdict names
 * are emitted: every rule of the table counts against the kernel's cost. */
enum { H_ALERT = 1, H_PASS_LOG = 2, H_DROP_LOG = 4, H_REJECT = 8, H_REJECT_LOG = 16 };

/* The verdict of a kernel rule; records the helper chain it names. */
static const char *verdict_of(struct emitter *e, const struct hg_rule_rank *ev)
{
	const struct hg_rule *r = ev->r;
	switch (ev->act) {
	case HG_ACT_PASS:
		if (!r->alert_on_pass)
			return "accept";
		e->helpers |= H_PASS_LOG;
		return "goto hg_pass_log";
	case HG_ACT_DROP:
		if (r->noalert)
			return "drop";
		e->helpers |= H_DROP_LOG;
		return "goto hg_drop_log";
	case HG_ACT_REJECT:
		e->helpers |= r->noalert ? H_REJECT : H_REJECT_LOG;
		return r->noalert ? "goto hg_reject" : "goto hg_reject_log";
	default: e->helpers |= H_ALERT; return "jump hg_alert";
	}
}

static void put_rule_comment(FILE *out, const char *indent, const struct hg_rule_rank *ev)
{
	const struct hg_rule *r = ev->r;
	fprintf(out, "%s# sid %u ", indent, r->sid);
	put_loc(out, &r->loc);
	fprintf(out, ": %s %s", hg_action_name(ev->act), hg_proto_name(r->proto));
	if (r->msg) {
		fputs(" \"", out);
		put_comment_text(out, r->msg, 120);
		fputc('"', out);
	}
	fputc('\n', out);
}

static void put_ipset_elems(FILE *out, const struct hg_ipset *s, int fam)
{
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			fputs(", ", out);
		put_iprange(out, &s->r[i], fam);
	}
}

static void put_portset(FILE *out, const struct hg_portset *s)
{
	if (s->n == 1) {
		put_port(out, &s->r[0]);
		return;
	}
	fputs("{ ", out);
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			fputs(", ", out);
		put_port(out, &s->r[i]);
	}
	fputs(" }", out);
}

static void put_named_set(FILE *out, const char *name, const struct hg_ipset *whole, int fam)
{
	struct hg_ipset part;
	ipset_family(whole, fam, &part);
	fprintf(out, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n", name, fam == 4 ? "ipv4_addr" : "ipv6_addr");
	if (part.n) {
		fputs("\t\telements = { ", out);
		put_ipset_elems(out, &part, fam);
		fputs(" }\n", out);
	}
	fputs("\t}\n\n", out);
	hg_ipset_free(&part);
}

static void put_verdict_set(FILE *out, enum hg_vset set, const struct hg_nft_opts *o)
{
	const char *a = hg_vset_family(set) == 4 ? "ipv4_addr" : "ipv6_addr";
	fprintf(out, "\tset %s {\n\t\ttype ", hg_vset_name(set));
	fprintf(out, HG_VSET_TYPE_FMT, a, a);
	fprintf(out, "\n\t\tsize %u\n\t\tflags timeout\n\t\ttimeout %us\n\t}\n\n", HG_VSET_SIZE,
		o->verdict_timeout ? o->verdict_timeout : HG_VSET_TIMEOUT_DEFAULT);
}

/* The key expression of a shape in one orientation (swap: reply packets
 * of a flow whose original packets match as written). */
static void put_key_expr(FILE *out, const struct shape *s, bool swap)
{
	const char *ip = fam_ip(s->fam);
	fputs("meta l4proto", out);
	if (s->sk == AK_LIT)
		fprintf(out, " . %s %s", ip, swap ? "daddr" : "saddr");
	if (s->dk == AK_LIT)
		fprintf(out, " . %s %s", ip, swap ? "saddr" : "daddr");
	if (s->sport)
		fprintf(out, " . th %s", swap ? "dport" : "sport");
	if (s->dport)
		fprintf(out, " . th %s", swap ? "sport" : "dport");
}

static void put_key_type(FILE *out, const struct shape *s)
{
	const char *a = s->fam == 6 ? "ipv6_addr" : "ipv4_addr";
	fputs("inet_proto", out);
	if (s->sk == AK_LIT)
		fprintf(out, " . %s", a);
	if (s->dk == AK_LIT)
		fprintf(out, " . %s", a);
	if (s->sport)
		fputs(" . inet_service", out);
	if (s->dport)
		fputs(" . inet_service", out);
}

static void put_elem(FILE *out, const struct shape *s, const struct kelem *el)
{
	unsigned plo = el->d[KD_PROTO].lo[15], phi = el->d[KD_PROTO].hi[15];
	if (plo == phi)
		put_proto(out, plo);
	else
		fprintf(out, "%u-%u", plo, phi);
	for (int d = KD_SADDR; d <= KD_DADDR; d++) {
		if ((d == KD_SADDR ? s->sk : s->dk) != AK_LIT)
			continue;
		struct hg_iprange r;
		memcpy(r.lo.b, el->d[d].lo, 16);
		memcpy(r.hi.b, el->d[d].hi, 16);
		fputs(" . ", out);
		put_iprange(out, &r, s->fam);
	}
	for (int d = KD_SPORT; d <= KD_DPORT; d++) {
		if (!(d == KD_SPORT ? s->sport : s->dport))
			continue;
		struct hg_portrange p = {(uint16_t)(el->d[d].lo[14] << 8 | el->d[d].lo[15]),
					 (uint16_t)(el->d[d].hi[14] << 8 | el->d[d].hi[15])};
		fputs(" . ", out);
		put_port(out, &p);
	}
}

static void put_run_set(struct emitter *e, const struct run *r)
{
	FILE *out = e->out;
	const struct shape *s = r->sh;
	fprintf(out, "\t%s %s%u {\n\t\ttype ", s->alert ? "set" : "map", s->alert ? "alert" : "k", r->id);
	put_key_type(out, s);
	fprintf(out, "%s\n\t\tflags interval\n\t\telements = {\n", s->alert ? "" : " : verdict");
	const struct hg_rule_rank *last = NULL;
	for (size_t x = 0; x < r->el.n; x++) {
		const struct kelem *el = &r->el.v[x];
		if (el->k->ev != last) {
			put_rule_comment(out, "\t\t\t", el->k->ev);
			last = el->k->ev;
		}
		fputs("\t\t\t", out);
		put_elem(out, s, el);
		if (!s->alert)
			fprintf(out, " : %s", verdict_of(e, el->k->ev));
		fputs(",\n", out);
	}
	fputs("\t\t}\n\t}\n\n", out);
}

static void put_maps(struct emitter *e)
{
	for (size_t i = 0; i < e->runs.n; i++)
		if (e->runs.v[i].sh)
			put_run_set(e, &e->runs.v[i]);
	for (size_t i = 0; i < e->alerts.n; i++)
		if (e->alerts.v[i].sh)
			put_run_set(e, &e->alerts.v[i]);
}

/* The prefilters: family and HOME_NET / EXTERNAL_NET sets. */
static void put_prefilter(FILE *out, int fam, enum akind sk, enum akind dk, bool swap)
{
	const char *ip = fam_ip(fam);
	enum akind s = swap ? dk : sk, d = swap ? sk : dk;
	if (sk != AK_LIT && dk != AK_LIT && s == AK_ANY && d == AK_ANY)
		fprintf(out, "meta nfproto %s ", fam == 4 ? "ipv4" : "ipv6");
	if (s == AK_HOME || s == AK_EXT)
		fprintf(out, "%s saddr @%s%d ", ip, s == AK_HOME ? "home_net" : "external_net", fam);
	if (d == AK_HOME || d == AK_EXT)
		fprintf(out, "%s daddr @%s%d ", ip, d == AK_HOME ? "home_net" : "external_net", fam);
}

/* A single krule as one rule with anonymous sets. */
static void put_single_match(FILE *out, const struct krule *k, bool swap)
{
	const char *ip = fam_ip(k->fam);
	if (k->noport_only)
		fputs("meta l4proto != { tcp, udp } ", out);
	else if (k->n_protos == 1)
		fprintf(out, "meta l4proto %s ", proto_nft(k->protos[0]));
	else if (k->n_protos == 2)
		fprintf(out, "meta l4proto { %s, %s } ", proto_nft(k->protos[0]), proto_nft(k->protos[1]));
	if (k->sk == AK_LIT) {
		fprintf(out, "%s %s { ", ip, swap ? "daddr" : "saddr");
		put_ipset_elems(out, &k->src, k->fam);
		fputs(" } ", out);
	}
	if (k->dk == AK_LIT) {
		fprintf(out, "%s %s { ", ip, swap ? "saddr" : "daddr");
		put_ipset_elems(out, &k->dst, k->fam);
		fputs(" } ", out);
	}
	if (k->sport) {
		fprintf(out, "th %s ", swap ? "dport" : "sport");
		put_portset(out, k->sport);
		fputc(' ', out);
	}
	if (k->dport) {
		fprintf(out, "th %s ", swap ? "sport" : "dport");
		put_portset(out, k->dport);
		fputc(' ', out);
	}
}

/* One run as a rule. gate: the ct prefix; alert runs log on ct state new. */
static void put_run_rule(struct emitter *e, const struct run *r, const char *gate, bool swap)
{
	FILE *out = e->out;
	unsigned g = e->o->alert_log_group;
	if (r->single) {
		const struct krule *k = r->single;
		bool alert = k->ev->act == HG_ACT_ALERT;
		put_rule_comment(out, "\t\t", k->ev);
		fprintf(out, "\t\t%s %s", gate, alert ? "ct state new " : "");
		put_prefilter(out, k->fam, k->sk, k->dk, swap);
		put_single_match(out, k, swap);
		if (alert)
			fprintf(out, "log group %u snaplen 128 queue-threshold 1\n", g);
		else
			fprintf(out, "%s\n", verdict_of(e, k->ev));
		return;
	}
	const struct shape *s = r->sh;
	fprintf(out, "\t\t%s %s", gate, s->alert ? "ct state new " : "");
	put_prefilter(out, s->fam, s->sk, s->dk, swap);
	put_key_expr(out, s, swap);
	if (s->alert)
		fprintf(out, " @alert%u log group %u snaplen 128 queue-threshold 1\n", r->id, g);
	else
		fprintf(out, " vmap @k%u\n", r->id);
}

/* ------------------------------------------------------- stateless */

static bool protos_empty(const uint8_t *p)
{
	for (int i = 0; i < 32; i++)
		if (p[i])
			return false;
	return true;
}

/* Where a stateless action sends a packet. In forward: accept, drop, or
 * the stateful chain. In the fragments chain (prerouting, before
 * conntrack reassembles) the datagram's later path is written into the
 * packet mark: the reassembled datagram carries its first fragment's mark
 * (the kernel builds it on the first fragment's buffer) and forward reads
 * it back, so the datagram goes where its first fragment was sent, as
 * the engine has it (hg_engine_stateless on the reassembled datagram). */
#define SL_MARK_MASK 0x30000000u
#define SL_MARK_PASS 0x10000000u
#define SL_MARK_FORWARD 0x20000000u

static void put_sl_verdict(FILE *out, enum hg_sl_action a, bool frag)
{
	if (a == HG_SL_DROP)
		fputs("drop", out);
	else if (!frag)
		fputs(a == HG_SL_PASS ? "accept" : "goto stateful", out);
	else
		fprintf(out, "meta mark set meta mark | 0x%08x accept",
			a == HG_SL_PASS ? SL_MARK_PASS : SL_MARK_FORWARD);
}

/* The custom actions of a stateless rule or default (§3.1, API
 * ActionDefinition: "publishes the specified metrics to Amazon CloudWatch
 * for the matching packet"): the packet counts in its dimension value's
 * counter (table.h), once per value however many of its actions name it. */
static void put_sl_counters(FILE *out, const char *const *dims, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(dims[i], dims[j]);
		char name[HG_CA_NAME_MAX];
		if (!seen && hg_ca_counter_name(name, dims[i]))
			fprintf(out, "counter name \"%s\" ", name);
	}
}

/* The counter objects of every dimension value the policy's stateless
 * layer publishes, in name order (emitting twice gives the same text). */
static void put_custom_counters(FILE *out, const struct hg_policy *pol)
{
	size_t n;
	const char **v = hg_policy_custom_dimensions(pol, &n);
	for (size_t i = 0; i < n; i++) {
		char name[HG_CA_NAME_MAX];
		if (hg_ca_counter_name(name, v[i]))
			fprintf(out, "\t# custom action: CloudWatch dimension CustomAction=\"%s\"\n\tcounter %s {\n\t}\n\n",
				v[i], name);
	}
	free(v);
}

static void put_flags(FILE *out, uint8_t v)
{
	fprintf(out, "0x%02x", v);
}

static void put_stateless_rule(FILE *out, const struct hg_rule_group *g, const struct hg_stateless_rule *s,
			       bool frag)
{
	fprintf(out, "\t\t# stateless group \"");
	put_comment_text(out, g->name, 120);
	fprintf(out, "\" priority %u ", s->priority);
	put_loc(out, &s->loc);
	fputc('\n', out);

	uint8_t protos[32];
	memcpy(protos, s->protocols, 32);
	bool any_proto = protos_empty(protos);
	bool sp = !s->any_sport && s->src_ports.n, dp = !s->any_dport && s->dst_ports.n;
	/* Ports apply only to TCP and UDP, TCP flags only to TCP (§3.1). */
	if (sp || dp || s->n_tcp_flags) {
		uint8_t keep[32] = {0};
		keep[6 >> 3] |= 1u << (6 & 7);
		if (!s->n_tcp_flags)
			keep[17 >> 3] |= 1u << (17 & 7);
		for (int i = 0; i < 32; i++)
			protos[i] = any_proto ? keep[i] : protos[i] & keep[i];
		any_proto = false;
		if (protos_empty(protos)) {
			fputs("\t\t# never matches: ports or TCP flags on other protocols\n", out);
			return;
		}
	}
	bool src = !s->any_source && s->sources.n, dst = !s->any_destination && s->destinations.n;
	for (int fam = 4; fam <= 6; fam += 2) {
		struct hg_ipset sf = {0}, df = {0};
		if (src)
			ipset_family(&s->sources, fam, &sf);
		if (dst)
			ipset_family(&s->destinations, fam, &df);
		bool skip = (src && !sf.n) || (dst && !df.n) || (!src && !dst && fam == 6);
		for (size_t f = 0; !skip && f < (s->n_tcp_flags ? s->n_tcp_flags : 1); f++) {
			fputs("\t\t", out);
			if (src) {
				fprintf(out, "%s saddr { ", fam_ip(fam));
				put_ipset_elems(out, &sf, fam);
				fputs(" } ", out);
			}
			if (dst) {
				fprintf(out, "%s daddr { ", fam_ip(fam));
				put_ipset_elems(out, &df, fam);
				fputs(" } ", out);
			}
			if (!any_proto) {
				unsigned n = 0, last = 0;
				for (unsigned p = 0; p < 256; p++)
					if (protos[p >> 3] & (1u << (p & 7))) {
						n++;
						last = p;
					}
				fputs("meta l4proto ", out);
				if (n == 1) {
					put_proto(out, last);
				} else {
					fputs("{ ", out);
					bool first = true;
					for (unsigned p = 0; p < 256; p++)
						if (protos[p >> 3] & (1u << (p & 7))) {
							if (!first)
								fputs(", ", out);
							put_proto(out, p);
							first = false;
						}
					fputs(" }", out);
				}
				fputc(' ', out);
			}
			if (sp) {
				fputs("th sport ", out);
				put_portset(out, &s->src_ports);
				fputc(' ', out);
			}
			if (dp) {
				fputs("th dport ", out);
				put_portset(out, &s->dst_ports);
				fputc(' ', out);
			}
			if (s->n_tcp_flags) {
				const struct hg_tcp_flags *t = &s->tcp_flags[f];
				uint8_t mask = t->masks ? t->masks : 0xff;
				fputs("tcp flags & ", out);
				put_flags(out, mask);
				fputs(" == ", out);
				put_flags(out, (uint8_t)(t->flags & mask));
				fputc(' ', out);
			}
			put_sl_counters(out, s->custom_dimensions, s->n_custom_actions);
			put_sl_verdict(out, s->action, frag);
			fputc('\n', out);
		}
		hg_ipset_free(&sf);
		hg_ipset_free(&df);
	}
}

static unsigned tcp_idle(const struct hg_policy *pol)
{
	return pol->tcp_idle_timeout ? pol->tcp_idle_timeout : HG_TCP_IDLE_DEFAULT;
}

/* The conntrack timeout policy of TCP flows (set on their first packet in
 * forward). Named by its value: a reload with another value adds an
 * object, and flows already tracked keep theirs, as ANFW documents for an
 * update ("Only new connections after you update this value are
 * impacted"). Other states keep the kernel's timeouts. */
static void put_ct_timeout(FILE *out, const struct hg_policy *pol)
{
	fprintf(out,
		"\tct timeout " HG_CT_TIMEOUT_FMT " {\n\t\tprotocol tcp\n\t\tl3proto inet\n"
		"\t\tpolicy = { established: %u }\n\t}\n\n",
		tcp_idle(pol), tcp_idle(pol));
}

static void put_inside_ifs(FILE *out, const struct hg_nft_opts *o)
{
	for (size_t i = 0; i < o->n_inside_ifs; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", o->inside_ifs[i]);
}

static void put_stateless_rules(FILE *out, const struct hg_policy *pol, bool frag)
{
	size_t n_sl;
	struct hg_sl_rank *sl = hg_policy_stateless_order(pol, &n_sl);
	for (size_t i = 0; i < n_sl; i++)
		put_stateless_rule(out, sl[i].g, sl[i].r, frag);
	free(sl);
}

/* Fragments, one at a time (§3.1), in prerouting before conntrack's
 * defrag (priority -400) reassembles them: later hooks only ever see
 * whole datagrams. Non-UDP fragments are dropped ("silently drops packet
 * fragments for other protocols"); UDP ones go through the stateless
 * rules (a fragment past offset 0 has no transport header, so port and
 * flag matches fail on it) and then StatelessFragmentDefaultActions. */
static void put_fragments(struct emitter *e)
{
	FILE *out = e->out;
	const struct hg_policy *pol = e->pol;
	const struct hg_nft_opts *o = e->o;
	size_t n_sl;
	free(hg_policy_stateless_order(pol, &n_sl));
	/* Without stateless rules a fragment's path is the fragment default
	 * alone. When that is drop, or the path a whole datagram takes anyway
	 * (the stateless default), no mark need carry it to forward: this
	 * chain only drops, and the reassembled datagram goes through forward
	 * as its first fragment would have sent it. */
	enum hg_sl_action fd = pol->stateless_fragment_default;
	bool plain = !n_sl && !pol->n_stateless_fragment_custom &&
		     (fd == HG_SL_DROP || fd == pol->stateless_default);
	e->frag_marks = !plain;
	fputs("\tchain fragments {\n\t\ttype filter hook prerouting priority -450; policy accept;\n"
	      "\t\t# whole datagrams go on to forward\n"
	      "\t\tip frag-off & 0x3fff == 0 accept\n"
	      "\t\tmeta nfproto ipv6 exthdr frag missing accept\n"
	      "\t\t# an atomic fragment (offset 0, no more: RFC 6946) is a whole datagram\n"
	      "\t\tmeta nfproto ipv6 frag frag-off 0 frag more-fragments 0 accept\n",
	      out);
	if (!plain)
		fputs("\t\t# fragments addressed to the gateway itself are not forwarded traffic\n"
		      "\t\tfib daddr type local accept\n",
		      out);
	if (o->n_inside_ifs) {
		fputs("\t\t# only traffic entering or leaving an inside interface\n\t\tiifname != { ", out);
		put_inside_ifs(out, o);
		fputs(" } fib daddr oifname != { ", out);
		put_inside_ifs(out, o);
		fputs(" } accept\n", out);
	}
	if (plain) {
		fprintf(out,
			"\t\t# §3.1: only UDP fragments are managed, others are dropped; no stateless rules:\n"
			"\t\t# StatelessFragmentDefaultActions %s (fragments addressed to the\n"
			"\t\t# gateway itself are not forwarded traffic)\n"
			"\t\tfib daddr type != local %sdrop\n\t}\n\n",
			fd == HG_SL_DROP ? "drops UDP ones too" : "is the whole datagram's path",
			fd == HG_SL_DROP ? "" : "meta l4proto != udp ");
		return;
	}
	fputs("\t\t# §3.1: only UDP fragments are managed; others are dropped\n"
	      "\t\tmeta l4proto != udp drop\n",
	      out);
	put_stateless_rules(out, pol, true);
	fputs("\t\t# StatelessFragmentDefaultActions\n\t\t", out);
	put_sl_counters(out, pol->stateless_fragment_dimensions, pol->n_stateless_fragment_custom);
	put_sl_verdict(out, fd, true);
	fputs("\n\t}\n\n", out);
}

static void put_forward(struct emitter *e)
{
	FILE *out = e->out;
	const struct hg_policy *pol = e->pol;
	const struct hg_nft_opts *o = e->o;
	fputs("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n", out);
	if (o->n_inside_ifs) {
		fputs("\t\t# only traffic entering or leaving an inside interface\n\t\tiifname != { ", out);
		put_inside_ifs(out, o);
		fputs(" } oifname != { ", out);
		put_inside_ifs(out, o);
		fputs(" } accept\n", out);
	}
	fprintf(out,
		"\t\t# FlowTimeouts.TcpIdleTimeoutSeconds: conntrack forgets an established TCP flow\n"
		"\t\t# idle this long, so its next packet is a midstream flow (API FlowTimeouts)\n"
		"\t\tct state new meta l4proto tcp ct timeout set \"" HG_CT_TIMEOUT_FMT "\"\n",
		tcp_idle(pol));
	if (e->frag_marks)
		fprintf(out,
			"\t\t# a datagram reassembled from fragments: its first fragment's stateless path\n"
			"\t\tmeta mark & 0x%08x == 0x%08x meta mark set meta mark & 0x%08x accept\n"
			"\t\tmeta mark & 0x%08x == 0x%08x meta mark set meta mark & 0x%08x goto stateful\n",
			SL_MARK_MASK, SL_MARK_PASS, ~SL_MARK_MASK, SL_MARK_MASK, SL_MARK_FORWARD, ~SL_MARK_MASK);
	put_stateless_rules(out, pol, false);
	fputs("\t\t# StatelessDefaultActions\n\t\t", out);
	put_sl_counters(out, pol->stateless_default_dimensions, pol->n_stateless_default_custom);
	put_sl_verdict(out, pol->stateless_default, false);
	fputs("\n\t}\n\n", out);
}

/* The daemon re-injects held client packets through a raw socket: they
 * leave through output, where a held SYN's conntrack entry is created (the
 * forward drop took the first one), so the idle timeout is set there too.
 * Their source is the client's, never one of the gateway's own. */
static void put_output(struct emitter *e)
{
	fprintf(e->out,
		"\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
		"\t\t# packets the daemon re-injects start their conntrack entry here: the same timeout\n"
		"\t\tct state new meta l4proto tcp fib saddr type != local ct timeout set \"" HG_CT_TIMEOUT_FMT
		"\"\n\t}\n\n",
		tcp_idle(e->pol));
}

/* A packet looked up in a verdict set, its ct mark set to mark. */
static void put_vset_rule(FILE *out, enum hg_vset set, const char *mark, const char *verdict)
{
	const char *ip = hg_vset_family(set) == 4 ? "ip" : "ip6";
	fputs("\t\t", out);
	fprintf(out, HG_VSET_KEY_EXPR_FMT, ip, ip);
	fprintf(out, " @%s ct mark set %s %s\n", hg_vset_name(set), mark, verdict);
}

static void put_stateful(struct emitter *e)
{
	FILE *out = e->out;
	const struct plan *p = &e->plan;
	const struct hg_nft_opts *o = e->o;
	fputs("\tchain stateful {\n", out);
	bool strict = e->pol->rule_order == HG_ORDER_STRICT;
	/* A TCP packet that starts a conntrack entry without a SYN belongs to
	 * a flow picked up midstream (after the idle timeout, asymmetric
	 * routing, a restart): StreamExceptionPolicy (§3.2). DROP and REJECT
	 * decide it before any rule; CONTINUE lets the rules apply (the
	 * daemon's through the hold in E, which holds every TCP packet). */
	if (e->pol->stream_exception != HG_SEP_CONTINUE)
		fprintf(out,
			"\t\t# StreamExceptionPolicy %s: TCP picked up midstream (no SYN starts its entry)\n"
			"\t\t" MIDSTREAM " %s\n",
			e->pol->stream_exception == HG_SEP_REJECT ? "REJECT" : "DROP",
			e->pol->stream_exception == HG_SEP_REJECT ? "reject with tcp reset" : "drop");
	if (e->runs.n || e->alerts.n)
		fputs("\t\t# A. kernel-decided 5-tuple rules, first packet of the flow (original direction)\n", out);
	/* Alerts decide nothing: under DEFAULT_ACTION_ORDER they come after
	 * every decisive rule, under STRICT_ORDER they may come before. */
	for (size_t i = 0; strict && i < e->alerts.n; i++)
		put_run_rule(e, &e->alerts.v[i], "ct direction original", false);
	for (size_t i = 0; i < e->runs.n; i++) {
		put_run_rule(e, &e->runs.v[i], "ct direction original", false);
		put_run_rule(e, &e->runs.v[i], "ct direction reply", true);
	}
	for (size_t i = 0; !strict && i < e->alerts.n; i++)
		put_run_rule(e, &e->alerts.v[i], "ct direction original", false);
	uint32_t gen = (uint32_t)(o->ct_mark_gen ? o->ct_mark_gen : 1) << HG_CT_MARK_GEN_SHIFT;
	char keep[32], set[48];
	snprintf(keep, sizeof(keep), "ct mark & 0x%08x", ~HG_CT_MARK_GEN_MASK);
	snprintf(set, sizeof(set), "%s | 0x%08x", keep, gen);
	fputs("\t\t# B. verdicts of the daemon; an allowed flow's conntrack entry is marked with this\n"
	      "\t\t# table's generation so that its bulk packets cost one compare here instead of two\n"
	      "\t\t# set lookups (a reload changes the generation: flows go through the sets again)\n",
	      out);
	if (p->need_inspect)
		fprintf(out,
			"\t\t# a client's SYN goes to the daemon before any verdict: a new connection is decided\n"
			"\t\t# afresh even when conntrack reuses a freed entry (and its id) for the same tuple\n"
			"\t\tct direction original tcp flags & (syn | ack) == syn meta mark set ct id log group %u "
			"snaplen %u queue-threshold 1 drop\n",
			o->nflog_group, o->snaplen);
	fprintf(out, "\t\tct mark & 0x%08x == 0x%08x accept\n", HG_CT_MARK_GEN_MASK, gen);
	fputs("\t\t# the verdict sets' key ends with the flow's conntrack id: a verdict is one connection's\n"
	      "\t\t" HG_VSET_KEY_PREP "\n", out);
	put_vset_rule(out, HG_VSET_DENY4, keep, "drop");
	put_vset_rule(out, HG_VSET_DENY6, keep, "drop");
	put_vset_rule(out, HG_VSET_ALLOW4, set, "accept");
	put_vset_rule(out, HG_VSET_ALLOW6, set, "accept");
	fprintf(out,
		"\t\t# allowed under an earlier generation and neither revoked (a deny element, which\n"
		"\t\t# also clears the mark) nor still in the sets (its element timed out while the\n"
		"\t\t# fast path carried it): still allowed, as conntrack still tracks it\n"
		"\t\tct mark & 0x%08x != 0 ct mark set %s accept\n",
		HG_CT_MARK_GEN_MASK, set);
	if (p->reply_section && e->runs.n) {
		fputs("\t\t# C. kernel-decided rules, first server-to-client packet\n", out);
		for (size_t i = 0; i < e->runs.n; i++) {
			put_run_rule(e, &e->runs.v[i], "ct direction reply", false);
			put_run_rule(e, &e->runs.v[i], "ct direction original ct status seen-reply", true);
		}
	}
	if (p->alert_strict)
		fprintf(out, "\t\t# aws:alert_strict\n\t\tct direction original ct state new log group %u snaplen 128 queue-threshold 1\n",
			o->alert_log_group);
	if (p->kernel_drop_strict)
		fputs("\t\t# D. aws:drop_strict: unmatched flows, handshake included\n\t\tdrop\n", out);
	if (p->need_inspect) {
		fputs("\t\t# E. hold client-to-server packets of undecided flows for the daemon (SYNs included:\n"
		      "\t\t# the stream's start, and Fast Open data); conntrack-INVALID ones never reach the server\n"
		      "\t\tct state invalid drop\n",
		      out);
		/* table.h HG_NFLOG_PREFIX_ACK: the server's ACKs of flows not
		 * yet allowed, copied (no drop), from the server's side only. */
		fprintf(out,
			"\t\t# a flow passed by the daemon is allowed once the server acknowledged what was\n"
			"\t\t# inspected: its ACKs are copied to the daemon, if they come from the server's side\n"
			"\t\tct direction reply tcp flags & (syn | ack) == ack fib saddr . iif oif exists "
			"log prefix \"" HG_NFLOG_PREFIX_ACK "\" group %u snaplen %u queue-threshold 1\n"
			"\t\tct direction reply accept\n",
			o->nflog_group, HG_ACK_COPY_SNAPLEN);
		/* The held packet's mark carries its conntrack id to the daemon
		 * (NFLOG's NFULA_MARK): the key of its verdict. The packet is
		 * dropped, so the mark goes nowhere else. */
		/* A bare ACK (no payload: the IP length is the headers' exactly;
		 * no SYN, FIN, RST or URG) tells the daemon nothing: it passes
		 * here instead of costing a round trip (the handshake's third
		 * packet of every flow). The common shapes only (no TCP options,
		 * or timestamps; IPv4 without options, IPv6 without extension
		 * headers): others are held. One rule a family, the shapes a set
		 * of length . TCP header byte 12 (data offset, high nibble, with
		 * the reserved bits and AE zero): nft 1.0.6 cannot list a set of
		 * concatenations with a 4-bit field such as tcp doff, and a
		 * segment with a reserved bit set is held. */
		/* Unless a rule on tcp.flags or dsize could match it (an
		 * alert on `tcp.flags:A; dsize:0` logs in replay; live must see
		 * the same packet). */
		if (!p->shape_rules) {
			fputs("\t\t# a bare ACK of an undecided flow carries nothing to inspect\n", out);
			fputs("\t\tip hdrlength 5 tcp flags & (syn | fin | rst | urg) == 0 ip length . @th,96,8 { ", out);
			for (unsigned d = 5; d <= 8; d += 3)
				fprintf(out, "%s%u . 0x%02x", d == 5 ? "" : ", ", 20 + 4 * d, d << 4);
			fputs(" } accept\n\t\tip6 nexthdr tcp tcp flags & (syn | fin | rst | urg) == 0 ip6 length . @th,96,8 { ",
			      out);
			for (unsigned d = 5; d <= 8; d += 3)
				fprintf(out, "%s%u . 0x%02x", d == 5 ? "" : ", ", 4 * d, d << 4);
			fputs(" } accept\n", out);
		}
		fprintf(out,
			"\t\tmeta l4proto { tcp, udp } meta mark set ct id log group %u snaplen %u queue-threshold 1 drop\n",
			o->nflog_group, o->snaplen);
		if (p->hold_all)
			fputs("\t\t# aws:drop_strict, decided by the daemon for TCP and UDP\n\t\tdrop\n", out);
	}
	fputs("\t}\n\n", out);
}

/* hg_reject: REJECT "Drops traffic ... and sends a TCP reset packet back
 * to sender"; "REJECT is available only for TCP traffic" (API
 * StatefulRule): a reject rule matching another protocol drops, with no
 * ICMP answer (the engine's verdict is drop for it too). */
static void put_helpers(struct emitter *e)
{
	static const char reject[] = "\t\tmeta l4proto tcp reject with tcp reset\n\t\tdrop\n";
	static const struct {
		unsigned bit;
		const char *name;
		const char *log; /* before the log statement; NULL: no log */
		const char *tail;
	} helpers[] = {
		{H_ALERT, "hg_alert", "", ""},
		{H_PASS_LOG, "hg_pass_log", "ct state new ", "\t\taccept\n"},
		{H_DROP_LOG, "hg_drop_log", "ct state new ", "\t\tdrop\n"},
		{H_REJECT, "hg_reject", NULL, reject},
		{H_REJECT_LOG, "hg_reject_log", "ct state new ", reject},
	};
	const char *sep = "";
	for (size_t i = 0; i < HG_ARRAY_LEN(helpers); i++) {
		if (!(e->helpers & helpers[i].bit))
			continue;
		fprintf(e->out, "%s\tchain %s {\n", sep, helpers[i].name);
		if (helpers[i].log)
			fprintf(e->out, "\t\t%slog group %u snaplen 128 queue-threshold 1\n", helpers[i].log,
				e->o->alert_log_group);
		fprintf(e->out, "%s\t}\n", helpers[i].tail);
		sep = "\n";
	}
}

int hg_emit_nft(FILE *out, const struct hg_ruleset *rs, const struct hg_nft_opts *opts)
{
	if (!rs || !rs->policy)
		return -EINVAL;
	struct hg_nft_opts defaults;
	hg_nft_opts_defaults(&defaults);
	const struct hg_nft_opts *o = opts ? opts : &defaults;
	const char *table = o->table && *o->table ? o->table : HG_TABLE_DEFAULT;
	for (const char *c = table; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '-'))
			return -EINVAL;

	struct emitter e = {.out = out, .rs = rs, .pol = rs->policy, .o = o};
	plan_build(&e.plan, e.pol);
	for (size_t i = 0; i < e.plan.n_ev; i++) {
		if (!e.plan.kernel[i])
			continue;
		bool np = e.plan.kernel[i] == K_NOPORT;
		krules_of(e.pol, &e.plan.ev[i], false, np, &e.kr);
		if (e.plan.ev[i].r->bidirectional)
			krules_of(e.pol, &e.plan.ev[i], true, np, &e.kr);
	}
	build_runs(&e);

	const struct hg_policy *pol = e.pol;
	fprintf(out, "# Generated by hostgate from policy \"");
	put_comment_text(out, pol->name ? pol->name : "(synthesized)", 200);
	fprintf(out, "\" (%s). `nft -f` runs this file as one transaction:\n"
		     "# the old table is replaced, or left untouched when anything fails.\n",
		pol->rule_order == HG_ORDER_STRICT ? "STRICT_ORDER" : "DEFAULT_ACTION_ORDER");
	if (o->keep_verdict_sets)
		fputs("# The verdict sets are kept with their elements (the other objects were deleted before).\n", out);
	fprintf(out, "# kernel-decided stateful rules: ");
	size_t nk = 0;
	for (size_t i = 0; i < e.plan.n_ev; i++)
		nk += e.plan.kernel[i] != K_NONE;
	fprintf(out, "%zu of %zu; daemon hold: %s\n", nk, e.plan.n_ev, e.plan.need_inspect ? "yes" : "no");
	/* Declaring an existing set with the same definition is a no-op, so
	 * with keep_verdict_sets allow/deny sets survive with their elements. */
	if (o->keep_verdict_sets)
		fprintf(out, "table inet %s {}\ntable inet %s {\n", table, table);
	else
		fprintf(out, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", table, table, table);
	put_named_set(out, "home_net4", &pol->home_net, 4);
	put_named_set(out, "home_net6", &pol->home_net, 6);
	put_named_set(out, "external_net4", &pol->external_net, 4);
	put_named_set(out, "external_net6", &pol->external_net, 6);
	put_verdict_set(out, HG_VSET_ALLOW4, o);
	put_verdict_set(out, HG_VSET_DENY4, o);
	put_verdict_set(out, HG_VSET_ALLOW6, o);
	put_verdict_set(out, HG_VSET_DENY6, o);
	fprintf(out, "\tset %s {\n\t\ttype mark\n\t\telements = { 0x%08x }\n\t}\n\n", HG_SET_GENERATION,
		(unsigned)(o->ct_mark_gen ? o->ct_mark_gen : 1));
	put_ct_timeout(out, pol);
	put_custom_counters(out, pol);
	put_maps(&e);
	put_fragments(&e);
	put_forward(&e);
	put_output(&e);
	put_stateful(&e);
	put_helpers(&e);
	fputs("}\n", out);

	for (size_t i = 0; i < e.runs.n; i++)
		run_free(&e.runs.v[i]);
	hg_vec_free(&e.runs);
	for (size_t i = 0; i < e.alerts.n; i++)
		run_free(&e.alerts.v[i]);
	hg_vec_free(&e.alerts);
	for (size_t i = 0; i < e.kr.n; i++)
		krule_free(&e.kr.v[i]);
	hg_vec_free(&e.kr);
	plan_free(&e.plan);
	return ferror(out) ? -EIO : 0;
}

size_t hg_emit_nft_rule_count(const struct hg_ruleset *rs, const struct hg_nft_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		hg_oom();
	int r = hg_emit_nft(mem, rs, o);
	fclose(mem);
	size_t n = 0;
	if (r == 0) {
		/* Statement lines inside chain blocks: not comments, not the
		 * hook line, not braces. */
		bool in_chain = false;
		for (char *line = buf, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			while (*line == '\t' || *line == ' ')
				line++;
			if (!strncmp(line, "chain ", 6))
				in_chain = true;
			else if (!strcmp(line, "}"))
				in_chain = false;
			else if (in_chain && *line && *line != '#' && strncmp(line, "type ", 5))
				n++;
		}
	}
	free(buf);
	return n;
}
