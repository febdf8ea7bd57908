/* verdict_batch.h - one nf_tables transaction of verdict-set elements
 * (table.h): flows queued for addition or deletion, built into netlink
 * messages with libnftnl and libmnl, and the kernel's answers to them read
 * back. No socket here: the actuator sends the batch and hands the answers
 * over, so a test can build a batch and parse it back without root.
 *
 * A batch is BATCH_BEGIN, one NEWSETELEM (or DELSETELEM) message per set
 * and operation, BATCH_END. A message's element list is one netlink
 * attribute, whose length is 16 bits: a list that would pass 65535 bytes
 * (~480 IPv6 flows with timeouts) is closed and the rest of the set's
 * elements go into a further message, as nft itself splits them. Every
 * element message asks for an acknowledgement, so a batch is known applied
 * only when each message was answered, without error. */
#ifndef HOSTGATE_VERDICT_BATCH_H
#define HOSTGATE_VERDICT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hostgate/actuate.h" /* struct hg_act_tuple */
#include "hostgate/table.h"

struct hg_vbatch;

/* A batch for table inet `table` (copied) holding up to max_flows flows.
 * NULL with errno on failure. */
struct hg_vbatch *hg_vbatch_new(const char *table, size_t max_flows);
void hg_vbatch_free(struct hg_vbatch *b);

/* What a queued flow does to its elements: added; deleted (an element
 * missing fails the transaction: ENOENT); destroyed (deleted if there,
 * NFT_MSG_DESTROYSETELEM, Linux 6.3). */
enum hg_vop { HG_VOP_ADD, HG_VOP_DELETE, HG_VOP_DESTROY };

/* Queues a flow's two elements (client to server, server to client) into
 * set, or their deletion (op). timeout_ms 0: the set's default. False when
 * the batch holds max_flows already (nothing queued). */
bool hg_vbatch_add(struct hg_vbatch *b, const struct hg_act_tuple *t, enum hg_vset set, enum hg_vop op,
		   uint64_t timeout_ms);
size_t hg_vbatch_flows(const struct hg_vbatch *b);
/* Queued flows whose elements go (deleted or destroyed). */
size_t hg_vbatch_removals(const struct hg_vbatch *b);
/* Forgets the queued flows and the built messages. */
void hg_vbatch_clear(struct hg_vbatch *b);

/* Builds the messages of the queued flows, sequence numbers from seq on
 * (the next free one in *next_seq). 0 or -ENOMEM. */
int hg_vbatch_build(struct hg_vbatch *b, uint32_t seq, uint32_t *next_seq);
/* The built batch: number of buffers, filled into iov[0..n) (up to max). */
size_t hg_vbatch_iovec(struct hg_vbatch *b, struct iovec *iov, size_t max);
/* Element messages built (BATCH_BEGIN/END not counted). */
size_t hg_vbatch_messages(const struct hg_vbatch *b);

/* Takes a buffer of the kernel's answers (netlink messages as recv gave
 * them): acknowledgements and errors of this batch's messages are noted,
 * others ignored. */
void hg_vbatch_answers(struct hg_vbatch *b, const void *buf, size_t len);
/* Whether every element message of the built batch has its answer (an
 * acknowledgement or an error): nothing more of it to read. */
bool hg_vbatch_answered(const struct hg_vbatch *b);
/* The outcome once every answer was read: 0 when every element message
 * was acknowledged without error; else -errno of the first error (or
 * -ENOBUFS when answers are missing), with a line in msg naming the set,
 * the operation, the kernel's own text (NETLINK_EXT_ACK) and, when the
 * kernel pointed at one, the element. */
int hg_vbatch_result(const struct hg_vbatch *b, char *msg, size_t cap);

/* A flow's element key in one direction (from -> to), as table.h lays it
 * out; returns its length (HG_VKEY4_LEN or HG_VKEY6_LEN). */
size_t hg_vkey_build(uint8_t key[HG_VKEY_MAX], const struct hg_act_tuple *t, bool reply);
/* "saddr . sport . daddr . dport . proto" of a key, as nft prints it. */
void hg_vkey_format(const uint8_t *key, size_t klen, char *buf, size_t cap);

#endif
