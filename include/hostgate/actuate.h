/* actuate.h - the live daemon's hands: flow verdicts written into the
 * table's verdict sets (table.h; many flows batched into one nf_tables
 * transaction, verdict_batch.h), held packets re-injected through raw sockets
 * with their TCP/UDP checksum recomputed, and TCP resets for rejects.
 *
 * An allowed flow's held packets are re-injected as soon as it is decided
 * and its verdict committed after (a transaction costs far more than a
 * send): the packets that reach the daemon in between are re-injected in
 * order by the same path. Not thread-safe: one actuator per daemon. */
#ifndef HOSTGATE_ACTUATE_H
#define HOSTGATE_ACTUATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostgate/decode.h"
#include "hostgate/ipset.h"

/* A flow as the verdict sets key it: the client's side first. */
struct hg_act_tuple {
	struct hg_ip cli, srv; /* IPv4 mapped (ipset.h) */
	uint16_t cport, sport;
	uint8_t proto;
	uint32_t ct_id; /* the connection's conntrack id (struct hg_packet's mark) */
};

struct hg_act_stats {
	uint64_t verdicts_allow, verdicts_deny; /* flows written (2 elements each) */
	uint64_t unallowed;                     /* flows whose allow elements were deleted */
	uint64_t commits, commit_errors;        /* transactions; failed ones */
	uint64_t injected, inject_errors;       /* packets re-injected / refused */
	uint64_t fragmented;                    /* ... of them sent as fragments (over the MTU) */
	uint64_t resets, reset_errors;          /* TCP RSTs sent to clients */
	int last_errno;
};

struct hg_actuator;

/* Opens the raw sockets and the netlink socket for table inet `table`
 * (copied). Needs CAP_NET_RAW and CAP_NET_ADMIN. NULL with a message in
 * err on failure. */
struct hg_actuator *hg_act_new(const char *table, char *err, size_t errlen);
void hg_act_free(struct hg_actuator *a);

/* Queues the verdict of a flow: both directions into allow or deny, with a
 * timeout in seconds (0: the set's default). Commits by itself when the
 * queue is full; the next hg_act_commit() returns that commit's failure. */
void hg_act_verdict(struct hg_actuator *a, const struct hg_act_tuple *t, bool allow, uint32_t timeout_s);
/* Queues the deletion of a flow's allow elements (both directions): a
 * verdict revoked at a reload. Deletions run in the same transaction as
 * the queued additions, after them; an element already gone (timed out)
 * fails the whole transaction (ENOENT), so the caller commits them
 * apart from new verdicts. */
void hg_act_unallow(struct hg_actuator *a, const struct hg_act_tuple *t);
/* Queues the destruction of a flow's allow elements (both directions),
 * whether or not they are still there (timed out): the connection ended,
 * and its conntrack id may come back with the next connection on the same
 * tuple (the kernel reuses a freed entry's memory, and the id hashes it).
 * Commit before that connection's SYN is sent on. */
void hg_act_forget(struct hg_actuator *a, const struct hg_act_tuple *t);
/* Queues the deletion of a flow's deny elements (both directions): a
 * revocation undone when the reload that wanted it failed. */
void hg_act_undeny(struct hg_actuator *a, const struct hg_act_tuple *t);
/* Number of queued verdicts not yet committed. */
size_t hg_act_pending(const struct hg_actuator *a);
/* Of those, the removals (unallow, forget, undeny): what a SYN on the same
 * tuple must not overtake. */
size_t hg_act_pending_removals(const struct hg_actuator *a);
/* Runs the queued verdicts as one transaction and reads every answer of
 * the kernel back. 0, or the -errno of the first refusal (of this commit or
 * of one the full queue made since the last call) (-ENOBUFS when
 * answers were lost: the outcome is unknown); a failure is counted in
 * commit_errors, said on stderr (the first ones, then every 1000th) and
 * described by hg_act_last_error(). The queue is empty after either way. */
int hg_act_commit(struct hg_actuator *a);
/* The last failed commit, as a line: the set, the operation, the kernel's
 * own text (NETLINK_EXT_ACK), the element it pointed at. "" after success. */
const char *hg_act_last_error(const struct hg_actuator *a);

/* Re-injects one decoded IP datagram (IPv4 or IPv6, header included: p's
 * l3 bytes): copies it, recomputes the TCP/UDP checksum at the offsets the
 * decoder found, sends it to its destination through a raw socket. 0 or
 * -errno (counted). */
int hg_act_inject(struct hg_actuator *a, const struct hg_packet *p);

/* Answers a decoded client-to-server TCP segment with a RST from the
 * server to the client: seq = the segment's ack, ack = its seq plus its
 * payload length (+1 for SYN/FIN), as RFC 9293 §3.10.7.1 wants an
 * acceptable reset. 0 or -errno. */
int hg_act_tcp_reset(struct hg_actuator *a, const struct hg_packet *p);

void hg_act_get_stats(const struct hg_actuator *a, struct hg_act_stats *out);

/* Recomputes the TCP or UDP checksum of an IP datagram in place (IPv4 also
 * its header checksum). False when it is not a whole, unfragmented TCP/UDP
 * datagram (left unchanged). Exposed for tests. */
bool hg_l4_checksum_fix(uint8_t *l3, size_t len);
/* The Internet checksum of n bytes (RFC 1071: the one's complement of the
 * one's complement sum of 16-bit big-endian words). Exposed for tests. */
uint16_t hg_inet_checksum(const uint8_t *p, size_t n);
/* The reset hg_act_tcp_reset sends for a decoded client segment, written
 * into out: its length, 0 when p is not a whole TCP segment or cap too
 * small. */
size_t hg_tcp_reset_build(const struct hg_packet *p, uint8_t *out, size_t cap);

#endif
