/* test_verdict_batch.c - the verdict-set batch (runtime/verdict_batch.c):
 * built and parsed back with libnftnl without root (512 IPv6 flows, whose
 * elements pass one 16-bit attribute), the kernel's answers (acks, errors
 * with extended acks, lost answers) turned into a result, and, as root in a
 * network namespace of its own, committed into a real table and refused by
 * it with the kernel's words and the element it concerns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "sh_util.h"
#include "hostgate/actuate.h"
#include "hostgate/verdict_batch.h"

/* Flow i: 2001:db8::<i> port 10000+i to 2001:db8:1::1 port 443, TCP. */
static struct hg_act_tuple flow6(unsigned i)
{
	struct hg_act_tuple t = {.cport = (uint16_t)(10000 + i), .sport = 443, .proto = 6, .ct_id = 0x5000u + i};
	t.cli.b[0] = 0x20, t.cli.b[1] = 0x01, t.cli.b[2] = 0x0d, t.cli.b[3] = 0xb8;
	t.cli.b[14] = (uint8_t)(i >> 8), t.cli.b[15] = (uint8_t)i;
	t.srv.b[0] = 0x20, t.srv.b[1] = 0x01, t.srv.b[2] = 0x0d, t.srv.b[3] = 0xb8, t.srv.b[5] = 1;
	t.srv.b[15] = 1;
	return t;
}

static struct hg_act_tuple flow4(unsigned i)
{
	struct hg_act_tuple t = {.cport = (uint16_t)(20000 + i), .sport = 80, .proto = 17, .ct_id = 0x04030201u};
	uint8_t c[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i}, s[4] = {192, 0, 2, 1};
	hg_ip_from_v4(&t.cli, c);
	hg_ip_from_v4(&t.srv, s);
	return t;
}

/* The batch's messages, back to back in one buffer. */
static size_t flatten(struct hg_vbatch *b, uint8_t **out)
{
	struct iovec iov[16];
	size_t n = hg_vbatch_iovec(b, iov, 16), len = 0;
	cr_assert(n >= 1 && n <= 16);
	for (size_t i = 0; i < n; i++)
		len += iov[i].iov_len;
	*out = malloc(len);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(*out + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return len;
}

struct parsed {
	unsigned begin, end, msgs;
	unsigned elems;
	uint32_t seq[64];
	uint16_t type[64];
	char set[64][16];
	unsigned n_el[64];
	uint32_t first_el_off[64][4]; /* offsets of a message's first elements */
};

static int count_elem(struct nftnl_set_elem *e, void *data)
{
	(void)e;
	(*(unsigned *)data)++;
	return 0;
}

/* Walks the batch as the kernel would: BATCH_BEGIN, element messages
 * parsed with libnftnl, BATCH_END; checks each element list attribute
 * holds exactly the bytes to the end of its message (no 16-bit wrap). */
static void parse_batch(const uint8_t *buf, size_t len, struct parsed *p, struct nftnl_set **sets)
{
	memset(p, 0, sizeof(*p));
	int rem = (int)len;
	for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
			cr_assert_eq(p->msgs + p->end, 0, "BATCH_BEGIN first");
			p->begin++;
			continue;
		}
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			p->end++;
			continue;
		}
		cr_assert_eq(p->begin, 1);
		cr_assert_eq(p->end, 0, "no message after BATCH_END");
		unsigned m = p->msgs++;
		cr_assert(m < 64);
		p->seq[m] = nlh->nlmsg_seq;
		p->type[m] = nlh->nlmsg_type & 0xff;
		cr_assert_eq(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		cr_assert(nlh->nlmsg_flags & NLM_F_ACK, "every element message asks for an answer");
		/* The element list: one attribute up to the message's end. */
		const struct nlattr *list = NULL;
		mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) if (mnl_attr_get_type(list) == NFTA_SET_ELEM_LIST_ELEMENTS) break;
		cr_assert_not_null(list);
		size_t to_end = (size_t)((const char *)nlh + nlh->nlmsg_len - (const char *)list);
		cr_assert_eq(list->nla_len, to_end, "element list %u: nla_len %u, %zu bytes", m, list->nla_len, to_end);
		unsigned k = 0;
		const struct nlattr *el;
		mnl_attr_for_each_nested(el, list) if (k < 4) p->first_el_off[m][k++] = (uint32_t)((const char *)el - (const char *)nlh);
		struct nftnl_set *s = nftnl_set_alloc();
		cr_assert_eq(nftnl_set_elems_nlmsg_parse(nlh, s), 0, "libnftnl parses message %u", m);
		snprintf(p->set[m], sizeof(p->set[m]), "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
		cr_assert_str_eq(nftnl_set_get_str(s, NFTNL_SET_TABLE), "hgtest");
		nftnl_set_elem_foreach(s, count_elem, &p->n_el[m]);
		p->elems += p->n_el[m];
		if (sets)
			sets[m] = s;
		else
			nftnl_set_free(s);
	}
	cr_assert_eq(rem, 0, "the batch ends on a message boundary");
	cr_assert_eq(p->begin, 1);
	cr_assert_eq(p->end, 1);
}

struct walk {
	unsigned next; /* element index over the whole set */
	uint64_t timeout_ms;
};

static int check_elem(struct nftnl_set_elem *e, void *data)
{
	struct walk *w = data;
	struct hg_act_tuple t = flow6(w->next / 2);
	uint8_t want[HG_VKEY_MAX];
	size_t wl = hg_vkey_build(want, &t, w->next % 2);
	uint32_t kl = 0;
	const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	cr_assert_eq(kl, wl);
	cr_assert_eq(kl, HG_VKEY6_LEN);
	cr_assert_arr_eq(k, want, wl, "element %u", w->next);
	cr_assert_eq(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT), w->timeout_ms);
	w->next++;
	return 0;
}

/* 512 IPv6 flows with a timeout: 1024 elements of 68 bytes, more than one
 * 16-bit element list can hold (the hand-built batch wrapped its length). */
Test(verdict_batch, ipv6_512_flows_split_and_parse_back)
{
	struct hg_vbatch *b = hg_vbatch_new("hgtest", 512);
	cr_assert_not_null(b);
	for (unsigned i = 0; i < 512; i++) {
		struct hg_act_tuple t = flow6(i);
		cr_assert(hg_vbatch_add(b, &t, HG_VSET_ALLOW6, false, 3600000));
	}
	struct hg_act_tuple extra = flow6(512);
	cr_assert_not(hg_vbatch_add(b, &extra, HG_VSET_ALLOW6, false, 0), "the batch holds 512 flows");
	uint32_t next = 0;
	cr_assert_eq(hg_vbatch_build(b, 100, &next), 0);
	uint8_t *buf;
	size_t len = flatten(b, &buf);
	struct parsed p;
	struct nftnl_set *sets[64] = {0};
	parse_batch(buf, len, &p, sets);
	cr_assert_eq(p.elems, 1024, "every element parses back");
	cr_assert_geq(p.msgs, 2, "1024 IPv6 elements with timeouts need more than one element list");
	cr_assert_eq(hg_vbatch_messages(b), p.msgs);
	cr_assert_eq(next, 100 + p.msgs + 2);
	struct walk w = {.timeout_ms = 3600000};
	for (unsigned m = 0; m < p.msgs; m++) {
		cr_assert_eq(p.type[m], NFT_MSG_NEWSETELEM);
		cr_assert_str_eq(p.set[m], "allow6");
		cr_assert_eq(p.seq[m], 101 + m);
		nftnl_set_elem_foreach(sets[m], check_elem, &w);
		nftnl_set_free(sets[m]);
	}
	cr_assert_eq(w.next, 1024, "in order, both directions of each flow");
	free(buf);
	hg_vbatch_free(b);
}

Test(verdict_batch, sets_and_operations)
{
	struct hg_vbatch *b = hg_vbatch_new("hgtest", 16);
	struct hg_act_tuple a4 = flow4(1), d4 = flow4(2), a6 = flow6(3), r6 = flow6(4);
	hg_vbatch_add(b, &r6, HG_VSET_ALLOW6, true, 99); /* deletions carry no timeout */
	hg_vbatch_add(b, &a4, HG_VSET_ALLOW4, false, 0);
	hg_vbatch_add(b, &d4, HG_VSET_DENY4, false, 5000);
	hg_vbatch_add(b, &a6, HG_VSET_ALLOW6, false, 0);
	/* One removal among four: what a SYN on its tuple must not overtake. */
	cr_assert_eq(hg_vbatch_flows(b), 4);
	cr_assert_eq(hg_vbatch_removals(b), 1);
	cr_assert_eq(hg_vbatch_build(b, 1, NULL), 0);
	uint8_t *buf;
	size_t len = flatten(b, &buf);
	struct parsed p;
	struct nftnl_set *sets[64] = {0};
	parse_batch(buf, len, &p, sets);
	/* Additions set by set, then deletions. */
	cr_assert_eq(p.msgs, 4);
	const char *want[] = {"allow4", "deny4", "allow6", "allow6"};
	const uint16_t type[] = {NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM};
	for (unsigned m = 0; m < 4; m++) {
		cr_assert_str_eq(p.set[m], want[m]);
		cr_assert_eq(p.type[m], type[m]);
		cr_assert_eq(p.n_el[m], 2);
	}
	/* deny4's elements: 10.0.0.2 . 20002 . 192.0.2.1 . 80 . ct id and back;
	 * the ct id in host order, as the kernel's register holds it. */
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(sets[1]);
	struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it);
	uint32_t kl;
	const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	uint8_t key[HG_VKEY4_LEN] = {10, 0, 0, 2, 0x4e, 0x22, 0, 0, 192, 0, 2, 1, 0, 80, 0, 0};
	const uint32_t ct_id = 0x04030201u;
	memcpy(key + 16, &ct_id, 4);
	cr_assert_eq(kl, HG_VKEY4_LEN);
	cr_assert_arr_eq(k, key, sizeof(key));
	cr_assert_eq(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT), 5000);
	char txt[128];
	hg_vkey_format(k, kl, txt, sizeof(txt));
	cr_assert_str_eq(txt, "10.0.0.2 . 20002 . 192.0.2.1 . 80 . ct id 67305985");
	nftnl_set_elems_iter_destroy(it);
	it = nftnl_set_elems_iter_create(sets[3]);
	e = nftnl_set_elems_iter_next(it);
	cr_assert_not(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT));
	nftnl_set_elems_iter_destroy(it);
	for (unsigned m = 0; m < 4; m++)
		nftnl_set_free(sets[m]);
	free(buf);
	hg_vbatch_clear(b);
	cr_assert_eq(hg_vbatch_flows(b) + hg_vbatch_removals(b), 0);
	hg_vbatch_free(b);
}

/* An answer as the kernel writes it with NETLINK_CAP_ACK and
 * NETLINK_EXT_ACK: the error, the request's header, the TLVs. */
static size_t put_answer(uint8_t *at, uint32_t seq, int error, const char *text, uint32_t off)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_CAPPED | ((text || off) ? NLM_F_ACK_TLVS : 0);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_seq = seq;
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	if (off)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, off);
	return nlh->nlmsg_len;
}

Test(verdict_batch, answers_to_result)
{
	struct hg_vbatch *b = hg_vbatch_new("hgtest", 512);
	for (unsigned i = 0; i < 512; i++) {
		struct hg_act_tuple t = flow6(i);
		hg_vbatch_add(b, &t, HG_VSET_ALLOW6, false, 1000);
	}
	cr_assert_eq(hg_vbatch_build(b, 7, NULL), 0);
	uint8_t *buf;
	size_t len = flatten(b, &buf);
	struct parsed p;
	parse_batch(buf, len, &p, NULL);
	cr_assert_geq(p.msgs, 2);
	char msg[512];
	uint8_t ans[4096];
	size_t n = 0;

	/* Nothing read yet: the answers are missing, the outcome unknown. */
	cr_assert_not(hg_vbatch_answered(b));
	cr_assert_eq(hg_vbatch_result(b, msg, sizeof(msg)), -ENOBUFS);
	cr_assert(strstr(msg, "unanswered"), "%s", msg);

	/* Every message acknowledged, plus noise: a stale answer, one
	 * acknowledgement twice. The reader stops once all are in (the
	 * stale one and the first message's alone are not all). */
	n += put_answer(ans + n, 3, -EINVAL, "stale", 0);
	n += put_answer(ans + n, p.seq[0], 0, NULL, 0);
	hg_vbatch_answers(b, ans, n);
	hg_vbatch_answers(b, ans, n);
	cr_assert_not(hg_vbatch_answered(b));
	n = 0;
	for (unsigned m = 0; m < p.msgs; m++)
		n += put_answer(ans + n, p.seq[m], 0, NULL, 0);
	hg_vbatch_answers(b, ans, n);
	cr_assert(hg_vbatch_answered(b));
	cr_assert_eq(hg_vbatch_result(b, msg, sizeof(msg)), 0, "%s", msg);
	n = 0;

	/* The second message refused, the kernel pointing at its third
	 * element: flow (count of the first message's elements + 2) / 2. */
	cr_assert_eq(hg_vbatch_build(b, 50, NULL), 0);
	n = 0;
	n += put_answer(ans + n, p.seq[0] - 7 + 50, 0, NULL, 0);
	n += put_answer(ans + n, p.seq[1] - 7 + 50, -EEXIST, "element exists, set full", p.first_el_off[1][2]);
	for (unsigned m = 2; m < p.msgs; m++)
		n += put_answer(ans + n, p.seq[m] - 7 + 50, 0, NULL, 0);
	hg_vbatch_answers(b, ans, n);
	cr_assert_eq(hg_vbatch_result(b, msg, sizeof(msg)), -EEXIST);
	unsigned el = p.n_el[0] + 2;
	struct hg_act_tuple t = flow6(el / 2);
	uint8_t key[HG_VKEY_MAX];
	char want[160];
	hg_vkey_format(key, hg_vkey_build(key, &t, el % 2), want, sizeof(want));
	cr_assert(strstr(msg, "adding to set allow6"), "%s", msg);
	cr_assert(strstr(msg, "element exists, set full: File exists"), "%s", msg);
	cr_assert(strstr(msg, want), "the element the kernel pointed at (%s): %s", want, msg);
	cr_assert(strstr(msg, "element 3 of"), "%s", msg);

	/* The whole transaction refused (an answer to BATCH_BEGIN). */
	cr_assert_eq(hg_vbatch_build(b, 90, NULL), 0);
	n = put_answer(ans, 90, -ENOMEM, NULL, 0);
	hg_vbatch_answers(b, ans, n);
	cr_assert_eq(hg_vbatch_result(b, msg, sizeof(msg)), -ENOMEM);
	cr_assert(strstr(msg, "refused the transaction"), "%s", msg);
	free(buf);
	hg_vbatch_free(b);
}

/* ---------------------------------------------------- in a real kernel */

static void own_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, nf_tables): skipped");
	if (access("/usr/sbin/nft", X_OK))
		cr_skip_test("nft not installed: skipped");
	/* Criterion runs each test in its own process: the namespace, its
	 * table and everything in it go with it. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(sh("nft -f - <<'EOF'\n"
			"table inet hgtest {\n"
			"  set allow6 { type ipv6_addr . inet_service . ipv6_addr . inet_service . mark; size 262144; flags timeout; timeout 1h; }\n"
			"  set allow4 { type ipv4_addr . inet_service . ipv4_addr . inet_service . mark; size 4; flags timeout; timeout 1h; }\n"
			"  set deny4 { type ipv4_addr . inet_service . ipv4_addr . inet_service . mark; size 16; flags timeout; timeout 1h; }\n"
			"}\nEOF"),
		     0);
}

static long elements(const char *set)
{
	char *o = sh_out("nft list set inet hgtest %s | grep -o expires | wc -l", set);
	long n = atol(o);
	free(o);
	return n;
}

Test(verdict_batch, kernel_commit_and_refusals)
{
	own_netns();
	char err[256];
	struct hg_actuator *a = hg_act_new("hgtest", err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	for (unsigned i = 0; i < 512; i++) {
		struct hg_act_tuple t = flow6(i);
		hg_act_verdict(a, &t, true, 600);
	}
	cr_assert_eq(hg_act_commit(a), 0, "%s", hg_act_last_error(a));
	cr_assert_eq(elements("allow6"), 1024, "every element of 512 IPv6 flows is in the set");

	/* Deleting a flow that is not there: the kernel says ENOENT and
	 * points at the element. */
	struct hg_act_tuple gone = flow6(4000);
	hg_act_unallow(a, &gone);
	int r = hg_act_commit(a);
	cr_assert_eq(r, -ENOENT, "%d: %s", r, hg_act_last_error(a));
	char key[160];
	uint8_t k[HG_VKEY_MAX];
	hg_vkey_format(k, hg_vkey_build(k, &gone, false), key, sizeof(key));
	cr_assert(strstr(hg_act_last_error(a), "deleting from set allow6"), "%s", hg_act_last_error(a));
	cr_assert(strstr(hg_act_last_error(a), key), "%s", hg_act_last_error(a));
	cr_assert_eq(elements("allow6"), 1024, "nothing of a refused transaction is applied");

	/* A set over its size: the kernel refuses (ENFILE), nothing added. */
	for (unsigned i = 0; i < 3; i++) {
		struct hg_act_tuple t = flow4(i);
		hg_act_verdict(a, &t, true, 600);
	}
	r = hg_act_commit(a);
	cr_assert_lt(r, 0, "6 elements into a set of size 4");
	cr_assert(strstr(hg_act_last_error(a), "adding to set allow4 (6 elements): the set is full"), "%s",
		  hg_act_last_error(a));
	cr_assert_eq(elements("allow4"), 0);

	/* A full queue commits by itself; its failure is not lost: the next
	 * commit returns it although its own transaction succeeds. */
	for (unsigned i = 0; i < 512; i++) {
		struct hg_act_tuple t = flow6(5000 + i);
		hg_act_unallow(a, &t);
	}
	struct hg_act_tuple last = flow4(9);
	hg_act_verdict(a, &last, false, 600); /* the 513th: the queue commits the 512 first */
	cr_assert_eq(hg_act_pending(a), 1);
	r = hg_act_commit(a);
	cr_assert_eq(r, -ENOENT, "the earlier commit's failure: %d", r);
	cr_assert_eq(elements("deny4"), 2, "its own transaction went in");
	struct hg_act_stats st;
	hg_act_get_stats(a, &st);
	cr_assert_eq(st.commits, 5);
	cr_assert_eq(st.commit_errors, 3, "failed commits are counted");
	hg_act_free(a);
}
