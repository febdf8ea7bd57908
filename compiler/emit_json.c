/* emit_json.c - the IR as JSON for tooling: the policy, every group with its
 * variables, rules (as written, plus what finalize resolved), domain lists
 * and stateless rules, each with its source location. Keys come in a fixed
 * order and sets are already sorted, so the output is deterministic. */
#include "hostgate/emit.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

void hg_json_str(FILE *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	putc_unlocked('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		default:
			/* Control bytes escaped; other bytes pass (the inputs
			 * were checked to be UTF-8). */
			if (c < 0x20 || c == 0x7f) {
				fputs("\\u00", out);
				putc_unlocked(hex[c >> 4], out);
				putc_unlocked(hex[c & 15], out);
			} else {
				putc_unlocked(c, out);
			}
		}
	}
	putc_unlocked('"', out);
}

/* A small writer that places commas and indentation. */
struct jw {
	FILE *out;
	int depth;
	bool first; /* nothing written yet at this level */
};

static void jw_indent(struct jw *w)
{
	putc_unlocked('\n', w->out);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->out);
}

static void jw_sep(struct jw *w)
{
	if (!w->first)
		putc_unlocked(',', w->out);
	w->first = false;
	if (w->depth)
		jw_indent(w);
}

static void jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	hg_json_str(w->out, k, strlen(k));
	fputs(": ", w->out);
}

static void jw_open(struct jw *w, char c)
{
	putc_unlocked(c, w->out);
	w->depth++;
	w->first = true;
}

static void jw_close(struct jw *w, char c)
{
	w->depth--;
	if (!w->first)
		jw_indent(w);
	putc_unlocked(c, w->out);
	w->first = false;
}

static void jw_str(struct jw *w, const char *s)
{
	if (s)
		hg_json_str(w->out, s, strlen(s));
	else
		fputs("null", w->out);
}

static void kv_str(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

static void kv_u(struct jw *w, const char *k, unsigned long long v)
{
	jw_key(w, k);
	fprintf(w->out, "%llu", v);
}

static void kv_bool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	fputs(v ? "true" : "false", w->out);
}

/* Locations as "file:line:col", the form diagnostics use. */
static void kv_loc(struct jw *w, const char *k, struct hg_loc l)
{
	jw_key(w, k);
	if (!l.file && !l.line) {
		fputs("null", w->out);
		return;
	}
	char buf[64];
	snprintf(buf, sizeof(buf), ":%u:%u", l.line, l.col);
	size_t fl = l.file ? strlen(l.file) : 0;
	char *s = xmalloc(fl + sizeof(buf));
	memcpy(s, l.file ? l.file : "", fl);
	strcpy(s + fl, buf);
	hg_json_str(w->out, s, strlen(s));
	free(s);
}

/* Expressions as written, in Suricata syntax. */
static void kv_expr(struct jw *w, const char *k, const struct hg_expr *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		hg_oom();
	hg_emit_expr(m, e);
	fclose(m);
	jw_key(w, k);
	hg_json_str(w->out, buf, len);
	free(buf);
}

static void ip_range_str(struct jw *w, const struct hg_iprange *r)
{
	char a[64], b[64], s[140];
	hg_ip_format(&r->lo, a, sizeof(a));
	if (!memcmp(&r->lo, &r->hi, sizeof(r->lo))) {
		jw_str(w, a);
		return;
	}
	hg_ip_format(&r->hi, b, sizeof(b));
	snprintf(s, sizeof(s), "%s-%s", a, b);
	jw_str(w, s);
}

static void kv_ipset(struct jw *w, const char *k, const struct hg_ipset *s)
{
	jw_key(w, k);
	jw_open(w, '[');
	for (size_t i = 0; i < s->n; i++) {
		jw_sep(w);
		ip_range_str(w, &s->r[i]);
	}
	jw_close(w, ']');
}

static void kv_portset(struct jw *w, const char *k, const struct hg_portset *s)
{
	jw_key(w, k);
	jw_open(w, '[');
	for (size_t i = 0; i < s->n; i++) {
		jw_sep(w);
		if (s->r[i].lo == s->r[i].hi)
			fprintf(w->out, "\"%u\"", s->r[i].lo);
		else
			fprintf(w->out, "\"%u:%u\"", s->r[i].lo, s->r[i].hi);
	}
	jw_close(w, ']');
}

static void kv_bits(struct jw *w, const char *k, uint32_t bits, const char *const *names, size_t n)
{
	jw_key(w, k);
	jw_open(w, '[');
	for (size_t i = 0; i < n; i++)
		if (bits & (1u << i)) {
			jw_sep(w);
			jw_str(w, names[i]);
		}
	jw_close(w, ']');
}

static const char *const flow_names[] = {"to_server", "to_client", "established", "not_established",
					 "stateless", "only_stream", "no_stream"};
static const char *const ssl_names[] = {"client_hello", "server_hello", "client_keyx", "server_keyx", "unknown"};
static const char *const target_names[] = {"TLS_SNI", "HTTP_HOST"};

static const char *order_name(enum hg_rule_order o)
{
	return o == HG_ORDER_STRICT ? "STRICT_ORDER" : "DEFAULT_ACTION_ORDER";
}

static const char *sl_action_name(enum hg_sl_action a)
{
	return a == HG_SL_PASS ? "aws:pass" : a == HG_SL_DROP ? "aws:drop" : "aws:forward_to_sfe";
}

static void put_vars(struct jw *w, struct hg_var *const *vars, size_t n)
{
	jw_key(w, "variables");
	jw_open(w, '[');
	for (size_t i = 0; i < n; i++) {
		const struct hg_var *v = vars[i];
		jw_sep(w);
		jw_open(w, '{');
		kv_str(w, "name", v->name);
		kv_str(w, "kind", v->kind == HG_VAR_IP ? "ip" : "port");
		jw_key(w, "definition");
		jw_open(w, '[');
		for (size_t k = 0; k < v->n_defs; k++) {
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);
			if (!m)
				hg_oom();
			hg_emit_expr(m, v->defs[k]);
			fclose(m);
			jw_sep(w);
			hg_json_str(w->out, buf, len);
			free(buf);
		}
		jw_close(w, ']');
		if (v->resolved) {
			if (v->kind == HG_VAR_IP)
				kv_ipset(w, "resolved", &v->ips);
			else
				kv_portset(w, "resolved", &v->ports);
		}
		kv_loc(w, "loc", v->loc);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void put_match(struct jw *w, const struct hg_match *m)
{
	static const char *const kinds[] = {"content", "domainset", "buffer", "pcre"};
	jw_open(w, '{');
	kv_str(w, "kind", kinds[m->kind]);
	kv_str(w, "buffer", hg_buffer_name(m->buffer));
	if (m->dotprefix)
		kv_bool(w, "dotprefix", true);
	if (m->kind == HG_MATCH_CONTENT) {
		jw_key(w, "content");
		hg_json_str(w->out, (const char *)m->bytes, m->len);
		kv_bool(w, "negated", m->negated);
		kv_bool(w, "nocase", m->nocase);
		kv_bool(w, "startswith", m->startswith);
		kv_bool(w, "endswith", m->endswith);
		if (m->offset >= 0)
			kv_u(w, "offset", (unsigned)m->offset);
		if (m->depth >= 0)
			kv_u(w, "depth", (unsigned)m->depth);
		if (m->distance != INT32_MIN) {
			jw_key(w, "distance");
			fprintf(w->out, "%d", m->distance);
		}
		if (m->within != INT32_MIN) {
			jw_key(w, "within");
			fprintf(w->out, "%d", m->within);
		}
	} else if (m->kind == HG_MATCH_PCRE) {
		kv_str(w, "pcre", m->pcre);
		kv_str(w, "flags", m->pcre_flags);
		kv_bool(w, "negated", m->negated);
	} else if (m->kind == HG_MATCH_DOMAINSET && m->list) {
		kv_u(w, "sid_base", m->sid_base);
		kv_u(w, "targets", m->list->n_targets);
	}
	kv_loc(w, "loc", m->loc);
	jw_close(w, '}');
}

static void put_rule(struct jw *w, const struct hg_rule *r)
{
	static const char *const classes[] = {"ip_only", "packet", "app"};
	jw_open(w, '{');
	kv_u(w, "sid", r->sid);
	kv_u(w, "rev", r->rev);
	kv_str(w, "action", hg_action_name(r->action));
	kv_str(w, "proto", hg_proto_name(r->proto));
	kv_expr(w, "src", r->src);
	kv_expr(w, "sport", r->sport);
	kv_str(w, "direction", r->bidirectional ? "<>" : "->");
	kv_expr(w, "dst", r->dst);
	kv_expr(w, "dport", r->dport);
	kv_str(w, "msg", r->msg);
	if (r->priority)
		kv_u(w, "priority", r->priority);
	kv_bits(w, "flow", r->flow, flow_names, HG_ARRAY_LEN(flow_names));
	kv_bits(w, "ssl_state", r->ssl_state, ssl_names, HG_ARRAY_LEN(ssl_names));
	kv_bits(w, "ssl_state_not", r->ssl_state_not, ssl_names, HG_ARRAY_LEN(ssl_names));
	jw_key(w, "matches");
	jw_open(w, '[');
	for (size_t i = 0; i < r->n_matches; i++) {
		jw_sep(w);
		put_match(w, &r->matches[i]);
	}
	jw_close(w, ']');
	kv_bool(w, "noalert", r->noalert);
	kv_bool(w, "alert_on_pass", r->alert_on_pass);
	kv_bool(w, "never_matches", r->never_matches);
	if (r->has_tcp_flags) {
		jw_key(w, "tcp_flags");
		fprintf(w->out, "{\"mode\":\"%c\",\"flags\":%u,\"ignore\":%u}", r->tcp_flags.mode,
			(unsigned)r->tcp_flags.flags, (unsigned)r->tcp_flags.ignore);
	}
	if (r->has_dsize) {
		jw_key(w, "dsize");
		fprintf(w->out, "{\"mode\":\"%c\",\"a\":%u,\"b\":%u}", r->dsize.mode, (unsigned)r->dsize.a,
			(unsigned)r->dsize.b);
	}
	if (r->ssl_version | r->ssl_version_not) {
		kv_u(w, "ssl_version", r->ssl_version);
		kv_u(w, "ssl_version_not", r->ssl_version_not);
	}
	if (r->geoip) {
		static const char *const on[] = {"src", "dst", "both", "any"};
		jw_key(w, "geoip");
		jw_open(w, '{');
		kv_str(w, "on", on[r->geoip->on]);
		kv_bool(w, "negated", r->geoip->negated);
		jw_key(w, "countries");
		jw_open(w, '[');
		for (size_t i = 0; i < r->geoip->n_codes; i++) {
			jw_sep(w);
			hg_json_str(w->out, r->geoip->codes[i], 2);
		}
		jw_close(w, ']');
		if (r->group)
			kv_ipset(w, "networks", &r->geoip->set);
		jw_close(w, '}');
	}
	if (r->group) {
		/* Resolved by finalize. */
		kv_str(w, "class", classes[r->cls]);
		kv_ipset(w, "src_set", &r->src_set);
		kv_portset(w, "sport_set", &r->sport_set);
		kv_ipset(w, "dst_set", &r->dst_set);
		kv_portset(w, "dport_set", &r->dport_set);
	}
	kv_str(w, "text", r->text);
	kv_loc(w, "loc", r->loc);
	jw_close(w, '}');
}

/* Custom action names, or the CloudWatch dimension value each publishes. */
static void put_custom(struct jw *w, const char *k, const char *const *v, size_t n)
{
	jw_key(w, k);
	jw_open(w, '[');
	for (size_t i = 0; i < n; i++) {
		jw_sep(w);
		jw_str(w, v[i]);
	}
	jw_close(w, ']');
}

static void put_srule(struct jw *w, const struct hg_stateless_rule *s)
{
	static const char *const flag_names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
	jw_open(w, '{');
	kv_u(w, "priority", s->priority);
	kv_str(w, "action", sl_action_name(s->action));
	put_custom(w, "custom_actions", s->custom_actions, s->n_custom_actions);
	put_custom(w, "custom_dimensions", s->custom_dimensions, s->n_custom_actions);
	if (s->any_source)
		kv_str(w, "sources", "any");
	else
		kv_ipset(w, "sources", &s->sources);
	if (s->any_destination)
		kv_str(w, "destinations", "any");
	else
		kv_ipset(w, "destinations", &s->destinations);
	if (s->any_sport)
		kv_str(w, "source_ports", "any");
	else
		kv_portset(w, "source_ports", &s->src_ports);
	if (s->any_dport)
		kv_str(w, "destination_ports", "any");
	else
		kv_portset(w, "destination_ports", &s->dst_ports);
	jw_key(w, "protocols");
	jw_open(w, '[');
	for (unsigned p = 0; p < 256; p++)
		if (s->protocols[p / 8] & (1u << (p % 8))) {
			jw_sep(w);
			fprintf(w->out, "%u", p);
		}
	jw_close(w, ']');
	jw_key(w, "tcp_flags");
	jw_open(w, '[');
	for (size_t i = 0; i < s->n_tcp_flags; i++) {
		jw_sep(w);
		jw_open(w, '{');
		kv_bits(w, "flags", s->tcp_flags[i].flags, flag_names, 8);
		kv_bits(w, "masks", s->tcp_flags[i].masks, flag_names, 8);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	kv_loc(w, "loc", s->loc);
	jw_close(w, '}');
}

static void put_group(struct jw *w, const struct hg_rule_group *g)
{
	static const char *const sources[] = {"none", "domain_list", "stateful_rules", "rules_string", "stateless"};
	jw_open(w, '{');
	kv_str(w, "name", g->name);
	kv_str(w, "arn", g->arn);
	kv_str(w, "logical_id", g->logical_id);
	kv_str(w, "type", g->type == HG_GROUP_STATEFUL ? "STATEFUL" : "STATELESS");
	kv_str(w, "source", sources[g->source]);
	kv_u(w, "capacity", g->capacity);
	kv_u(w, "consumed_capacity", g->consumed_capacity);
	kv_str(w, "rule_order", g->has_rule_order ? order_name(g->rule_order) : NULL);
	put_vars(w, g->vars, g->n_vars);
	if (g->list) {
		const struct hg_domain_list *l = g->list;
		jw_key(w, "domain_list");
		jw_open(w, '{');
		kv_str(w, "type", hg_list_type_name(l->type));
		kv_bits(w, "target_types", l->target_types, target_names, 2);
		jw_key(w, "targets");
		jw_open(w, '[');
		for (size_t i = 0; i < l->n_targets; i++) {
			jw_sep(w);
			jw_open(w, '{');
			kv_str(w, "name", l->targets[i].name);
			kv_loc(w, "loc", l->targets[i].loc);
			jw_close(w, '}');
		}
		jw_close(w, ']');
		kv_loc(w, "loc", l->loc);
		jw_close(w, '}');
	}
	if (g->type == HG_GROUP_STATEFUL) {
		jw_key(w, "rules");
		jw_open(w, '[');
		for (size_t i = 0; i < g->n_rules; i++) {
			jw_sep(w);
			put_rule(w, g->rules[i]);
		}
		jw_close(w, ']');
	} else {
		jw_key(w, "stateless_rules");
		jw_open(w, '[');
		for (size_t i = 0; i < g->n_srules; i++) {
			jw_sep(w);
			put_srule(w, g->srules[i]);
		}
		jw_close(w, ']');
	}
	kv_loc(w, "loc", g->loc);
	jw_close(w, '}');
}

static void put_refs(struct jw *w, const char *k, const struct hg_group_ref *refs, size_t n)
{
	jw_key(w, k);
	jw_open(w, '[');
	for (size_t i = 0; i < n; i++) {
		jw_sep(w);
		jw_open(w, '{');
		kv_str(w, "group", refs[i].group ? refs[i].group->name : NULL);
		kv_str(w, "arn", refs[i].arn);
		kv_u(w, "priority", refs[i].priority);
		if (refs[i].drop_to_alert)
			kv_bool(w, "drop_to_alert", true);
		if (refs[i].group && refs[i].group->attached)
			kv_bool(w, "attached", true);
		kv_loc(w, "loc", refs[i].loc);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void put_policy(struct jw *w, const struct hg_policy *p)
{
	static const char *const sep_names[] = {"DROP", "CONTINUE", "REJECT"};
	jw_open(w, '{');
	kv_str(w, "name", p->name);
	kv_str(w, "arn", p->arn);
	kv_bool(w, "synthesized", p->synthesized);
	kv_str(w, "stateless_default", sl_action_name(p->stateless_default));
	put_custom(w, "stateless_default_custom", p->stateless_default_custom, p->n_stateless_default_custom);
	put_custom(w, "stateless_default_dimensions", p->stateless_default_dimensions, p->n_stateless_default_custom);
	kv_str(w, "stateless_fragment_default", sl_action_name(p->stateless_fragment_default));
	put_custom(w, "stateless_fragment_custom", p->stateless_fragment_custom, p->n_stateless_fragment_custom);
	put_custom(w, "stateless_fragment_dimensions", p->stateless_fragment_dimensions,
		   p->n_stateless_fragment_custom);
	kv_str(w, "rule_order", order_name(p->rule_order));
	kv_str(w, "stream_exception_policy", sep_names[p->stream_exception]);
	kv_u(w, "tcp_idle_timeout", p->tcp_idle_timeout);
	jw_key(w, "stateful_default_actions");
	jw_open(w, '[');
	for (unsigned b = 0; b < 8; b++)
		if (p->default_actions & (1u << b)) {
			jw_sep(w);
			jw_str(w, hg_sda_name(1u << b));
		}
	jw_close(w, ']');
	put_refs(w, "stateless_groups", p->stateless_refs, p->n_stateless_refs);
	put_refs(w, "stateful_groups", p->stateful_refs, p->n_stateful_refs);
	put_vars(w, p->vars, p->n_vars);
	kv_ipset(w, "home_net", &p->home_net);
	kv_loc(w, "loc", p->loc);
	jw_close(w, '}');
}

int hg_emit_json(FILE *out, const struct hg_ruleset *rs)
{
	struct jw w = {out, 0, true};
	jw_open(&w, '{');
	kv_str(&w, "firewall_name", rs->firewall_name);
	jw_key(&w, "policy");
	if (rs->policy)
		put_policy(&w, rs->policy);
	else
		fputs("null", out);
	jw_key(&w, "groups");
	jw_open(&w, '[');
	for (size_t i = 0; i < rs->n_groups; i++) {
		jw_sep(&w);
		put_group(&w, rs->groups[i]);
	}
	jw_close(&w, ']');
	jw_close(&w, '}');
	putc_unlocked('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
