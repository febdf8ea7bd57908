/* order.h - the policy's evaluation order, computed once here for every
 * component that must agree on it: the nft emitter lays the kernel's rules
 * out in it and the engine walks it, so the kernel and userspace cannot
 * disagree on which rule comes first (STYLE.md practice 17). Section
 * numbers (§) are reference/anfw.md. */
#ifndef HOSTGATE_ORDER_H
#define HOSTGATE_ORDER_H

#include "hostgate/ir.h"

/* A stateful rule's place in the evaluation order (§2.3). */
struct hg_rule_rank {
	const struct hg_rule *r;
	const struct hg_rule_group *g;
	enum hg_action act;       /* effective: Override DROP_TO_ALERT applied */
	uint32_t group_pos, rule_pos; /* position of its group reference, in the group */
};

/* The policy's stateful rules in evaluation order: DEFAULT_ACTION_ORDER
 * (pass, drop, reject, alert; then flowbits use, priority, position) or
 * STRICT_ORDER (group reference priority, then the order written). Rules
 * that never match are left out. Returns a calloc'd array (free()), *n set. */
struct hg_rule_rank *hg_policy_stateful_order(const struct hg_policy *pol, size_t *n);

/* A stateless rule's place (§3.1): groups by reference priority, rules by
 * their priority, lowest first. */
struct hg_sl_rank {
	const struct hg_stateless_rule *r;
	const struct hg_rule_group *g;
	uint32_t group_pos;
};

/* The policy's stateless rules in evaluation order; calloc'd, *n set. */
struct hg_sl_rank *hg_policy_stateless_order(const struct hg_policy *pol, size_t *n);

/* The custom action dimension values the policy's stateless rules and
 * defaults publish, sorted, each once (the kernel's counters, table.h):
 * a calloc'd array of pointers into the IR (free()), *n set. */
const char **hg_policy_custom_dimensions(const struct hg_policy *pol, size_t *n);

#endif
