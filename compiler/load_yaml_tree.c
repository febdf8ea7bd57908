/* load_yaml_tree.c - builds the document tree of yaml_tree.h from libyaml's
 * event stream, enforcing the caps of struct hg_load_opts (depth, alias
 * expansion, scalar size) and rejecting duplicate mapping keys. Syntax
 * errors become diagnostics at libyaml's problem mark. */
#include "yaml_tree.h"

#include <string.h>
#include <yaml.h>

/* An open sequence or mapping while its events arrive. Its children sit
 * on the builder's one scratch stack from index base (items, or key,
 * value, key, value ...): the stack grows geometrically and each
 * collection's children are copied once, into the arena, when it ends. */
struct frame {
	struct hg_ynode *node;
	size_t base;
	const char *anchor; /* registered when the collection ends */
};

struct anchor {
	char *name;
	struct hg_ynode *node;
};

/* Anchor names to nodes: open addressing, a later definition replaces an
 * earlier one (YAML lets an anchor be redefined; aliases see the latest). */
struct anchors {
	struct anchor *slots;
	size_t cap, n;
};

struct builder {
	struct hg_arena *a;
	const char *file;
	const char *text;
	size_t len;
	const struct hg_load_opts *o;
	struct hg_diag *d;
	HG_VEC(struct frame) stack;
	HG_VEC(struct hg_ynode *) kids; /* children of every open collection */
	struct anchors anchors;
	size_t alias_nodes;
	struct hg_ynode *root;
	/* Line starts: a cursor that moves forward (scalars arrive in document
	 * order), so a million-line file needs no table of line offsets; the
	 * first request behind the cursor builds the table (an error path). */
	uint32_t cur_line;
	size_t cur_off;
	size_t *line_tab; /* byte offset of each line (0-based index) */
	size_t n_lines;
};

static size_t sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX / 2 - b ? SIZE_MAX / 2 : a + b;
}

static uint32_t sat_add32(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: anchors are few and not secret */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct anchor *anchor_slot(struct anchors *t, const char *name)
{
	size_t mask = t->cap - 1;
	for (size_t i = str_hash(name) & mask;; i = (i + 1) & mask)
		if (!t->slots[i].name || !strcmp(t->slots[i].name, name))
			return &t->slots[i];
}

static void anchor_put(struct anchors *t, const char *name, struct hg_ynode *node)
{
	if ((t->n + 1) * 2 > t->cap) {
		struct anchors nt = {.cap = t->cap ? t->cap * 2 : 16};
		nt.slots = xcalloc(nt.cap, sizeof(*nt.slots));
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].name)
				*anchor_slot(&nt, t->slots[i].name) = t->slots[i];
		nt.n = t->n;
		free(t->slots);
		*t = nt;
	}
	struct anchor *s = anchor_slot(t, name);
	if (!s->name) {
		s->name = xstrdup(name);
		t->n++;
	}
	s->node = node;
}

static struct hg_ynode *anchor_get(struct anchors *t, const char *name)
{
	if (!t->cap)
		return NULL;
	struct anchor *s = anchor_slot(t, name);
	return s->name ? s->node : NULL;
}

static void anchors_free(struct anchors *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].name);
	free(t->slots);
}

static struct hg_loc mark_loc(const struct builder *b, yaml_mark_t m)
{
	return (struct hg_loc){b->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1};
}

/* Byte offset of the start of 1-based line (lines end at '\n'), or
 * SIZE_MAX when the text has fewer lines. */
static size_t line_start(struct builder *b, uint32_t line)
{
	if (line == 0)
		return SIZE_MAX;
	if (b->line_tab || line < b->cur_line) {
		if (!b->line_tab) {
			HG_VEC(size_t) ls = {0};
			hg_vec_push(&ls, 0);
			for (size_t i = 0; i < b->len; i++)
				if (b->text[i] == '\n')
					hg_vec_push(&ls, i + 1);
			b->line_tab = ls.v;
			b->n_lines = ls.n;
		}
		return line <= b->n_lines ? b->line_tab[line - 1] : SIZE_MAX;
	}
	while (b->cur_line < line) {
		const char *nl = memchr(b->text + b->cur_off, '\n', b->len - b->cur_off);
		if (!nl)
			return SIZE_MAX;
		b->cur_off = (size_t)(nl - b->text) + 1;
		b->cur_line++;
	}
	return b->cur_off;
}

/* Byte offset of 1-based line:col (col counts characters, as libyaml's
 * marks do), or len when out of range. */
static size_t offset_of(struct builder *b, uint32_t line, uint32_t col)
{
	size_t p = line_start(b, line);
	if (p == SIZE_MAX)
		return b->len;
	for (uint32_t c = 1; c < col && p < b->len && b->text[p] != '\n'; c++) {
		p++;
		while (p < b->len && ((unsigned char)b->text[p] & 0xc0) == 0x80)
			p++;
	}
	return p;
}

static uint32_t col_of(struct builder *b, uint32_t line, size_t off)
{
	uint32_t col = 1;
	for (size_t p = line_start(b, line); p < off; p++)
		if (((unsigned char)b->text[p] & 0xc0) != 0x80)
			col++;
	return col;
}

/* Where a scalar's value starts: past its properties (tag, anchor) and an
 * opening quote; for a block scalar, the first content line at its
 * indentation. Loaders use it to place errors inside a value. */
static void value_pos(struct builder *b, struct hg_ynode *n)
{
	n->vline = n->line;
	n->vcol = n->col;
	size_t p = offset_of(b, n->line, n->col);
	uint32_t line = n->line;
	/* Properties: "!tag", "&anchor", separated by blanks (or newlines). */
	for (;;) {
		if (p < b->len && (b->text[p] == '!' || b->text[p] == '&')) {
			while (p < b->len && b->text[p] != ' ' && b->text[p] != '\t' && b->text[p] != '\n' &&
			       b->text[p] != '\r')
				p++;
		} else {
			break;
		}
		while (p < b->len && (b->text[p] == ' ' || b->text[p] == '\t' || b->text[p] == '\r' ||
				      b->text[p] == '\n')) {
			if (b->text[p] == '\n')
				line++;
			p++;
		}
	}
	if (p >= b->len)
		return; /* p < len: line holds p, so it exists */
	if (n->style == HG_YS_LITERAL || n->style == HG_YS_FOLDED) {
		/* Skip the header line, then blank lines; the indentation of the
		 * first content line is the block's. */
		while (p < b->len && b->text[p] != '\n')
			p++;
		while (p < b->len) {
			size_t q = ++p;
			line++;
			while (q < b->len && b->text[q] == ' ')
				q++;
			if (q < b->len && b->text[q] != '\n' && b->text[q] != '\r') {
				n->vline = line;
				n->vcol = (uint32_t)(q - p) + 1;
				return;
			}
			p = q;
			while (p < b->len && b->text[p] != '\n')
				p++;
		}
		return;
	}
	if (b->text[p] == '"' || b->text[p] == '\'')
		p++;
	n->vline = line;
	n->vcol = col_of(b, line, p);
	n->exact = !memchr(n->str, '\n', n->len) && n->len <= b->len - p && !memcmp(b->text + p, n->str, n->len);
}

/* A node, with room for extra bytes right after it (a scalar's value):
 * one unzeroed allocation, every field written here. */
static struct hg_ynode *node_new(struct builder *b, enum hg_ykind k, yaml_mark_t m, const yaml_char_t *tag,
				 size_t extra)
{
	struct hg_ynode *n = hg_arena_alloc_raw(b->a, sizeof(*n) + extra, _Alignof(struct hg_ynode));
	*n = (struct hg_ynode){
		.kind = (uint8_t)k,
		.line = (uint32_t)m.line + 1,
		.col = (uint32_t)m.column + 1,
		.tag = tag ? hg_arena_strdup(b->a, (const char *)tag) : NULL,
	};
	if (k == HG_Y_SCALAR) {
		n->vline = n->line;
		n->vcol = n->col;
	} else {
		n->weight = 1;
	}
	return n;
}

static uint32_t node_weight(const struct hg_ynode *n)
{
	return n->kind == HG_Y_SCALAR ? 1 : n->weight;
}

struct key_ref {
	const struct hg_ynode *key;
	size_t i;
};

static int key_ref_cmp(const void *x, const void *y)
{
	const struct key_ref *p = x, *q = y;
	size_t n = HG_MIN(p->key->len, q->key->len);
	int c = memcmp(p->key->str, q->key->str, n);
	if (c)
		return c;
	if (p->key->len != q->key->len)
		return p->key->len < q->key->len ? -1 : 1;
	return p->i < q->i ? -1 : 1; /* the first occurrence sorts first */
}

/* Reports every repeated key at its own position and keeps the first
 * value (so loading goes on and reports what else is wrong). Sorting keeps
 * this O(n log n) for a hostile mapping with many keys. */
static void dup_keys_check(struct builder *b, struct hg_ynode *m)
{
	size_t n = m->n_pairs;
	if (n < 2)
		return;
	struct key_ref *r = xreallocarray(NULL, n, sizeof(*r));
	size_t *first_of = xreallocarray(NULL, n, sizeof(*first_of));
	for (size_t i = 0; i < n; i++)
		r[i] = (struct key_ref){m->pairs[i].key, i};
	qsort(r, n, sizeof(*r), key_ref_cmp);
	size_t first = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && (r[first].key->len != r[i].key->len ||
			  memcmp(r[first].key->str, r[i].key->str, r[i].key->len)))
			first = i;
		first_of[r[i].i] = r[first].i;
	}
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hg_ynode *k = m->pairs[i].key;
		if (first_of[i] == i) {
			m->pairs[out++] = m->pairs[i];
			continue;
		}
		hg_diag_error(b->d, hg_ynode_loc(b->file, k), "duplicate key '%s' (first at line %u)", k->str,
			      m->pairs[first_of[i]].key->line);
	}
	m->n_pairs = out;
	free(r);
	free(first_of);
}

/* Hands a finished node to its parent (or makes it the root). */
static void attach(struct builder *b, struct hg_ynode *n)
{
	if (!b->stack.n) {
		b->root = n;
		return;
	}
	struct frame *f = &b->stack.v[b->stack.n - 1];
	hg_vec_push(&b->kids, n);
	f->node->weight = sat_add32(f->node->weight, node_weight(n));
}

static void finish_collection(struct builder *b)
{
	struct frame f = b->stack.v[--b->stack.n];
	struct hg_ynode *n = f.node;
	/* kids.v is NULL until the first child anywhere ("{}" alone). */
	struct hg_ynode **kids = b->kids.v ? b->kids.v + f.base : NULL;
	size_t n_kids = b->kids.n - f.base;
	if (n_kids > UINT32_MAX) /* counts are 32-bit; the file-size cap is far below */
		hg_oom();
	if (n->kind == HG_Y_SEQ) {
		n->n_items = (uint32_t)n_kids;
		n->items = hg_arena_alloc_raw(b->a, (n_kids + 1) * sizeof(*n->items), _Alignof(struct hg_ynode *));
		if (n_kids)
			memcpy(n->items, kids, n_kids * sizeof(*n->items));
		n->items[n_kids] = NULL;
	} else {
		n->n_pairs = 0;
		n->pairs = hg_arena_alloc(b->a, (n_kids / 2 + 1) * sizeof(*n->pairs));
		for (size_t i = 0; i + 1 < n_kids; i += 2) {
			struct hg_ynode *k = kids[i];
			if (k->kind != HG_Y_SCALAR) {
				hg_diag_error(b->d, hg_ynode_loc(b->file, k), "a mapping key must be a scalar");
				continue;
			}
			n->pairs[n->n_pairs++] = (struct hg_ypair){k, kids[i + 1]};
		}
		dup_keys_check(b, n);
	}
	b->kids.n = f.base;
	if (f.anchor)
		anchor_put(&b->anchors, f.anchor, n);
	free((char *)f.anchor);
	attach(b, n);
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
	struct hg_loc loc = {b->file, 0, 0};
	const char *problem = p->problem ? p->problem : "malformed YAML";
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a line. */
		size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;
		loc.line = 1;
		for (size_t i = 0; i < off; i++)
			if (b->text[i] == '\n')
				loc.line++;
		loc.col = col_of(b, loc.line, off);
	} else {
		loc = mark_loc(b, p->problem_mark);
	}
	if (p->context)
		hg_diag_error(b->d, loc, "YAML syntax error: %s (%s at line %zu, column %zu)", problem, p->context,
			      p->context_mark.line + 1, p->context_mark.column + 1);
	else
		hg_diag_error(b->d, loc, "YAML syntax error: %s", problem);
}

struct hg_ynode *hg_ytree_parse(struct hg_arena *a, const char *file, const char *text, size_t len,
				const struct hg_load_opts *o, struct hg_diag *d)
{
	struct builder b = {.a = a, .file = file, .text = text, .len = len, .o = o, .d = d, .cur_line = 1};
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false, ok = false;
	int docs = 0;

	if (!yaml_parser_initialize(&p))
		hg_oom();
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&b, &p);
			goto out;
		}
		struct hg_loc loc = mark_loc(&b, ev.start_mark);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				hg_diag_error(d, loc, "more than one YAML document; put each in its own file");
				goto fail_ev;
			}
			break;
		case YAML_SCALAR_EVENT: {
			if (ev.data.scalar.length > o->max_scalar_bytes || ev.data.scalar.length > UINT32_MAX - 1) {
				hg_diag_error(d, loc, "scalar of %zu bytes exceeds the %zu-byte limit",
					      ev.data.scalar.length, o->max_scalar_bytes);
				goto fail_ev;
			}
			size_t sl = ev.data.scalar.length;
			struct hg_ynode *n = node_new(&b, HG_Y_SCALAR, ev.start_mark, ev.data.scalar.tag, sl + 1);
			char *str = (char *)(n + 1);
			memcpy(str, ev.data.scalar.value, sl);
			str[sl] = '\0';
			n->str = str;
			n->len = (uint32_t)sl;
			switch (ev.data.scalar.style) {
			case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = HG_YS_SINGLE; break;
			case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = HG_YS_DOUBLE; break;
			case YAML_LITERAL_SCALAR_STYLE: n->style = HG_YS_LITERAL; break;
			case YAML_FOLDED_SCALAR_STYLE: n->style = HG_YS_FOLDED; break;
			default: n->style = HG_YS_PLAIN; break;
			}
			value_pos(&b, n);
			if (ev.data.scalar.anchor)
				anchor_put(&b.anchors, (const char *)ev.data.scalar.anchor, n);
			attach(&b, n);
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
			if (b.stack.n >= o->max_depth) {
				hg_diag_error(d, loc, "nesting depth exceeds the limit of %zu levels", o->max_depth);
				goto fail_ev;
			}
			const yaml_char_t *tag = seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
			const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
			struct frame f = {.node = node_new(&b, seq ? HG_Y_SEQ : HG_Y_MAP, ev.start_mark, tag, 0),
					  .base = b.kids.n};
			f.anchor = anchor ? xstrdup((const char *)anchor) : NULL;
			hg_vec_push(&b.stack, f);
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			finish_collection(&b);
			break;
		case YAML_ALIAS_EVENT: {
			const char *name = (const char *)ev.data.alias.anchor;
			struct hg_ynode *n = anchor_get(&b.anchors, name);
			if (!n) {
				/* Also an alias inside its own anchor: the anchor is
				 * registered only once its node is complete. */
				hg_diag_error(d, loc, "alias '*%s' names no complete anchor before it", name);
				goto fail_ev;
			}
			b.alias_nodes = sat_add(b.alias_nodes, node_weight(n));
			if (b.alias_nodes > o->max_alias_nodes) {
				hg_diag_error(d, loc,
					      "aliases reach more than %zu nodes (alias '*%s'); refusing to expand "
					      "what looks like an alias bomb",
					      o->max_alias_nodes, name);
				goto fail_ev;
			}
			attach(&b, n);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (!b.root) {
		hg_diag_error(d, (struct hg_loc){file, 1, 1}, "empty document");
		goto out;
	}
	ok = true;
	goto out;
fail_ev:
	yaml_event_delete(&ev);
out:
	while (b.stack.n) {
		struct frame *f = &b.stack.v[--b.stack.n];
		free((char *)f->anchor);
	}
	hg_vec_free(&b.stack);
	hg_vec_free(&b.kids);
	anchors_free(&b.anchors);
	free(b.line_tab);
	yaml_parser_delete(&p);
	return ok ? b.root : NULL;
}

struct hg_ynode *hg_ymap_get(const struct hg_ynode *m, const char *key)
{
	if (!m || m->kind != HG_Y_MAP)
		return NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < m->n_pairs; i++)
		if (m->pairs[i].key->len == kl && !memcmp(m->pairs[i].key->str, key, kl))
			return m->pairs[i].val;
	return NULL;
}
