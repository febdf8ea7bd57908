/* yaml_tree.h - a YAML or JSON text as a small document tree for the
 * CloudFormation / ANFW loader: scalars, sequences and mappings, each with
 * its 1-based line:col and its tag (so "!Ref", "!Sub" ... survive).
 *
 * Built from libyaml's event API with caps against hostile inputs (nesting
 * depth, nodes reached through aliases, scalar size). An alias shares the
 * anchored node (the tree is a DAG, never expanded), and the nodes it makes
 * reachable are counted against max_alias_nodes. Private to compiler/. */
#ifndef HOSTGATE_YAML_TREE_H
#define HOSTGATE_YAML_TREE_H

#include "hostgate/ir.h"

enum hg_ykind { HG_Y_SCALAR, HG_Y_SEQ, HG_Y_MAP };

/* How a scalar was written: plain, quoted, or a block (| or >). */
enum hg_ystyle { HG_YS_PLAIN, HG_YS_SINGLE, HG_YS_DOUBLE, HG_YS_LITERAL, HG_YS_FOLDED };

struct hg_ynode;

struct hg_ypair {
	struct hg_ynode *key; /* always a scalar */
	struct hg_ynode *val;
};

/* One node per scalar, sequence or mapping: 40 bytes, because a domain list
 * of a million names is a million scalar nodes. The kind selects which
 * member of each union is meaningful (a scalar's str/len and vline/vcol, a
 * sequence's items/n_items, a mapping's pairs/n_pairs, a collection's
 * weight); a scalar's bytes are stored right after its node. */
struct hg_ynode {
	uint8_t kind;  /* enum hg_ykind */
	uint8_t style; /* enum hg_ystyle (scalars) */
	bool exact;    /* value bytes are verbatim at vline:vcol (one line, no escapes) */
	uint32_t line, col;   /* the node's first character (its tag, when tagged) */
	union {
		uint32_t len; /* HG_Y_SCALAR: excludes the NUL (str may hold NULs) */
		uint32_t n_items;
		uint32_t n_pairs;
	};
	union {
		/* HG_Y_SCALAR: the value, after the tag and the opening quote. */
		struct {
			uint32_t vline, vcol;
		};
		/* HG_Y_SEQ, HG_Y_MAP: nodes this subtree expands to (saturating),
		 * the alias bomb meter; a scalar weighs 1. */
		uint32_t weight;
	};
	const char *tag; /* NULL when untagged; "!Ref", "tag:yaml.org,2002:str" ... */
	union {
		const char *str;              /* HG_Y_SCALAR: NUL-terminated */
		struct hg_ynode **items;      /* HG_Y_SEQ */
		struct hg_ypair *pairs;       /* HG_Y_MAP, in document order; keys are unique */
	};
};

/* Parses text (YAML 1.1, JSON) into a tree allocated in arena a. file is
 * used for diagnostics. Returns NULL after a fatal error (syntax, a cap,
 * an empty document); syntax errors carry libyaml's problem mark and text.
 * Recoverable errors (a duplicate key: the first value is kept, a
 * non-scalar key: dropped) are recorded and the root is still returned, so
 * the caller goes on and reports everything else. */
struct hg_ynode *hg_ytree_parse(struct hg_arena *a, const char *file, const char *text, size_t len,
				const struct hg_load_opts *o, struct hg_diag *d);

/* hg_load_yaml() on a malloc'd text it takes over: the text is freed as
 * soon as its tree is built (hg_load_file() on big inputs). */
bool hg_load_yaml_owned(struct hg_ruleset *rs, const char *path, char *text, size_t len,
			const struct hg_load_opts *o, struct hg_diag *d);

/* The value of key in mapping m, or NULL (m may be NULL or not a map). */
struct hg_ynode *hg_ymap_get(const struct hg_ynode *m, const char *key);

static inline struct hg_loc hg_ynode_loc(const char *file, const struct hg_ynode *n)
{
	return (struct hg_loc){file, n ? n->line : 0, n ? n->col : 0};
}

#endif
