/* load_tf.c - Terraform's `terraform show -json` (a state, or a saved plan)
 * into the IR, through the CloudFormation loader's builders.
 *
 * The JSON output format (developer.hashicorp.com/terraform/internals/
 * json-format, format_version 1.x): a state has values.root_module, a plan
 * planned_values.root_module (and prior_state, not read); each module has
 * resources[] ({address, mode, type, name, index, values}) and
 * child_modules[] (the same, recursively). A plan leaves out values that
 * are unknown until apply (a new rule group's arn); its configuration
 * section has each resource's expressions, whose references
 * ("aws_networkfirewall_rule_group.x.arn", "module.m.out", "var.v") say
 * what the value will be.
 *
 * The resources' attributes follow terraform-provider-aws's schema
 * (internal/service/networkfirewall/rule_group.go, firewall_policy.go,
 * firewall.go): snake_case keys, every nested block a list (MaxItems 1 for
 * the singular ones), keyed sets (ip_sets: [{key, ip_set: [{definition}]}])
 * where CloudFormation has maps. Each resource's values are rewritten into
 * the CloudFormation shape (the TABLES below; the nodes keep their line:col)
 * and built by hg_cfn_build_group / hg_cfn_build_policy, so both inputs
 * are checked by one set of rules. null, "", 0 and [] are unset, as the
 * provider treats them (d.GetOk); keys not in the tables (computed ones,
 * and those a newer provider adds) are ignored.
 *
 * Terraform writes its JSON on one line: every message about a resource
 * also names its address and the JSON path of the value. */
#include "hostgate/ir.h"
#include "load_cfn.h"

#include <string.h>

#define TF_GROUP "aws_networkfirewall_rule_group"
#define TF_POLICY "aws_networkfirewall_firewall_policy"
#define TF_FIREWALL "aws_networkfirewall_firewall"

/* --------------------------------------------------------- the mapping */

enum tf_kind {
	TF_SCALAR, /* copied as it is */
	TF_LIST,   /* a list of scalars, copied */
	TF_BLOCK1, /* [ {..} ] -> {..} */
	TF_BLOCKS, /* [ {..}, {..} ] -> [ {..}, {..} ] */
	TF_KEYED,  /* [ {key: K, <value>: [ {..} ]} ] -> { K: {..} } */
	TF_TAGS,   /* { k: v } -> [ {Key: k, Value: v} ] */
};

struct tf_key {
	const char *tf, *cfn;
	enum tf_kind kind;
	const struct tf_key *sub; /* blocks: the block's keys */
	const char *keyed_value;  /* TF_KEYED: the key of the block holding the value */
	bool zero_set;            /* 0 is a value (a port), not unset */
};

static const struct tf_key k_definition[] = {{"definition", "Definition", TF_LIST}, {0}};
static const struct tf_key k_rule_variables[] = {
	{"ip_sets", "IPSets", TF_KEYED, k_definition, "ip_set"},
	{"port_sets", "PortSets", TF_KEYED, k_definition, "port_set"},
	{0},
};
static const struct tf_key k_ref_arn[] = {{"reference_arn", "ReferenceArn", TF_SCALAR}, {0}};
static const struct tf_key k_reference_sets[] = {
	{"ip_set_references", "IPSetReferences", TF_KEYED, k_ref_arn, "ip_set_reference"},
	{0},
};
static const struct tf_key k_domain_list[] = {
	{"generated_rules_type", "GeneratedRulesType", TF_SCALAR},
	{"target_types", "TargetTypes", TF_LIST},
	{"targets", "Targets", TF_LIST},
	{0},
};
static const struct tf_key k_header[] = {
	{"protocol", "Protocol", TF_SCALAR},
	{"source", "Source", TF_SCALAR},
	{"source_port", "SourcePort", TF_SCALAR},
	{"direction", "Direction", TF_SCALAR},
	{"destination", "Destination", TF_SCALAR},
	{"destination_port", "DestinationPort", TF_SCALAR},
	{0},
};
static const struct tf_key k_rule_option[] = {
	{"keyword", "Keyword", TF_SCALAR},
	{"settings", "Settings", TF_LIST},
	{0},
};
static const struct tf_key k_stateful_rule[] = {
	{"action", "Action", TF_SCALAR},
	{"header", "Header", TF_BLOCK1, k_header},
	{"rule_option", "RuleOptions", TF_BLOCKS, k_rule_option},
	{0},
};
static const struct tf_key k_dimension[] = {{"value", "Value", TF_SCALAR}, {0}};
static const struct tf_key k_publish_metric[] = {{"dimension", "Dimensions", TF_BLOCKS, k_dimension}, {0}};
static const struct tf_key k_action_definition[] = {
	{"publish_metric_action", "PublishMetricAction", TF_BLOCK1, k_publish_metric},
	{0},
};
static const struct tf_key k_custom_action[] = {
	{"action_name", "ActionName", TF_SCALAR},
	{"action_definition", "ActionDefinition", TF_BLOCK1, k_action_definition},
	{0},
};
static const struct tf_key k_address[] = {{"address_definition", "AddressDefinition", TF_SCALAR}, {0}};
static const struct tf_key k_port_range[] = {
	{"from_port", "FromPort", TF_SCALAR, NULL, NULL, true},
	{"to_port", "ToPort", TF_SCALAR, NULL, NULL, true},
	{0},
};
static const struct tf_key k_tcp_flag[] = {{"flags", "Flags", TF_LIST}, {"masks", "Masks", TF_LIST}, {0}};
static const struct tf_key k_match_attributes[] = {
	{"source", "Sources", TF_BLOCKS, k_address},
	{"destination", "Destinations", TF_BLOCKS, k_address},
	{"source_port", "SourcePorts", TF_BLOCKS, k_port_range},
	{"destination_port", "DestinationPorts", TF_BLOCKS, k_port_range},
	{"protocols", "Protocols", TF_LIST},
	{"tcp_flag", "TCPFlags", TF_BLOCKS, k_tcp_flag},
	{0},
};
static const struct tf_key k_rule_definition[] = {
	{"actions", "Actions", TF_LIST},
	{"match_attributes", "MatchAttributes", TF_BLOCK1, k_match_attributes},
	{0},
};
static const struct tf_key k_stateless_rule[] = {
	{"priority", "Priority", TF_SCALAR},
	{"rule_definition", "RuleDefinition", TF_BLOCK1, k_rule_definition},
	{0},
};
static const struct tf_key k_stateless_src[] = {
	{"stateless_rule", "StatelessRules", TF_BLOCKS, k_stateless_rule},
	{"custom_action", "CustomActions", TF_BLOCKS, k_custom_action},
	{0},
};
static const struct tf_key k_rules_source[] = {
	{"rules_string", "RulesString", TF_SCALAR},
	{"rules_source_list", "RulesSourceList", TF_BLOCK1, k_domain_list},
	{"stateful_rule", "StatefulRules", TF_BLOCKS, k_stateful_rule},
	{"stateless_rules_and_custom_actions", "StatelessRulesAndCustomActions", TF_BLOCK1, k_stateless_src},
	{0},
};
static const struct tf_key k_rule_order[] = {{"rule_order", "RuleOrder", TF_SCALAR}, {0}};
static const struct tf_key k_rule_group[] = {
	{"rule_variables", "RuleVariables", TF_BLOCK1, k_rule_variables},
	{"reference_sets", "ReferenceSets", TF_BLOCK1, k_reference_sets},
	{"rules_source", "RulesSource", TF_BLOCK1, k_rules_source},
	{"stateful_rule_options", "StatefulRuleOptions", TF_BLOCK1, k_rule_order},
	{0},
};

static const struct tf_key k_flow_timeouts[] = {{"tcp_idle_timeout_seconds", "TcpIdleTimeoutSeconds", TF_SCALAR},
						{0}};
static const struct tf_key k_engine_options[] = {
	{"rule_order", "RuleOrder", TF_SCALAR},
	{"stream_exception_policy", "StreamExceptionPolicy", TF_SCALAR},
	{"flow_timeouts", "FlowTimeouts", TF_BLOCK1, k_flow_timeouts},
	{0},
};
static const struct tf_key k_override[] = {{"action", "Action", TF_SCALAR}, {0}};
static const struct tf_key k_stateful_ref[] = {
	{"resource_arn", "ResourceArn", TF_SCALAR},
	{"priority", "Priority", TF_SCALAR},
	{"override", "Override", TF_BLOCK1, k_override},
	{"deep_threat_inspection", "DeepThreatInspection", TF_SCALAR},
	{0},
};
static const struct tf_key k_stateless_ref[] = {
	{"resource_arn", "ResourceArn", TF_SCALAR},
	{"priority", "Priority", TF_SCALAR},
	{0},
};
static const struct tf_key k_policy_vars[] = {
	{"rule_variables", "RuleVariables", TF_KEYED, k_definition, "ip_set"},
	{0},
};
static const struct tf_key k_firewall_policy[] = {
	{"stateless_default_actions", "StatelessDefaultActions", TF_LIST},
	{"stateless_fragment_default_actions", "StatelessFragmentDefaultActions", TF_LIST},
	{"stateless_custom_action", "StatelessCustomActions", TF_BLOCKS, k_custom_action},
	{"stateless_rule_group_reference", "StatelessRuleGroupReferences", TF_BLOCKS, k_stateless_ref},
	{"stateful_rule_group_reference", "StatefulRuleGroupReferences", TF_BLOCKS, k_stateful_ref},
	{"stateful_default_actions", "StatefulDefaultActions", TF_LIST},
	{"stateful_engine_options", "StatefulEngineOptions", TF_BLOCK1, k_engine_options},
	{"policy_variables", "PolicyVariables", TF_BLOCK1, k_policy_vars},
	{"tls_inspection_configuration_arn", "TLSInspectionConfigurationArn", TF_SCALAR},
	{0},
};

/* --------------------------------------------------------------- state */

struct tf_res {
	const char *address;  /* module.m[0].aws_networkfirewall_rule_group.x["k"] */
	const char *type, *name;
	const char *path;     /* JSON path of the resource object */
	const struct hg_ynode *node, *values;
	const char *arn;      /* known or stood in for; NULL until built */
	struct hg_rule_group *group;
	struct hg_policy *policy;
};

struct tf {
	struct hg_ruleset *rs;
	struct hg_arena *a;
	const char *file;
	const struct hg_load_opts *o;
	struct hg_diag *d;
	const struct hg_ynode *config; /* configuration.root_module (plans) */
	HG_VEC(struct tf_res) res;
	bool ok;
};

#define ERR(T, loc, ...) (hg_diag_error((T)->d, (loc), __VA_ARGS__), (T)->ok = false)

static struct hg_loc tloc(const struct tf *T, const struct hg_ynode *n)
{
	return hg_ynode_loc(T->file, n);
}

static const char *scalar(const struct hg_ynode *n)
{
	return n && n->kind == HG_Y_SCALAR ? n->str : NULL;
}

/* null, "", [] and (unless zero_set) 0 are unset. */
static bool unset(const struct hg_ynode *n, bool zero_set)
{
	if (!n)
		return true;
	if (n->kind == HG_Y_SEQ)
		return n->n_items == 0;
	if (n->kind != HG_Y_SCALAR)
		return false;
	if (n->len == 0)
		return true;
	if (n->style != HG_YS_PLAIN)
		return false;
	return !strcmp(n->str, "null") || (!zero_set && !strcmp(n->str, "0"));
}

/* ------------------------------------------------- building CFN nodes */

static struct hg_ynode *mk_scalar(struct tf *T, const char *s, uint32_t line, uint32_t col)
{
	struct hg_ynode *n = hg_arena_alloc(T->a, sizeof(*n));
	n->kind = HG_Y_SCALAR;
	n->style = HG_YS_DOUBLE;
	n->str = s;
	n->len = (uint32_t)strlen(s);
	n->line = n->vline = line;
	n->col = n->vcol = col;
	return n;
}

static struct hg_ynode *mk_coll(struct tf *T, enum hg_ykind kind, size_t cap, const struct hg_ynode *at)
{
	struct hg_ynode *n = hg_arena_alloc(T->a, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->line = at ? at->line : 0;
	n->col = at ? at->col : 0;
	if (kind == HG_Y_MAP)
		n->pairs = hg_arena_alloc(T->a, (cap + 1) * sizeof(*n->pairs));
	else
		n->items = hg_arena_alloc(T->a, (cap + 1) * sizeof(*n->items));
	return n;
}

static void map_put(struct tf *T, struct hg_ynode *m, const char *key, const struct hg_ynode *key_at,
		    struct hg_ynode *val)
{
	m->pairs[m->n_pairs].key = mk_scalar(T, key, key_at->line, key_at->col);
	m->pairs[m->n_pairs++].val = val;
}

static struct hg_ynode *convert_block(struct tf *T, const struct hg_ynode *obj, const struct tf_key *keys);

/* The one block of a MaxItems-1 list, or NULL (reported when more). */
static const struct hg_ynode *single_block(struct tf *T, const struct hg_ynode *v, const char *what)
{
	if (v->kind != HG_Y_SEQ)
		return v; /* the builder says what it wanted */
	if (v->n_items > 1)
		ERR(T, tloc(T, v->items[1]), "%s holds %u blocks; the provider allows one", what, v->n_items);
	return v->items[0];
}

static struct hg_ynode *convert_value(struct tf *T, const struct hg_ynode *v, const struct tf_key *k)
{
	switch (k->kind) {
	case TF_SCALAR:
	case TF_LIST:
		return (struct hg_ynode *)v;
	case TF_BLOCK1: {
		const struct hg_ynode *b = single_block(T, v, k->tf);
		return b->kind == HG_Y_MAP ? convert_block(T, b, k->sub) : (struct hg_ynode *)b;
	}
	case TF_BLOCKS: {
		if (v->kind != HG_Y_SEQ)
			return (struct hg_ynode *)v;
		struct hg_ynode *s = mk_coll(T, HG_Y_SEQ, v->n_items, v);
		for (size_t i = 0; i < v->n_items; i++)
			s->items[s->n_items++] = v->items[i]->kind == HG_Y_MAP ? convert_block(T, v->items[i], k->sub)
									       : v->items[i];
		return s;
	}
	case TF_KEYED: {
		if (v->kind != HG_Y_SEQ)
			return (struct hg_ynode *)v;
		struct hg_ynode *m = mk_coll(T, HG_Y_MAP, v->n_items, v);
		for (size_t i = 0; i < v->n_items; i++) {
			const struct hg_ynode *e = v->items[i], *key = hg_ymap_get(e, "key");
			const struct hg_ynode *val = hg_ymap_get(e, k->keyed_value);
			if (!scalar(key) || unset(key, false) || unset(val, false)) {
				ERR(T, tloc(T, e), "%s: each element needs a key and its %s", k->tf, k->keyed_value);
				continue;
			}
			bool dup = false;
			for (size_t j = 0; j < m->n_pairs && !dup; j++)
				dup = !strcmp(m->pairs[j].key->str, key->str);
			if (dup) {
				ERR(T, tloc(T, key), "%s: key '%s' given twice", k->tf, key->str);
				continue;
			}
			const struct hg_ynode *b = single_block(T, val, k->keyed_value);
			map_put(T, m, key->str, key,
				b->kind == HG_Y_MAP ? convert_block(T, b, k->sub) : (struct hg_ynode *)b);
		}
		return m;
	}
	case TF_TAGS: {
		if (v->kind != HG_Y_MAP)
			return (struct hg_ynode *)v;
		struct hg_ynode *s = mk_coll(T, HG_Y_SEQ, v->n_pairs, v);
		for (size_t i = 0; i < v->n_pairs; i++) {
			struct hg_ynode *t = mk_coll(T, HG_Y_MAP, 2, v->pairs[i].key);
			map_put(T, t, "Key", v->pairs[i].key, v->pairs[i].key);
			map_put(T, t, "Value", v->pairs[i].val, v->pairs[i].val);
			s->items[s->n_items++] = t;
		}
		return s;
	}
	}
	return NULL;
}

/* obj's known keys, renamed and converted; unset values and unknown keys
 * left out. */
static struct hg_ynode *convert_block(struct tf *T, const struct hg_ynode *obj, const struct tf_key *keys)
{
	struct hg_ynode *m = mk_coll(T, HG_Y_MAP, obj->n_pairs, obj);
	for (size_t i = 0; i < obj->n_pairs; i++) {
		const struct hg_ynode *key = obj->pairs[i].key, *v = obj->pairs[i].val;
		for (const struct tf_key *k = keys; k->tf; k++) {
			if (strcmp(k->tf, key->str))
				continue;
			if (!unset(v, k->zero_set))
				map_put(T, m, k->cfn, key, convert_value(T, v, k));
			break;
		}
	}
	return m;
}

/* ------------------------------------------------ where a message points */

/* One step of a JSON path: a key, or an index when key is NULL. */
struct path_step {
	const char *key;
	size_t index;
};

/* Whether the node at line:col is under n; the steps to it in steps[]
 * (*n_steps of them). Nothing is allocated while searching. */
static bool find_steps(const struct hg_ynode *n, uint32_t line, uint32_t col, struct path_step *steps,
		       size_t depth, size_t *n_steps)
{
	if (!n || depth >= 64)
		return false;
	if (n->line == line && n->col == col) {
		*n_steps = depth;
		return true;
	}
	if (n->kind == HG_Y_MAP) {
		for (size_t i = 0; i < n->n_pairs; i++) {
			steps[depth] = (struct path_step){n->pairs[i].key->str, 0};
			const struct hg_ynode *k = n->pairs[i].key;
			if (k->line == line && k->col == col) {
				*n_steps = depth + 1;
				return true;
			}
			if (find_steps(n->pairs[i].val, line, col, steps, depth + 1, n_steps))
				return true;
		}
	} else if (n->kind == HG_Y_SEQ) {
		for (size_t i = 0; i < n->n_items; i++) {
			steps[depth] = (struct path_step){NULL, i};
			if (find_steps(n->items[i], line, col, steps, depth + 1, n_steps))
				return true;
		}
	}
	return false;
}

/* The JSON path of the node at line:col under n (whose own path is at),
 * or NULL. */
static const char *find_path(struct tf *T, const struct hg_ynode *n, uint32_t line, uint32_t col, const char *at)
{
	struct path_step steps[64];
	size_t n_steps;
	if (!find_steps(n, line, col, steps, 0, &n_steps))
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	fputs(at, m);
	for (size_t i = 0; i < n_steps; i++) {
		if (steps[i].key)
			fprintf(m, ".%s", steps[i].key);
		else
			fprintf(m, "[%zu]", steps[i].index);
	}
	fclose(m);
	const char *p = hg_arena_strdup(T->a, buf);
	free(buf);
	return p;
}

/* Appends "(resource ADDRESS, PATH)" to the messages recorded since
 * first, so a location on Terraform's one line says which value it is. */
static void annotate(struct tf *T, const struct tf_res *r, size_t first)
{
	for (size_t i = first; i < T->d->recs.n; i++) {
		struct hg_diag_record *rec = &T->d->recs.v[i];
		const char *path = NULL;
		if (rec->loc.file == T->file && rec->loc.line && i - first < 32) {
			path = find_path(T, r->node, rec->loc.line, rec->loc.col, r->path);
			if (!path && T->config)
				path = find_path(T, T->config, rec->loc.line, rec->loc.col, "configuration.root_module");
		}
		char *msg = path ? xasprintf("%s (resource %s, at %s)", rec->msg, r->address, path)
				 : xasprintf("%s (resource %s)", rec->msg, r->address);
		free(rec->msg);
		rec->msg = msg;
	}
}

/* ------------------------------------------------------ collecting */

static void collect(struct tf *T, const struct hg_ynode *module, const char *path, unsigned depth)
{
	if (!module || module->kind != HG_Y_MAP)
		return;
	if (depth > 32) {
		ERR(T, tloc(T, module), "modules nested more than 32 deep");
		return;
	}
	const struct hg_ynode *resources = hg_ymap_get(module, "resources");
	for (size_t i = 0; resources && resources->kind == HG_Y_SEQ && i < resources->n_items; i++) {
		const struct hg_ynode *r = resources->items[i];
		const char *type = scalar(hg_ymap_get(r, "type")), *mode = scalar(hg_ymap_get(r, "mode"));
		if (!type || (mode && strcmp(mode, "managed")))
			continue;
		if (strcmp(type, TF_GROUP) && strcmp(type, TF_POLICY) && strcmp(type, TF_FIREWALL))
			continue;
		struct tf_res x = {
			.address = scalar(hg_ymap_get(r, "address")),
			.type = type,
			.name = scalar(hg_ymap_get(r, "name")),
			.path = hg_arena_printf(T->a, "%s.resources[%zu]", path, i),
			.node = r,
			.values = hg_ymap_get(r, "values"),
		};
		if (!x.address)
			x.address = hg_arena_printf(T->a, "%s.%s", type, x.name ? x.name : "?");
		if (!x.values || x.values->kind != HG_Y_MAP) {
			ERR(T, tloc(T, r), "resource %s has no values (at %s)", x.address, x.path);
			continue;
		}
		hg_vec_push(&T->res, x);
	}
	const struct hg_ynode *kids = hg_ymap_get(module, "child_modules");
	for (size_t i = 0; kids && kids->kind == HG_Y_SEQ && i < kids->n_items; i++)
		collect(T, kids->items[i], hg_arena_printf(T->a, "%s.child_modules[%zu]", path, i), depth + 1);
}

/* ------------------------------------------- references in a plan */

/* An address without its instance keys: module.m[0].aws_x.y["k"] ->
 * module.m.aws_x.y. */
static const char *strip_keys(struct tf *T, const char *addr)
{
	char *s = hg_arena_strdup(T->a, addr), *w = s;
	int depth = 0;
	bool quoted = false;
	for (const char *p = addr; *p; p++) {
		if (depth && *p == '"' && p[-1] != '\\')
			quoted = !quoted;
		if (!quoted && *p == '[')
			depth++;
		else if (!quoted && *p == ']' && depth)
			depth--;
		else if (!depth)
			*w++ = *p;
	}
	*w = 0;
	return s;
}

/* The module path of an address as names: "module.a[0].module.b.aws_x.y"
 * -> "a", "b" (at most 16). Returns how many. */
static size_t module_names(struct tf *T, const char *addr, const char **names, const char **rest)
{
	const char *s = strip_keys(T, addr);
	size_t n = 0;
	while (!strncmp(s, "module.", 7) && n < 16) {
		const char *b = s + 7, *dot = strchr(b, '.');
		if (!dot)
			break;
		names[n++] = hg_arena_strndup(T->a, b, (size_t)(dot - b));
		s = dot + 1;
	}
	*rest = s;
	return n;
}

/* configuration's module at the path of names (NULL when absent). */
static const struct hg_ynode *config_module(const struct tf *T, const char *const *names, size_t n)
{
	const struct hg_ynode *m = T->config;
	for (size_t i = 0; m && i < n; i++)
		m = hg_ymap_get(hg_ymap_get(hg_ymap_get(m, "module_calls"), names[i]), "module");
	return m;
}

static const struct hg_ynode *config_expressions(struct tf *T, const struct tf_res *r)
{
	const char *names[16], *rest;
	size_t n = module_names(T, r->address, names, &rest);
	const struct hg_ynode *resources = hg_ymap_get(config_module(T, names, n), "resources");
	for (size_t i = 0; resources && resources->kind == HG_Y_SEQ && i < resources->n_items; i++) {
		const char *a = scalar(hg_ymap_get(resources->items[i], "address"));
		if (a && !strcmp(a, rest))
			return hg_ymap_get(resources->items[i], "expressions");
	}
	return NULL;
}

/* The planned resource of type that the expression's references name,
 * followed through module outputs and module variables; NULL after an
 * error naming what did not resolve (from: the referring resource). */
static const struct tf_res *resolve_refs(struct tf *T, const struct hg_ynode *expr, const char *const *names,
					 size_t n_names, const char *type, const struct tf_res *from,
					 const char *what, unsigned depth);

static const struct tf_res *resolve_one(struct tf *T, const struct hg_ynode *ref_node, const char *const *names,
					size_t n_names, const char *type, const struct tf_res *from,
					const char *what, unsigned depth)
{
	const char *ref = ref_node->str;
	if (!strncmp(ref, "module.", 7)) {
		/* module.NAME[KEY].OUTPUT */
		const char *stripped = strip_keys(T, ref + 7), *dot = strchr(stripped, '.');
		if (!dot)
			return NULL; /* "module.m" alone: the longer form comes first */
		if (n_names >= 16) {
			ERR(T, tloc(T, ref_node), "%s of %s: modules nested more than 16 deep", what, from->address);
			return NULL;
		}
		const char *sub[17];
		memcpy(sub, names, n_names * sizeof(*sub));
		sub[n_names] = hg_arena_strndup(T->a, stripped, (size_t)(dot - stripped));
		const struct hg_ynode *mod = config_module(T, sub, n_names + 1);
		const struct hg_ynode *out = hg_ymap_get(hg_ymap_get(hg_ymap_get(mod, "outputs"), dot + 1), "expression");
		if (!out) {
			ERR(T, tloc(T, ref_node), "%s of %s refers to %s, an output the configuration does not have",
			    what, from->address, ref);
			return NULL;
		}
		return resolve_refs(T, out, sub, n_names + 1, type, from, what, depth + 1);
	}
	if (!strncmp(ref, "var.", 4)) {
		if (!n_names) {
			ERR(T, tloc(T, ref_node),
			    "%s of %s comes from the root variable %s, whose value the plan does not say", what,
			    from->address, ref);
			return NULL;
		}
		/* The module call in the parent passes the variable's value. */
		const struct hg_ynode *parent = config_module(T, names, n_names - 1);
		const struct hg_ynode *call = hg_ymap_get(hg_ymap_get(parent, "module_calls"), names[n_names - 1]);
		const char *var = strip_keys(T, ref + 4);
		const char *dot = strchr(var, '.');
		if (dot)
			var = hg_arena_strndup(T->a, var, (size_t)(dot - var));
		const struct hg_ynode *arg = hg_ymap_get(hg_ymap_get(call, "expressions"), var);
		if (!arg) {
			ERR(T, tloc(T, ref_node), "%s of %s refers to %s, which module %s is not given", what,
			    from->address, ref, names[n_names - 1]);
			return NULL;
		}
		return resolve_refs(T, arg, names, n_names - 1, type, from, what, depth + 1);
	}
	/* TYPE.NAME[KEY].attr: a resource of this module. */
	size_t tl = strlen(type);
	if (strncmp(ref, type, tl) || ref[tl] != '.')
		return NULL;
	const char *name = ref + tl + 1;
	size_t nl = strcspn(name, ".[");
	const char *key = name[nl] == '[' ? name + nl : NULL;
	size_t kl = key ? strcspn(key, "]") + 1 : 0;
	char *want = NULL;
	size_t wl = 0;
	FILE *w = open_memstream(&want, &wl);
	for (size_t i = 0; i < n_names; i++)
		fprintf(w, "module.%s.", names[i]);
	fprintf(w, "%s.%.*s", type, (int)nl, name);
	fclose(w);
	const struct tf_res *found = NULL;
	size_t n_found = 0;
	for (size_t i = 0; i < T->res.n; i++) {
		const struct tf_res *c = &T->res.v[i];
		if (strcmp(c->type, type) || strcmp(strip_keys(T, c->address), want))
			continue;
		if (key) {
			size_t al = strlen(c->address);
			if (al < kl || strncmp(c->address + al - kl, key, kl))
				continue;
		}
		found = c;
		n_found++;
	}
	if (n_found == 1) {
		free(want);
		return found;
	}
	if (n_found > 1)
		ERR(T, tloc(T, ref_node),
		    "%s of %s refers to %s, which has %zu instances (count/for_each); name one with its index",
		    what, from->address, ref, n_found);
	else
		ERR(T, tloc(T, ref_node), "%s of %s refers to %s, which is not in the plan (dangling reference)",
		    what, from->address, want);
	free(want);
	return NULL;
}

static const struct tf_res *resolve_refs(struct tf *T, const struct hg_ynode *expr, const char *const *names,
					 size_t n_names, const char *type, const struct tf_res *from,
					 const char *what, unsigned depth)
{
	const struct hg_ynode *refs = hg_ymap_get(expr, "references");
	if (depth > 16) {
		ERR(T, tloc(T, expr), "%s of %s: references nested more than 16 deep", what, from->address);
		return NULL;
	}
	size_t errors0 = T->d->errors;
	for (size_t i = 0; refs && refs->kind == HG_Y_SEQ && i < refs->n_items; i++) {
		if (!scalar(refs->items[i]))
			continue;
		const struct tf_res *r = resolve_one(T, refs->items[i], names, n_names, type, from, what, depth);
		if (r || T->d->errors != errors0)
			return r;
	}
	ERR(T, tloc(T, expr ? expr : from->node),
	    "%s of %s is unknown in the plan and its expression names no %s hostgate can follow", what,
	    from->address, type);
	return NULL;
}

/* ------------------------------------------------------- resources */

static const char *opt_scalar(const struct hg_ynode *m, const char *key)
{
	const struct hg_ynode *n = hg_ymap_get(m, key);
	return unset(n, false) ? NULL : scalar(n);
}

static void build_group(struct tf *T, struct tf_res *r)
{
	size_t first = T->d->recs.n;
	const struct hg_ynode *v = r->values, *type = hg_ymap_get(v, "type");
	const char *name = opt_scalar(v, "name");
	if (!name) {
		ERR(T, tloc(T, v), "a rule group needs a name");
		name = r->name ? r->name : "?";
	}
	const char *kind = scalar(type) && !strcmp(type->str, "STATELESS") ? "stateless-rulegroup"
									  : "stateful-rulegroup";
	r->arn = opt_scalar(v, "arn");
	if (!r->arn)
		r->arn = hg_cfn_arn(T->a, kind, name);
	const struct hg_ynode *rg = hg_ymap_get(v, "rule_group"), *rules = hg_ymap_get(v, "rules");
	struct hg_ynode *inner = NULL;
	if (!unset(rg, false)) {
		const struct hg_ynode *b = single_block(T, rg, "rule_group");
		inner = b->kind == HG_Y_MAP ? convert_block(T, b, k_rule_group) : (struct hg_ynode *)b;
	}
	/* `rules`: the provider's Suricata rules attribute, CloudFormation's
	 * RulesSource.RulesString (it conflicts with rule_group's). */
	if (!unset(rules, false)) {
		if (!inner)
			inner = mk_coll(T, HG_Y_MAP, 1, rules);
		if (inner->kind == HG_Y_MAP && !hg_ymap_get(inner, "RulesSource")) {
			struct hg_ynode *src = mk_coll(T, HG_Y_MAP, 1, rules);
			map_put(T, src, "RulesString", rules, (struct hg_ynode *)rules);
			struct hg_ynode *grown = mk_coll(T, HG_Y_MAP, inner->n_pairs + 1, inner);
			memcpy(grown->pairs, inner->pairs, inner->n_pairs * sizeof(*inner->pairs));
			grown->n_pairs = inner->n_pairs;
			map_put(T, grown, "RulesSource", rules, src);
			inner = grown;
		} else {
			ERR(T, tloc(T, rules), "rules and rule_group.rules_source both given; the provider takes one");
		}
	}
	const struct hg_ynode *tags = hg_ymap_get(v, "tags");
	static const struct tf_key tag_key = {"tags", "Tags", TF_TAGS};
	struct hg_cfn_group_meta m = {
		.name = name,
		.arn = r->arn,
		.id = r->address,
		.loc = tloc(T, r->node),
		.type = unset(type, false) ? NULL : type,
		.capacity = unset(hg_ymap_get(v, "capacity"), false) ? NULL : hg_ymap_get(v, "capacity"),
		.tags = unset(tags, false) || tags->kind != HG_Y_MAP || !tags->n_pairs ? NULL
										   : convert_value(T, tags, &tag_key),
	};
	bool ok = true;
	r->group = hg_cfn_build_group(T->rs, T->file, T->o, T->d, inner, &m, &ok);
	T->ok &= ok;
	annotate(T, r, first);
}

/* The ResourceArn of a reference that did not resolve (already reported). */
static const char unresolved_arn[] = "(unresolved)";

/* In a plan, a reference to a group created by the same apply has no
 * resource_arn (unknown until apply): the configuration's expression for
 * it, followed through its references, says which group it is, and that
 * group's ARN (known or stood in for) is written into the reference.
 * Entries without resource_arn pair, in order, with the configuration's
 * entries whose resource_arn is an expression. */
static void fill_unknown_arns(struct tf *T, struct tf_res *r, struct hg_ynode *cfn_refs, const char *tf_key,
			      const struct hg_ynode *conf_refs)
{
	size_t next_conf = 0;
	for (size_t i = 0; cfn_refs && cfn_refs->kind == HG_Y_SEQ && i < cfn_refs->n_items; i++) {
		struct hg_ynode *item = cfn_refs->items[i];
		if (item->kind != HG_Y_MAP || hg_ymap_get(item, "ResourceArn"))
			continue;
		const char *at = hg_arena_printf(T->a, "%s.values.firewall_policy[0].%s[%zu]", r->path, tf_key, i);
		const struct hg_ynode *expr = NULL;
		while (conf_refs && conf_refs->kind == HG_Y_SEQ && next_conf < conf_refs->n_items && !expr) {
			const struct hg_ynode *e = hg_ymap_get(conf_refs->items[next_conf++], "resource_arn");
			if (hg_ymap_get(e, "references"))
				expr = e;
		}
		if (!expr) {
			ERR(T, tloc(T, item),
			    "%s[%zu].resource_arn of %s is unknown and no configuration expression says which rule "
			    "group it is (at %s)",
			    tf_key, i, r->address, at);
			continue;
		}
		const char *names[16], *rest;
		size_t n_names = module_names(T, r->address, names, &rest);
		const struct tf_res *g = resolve_refs(T, expr, names, n_names, TF_GROUP, r,
						      hg_arena_printf(T->a, "%s[%zu].resource_arn", tf_key, i), 0);
		/* An unresolved one (reported) still gets a ResourceArn, so the
		 * builder does not report it again as missing. */
		map_put(T, item, "ResourceArn", item,
			mk_scalar(T, g && g->arn ? g->arn : unresolved_arn, item->line, item->col));
	}
}

/* Each reference's group, by its ARN: a group of this document or of an
 * earlier input, else a dangling reference named by address and path. */
static void bind_refs(struct tf *T, struct tf_res *r, struct hg_group_ref *refs, size_t n_refs, const char *tf_key)
{
	for (size_t i = 0; i < n_refs; i++) {
		struct hg_group_ref *ref = &refs[i];
		if (ref->arn && !strcmp(ref->arn, unresolved_arn)) {
			T->ok = false;
			continue;
		}
		for (size_t k = 0; ref->arn && k < T->rs->n_groups && !ref->group; k++)
			if (T->rs->groups[k]->arn && !strcmp(T->rs->groups[k]->arn, ref->arn))
				ref->group = T->rs->groups[k];
		if (ref->arn && !ref->group)
			ERR(T, ref->loc,
			    "%s[%zu].resource_arn of %s is '%s', which no rule group in the inputs has (dangling "
			    "reference)",
			    tf_key, i, r->address, ref->arn);
	}
}

static void build_policy(struct tf *T, struct tf_res *r)
{
	size_t first = T->d->recs.n;
	const struct hg_ynode *v = r->values;
	const char *name = opt_scalar(v, "name");
	if (!name) {
		ERR(T, tloc(T, v), "a firewall policy needs a name");
		name = r->name ? r->name : "?";
	}
	r->arn = opt_scalar(v, "arn");
	if (!r->arn)
		r->arn = hg_cfn_arn(T->a, "firewall-policy", name);
	const struct hg_ynode *fp = hg_ymap_get(v, "firewall_policy");
	if (unset(fp, false)) {
		ERR(T, tloc(T, v), "firewall policy %s has no firewall_policy block", r->address);
		annotate(T, r, first);
		return;
	}
	const struct hg_ynode *b = single_block(T, fp, "firewall_policy");
	struct hg_ynode *cfn = b->kind == HG_Y_MAP ? convert_block(T, b, k_firewall_policy) : (struct hg_ynode *)b;
	if (T->config && cfn->kind == HG_Y_MAP) {
		const struct hg_ynode *fpx = hg_ymap_get(config_expressions(T, r), "firewall_policy");
		const struct hg_ynode *conf_fp = fpx && fpx->kind == HG_Y_SEQ && fpx->n_items ? fpx->items[0] : NULL;
		fill_unknown_arns(T, r, hg_ymap_get(cfn, "StatefulRuleGroupReferences"), "stateful_rule_group_reference",
				  hg_ymap_get(conf_fp, "stateful_rule_group_reference"));
		fill_unknown_arns(T, r, hg_ymap_get(cfn, "StatelessRuleGroupReferences"),
				  "stateless_rule_group_reference", hg_ymap_get(conf_fp, "stateless_rule_group_reference"));
	}
	bool ok = true;
	r->policy = hg_cfn_build_policy(T->rs, T->file, T->o, T->d, cfn, name, r->arn, tloc(T, r->node), &ok);
	T->ok &= ok;
	bind_refs(T, r, r->policy->stateful_refs, r->policy->n_stateful_refs, "stateful_rule_group_reference");
	bind_refs(T, r, r->policy->stateless_refs, r->policy->n_stateless_refs, "stateless_rule_group_reference");
	annotate(T, r, first);
}

static void build_firewall(struct tf *T, struct tf_res *r, bool first_firewall)
{
	size_t first = T->d->recs.n;
	const struct hg_ynode *v = r->values;
	if (!first_firewall) {
		hg_diag_warn(T->d, tloc(T, r->node), "more than one firewall; hostgate enforces the first");
		annotate(T, r, first);
		return;
	}
	const char *name = opt_scalar(v, "name");
	if (name)
		T->rs->firewall_name = name;
	const char *arn = opt_scalar(v, "firewall_policy_arn");
	const struct tf_res *pol = NULL;
	if (!arn && T->config) {
		const char *names[16], *rest;
		size_t n = module_names(T, r->address, names, &rest);
		const struct hg_ynode *e = hg_ymap_get(config_expressions(T, r), "firewall_policy_arn");
		pol = e ? resolve_refs(T, e, names, n, TF_POLICY, r, "firewall_policy_arn", 0) : NULL;
		if (!e)
			ERR(T, tloc(T, v), "firewall_policy_arn of %s is unknown and not in the configuration", r->address);
	} else if (!arn) {
		ERR(T, tloc(T, v), "firewall %s has no firewall_policy_arn", r->address);
	} else {
		for (size_t i = 0; i < T->res.n && !pol; i++)
			if (T->res.v[i].policy && !strcmp(T->res.v[i].arn, arn))
				pol = &T->res.v[i];
		if (!pol) {
			for (size_t i = 0; i < T->rs->n_policies && !T->rs->policy; i++)
				if (T->rs->policies[i]->arn && !strcmp(T->rs->policies[i]->arn, arn))
					T->rs->policy = T->rs->policies[i];
			if (!T->rs->policy)
				ERR(T, tloc(T, hg_ymap_get(v, "firewall_policy_arn")),
				    "firewall_policy_arn of %s is '%s', which no firewall policy in the inputs has "
				    "(dangling reference)",
				    r->address, arn);
		}
	}
	if (pol)
		T->rs->policy = pol->policy;
	annotate(T, r, first);
}

/* ------------------------------------------------------------- entry */

bool hg_load_tf(struct hg_ruleset *rs, const char *file, const struct hg_ynode *root, const struct hg_load_opts *o,
		struct hg_diag *d)
{
	struct tf T = {.rs = rs, .a = rs->arena, .file = file, .o = o, .d = d, .ok = true};
	const struct hg_ynode *fv = hg_ymap_get(root, "format_version");
	const char *ver = scalar(fv);
	/* The format promises: a new minor version only adds; a new major
	 * version may change what is there. */
	if (!ver || strncmp(ver, "1.", 2) || !ver[2]) {
		ERR(&T, tloc(&T, fv),
		    "Terraform JSON format_version '%s' (at format_version): hostgate reads major version 1",
		    ver ? ver : "?");
		return false;
	}
	const struct hg_ynode *planned = hg_ymap_get(root, "planned_values");
	const char *top = planned ? "planned_values" : "values";
	const struct hg_ynode *vals = planned ? planned : hg_ymap_get(root, "values");
	if (!vals || vals->kind != HG_Y_MAP || !hg_ymap_get(vals, "root_module")) {
		ERR(&T, tloc(&T, root),
		    "Terraform JSON with neither values.root_module (a state) nor planned_values.root_module (a "
		    "plan)");
		return false;
	}
	if (planned)
		T.config = hg_ymap_get(hg_ymap_get(root, "configuration"), "root_module");
	collect(&T, hg_ymap_get(vals, "root_module"), hg_arena_printf(T.a, "%s.root_module", top), 0);
	/* Groups first (policies name them), then policies, then the firewall
	 * that picks one. */
	for (size_t i = 0; i < T.res.n; i++)
		if (!strcmp(T.res.v[i].type, TF_GROUP))
			build_group(&T, &T.res.v[i]);
	size_t n_pol = 0;
	for (size_t i = 0; i < T.res.n; i++)
		if (!strcmp(T.res.v[i].type, TF_POLICY)) {
			build_policy(&T, &T.res.v[i]);
			n_pol++;
		}
	bool fw = false;
	for (size_t i = 0; i < T.res.n; i++)
		if (!strcmp(T.res.v[i].type, TF_FIREWALL)) {
			build_firewall(&T, &T.res.v[i], !fw);
			fw = true;
		}
	if (!T.res.n)
		hg_diag_warn(d, tloc(&T, root),
			     "no aws_networkfirewall_rule_group, _firewall_policy or _firewall resource in the "
			     "Terraform JSON");
	hg_vec_free(&T.res);
	(void)n_pol;
	return T.ok;
}
