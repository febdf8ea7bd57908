/* load_domain_file.c - plain domain-list files (one name a line, or hosts
 * files "0.0.0.0 name") into one STATEFUL domain-list group, as if they were
 * a RulesSourceList. One pass, names copied once into the arena: a million
 * lines load in a fraction of a second.
 *
 * A comment before the first name may set the list's kind:
 *   # hostgate: ALLOWLIST TLS_SNI,HTTP_HOST
 * (default DENYLIST with both target types). */
#include "hostgate/ir.h"

#include <string.h>

struct df {
	struct hg_ruleset *rs;
	struct hg_diag *d;
	const char *file;
	struct hg_domain_list *l;
	/* Targets and names go straight into the arena: the array sized by
	 * the line count, the names packed in one block no larger than the
	 * text. No copy at the end, no per-name allocation. */
	struct hg_domain_target *t;
	size_t n, cap;
	char *names;
	size_t names_used;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool word_eq(const char *s, size_t n, const char *w)
{
	return hg_ascii_casecmp_eq(s, n, w, strlen(w));
}

static struct hg_loc loc(const struct df *f, uint32_t line, size_t off)
{
	return (struct hg_loc){f->file, line, (uint32_t)off + 1};
}

/* "# hostgate: TYPE [TARGET_TYPE[,TARGET_TYPE]]" - s points after '#'. */
static void directive(struct df *f, const char *line, const char *s, const char *e, uint32_t ln)
{
	static const char *const types[] = {"ALLOWLIST", "DENYLIST", "REJECTLIST", "ALERTLIST", NULL};
	static const enum hg_list_type tv[] = {HG_LIST_ALLOWLIST, HG_LIST_DENYLIST, HG_LIST_REJECTLIST,
					      HG_LIST_ALERTLIST};
	const char *w = s;
	while (w < e && !is_blank(*w))
		w++;
	size_t n = (size_t)(w - s);
	if (n == 0) {
		hg_diag_error(f->d, loc(f, ln, (size_t)(s - line)),
			      "hostgate directive needs a list type (ALLOWLIST, DENYLIST, REJECTLIST or ALERTLIST)");
		return;
	}
	size_t k;
	for (k = 0; types[k]; k++)
		if (word_eq(s, n, types[k]))
			break;
	if (!types[k]) {
		char *word = xstrndup(s, n);
		const char *near = hg_diag_nearest(word, types);
		hg_diag_error(f->d, loc(f, ln, (size_t)(s - line)), "unknown list type '%s'%s%s%s", word,
			      near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		free(word);
		return;
	}
	f->l->type = tv[k];
	/* Target types: comma and/or blank separated. */
	uint32_t tt = 0;
	const char *p = w;
	for (;;) {
		while (p < e && (is_blank(*p) || *p == ','))
			p++;
		if (p >= e)
			break;
		const char *a = p;
		while (p < e && !is_blank(*p) && *p != ',')
			p++;
		if (word_eq(a, (size_t)(p - a), "TLS_SNI")) {
			tt |= HG_TARGET_TLS_SNI;
		} else if (word_eq(a, (size_t)(p - a), "HTTP_HOST")) {
			tt |= HG_TARGET_HTTP_HOST;
		} else {
			hg_diag_error(f->d, loc(f, ln, (size_t)(a - line)),
				      "unknown target type '%.*s' (expected TLS_SNI or HTTP_HOST)", (int)(p - a), a);
			return;
		}
	}
	if (tt)
		f->l->target_types = tt;
}

/* Hosts-file names that are the machine itself, not a domain to list. */
static bool local_name(const char *s, size_t n)
{
	static const char *const names[] = {
		"localhost", "localhost.localdomain", "local", "broadcasthost", "0.0.0.0", "ip6-localhost",
		"ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
		"ip6-allhosts",
	};
	for (size_t i = 0; i < HG_ARRAY_LEN(names); i++)
		if (word_eq(s, n, names[i]))
			return true;
	return false;
}

static bool is_ip(const char *s, size_t n)
{
	char buf[64];
	if (n == 0 || n >= sizeof(buf) || memchr(s, '/', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	struct hg_ip lo, hi;
	return hg_ip_parse_cidr(buf, &lo, &hi);
}

static void add_target(struct df *f, const char *line, const char *s, size_t n, uint32_t ln)
{
	const char *why;
	size_t bad;
	if (!hg_domain_valid(s, n, &why, &bad)) {
		hg_diag_error(f->d, loc(f, ln, (size_t)(s - line) + bad), "invalid domain '%.*s': %s", (int)n, s,
			      why);
		return;
	}
	size_t m = n;
	if (m > 1 && s[m - 1] == '.')
		m--; /* the absolute form names the same domain */
	/* Each name is at most its line and its NUL replaces the line's end,
	 * so the block (text length + 1) cannot overflow. */
	char *name = f->names + f->names_used;
	for (size_t i = 0; i < m; i++)
		name[i] = (char)hg_lower((unsigned char)s[i]);
	name[m] = '\0';
	f->names_used += m + 1;
	if (f->n == f->cap) {
		/* More names than lines: hosts lines with several names. */
		size_t ncap = f->cap * 2 + 16;
		struct hg_domain_target *nt = hg_arena_alloc(f->rs->arena, ncap * sizeof(*nt));
		memcpy(nt, f->t, f->n * sizeof(*nt));
		f->t = nt;
		f->cap = ncap;
	}
	f->t[f->n++] = (struct hg_domain_target){loc(f, ln, (size_t)(s - line)), name};
}

bool hg_load_domain_file(struct hg_ruleset *rs, const char *path, const char *text, size_t len,
			 struct hg_diag *d)
{
	size_t errors = d->errors;
	struct df f = {.rs = rs, .d = d, .file = hg_arena_strdup(rs->arena, path)};
	struct hg_loc file_loc = {f.file, 1, 1};
	const char *slash = strrchr(f.file, '/');
	struct hg_rule_group *g = hg_group_new(rs, file_loc, slash ? slash + 1 : f.file, HG_GROUP_STATEFUL);
	g->source = HG_SRC_DOMAIN_LIST;
	f.l = hg_arena_alloc(rs->arena, sizeof(*f.l));
	f.l->loc = file_loc;
	f.l->type = HG_LIST_DENYLIST;
	f.l->target_types = HG_TARGET_TLS_SNI | HG_TARGET_HTTP_HOST;
	g->list = f.l;
	size_t lines = 1;
	for (const char *q = text; (q = memchr(q, '\n', (size_t)(text + len - q))); q++)
		lines++;
	f.cap = lines;
	f.t = hg_arena_alloc(rs->arena, f.cap * sizeof(*f.t));
	f.names = hg_arena_alloc(rs->arena, len + 1);

	const char *p = text, *end = text + len;
	uint32_t ln = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *e = nl ? nl : end;
		p = nl ? nl + 1 : end;
		ln++;
		const char *s = line;
		while (s < e && is_blank(*s))
			s++;
		if (s >= e)
			continue;
		if (*s == '#') {
			/* Directives count only in the header, before any name. */
			const char *q = s + 1;
			while (q < e && is_blank(*q))
				q++;
			if (e - q >= 9 && hg_ascii_casecmp_eq(q, 9, "hostgate:", 9)) {
				if (f.n) {
					hg_diag_warn(d, loc(&f, ln, (size_t)(q - line)),
						     "hostgate directive after the first name is ignored");
					continue;
				}
				q += 9;
				while (q < e && is_blank(*q))
					q++;
				directive(&f, line, q, e, ln);
			}
			continue;
		}
		/* A '#' after a blank starts a trailing comment. */
		for (const char *h = s; h < e; h++)
			if (*h == '#' && is_blank(h[-1])) {
				e = h;
				break;
			}
		while (e > s && is_blank(e[-1]))
			e--;
		const char *t1e = s;
		while (t1e < e && !is_blank(*t1e))
			t1e++;
		if (t1e == e) {
			add_target(&f, line, s, (size_t)(e - s), ln);
			continue;
		}
		const char *t2 = t1e;
		while (t2 < e && is_blank(*t2))
			t2++;
		if (!is_ip(s, (size_t)(t1e - s))) {
			hg_diag_error(d, loc(&f, ln, (size_t)(t2 - line)),
				      "expected one domain name per line (or a hosts-file line 'ADDRESS NAME...')");
			continue;
		}
		/* Hosts line: every name after the address. */
		for (const char *q = t2; q < e;) {
			const char *a = q;
			while (q < e && !is_blank(*q))
				q++;
			if (!local_name(a, (size_t)(q - a)))
				add_target(&f, line, a, (size_t)(q - a), ln);
			while (q < e && is_blank(*q))
				q++;
		}
	}

	if (!f.n && d->errors == errors)
		hg_diag_error(d, file_loc, "no domain names in the file");
	f.l->n_targets = f.n;
	f.l->targets = f.t;
	return d->errors == errors;
}
