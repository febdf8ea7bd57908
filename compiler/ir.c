/* ir.c - construction helpers and the name tables of the IR. */
#include "hostgate/ir.h"

#include <stdlib.h>
#include <string.h>

void hg_load_opts_defaults(struct hg_load_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_file_bytes = 64u << 20;
	o->max_depth = 64;
	o->max_alias_nodes = 100000;
	o->max_scalar_bytes = 4u << 20;
}

struct hg_ruleset *hg_ruleset_new(void)
{
	struct hg_ruleset *rs = xcalloc(1, sizeof(*rs));
	rs->arena = hg_arena_new();
	rs->firewall_name = "hostgate";
	return rs;
}

static void var_sets_free(struct hg_var **vars, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hg_ipset_free(&vars[i]->ips);
		hg_portset_free(&vars[i]->ports);
	}
}

static void group_sets_free(struct hg_rule_group *g)
{
	var_sets_free(g->vars, g->n_vars);
	for (size_t i = 0; i < g->n_rules; i++) {
		struct hg_rule *r = g->rules[i];
		hg_ipset_free(&r->src_set);
		hg_ipset_free(&r->dst_set);
		hg_portset_free(&r->sport_set);
		hg_portset_free(&r->dport_set);
		if (r->geoip)
			hg_ipset_free(&r->geoip->set);
	}
	for (size_t i = 0; i < g->n_srules; i++) {
		struct hg_stateless_rule *s = g->srules[i];
		hg_ipset_free(&s->sources);
		hg_ipset_free(&s->destinations);
		hg_portset_free(&s->src_ports);
		hg_portset_free(&s->dst_ports);
	}
	if (g->list)
		hg_domain_matcher_free(g->list->matcher);
}

static void policy_sets_free(struct hg_policy *p)
{
	var_sets_free(p->vars, p->n_vars);
	hg_ipset_free(&p->home_net);
	hg_ipset_free(&p->external_net);
}

void hg_ruleset_free(struct hg_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_groups; i++)
		group_sets_free(rs->groups[i]);
	bool policy_listed = false;
	for (size_t i = 0; i < rs->n_policies; i++) {
		policy_sets_free(rs->policies[i]);
		policy_listed |= rs->policies[i] == rs->policy;
	}
	if (rs->policy && !policy_listed)
		policy_sets_free(rs->policy);
	free(rs->load_state);
	hg_arena_free(rs->arena);
	free(rs);
}

struct hg_rule_group *hg_group_new(struct hg_ruleset *rs, struct hg_loc loc, const char *name,
				   enum hg_group_type type)
{
	struct hg_rule_group *g = hg_arena_alloc(rs->arena, sizeof(*g));
	g->loc = loc;
	g->name = hg_arena_strdup(rs->arena, name);
	g->type = type;
	/* Grow the group array in the arena: copy on growth (groups are few). */
	struct hg_rule_group **v = hg_arena_alloc(rs->arena, (rs->n_groups + 1) * sizeof(*v));
	if (rs->n_groups)
		memcpy(v, rs->groups, rs->n_groups * sizeof(*v));
	v[rs->n_groups++] = g;
	rs->groups = v;
	return g;
}

static const char *const action_names[] = {"pass", "drop", "reject", "alert"};
static const char *const proto_names[HG_PROTO__COUNT] = {
	"ip", "tcp", "udp", "icmp", "tls", "http", "quic", "dns", "ssh", "smtp", "ftp",
	"smb", "dcerpc", "imap", "msn", "krb5", "ikev2", "tftp", "ntp", "dhcp", "http2",
};
static const char *const buffer_names[HG_BUF__COUNT] = {
	"payload", "tls.sni", "http.host", "http.host.raw", "http.header_names",
	"http.uri", "http.method", "http.user_agent", "dns.query", "ja4.hash", "ja3.hash",
	"ja3.string", "http.request_header", "http.uri.raw",
};
static const char *const list_type_names[] = {"ALLOWLIST", "DENYLIST", "REJECTLIST", "ALERTLIST"};
static const char *const sda_names[] = {
	"aws:drop_strict", "aws:drop_established", "aws:drop_established_app_layer",
	"aws:drop_established_app_layer_to_server", "aws:alert_strict", "aws:alert_established",
	"aws:alert_established_app_layer", "aws:alert_established_app_layer_to_server",
};

const char *hg_action_name(enum hg_action a) { return action_names[a]; }
const char *hg_proto_name(enum hg_proto p) { return proto_names[p]; }
const char *hg_buffer_name(enum hg_buffer b) { return buffer_names[b]; }
const char *hg_list_type_name(enum hg_list_type t) { return list_type_names[t]; }

const char *hg_sda_name(uint32_t bit)
{
	for (unsigned i = 0; i < HG_ARRAY_LEN(sda_names); i++)
		if (bit == 1u << i)
			return sda_names[i];
	return "?";
}

bool hg_proto_from_name(const char *s, enum hg_proto *p)
{
	for (int i = 0; i < HG_PROTO__COUNT; i++)
		if (hg_ascii_casecmp_eq(s, strlen(s), proto_names[i], strlen(proto_names[i]))) {
			*p = (enum hg_proto)i;
			return true;
		}
	return false;
}

/* Suricata 7's app-layer protocol names (and ANFW's own refusals) that
 * hostgate has no detector for, each with the reason it cannot have one
 * or does not. */
static const struct {
	const char *name, *why;
} refused_protos[] = {
	{"ftp-data", "a connection is FTP data because its FTP control connection announced it (PORT, "
		     "PASV, EPSV), not because of its own bytes, and hostgate does not follow control "
		     "connections (ANFW lists FTP-data detection as unsupported too)"},
	{"ike", "Suricata 7 names IKEv1 and IKEv2 together 'ike'; hostgate detects IKEv2 headers only "
		"(RFC 7296): write ikev2"},
	{"pop3", "POP3's first commands (USER, PASS) are FTP's: Suricata 7 calls such flows ftp, so a "
		 "pop3 rule could never match"},
	{"telnet", "a Telnet client need send nothing of its own before data (option negotiation is "
		   "optional, RFC 854), so its first bytes do not name it"},
	{"rfb", "RFB (VNC) servers speak first and the client's first bytes echo the server's version "
		"string; hostgate sees only the client's bytes and has no RFB detector"},
	{"websocket", "WebSocket starts as an HTTP Upgrade request: write http"},
	{"sip", "hostgate has no SIP detector"},
	{"rdp", "hostgate has no RDP detector"},
	{"snmp", "hostgate has no SNMP detector"},
	{"nfs", "hostgate has no NFS detector"},
	{"mqtt", "hostgate has no MQTT detector"},
	{"modbus", "hostgate has no Modbus detector"},
	{"dnp3", "hostgate has no DNP3 detector"},
	{"enip", "hostgate has no ENIP detector (and ANFW does not support ENIP/CIP keywords)"},
	{"pgsql", "hostgate has no PostgreSQL detector"},
	{"ldap", "hostgate has no LDAP detector"},
	{"bittorrent-dht", "hostgate has no BitTorrent DHT detector"},
};

const char *hg_proto_refusal(const char *s)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(refused_protos); i++)
		if (hg_ascii_casecmp_eq(s, strlen(s), refused_protos[i].name, strlen(refused_protos[i].name)))
			return refused_protos[i].why;
	return NULL;
}

const char *hg_proto_names_list(void)
{
	static char buf[256];
	if (!buf[0]) {
		size_t n = 0;
		for (int i = 0; i < HG_PROTO__COUNT; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", proto_names[i]);
	}
	return buf;
}
