/* emit_suricata.c - prints the stateful groups as the Suricata rules ANFW
 * would run, in evaluation order. Domain lists are expanded to one rule per
 * target with the exact text ANFW documents (reference/anfw.md §1.3), so the
 * output can be diffed against what AWS shows and fed to a real Suricata. */
#include "hostgate/emit.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Options are written "opt; opt; opt;": the separator goes before all but
 * the first. */
struct opts {
	FILE *out;
	bool any;
};

static void opt_begin(struct opts *o)
{
	if (o->any)
		putc_unlocked(' ', o->out);
	o->any = true;
}

static void opt(struct opts *o, const char *s)
{
	opt_begin(o);
	fputs(s, o->out);
	putc_unlocked(';', o->out);
}

void hg_emit_expr(FILE *out, const struct hg_expr *e)
{
	if (!e) {
		fputs("any", out);
		return;
	}
	if (e->negated)
		putc_unlocked('!', out);
	switch (e->kind) {
	case HG_EXPR_ANY:
		fputs("any", out);
		break;
	case HG_EXPR_LITERAL:
		fputs(e->text ? e->text : "", out);
		break;
	case HG_EXPR_VAR:
		fprintf(out, "$%s", e->text);
		break;
	case HG_EXPR_REF:
		fprintf(out, "@%s", e->text);
		break;
	case HG_EXPR_LIST:
		putc_unlocked('[', out);
		for (size_t i = 0; i < e->n_items; i++) {
			if (i)
				putc_unlocked(',', out);
			hg_emit_expr(out, e->items[i]);
		}
		putc_unlocked(']', out);
		break;
	}
}

/* Content bytes: printable ASCII as is, the rest and the characters
 * Suricata reserves (" ; \ |) as |hex| runs, lower case, space separated. */
static void put_content_bytes(FILE *out, const uint8_t *b, size_t n)
{
	bool hex = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != '|';
		if (plain) {
			if (hex)
				putc_unlocked('|', out);
			hex = false;
			putc_unlocked(c, out);
		} else {
			putc_unlocked(hex ? ' ' : '|', out);
			hex = true;
			fprintf(out, "%02x", c);
		}
	}
	if (hex)
		putc_unlocked('|', out);
}

/* msg text: " ; \ escaped; control characters (a rule is one line) become
 * spaces. */
static void put_msg(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == ';' || c == '\\')
			putc_unlocked('\\', out);
		putc_unlocked(c < 0x20 || c == 0x7f ? ' ' : c, out);
	}
}

static void put_flow(struct opts *o, uint32_t flow)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} words[] = {
		{HG_FLOW_TO_SERVER, "to_server"},     {HG_FLOW_TO_CLIENT, "to_client"},
		{HG_FLOW_ESTABLISHED, "established"}, {HG_FLOW_NOT_ESTABLISHED, "not_established"},
		{HG_FLOW_STATELESS, "stateless"},     {HG_FLOW_ONLY_STREAM, "only_stream"},
		{HG_FLOW_NO_STREAM, "no_stream"},
	};
	if (!flow)
		return;
	opt_begin(o);
	fputs("flow:", o->out);
	bool first = true;
	for (size_t i = 0; i < HG_ARRAY_LEN(words); i++)
		if (flow & words[i].bit) {
			/* ANFW writes "to_server, established". */
			fprintf(o->out, "%s%s", first ? "" : ", ", words[i].name);
			first = false;
		}
	putc_unlocked(';', o->out);
}

/* flowbits, ip_proto and app-layer-protocol, as the loader read them. */
static void put_extras(struct opts *o, const struct hg_rule *r)
{
	static const char *const fb_ops[] = {"set", "unset", "toggle", "isset", "isnotset"};
	for (size_t i = 0; i < r->n_flowbits; i++) {
		opt_begin(o);
		fprintf(o->out, "flowbits:%s,%s;", fb_ops[r->flowbits[i].op], r->flowbits[i].name);
	}
	if (r->has_ip_proto) {
		/* The IR keeps the allowed set: one protocol prints as itself,
		 * anything else as the intersection of the excluded ones. */
		unsigned allowed = 0, only = 0;
		for (unsigned n = 0; n < 256; n++)
			if (r->ip_proto[n >> 3] & (1u << (n & 7)))
				allowed++, only = n;
		for (unsigned n = 0; n < 256; n++) {
			bool in = r->ip_proto[n >> 3] & (1u << (n & 7));
			if (allowed == 1 ? n != only : in)
				continue;
			opt_begin(o);
			fprintf(o->out, allowed == 1 ? "ip_proto:%u;" : "ip_proto:!%u;", n);
			if (allowed == 1)
				break;
		}
	}
	if (r->has_tcp_flags) {
		static const char letters[] = "FSRPAUEC";
		opt_begin(o);
		fputs("tcp.flags:", o->out);
		if (r->tcp_flags.mode != '=')
			putc_unlocked(r->tcp_flags.mode, o->out);
		if (!r->tcp_flags.flags)
			putc_unlocked('0', o->out);
		for (int b = 0; b < 8; b++)
			if (r->tcp_flags.flags & (1u << b))
				putc_unlocked(letters[b], o->out);
		if (r->tcp_flags.ignore) {
			putc_unlocked(',', o->out);
			for (int b = 0; b < 8; b++)
				if (r->tcp_flags.ignore & (1u << b))
					putc_unlocked(letters[b], o->out);
		}
		putc_unlocked(';', o->out);
	}
	if (r->has_dsize) {
		opt_begin(o);
		if (r->dsize.mode == 'r')
			fprintf(o->out, "dsize:%u<>%u;", (unsigned)r->dsize.a, (unsigned)r->dsize.b);
		else if (r->dsize.mode == '=')
			fprintf(o->out, "dsize:%u;", (unsigned)r->dsize.a);
		else
			fprintf(o->out, "dsize:%c%u;", r->dsize.mode, (unsigned)r->dsize.a);
	}
	if (r->ssl_version | r->ssl_version_not) {
		static const char *const vers[] = {"sslv2", "sslv3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"};
		opt_begin(o);
		fputs("ssl_version:", o->out);
		bool first = true;
		for (int neg = 0; neg < 2; neg++)
			for (unsigned b = 0; b < HG_ARRAY_LEN(vers); b++)
				if ((neg ? r->ssl_version_not : r->ssl_version) & (1u << b)) {
					fprintf(o->out, "%s%s%s", first ? "" : ",", neg ? "!" : "", vers[b]);
					first = false;
				}
		putc_unlocked(';', o->out);
	}
	if (r->geoip) {
		static const char *const on[] = {"src", "dst", "both", "any"};
		opt_begin(o);
		fprintf(o->out, "geoip:%s,", on[r->geoip->on]);
		for (size_t i = 0; i < r->geoip->n_codes; i++)
			fprintf(o->out, "%s%s%s", i ? "," : "", i == 0 && r->geoip->negated ? "!" : "",
				r->geoip->codes[i]);
		putc_unlocked(';', o->out);
	}
	if (r->has_app_layer) {
		opt_begin(o);
		fprintf(o->out, "app-layer-protocol:%s%s;", r->app_layer_not ? "!" : "",
			r->app_layer == HG_APP_LAYER_FAILED ? "failed" : hg_proto_name((enum hg_proto)r->app_layer));
	}
}

static void put_ssl_state(struct opts *o, uint32_t on, uint32_t off)
{
	static const char *const names[] = {"client_hello", "server_hello", "client_keyx", "server_keyx",
					    "unknown"};
	if (!on && !off)
		return;
	opt_begin(o);
	fputs("ssl_state:", o->out);
	bool first = true;
	for (int neg = 0; neg < 2; neg++)
		for (size_t i = 0; i < HG_ARRAY_LEN(names); i++)
			if ((neg ? off : on) & (1u << i)) {
				fprintf(o->out, "%s%s%s", first ? "" : ",", neg ? "!" : "", names[i]);
				first = false;
			}
	putc_unlocked(';', o->out);
}

static void put_matches(struct opts *o, const struct hg_match *m, size_t n)
{
	enum hg_buffer cur = HG_BUF_PAYLOAD;
	bool cur_dot = false;
	for (size_t i = 0; i < n; i++, m++) {
		/* A sticky buffer is named once for the run of matches in it;
		 * going back to the payload takes pkt_data. */
		bool name_it = m->kind == HG_MATCH_BUFFER_PRESENT || m->buffer != cur || m->dotprefix != cur_dot;
		if (name_it) {
			if (m->buffer == HG_BUF_PAYLOAD) {
				if (cur != HG_BUF_PAYLOAD)
					opt(o, "pkt_data");
			} else {
				opt(o, hg_buffer_name(m->buffer));
				if (m->dotprefix)
					opt(o, "dotprefix");
			}
			cur = m->buffer;
			cur_dot = m->dotprefix;
		}
		if (m->kind == HG_MATCH_PCRE) {
			/* The pattern as written (the rule's escapes are PCRE's). */
			opt_begin(o);
			fprintf(o->out, "pcre:%s\"/%s/%s\";", m->negated ? "!" : "", m->pcre, m->pcre_flags);
			continue;
		}
		if (m->kind != HG_MATCH_CONTENT)
			continue;
		opt_begin(o);
		fprintf(o->out, "content:%s\"", m->negated ? "!" : "");
		put_content_bytes(o->out, m->bytes, m->len);
		fputs("\";", o->out);
		if (m->startswith)
			opt(o, "startswith");
		if (m->nocase)
			opt(o, "nocase");
		if (m->endswith)
			opt(o, "endswith");
		if (m->offset >= 0) {
			opt_begin(o);
			fprintf(o->out, "offset:%d;", m->offset);
		}
		if (m->depth >= 0) {
			opt_begin(o);
			fprintf(o->out, "depth:%d;", m->depth);
		}
		if (m->distance != INT32_MIN) {
			opt_begin(o);
			fprintf(o->out, "distance:%d;", m->distance);
		}
		if (m->within != INT32_MIN) {
			opt_begin(o);
			fprintf(o->out, "within:%d;", m->within);
		}
	}
}

/* A rule that can never match here (geoip without a database) keeps its
 * source text, so the output does not silently turn it into a rule that
 * matches everything. */
static void put_text_line(FILE *out, const char *s)
{
	for (; *s; s++)
		putc_unlocked(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s, out);
}

static void put_rule(FILE *out, const struct hg_rule *r)
{
	if (r->never_matches && r->text) {
		put_text_line(out, r->text);
		return;
	}
	fprintf(out, "%s %s ", hg_action_name(r->action), hg_proto_name(r->proto));
	hg_emit_expr(out, r->src);
	putc_unlocked(' ', out);
	hg_emit_expr(out, r->sport);
	fputs(r->bidirectional ? " <> " : " -> ", out);
	hg_emit_expr(out, r->dst);
	putc_unlocked(' ', out);
	hg_emit_expr(out, r->dport);
	fputs(" (", out);

	/* The options in ANFW's order (§1.3): ssl_state, buffers and
	 * contents, msg, priority, flow, sid, rev. A rule with no buffer
	 * lists ssl_state after msg and priority, as ANFW's TLS allowlist
	 * catch-all does; so the documented text, read back, prints itself. */
	bool late_ssl = r->n_matches == 0;
	struct opts o = {out, false};
	if (!late_ssl)
		put_ssl_state(&o, r->ssl_state, r->ssl_state_not);
	put_matches(&o, r->matches, r->n_matches);
	if (r->msg) {
		opt_begin(&o);
		fputs("msg:\"", out);
		put_msg(out, r->msg);
		fputs("\";", out);
	}
	if (r->priority) {
		/* Generated rules of STRICT_ORDER groups carry none (§1.6). */
		opt_begin(&o);
		fprintf(out, "priority:%u;", r->priority);
	}
	if (late_ssl)
		put_ssl_state(&o, r->ssl_state, r->ssl_state_not);
	put_flow(&o, r->flow);
	put_extras(&o, r);
	if (r->alert_on_pass)
		opt(&o, "alert");
	if (r->noalert)
		opt(&o, "noalert");
	opt_begin(&o);
	fprintf(out, "sid:%u;", r->sid);
	if (r->rev) {
		opt_begin(&o);
		fprintf(out, "rev:%u;", r->rev);
	}
	putc_unlocked(')', out);
}

static const struct hg_match *domainset_of(const struct hg_rule *r)
{
	for (size_t i = 0; i < r->n_matches; i++)
		if (r->matches[i].kind == HG_MATCH_DOMAINSET && r->matches[i].list)
			return &r->matches[i];
	return NULL;
}

/* Target i of a DOMAINSET rule as the rule ANFW generates for it:
 *   exact name  -> content:"name"; startswith; [nocase;] endswith;
 *   .name       -> dotprefix; content:".name"; [nocase;] endswith;
 * nocase only on tls.sni (http.host is normalised to lower case, §1.2),
 * sid sid_base + i. REJECTLIST/ALERTLIST rules follow the DENYLIST shape
 * with their own action and msg: AWS publishes no text for them (§1.4),
 * the msg words come from the rule finalize generated. */
static void put_domain_rule(FILE *out, const struct hg_rule *r, size_t ti)
{
	const struct hg_match *ds = domainset_of(r);
	if (ti >= ds->list->n_targets)
		return;
	const char *name = ds->list->targets[ti].name;
	struct hg_rule t = *r;
	struct hg_match *m = xreallocarray(NULL, r->n_matches, sizeof(*m));
	memcpy(m, r->matches, r->n_matches * sizeof(*m));
	for (size_t i = 0; i < r->n_matches; i++) {
		if (m[i].kind != HG_MATCH_DOMAINSET || !m[i].list)
			continue;
		bool dot = name[0] == '.';
		m[i].kind = HG_MATCH_CONTENT;
		m[i].bytes = (const uint8_t *)name;
		m[i].len = strlen(name);
		m[i].negated = false;
		m[i].dotprefix = dot;
		m[i].startswith = !dot;
		m[i].endswith = true;
		m[i].nocase = m[i].buffer == HG_BUF_TLS_SNI;
		m[i].offset = m[i].depth = -1;
		m[i].distance = m[i].within = INT32_MIN;
		t.sid = m[i].sid_base + (uint32_t)ti;
	}
	t.matches = m;
	put_rule(out, &t);
	free(m);
}

void hg_emit_suricata_rule(FILE *out, const struct hg_rule *r, size_t target_index)
{
	if (domainset_of(r))
		put_domain_rule(out, r, target_index);
	else
		put_rule(out, r);
}

static void emit_group(FILE *out, const struct hg_rule_group *g, bool first)
{
	if (!first)
		putc_unlocked('\n', out);
	fprintf(out, "# group %s\n", g->name ? g->name : "?");
	for (size_t i = 0; i < g->n_rules; i++) {
		const struct hg_rule *r = g->rules[i];
		const struct hg_match *ds = domainset_of(r);
		if (ds) {
			for (size_t t = 0; t < ds->list->n_targets; t++) {
				put_domain_rule(out, r, t);
				putc_unlocked('\n', out);
			}
		} else {
			put_rule(out, r);
			putc_unlocked('\n', out);
		}
	}
}

int hg_emit_suricata(FILE *out, const struct hg_ruleset *rs)
{
	bool first = true;
	if (rs->policy) {
		for (size_t i = 0; i < rs->policy->n_stateful_refs; i++) {
			const struct hg_rule_group *g = rs->policy->stateful_refs[i].group;
			if (!g)
				continue;
			emit_group(out, g, first);
			first = false;
		}
	} else {
		/* Not finalized: the groups as read. */
		for (size_t i = 0; i < rs->n_groups; i++) {
			if (rs->groups[i]->type != HG_GROUP_STATEFUL)
				continue;
			emit_group(out, rs->groups[i], first);
			first = false;
		}
	}
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
