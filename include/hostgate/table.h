/* table.h - the contract between the nft emitter (compiler/emit_nft.c),
 * which writes table inet hostgate, and the live daemon (runtime/actuate.c,
 * cli/), which fills its verdict sets and reads its generation back.
 * Everything both sides must agree on is written here once: the set names,
 * their key layout as the kernel stores it, their size and timeout, and
 * the bits of the conntrack mark that carry the table's generation. */
#ifndef HOSTGATE_TABLE_H
#define HOSTGATE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_TABLE_DEFAULT "hostgate" /* table inet hostgate */

/* The flow verdict sets, written by the daemon: one element per direction
 * of a flow, key saddr . sport . daddr . dport . ct id, flags timeout. The
 * conntrack id makes a verdict belong to one connection, not to a 5-tuple:
 * a new connection on the same addresses and ports (a client reusing its
 * port) is another conntrack entry, looked up in vain, held and decided
 * again. The daemon learns a held packet's ct id from its NFLOG mark (the
 * hold rule sets `meta mark set ct id` on the packet it drops). */
enum hg_vset {
	HG_VSET_ALLOW4,
	HG_VSET_DENY4,
	HG_VSET_ALLOW6,
	HG_VSET_DENY6,
	HG_VSET_N
};

static inline const char *hg_vset_name(enum hg_vset s)
{
	static const char *const names[HG_VSET_N] = {"allow4", "deny4", "allow6", "deny6"};
	return (unsigned)s < HG_VSET_N ? names[s] : NULL;
}

static inline enum hg_vset hg_vset_of(bool allow, bool v4)
{
	return v4 ? (allow ? HG_VSET_ALLOW4 : HG_VSET_DENY4) : (allow ? HG_VSET_ALLOW6 : HG_VSET_DENY6);
}

static inline int hg_vset_family(enum hg_vset s)
{
	return s == HG_VSET_ALLOW4 || s == HG_VSET_DENY4 ? 4 : 6;
}

/* Elements a verdict set holds (nft `size`): flows are 2 elements each. */
#define HG_VSET_SIZE 262144u
/* Seconds a verdict element lives when nothing else is configured. */
#define HG_VSET_TIMEOUT_DEFAULT 3600u

/* The key as the kernel stores a concatenation: every field padded to 4
 * bytes (nf_tables' NFT_REG32 granularity), addresses and ports in network
 * byte order, the ct id as the kernel's register holds it (host order):
 * addr . port(2+2 pad) . addr . port(2+2 pad) . ct id(4). */
#define HG_VKEY_PORT_LEN 4
#define HG_VKEY_CTID_LEN 4
#define HG_VKEY4_LEN (4 + HG_VKEY_PORT_LEN + 4 + HG_VKEY_PORT_LEN + HG_VKEY_CTID_LEN) /* 20 */
#define HG_VKEY6_LEN (16 + HG_VKEY_PORT_LEN + 16 + HG_VKEY_PORT_LEN + HG_VKEY_CTID_LEN) /* 44 */
#define HG_VKEY_MAX HG_VKEY6_LEN

/* The same key in nft's words, for the emitter: the set's type and the
 * expression that looks a packet up (%s: "ip"/"ipv4_addr" or the v6 ones).
 * The ct id goes through the packet mark (HG_VSET_KEY_PREP first): nft
 * 1.0.6 cannot read a set with a `typeof ... ct id` field back (its
 * listing aborts), while the mark type it reads back exactly. So the
 * packets of flows without a verdict leave the verdict rules with their
 * mark set to their conntrack id (held ones are dropped; replies of
 * undecided flows keep it). */
#define HG_VSET_TYPE_FMT "%s . inet_service . %s . inet_service . mark"
#define HG_VSET_KEY_PREP "meta mark set ct id"
#define HG_VSET_KEY_EXPR_FMT "%s saddr . th sport . %s daddr . th dport . meta mark"

/* The conntrack mark of a flow the daemon allowed carries the generation
 * of the table that allowed it in its high 16 bits (other users of ct mark
 * keep the low ones); only the current generation takes the fast path. */
#define HG_CT_MARK_GEN_SHIFT 16
#define HG_CT_MARK_GEN_MASK 0xffff0000u

/* Where the generation reads back exactly (table_read.h): a set of type
 * mark (4 bytes, host byte order) holding one element, the generation
 * (1..65535). The table is replaced whole or all but its verdict sets, so
 * the set is always the applied table's own. */
#define HG_SET_GENERATION "generation"

/* Insertion after the verdict (issue 11): a flow the daemon passes stays
 * off the fast path until the server has acknowledged the bytes that were
 * inspected, since a segment the server discarded (a PAWS-old timestamp,
 * an ACK below its window) could otherwise be replaced by one carrying
 * other bytes in the same sequence range. So the table copies (logs, never
 * holds) the server's acknowledgements of TCP flows that have no allow
 * yet to the hold group, with this NFLOG prefix: ACK set, no SYN, and only
 * what arrives from the server's side (a reverse-path lookup: a client
 * forging the server's address is conntrack's reply direction too, but
 * its packet comes in on the client's side). The copy's mark is the ct id,
 * as for held packets; HG_ACK_COPY_SNAPLEN covers the IP and TCP headers
 * (IPv6 40 + TCP 60). */
#define HG_NFLOG_PREFIX_ACK "hg-ack"
#define HG_ACK_COPY_SNAPLEN 128u

/* The conntrack timeout object of FlowTimeouts.TcpIdleTimeoutSeconds:
 * the prefix and the seconds ("hg_tcp_idle_350"). A reload keeps these
 * objects, since the flows already tracked hold them. */
#define HG_CT_TIMEOUT_PREFIX "hg_tcp_idle_"

/* Custom actions (PublishMetricAction, API Dimension: "Network Firewall
 * sets the dimension name to CustomAction and you provide the dimension
 * value"): one named counter object per dimension value, referenced by
 * every stateless rule and default that publishes it, and read back by
 * the daemon (table_read.h) for its stats and EMF metrics. Per value, not
 * per rule: CloudWatch's metric is the value, whichever rules publish it,
 * so the kernel sums what is published and the name alone says what it
 * counts. The name is the prefix and the value with each space written
 * as '.': nft names take letters, digits, '-', '_', '.'; a value never
 * holds a '.' (its pattern is ^[a-zA-Z0-9-_ ]+$, 1 to 128 characters),
 * so the mapping is one to one and reads back exactly. A reload keeps the
 * objects of values the new rules still publish (their counts go on). */
#define HG_CA_COUNTER_PREFIX "hg_ca_"
#define HG_CA_VALUE_MAX 128
#define HG_CA_NAME_MAX (sizeof(HG_CA_COUNTER_PREFIX) + HG_CA_VALUE_MAX) /* with the NUL */

static inline bool hg_ca_value_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == ' ';
}

/* The counter's name of dimension value v into buf (HG_CA_NAME_MAX bytes);
 * false when v is not a dimension value. */
static inline bool hg_ca_counter_name(char buf[HG_CA_NAME_MAX], const char *v)
{
	size_t p = sizeof(HG_CA_COUNTER_PREFIX) - 1, i = 0;
	for (size_t k = 0; k < p; k++)
		buf[k] = HG_CA_COUNTER_PREFIX[k];
	for (; v[i]; i++) {
		if (i == HG_CA_VALUE_MAX || !hg_ca_value_char(v[i]))
			return false;
		buf[p + i] = v[i] == ' ' ? '.' : v[i];
	}
	buf[p + i] = '\0';
	return i > 0;
}

/* The dimension value a counter's name stands for into buf
 * (HG_CA_VALUE_MAX + 1 bytes); false when the name is not one of ours. */
static inline bool hg_ca_counter_value(char buf[HG_CA_VALUE_MAX + 1], const char *name)
{
	size_t p = sizeof(HG_CA_COUNTER_PREFIX) - 1, i = 0;
	for (size_t k = 0; k < p; k++)
		if (name[k] != HG_CA_COUNTER_PREFIX[k])
			return false;
	for (; name[p + i]; i++) {
		char c = name[p + i] == '.' ? ' ' : name[p + i];
		if (i == HG_CA_VALUE_MAX || c == '.' || !hg_ca_value_char(c))
			return false;
		buf[i] = c;
	}
	buf[i] = '\0';
	return i > 0;
}

#endif
