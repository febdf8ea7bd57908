/* verdict_batch.c - verdict-set elements as one nf_tables netlink batch,
 * built with libnftnl (message headers, batch pages, element payloads) and
 * libmnl (attributes, nests, the answers' extended acks), the way nft's own
 * src/mnl.c builds its element batches.
 *
 * Why a batch of element messages and not libnftables: libnftables parses
 * text, fetches its cache and waits for the kernel on every call (~0.4 ms a
 * commit here, several ms on a loaded machine), while held packets wait
 * behind the daemon's poll loop. A batch is a few µs to build, and the
 * kernel runs it within the sender's sendmsg: its answers are queued before
 * sendmsg returns and read back without blocking. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "hostgate/verdict_batch.h"

/* A batch page, and the room past its end that the last message may take
 * (libnftnl moves a message that crosses the page end to a new page). One
 * message stays under 65535 bytes of elements plus its header, the table
 * and set names and one element tried past the limit (< 1 KB). */
#define PAGE_BYTES (128 * 1024)
#define OVERRUN_BYTES (70 * 1024)
/* The element list is one attribute: its length field is 16 bits. */
#define LIST_MAX UINT16_MAX

/* Not in every distribution's kernel headers yet (Linux 6.3's uapi). */
#ifndef NFT_MSG_DESTROYSETELEM
#define NFT_MSG_DESTROYSETELEM 30
#endif

struct vflow {
	uint8_t set, klen;
	uint8_t del; /* enum hg_vop */
	uint64_t timeout_ms;
	uint8_t key[2][HG_VKEY_MAX]; /* client to server, server to client */
};

/* One element message and what came back for it. */
struct vmsg {
	uint8_t set;
	uint8_t del; /* enum hg_vop */
	bool answered;
	int error;            /* the kernel's -errno, 0 */
	uint32_t first, n_el; /* its elements in el_flow/el_off */
	uint32_t bad_off;     /* NLMSGERR_ATTR_OFFS; 0: none */
	char text[160];       /* NLMSGERR_ATTR_MSG */
};

struct hg_vbatch {
	char *table;
	size_t max_flows;
	struct vflow *flows;
	size_t n_flows;
	struct nftnl_batch *nb;
	struct nftnl_set_elem *elem; /* reused for every element */
	uint32_t begin_seq, first_seq;
	struct vmsg *msgs;
	size_t n_msgs, cap_msgs;
	size_t n_answered; /* msgs with their answer */
	size_t n_removals; /* queued flows with del != HG_VOP_ADD */
	uint32_t *el_flow; /* flow index * 2 + direction, per element in message order */
	uint32_t *el_off;  /* its offset from the start of its message */
	size_t n_el;
	int batch_error; /* an answer to BATCH_BEGIN: the whole batch refused */
	char batch_text[160];
};

struct hg_vbatch *hg_vbatch_new(const char *table, size_t max_flows)
{
	struct hg_vbatch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->table = strdup(table ? table : HG_TABLE_DEFAULT);
	b->max_flows = max_flows;
	b->flows = calloc(max_flows ? max_flows : 1, sizeof(*b->flows));
	b->el_flow = calloc(2 * max_flows + 1, sizeof(*b->el_flow));
	b->el_off = calloc(2 * max_flows + 1, sizeof(*b->el_off));
	b->elem = nftnl_set_elem_alloc();
	if (!b->table || !b->flows || !b->el_flow || !b->el_off || !b->elem || strlen(b->table) >= NFT_NAME_MAXLEN) {
		hg_vbatch_free(b);
		errno = ENOMEM;
		return NULL;
	}
	return b;
}

void hg_vbatch_free(struct hg_vbatch *b)
{
	if (!b)
		return;
	if (b->nb)
		nftnl_batch_free(b->nb);
	if (b->elem)
		nftnl_set_elem_free(b->elem);
	free(b->msgs);
	free(b->el_flow);
	free(b->el_off);
	free(b->flows);
	free(b->table);
	free(b);
}

size_t hg_vkey_build(uint8_t key[HG_VKEY_MAX], const struct hg_act_tuple *t, bool reply)
{
	bool v4 = hg_ip_is_v4(&t->cli);
	size_t al = v4 ? 4 : 16, klen = v4 ? HG_VKEY4_LEN : HG_VKEY6_LEN;
	const struct hg_ip *sa = reply ? &t->srv : &t->cli, *da = reply ? &t->cli : &t->srv;
	uint16_t sp = reply ? t->sport : t->cport, dp = reply ? t->cport : t->sport;
	uint8_t *p = key;
	memset(key, 0, klen);
	memcpy(p, v4 ? sa->b + 12 : sa->b, al);
	p += al;
	p[0] = (uint8_t)(sp >> 8), p[1] = (uint8_t)sp;
	p += HG_VKEY_PORT_LEN;
	memcpy(p, v4 ? da->b + 12 : da->b, al);
	p += al;
	p[0] = (uint8_t)(dp >> 8), p[1] = (uint8_t)dp;
	p += HG_VKEY_PORT_LEN;
	memcpy(p, &t->ct_id, HG_VKEY_CTID_LEN); /* host order, as the kernel's register */
	return klen;
}

void hg_vkey_format(const uint8_t *key, size_t klen, char *buf, size_t cap)
{
	if (klen != HG_VKEY4_LEN && klen != HG_VKEY6_LEN) {
		snprintf(buf, cap, "(a key of %zu bytes)", klen);
		return;
	}
	int af = klen == HG_VKEY4_LEN ? AF_INET : AF_INET6;
	size_t al = af == AF_INET ? 4 : 16;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	inet_ntop(af, key, s, sizeof(s));
	inet_ntop(af, key + al + HG_VKEY_PORT_LEN, d, sizeof(d));
	const uint8_t *sp = key + al, *dp = key + 2 * al + HG_VKEY_PORT_LEN;
	uint32_t ct_id;
	memcpy(&ct_id, key + 2 * al + 2 * HG_VKEY_PORT_LEN, sizeof(ct_id));
	snprintf(buf, cap, "%s . %u . %s . %u . ct id %u", s, (unsigned)(sp[0] << 8 | sp[1]), d,
		 (unsigned)(dp[0] << 8 | dp[1]), (unsigned)ct_id);
}

bool hg_vbatch_add(struct hg_vbatch *b, const struct hg_act_tuple *t, enum hg_vset set, enum hg_vop del,
		   uint64_t timeout_ms)
{
	if (b->n_flows >= b->max_flows || (unsigned)set >= HG_VSET_N)
		return false;
	struct vflow *f = &b->flows[b->n_flows++];
	f->set = (uint8_t)set;
	f->del = (uint8_t)del;
	f->timeout_ms = del != HG_VOP_ADD ? 0 : timeout_ms;
	f->klen = (uint8_t)hg_vkey_build(f->key[0], t, false);
	hg_vkey_build(f->key[1], t, true);
	b->n_removals += del != HG_VOP_ADD;
	return true;
}

size_t hg_vbatch_removals(const struct hg_vbatch *b)
{
	return b->n_removals;
}

size_t hg_vbatch_flows(const struct hg_vbatch *b)
{
	return b->n_flows;
}

void hg_vbatch_clear(struct hg_vbatch *b)
{
	b->n_flows = 0;
	b->n_removals = 0;
	b->n_answered = 0;
	b->n_msgs = 0;
	b->n_el = 0;
	b->batch_error = 0;
	b->batch_text[0] = 0;
	if (b->nb) {
		nftnl_batch_free(b->nb);
		b->nb = NULL;
	}
}

size_t hg_vbatch_messages(const struct hg_vbatch *b)
{
	return b->n_msgs;
}

/* ------------------------------------------------------------ building */

static struct nlmsghdr *msg_open(struct hg_vbatch *b, uint32_t *seq, uint8_t set, uint8_t del)
{
	if (b->n_msgs == b->cap_msgs) {
		size_t cap = b->cap_msgs ? 2 * b->cap_msgs : 16;
		struct vmsg *m = realloc(b->msgs, cap * sizeof(*m));
		if (!m)
			return NULL;
		b->msgs = m;
		b->cap_msgs = cap;
	}
	struct vmsg *m = &b->msgs[b->n_msgs++];
	*m = (struct vmsg){.set = set, .del = del, .first = (uint32_t)b->n_el};
	uint16_t flags = NLM_F_ACK | (del ? 0 : NLM_F_CREATE);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->nb),
						     del == HG_VOP_DESTROY ? NFT_MSG_DESTROYSETELEM
						     : del ? NFT_MSG_DELSETELEM
							   : NFT_MSG_NEWSETELEM,
						     NFPROTO_INET,
						     flags, (*seq)++);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, b->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, hg_vset_name((enum hg_vset)set));
	return nlh;
}

/* Writes one element into the open list; false (nothing written) when the
 * list would pass LIST_MAX. */
static bool put_elem(struct hg_vbatch *b, struct nlmsghdr *nlh, struct nlattr *list, const struct vflow *f,
		     int dir)
{
	struct nftnl_set_elem *e = b->elem;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, f->key[dir], f->klen);
	if (f->timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, f->timeout_ms);
	else
		nftnl_set_elem_unset(e, NFTNL_SET_ELEM_TIMEOUT);
	struct nlattr *at = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	nftnl_set_elem_nlmsg_build_payload(nlh, e);
	mnl_attr_nest_end(nlh, at);
	if ((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)list > LIST_MAX) {
		mnl_attr_nest_cancel(nlh, at);
		return false;
	}
	b->el_off[b->n_el] = (uint32_t)((char *)at - (char *)nlh);
	b->el_flow[b->n_el] = (uint32_t)((f - b->flows) * 2 + dir);
	b->n_el++;
	return true;
}

static int msg_close(struct hg_vbatch *b, struct nlmsghdr *nlh, struct nlattr *list)
{
	mnl_attr_nest_end(nlh, list);
	struct vmsg *m = &b->msgs[b->n_msgs - 1];
	m->n_el = (uint32_t)b->n_el - m->first;
	return nftnl_batch_update(b->nb) < 0 ? -ENOMEM : 0;
}

int hg_vbatch_build(struct hg_vbatch *b, uint32_t seq, uint32_t *next_seq)
{
	b->n_msgs = 0;
	b->n_answered = 0;
	b->n_el = 0;
	b->batch_error = 0;
	b->batch_text[0] = 0;
	if (b->nb)
		nftnl_batch_free(b->nb);
	b->nb = nftnl_batch_alloc(PAGE_BYTES, OVERRUN_BYTES);
	if (!b->nb)
		return -ENOMEM;
	b->begin_seq = seq;
	nftnl_batch_begin(nftnl_batch_buffer(b->nb), seq++);
	if (nftnl_batch_update(b->nb) < 0)
		return -ENOMEM;
	b->first_seq = seq;
	/* Additions first, then deletions (a revoked allow), then
	 * destructions (an ended flow's allow), set by set. */
	for (int op = 0; op < 3 * HG_VSET_N; op++) {
		uint8_t set = (uint8_t)(op % HG_VSET_N);
		uint8_t del = (uint8_t)(op / HG_VSET_N);
		struct nlmsghdr *nlh = NULL;
		struct nlattr *list = NULL;
		for (size_t i = 0; i < b->n_flows; i++) {
			const struct vflow *f = &b->flows[i];
			if (f->set != set || f->del != del)
				continue;
			for (int dir = 0; dir < 2; dir++) {
				if (nlh && put_elem(b, nlh, list, f, dir))
					continue;
				if (nlh && msg_close(b, nlh, list) < 0)
					return -ENOMEM;
				nlh = msg_open(b, &seq, set, del);
				if (!nlh)
					return -ENOMEM;
				list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
				if (!put_elem(b, nlh, list, f, dir))
					return -EMSGSIZE; /* one element over 64 KB: cannot be */
			}
		}
		if (nlh && msg_close(b, nlh, list) < 0)
			return -ENOMEM;
	}
	nftnl_batch_end(nftnl_batch_buffer(b->nb), seq++);
	if (nftnl_batch_update(b->nb) < 0)
		return -ENOMEM;
	if (next_seq)
		*next_seq = seq;
	return 0;
}

size_t hg_vbatch_iovec(struct hg_vbatch *b, struct iovec *iov, size_t max)
{
	if (!b->nb)
		return 0;
	size_t n = (size_t)nftnl_batch_iovec_len(b->nb);
	if (n <= max)
		nftnl_batch_iovec(b->nb, iov, (uint32_t)n);
	return n;
}

/* ------------------------------------------------------------- answers */

struct ext_ack {
	const char *msg;
	uint32_t off;
};

static int ext_ack_attr(const struct nlattr *at, void *data)
{
	struct ext_ack *x = data;
	switch (mnl_attr_get_type(at)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(at, MNL_TYPE_NUL_STRING) == 0)
			x->msg = mnl_attr_get_str(at);
		break;
	case NLMSGERR_ATTR_OFFS:
		if (mnl_attr_validate(at, MNL_TYPE_U32) == 0)
			x->off = mnl_attr_get_u32(at);
		break;
	}
	return MNL_CB_OK;
}

void hg_vbatch_answers(struct hg_vbatch *b, const void *buf, size_t len)
{
	int rem = len > INT32_MAX ? INT32_MAX : (int)len;
	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
			continue;
		const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
		struct ext_ack x = {0};
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
			/* The TLVs follow the error and, unless NETLINK_CAP_ACK
			 * capped it, a copy of the request. */
			size_t hlen = sizeof(*err);
			if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
				hlen += mnl_nlmsg_get_payload_len(&err->msg);
			if (mnl_nlmsg_size(hlen) <= nlh->nlmsg_len)
				mnl_attr_parse(nlh, (unsigned)hlen, ext_ack_attr, &x);
		}
		uint32_t seq = nlh->nlmsg_seq;
		if (seq == b->begin_seq) {
			/* The transaction as a whole: out of memory queueing the
			 * answers, or its commit refused. */
			if (err->error && !b->batch_error) {
				b->batch_error = err->error;
				snprintf(b->batch_text, sizeof(b->batch_text), "%s", x.msg ? x.msg : "");
			}
			continue;
		}
		if (seq - b->first_seq >= b->n_msgs)
			continue; /* an earlier batch's, or not ours */
		struct vmsg *m = &b->msgs[seq - b->first_seq];
		if (m->answered)
			continue;
		m->answered = true;
		b->n_answered++;
		m->error = err->error;
		m->bad_off = x.off;
		snprintf(m->text, sizeof(m->text), "%s", x.msg ? x.msg : "");
	}
}

bool hg_vbatch_answered(const struct hg_vbatch *b)
{
	return b->n_answered == b->n_msgs;
}

/* The element of message m at offset off (NLMSGERR_ATTR_OFFS), or -1. */
static long elem_at(const struct hg_vbatch *b, const struct vmsg *m, uint32_t off)
{
	long found = -1;
	for (uint32_t i = m->first; i < m->first + m->n_el && b->el_off[i] <= off; i++)
		found = i;
	return found;
}

int hg_vbatch_result(const struct hg_vbatch *b, char *msg, size_t cap)
{
	if (msg && cap)
		msg[0] = 0;
	if (b->batch_error) {
		if (msg)
			snprintf(msg, cap, "the kernel refused the transaction: %s%s%s", b->batch_text,
				 b->batch_text[0] ? ": " : "", strerror(-b->batch_error));
		return b->batch_error < 0 ? b->batch_error : -b->batch_error;
	}
	const struct vmsg *bad = NULL;
	size_t n_bad = 0, unanswered = 0;
	for (size_t i = 0; i < b->n_msgs; i++) {
		const struct vmsg *m = &b->msgs[i];
		if (!m->answered)
			unanswered++;
		else if (m->error && !n_bad++)
			bad = m;
	}
	if (bad) {
		char where[200] = "";
		long el = bad->bad_off ? elem_at(b, bad, bad->bad_off) : -1;
		if (el >= 0) {
			const struct vflow *f = &b->flows[b->el_flow[el] / 2];
			char k[128];
			hg_vkey_format(f->key[b->el_flow[el] % 2], f->klen, k, sizeof(k));
			snprintf(where, sizeof(where), ", element %ld of %u: %s", el - (long)bad->first + 1,
				 bad->n_el, k);
		}
		/* nf_tables says ENFILE for a set at its size. */
		const char *why = bad->error == -ENFILE && !bad->del ? "the set is full" : strerror(-bad->error);
		if (msg)
			snprintf(msg, cap, "%s set %s (%u elements): %s%s%s%s%s", bad->del ? "deleting from" : "adding to",
				 hg_vset_name((enum hg_vset)bad->set), bad->n_el, bad->text, bad->text[0] ? ": " : "", why,
				 where, n_bad > 1 ? " (and more messages refused)" : "");
		return bad->error < 0 ? bad->error : -bad->error;
	}
	if (unanswered) {
		if (msg)
			snprintf(msg, cap, "%zu of %zu messages unanswered (the kernel's answers were lost)", unanswered,
				 b->n_msgs);
		return -ENOBUFS;
	}
	return 0;
}
