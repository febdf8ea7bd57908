/* actuate.c - what the live daemon does to the kernel: verdict-set elements
 * as one nf_tables netlink batch per commit (verdict_batch.c builds it; it
 * is sent here on a libmnl socket and every answer read back), re-injection
 * of held datagrams through raw sockets, TCP resets for rejected flows;
 * other nft commands (listings) through libnftables.
 *
 * Re-injected datagrams leave through the gateway's output path: conntrack
 * finds the flow's entry (created when the SYN was forwarded) and the
 * forward-hook table never sees them again, so they cannot be held twice. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "hostgate/actuate.h"
#include "hostgate/decode.h"
#include "hostgate/engine.h"
#include "hostgate/table.h"
#include "hostgate/verdict_batch.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36 /* linux/in6.h, Linux >= 4.5 */
#endif

/* Flows per transaction (2 elements each): the daemon's poll burst is
 * smaller, a reload's revocations commit in steps of this. */
#define BATCH_FLOWS 512
/* Socket buffers: a whole batch must fit the send buffer (the kernel takes
 * it in one sendmsg), every answer the receive buffer (they are queued
 * before sendmsg returns; one lost is a batch of unknown outcome). */
#define NL_SNDBUF (1024 * 1024)
#define NL_RCVBUF (256 * 1024)
#define PKT_MAX 65535

struct hg_actuator {
	char *table;
	int fd4, fd6;
	struct mnl_socket *nl;
	uint32_t seq;
	struct hg_vbatch *vb;
	uint8_t scratch[PKT_MAX];
	/* netlink messages are read in place as struct nlmsghdr: 4-byte aligned */
	uint8_t answers[32 * 1024] __attribute__((aligned(8)));
	char last_error[512];
	int held_error; /* a commit the full queue made on its own failed */
	struct hg_act_stats st;
};

static void set_err(char *err, size_t errlen, const char *what, int e)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, strerror(e));
}

/* The nfnetlink socket: non-blocking (answers are read only once queued),
 * extended acks (the kernel's text and the offending attribute), answers
 * without a copy of the request (NETLINK_CAP_ACK). */
static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl)
		return NULL;
	int one = 1, snd = NL_SNDBUF, rcv = NL_RCVBUF;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* FORCE: past net.core.[rw]mem_max, as we hold CAP_NET_ADMIN. */
	int fd = mnl_socket_get_fd(nl);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	return nl;
}

struct hg_actuator *hg_act_new(const char *table, char *err, size_t errlen)
{
	struct hg_actuator *a = calloc(1, sizeof(*a));
	if (!a) {
		set_err(err, errlen, "actuator", ENOMEM);
		return NULL;
	}
	a->fd4 = a->fd6 = -1;
	a->table = strdup(table ? table : HG_TABLE_DEFAULT);
	if (!a->table || strlen(a->table) > 200 || !(a->vb = hg_vbatch_new(a->table, BATCH_FLOWS))) {
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
	a->nl = nl_open();
	if (!a->nl) {
		set_err(err, errlen, "nfnetlink socket", errno);
		goto fail;
	}
	return a;
fail:
	hg_act_free(a);
	return NULL;
}

void hg_act_free(struct hg_actuator *a)
{
	if (!a)
		return;
	if (a->fd4 >= 0)
		close(a->fd4);
	if (a->fd6 >= 0)
		close(a->fd6);
	if (a->nl)
		mnl_socket_close(a->nl);
	hg_vbatch_free(a->vb);
	free(a->table);
	free(a);
}

/* ------------------------------------------------------------ verdicts */

static void queue(struct hg_actuator *a, const struct hg_act_tuple *t, enum hg_vset set, enum hg_vop del,
		  uint64_t timeout_ms)
{
	if (hg_vbatch_flows(a->vb) >= BATCH_FLOWS) {
		/* The caller learns of a failure here at its next commit. */
		int r = hg_act_commit(a);
		if (r && !a->held_error)
			a->held_error = r;
	}
	hg_vbatch_add(a->vb, t, set, del, timeout_ms);
}

void hg_act_verdict(struct hg_actuator *a, const struct hg_act_tuple *t, bool allow, uint32_t timeout_s)
{
	queue(a, t, hg_vset_of(allow, hg_ip_is_v4(&t->cli)), false, (uint64_t)timeout_s * 1000u);
	if (allow)
		a->st.verdicts_allow++;
	else
		a->st.verdicts_deny++;
}

void hg_act_unallow(struct hg_actuator *a, const struct hg_act_tuple *t)
{
	queue(a, t, hg_vset_of(true, hg_ip_is_v4(&t->cli)), true, 0);
	a->st.unallowed++;
}

void hg_act_forget(struct hg_actuator *a, const struct hg_act_tuple *t)
{
	queue(a, t, hg_vset_of(true, hg_ip_is_v4(&t->cli)), HG_VOP_DESTROY, 0);
}

void hg_act_undeny(struct hg_actuator *a, const struct hg_act_tuple *t)
{
	queue(a, t, hg_vset_of(false, hg_ip_is_v4(&t->cli)), true, 0);
}

size_t hg_act_pending(const struct hg_actuator *a)
{
	return hg_vbatch_flows(a->vb);
}

size_t hg_act_pending_removals(const struct hg_actuator *a)
{
	return hg_vbatch_removals(a->vb);
}

const char *hg_act_last_error(const struct hg_actuator *a)
{
	return a->last_error;
}

/* Reads the answers queued on the socket without blocking, each handed to
 * the batch, until every message of the batch has its own (the kernel
 * queued them all within sendmsg: no system call more to find the queue
 * empty) or the queue runs dry. An earlier batch's answers still queued
 * come first and are ignored (their sequence numbers are not this
 * batch's). 0, or -errno when recv failed otherwise than by running dry
 * (ENOBUFS: answers were lost). */
static int read_answers(struct hg_actuator *a, struct hg_vbatch *vb)
{
	while (!hg_vbatch_answered(vb)) {
		ssize_t n = mnl_socket_recvfrom(a->nl, a->answers, sizeof(a->answers));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		hg_vbatch_answers(vb, a->answers, (size_t)n);
	}
	return 0;
}

static void commit_failed(struct hg_actuator *a, size_t flows, int r)
{
	/* The flows stay held in the kernel (fail closed) and the daemon
	 * keeps deciding them; the error is counted and said. */
	a->st.commit_errors++;
	a->st.last_errno = -r;
	if (a->st.commit_errors < 10 || !(a->st.commit_errors % 1000))
		fprintf(stderr, "hostgate: verdict set update failed (%zu flows, %llu failures so far): %s\n", flows,
			(unsigned long long)a->st.commit_errors, a->last_error);
}

static int commit_batch(struct hg_actuator *a);

int hg_act_commit(struct hg_actuator *a)
{
	int held = a->held_error;
	a->held_error = 0;
	int r = commit_batch(a);
	return held ? held : r;
}

static int commit_batch(struct hg_actuator *a)
{
	size_t flows = hg_vbatch_flows(a->vb);
	if (!flows)
		return 0;
	a->last_error[0] = 0;
	int r = hg_vbatch_build(a->vb, a->seq, &a->seq);
	if (r) {
		snprintf(a->last_error, sizeof(a->last_error), "building the batch: %s", strerror(-r));
	} else {
		struct iovec iov[8];
		size_t n = hg_vbatch_iovec(a->vb, iov, 8);
		size_t len = 0;
		for (size_t i = 0; i < n && n <= 8; i++)
			len += iov[i].iov_len;
		struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
		struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov,
				    .msg_iovlen = n};
		ssize_t w = n <= 8 ? sendmsg(mnl_socket_get_fd(a->nl), &mh, 0) : (errno = EMSGSIZE, -1);
		if (w < 0) {
			r = -errno;
			snprintf(a->last_error, sizeof(a->last_error), "sending the batch (%zu bytes): %s", len,
				 strerror(errno));
		} else if ((size_t)w != len) {
			r = -EMSGSIZE;
			snprintf(a->last_error, sizeof(a->last_error), "batch sent in part (%zd of %zu bytes)", w, len);
		} else {
			int rr = read_answers(a, a->vb);
			r = hg_vbatch_result(a->vb, a->last_error, sizeof(a->last_error));
			if (rr && !r) {
				r = rr;
				snprintf(a->last_error, sizeof(a->last_error), "reading the kernel's answers: %s",
					 strerror(-rr));
			}
		}
	}
	a->st.commits++;
	if (r)
		commit_failed(a, flows, r);
	hg_vbatch_clear(a->vb);
	return r;
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

uint16_t hg_inet_checksum(const uint8_t *p, size_t n)
{
	return fold(sum_bytes(0, p, n));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The checksums of a copy l3 of the datagram p decoded (its offsets:
 * the datagram is not parsed again). False when it is not a whole,
 * unfragmented TCP/UDP datagram (left unchanged). */
static bool checksum_fix_at(uint8_t *l3, const struct hg_packet *p)
{
	if ((p->flags & HG_PKT_F_FRAGMENT) || (p->ip_proto != 6 && p->ip_proto != 17) || !p->l4 || !p->l3 ||
	    p->l4 < p->l3 || p->l4 + p->l4_len > p->l3 + p->l3_len)
		return false;
	uint8_t *l4 = l3 + (p->l4 - p->l3);
	size_t l4len = p->l4_len;
	size_t off = p->ip_proto == 6 ? 16 : 6;
	if (l4len < off + 2)
		return false;
	uint32_t s = 0;
	if (p->family == 4) {
		/* RFC 791 header checksum, then the RFC 793/768 pseudo-header. */
		put16(l3 + 10, 0);
		put16(l3 + 10, fold(sum_bytes(0, l3, p->l3_hlen)));
		s = sum_bytes(s, l3 + 12, 8);
	} else {
		s = sum_bytes(s, l3 + 8, 32); /* RFC 8200 §8.1 */
	}
	s += p->ip_proto;
	s += (uint32_t)l4len & 0xffff;
	s += (uint32_t)(l4len >> 16);
	put16(l4 + off, 0);
	uint16_t c = fold(sum_bytes(s, l4, l4len));
	if (p->ip_proto == 17 && c == 0)
		c = 0xffff; /* RFC 768: zero means "no checksum" */
	put16(l4 + off, c);
	return true;
}

bool hg_l4_checksum_fix(uint8_t *l3, size_t len)
{
	struct hg_decode_stats st = {0};
	struct hg_packet p = {0};
	if (len > PKT_MAX || !hg_decode_ip(&st, l3, (uint32_t)len, false, &p))
		return false;
	return checksum_fix_at(l3, &p);
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

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The MTU of the route to the datagram's destination: a UDP socket
 * connected there asks the kernel (no packet is sent). 0 when unknown. */
static unsigned route_mtu(const uint8_t *b)
{
	bool v4 = (b[0] >> 4) == 4;
	int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int mtu = 0;
	socklen_t ml = sizeof(mtu);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	int r;
	if (v4) {
		memcpy(&sin.sin_addr, b + 16, 4);
		r = connect(fd, (const struct sockaddr *)&sin, sizeof(sin));
	} else {
		memcpy(&sin6.sin6_addr, b + 24, 16);
		r = connect(fd, (const struct sockaddr *)&sin6, sizeof(sin6));
	}
	if (r == 0)
		r = v4 ? getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &ml) : getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &ml);
	close(fd);
	return r == 0 && mtu > 0 ? (unsigned)mtu : 0;
}

static uint16_t ip4_header_sum(const uint8_t *h, size_t hl)
{
	uint32_t s = 0;
	for (size_t i = 0; i < hl; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Sends a datagram larger than the route's MTU as fragments, as its
 * sender's stack fragmented it before the gateway reassembled it: IPv4
 * (DF clear) by offsets in the header, IPv6 with a fragment header after
 * the fixed one (RFC 8200 §4.5; the reassembled datagram has none, and
 * extension headers before the payload are sent in the first fragment's
 * fragmentable part, which receivers accept). 0 or -errno. */
static int send_fragments(struct hg_actuator *a, const uint8_t *b, size_t len, unsigned mtu)
{
	static uint8_t f[PKT_MAX + 8];
	if ((b[0] >> 4) == 4) {
		size_t hl = (size_t)(b[0] & 0x0f) * 4;
		if (b[6] & 0x40 || hl < 20 || hl >= len || mtu < hl + 8)
			return -EMSGSIZE; /* DF: the sender asked not to (its PMTU discovery) */
		size_t chunk = (mtu - hl) & ~(size_t)7;
		for (size_t off = 0; off < len - hl; off += chunk) {
			size_t n = len - hl - off < chunk ? len - hl - off : chunk;
			bool more = off + n < len - hl;
			memcpy(f, b, hl);
			memcpy(f + hl, b + hl + off, n);
			put16(f + 2, (uint16_t)(hl + n));
			put16(f + 6, (uint16_t)((off / 8) | (more ? 0x2000 : 0)));
			f[10] = f[11] = 0;
			put16(f + 10, ip4_header_sum(f, hl));
			int r = send_l3(a, f, hl + n);
			if (r)
				return r;
		}
		return 0;
	}
	if (mtu < 40 + 8 + 8)
		return -EMSGSIZE;
	uint32_t id;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint32_t)a->st.injected * 2654435761u;
	size_t chunk = (mtu - 48) & ~(size_t)7, plen = len - 40;
	for (size_t off = 0; off < plen; off += chunk) {
		size_t n = plen - off < chunk ? plen - off : chunk;
		bool more = off + n < plen;
		memcpy(f, b, 40);
		f[6] = 44; /* Fragment */
		put16(f + 4, (uint16_t)(8 + n));
		uint8_t *fh = f + 40;
		fh[0] = b[6], fh[1] = 0;
		put16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
		put32(fh + 4, id);
		memcpy(f + 48, b + 40 + off, n);
		int r = send_l3(a, f, 48 + n);
		if (r)
			return r;
	}
	return 0;
}

int hg_act_inject(struct hg_actuator *a, const struct hg_packet *p)
{
	size_t len = p->l3_len;
	if (!p->l3 || len < 20 || len > PKT_MAX || (p->family != 4 && p->family != 6) || (p->family == 6 && len < 40)) {
		a->st.inject_errors++;
		a->st.last_errno = EINVAL;
		return -EINVAL;
	}
	memcpy(a->scratch, p->l3, len);
	/* Not TCP/UDP (or a fragment): sent as held, nothing to recompute. */
	checksum_fix_at(a->scratch, p);
	int r = send_l3(a, a->scratch, len);
	if (r == -EMSGSIZE) {
		/* The gateway reassembled what came as fragments (conntrack
		 * needs whole datagrams): larger than the way on, it leaves as
		 * fragments again. */
		unsigned mtu = route_mtu(a->scratch);
		r = mtu && mtu < len ? send_fragments(a, a->scratch, len, mtu) : -EMSGSIZE;
		a->st.fragmented += !r;
	}
	if (r) {
		a->st.inject_errors++;
		a->st.last_errno = -r;
	} else {
		a->st.injected++;
	}
	return r;
}

size_t hg_tcp_reset_build(const struct hg_packet *p, uint8_t *b, size_t cap)
{
	if (p->ip_proto != 6 || (p->flags & HG_PKT_F_FRAGMENT) || !p->l4 || p->l4_len < 20 ||
	    (p->family != 4 && p->family != 6))
		return 0;
	uint32_t seglen = p->payload_len + ((p->tcp_flags & HG_TCP_SYN) ? 1 : 0) +
			  ((p->tcp_flags & HG_TCP_FIN) ? 1 : 0);
	size_t ipl = p->family == 4 ? 20 : 40, tot = ipl + 20;
	if (cap < tot)
		return 0;
	memset(b, 0, tot);
	if (p->family == 4) {
		b[0] = 0x45;
		put16(b + 2, (uint16_t)tot);
		b[6] = 0x40; /* DF */
		b[8] = 64;
		b[9] = 6;
		memcpy(b + 12, p->dst.b + 12, 4); /* from the server */
		memcpy(b + 16, p->src.b + 12, 4); /* to the client */
	} else {
		b[0] = 0x60;
		put16(b + 4, 20);
		b[6] = 6;
		b[7] = 64;
		memcpy(b + 8, p->dst.b, 16);
		memcpy(b + 24, p->src.b, 16);
	}
	uint8_t *t = b + ipl;
	put16(t, p->dport);
	put16(t + 2, p->sport);
	/* RFC 9293 §3.10.7.1: in a synchronized state a reset is acceptable
	 * when its seq is in the window; the client's ack is exactly where the
	 * server's next byte would start. */
	put32(t + 4, p->tcp_ack);
	put32(t + 8, p->tcp_seq + seglen);
	t[12] = 5 << 4;
	t[13] = HG_TCP_RST | HG_TCP_ACK;
	const struct hg_packet rst = {.family = p->family, .ip_proto = 6, .l3 = b, .l3_len = (uint32_t)tot,
				      .l3_hlen = (uint32_t)ipl, .l4 = b + ipl, .l4_len = 20};
	checksum_fix_at(b, &rst);
	return tot;
}

int hg_act_tcp_reset(struct hg_actuator *a, const struct hg_packet *p)
{
	size_t tot = hg_tcp_reset_build(p, a->scratch, sizeof(a->scratch));
	if (!tot) {
		a->st.reset_errors++;
		return -EINVAL;
	}
	int r = send_l3(a, a->scratch, tot);
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
