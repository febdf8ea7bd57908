/* lint.h - the policy linter: rules and settings that are valid for ANFW
 * but do not do what their author most likely means (a rule that can never
 * match, an allowlist that leaves other protocols open, a name both allowed
 * and denied...). Each finding is a located warning with a stable code
 * (HG101...), so a CI can silence one per rule group. */
#ifndef HOSTGATE_LINT_H
#define HOSTGATE_LINT_H

#include "hostgate/ir.h"

enum hg_lint_code {
	HG_LINT_NEVER_MATCHES = 101,    /* an address side of a rule holds no address of a family */
	HG_LINT_EXTERNAL_OVERLAP = 102, /* EXTERNAL_NET includes HOME_NET addresses */
	HG_LINT_ALLOWLIST_OPEN = 103,   /* allowlist without a drop for other protocols */
	HG_LINT_ALLOW_DENY = 104,       /* a name both allowed and denied */
	HG_LINT_REDUNDANT_NAME = 105,   /* a name covered by a wildcard of the same list */
	HG_LINT_SHADOWED = 106,         /* STRICT_ORDER rule that an earlier rule always decides first */
	HG_LINT_IP_LITERAL = 107,       /* an IP address in a domain list */
	HG_LINT_LIST_ORDER = 108,       /* REJECT/ALERT list beside an ALLOWLIST under action order */
	HG_LINT_CAPACITY = 109,         /* consumed capacity near the declared Capacity */
	HG_LINT__FIRST = 101,
	HG_LINT__LAST = 109,
};

/* The bit of a code in hg_lint_opts.codes. */
#define HG_LINT_BIT(code) (1u << ((code) - HG_LINT__FIRST))
#define HG_LINT_ALL (HG_LINT_BIT(HG_LINT__LAST + 1) - 1)

/* A silenced code: for the group named group ("*": every group); code 0
 * silences every code. */
struct hg_lint_ignore {
	const char *group;
	unsigned code;
};

struct hg_lint_opts {
	uint32_t codes; /* HG_LINT_BIT()s to run; 0 means all */
	const struct hg_lint_ignore *ignore;
	size_t n_ignore;
};

/* Parses "GROUP:HG104,HG105" (or "GROUP:*") into *out entries appended to
 * vec-like storage by the caller: returns the number of codes parsed into
 * codes[] (at most max), or -1 with a message on stderr. *group_len is the
 * length of GROUP in spec. */
int hg_lint_parse_ignore(const char *spec, size_t *group_len, unsigned *codes, size_t max);

/* Runs the checks on a finalized ruleset (its policy's referenced groups)
 * and adds a warning "HGnnn: reason" for each finding that is not
 * silenced, by the options or by the group's hostgate:lint-ignore tag.
 * Returns the number of findings reported. */
size_t hg_lint(const struct hg_ruleset *rs, const struct hg_lint_opts *o, struct hg_diag *d);

#endif
