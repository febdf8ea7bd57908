/* emit.h - the compiler's back ends: nftables text, Suricata rules, IR JSON.
 *
 * Every emitter is deterministic: the same ruleset gives the same bytes. */
#ifndef HOSTGATE_EMIT_H
#define HOSTGATE_EMIT_H

#include <stdio.h>

#include "hostgate/ir.h"

/* Settings of the kernel side that the nft text depends on. */
struct hg_nft_opts {
	const char *table;        /* "hostgate" */
	uint16_t nflog_group;     /* hold group, default 7 */
	uint16_t alert_log_group; /* kernel-decided alerts copied here, default 8 */
	uint32_t snaplen;         /* bytes of each held packet copied, default 65535 */
	uint32_t verdict_timeout; /* seconds a flow verdict lives, default 3600 */
	const char **inside_ifs;  /* when set, only traffic entering these is filtered */
	size_t n_inside_ifs;
	/* The caller (the live daemon) has deleted every object of the table
	 * but the verdict sets earlier in the same transaction: the table is
	 * not deleted, so the verdict sets keep their elements. */
	bool keep_verdict_sets;
	/* Generation of the table, kept in the high 16 bits of the ct mark of
	 * the flows it allowed; only the current one takes the fast path. The
	 * live daemon changes it at every apply; default (and 0) 1. */
	uint16_t ct_mark_gen;
};

void hg_nft_opts_defaults(struct hg_nft_opts *o);

/* Writes "table inet hostgate { ... }" preceded by the add/delete lines that
 * make the file replace an existing table atomically under nft -f. */
int hg_emit_nft(FILE *out, const struct hg_ruleset *rs, const struct hg_nft_opts *o);
/* Counts the rules (statements lines inside chains) of the emitted table. */
size_t hg_emit_nft_rule_count(const struct hg_ruleset *rs, const struct hg_nft_opts *o);

/* The Suricata rules equivalent to every stateful group, in evaluation order:
 * domain lists expanded as ANFW generates them (reference/anfw.md §1.3). */
int hg_emit_suricata(FILE *out, const struct hg_ruleset *rs);
/* One rule as Suricata text (no newline); for a DOMAINSET rule, target i. */
void hg_emit_suricata_rule(FILE *out, const struct hg_rule *r, size_t target_index);

int hg_emit_json(FILE *out, const struct hg_ruleset *rs);

/* An address or port expression as Suricata text ("any", "$HOME_NET",
 * "[10.0.0.0/8,!10.1.0.0/16]"); NULL prints "any". */
void hg_emit_expr(FILE *out, const struct hg_expr *e);

/* JSON string escaping shared by the emitters and the event log. */
void hg_json_str(FILE *out, const char *s, size_t len);

#endif
