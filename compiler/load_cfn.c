/* load_cfn.c - YAML/JSON documents into IR groups and policies: a
 * CloudFormation template (AWS::NetworkFirewall::RuleGroup, FirewallPolicy,
 * Firewall; intrinsics resolved lazily, only where hostgate reads a value),
 * the JSON of `aws network-firewall describe-rule-group` /
 * `describe-firewall-policy` (and create-* inputs), or a bare RuleGroup or
 * FirewallPolicy document. Validates the ANFW schema key by key and value by
 * value, recovering per node so one run reports every error. */
#include "hostgate/ir.h"
#include "hostgate/table.h"
#include "load_cfn.h"
#include "yaml_tree.h"

#include <limits.h>
#include <string.h>

/* Stand-ins for values only a deployed stack knows (pseudo parameters and
 * the ARNs of resources), so names and references stay stable. */
#define CFN_REGION "us-east-1"
#define CFN_ACCOUNT "123456789012"
#define CFN_ARN_PREFIX "arn:aws:network-firewall:" CFN_REGION ":" CFN_ACCOUNT ":"

/* --------------------------------------------------------------- state */

enum res_kind { RES_OTHER, RES_GROUP, RES_POLICY, RES_FIREWALL };

struct cfn_res {
	const char *id;           /* logical ID */
	const struct hg_ynode *key, *node, *props;
	const char *type;
	enum res_kind kind;
	/* Name and ARN, computed once when first needed. */
	const char *name, *arn;
	bool naming, named, name_failed;
	struct hg_rule_group *group;
	struct hg_policy *policy;
};

struct ld {
	struct hg_ruleset *rs;
	struct hg_arena *a;
	const char *file;
	const struct hg_load_opts *o;
	struct hg_diag *d;
	size_t errors0;
	bool tmpl; /* a CloudFormation template: intrinsics resolve */
	const struct hg_ynode *params; /* Parameters mapping */
	struct cfn_res *res;
	size_t n_res;
	unsigned eval_depth;
	HG_VEC(const char *) bad_params; /* reported once, then failed quietly */
};

/* A resolved value: a string (with where its first byte was written) or a
 * list. res is set when the string is a Ref/GetAtt of a NetworkFirewall
 * resource, so a policy binds its groups directly. */
enum cv_kind { CV_STR, CV_LIST };

struct cval {
	enum cv_kind kind;
	const char *s;
	size_t len;
	struct hg_loc loc;  /* where the value's node starts (its quote, its tag) */
	struct hg_loc vloc; /* where s[0] is */
	bool exact;         /* s[i] was written at vloc.col + i */
	struct cval *items;
	size_t n;
	struct cfn_res *res;
};

#define ERR(L, loc, ...) hg_diag_error((L)->d, (loc), __VA_ARGS__)

static struct hg_loc nloc(const struct ld *L, const struct hg_ynode *n)
{
	return hg_ynode_loc(L->file, n);
}

/* Where byte off of a value was written (its start when not exact). */
static struct hg_loc cv_loc(const struct cval *v, size_t off)
{
	if (!v->exact || off > v->len)
		return v->loc;
	struct hg_loc l = v->vloc;
	l.col += (uint32_t)off;
	return l;
}

static const char *kind_word(const struct hg_ynode *n)
{
	return n->kind == HG_Y_MAP ? "a mapping" : n->kind == HG_Y_SEQ ? "a list" : "a scalar";
}

/* "A, B, C" from a NULL-terminated table, in the arena. */
static const char *join_names(struct ld *L, const char *const *names)
{
	size_t n = 0;
	for (size_t i = 0; names[i]; i++)
		n += strlen(names[i]) + 2;
	char *s = hg_arena_alloc(L->a, n + 1), *p = s;
	for (size_t i = 0; names[i]; i++) {
		if (i)
			*p++ = ',', *p++ = ' ';
		size_t k = strlen(names[i]);
		memcpy(p, names[i], k);
		p += k;
	}
	*p = '\0';
	return s;
}

#define ARENA_COPY(L, vec) \
	((vec).n ? memcpy(hg_arena_alloc((L)->a, (vec).n * sizeof(*(vec).v)), (vec).v, (vec).n * sizeof(*(vec).v)) : NULL)

/* --------------------------------------------------- mapping schema checks */

static const char *intrinsic_name(struct ld *L, const struct hg_ynode *n, const struct hg_ynode **arg);

/* Checks mapping n against its schema: reports unknown keys (with the
 * nearest known one) and missing required keys (at n). Returns false when
 * n is not a mapping at all. */
static bool check_map(struct ld *L, const struct hg_ynode *n, const char *what, const char *const *known,
		      const char *const *required)
{
	const struct hg_ynode *arg;
	const char *fn = n ? intrinsic_name(L, n, &arg) : NULL;
	if (!n || n->kind != HG_Y_MAP || fn) {
		ERR(L, nloc(L, n), "%s must be a mapping, not %s", what,
		    fn ? hg_arena_printf(L->a, "%s (hostgate resolves intrinsics only in values)", fn)
		       : n ? kind_word(n) : "nothing");
		return false;
	}
	const char *suggested[16];
	size_t n_sugg = 0;
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct hg_ynode *k = n->pairs[i].key;
		bool found = false;
		for (size_t j = 0; known[j] && !found; j++)
			found = !strcmp(k->str, known[j]);
		if (found)
			continue;
		const char *near = hg_diag_nearest(k->str, known);
		if (near) {
			ERR(L, nloc(L, k), "unknown key '%s' in %s; did you mean '%s'?", k->str, what, near);
			if (n_sugg < HG_ARRAY_LEN(suggested))
				suggested[n_sugg++] = near;
		} else {
			ERR(L, nloc(L, k), "unknown key '%s' in %s; expected one of %s", k->str, what,
			    join_names(L, known));
		}
	}
	for (size_t j = 0; required && required[j]; j++) {
		if (hg_ymap_get(n, required[j]))
			continue;
		bool hinted = false;
		for (size_t s = 0; s < n_sugg && !hinted; s++)
			hinted = !strcmp(suggested[s], required[j]);
		if (!hinted) /* the misspelling's message already says it */
			ERR(L, nloc(L, n), "%s is missing the required key '%s'", what, required[j]);
	}
	return true;
}

/* ------------------------------------------------------ intrinsics */

static bool eval(struct ld *L, const struct hg_ynode *n, struct cval *out);

static const char *const pseudo_names[] = {"AWS::StackName", "AWS::Region",  "AWS::AccountId",
					   "AWS::Partition", "AWS::URLSuffix", "AWS::StackId", NULL};
static const char *const pseudo_values[] = {
	"hostgate", CFN_REGION, CFN_ACCOUNT, "aws", "amazonaws.com",
	"arn:aws:cloudformation:" CFN_REGION ":" CFN_ACCOUNT ":stack/hostgate/00000000-0000-0000-0000-000000000000",
};

static struct cfn_res *find_res(struct ld *L, const char *id)
{
	for (size_t i = 0; i < L->n_res; i++)
		if (!strcmp(L->res[i].id, id))
			return &L->res[i];
	return NULL;
}

static void cv_str(struct cval *out, const char *s, struct hg_loc loc)
{
	memset(out, 0, sizeof(*out));
	out->kind = CV_STR;
	out->s = s;
	out->len = strlen(s);
	out->loc = out->vloc = loc;
}

static bool res_name(struct ld *L, struct cfn_res *r);

/* A parameter's value: --param NAME=VALUE, else its Default. */
static bool param_value(struct ld *L, const char *name, const struct hg_ynode *p, struct hg_loc at,
			struct cval *out)
{
	for (size_t i = 0; i < L->bad_params.n; i++)
		if (!strcmp(L->bad_params.v[i], name))
			return false;
	const struct hg_ynode *type = hg_ymap_get(p, "Type");
	const char *ty = type && type->kind == HG_Y_SCALAR ? type->str : "String";
	const char *given = NULL;
	for (size_t i = 0; L->o->params && i < L->o->n_params; i++)
		if (!strcmp(L->o->params[i].name, name))
			given = L->o->params[i].value; /* the last one given wins */
	if (given) {
		cv_str(out, hg_arena_strdup(L->a, given), at);
		/* CloudFormation refuses a value outside AllowedValues. */
		const struct hg_ynode *av = hg_ymap_get(p, "AllowedValues");
		if (av && av->kind == HG_Y_SEQ && av->n_items) {
			bool found = false;
			HG_VEC(const char *) names = {0};
			for (size_t i = 0; i < av->n_items; i++)
				if (av->items[i]->kind == HG_Y_SCALAR) {
					found |= !strcmp(av->items[i]->str, given);
					hg_vec_push(&names, av->items[i]->str);
				}
			hg_vec_push(&names, NULL);
			if (!found)
				ERR(L, at, "--param %s=%s is not one of the parameter's AllowedValues: %s", name, given,
				    join_names(L, names.v));
			hg_vec_free(&names);
			if (!found) {
				hg_vec_push(&L->bad_params, name);
				return false;
			}
		}
	} else {
		const struct hg_ynode *def = hg_ymap_get(p, "Default");
		if (!def) {
			ERR(L, at, "parameter '%s' has no Default; give its value with --param %s=VALUE", name, name);
			hg_vec_push(&L->bad_params, name);
			return false;
		}
		if (!strncmp(ty, "AWS::SSM::Parameter::Value", 26)) {
			ERR(L, at, "parameter '%s' is read from SSM Parameter Store; give its value with --param %s=VALUE",
			    name, name);
			hg_vec_push(&L->bad_params, name);
			return false;
		}
		if (!eval(L, def, out))
			return false;
	}
	/* List parameters are comma-separated strings (or a YAML list). */
	if (out->kind == CV_STR && (!strcmp(ty, "CommaDelimitedList") || !strncmp(ty, "List<", 5))) {
		HG_VEC(struct cval) items = {0};
		const char *s = out->s;
		size_t pos = 0;
		for (;;) {
			size_t e = pos;
			while (s[e] && s[e] != ',')
				e++;
			struct cval it;
			size_t a = pos, b = e;
			while (a < b && s[a] == ' ')
				a++;
			while (b > a && s[b - 1] == ' ')
				b--;
			cv_str(&it, hg_arena_strndup(L->a, s + a, b - a), cv_loc(out, a));
			it.exact = out->exact;
			hg_vec_push(&items, it);
			if (!s[e])
				break;
			pos = e + 1;
		}
		struct cval l = {.kind = CV_LIST, .loc = out->loc, .n = items.n};
		l.items = ARENA_COPY(L, items);
		hg_vec_free(&items);
		*out = l;
	}
	return true;
}

/* Ref NAME: a pseudo parameter, a parameter, or a NetworkFirewall
 * resource (whose Ref is its ARN). at is where the reference is written. */
static bool ref_value(struct ld *L, const char *name, struct hg_loc at, struct cval *out)
{
	for (size_t i = 0; pseudo_names[i]; i++)
		if (!strcmp(name, pseudo_names[i])) {
			cv_str(out, pseudo_values[i], at);
			return true;
		}
	if (!strcmp(name, "AWS::NoValue")) {
		ERR(L, at, "!Ref 'AWS::NoValue' where hostgate needs a value");
		return false;
	}
	const struct hg_ynode *p = hg_ymap_get(L->params, name);
	if (p)
		return param_value(L, name, p, at, out);
	struct cfn_res *r = find_res(L, name);
	if (!r) {
		ERR(L, at, "unresolvable !Ref '%s': no parameter or resource of that name in the template", name);
		return false;
	}
	if (r->kind == RES_OTHER) {
		ERR(L, at, "!Ref '%s' names a %s resource, whose value is known only once the stack is deployed",
		    name, r->type ? r->type : "?");
		return false;
	}
	if (!res_name(L, r))
		return false;
	cv_str(out, r->arn, at);
	out->res = r;
	return true;
}

static bool getatt_value(struct ld *L, const char *id, const char *attr, struct hg_loc at, struct cval *out)
{
	struct cfn_res *r = find_res(L, id);
	if (!r) {
		ERR(L, at, "unresolvable !GetAtt '%s.%s': no resource '%s' in the template", id, attr, id);
		return false;
	}
	static const char *const arn_attrs[] = {"Arn", "RuleGroupArn", "FirewallPolicyArn", "FirewallArn", NULL};
	bool arn = false;
	for (size_t i = 0; arn_attrs[i]; i++)
		arn |= !strcmp(attr, arn_attrs[i]);
	if (r->kind == RES_OTHER || !arn) {
		ERR(L, at, "!GetAtt '%s.%s' is known only once the stack is deployed", id, attr);
		return false;
	}
	if (!res_name(L, r))
		return false;
	cv_str(out, r->arn, at);
	out->res = r;
	return true;
}

/* A string argument of an intrinsic (itself possibly an intrinsic). */
static bool eval_str(struct ld *L, const struct hg_ynode *n, const char *what, struct cval *out)
{
	if (!eval(L, n, out))
		return false;
	if (out->kind != CV_STR) {
		ERR(L, nloc(L, n), "%s must be a string, not a list", what);
		return false;
	}
	return true;
}

static bool fn_sub(struct ld *L, const struct hg_ynode *arg, struct hg_loc at, struct cval *out)
{
	const struct hg_ynode *tmpl = arg, *vars = NULL;
	if (arg->kind == HG_Y_SEQ) {
		if (arg->n_items != 2 || arg->items[1]->kind != HG_Y_MAP) {
			ERR(L, at, "Fn::Sub takes a string or [string, {variables}]");
			return false;
		}
		tmpl = arg->items[0];
		vars = arg->items[1];
	}
	if (tmpl->kind != HG_Y_SCALAR) {
		ERR(L, nloc(L, tmpl), "Fn::Sub takes a string or [string, {variables}]");
		return false;
	}
	HG_VEC(char) buf = {0};
	const char *s = tmpl->str;
	bool ok = true;
	for (size_t i = 0; i < tmpl->len;) {
		if (s[i] == '$' && s[i + 1] == '{' && s[i + 2] == '!') { /* ${!Literal} */
			hg_vec_push(&buf, '$');
			hg_vec_push(&buf, '{');
			i += 3;
			continue;
		}
		if (!(s[i] == '$' && s[i + 1] == '{')) {
			hg_vec_push(&buf, s[i]);
			i++;
			continue;
		}
		const char *close = strchr(s + i + 2, '}');
		if (!close) {
			ERR(L, nloc(L, tmpl), "Fn::Sub: unterminated '${' in \"%s\"", s);
			ok = false;
			break;
		}
		char *name = hg_arena_strndup(L->a, s + i + 2, (size_t)(close - s - i - 2));
		struct hg_loc vloc = at;
		if (tmpl->exact)
			vloc = (struct hg_loc){L->file, tmpl->vline, tmpl->vcol + (uint32_t)i};
		struct cval v;
		bool got;
		const struct hg_ynode *local = hg_ymap_get(vars, name);
		const char *dot = strchr(name, '.');
		if (local)
			got = eval_str(L, local, name, &v);
		else if (dot)
			got = getatt_value(L, hg_arena_strndup(L->a, name, (size_t)(dot - name)), dot + 1, vloc, &v);
		else
			got = ref_value(L, name, vloc, &v);
		if (got && v.kind != CV_STR) {
			ERR(L, vloc, "Fn::Sub: '${%s}' is a list, not a string", name);
			got = false;
		}
		if (!got) {
			ok = false;
		} else {
			for (size_t k = 0; k < v.len; k++)
				hg_vec_push(&buf, v.s[k]);
		}
		i = (size_t)(close - s) + 1;
	}
	if (ok) {
		cv_str(out, hg_arena_strndup(L->a, buf.n ? buf.v : "", buf.n), at);
	}
	hg_vec_free(&buf);
	return ok;
}

static bool fn_join(struct ld *L, const struct hg_ynode *arg, struct hg_loc at, struct cval *out)
{
	struct cval delim, list;
	if (arg->kind != HG_Y_SEQ || arg->n_items != 2) {
		ERR(L, at, "Fn::Join takes [delimiter, [values]]");
		return false;
	}
	if (!eval_str(L, arg->items[0], "the Fn::Join delimiter", &delim) || !eval(L, arg->items[1], &list))
		return false;
	if (list.kind != CV_LIST) {
		ERR(L, nloc(L, arg->items[1]), "Fn::Join needs a list of values");
		return false;
	}
	HG_VEC(char) buf = {0};
	bool ok = true;
	for (size_t i = 0; i < list.n; i++) {
		if (list.items[i].kind != CV_STR) {
			ERR(L, list.items[i].loc, "Fn::Join values must be strings");
			ok = false;
			break;
		}
		if (i)
			for (size_t k = 0; k < delim.len; k++)
				hg_vec_push(&buf, delim.s[k]);
		for (size_t k = 0; k < list.items[i].len; k++)
			hg_vec_push(&buf, list.items[i].s[k]);
	}
	if (ok)
		cv_str(out, hg_arena_strndup(L->a, buf.n ? buf.v : "", buf.n), at);
	hg_vec_free(&buf);
	return ok;
}

static bool fn_select(struct ld *L, const struct hg_ynode *arg, struct hg_loc at, struct cval *out)
{
	struct cval idx, list;
	if (arg->kind != HG_Y_SEQ || arg->n_items != 2) {
		ERR(L, at, "Fn::Select takes [index, [values]]");
		return false;
	}
	if (!eval_str(L, arg->items[0], "the Fn::Select index", &idx) || !eval(L, arg->items[1], &list))
		return false;
	char *end;
	unsigned long i = strtoul(idx.s, &end, 10);
	if (!*idx.s || *end || idx.s[0] == '-') {
		ERR(L, idx.loc, "Fn::Select index '%s' is not a number", idx.s);
		return false;
	}
	if (list.kind != CV_LIST || i >= list.n) {
		ERR(L, at, "Fn::Select index %lu is out of range", i);
		return false;
	}
	*out = list.items[i];
	return true;
}

static bool fn_split(struct ld *L, const struct hg_ynode *arg, struct hg_loc at, struct cval *out)
{
	struct cval delim, str;
	if (arg->kind != HG_Y_SEQ || arg->n_items != 2) {
		ERR(L, at, "Fn::Split takes [delimiter, string]");
		return false;
	}
	if (!eval_str(L, arg->items[0], "the Fn::Split delimiter", &delim) ||
	    !eval_str(L, arg->items[1], "the Fn::Split source", &str))
		return false;
	if (!delim.len) {
		ERR(L, delim.loc, "Fn::Split needs a non-empty delimiter");
		return false;
	}
	HG_VEC(struct cval) items = {0};
	size_t pos = 0;
	for (;;) {
		const char *hit = strstr(str.s + pos, delim.s);
		size_t e = hit ? (size_t)(hit - str.s) : str.len;
		struct cval it;
		cv_str(&it, hg_arena_strndup(L->a, str.s + pos, e - pos), cv_loc(&str, pos));
		it.exact = str.exact;
		hg_vec_push(&items, it);
		if (!hit)
			break;
		pos = e + delim.len;
	}
	*out = (struct cval){.kind = CV_LIST, .loc = at, .n = items.n};
	out->items = ARENA_COPY(L, items);
	hg_vec_free(&items);
	return true;
}

/* fn is "Ref" or "Fn::X"; arg its argument node; at where it is written. */
static bool intrinsic(struct ld *L, const char *fn, const struct hg_ynode *arg, struct hg_loc at, struct cval *out)
{
	if (!L->tmpl) {
		ERR(L, at, "%s outside a CloudFormation template", fn);
		return false;
	}
	if (!strcmp(fn, "Ref")) {
		if (arg->kind != HG_Y_SCALAR) {
			ERR(L, at, "Ref takes a name");
			return false;
		}
		return ref_value(L, arg->str, at, out);
	}
	if (!strcmp(fn, "Fn::GetAtt")) {
		if (arg->kind == HG_Y_SCALAR) {
			const char *dot = strchr(arg->str, '.');
			if (!dot) {
				ERR(L, at, "Fn::GetAtt takes 'Resource.Attribute'");
				return false;
			}
			return getatt_value(L, hg_arena_strndup(L->a, arg->str, (size_t)(dot - arg->str)), dot + 1, at,
					    out);
		}
		if (arg->kind == HG_Y_SEQ && arg->n_items == 2 && arg->items[0]->kind == HG_Y_SCALAR) {
			struct cval attr;
			if (!eval_str(L, arg->items[1], "the Fn::GetAtt attribute", &attr))
				return false;
			return getatt_value(L, arg->items[0]->str, attr.s, at, out);
		}
		ERR(L, at, "Fn::GetAtt takes 'Resource.Attribute' or [Resource, Attribute]");
		return false;
	}
	if (!strcmp(fn, "Fn::Sub"))
		return fn_sub(L, arg, at, out);
	if (!strcmp(fn, "Fn::Join"))
		return fn_join(L, arg, at, out);
	if (!strcmp(fn, "Fn::Select"))
		return fn_select(L, arg, at, out);
	if (!strcmp(fn, "Fn::Split"))
		return fn_split(L, arg, at, out);
	ERR(L, at, "%s is not supported by hostgate where a value is needed; write the value, or use Ref, "
		   "Fn::Sub, Fn::Join, Fn::Select, Fn::Split or Fn::GetAtt",
	    fn);
	return false;
}

/* The intrinsic a node spells, if any: a short-form tag ("!Sub") or a
 * one-key mapping ({"Fn::Sub": ...}, {"Ref": ...}). */
static const char *intrinsic_name(struct ld *L, const struct hg_ynode *n, const struct hg_ynode **arg)
{
	if (n->tag && n->tag[0] == '!' && n->tag[1]) {
		*arg = n;
		const char *t = n->tag + 1;
		if (!strcmp(t, "Ref") || !strcmp(t, "Condition"))
			return t;
		return hg_arena_printf(L->a, "Fn::%s", t);
	}
	/* The long form only inside a template: elsewhere {"Ref": ...} may be
	 * data (a variable named Ref). */
	if (L->tmpl && n->kind == HG_Y_MAP && n->n_pairs == 1) {
		const char *k = n->pairs[0].key->str;
		if (!strcmp(k, "Ref") || !strncmp(k, "Fn::", 4)) {
			*arg = n->pairs[0].val;
			return k;
		}
	}
	return NULL;
}

static bool eval(struct ld *L, const struct hg_ynode *n, struct cval *out)
{
	memset(out, 0, sizeof(*out));
	const struct hg_ynode *arg;
	const char *fn = intrinsic_name(L, n, &arg);
	if (fn) {
		/* Parameters default to intrinsics that name parameters ...; a
		 * loop would recurse forever. */
		if (++L->eval_depth > 32) {
			ERR(L, nloc(L, n), "intrinsic functions nested more than 32 deep (a reference cycle?)");
			L->eval_depth--;
			return false;
		}
		bool ok = intrinsic(L, fn, arg, nloc(L, n), out);
		L->eval_depth--;
		return ok;
	}
	switch (n->kind) {
	case HG_Y_SCALAR:
		out->kind = CV_STR;
		out->s = n->str;
		out->len = n->len;
		out->loc = nloc(L, n);
		out->vloc = (struct hg_loc){L->file, n->vline, n->vcol};
		out->exact = n->exact;
		return true;
	case HG_Y_SEQ: {
		out->kind = CV_LIST;
		out->loc = nloc(L, n);
		out->n = n->n_items;
		out->items = hg_arena_alloc(L->a, (n->n_items + 1) * sizeof(*out->items));
		bool ok = true;
		for (size_t i = 0; i < n->n_items; i++)
			ok &= eval(L, n->items[i], &out->items[i]);
		return ok;
	}
	default:
		ERR(L, nloc(L, n), "expected a value, found a mapping");
		return false;
	}
}

/* ------------------------------------------------------ typed getters */

static bool get_str(struct ld *L, const struct hg_ynode *n, const char *what, struct cval *out)
{
	if (!eval(L, n, out))
		return false;
	if (out->kind != CV_STR) {
		ERR(L, nloc(L, n), "%s must be a string, not a list", what);
		return false;
	}
	if (memchr(out->s, '\0', out->len)) {
		ERR(L, out->loc, "%s contains a NUL character", what);
		return false;
	}
	return true;
}

/* A list of strings; a scalar where a list is wanted is an error. */
static bool get_list(struct ld *L, const struct hg_ynode *n, const char *what, struct cval *out)
{
	if (!eval(L, n, out))
		return false;
	if (out->kind != CV_LIST) {
		ERR(L, nloc(L, n), "%s must be a list", what);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < out->n; i++)
		if (out->items[i].kind != CV_STR) {
			ERR(L, out->items[i].loc, "%s entries must be strings, not lists", what);
			ok = false;
		}
	return ok;
}

static bool get_uint(struct ld *L, const struct hg_ynode *n, const char *what, uint32_t min, uint32_t max,
		     uint32_t *v)
{
	struct cval s;
	if (!get_str(L, n, what, &s))
		return false;
	uint64_t x = 0;
	bool ok = s.len > 0 && s.len <= 10;
	for (size_t i = 0; ok && i < s.len; i++) {
		ok = s.s[i] >= '0' && s.s[i] <= '9';
		x = x * 10 + (uint64_t)(s.s[i] - '0');
	}
	if (!ok || x < min || x > max) {
		ERR(L, s.loc, "invalid value '%s' for %s; expected an integer from %u to %u", s.s, what, min, max);
		return false;
	}
	*v = (uint32_t)x;
	return true;
}

/* A string from a fixed set: index into names[]. */
static bool get_enum(struct ld *L, const struct hg_ynode *n, const char *what, const char *const *names, int *idx)
{
	struct cval s;
	if (!get_str(L, n, what, &s))
		return false;
	for (int i = 0; names[i]; i++)
		if (!strcmp(s.s, names[i])) {
			*idx = i;
			return true;
		}
	ERR(L, s.loc, "invalid value '%s' for %s; expected one of %s", s.s, what, join_names(L, names));
	return false;
}

static bool enum_of(struct ld *L, const struct cval *s, const char *what, const char *const *names, int *idx)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(s->s, names[i])) {
			*idx = i;
			return true;
		}
	ERR(L, s->loc, "invalid value '%s' for %s; expected one of %s", s->s, what, join_names(L, names));
	return false;
}

static const char *const booleans[] = {"false", "False", "FALSE", "true", "True", "TRUE", NULL};

static bool get_bool(struct ld *L, const struct hg_ynode *n, const char *what, bool *v)
{
	int k;
	if (!get_enum(L, n, what, booleans, &k))
		return false;
	*v = k >= 3;
	return true;
}

/* A real YAML list of mappings (rules, references): no intrinsics. */
static bool get_seq(struct ld *L, const struct hg_ynode *n, const char *what)
{
	if (n->kind != HG_Y_SEQ || (n->tag && n->tag[0] == '!')) {
		ERR(L, nloc(L, n), "%s must be a list, not %s", what, kind_word(n));
		return false;
	}
	return true;
}

/* -------------------------------------------------------- expressions */

/* Address/port expressions as Suricata writes them: "any", a literal,
 * "$VAR", "@REF", "[a, b]", each optionally negated with '!'. */
struct xp {
	struct ld *L;
	const struct cval *v;
	size_t pos;
	bool ok;
};

static void xp_ws(struct xp *x)
{
	while (x->pos < x->v->len && (x->v->s[x->pos] == ' ' || x->v->s[x->pos] == '\t'))
		x->pos++;
}

static struct hg_expr *xp_parse(struct xp *x, unsigned depth)
{
	struct ld *L = x->L;
	const char *s = x->v->s;
	xp_ws(x);
	struct hg_expr *e = hg_arena_alloc(L->a, sizeof(*e));
	e->loc = cv_loc(x->v, x->pos);
	if (depth > 16) {
		ERR(L, e->loc, "address or port list nested more than 16 deep");
		x->ok = false;
		return e;
	}
	if (x->pos < x->v->len && s[x->pos] == '!') {
		x->pos++;
		struct hg_expr *in = xp_parse(x, depth + 1);
		in->negated = !in->negated;
		in->loc = e->loc;
		return in;
	}
	if (x->pos < x->v->len && s[x->pos] == '[') {
		x->pos++;
		e->kind = HG_EXPR_LIST;
		HG_VEC(struct hg_expr *) items = {0};
		for (;;) {
			hg_vec_push(&items, xp_parse(x, depth + 1));
			xp_ws(x);
			if (x->pos < x->v->len && s[x->pos] == ',') {
				x->pos++;
				continue;
			}
			if (x->pos < x->v->len && s[x->pos] == ']') {
				x->pos++;
				break;
			}
			ERR(L, cv_loc(x->v, x->pos), "expected ',' or ']' in '%s'", s);
			x->ok = false;
			break;
		}
		e->n_items = items.n;
		e->items = ARENA_COPY(L, items);
		hg_vec_free(&items);
		return e;
	}
	size_t b = x->pos;
	while (x->pos < x->v->len && !strchr(",] \t[", s[x->pos]))
		x->pos++;
	size_t n = x->pos - b;
	if (n == 0) {
		ERR(L, e->loc, "empty entry in '%s'", s);
		x->ok = false;
		e->kind = HG_EXPR_ANY;
		return e;
	}
	if (s[b] == '$' || s[b] == '@') {
		e->kind = s[b] == '$' ? HG_EXPR_VAR : HG_EXPR_REF;
		e->text = hg_arena_strndup(L->a, s + b + 1, n - 1);
		if (n == 1) {
			ERR(L, e->loc, "'%c' without a variable name", s[b]);
			x->ok = false;
		}
	} else if (hg_ascii_casecmp_eq(s + b, n, "any", 3)) {
		e->kind = HG_EXPR_ANY;
	} else {
		e->kind = HG_EXPR_LITERAL;
		e->text = hg_arena_strndup(L->a, s + b, n);
	}
	return e;
}

static struct hg_expr *parse_expr(struct ld *L, const struct cval *v, bool *ok)
{
	struct xp x = {L, v, 0, true};
	struct hg_expr *e = xp_parse(&x, 0);
	xp_ws(&x);
	if (x.ok && x.pos < v->len) {
		ERR(L, cv_loc(v, x.pos), "unexpected '%c' in '%s'", v->s[x.pos], v->s);
		x.ok = false;
	}
	*ok &= x.ok;
	return e;
}

/* ---------------------------------------------------------- variables */

static bool var_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 32 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return false;
	return true;
}

/* NAME: {Definition: [...]} entries of an IPSets / PortSets mapping. */
static bool parse_var_map(struct ld *L, const struct hg_ynode *m, const char *what, enum hg_var_kind kind,
			  void *vecp)
{
	HG_VEC(struct hg_var *) *vars = vecp;
	if (m->kind != HG_Y_MAP) {
		ERR(L, nloc(L, m), "%s must be a mapping of variable names", what);
		return false;
	}
	bool ok = true;
	static const char *const keys[] = {"Definition", NULL};
	for (size_t i = 0; i < m->n_pairs; i++) {
		const struct hg_ynode *k = m->pairs[i].key, *v = m->pairs[i].val;
		if (!var_name_ok(k->str)) {
			ERR(L, nloc(L, k),
			    "invalid variable name '%s': 1 to 32 letters, digits and '_', starting with a letter",
			    k->str);
			ok = false;
			continue;
		}
		char *ctx = hg_arena_printf(L->a, "%s.%s", what, k->str);
		if (!check_map(L, v, ctx, keys, keys)) {
			ok = false;
			continue;
		}
		const struct hg_ynode *def = hg_ymap_get(v, "Definition");
		struct cval list;
		if (!def)
			continue;
		if (!get_list(L, def, hg_arena_printf(L->a, "%s.Definition", ctx), &list)) {
			ok = false;
			continue;
		}
		if (list.n == 0) {
			ERR(L, nloc(L, def), "%s.Definition is empty", ctx);
			ok = false;
			continue;
		}
		struct hg_var *var = hg_arena_alloc(L->a, sizeof(*var));
		var->loc = nloc(L, k);
		var->name = k->str;
		var->kind = kind;
		var->n_defs = list.n;
		var->defs = hg_arena_alloc(L->a, list.n * sizeof(*var->defs));
		for (size_t j = 0; j < list.n; j++)
			var->defs[j] = parse_expr(L, &list.items[j], &ok);
		for (size_t j = 0; j < vars->n; j++)
			if (!strcmp(vars->v[j]->name, var->name)) {
				ERR(L, var->loc, "variable '%s' is defined twice (first at line %u)", var->name,
				    vars->v[j]->loc.line);
				ok = false;
			}
		hg_vec_push(vars, var);
	}
	return ok;
}

/* RuleVariables {IPSets: {...}, PortSets: {...}}. */
static bool parse_rule_vars(struct ld *L, const struct hg_ynode *n, struct hg_var ***out, size_t *n_out)
{
	static const char *const keys[] = {"IPSets", "PortSets", NULL};
	if (!check_map(L, n, "RuleVariables", keys, NULL))
		return false;
	HG_VEC(struct hg_var *) vars = {0};
	bool ok = true;
	const struct hg_ynode *x;
	if ((x = hg_ymap_get(n, "IPSets")))
		ok &= parse_var_map(L, x, "IPSets", HG_VAR_IP, &vars);
	if ((x = hg_ymap_get(n, "PortSets")))
		ok &= parse_var_map(L, x, "PortSets", HG_VAR_PORT, &vars);
	*out = ARENA_COPY(L, vars);
	*n_out = vars.n;
	hg_vec_free(&vars);
	return ok;
}

/* ---------------------------------------------------------- domain list */

static const char *const list_types[] = {"ALLOWLIST", "DENYLIST", "REJECTLIST", "ALERTLIST", NULL};
static const char *const target_types[] = {"TLS_SNI", "HTTP_HOST", NULL};

/* Adds one Targets entry, lower-cased with one trailing dot dropped
 * (anfw.md §1.2). A name already in that form is the tree's own string:
 * a list of a million names is not copied again. */
static bool domain_target_add(struct ld *L, struct hg_domain_list *l, const struct cval *v)
{
	const char *why;
	size_t bad;
	if (!hg_domain_valid(v->s, v->len, &why, &bad)) {
		ERR(L, cv_loc(v, bad), "invalid domain-list target '%s': %s", v->s, why);
		return false;
	}
	size_t len = v->len;
	if (len > 1 && v->s[len - 1] == '.')
		len--;
	bool folded = len == v->len;
	for (size_t k = 0; folded && k < len; k++)
		folded = hg_lower((unsigned char)v->s[k]) == (unsigned char)v->s[k];
	const char *name = v->s;
	if (!folded) {
		char *c = hg_arena_alloc_raw(L->a, len + 1, 1);
		for (size_t k = 0; k < len; k++)
			c[k] = (char)hg_lower((unsigned char)v->s[k]);
		c[len] = '\0';
		name = c;
	}
	l->targets[l->n_targets++] = (struct hg_domain_target){v->loc, name};
	return true;
}

/* Targets from evaluated values (an intrinsic such as !Split gave the list). */
static bool domain_targets(struct ld *L, struct hg_domain_list *l, const struct cval *items, size_t n,
			   struct hg_loc at)
{
	bool ok = true;
	if (!n) {
		ERR(L, at, "Targets is empty; a domain list needs at least one domain");
		ok = false;
	}
	l->targets = hg_arena_alloc(L->a, (n + 1) * sizeof(*l->targets));
	for (size_t i = 0; i < n; i++)
		ok &= domain_target_add(L, l, &items[i]);
	return ok;
}

/* Targets written as a sequence: evaluated entry by entry, so a list of a
 * million names needs no array of evaluated values. Same diagnostics, in
 * the same order, as get_list() then domain_targets(): entries that fail to
 * evaluate, then entries that are lists, and only when all are strings the
 * invalid names. */
static bool domain_targets_seq(struct ld *L, struct hg_domain_list *l, const struct hg_ynode *x)
{
	bool ok = true;
	HG_VEC(struct hg_loc) lists = {0};
	struct cval v;
	for (size_t i = 0; i < x->n_items; i++) {
		const struct hg_ynode *it = x->items[i];
		if (it->kind == HG_Y_SCALAR && !(it->tag && it->tag[0] == '!' && it->tag[1]))
			continue; /* a plain string: eval() cannot fail on it */
		if (!eval(L, it, &v))
			ok = false;
		else if (v.kind != CV_STR)
			hg_vec_push(&lists, v.loc);
	}
	for (size_t i = 0; i < lists.n; i++)
		ERR(L, lists.v[i], "%s entries must be strings, not lists", "Targets");
	ok &= !lists.n;
	hg_vec_free(&lists);
	if (!ok)
		return false;
	if (!x->n_items) {
		ERR(L, nloc(L, x), "Targets is empty; a domain list needs at least one domain");
		ok = false;
	}
	l->targets = hg_arena_alloc_raw(L->a, (x->n_items + 1) * sizeof(*l->targets), 16);
	for (size_t i = 0; i < x->n_items; i++) {
		/* eval() of a plain scalar only describes it. */
		if (!eval(L, x->items[i], &v)) {
			ok = false;
			continue;
		}
		ok &= domain_target_add(L, l, &v);
	}
	memset(&l->targets[l->n_targets], 0, sizeof(*l->targets));
	return ok;
}

static bool parse_domain_list(struct ld *L, struct hg_rule_group *g, const struct hg_ynode *n)
{
	static const char *const keys[] = {"Targets", "TargetTypes", "GeneratedRulesType", NULL};
	if (!check_map(L, n, "RulesSourceList", keys, keys))
		return false;
	bool ok = true;
	struct hg_domain_list *l = hg_arena_alloc(L->a, sizeof(*l));
	l->loc = nloc(L, n);
	const struct hg_ynode *x;
	int t;
	if ((x = hg_ymap_get(n, "GeneratedRulesType"))) {
		if (get_enum(L, x, "GeneratedRulesType", list_types, &t))
			l->type = (enum hg_list_type)t;
		else
			ok = false;
	}
	struct cval list;
	if ((x = hg_ymap_get(n, "TargetTypes"))) {
		if (get_list(L, x, "TargetTypes", &list)) {
			if (!list.n) {
				ERR(L, nloc(L, x), "TargetTypes is empty; give TLS_SNI, HTTP_HOST or both");
				ok = false;
			}
			for (size_t i = 0; i < list.n; i++) {
				if (enum_of(L, &list.items[i], "TargetTypes", target_types, &t))
					l->target_types |= t == 0 ? HG_TARGET_TLS_SNI : HG_TARGET_HTTP_HOST;
				else
					ok = false;
			}
		} else {
			ok = false;
		}
	}
	if ((x = hg_ymap_get(n, "Targets"))) {
		const struct hg_ynode *arg;
		if (x->kind == HG_Y_SEQ && !intrinsic_name(L, x, &arg))
			ok &= domain_targets_seq(L, l, x);
		else if (get_list(L, x, "Targets", &list))
			ok &= domain_targets(L, l, list.items, list.n, nloc(L, x));
		else
			ok = false;
	}
	g->list = l;
	g->source = HG_SRC_DOMAIN_LIST;
	return ok;
}

/* ---------------------------------------------------- stateful 5-tuple rules */

/* Suricata text built from a StatefulRule, with the YAML position of
 * every byte so the Suricata loader's diagnostics and locations land on
 * the YAML nodes the text came from. */
struct tbuf {
	HG_VEC(char) s;
	HG_VEC(struct hg_loc) at;
};

static void tb_putc(struct tbuf *t, char c, struct hg_loc at)
{
	hg_vec_push(&t->s, c);
	hg_vec_push(&t->at, at);
}

static void tb_lit(struct tbuf *t, const char *s, struct hg_loc at)
{
	for (; *s; s++)
		tb_putc(t, *s, at);
}

/* A value, blanks dropped ("[a, b]" -> "[a,b]"), newlines as blanks. */
static void tb_val(struct tbuf *t, const struct cval *v, bool squeeze)
{
	for (size_t i = 0; i < v->len; i++) {
		char c = v->s[i];
		if (squeeze && (c == ' ' || c == '\t'))
			continue;
		if (c == '\n' || c == '\r')
			c = ' ';
		tb_putc(t, c, cv_loc(v, i));
	}
}

static void remap_loc(struct hg_loc *l, const struct ld *L, const struct tbuf *t)
{
	if (!l->file || strcmp(l->file, L->file) || l->line != 1 || !t->at.n)
		return;
	size_t off = l->col ? l->col - 1 : 0;
	*l = t->at.v[off < t->at.n ? off : t->at.n - 1];
}

static void remap_expr(struct hg_expr *e, const struct ld *L, const struct tbuf *t)
{
	if (!e)
		return;
	remap_loc(&e->loc, L, t);
	for (size_t i = 0; i < e->n_items; i++)
		remap_expr(e->items[i], L, t);
}

static const char *const rule_actions[] = {"PASS", "DROP", "ALERT", "REJECT", NULL};
static const char *const rule_protos[] = {"IP",  "TCP",  "UDP", "ICMP", "HTTP", "FTP",   "TLS",
					  "SMB", "DNS",  "DCERPC", "SSH",  "SMTP", "IMAP", "MSN",
					  "KRB5", "IKEV2", "TFTP", "NTP", "DHCP", "HTTP2", "QUIC", NULL};
static const char *const directions[] = {"FORWARD", "ANY", NULL};

static bool header_field(struct ld *L, const struct hg_ynode *h, const char *key, struct cval *v)
{
	const struct hg_ynode *n = hg_ymap_get(h, key);
	if (!n)
		return false;
	if (!get_str(L, n, key, v))
		return false;
	if (!v->len) {
		ERR(L, v->loc, "Header.%s is empty; write ANY for any", key);
		return false;
	}
	return true;
}

static bool parse_stateful_rule(struct ld *L, struct hg_rule_group *g, const struct hg_ynode *n)
{
	static const char *const keys[] = {"Action", "Header", "RuleOptions", NULL};
	static const char *const hkeys[] = {"Protocol", "Source", "SourcePort", "Direction", "Destination",
					    "DestinationPort", NULL};
	static const char *const okeys[] = {"Keyword", "Settings", NULL};
	static const char *const okeys_req[] = {"Keyword", NULL};
	if (!check_map(L, n, "StatefulRule", keys, keys))
		return false;
	bool ok = true;
	int action = 0, proto = 0, dir = 0;
	const struct hg_ynode *x;
	if ((x = hg_ymap_get(n, "Action")))
		ok &= get_enum(L, x, "Action", rule_actions, &action);
	struct cval src, sport, dst, dport;
	const struct hg_ynode *h = hg_ymap_get(n, "Header");
	if (h) {
		if (check_map(L, h, "Header", hkeys, hkeys)) {
			if ((x = hg_ymap_get(h, "Protocol")))
				ok &= get_enum(L, x, "Protocol", rule_protos, &proto);
			/* API StatefulRule.Action: "REJECT is available only for
			 * TCP traffic. This option doesn't support FTP or IMAP
			 * protocols." The API refuses it; so do we, for the
			 * protocols that are never TCP and the two it names
			 * (IP and the protocols that run over TCP and UDP alike
			 * stay: their TCP flows get the reset, others a drop). */
			static const bool never_tcp_reject[] = {
				[2] = true /* UDP */, [3] = true /* ICMP */, [5] = true /* FTP */,
				[12] = true /* IMAP */, [15] = true /* IKEV2 */, [16] = true /* TFTP */,
				[17] = true /* NTP */, [18] = true /* DHCP */, [20] = true /* QUIC */,
			};
			if (ok && x && action == 3 && (size_t)proto < HG_ARRAY_LEN(never_tcp_reject) &&
			    never_tcp_reject[proto]) {
				ERR(L, nloc(L, hg_ymap_get(n, "Action")),
				    "Action REJECT on Protocol %s: REJECT is available only for TCP traffic "
				    "(a TCP reset answers it) and not for FTP or IMAP (API StatefulRule)",
				    rule_protos[proto]);
				ok = false;
			}
			if ((x = hg_ymap_get(h, "Direction")))
				ok &= get_enum(L, x, "Direction", directions, &dir);
			ok &= header_field(L, h, "Source", &src);
			ok &= header_field(L, h, "SourcePort", &sport);
			ok &= header_field(L, h, "Destination", &dst);
			ok &= header_field(L, h, "DestinationPort", &dport);
		} else {
			ok = false;
		}
	}
	const struct hg_ynode *opts = hg_ymap_get(n, "RuleOptions");
	bool has_sid = false;
	if (opts && !get_seq(L, opts, "RuleOptions"))
		ok = false, opts = NULL;
	for (size_t i = 0; opts && i < opts->n_items; i++) {
		const struct hg_ynode *o = opts->items[i];
		if (!check_map(L, o, "RuleOption", okeys, okeys_req)) {
			ok = false;
			continue;
		}
		struct cval kw;
		if ((x = hg_ymap_get(o, "Keyword")) && get_str(L, x, "Keyword", &kw)) {
			has_sid |= !strcmp(kw.s, "sid");
			bool word = kw.len > 0;
			for (size_t k = 0; k < kw.len; k++)
				word &= !strchr(" \t;:()\"", kw.s[k]);
			if (!word) {
				ERR(L, kw.loc, "invalid RuleOption Keyword '%s'", kw.s);
				ok = false;
			}
		} else {
			ok = false;
		}
		if ((x = hg_ymap_get(o, "Settings"))) {
			struct cval sl;
			ok &= get_list(L, x, "Settings", &sl);
		}
	}
	if (ok && !has_sid) {
		ERR(L, opts ? nloc(L, opts) : nloc(L, n), "StatefulRule needs a 'sid' RuleOption");
		ok = false;
	}
	if (!ok || !h)
		return false;

	/* ACTION PROTO SRC SPORT DIR DST DPORT (KEYWORD:SETTINGS; ...) */
	struct tbuf t = {0};
	struct hg_loc at = nloc(L, hg_ymap_get(n, "Action"));
	tb_lit(&t, hg_arena_printf(L->a, "%s ", hg_action_name((enum hg_action)(action == 2 ? HG_ACT_ALERT
										: action == 3 ? HG_ACT_REJECT
										: action))), at);
	char *pname = hg_arena_strdup(L->a, rule_protos[proto]);
	for (char *p = pname; *p; p++)
		*p = (char)hg_lower((unsigned char)*p);
	tb_lit(&t, pname, nloc(L, hg_ymap_get(h, "Protocol")));
	const struct cval *f4[] = {&src, &sport, &dst, &dport};
	for (int i = 0; i < 4; i++) {
		tb_putc(&t, ' ', f4[i]->loc);
		if (hg_ascii_casecmp_eq(f4[i]->s, f4[i]->len, "any", 3))
			tb_lit(&t, "any", f4[i]->loc);
		else
			tb_val(&t, f4[i], true);
		if (i == 1)
			tb_lit(&t, dir == 1 ? " <>" : " ->", nloc(L, hg_ymap_get(h, "Direction")));
	}
	tb_lit(&t, " (", at);
	for (size_t i = 0; i < opts->n_items; i++) {
		const struct hg_ynode *o = opts->items[i];
		struct cval kw, sl = {0};
		get_str(L, hg_ymap_get(o, "Keyword"), "Keyword", &kw);
		if ((x = hg_ymap_get(o, "Settings")))
			get_list(L, x, "Settings", &sl);
		if (i)
			tb_putc(&t, ' ', kw.loc);
		tb_val(&t, &kw, false);
		for (size_t k = 0; k < sl.n; k++) {
			const struct cval *v = &sl.items[k];
			tb_putc(&t, k ? ',' : ':', v->loc);
			if (!strcmp(kw.s, "msg") && (v->len == 0 || v->s[0] != '"')) {
				/* ANFW's examples write msg bare; Suricata wants it quoted. */
				tb_putc(&t, '"', v->loc);
				for (size_t c = 0; c < v->len; c++) {
					if (strchr("\";\\", v->s[c]))
						tb_putc(&t, '\\', cv_loc(v, c));
					tb_putc(&t, v->s[c] == '\n' ? ' ' : v->s[c], cv_loc(v, c));
				}
				tb_putc(&t, '"', v->loc);
			} else {
				tb_val(&t, v, false);
			}
		}
		tb_putc(&t, ';', kw.loc);
	}
	tb_putc(&t, ')', at);
	tb_putc(&t, '\0', at);
	t.s.n--;
	t.at.n--;

	size_t recs0 = L->d->recs.n, rules0 = g->n_rules;
	bool lok = hg_load_suricata(L->rs, g, t.s.v, t.s.n, (struct hg_loc){L->file, 1, 1}, false, L->d);
	for (size_t i = recs0; i < L->d->recs.n; i++)
		remap_loc(&L->d->recs.v[i].loc, L, &t);
	for (size_t i = rules0; i < g->n_rules; i++) {
		struct hg_rule *r = g->rules[i];
		r->loc = nloc(L, n);
		remap_expr(r->src, L, &t);
		remap_expr(r->sport, L, &t);
		remap_expr(r->dst, L, &t);
		remap_expr(r->dport, L, &t);
		for (size_t m = 0; m < r->n_matches; m++)
			remap_loc(&r->matches[m].loc, L, &t);
		if (r->geoip) /* finalize reports at it (no database) */
			remap_loc(&r->geoip->loc, L, &t);
	}
	hg_vec_free(&t.s);
	hg_vec_free(&t.at);
	return lok;
}

/* ------------------------------------------------------- stateless rules */

static const char *const tcp_flag_names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", NULL};

static bool sl_addresses(struct ld *L, const struct hg_ynode *n, const char *what, struct hg_ipset *set,
			 uint32_t *n_written)
{
	static const char *const keys[] = {"AddressDefinition", NULL};
	if (!get_seq(L, n, what))
		return false;
	bool ok = true;
	for (size_t i = 0; i < n->n_items; i++) {
		const struct hg_ynode *it = n->items[i], *x;
		if (!check_map(L, it, what, keys, keys)) {
			ok = false;
			continue;
		}
		struct cval v;
		struct hg_ip lo, hi;
		if (!(x = hg_ymap_get(it, "AddressDefinition")) || !get_str(L, x, "AddressDefinition", &v)) {
			ok = false;
			continue;
		}
		if (!hg_ip_parse_cidr(v.s, &lo, &hi)) {
			ERR(L, v.loc, "invalid address or CIDR '%s' in %s", v.s, what);
			ok = false;
			continue;
		}
		hg_ipset_add(set, &lo, &hi);
	}
	*n_written = (uint32_t)n->n_items;
	return ok;
}

static bool sl_ports(struct ld *L, const struct hg_ynode *n, const char *what, struct hg_portset *set,
		     uint32_t *n_written)
{
	static const char *const keys[] = {"FromPort", "ToPort", NULL};
	if (!get_seq(L, n, what))
		return false;
	bool ok = true;
	for (size_t i = 0; i < n->n_items; i++) {
		const struct hg_ynode *it = n->items[i];
		if (!check_map(L, it, what, keys, keys)) {
			ok = false;
			continue;
		}
		uint32_t lo, hi;
		const struct hg_ynode *f = hg_ymap_get(it, "FromPort"), *t = hg_ymap_get(it, "ToPort");
		if (!f || !t || !get_uint(L, f, "FromPort", 0, 65535, &lo) || !get_uint(L, t, "ToPort", 0, 65535, &hi)) {
			ok = false;
			continue;
		}
		if (lo > hi) {
			ERR(L, nloc(L, it), "%s range %u-%u: FromPort is above ToPort", what, lo, hi);
			ok = false;
			continue;
		}
		hg_portset_add(set, (uint16_t)lo, (uint16_t)hi);
	}
	*n_written = (uint32_t)n->n_items;
	return ok;
}

/* Flags/Masks lists. The error sits on the list: the flag set is one
 * field of the API's TCPFlagField. */
static bool sl_flag_bits(struct ld *L, const struct hg_ynode *n, const char *what, uint8_t *bits)
{
	struct cval l;
	if (!get_list(L, n, what, &l))
		return false;
	bool ok = true;
	for (size_t i = 0; i < l.n; i++) {
		int f = -1;
		for (int k = 0; tcp_flag_names[k]; k++)
			if (!strcmp(l.items[i].s, tcp_flag_names[k]))
				f = k;
		if (f < 0) {
			const char *near = hg_diag_nearest(l.items[i].s, tcp_flag_names);
			ERR(L, nloc(L, n), "invalid value '%s' for TCP %s; %s%s%sexpected one of %s", l.items[i].s, what,
			    near ? "did you mean '" : "", near ? near : "", near ? "'? " : "",
			    join_names(L, tcp_flag_names));
			ok = false;
			continue;
		}
		*bits |= (uint8_t)(1u << f);
	}
	return ok;
}

static bool sl_match(struct ld *L, struct hg_stateless_rule *r, const struct hg_ynode *m)
{
	static const char *const keys[] = {"Sources",  "Destinations", "SourcePorts", "DestinationPorts",
					   "Protocols", "TCPFlags",    NULL};
	static const char *const fkeys[] = {"Flags", "Masks", NULL};
	static const char *const freq[] = {"Flags", NULL};
	if (!check_map(L, m, "MatchAttributes", keys, NULL))
		return false;
	bool ok = true;
	const struct hg_ynode *x;
	if ((x = hg_ymap_get(m, "Sources")))
		ok &= sl_addresses(L, x, "Sources", &r->sources, &r->n_written[0]);
	if ((x = hg_ymap_get(m, "Destinations")))
		ok &= sl_addresses(L, x, "Destinations", &r->destinations, &r->n_written[1]);
	if ((x = hg_ymap_get(m, "SourcePorts")))
		ok &= sl_ports(L, x, "SourcePorts", &r->src_ports, &r->n_written[2]);
	if ((x = hg_ymap_get(m, "DestinationPorts")))
		ok &= sl_ports(L, x, "DestinationPorts", &r->dst_ports, &r->n_written[3]);
	r->any_source = r->sources.n == 0;
	r->any_destination = r->destinations.n == 0;
	r->any_sport = r->src_ports.n == 0;
	r->any_dport = r->dst_ports.n == 0;
	if ((x = hg_ymap_get(m, "Protocols"))) {
		struct cval l;
		if (get_list(L, x, "Protocols", &l)) {
			for (size_t i = 0; i < l.n; i++) {
				uint32_t p;
				struct hg_ynode tmp = {.kind = HG_Y_SCALAR,
						       .str = l.items[i].s,
						       .len = l.items[i].len,
						       .vline = l.items[i].loc.line,
						       .vcol = l.items[i].loc.col,
						       .line = l.items[i].loc.line,
						       .col = l.items[i].loc.col};
				if (get_uint(L, &tmp, "Protocols", 0, 255, &p))
					r->protocols[p / 8] |= (uint8_t)(1u << (p % 8));
				else
					ok = false;
			}
		} else {
			ok = false;
		}
	}
	if ((x = hg_ymap_get(m, "TCPFlags")) && get_seq(L, x, "TCPFlags")) {
		r->tcp_flags = hg_arena_alloc(L->a, (x->n_items + 1) * sizeof(*r->tcp_flags));
		for (size_t i = 0; i < x->n_items; i++) {
			const struct hg_ynode *it = x->items[i], *y;
			if (!check_map(L, it, "TCPFlags", fkeys, freq)) {
				ok = false;
				continue;
			}
			struct hg_tcp_flags tf = {0};
			if ((y = hg_ymap_get(it, "Flags")))
				ok &= sl_flag_bits(L, y, "Flags", &tf.flags);
			if ((y = hg_ymap_get(it, "Masks")))
				ok &= sl_flag_bits(L, y, "Masks", &tf.masks);
			r->tcp_flags[r->n_tcp_flags++] = tf;
		}
	} else if (x) {
		ok = false;
	}
	return ok;
}

/* A group's or policy's custom actions: names and, at the same index,
 * each one's CloudWatch dimension value; NULL-terminated. */
struct customs {
	const char **names, **dims;
};

/* Actions / default actions: exactly one standard action plus custom
 * action names defined in customs; *dim gets each custom action's
 * dimension value at its index. */
static bool sl_actions(struct ld *L, const struct hg_ynode *n, const char *what, const struct customs *customs,
		       enum hg_sl_action *std, const char ***custom, const char ***dim, size_t *n_custom)
{
	static const char *const std_names[] = {"aws:pass", "aws:drop", "aws:forward_to_sfe", NULL};
	const char *const *cnames = customs->names;
	struct cval l;
	if (!get_list(L, n, what, &l))
		return false;
	bool ok = true;
	int n_std = 0;
	HG_VEC(const char *) cus = {0}, dims = {0};
	for (size_t i = 0; i < l.n; i++) {
		const struct cval *v = &l.items[i];
		int k = -1;
		for (int j = 0; std_names[j]; j++)
			if (!strcmp(v->s, std_names[j]))
				k = j;
		if (k >= 0) {
			if (n_std++) {
				ERR(L, v->loc, "%s has more than one standard action ('%s')", what, v->s);
				ok = false;
			}
			*std = (enum hg_sl_action)k;
			continue;
		}
		const char *known = NULL;
		for (size_t j = 0; cnames && cnames[j]; j++)
			if (!strcmp(cnames[j], v->s))
				known = customs->dims[j];
		if (!known) {
			HG_VEC(const char *) all = {0};
			for (int j = 0; std_names[j]; j++)
				hg_vec_push(&all, std_names[j]);
			for (size_t j = 0; cnames && cnames[j]; j++)
				hg_vec_push(&all, cnames[j]);
			hg_vec_push(&all, NULL);
			ERR(L, v->loc, "invalid value '%s' for %s; expected one of %s", v->s, what, join_names(L, all.v));
			hg_vec_free(&all);
			ok = false;
			continue;
		}
		hg_vec_push(&cus, v->s);
		hg_vec_push(&dims, known);
	}
	if (ok && n_std == 0) {
		ERR(L, nloc(L, n), "%s needs exactly one of aws:pass, aws:drop, aws:forward_to_sfe", what);
		ok = false;
	}
	*custom = ARENA_COPY(L, cus);
	*dim = ARENA_COPY(L, dims);
	*n_custom = cus.n;
	hg_vec_free(&cus);
	hg_vec_free(&dims);
	return ok;
}

/* API Dimension: "Network Firewall sets the dimension name to
 * CustomAction and you provide the dimension value", 1 to 128 characters
 * of ^[a-zA-Z0-9-_ ]+$ (the kernel's counter is named after it: table.h). */
static bool dimension_value(struct ld *L, const struct hg_ynode *n, const char **out)
{
	struct cval v;
	if (!get_str(L, n, "Value", &v))
		return false;
	bool ok = v.len >= 1 && v.len <= HG_CA_VALUE_MAX;
	for (size_t i = 0; ok && i < v.len; i++)
		ok = hg_ca_value_char(v.s[i]);
	if (!ok) {
		ERR(L, v.loc, "invalid dimension Value '%s': 1 to %d letters, digits, '-', '_' or spaces (API Dimension)",
		    v.s, HG_CA_VALUE_MAX);
		return false;
	}
	*out = v.s;
	return true;
}

/* ActionDefinition{PublishMetricAction{Dimensions[{Value}]}}: the one
 * kind of custom action, with exactly one dimension (API
 * PublishMetricAction: "Array Members: Fixed number of 1 item"). */
static bool action_definition(struct ld *L, const struct hg_ynode *n, const char **dim)
{
	static const char *const dkeys[] = {"PublishMetricAction", NULL};
	static const char *const pkeys[] = {"Dimensions", NULL};
	static const char *const vkeys[] = {"Value", NULL};
	if (!check_map(L, n, "ActionDefinition", dkeys, dkeys))
		return false;
	const struct hg_ynode *p = hg_ymap_get(n, "PublishMetricAction");
	if (!p || !check_map(L, p, "PublishMetricAction", pkeys, pkeys))
		return false;
	const struct hg_ynode *d = hg_ymap_get(p, "Dimensions");
	if (!d || !get_seq(L, d, "Dimensions"))
		return false;
	if (d->n_items != 1) {
		ERR(L, nloc(L, d), "Dimensions must hold exactly one dimension, not %u (API PublishMetricAction)",
		    d->n_items);
		return false;
	}
	const struct hg_ynode *v = d->items[0];
	if (!check_map(L, v, "Dimension", vkeys, vkeys))
		return false;
	const struct hg_ynode *x = hg_ymap_get(v, "Value"); /* missing: reported by check_map */
	return x && dimension_value(L, x, dim);
}

/* CustomActions [{ActionName, ActionDefinition{PublishMetricAction{
 * Dimensions[{Value}]}}}]: the names the actions lists use and the
 * dimension value each one publishes. */
static bool custom_actions(struct ld *L, const struct hg_ynode *n, const char *what, struct customs *out)
{
	static const char *const keys[] = {"ActionName", "ActionDefinition", NULL};
	HG_VEC(const char *) v = {0}, dims = {0};
	bool seq = get_seq(L, n, what), ok = seq;
	for (size_t i = 0; seq && i < n->n_items; i++) {
		const struct hg_ynode *it = n->items[i], *x;
		struct cval name;
		const char *dim = NULL;
		if (!check_map(L, it, what, keys, keys)) {
			ok = false;
			continue;
		}
		/* a bad definition is reported here, its name stays known */
		if (!action_definition(L, hg_ymap_get(it, "ActionDefinition"), &dim)) {
			ok = false;
			dim = "";
		}
		if ((x = hg_ymap_get(it, "ActionName")) && get_str(L, x, "ActionName", &name)) {
			hg_vec_push(&v, name.s);
			hg_vec_push(&dims, dim);
		}
	}
	hg_vec_push(&v, NULL);
	hg_vec_push(&dims, NULL);
	out->names = ARENA_COPY(L, v);
	out->dims = ARENA_COPY(L, dims);
	hg_vec_free(&v);
	hg_vec_free(&dims);
	return ok;
}

static bool parse_stateless(struct ld *L, struct hg_rule_group *g, const struct hg_ynode *n)
{
	static const char *const keys[] = {"StatelessRules", "CustomActions", NULL};
	static const char *const req[] = {"StatelessRules", NULL};
	static const char *const rkeys[] = {"Priority", "RuleDefinition", NULL};
	static const char *const dkeys[] = {"MatchAttributes", "Actions", NULL};
	if (!check_map(L, n, "StatelessRulesAndCustomActions", keys, req))
		return false;
	g->source = HG_SRC_STATELESS;
	bool ok = true;
	struct customs customs = {0};
	const struct hg_ynode *x = hg_ymap_get(n, "CustomActions");
	if (x)
		ok &= custom_actions(L, x, "CustomActions", &customs);
	x = hg_ymap_get(n, "StatelessRules");
	if (!x || !get_seq(L, x, "StatelessRules"))
		return false;
	g->srules = hg_arena_alloc(L->a, (x->n_items + 1) * sizeof(*g->srules));
	for (size_t i = 0; i < x->n_items; i++) {
		const struct hg_ynode *it = x->items[i], *y;
		if (!check_map(L, it, "StatelessRule", rkeys, rkeys)) {
			ok = false;
			continue;
		}
		struct hg_stateless_rule *r = hg_arena_alloc(L->a, sizeof(*r));
		r->loc = nloc(L, it);
		if ((y = hg_ymap_get(it, "Priority"))) {
			if (get_uint(L, y, "Priority", 1, 65535, &r->priority)) {
				for (size_t j = 0; j < g->n_srules; j++)
					if (g->srules[j]->priority == r->priority) {
						ERR(L, nloc(L, y),
						    "stateless rule Priority %u is already used by the rule at line %u",
						    r->priority, g->srules[j]->loc.line);
						ok = false;
					}
			} else {
				ok = false;
			}
		}
		const struct hg_ynode *def = hg_ymap_get(it, "RuleDefinition");
		if (def && check_map(L, def, "RuleDefinition", dkeys, dkeys)) {
			if ((y = hg_ymap_get(def, "Actions")))
				ok &= sl_actions(L, y, "Actions", &customs, &r->action, &r->custom_actions,
						 &r->custom_dimensions, &r->n_custom_actions);
			if ((y = hg_ymap_get(def, "MatchAttributes")))
				ok &= sl_match(L, r, y);
		} else if (def) {
			ok = false;
		}
		g->srules[g->n_srules++] = r;
	}
	return ok;
}

/* ------------------------------------------------------------ groups */

/* The parts of a rule group that sit outside the RuleGroup document in
 * each input shape (CloudFormation Properties, describe-rule-group's
 * RuleGroupResponse, nothing for a bare document). */
struct group_meta {
	const char *name;
	const char *arn, *logical_id;
	struct hg_loc loc;
	const struct hg_ynode *type, *capacity;
	const struct hg_ynode *tags; /* [{Key, Value}] */
};

/* The hostgate:lint-ignore tag silences lint codes for the group (the
 * value lists them: "HG104 HG105"). Other tags are AWS metadata. */
static const char *lint_ignore_tag(struct ld *L, const struct hg_ynode *tags, bool *okp)
{
	if (!tags || tags->kind != HG_Y_SEQ)
		return NULL;
	for (size_t i = 0; i < tags->n_items; i++) {
		const struct hg_ynode *t = tags->items[i], *k = hg_ymap_get(t, "Key"), *v = hg_ymap_get(t, "Value");
		struct cval vs;
		if (!k || !v || k->kind != HG_Y_SCALAR || strcmp(k->str, "hostgate:lint-ignore"))
			continue;
		if (!get_str(L, v, "hostgate:lint-ignore", &vs)) {
			*okp = false;
			return NULL;
		}
		return vs.s;
	}
	return NULL;
}

static const char *const group_types[] = {"STATEFUL", "STATELESS", NULL};
static const char *const rule_orders[] = {"DEFAULT_ACTION_ORDER", "STRICT_ORDER", NULL};

static struct hg_rule_group *build_group(struct ld *L, const struct hg_ynode *inner, const struct group_meta *m,
					 bool *okp)
{
	static const char *const keys[] = {"RuleVariables", "ReferenceSets", "RulesSource", "StatefulRuleOptions",
					   NULL};
	static const char *const req[] = {"RulesSource", NULL};
	static const char *const src_keys[] = {"RulesString", "RulesSourceList", "StatefulRules",
					       "StatelessRulesAndCustomActions", NULL};
	static const char *const opt_keys[] = {"RuleOrder", NULL};
	static const char *const refset_keys[] = {"IPSetReferences", NULL};
	bool ok = true;
	int type = -1;
	if (m->type && !get_enum(L, m->type, "Type", group_types, &type))
		ok = false;
	const struct hg_ynode *rsrc = hg_ymap_get(inner, "RulesSource");
	if (type < 0) /* not stated: what the rules are says it */
		type = hg_ymap_get(rsrc, "StatelessRulesAndCustomActions") ? HG_GROUP_STATELESS : HG_GROUP_STATEFUL;
	struct hg_rule_group *g = hg_group_new(L->rs, m->loc, m->name, (enum hg_group_type)type);
	g->arn = m->arn ? m->arn
			: hg_arena_printf(L->a, CFN_ARN_PREFIX "%s/%s",
					  type == HG_GROUP_STATELESS ? "stateless-rulegroup" : "stateful-rulegroup",
					  m->name);
	g->logical_id = m->logical_id;
	g->lint_ignore = lint_ignore_tag(L, m->tags, &ok);
	if (m->capacity && !get_uint(L, m->capacity, "Capacity", 1, 1000000, &g->capacity))
		ok = false;
	if (!inner) {
		*okp &= ok;
		return g;
	}
	if (!check_map(L, inner, "RuleGroup", keys, req)) {
		*okp = false;
		return g;
	}
	const struct hg_ynode *x;
	if ((x = hg_ymap_get(inner, "RuleVariables")))
		ok &= parse_rule_vars(L, x, &g->vars, &g->n_vars);
	if ((x = hg_ymap_get(inner, "ReferenceSets"))) {
		/* @NAME references need the prefix list's contents, which only
		 * AWS knows: finalize reports a rule that uses one. */
		ok &= check_map(L, x, "ReferenceSets", refset_keys, NULL);
	}
	if ((x = hg_ymap_get(inner, "StatefulRuleOptions"))) {
		int ro;
		if (!check_map(L, x, "StatefulRuleOptions", opt_keys, NULL)) {
			ok = false;
		} else if ((x = hg_ymap_get(x, "RuleOrder"))) {
			if (get_enum(L, x, "RuleOrder", rule_orders, &ro)) {
				g->has_rule_order = true;
				g->rule_order = (enum hg_rule_order)ro;
			} else {
				ok = false;
			}
		}
		if (type == HG_GROUP_STATELESS) {
			ERR(L, nloc(L, hg_ymap_get(inner, "StatefulRuleOptions")),
			    "StatefulRuleOptions in a STATELESS rule group");
			ok = false;
		}
	}
	if (rsrc && check_map(L, rsrc, "RulesSource", src_keys, NULL)) {
		const struct hg_ynode *which = NULL;
		for (size_t i = 0; i < rsrc->n_pairs; i++) {
			if (which) {
				ERR(L, nloc(L, rsrc->pairs[i].key), "RulesSource holds both %s and %s; give exactly one",
				    which->str, rsrc->pairs[i].key->str);
				ok = false;
				continue;
			}
			which = rsrc->pairs[i].key;
		}
		if (!which) {
			ERR(L, nloc(L, rsrc), "RulesSource is empty; give one of %s", join_names(L, src_keys));
			ok = false;
		} else {
			const struct hg_ynode *v = hg_ymap_get(rsrc, which->str);
			bool stateless = !strcmp(which->str, "StatelessRulesAndCustomActions");
			if (stateless != (type == HG_GROUP_STATELESS)) {
				ERR(L, nloc(L, which), "a %s rule group cannot hold %s", group_types[type], which->str);
				ok = false;
			} else if (!strcmp(which->str, "RulesSourceList")) {
				ok &= parse_domain_list(L, g, v);
			} else if (!strcmp(which->str, "RulesString")) {
				struct cval s;
				g->source = HG_SRC_RULES_STRING;
				if (get_str(L, v, "RulesString", &s)) {
					bool block = !intrinsic_name(L, v, &(const struct hg_ynode *){NULL}) &&
						     (v->style == HG_YS_LITERAL || v->style == HG_YS_FOLDED);
					if (s.len > 2000000) {
						ERR(L, nloc(L, v), "RulesString is %zu characters; ANFW allows 2,000,000",
						    s.len);
						ok = false;
					} else {
						ok &= hg_load_suricata(L->rs, g, s.s, s.len, s.vloc, block, L->d);
					}
				} else {
					ok = false;
				}
			} else if (!strcmp(which->str, "StatefulRules")) {
				g->source = HG_SRC_STATEFUL_RULES;
				if (get_seq(L, v, "StatefulRules")) {
					for (size_t i = 0; i < v->n_items; i++)
						ok &= parse_stateful_rule(L, g, v->items[i]);
					g->source = HG_SRC_STATEFUL_RULES;
				} else {
					ok = false;
				}
			} else {
				ok &= parse_stateless(L, g, v);
			}
		}
	} else if (rsrc) {
		ok = false;
	}
	*okp &= ok;
	return g;
}

/* ------------------------------------------------------------ policies */

static const char *const sda_list[] = {
	"aws:drop_strict", "aws:drop_established", "aws:drop_established_app_layer",
	"aws:drop_established_app_layer_to_server", "aws:alert_strict", "aws:alert_established",
	"aws:alert_established_app_layer", "aws:alert_established_app_layer_to_server", NULL,
};

static bool stateful_defaults(struct ld *L, struct hg_policy *p, const struct hg_ynode *n)
{
	struct cval l;
	if (!get_list(L, n, "StatefulDefaultActions", &l))
		return false;
	bool ok = true;
	const uint32_t drops = HG_SDA_DROP_STRICT | HG_SDA_DROP_ESTABLISHED | HG_SDA_DROP_ESTABLISHED_APP_LAYER |
			       HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER;
	const uint32_t est = HG_SDA_DROP_ESTABLISHED | HG_SDA_ALERT_ESTABLISHED;
	const uint32_t app = HG_SDA_DROP_ESTABLISHED_APP_LAYER | HG_SDA_ALERT_ESTABLISHED_APP_LAYER |
			     HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER | HG_SDA_ALERT_ESTABLISHED_APP_LAYER_TO_SERVER;
	for (size_t i = 0; i < l.n; i++) {
		int k;
		if (!enum_of(L, &l.items[i], "StatefulDefaultActions", sda_list, &k)) {
			ok = false;
			continue;
		}
		uint32_t bit = 1u << k;
		uint32_t have = p->default_actions;
		/* §3.3: at most one drop; the established and app-layer
		 * families cannot exist together (the API's own message). */
		if ((bit & drops) && (have & drops)) {
			ERR(L, l.items[i].loc, "StatefulDefaultActions: choose at most one drop action, not %s and %s",
			    hg_sda_name(have & drops & ~((have & drops) - 1)), l.items[i].s);
			ok = false;
		} else if (((bit & est) && (have & app)) || ((bit & app) && (have & est))) {
			uint32_t other = have & ((bit & est) ? app : est);
			ERR(L, l.items[i].loc, "StatefulDefaultActions %s and %s cannot exist together",
			    hg_sda_name(other & ~(other - 1)), l.items[i].s);
			ok = false;
		}
		p->default_actions |= bit;
	}
	return ok;
}

static bool group_refs(struct ld *L, const struct hg_ynode *n, const char *what, bool stateful,
		       struct hg_group_ref **out, size_t *n_out)
{
	static const char *const sf_keys[] = {"ResourceArn", "Priority", "Override", "DeepThreatInspection", NULL};
	static const char *const sl_keys[] = {"ResourceArn", "Priority", NULL};
	static const char *const sl_req[] = {"ResourceArn", "Priority", NULL};
	static const char *const sf_req[] = {"ResourceArn", NULL};
	static const char *const ov_keys[] = {"Action", NULL};
	static const char *const ov_actions[] = {"DROP_TO_ALERT", NULL};
	if (!get_seq(L, n, what))
		return false;
	bool ok = true;
	*out = hg_arena_alloc(L->a, (n->n_items + 1) * sizeof(**out));
	*n_out = 0;
	for (size_t i = 0; i < n->n_items; i++) {
		const struct hg_ynode *it = n->items[i], *x;
		if (!check_map(L, it, what, stateful ? sf_keys : sl_keys, stateful ? sf_req : sl_req)) {
			ok = false;
			continue;
		}
		struct hg_group_ref *r = &(*out)[(*n_out)++];
		r->loc = nloc(L, it);
		struct cval arn;
		if ((x = hg_ymap_get(it, "ResourceArn"))) {
			if (get_str(L, x, "ResourceArn", &arn)) {
				r->loc = nloc(L, x);
				r->arn = arn.s;
				if (arn.res && arn.res->kind != RES_GROUP) {
					ERR(L, nloc(L, x), "ResourceArn names '%s', a %s, not a rule group", arn.res->id,
					    arn.res->type);
					ok = false;
				} else if (arn.res) {
					r->group = arn.res->group;
				}
			} else {
				ok = false;
			}
		}
		if ((x = hg_ymap_get(it, "Priority")))
			ok &= get_uint(L, x, "Priority", 1, 65535, &r->priority);
		/* API StatefulRuleGroupReference.DeepThreatInspection: AWS's
		 * analysis of the logs of its active-threat-defense managed
		 * groups, which changes no verdict here. */
		if ((x = hg_ymap_get(it, "DeepThreatInspection"))) {
			bool deep = false;
			if (!get_bool(L, x, "DeepThreatInspection", &deep))
				ok = false;
			else if (deep)
				hg_diag_warn(L->d, nloc(L, x),
					     "DeepThreatInspection ignored: it lets AWS analyse the logs of managed "
					     "threat groups and changes no verdict");
		}
		if ((x = hg_ymap_get(it, "Override"))) {
			int a;
			if (check_map(L, x, "Override", ov_keys, NULL) && (x = hg_ymap_get(x, "Action"))) {
				if (get_enum(L, x, "Override.Action", ov_actions, &a))
					r->drop_to_alert = true;
				else
					ok = false;
			}
		}
	}
	return ok;
}

/* PolicyVariables.RuleVariables: CloudFormation maps names directly
 * ({HOME_NET: {Definition: [...]}}); the API JSON may nest them under
 * IPSets. Both are accepted. */
static bool policy_vars(struct ld *L, struct hg_policy *p, const struct hg_ynode *n)
{
	static const char *const keys[] = {"RuleVariables", NULL};
	if (!check_map(L, n, "PolicyVariables", keys, NULL))
		return false;
	const struct hg_ynode *rv = hg_ymap_get(n, "RuleVariables");
	if (!rv)
		return true;
	if (rv->kind != HG_Y_MAP) {
		ERR(L, nloc(L, rv), "RuleVariables must be a mapping");
		return false;
	}
	const struct hg_ynode *ips = hg_ymap_get(rv, "IPSets");
	HG_VEC(struct hg_var *) vars = {0};
	bool ok;
	if (ips && ips->kind == HG_Y_MAP && !hg_ymap_get(ips, "Definition")) {
		static const char *const api_keys[] = {"IPSets", NULL};
		ok = check_map(L, rv, "PolicyVariables.RuleVariables", api_keys, NULL);
		ok &= parse_var_map(L, ips, "IPSets", HG_VAR_IP, &vars);
	} else {
		ok = parse_var_map(L, rv, "RuleVariables", HG_VAR_IP, &vars);
	}
	p->vars = ARENA_COPY(L, vars);
	p->n_vars = vars.n;
	hg_vec_free(&vars);
	return ok;
}

static const char *const stream_exc[] = {"DROP", "CONTINUE", "REJECT", NULL};

/* TLS inspection (decrypting and re-encrypting with the customer's
 * certificates) is not something hostgate does: the setting is accepted
 * with a warning, since ignoring it changes what the rules see, never
 * what they match in hostgate. Session holding exists only together with
 * TLS inspection: "If true, TLSInspectionConfigurationArn is required"
 * (API FirewallPolicy.EnableTLSSessionHolding; DG session-holding-tls). */
static bool tls_settings(struct ld *L, const struct hg_policy *p, const struct hg_ynode *n)
{
	const struct hg_ynode *arn = hg_ymap_get(n, "TLSInspectionConfigurationArn");
	const struct hg_ynode *hold = hg_ymap_get(n, "EnableTLSSessionHolding");
	struct cval s;
	bool ok = true, holding = false;
	if (arn) {
		if (!get_str(L, arn, "TLSInspectionConfigurationArn", &s))
			ok = false;
		else if (s.len)
			hg_diag_warn(L->d, nloc(L, arn),
				     "TLSInspectionConfigurationArn ignored: hostgate does not decrypt TLS, so "
				     "rules see the ClientHello and plaintext HTTP only (no TLS inspection)");
	}
	if (hold && !get_bool(L, hold, "EnableTLSSessionHolding", &holding))
		ok = false;
	if (holding && !(arn && ok && s.len)) {
		ERR(L, nloc(L, hold), "EnableTLSSessionHolding needs TLSInspectionConfigurationArn (session holding "
				      "is part of TLS inspection)");
		ok = false;
	} else if (holding) {
		/* DG session-holding-tls: incompatible with the app-layer
		 * drop-established default actions. */
		if (p->default_actions &
		    (HG_SDA_DROP_ESTABLISHED_APP_LAYER | HG_SDA_DROP_ESTABLISHED_APP_LAYER_TO_SERVER)) {
			ERR(L, nloc(L, hold), "EnableTLSSessionHolding cannot be used with the application-layer "
					      "drop-established default actions");
			ok = false;
		} else {
			hg_diag_warn(L->d, nloc(L, hold),
				     "EnableTLSSessionHolding ignored: it holds TLS inspection's handshakes, and "
				     "hostgate does no TLS inspection (it holds every inspected flow's first "
				     "payload until decided anyway)");
		}
	}
	return ok;
}

static struct hg_policy *build_policy(struct ld *L, const struct hg_ynode *n, const char *name, const char *arn,
				      struct hg_loc loc, bool *okp)
{
	static const char *const keys[] = {"StatelessDefaultActions",
					   "StatelessFragmentDefaultActions",
					   "StatelessCustomActions",
					   "StatelessRuleGroupReferences",
					   "StatefulRuleGroupReferences",
					   "StatefulDefaultActions",
					   "StatefulEngineOptions",
					   "PolicyVariables",
					   "TLSInspectionConfigurationArn",
					   "EnableTLSSessionHolding",
					   NULL};
	static const char *const req[] = {"StatelessDefaultActions", "StatelessFragmentDefaultActions", NULL};
	static const char *const eng_keys[] = {"RuleOrder", "StreamExceptionPolicy", "FlowTimeouts", NULL};
	static const char *const ft_keys[] = {"TcpIdleTimeoutSeconds", NULL};
	struct hg_policy *p = hg_arena_alloc(L->a, sizeof(*p));
	p->loc = loc;
	p->name = name;
	p->arn = arn ? arn : hg_arena_printf(L->a, CFN_ARN_PREFIX "firewall-policy/%s", name);
	p->stateless_default = p->stateless_fragment_default = HG_SL_FORWARD;
	p->rule_order = HG_ORDER_DEFAULT_ACTION;
	p->stream_exception = HG_SEP_DROP;
	struct hg_policy **v = hg_arena_alloc(L->a, (L->rs->n_policies + 1) * sizeof(*v));
	if (L->rs->n_policies)
		memcpy(v, L->rs->policies, L->rs->n_policies * sizeof(*v));
	v[L->rs->n_policies++] = p;
	L->rs->policies = v;
	if (!check_map(L, n, "FirewallPolicy", keys, req)) {
		*okp = false;
		return p;
	}
	bool ok = true;
	const struct hg_ynode *x;
	struct customs customs = {0};
	if ((x = hg_ymap_get(n, "StatelessCustomActions")))
		ok &= custom_actions(L, x, "StatelessCustomActions", &customs);
	if ((x = hg_ymap_get(n, "StatelessDefaultActions")))
		ok &= sl_actions(L, x, "StatelessDefaultActions", &customs, &p->stateless_default,
				 &p->stateless_default_custom, &p->stateless_default_dimensions,
				 &p->n_stateless_default_custom);
	if ((x = hg_ymap_get(n, "StatelessFragmentDefaultActions")))
		ok &= sl_actions(L, x, "StatelessFragmentDefaultActions", &customs, &p->stateless_fragment_default,
				 &p->stateless_fragment_custom, &p->stateless_fragment_dimensions,
				 &p->n_stateless_fragment_custom);
	if ((x = hg_ymap_get(n, "StatelessRuleGroupReferences")))
		ok &= group_refs(L, x, "StatelessRuleGroupReferences", false, &p->stateless_refs, &p->n_stateless_refs);
	if ((x = hg_ymap_get(n, "StatefulRuleGroupReferences")))
		ok &= group_refs(L, x, "StatefulRuleGroupReferences", true, &p->stateful_refs, &p->n_stateful_refs);
	if ((x = hg_ymap_get(n, "StatefulEngineOptions"))) {
		if (check_map(L, x, "StatefulEngineOptions", eng_keys, NULL)) {
			const struct hg_ynode *y;
			int k;
			if ((y = hg_ymap_get(x, "RuleOrder"))) {
				if (get_enum(L, y, "RuleOrder", rule_orders, &k))
					p->rule_order = (enum hg_rule_order)k;
				else
					ok = false;
			}
			if ((y = hg_ymap_get(x, "StreamExceptionPolicy"))) {
				if (get_enum(L, y, "StreamExceptionPolicy", stream_exc, &k))
					p->stream_exception = (enum hg_stream_exception)k;
				else
					ok = false;
			}
			/* API FlowTimeouts: TcpIdleTimeoutSeconds 60..6000, 350
			 * when absent (finalize fills the default). */
			if ((y = hg_ymap_get(x, "FlowTimeouts"))) {
				const struct hg_ynode *t;
				if (!check_map(L, y, "FlowTimeouts", ft_keys, NULL))
					ok = false;
				else if ((t = hg_ymap_get(y, "TcpIdleTimeoutSeconds")))
					ok &= get_uint(L, t, "TcpIdleTimeoutSeconds", HG_TCP_IDLE_MIN, HG_TCP_IDLE_MAX,
						       &p->tcp_idle_timeout);
			}
		} else {
			ok = false;
		}
	}
	if ((x = hg_ymap_get(n, "StatefulDefaultActions")))
		ok &= stateful_defaults(L, p, x);
	if ((x = hg_ymap_get(n, "PolicyVariables")))
		ok &= policy_vars(L, p, x);
	ok &= tls_settings(L, p, n);
	*okp &= ok;
	return p;
}

/* --------------------------------------------------- CloudFormation */

static const char *const rg_prop_keys[] = {"RuleGroupName", "Type", "Capacity", "RuleGroup", "Description",
					   "Tags", "SummaryConfiguration", NULL};
static const char *const rg_prop_req[] = {"RuleGroupName", "Type", "Capacity", NULL};
static const char *const fp_prop_keys[] = {"FirewallPolicyName", "FirewallPolicy", "Description", "Tags", NULL};
static const char *const fp_prop_req[] = {"FirewallPolicyName", "FirewallPolicy", NULL};
static const char *const fw_prop_keys[] = {"FirewallName",
					   "FirewallPolicyArn",
					   "VpcId",
					   "SubnetMappings",
					   "DeleteProtection",
					   "Description",
					   "FirewallPolicyChangeProtection",
					   "SubnetChangeProtection",
					   "Tags",
					   "EnabledAnalysisTypes",
					   "AvailabilityZoneMappings",
					   "AvailabilityZoneChangeProtection",
					   "TransitGatewayId",
					   NULL};
static const char *const fw_prop_req[] = {"FirewallName", "FirewallPolicyArn", NULL};

static const char *name_key(enum res_kind k)
{
	return k == RES_GROUP ? "RuleGroupName" : k == RES_POLICY ? "FirewallPolicyName" : "FirewallName";
}

/* A resource's name (its XName property) and the ARN standing in for
 * the deployed one; errors are reported once. */
static bool res_name(struct ld *L, struct cfn_res *r)
{
	if (r->named)
		return !r->name_failed;
	if (r->naming) {
		ERR(L, nloc(L, r->key), "resource '%s' refers to itself", r->id);
		return false;
	}
	r->naming = true;
	const struct hg_ynode *n = hg_ymap_get(r->props, name_key(r->kind));
	struct cval v;
	const char *name = r->id;
	if (n) {
		if (get_str(L, n, name_key(r->kind), &v) && v.len)
			name = v.s;
		else if (v.kind == CV_STR && !v.len && v.s)
			ERR(L, nloc(L, n), "%s is empty", name_key(r->kind)), r->name_failed = true;
		else
			r->name_failed = true;
	}
	const char *kind = "firewall";
	if (r->kind == RES_POLICY) {
		kind = "firewall-policy";
	} else if (r->kind == RES_GROUP) {
		const struct hg_ynode *t = hg_ymap_get(r->props, "Type");
		kind = t && t->kind == HG_Y_SCALAR && !strcmp(t->str, "STATELESS") ? "stateless-rulegroup"
										: "stateful-rulegroup";
	}
	r->name = name;
	r->arn = hg_arena_printf(L->a, CFN_ARN_PREFIX "%s/%s", kind, name);
	r->naming = false;
	r->named = true;
	return !r->name_failed;
}

static bool load_template(struct ld *L, const struct hg_ynode *root)
{
	static const char *const top_keys[] = {"AWSTemplateFormatVersion", "Description", "Metadata",
					       "Parameters", "Rules", "Mappings", "Conditions", "Transform",
					       "Resources", "Outputs", NULL};
	static const char *const top_req[] = {"Resources", NULL};
	L->tmpl = true;
	bool ok = check_map(L, root, "the template", top_keys, top_req);
	L->params = hg_ymap_get(root, "Parameters");
	if (L->params && L->params->kind != HG_Y_MAP) {
		ERR(L, nloc(L, L->params), "Parameters must be a mapping");
		L->params = NULL;
		ok = false;
	}
	const struct hg_ynode *res = hg_ymap_get(root, "Resources");
	if (!res)
		return false;
	if (res->kind != HG_Y_MAP) {
		ERR(L, nloc(L, res), "Resources must be a mapping of logical IDs, not %s", kind_word(res));
		return false;
	}
	L->res = hg_arena_alloc(L->a, (res->n_pairs + 1) * sizeof(*L->res));
	for (size_t i = 0; i < res->n_pairs; i++) {
		struct cfn_res *r = &L->res[L->n_res++];
		r->id = res->pairs[i].key->str;
		r->key = res->pairs[i].key;
		r->node = res->pairs[i].val;
		const struct hg_ynode *t = hg_ymap_get(r->node, "Type");
		if (r->node->kind != HG_Y_MAP || !t || t->kind != HG_Y_SCALAR) {
			ERR(L, nloc(L, r->node), "resource '%s' needs a Type", r->id);
			ok = false;
			continue;
		}
		r->type = t->str;
		r->props = hg_ymap_get(r->node, "Properties");
		if (!strcmp(t->str, "AWS::NetworkFirewall::RuleGroup"))
			r->kind = RES_GROUP;
		else if (!strcmp(t->str, "AWS::NetworkFirewall::FirewallPolicy"))
			r->kind = RES_POLICY;
		else if (!strcmp(t->str, "AWS::NetworkFirewall::Firewall"))
			r->kind = RES_FIREWALL;
		if (r->kind != RES_OTHER && (!r->props || r->props->kind != HG_Y_MAP)) {
			ERR(L, nloc(L, r->props ? r->props : r->node), "resource '%s' needs Properties (a mapping)",
			    r->id);
			r->kind = RES_OTHER;
			ok = false;
		}
	}
	/* Groups first, so policies bind to them; then policies; then the
	 * firewall that picks one. */
	for (size_t i = 0; i < L->n_res; i++) {
		struct cfn_res *r = &L->res[i];
		if (r->kind != RES_GROUP)
			continue;
		ok &= check_map(L, r->props, hg_arena_printf(L->a, "%s Properties", r->id), rg_prop_keys, rg_prop_req);
		ok &= res_name(L, r);
		struct group_meta m = {
			.name = r->name,
			.arn = r->arn,
			.logical_id = r->id,
			.loc = nloc(L, r->key),
			.type = hg_ymap_get(r->props, "Type"),
			.capacity = hg_ymap_get(r->props, "Capacity"),
			.tags = hg_ymap_get(r->props, "Tags"),
		};
		r->group = build_group(L, hg_ymap_get(r->props, "RuleGroup"), &m, &ok);
	}
	size_t n_pol = 0;
	struct cfn_res *first_pol = NULL;
	for (size_t i = 0; i < L->n_res; i++) {
		struct cfn_res *r = &L->res[i];
		if (r->kind != RES_POLICY)
			continue;
		ok &= check_map(L, r->props, hg_arena_printf(L->a, "%s Properties", r->id), fp_prop_keys, fp_prop_req);
		ok &= res_name(L, r);
		const struct hg_ynode *fp = hg_ymap_get(r->props, "FirewallPolicy");
		if (fp)
			r->policy = build_policy(L, fp, r->name, r->arn, nloc(L, r->key), &ok);
		if (!n_pol++)
			first_pol = r;
	}
	struct cfn_res *fw = NULL;
	for (size_t i = 0; i < L->n_res; i++) {
		struct cfn_res *r = &L->res[i];
		if (r->kind != RES_FIREWALL)
			continue;
		if (fw) {
			hg_diag_warn(L->d, nloc(L, r->key),
				     "more than one Firewall resource; hostgate enforces the first, '%s'", fw->id);
			continue;
		}
		fw = r;
		ok &= check_map(L, r->props, hg_arena_printf(L->a, "%s Properties", r->id), fw_prop_keys, fw_prop_req);
		if (res_name(L, r))
			L->rs->firewall_name = r->name;
		else
			ok = false;
		/* API Firewall.EnabledAnalysisTypes (TLS_SNI, HTTP_HOST):
		 * traffic analysis reports of the domains seen, which change no
		 * verdict and which hostgate does not produce. */
		const struct hg_ynode *an = hg_ymap_get(r->props, "EnabledAnalysisTypes");
		struct cval al;
		if (an && !get_list(L, an, "EnabledAnalysisTypes", &al))
			ok = false;
		else if (an && al.n)
			hg_diag_warn(L->d, nloc(L, an),
				     "EnabledAnalysisTypes ignored: hostgate writes no traffic analysis reports "
				     "(its flow and alert logs carry the names seen)");
		const struct hg_ynode *pa = hg_ymap_get(r->props, "FirewallPolicyArn");
		struct cval v;
		if (!pa)
			continue;
		if (!get_str(L, pa, "FirewallPolicyArn", &v)) {
			ok = false;
			continue;
		}
		struct hg_policy *p = NULL;
		if (v.res && v.res->kind == RES_POLICY) {
			p = v.res->policy;
		} else if (v.res) {
			ERR(L, nloc(L, pa), "FirewallPolicyArn names '%s', a %s, not a firewall policy", v.res->id,
			    v.res->type);
			ok = false;
			continue;
		} else {
			const char *slash = strrchr(v.s, '/');
			for (size_t k = 0; k < L->rs->n_policies && !p; k++) {
				struct hg_policy *q = L->rs->policies[k];
				if ((q->arn && !strcmp(q->arn, v.s)) || (slash && !strcmp(q->name, slash + 1)))
					p = q;
			}
			if (!p) {
				ERR(L, nloc(L, pa), "FirewallPolicyArn '%s' matches no firewall policy in the inputs", v.s);
				ok = false;
				continue;
			}
		}
		if (p)
			L->rs->policy = p;
	}
	if (!fw && n_pol > 1 && first_pol->policy) {
		hg_diag_warn(L->d, nloc(L, first_pol->key),
			     "%zu firewall policies and no Firewall resource to pick one; using the first, '%s'", n_pol,
			     first_pol->name);
		L->rs->policy = first_pol->policy;
	}
	return ok;
}

/* ---------------------------------------------------- API documents */

static const char *base_name(struct ld *L)
{
	const char *b = strrchr(L->file, '/');
	b = b ? b + 1 : L->file;
	const char *dot = strrchr(b, '.');
	size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	return hg_arena_strndup(L->a, b, n);
}

static const char *opt_str(struct ld *L, const struct hg_ynode *m, const char *key, bool *ok)
{
	const struct hg_ynode *x = hg_ymap_get(m, key);
	struct cval v;
	if (!x)
		return NULL;
	if (!get_str(L, x, key, &v)) {
		*ok = false;
		return NULL;
	}
	return v.len ? v.s : NULL;
}

/* describe-rule-group: {RuleGroup, RuleGroupResponse, UpdateToken}. The
 * response carries AWS's metadata (status, counts, timestamps, fields
 * added over time): only what hostgate uses is read from it. */
static bool load_describe_group(struct ld *L, const struct hg_ynode *root)
{
	static const char *const keys[] = {"RuleGroup", "RuleGroupResponse", "UpdateToken", NULL};
	bool ok = check_map(L, root, "the describe-rule-group document", keys, NULL);
	const struct hg_ynode *resp = hg_ymap_get(root, "RuleGroupResponse");
	struct group_meta m = {.name = base_name(L), .loc = nloc(L, root)};
	if (resp) {
		if (resp->kind != HG_Y_MAP) {
			ERR(L, nloc(L, resp), "RuleGroupResponse must be a mapping");
			return false;
		}
		const char *name = opt_str(L, resp, "RuleGroupName", &ok);
		if (name)
			m.name = name;
		m.arn = opt_str(L, resp, "RuleGroupArn", &ok);
		m.type = hg_ymap_get(resp, "Type");
		m.capacity = hg_ymap_get(resp, "Capacity");
		m.tags = hg_ymap_get(resp, "Tags");
		m.loc = nloc(L, resp);
	}
	const struct hg_ynode *inner = hg_ymap_get(root, "RuleGroup");
	if (!inner) {
		ERR(L, nloc(L, root), "describe-rule-group output without its RuleGroup");
		return false;
	}
	build_group(L, inner, &m, &ok);
	return ok;
}

static bool load_describe_policy(struct ld *L, const struct hg_ynode *root)
{
	static const char *const keys[] = {"FirewallPolicy", "FirewallPolicyResponse", "UpdateToken", NULL};
	static const char *const req[] = {"FirewallPolicy", NULL};
	bool ok = check_map(L, root, "the describe-firewall-policy document", keys, req);
	const struct hg_ynode *resp = hg_ymap_get(root, "FirewallPolicyResponse");
	const char *name = base_name(L), *arn = NULL;
	if (resp) {
		if (resp->kind != HG_Y_MAP) {
			ERR(L, nloc(L, resp), "FirewallPolicyResponse must be a mapping");
			return false;
		}
		const char *nm = opt_str(L, resp, "FirewallPolicyName", &ok);
		if (nm)
			name = nm;
		arn = opt_str(L, resp, "FirewallPolicyArn", &ok);
	}
	const struct hg_ynode *fp = hg_ymap_get(root, "FirewallPolicy");
	if (fp)
		build_policy(L, fp, name, arn, nloc(L, resp ? resp : root), &ok);
	return ok;
}

/* create-rule-group / create-firewall-policy --cli-input-json shapes:
 * CloudFormation's Properties without a template around them. */
static bool load_create_group(struct ld *L, const struct hg_ynode *root)
{
	static const char *const keys[] = {"RuleGroupName", "RuleGroup", "Rules", "Type", "Capacity", "Description",
					   "Tags", "DryRun", "EncryptionConfiguration", "SourceMetadata",
					   "AnalyzeRuleGroup", "SummaryConfiguration", NULL};
	static const char *const req[] = {"RuleGroupName", "Type", "Capacity", NULL};
	bool ok = check_map(L, root, "the rule group document", keys, req);
	struct group_meta m = {.name = opt_str(L, root, "RuleGroupName", &ok),
			       .loc = nloc(L, root),
			       .type = hg_ymap_get(root, "Type"),
			       .capacity = hg_ymap_get(root, "Capacity"),
			       .tags = hg_ymap_get(root, "Tags")};
	if (!m.name)
		m.name = base_name(L);
	if (hg_ymap_get(root, "Rules")) {
		ERR(L, nloc(L, hg_ymap_get(root, "Rules")),
		    "Rules (a rules file) is not read; put the rules in RuleGroup.RulesSource.RulesString");
		ok = false;
	}
	build_group(L, hg_ymap_get(root, "RuleGroup"), &m, &ok);
	return ok;
}

static bool load_create_policy(struct ld *L, const struct hg_ynode *root)
{
	static const char *const keys[] = {"FirewallPolicyName", "FirewallPolicy", "Description", "Tags",
					   "DryRun", "EncryptionConfiguration", NULL};
	static const char *const req[] = {"FirewallPolicyName", "FirewallPolicy", NULL};
	bool ok = check_map(L, root, "the firewall policy document", keys, req);
	const char *name = opt_str(L, root, "FirewallPolicyName", &ok);
	const struct hg_ynode *fp = hg_ymap_get(root, "FirewallPolicy");
	if (fp)
		build_policy(L, fp, name ? name : base_name(L), NULL, nloc(L, root), &ok);
	return ok;
}

/* ------------------------------------------------------------- entry */

static bool has_any(const struct hg_ynode *m, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (hg_ymap_get(m, keys[i]))
			return true;
	return false;
}

/* owned, when not NULL, is text's malloc'd buffer: freed as soon as the
 * tree is built, since nothing after reads the text (the tree holds every
 * string), so a big file and its tree are not both in memory while the IR
 * is built. */
static bool load_yaml(struct hg_ruleset *rs, const char *path, const char *text, size_t len,
		      const struct hg_load_opts *o, struct hg_diag *d, char *owned)
{
	struct hg_load_opts defaults;
	if (!o) {
		hg_load_opts_defaults(&defaults);
		o = &defaults;
	}
	struct ld L = {
		.rs = rs,
		.a = rs->arena,
		.file = hg_arena_strdup(rs->arena, path), /* locations outlive the caller's buffer */
		.o = o,
		.d = d,
		.errors0 = d->errors,
	};
	struct hg_ynode *root = hg_ytree_parse(rs->arena, L.file, text, len, o, d);
	free(owned);
	if (!root)
		return false;
	static const char *const bare_group[] = {"RulesSource", "RuleVariables", "StatefulRuleOptions",
						 "ReferenceSets", NULL};
	static const char *const bare_policy[] = {"StatelessDefaultActions", "StatelessFragmentDefaultActions",
						  "StatefulRuleGroupReferences", "StatelessRuleGroupReferences",
						  "StatefulEngineOptions", "StatefulDefaultActions", NULL};
	bool ok;
	if (root->kind != HG_Y_MAP) {
		ERR(&L, nloc(&L, root), "expected a mapping at the top of the document, not %s", kind_word(root));
		ok = false;
	} else if (hg_ymap_get(root, "format_version") &&
		   (hg_ymap_get(root, "values") || hg_ymap_get(root, "planned_values") ||
		    hg_ymap_get(root, "terraform_version"))) {
		ok = hg_load_tf(rs, L.file, root, o, d);
	} else if (hg_ymap_get(root, "Resources") || hg_ymap_get(root, "AWSTemplateFormatVersion")) {
		ok = load_template(&L, root);
	} else if (hg_ymap_get(root, "RuleGroupName")) {
		ok = load_create_group(&L, root);
	} else if (hg_ymap_get(root, "FirewallPolicyName")) {
		ok = load_create_policy(&L, root);
	} else if (hg_ymap_get(root, "RuleGroupResponse") || hg_ymap_get(root, "RuleGroup")) {
		ok = load_describe_group(&L, root);
	} else if (hg_ymap_get(root, "FirewallPolicyResponse") || hg_ymap_get(root, "FirewallPolicy")) {
		ok = load_describe_policy(&L, root);
	} else if (has_any(root, bare_group)) {
		struct group_meta m = {.name = base_name(&L), .loc = nloc(&L, root)};
		ok = true;
		build_group(&L, root, &m, &ok);
	} else if (has_any(root, bare_policy)) {
		ok = true;
		const char *name = base_name(&L);
		build_policy(&L, root, name, NULL, nloc(&L, root), &ok);
	} else {
		ERR(&L, nloc(&L, root),
		    "not a CloudFormation template (Resources), describe-rule-group / describe-firewall-policy "
		    "output, or a RuleGroup / FirewallPolicy document (RulesSource, StatelessDefaultActions)");
		ok = false;
	}
	hg_vec_free(&L.bad_params);
	return ok && d->errors == L.errors0;
}

/* ------------------------------------------------ for other front ends */

const char *hg_cfn_arn(struct hg_arena *a, const char *kind, const char *name)
{
	return hg_arena_printf(a, CFN_ARN_PREFIX "%s/%s", kind, name);
}

static struct ld ld_for(struct hg_ruleset *rs, const char *file, const struct hg_load_opts *o, struct hg_diag *d)
{
	return (struct ld){.rs = rs, .a = rs->arena, .file = file, .o = o, .d = d, .errors0 = d->errors};
}

struct hg_rule_group *hg_cfn_build_group(struct hg_ruleset *rs, const char *file, const struct hg_load_opts *o,
					 struct hg_diag *d, const struct hg_ynode *rule_group,
					 const struct hg_cfn_group_meta *m, bool *ok)
{
	struct ld L = ld_for(rs, file, o, d);
	struct group_meta gm = {.name = m->name,
				.arn = m->arn,
				.logical_id = m->id,
				.loc = m->loc,
				.type = m->type,
				.capacity = m->capacity,
				.tags = m->tags};
	struct hg_rule_group *g = build_group(&L, rule_group, &gm, ok);
	hg_vec_free(&L.bad_params);
	return g;
}

struct hg_policy *hg_cfn_build_policy(struct hg_ruleset *rs, const char *file, const struct hg_load_opts *o,
				      struct hg_diag *d, const struct hg_ynode *firewall_policy, const char *name,
				      const char *arn, struct hg_loc loc, bool *ok)
{
	struct ld L = ld_for(rs, file, o, d);
	struct hg_policy *p = build_policy(&L, firewall_policy, name, arn, loc, ok);
	hg_vec_free(&L.bad_params);
	return p;
}

bool hg_load_yaml(struct hg_ruleset *rs, const char *path, const char *text, size_t len,
		  const struct hg_load_opts *o, struct hg_diag *d)
{
	return load_yaml(rs, path, text, len, o, d, NULL);
}

bool hg_load_yaml_owned(struct hg_ruleset *rs, const char *path, char *text, size_t len,
			const struct hg_load_opts *o, struct hg_diag *d)
{
	return load_yaml(rs, path, text, len, o, d, text);
}
