/* dns.c - DNS messages from a client (RFC 1035 §4.1), over UDP or TCP:
 * the header, the questions with their names rendered for dns.query, and
 * the other sections walked so that only a whole, well-formed message is
 * taken for DNS (detection is by content, on any port).
 *
 * Names are hostile input: a compression pointer can loop, point into the
 * header or expand a short message into many long names. Every walk is
 * bounded: labels <= 63 bytes, names <= 255 wire bytes, pointers only to
 * before the labels that hold them (so each jump lands lower and the walk
 * ends), and at most HOPS_MAX of them. */
#include <string.h>

#include "hostgate/appparse.h"

/* Header (§4.1.1), 12 bytes:
 *   ID(16) | QR(1) OPCODE(4) AA TC RD RA Z AD CD RCODE(4) |
 *   QDCOUNT(16) | ANCOUNT(16) | NSCOUNT(16) | ARCOUNT(16)
 * Question (§4.1.2): QNAME QTYPE(16) QCLASS(16), at least 5 bytes.
 * Resource record (§4.1.3): NAME TYPE CLASS TTL(32) RDLENGTH RDATA, at
 * least 11 bytes. */
#define HDR_LEN 12
#define QUESTION_MIN 5
#define RR_MIN 11
#define NAME_WIRE_MAX 255 /* §2.3.4 */
#define LABEL_MAX 63      /* §2.3.4 */
#define HOPS_MAX 32       /* pointers followed in one name */

enum walk { WALK_OK, WALK_BAD, WALK_MORE };

struct msgbuf {
	const uint8_t *m;
	size_t avail; /* bytes present */
	size_t mlen;  /* bytes the message has (avail < mlen: TCP, still coming) */
};

static enum walk past_end(const struct msgbuf *b)
{
	return b->avail < b->mlen ? WALK_MORE : WALK_BAD;
}

/* Reads the name at *pos (§4.1.4: labels, ending in a zero label or a
 * pointer); *pos moves past it as it sits in the record. The rendered
 * name (labels joined by '.') goes to out when it fits in cap; *rlen gets
 * its length either way. */
static enum walk name_walk(const struct msgbuf *b, size_t *pos, uint8_t *out, size_t cap, size_t *rlen,
			   bool *compressed)
{
	size_t at = *pos, seg = *pos, wire = 0, n = 0;
	bool jumped = false;
	unsigned hops = 0;

	for (;;) {
		if (at >= b->avail)
			return jumped ? WALK_BAD : past_end(b);
		uint8_t l = b->m[at];
		if ((l & 0xc0) == 0xc0) {
			if (at + 1 >= b->avail)
				return jumped ? WALK_BAD : past_end(b);
			size_t target = (size_t)(l & 0x3f) << 8 | b->m[at + 1];
			/* "a pointer to a prior occurance of the same name"
			 * (§4.1.4): before the labels being read, past the
			 * header. */
			if (target >= seg || target < HDR_LEN || ++hops > HOPS_MAX)
				return WALK_BAD;
			if (!jumped)
				*pos = at + 2;
			jumped = true;
			*compressed = true;
			at = seg = target;
			continue;
		}
		if (l & 0xc0)
			return WALK_BAD; /* 01/10: extended label types (RFC 6891 §5) */
		wire += 1u + l;
		if (wire > NAME_WIRE_MAX)
			return WALK_BAD;
		if (!l) {
			if (!jumped)
				*pos = at + 1;
			break;
		}
		if (at + 1 + l > b->avail)
			return jumped ? WALK_BAD : past_end(b);
		size_t add = (n ? 1u : 0u) + l;
		if (out && n + add <= cap) {
			if (n)
				out[n] = '.';
			memcpy(out + n + (n ? 1 : 0), b->m + at + 1, l);
		}
		n += add;
		at += 1u + l;
	}
	*rlen = n;
	return WALK_OK;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The header: a DNS message from a client, or not one. Opcodes: QUERY 0,
 * IQUERY 1 (obsolete but defined), STATUS 2, NOTIFY 4 (RFC 1996), UPDATE 5
 * (RFC 2136); 3 and 6-15 are not something a client starts with (DSO, 6,
 * carries no records to recognise). */
static bool header(const struct msgbuf *b, struct dns_msg *out)
{
	const uint8_t *m = b->m;
	out->id = be16(m);
	out->hflags = be16(m + 2);
	out->opcode = (uint8_t)((out->hflags >> 11) & 0xf);
	out->rcode = (uint8_t)(out->hflags & 0xf);
	out->qdcount = be16(m + 4);
	out->ancount = be16(m + 6);
	out->nscount = be16(m + 8);
	out->arcount = be16(m + 10);
	if (out->hflags & 0x8000)
		out->flags |= DNS_F_RESPONSE;
	if (out->opcode == 3 || out->opcode > 5) {
		out->err = "unassigned opcode (RFC 1035 §4.1.1, IANA DNS OpCodes)";
		return false;
	}
	size_t rrs = (size_t)out->ancount + out->nscount + out->arcount;
	if (!out->qdcount && !rrs) {
		out->err = "no question and no record";
		return false;
	}
	/* Every count is a claim on the bytes that follow. */
	if ((size_t)out->qdcount * QUESTION_MIN + rrs * RR_MIN > b->mlen - HDR_LEN) {
		out->err = "section counts exceed the message length";
		return false;
	}
	if (out->qdcount > 1)
		out->flags |= DNS_F_MULTI_QUESTION;
	return true;
}

/* NetBIOS name service (RFC 1002 §4.2) borrows DNS's message format: its
 * question is a NetBIOS name in first-level encoding (RFC 1001 §14.1: 32
 * letters 'A'..'P', then an optional scope), type NB (0x20) or NBSTAT
 * (0x21). Suricata (port 53 only) and tshark do not call it DNS either. */
static bool is_netbios(const uint8_t *name, size_t n, uint16_t qtype)
{
	if ((qtype != 0x20 && qtype != 0x21) || n < 32 || (n > 32 && name[32] != '.'))
		return false;
	for (size_t i = 0; i < 32; i++)
		if (name[i] < 'A' || name[i] > 'P')
			return false;
	return true;
}

/* CLASS / QCLASS values (RFC 1035 §3.2.4-3.2.5, RFC 2136 §1.3 NONE):
 * IN, CH, HS, NONE, ANY. Class 0 is reserved (RFC 6895 §3.2). */
static bool class_ok(uint16_t c)
{
	return c == 1 || c == 3 || c == 4 || c == 254 || c == 255;
}

/* The questions, then the records; *q_done says the questions were all
 * read. WALK_MORE: the bytes present end inside the message. */
static enum walk body(const struct msgbuf *b, uint8_t *names, size_t cap, struct dns_msg *out, bool *q_done)
{
	size_t pos = HDR_LEN, used = 0;
	enum walk w;

	for (unsigned i = 0; i < out->qdcount; i++) {
		size_t rlen = 0;
		bool comp = false;
		size_t room = names && used < cap ? cap - used : 0;
		uint8_t *dst = room ? names + used : NULL;
		if ((w = name_walk(b, &pos, dst, room, &rlen, &comp)) != WALK_OK) {
			out->err = "malformed question name (RFC 1035 §4.1.4)";
			return w;
		}
		if (pos + 4 > b->avail) {
			out->err = "question cut short";
			return past_end(b);
		}
		/* QTYPE 0 is reserved (RFC 6895 §3.1) */
		if (!be16(b->m + pos) || !class_ok(be16(b->m + pos + 2))) {
			out->err = "reserved QTYPE or QCLASS (RFC 6895 §3)";
			return WALK_BAD;
		}
		if (dst && rlen <= room && is_netbios(dst, rlen, be16(b->m + pos))) {
			out->err = "a NetBIOS name query (RFC 1002 §4.2), not DNS";
			return WALK_BAD;
		}
		if (comp)
			out->flags |= DNS_F_COMPRESSED_QNAME;
		if (out->n_queries < DNS_MAX_QUERIES && dst && rlen <= room) {
			struct dns_query *q = &out->q[out->n_queries++];
			q->name = (struct hg_slice){dst, rlen};
			q->qtype = be16(b->m + pos);
			q->qclass = be16(b->m + pos + 2);
			used += rlen;
		} else {
			out->flags |= DNS_F_QUESTIONS_DROPPED;
		}
		pos += 4;
	}
	*q_done = true;
	size_t rrs = (size_t)out->ancount + out->nscount + out->arcount;
	for (size_t i = 0; i < rrs; i++) {
		size_t rlen;
		bool comp = false;
		if ((w = name_walk(b, &pos, NULL, 0, &rlen, &comp)) != WALK_OK) {
			out->err = "malformed record name (RFC 1035 §4.1.4)";
			return w;
		}
		if (pos + 10 > b->avail) {
			out->err = "record header cut short";
			return past_end(b);
		}
		/* TYPE and CLASS of records are not checked: DNSCrypt's
		 * padded certificate queries carry a type-0 record, and the
		 * question checks already tell DNS from look-alikes. */
		size_t rdlen = be16(b->m + pos + 8);
		pos += 10;
		if (pos + rdlen > b->avail) {
			out->err = "RDLENGTH beyond the message (RFC 1035 §4.1.3)";
			return past_end(b);
		}
		pos += rdlen;
	}
	if (pos < b->mlen) {
		/* bytes after the last record: junk in a whole message, the
		 * rest of the message in a partial one (TCP) */
		if (b->avail < b->mlen) {
			out->err = "message not complete";
			return WALK_MORE;
		}
		out->flags |= DNS_F_TRAILING;
	}
	return WALK_OK;
}

enum hg_parse dns_udp_parse(const uint8_t *dgram, size_t len, uint8_t *names, size_t names_cap,
			    struct dns_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (len < HDR_LEN) {
		out->err = "shorter than a DNS header";
		return HG_PARSE_NOT_THIS;
	}
	struct msgbuf b = {dgram, len, len};
	bool q_done = false;
	if (!header(&b, out) || body(&b, names, names_cap, out, &q_done) != WALK_OK)
		return HG_PARSE_NOT_THIS;
	out->consumed = len;
	return HG_PARSE_FOUND;
}

enum hg_parse dns_tcp_parse(const uint8_t *buf, size_t len, size_t limit, uint8_t *names,
			    size_t names_cap, struct dns_msg *out)
{
	memset(out, 0, sizeof(*out));
	bool at_limit = limit && len >= limit; /* 0: no limit */
	/* §4.2.2: "prefixed with a two byte length field which gives the
	 * message length, excluding the two byte length field". */
	if (len < 2 + HDR_LEN) {
		/* What has come must already fit: a client that sent a few
		 * bytes and waits for an answer is not kept waiting on us. */
		out->err = "shorter than a DNS header";
		if (at_limit || (len >= 2 && be16(buf) < HDR_LEN))
			return HG_PARSE_NOT_THIS;
		if (len >= 5) {
			uint8_t op = (buf[4] >> 3) & 0xf;
			if (op == 3 || op > 5)
				return HG_PARSE_NOT_THIS;
		}
		if (len >= 8 && (size_t)be16(buf + 6) * QUESTION_MIN > (size_t)be16(buf) - HDR_LEN)
			return HG_PARSE_NOT_THIS;
		return HG_PARSE_NEED_MORE;
	}
	size_t mlen = be16(buf);
	if (mlen < HDR_LEN) {
		out->err = "length prefix shorter than a DNS header";
		return HG_PARSE_NOT_THIS;
	}
	struct msgbuf b = {buf + 2, len - 2 < mlen ? len - 2 : mlen, mlen};
	bool q_done = false;
	if (!header(&b, out))
		return HG_PARSE_NOT_THIS;
	enum walk w = body(&b, names, names_cap, out, &q_done);
	if (w == WALK_BAD)
		return HG_PARSE_NOT_THIS;
	if (w == WALK_MORE) {
		if (!at_limit)
			return HG_PARSE_NEED_MORE;
		if (!q_done) {
			out->err = "the questions do not fit in what is buffered";
			return HG_PARSE_INVALID;
		}
		out->flags |= DNS_F_TRUNCATED;
		out->err = NULL;
		out->consumed = len;
		return HG_PARSE_FOUND;
	}
	out->consumed = 2 + mlen;
	return HG_PARSE_FOUND;
}
