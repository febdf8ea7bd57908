/* actuate.c - what the live daemon does to the kernel: verdict-set elements
 * through libnftables (many flows per transaction), re-injection of held
 * datagrams through raw sockets, TCP resets for rejected flows.
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

#include <nftables/libnftables.h>

#include "hostgate/actuate.h"
#include "hostgate/decode.h"
#include "hostgate/engine.h"
#include "hostgate/util.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36 /* linux/in6.h, Linux >= 4.5 */
#endif

/* One `add element` line is at most ~260 bytes; 64 KiB batches ~250
 * flows per transaction, which is where libnftables' per-call cost stops
 * mattering. */
#define BATCH_BYTES 65536
#define LINE_MAX_BYTES 512
#define PKT_MAX 65535

struct hg_actuator {
	struct nft_ctx *nft;
	char *table;
	int fd4, fd6;
	char *batch;
	size_t batch_len, batch_flows;
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
	a->fd4 = a->fd6 = -1;
	a->table = strdup(table ? table : "hostgate");
	a->batch = malloc(BATCH_BYTES);
	if (!a->table || !a->batch) {
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
	free(a->batch);
	free(a->table);
	free(a);
}

/* ------------------------------------------------------------ verdicts */

static int put_addr(char *buf, size_t len, const struct hg_ip *ip)
{
	if (hg_ip_is_v4(ip))
		return snprintf(buf, len, "%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14], ip->b[15]);
	hg_ip_format(ip, buf, len);
	return (int)strlen(buf);
}

static void put_proto(char *buf, size_t len, uint8_t proto)
{
	if (proto == 6)
		snprintf(buf, len, "tcp");
	else if (proto == 17)
		snprintf(buf, len, "udp");
	else
		snprintf(buf, len, "%u", proto);
}

void hg_act_verdict(struct hg_actuator *a, const struct hg_act_tuple *t, bool allow, uint32_t timeout_s)
{
	char c[64], s[64], p[8], to[32] = "";
	put_addr(c, sizeof(c), &t->cli);
	put_addr(s, sizeof(s), &t->srv);
	put_proto(p, sizeof(p), t->proto);
	if (timeout_s)
		snprintf(to, sizeof(to), " timeout %us", timeout_s);
	char line[LINE_MAX_BYTES];
	int n = snprintf(line, sizeof(line),
			 "add element inet %s %s%c { %s . %u . %s . %u . %s%s, %s . %u . %s . %u . %s%s }\n",
			 a->table, allow ? "allow" : "deny", hg_ip_is_v4(&t->cli) ? '4' : '6', c, t->cport, s,
			 t->sport, p, to, s, t->sport, c, t->cport, p, to);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if (a->batch_len + (size_t)n + 1 > BATCH_BYTES)
		hg_act_commit(a);
	memcpy(a->batch + a->batch_len, line, (size_t)n + 1);
	a->batch_len += (size_t)n;
	a->batch_flows++;
	if (allow)
		a->st.verdicts_allow++;
	else
		a->st.verdicts_deny++;
}

size_t hg_act_pending(const struct hg_actuator *a)
{
	return a->batch_flows;
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

int hg_act_commit(struct hg_actuator *a)
{
	if (!a->batch_len)
		return 0;
	char *err = NULL;
	int r = hg_act_nft(a, a->batch, NULL, &err);
	a->st.commits++;
	if (r) {
		/* One bad element fails the transaction: the flows stay held in
		 * the kernel (fail closed) and the daemon keeps deciding them. */
		a->st.commit_errors++;
		fprintf(stderr, "hostgate: verdict set update failed (%zu flows): %s", a->batch_flows,
			err ? err : "?\n");
	}
	free(err);
	a->batch_len = 0;
	a->batch_flows = 0;
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
