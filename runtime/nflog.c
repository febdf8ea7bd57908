/* nflog.c - an NFLOG group read straight from nfnetlink_log.
 *
 * Why not libpcap's "nflog:N": it reads one datagram a recv(2), and the
 * table's log rules flush every held packet on its own (queue-threshold 1,
 * for latency), so a burst of held packets cost one system call each plus
 * one that finds the queue empty. Here one recvmmsg(2) takes up to
 * BATCH_MSGS datagrams. The frames are what libpcap gives for DLT_NFLOG
 * (the message after its netlink header: nfgenmsg, then the attributes in
 * the host's byte order), so decode.c reads both alike.
 *
 * Configuration as nfnetlink_log expects it (linux/netfilter/nfnetlink_log.h):
 * NFULNL_MSG_CONFIG with NFULA_CFG_CMD bind, then NFULA_CFG_MODE copy
 * packet with the copy range, each acknowledged.
 *
 * A frame's time is the copy's NFULA_TIMESTAMP: its arrival when the stack
 * stamped it, else (Linux >= 5.18, skb_tstamp_cond) when it was logged; so
 * a held packet's latency counts the time it waited for the daemon. Older
 * kernels send it only for stamped packets: then the time of the read. */
#include "hostgate/nflog.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <pcap/dlt.h>

/* Datagrams one recvmmsg takes. */
#define BATCH_MSGS 32
/* Room in a datagram beyond the copied bytes: the netlink and nfgenmsg
 * headers and the other attributes (prefix, interfaces, hardware header,
 * timestamp, mark: a few hundred bytes). */
#define MSG_OVERHEAD 1024
/* The socket's receive buffer: a burst of held packets waits here while
 * the daemon decides the ones before it; overflowing it loses them. */
#define RCVBUF (4 * 1024 * 1024)

struct hg_nflog {
	int fd;
	uint16_t group;
	size_t buflen;
	uint8_t *bufs; /* BATCH_MSGS buffers of buflen bytes */
	struct mmsghdr mm[BATCH_MSGS];
	struct iovec iov[BATCH_MSGS];
	unsigned n_dgrams, cur; /* datagrams read, the one being walked */
	size_t off;             /* the next message's offset in it */
	uint64_t read_us;       /* when the batch was read */
	char err[160];
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One configuration message, acknowledged: 0 or -errno. */
static int config(struct hg_nflog *n, uint32_t seq, uint16_t attr, const void *val, size_t len)
{
	char buf[8192] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(n->group);
	mnl_attr_put(nlh, attr, len, val);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(n->fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	/* The answer is queued within sendto; a second to be safe. */
	struct pollfd pf = {.fd = n->fd, .events = POLLIN};
	for (;;) {
		if (poll(&pf, 1, 1000) <= 0)
			return -ETIMEDOUT;
		ssize_t r = recv(n->fd, buf, sizeof(buf), 0);
		if (r < 0)
			return errno == EINTR || errno == EAGAIN ? -ETIMEDOUT : -errno;
		int rem = (int)r;
		for (const struct nlmsghdr *a = (const void *)buf; mnl_nlmsg_ok(a, rem); a = mnl_nlmsg_next(a, &rem)) {
			if (a->nlmsg_seq != seq || a->nlmsg_type != NLMSG_ERROR ||
			    a->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(a);
			return e->error;
		}
	}
}

struct hg_nflog *hg_nflog_open(unsigned group, uint32_t snaplen, char *err, size_t errlen)
{
	if (group > UINT16_MAX) {
		snprintf(err, errlen, "nflog:%u: the group is 0-65535", group);
		return NULL;
	}
	if (!snaplen || snaplen > 65535)
		snaplen = 65535;
	struct hg_nflog *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "nflog:%u: out of memory", group);
		return NULL;
	}
	n->group = (uint16_t)group;
	/* Each datagram's buffer starts 8-byte aligned: its messages are read
	 * in place as struct nlmsghdr (UBSan halted the daemon on an odd
	 * buffer length: misaligned access). */
	n->buflen = (snaplen + MSG_OVERHEAD + 7u) & ~(size_t)7u;
	n->bufs = malloc(BATCH_MSGS * n->buflen);
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
	if (!n->bufs || n->fd < 0) {
		snprintf(err, errlen, "nflog:%u: %s", group, n->bufs ? strerror(errno) : "out of memory");
		hg_nflog_close(n);
		return NULL;
	}
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	int rcv = RCVBUF;
	if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	int r = bind(n->fd, (struct sockaddr *)&me, sizeof(me)) < 0 ? -errno : 0;
	struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
	struct nfulnl_msg_config_mode mode = {.copy_range = htonl(snaplen), .copy_mode = NFULNL_COPY_PACKET};
	const char *what = "bind";
	if (!r)
		r = config(n, 1, NFULA_CFG_CMD, &cmd, sizeof(cmd));
	if (!r) {
		what = "copy mode";
		r = config(n, 2, NFULA_CFG_MODE, &mode, sizeof(mode));
	}
	if (r) {
		snprintf(err, errlen, "nflog:%u: %s: %s%s", group, what, strerror(-r),
			 r == -EBUSY ? " (another process reads this group)" : "");
		hg_nflog_close(n);
		return NULL;
	}
	for (unsigned i = 0; i < BATCH_MSGS; i++) {
		n->iov[i] = (struct iovec){.iov_base = n->bufs + i * n->buflen, .iov_len = n->buflen};
		n->mm[i].msg_hdr = (struct msghdr){.msg_iov = &n->iov[i], .msg_iovlen = 1};
	}
	return n;
}

void hg_nflog_close(struct hg_nflog *n)
{
	if (!n)
		return;
	if (n->fd >= 0)
		close(n->fd); /* the kernel unbinds the group with the socket */
	free(n->bufs);
	free(n);
}

int hg_nflog_fd(const struct hg_nflog *n)
{
	return n->fd;
}

const char *hg_nflog_error(const struct hg_nflog *n)
{
	return n->err;
}

/* NFULA_TIMESTAMP of the message's attributes (after nfgenmsg), or 0. */
static uint64_t msg_time(const uint8_t *b, uint32_t len)
{
	for (uint32_t off = 4; len - off >= 4 && off < len;) {
		uint16_t al, at;
		memcpy(&al, b + off, 2);
		memcpy(&at, b + off + 2, 2);
		if (al < 4 || al > len - off)
			break;
		if ((at & NLA_TYPE_MASK) == NFULA_TIMESTAMP && al >= 4 + 16) {
			uint64_t s, us;
			memcpy(&s, b + off + 4, 8);
			memcpy(&us, b + off + 12, 8);
			return be64toh(s) * 1000000u + be64toh(us);
		}
		off += (al + 3u) & ~3u;
	}
	return 0;
}

/* The next NFULNL packet message in the datagrams read, or NULL. */
static const struct nlmsghdr *next_msg(struct hg_nflog *n)
{
	while (n->cur < n->n_dgrams) {
		const struct mmsghdr *m = &n->mm[n->cur];
		const uint8_t *d = n->iov[n->cur].iov_base;
		size_t len = m->msg_len;
		if (n->off == 0 && (m->msg_hdr.msg_flags & MSG_TRUNC)) {
			n->cur++;
			snprintf(n->err, sizeof(n->err), "a datagram larger than %zu bytes (truncated, dropped)",
				 n->buflen);
			errno = EMSGSIZE;
			return (const struct nlmsghdr *)-1;
		}
		while (n->off + sizeof(struct nlmsghdr) <= len) {
			const struct nlmsghdr *h = (const void *)(d + n->off);
			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - n->off)
				break;
			n->off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_type == ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) &&
			    h->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nfgenmsg))
				return h;
		}
		n->cur++;
		n->off = 0;
	}
	return NULL;
}

enum hg_source_result hg_nflog_next(struct hg_nflog *n, struct hg_frame *f)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct nlmsghdr *h = next_msg(n);
		if (h == (const struct nlmsghdr *)-1)
			return HG_SOURCE_ERROR;
		if (h) {
			const uint8_t *b = (const uint8_t *)h + NLMSG_HDRLEN;
			uint32_t len = h->nlmsg_len - NLMSG_HDRLEN;
			uint64_t ts = msg_time(b, len);
			f->ts_us = ts ? ts : n->read_us;
			f->linktype = DLT_NFLOG;
			f->caplen = f->wirelen = len;
			f->data = b;
			return HG_SOURCE_FRAME;
		}
		if (pass)
			break;
		/* All walked: the next batch. */
		n->n_dgrams = n->cur = 0;
		n->off = 0;
		int got;
		do
			got = recvmmsg(n->fd, n->mm, BATCH_MSGS, MSG_DONTWAIT, NULL);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return HG_SOURCE_TIMEOUT;
			/* ENOBUFS: the kernel dropped messages that did not fit
			 * the receive buffer (their packets are lost: dropped). */
			snprintf(n->err, sizeof(n->err), "%s%s", strerror(errno),
				 errno == ENOBUFS ? " (held packets lost: the socket buffer was full)" : "");
			return HG_SOURCE_ERROR;
		}
		n->n_dgrams = (unsigned)got;
		n->read_us = now_us();
	}
	return HG_SOURCE_TIMEOUT;
}
