/* actuate.c - what the live daemon does to the kernel: verdict-set elements
 * as one nf_tables netlink batch per commit (many flows per transaction),
 * re-injection of held datagrams through raw sockets, TCP resets for
 * rejected flows; other nft commands (listings) through libnftables.
 *
 * Why netlink by hand for the elements: libnftables parses text, fetches
 * its cache and waits for the kernel's answers on every call, ~0.4 ms per
 * commit here (several ms on a loaded machine); the daemon's poll loop is
 * blocked meanwhile and every held packet behind it waits. A batch of
 * NEWSETELEM messages is a few µs to build, and the kernel runs it in our
 * sendmsg: errors (only errors: no NLM_F_ACK) are queued before sendto
 * returns and read back without blocking.
 *
 * Re-injected datagrams leave through the gateway's output path: conntrack
 * finds the flow's entry (created when the SYN was forwarded) and the
 * forward-hook table never sees them again, so they cannot be held twice. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>

#include "hostgate/actuate.h"
#include "hostgate/decode.h"
#include "hostgate/engine.h"
#include "hostgate/table.h"
#include "hostgate/util.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36 /* linux/in6.h, Linux >= 4.5 */
#endif

/* Flows per transaction: 2 elements each, <= 76 bytes an element in the
 * message, so a full batch stays well under BATCH_BYTES. */
#define BATCH_FLOWS 512
#define BATCH_BYTES (160 * 1024)
#define PKT_MAX 65535

struct pending_flow {
	uint8_t set, klen;
	bool del; /* delete the elements (a revoked allow) instead of adding */
	uint8_t key[2][HG_VKEY6_LEN]; /* client to server, server to client */
	uint64_t timeout_ms;      /* 0: the set's default */
};

struct hg_actuator {
	struct nft_ctx *nft;
	char *table;
	int fd4, fd6, nl;
	uint32_t seq;
	struct pending_flow *pend;
	size_t n_pend;
	uint8_t *batch;
	uint8_t scratch[PKT_MAX];
	struct hg_act_stats st;
};

static void set_err(char *err, size_t errlen, const char *what, int e)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, strerror(e));
}

struct hg_actuator *hg_act_new(const char *table, char *err, size_t errlen)
{
	struct hg_actuator *a = calloc(1, sizeof(*a));
	if (!a) {
		set_err(err, errlen, "actuator", ENOMEM);
		return NULL;
	}
	a->fd4 = a->fd6 = a->nl = -1;
	a->table = strdup(table ? table : HG_TABLE_DEFAULT);
	a->batch = malloc(BATCH_BYTES);
	a->pend = malloc(sizeof(*a->pend) * BATCH_FLOWS);
	if (!a->table || !a->batch || !a->pend || strlen(a->table) > 200) {
		set_err(err, errlen, "actuator", ENOMEM);
		goto fail;
	}
	/* IPPROTO_RAW implies IP_HDRINCL: we send the held header as is. */
	a->fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (a->fd4 < 0) {
		set_err(err, errlen, "raw IPv4 socket", errno);
		goto fail;
	}
	a->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	int one = 1;
	if (a->fd6 < 0 || setsockopt(a->fd6, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one)) < 0) {
		set_err(err, errlen, "raw IPv6 socket (IPV6_HDRINCL)", errno);
		goto fail;
	}
	a->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	if (a->nl < 0 || bind(a->nl, (struct sockaddr *)&local, sizeof(local)) < 0) {
		set_err(err, errlen, "nfnetlink socket", errno);
		goto fail;
	}
	int sz = BATCH_BYTES * 2;
	setsockopt(a->nl, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* Errors without a copy of the request: short answers. */
	setsockopt(a->nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	a->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!a->nft || nft_ctx_buffer_output(a->nft) || nft_ctx_buffer_error(a->nft)) {
		set_err(err, errlen, "libnftables context", ENOMEM);
		goto fail;
	}
	/* Listings (hg_act_nft) name objects; a verdict set's elements, up
	 * to a million, are never wanted in text. */
	nft_ctx_output_set_flags(a->nft, nft_ctx_output_get_flags(a->nft) | NFT_CTX_OUTPUT_TERSE);
	return a;
fail:
	hg_act_free(a);
	return NULL;
}

void hg_act_free(struct hg_actuator *a)
{
	if (!a)
		return;
	if (a->nft)
		nft_ctx_free(a->nft);
	if (a->fd4 >= 0)
		close(a->fd4);
	if (a->fd6 >= 0)
		close(a->fd6);
	if (a->nl >= 0)
		close(a->nl);
	free(a->pend);
	free(a->batch);
	free(a->table);
	free(a);
}

/* ------------------------------------------------------------ verdicts */

/* One direction's key: saddr . sport . daddr . dport . l4proto. */
static uint8_t put_key(uint8_t *k, const struct hg_ip *sa, uint16_t sp, const struct hg_ip *da, uint16_t dp,
		       uint8_t proto, bool v4)
{
	size_t al = v4 ? 4 : 16;
	const uint8_t *s = v4 ? sa->b + 12 : sa->b, *d = v4 ? da->b + 12 : da->b;
	uint8_t *p = k;
	memset(k, 0, v4 ? HG_VKEY4_LEN : HG_VKEY6_LEN);
	memcpy(p, s, al);
	p += al;
	p[0] = (uint8_t)(sp >> 8), p[1] = (uint8_t)sp;
	p += 4;
	memcpy(p, d, al);
	p += al;
	p[0] = (uint8_t)(dp >> 8), p[1] = (uint8_t)dp;
	p += 4;
	p[0] = proto;
	p += 4;
	return (uint8_t)(p - k);
}

void hg_act_verdict(struct hg_actuator *a, const struct hg_act_tuple *t, bool allow, uint32_t timeout_s)
{
	if (a->n_pend >= BATCH_FLOWS)
		hg_act_commit(a);
	bool v4 = hg_ip_is_v4(&t->cli);
	struct pending_flow *f = &a->pend[a->n_pend++];
	f->set = (uint8_t)hg_vset_of(allow, v4);
	f->klen = put_key(f->key[0], &t->cli, t->cport, &t->srv, t->sport, t->proto, v4);
	put_key(f->key[1], &t->srv, t->sport, &t->cli, t->cport, t->proto, v4);
	f->timeout_ms = (uint64_t)timeout_s * 1000u;
	f->del = false;
	if (allow)
		a->st.verdicts_allow++;
	else
		a->st.verdicts_deny++;
}

void hg_act_unallow(struct hg_actuator *a, const struct hg_act_tuple *t)
{
	if (a->n_pend >= BATCH_FLOWS)
		hg_act_commit(a);
	bool v4 = hg_ip_is_v4(&t->cli);
	struct pending_flow *f = &a->pend[a->n_pend++];
	f->set = (uint8_t)hg_vset_of(true, v4);
	f->klen = put_key(f->key[0], &t->cli, t->cport, &t->srv, t->sport, t->proto, v4);
	put_key(f->key[1], &t->srv, t->sport, &t->cli, t->cport, t->proto, v4);
	f->timeout_ms = 0;
	f->del = true;
	a->st.unallowed++;
}

size_t hg_act_pending(const struct hg_actuator *a)
{
	return a->n_pend;
}

int hg_act_nft(struct hg_actuator *a, const char *cmd, char **out, char **err)
{
	if (out)
		*out = NULL;
	if (err)
		*err = NULL;
	int r = nft_run_cmd_from_buffer(a->nft, cmd);
	const char *o = nft_ctx_get_output_buffer(a->nft);
	const char *e = nft_ctx_get_error_buffer(a->nft);
	if (out)
		*out = strdup(o ? o : "");
	if (r != 0) {
		if (err)
			*err = strdup(e && *e ? e : "nft refused the command\n");
		return -EINVAL;
	}
	return 0;
}

long hg_act_set_elements(struct hg_actuator *a, const char *set)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "list set inet %s %s", a->table, set);
	unsigned flags = nft_ctx_output_get_flags(a->nft);
	nft_ctx_output_set_flags(a->nft, flags & ~(unsigned)NFT_CTX_OUTPUT_TERSE);
	int r = nft_run_cmd_from_buffer(a->nft, cmd);
	nft_ctx_output_set_flags(a->nft, flags);
	if (r != 0)
		return -1;
	/* Every element of a verdict set has a timeout: one "expires" each. */
	long n = 0;
	const char *o = nft_ctx_get_output_buffer(a->nft);
	for (const char *at = o; at && (at = strstr(at, " expires ")); at++)
		n++;
	return n;
}

/* ------------------------------------------------- netlink messages */

struct nlbuf {
	uint8_t *b;
	size_t len, cap;
};

static struct nlattr *nl_put(struct nlbuf *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *at = (struct nlattr *)(m->b + m->len);
	at->nla_type = type;
	at->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy(m->b + m->len + NLA_HDRLEN, data, len);
	size_t pad = NLA_ALIGN(NLA_HDRLEN + len);
	memset(m->b + m->len + NLA_HDRLEN + len, 0, pad - NLA_HDRLEN - len);
	m->len += pad;
	return at;
}

static size_t nl_nest(struct nlbuf *m, uint16_t type)
{
	size_t off = m->len;
	nl_put(m, type | NLA_F_NESTED, NULL, 0);
	return off;
}

static void nl_nest_end(struct nlbuf *m, size_t off)
{
	((struct nlattr *)(m->b + off))->nla_len = (uint16_t)(m->len - off);
}

static size_t nl_msg(struct hg_actuator *a, struct nlbuf *m, uint16_t type, uint16_t flags, uint8_t family,
		     uint16_t res_id)
{
	size_t off = m->len;
	struct nlmsghdr *nh = (struct nlmsghdr *)(m->b + off);
	nh->nlmsg_type = type;
	nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nh->nlmsg_seq = ++a->seq;
	nh->nlmsg_pid = 0;
	struct nfgenmsg *g = (struct nfgenmsg *)(m->b + off + NLMSG_HDRLEN);
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	m->len += NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g));
	return off;
}

static void nl_msg_end(struct nlbuf *m, size_t off)
{
	((struct nlmsghdr *)(m->b + off))->nlmsg_len = (uint32_t)(m->len - off);
}

static void put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Reads what the kernel answered without blocking: with no NLM_F_ACK only
 * errors come back. The first error, or 0. */
static int read_errors(struct hg_actuator *a)
{
	int first = 0;
	uint8_t buf[8192];
	for (;;) {
		ssize_t n = recv(a->nl, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type != NLMSG_ERROR ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *e = NLMSG_DATA(nh);
			if (e->error && !first)
				first = e->error;
		}
	}
	return first;
}

int hg_act_commit(struct hg_actuator *a)
{
	if (!a->n_pend)
		return 0;
	read_errors(a); /* nothing should wait; stale answers are not ours */
	struct nlbuf m = {.b = a->batch, .cap = BATCH_BYTES};
	size_t h = nl_msg(a, &m, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	nl_msg_end(&m, h);
	for (int op = 0; op < 2 * HG_VSET_N; op++) {
		int set = op % HG_VSET_N;
		bool del = op >= HG_VSET_N;
		size_t msg = 0, list = 0;
		bool open = false;
		for (size_t i = 0; i < a->n_pend; i++) {
			const struct pending_flow *f = &a->pend[i];
			if (f->set != set || f->del != del)
				continue;
			if (!open) {
				msg = nl_msg(a, &m,
					     (NFNL_SUBSYS_NFTABLES << 8) | (del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM),
					     del ? 0 : NLM_F_CREATE, NFPROTO_INET, 0);
				nl_put(&m, NFTA_SET_ELEM_LIST_TABLE, a->table, strlen(a->table) + 1);
				nl_put(&m, NFTA_SET_ELEM_LIST_SET, hg_vset_name(set), strlen(hg_vset_name(set)) + 1);
				list = nl_nest(&m, NFTA_SET_ELEM_LIST_ELEMENTS);
				open = true;
			}
			for (int dir = 0; dir < 2; dir++) {
				size_t el = nl_nest(&m, NFTA_LIST_ELEM);
				size_t key = nl_nest(&m, NFTA_SET_ELEM_KEY);
				nl_put(&m, NFTA_DATA_VALUE, f->key[dir], f->klen);
				nl_nest_end(&m, key);
				if (f->timeout_ms) {
					uint8_t to[8];
					put_u64be(to, f->timeout_ms);
					nl_put(&m, NFTA_SET_ELEM_TIMEOUT, to, 8);
				}
				nl_nest_end(&m, el);
			}
		}
		if (open) {
			nl_nest_end(&m, list);
			nl_msg_end(&m, msg);
		}
	}
	h = nl_msg(a, &m, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	nl_msg_end(&m, h);

	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t w = sendto(a->nl, m.b, m.len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	int r = w < 0 ? -errno : (size_t)w != m.len ? -EMSGSIZE : read_errors(a);
	a->st.commits++;
	if (r) {
		/* One bad element fails the transaction: the flows stay held in
		 * the kernel (fail closed) and the daemon keeps deciding them. */
		a->st.commit_errors++;
		if (a->st.commit_errors < 10 || !(a->st.commit_errors % 1000))
			fprintf(stderr, "hostgate: verdict set update failed (%zu flows): %s\n", a->n_pend,
				strerror(-r));
	}
	a->n_pend = 0;
	return r ? -EINVAL : 0;
}

/* ----------------------------------------------------------- checksums */

/* One's complement sum of bytes, folded later (RFC 1071). */
static uint32_t sum_bytes(uint32_t s, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

bool hg_l4_checksum_fix(uint8_t *l3, size_t len)
{
	struct hg_decode_stats st = {0};
	struct hg_packet p = {0};
	if (len > PKT_MAX || !hg_decode_ip(&st, l3, (uint32_t)len, false, &p))
		return false;
	if ((p.flags & HG_PKT_F_FRAGMENT) || (p.ip_proto != 6 && p.ip_proto != 17) || !p.l4)
		return false;
	uint8_t *l4 = l3 + (p.l4 - l3);
	size_t l4len = p.l4_len;
	size_t off = p.ip_proto == 6 ? 16 : 6;
	if (l4len < off + 2)
		return false;
	uint32_t s = 0;
	if (p.family == 4) {
		/* RFC 791 header checksum, then the RFC 793/768 pseudo-header. */
		put16(l3 + 10, 0);
		put16(l3 + 10, fold(sum_bytes(0, l3, p.l3_hlen)));
		s = sum_bytes(s, l3 + 12, 8);
	} else {
		s = sum_bytes(s, l3 + 8, 32); /* RFC 8200 §8.1 */
	}
	s += p.ip_proto;
	s += (uint32_t)l4len & 0xffff;
	s += (uint32_t)(l4len >> 16);
	put16(l4 + off, 0);
	uint16_t c = fold(sum_bytes(s, l4, l4len));
	if (p.ip_proto == 17 && c == 0)
		c = 0xffff; /* RFC 768: zero means "no checksum" */
	put16(l4 + off, c);
	return true;
}

/* ------------------------------------------------------------- sending */

static int send_l3(struct hg_actuator *a, const uint8_t *b, size_t len)
{
	ssize_t w;
	if ((b[0] >> 4) == 4) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		memcpy(&sin.sin_addr, b + 16, 4);
		w = sendto(a->fd4, b, len, 0, (const struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
		memcpy(&sin6.sin6_addr, b + 24, 16);
		w = sendto(a->fd6, b, len, 0, (const struct sockaddr *)&sin6, sizeof(sin6));
	}
	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EMSGSIZE;
}

int hg_act_inject(struct hg_actuator *a, const uint8_t *l3, size_t len)
{
	if (len < 20 || len > PKT_MAX || ((l3[0] >> 4) != 4 && (l3[0] >> 4) != 6) ||
	    ((l3[0] >> 4) == 6 && len < 40)) {
		a->st.inject_errors++;
		a->st.last_errno = EINVAL;
		return -EINVAL;
	}
	memcpy(a->scratch, l3, len);
	/* Not TCP/UDP (or a fragment): sent as held, nothing to recompute. */
	hg_l4_checksum_fix(a->scratch, len);
	int r = send_l3(a, a->scratch, len);
	if (r) {
		a->st.inject_errors++;
		a->st.last_errno = -r;
	} else {
		a->st.injected++;
	}
	return r;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

int hg_act_tcp_reset(struct hg_actuator *a, const uint8_t *l3, size_t len)
{
	struct hg_decode_stats st = {0};
	struct hg_packet p = {0};
	if (len > PKT_MAX || !hg_decode_ip(&st, l3, (uint32_t)len, false, &p) || p.ip_proto != 6 ||
	    (p.flags & HG_PKT_F_FRAGMENT) || !p.l4 || p.l4_len < 20) {
		a->st.reset_errors++;
		return -EINVAL;
	}
	uint32_t seglen = p.payload_len + ((p.tcp_flags & HG_TCP_SYN) ? 1 : 0) +
			  ((p.tcp_flags & HG_TCP_FIN) ? 1 : 0);
	uint8_t *b = a->scratch;
	size_t ipl = p.family == 4 ? 20 : 40, tot = ipl + 20;
	memset(b, 0, tot);
	if (p.family == 4) {
		b[0] = 0x45;
		put16(b + 2, (uint16_t)tot);
		b[6] = 0x40; /* DF */
		b[8] = 64;
		b[9] = 6;
		memcpy(b + 12, l3 + 16, 4); /* from the server */
		memcpy(b + 16, l3 + 12, 4); /* to the client */
	} else {
		b[0] = 0x60;
		put16(b + 4, 20);
		b[6] = 6;
		b[7] = 64;
		memcpy(b + 8, l3 + 24, 16);
		memcpy(b + 24, l3 + 8, 16);
	}
	uint8_t *t = b + ipl;
	put16(t, p.dport);
	put16(t + 2, p.sport);
	/* RFC 9293 §3.10.7.1: in a synchronized state a reset is acceptable
	 * when its seq is in the window; the client's ack is exactly where the
	 * server's next byte would start. */
	put32(t + 4, p.tcp_ack);
	put32(t + 8, p.tcp_seq + seglen);
	t[12] = 5 << 4;
	t[13] = HG_TCP_RST | HG_TCP_ACK;
	hg_l4_checksum_fix(b, tot);
	int r = send_l3(a, b, tot);
	if (r) {
		a->st.reset_errors++;
		a->st.last_errno = -r;
	} else {
		a->st.resets++;
	}
	return r;
}

void hg_act_get_stats(const struct hg_actuator *a, struct hg_act_stats *out)
{
	*out = a->st;
}
