/* quic.c - QUIC client Initial parser: long header, header protection and
 * AEAD removal with the version's initial keys, frames, CRYPTO reassembly
 * across packets, then the TLS ClientHello parser on the CRYPTO stream.
 *
 * Initial keys are public (derived from the client's first DCID), so any
 * observer can read the ClientHello; this is what lets a firewall see the
 * SNI of QUIC flows. Keys are cached in the caller's per-flow state. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hostgate/appparse.h"

#include "cursor.h"
#include "hostgate/util.h"

/* The largest Initial packet payload we decrypt (clients size Initials to
 * the path MTU, 1200..1500 bytes in practice). */
#define QUIC_PLAIN_MAX 16384u

/* ---- cursor --------------------------------------------------------------- */

/* Variable-length integer (RFC 9000 §16): the two high bits of the first
 * byte give the length 1, 2, 4 or 8; values up to 2^62-1. */
static bool cur_varint(struct cur *c, uint64_t *v)
{
	const uint8_t *b;
	size_t n, i;

	if (c->n < 1)
		return false;
	n = (size_t)1 << (c->p[0] >> 6);
	if (!cur_take(c, n, &b))
		return false;
	*v = b[0] & 0x3f;
	for (i = 1; i < n; i++)
		*v = *v << 8 | b[i];
	return true;
}

/* ---- versions and initial keys ------------------------------------------- */

struct quic_version {
	uint32_t lo, hi;   /* version range */
	uint8_t salt[20];
	const char *key_label, *iv_label, *hp_label;
	uint8_t initial_type, retry_type; /* long header packet types */
};

/* RFC 9001 §5.2 (v1), RFC 9369 §3.3.1-3.3.2 (v2: salt, "quicv2 ..." labels,
 * Initial is type 0b01, Retry 0b00), draft-ietf-quic-tls-33 §5.2 (drafts
 * 33-34), -29 §5.2 (drafts 29-32) and -23 §5.2 (drafts 23-28). */
static const struct quic_version quic_versions[] = {
	{ 0x00000001, 0x00000001,
	  { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a },
	  "quic key", "quic iv", "quic hp", 0, 3 },
	{ 0x6b3343cf, 0x6b3343cf,
	  { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 },
	  "quicv2 key", "quicv2 iv", "quicv2 hp", 1, 0 },
	{ 0xff000021, 0xff000022, /* drafts 33-34 already used the v1 salt */
	  { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a },
	  "quic key", "quic iv", "quic hp", 0, 3 },
	{ 0xff00001d, 0xff000020,
	  { 0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	    0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99 },
	  "quic key", "quic iv", "quic hp", 0, 3 },
	{ 0xff000017, 0xff00001c,
	  { 0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
	    0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02 },
	  "quic key", "quic iv", "quic hp", 0, 3 },
};

static const struct quic_version *version_find(uint32_t v)
{
	for (size_t i = 0; i < HG_ARRAY_LEN(quic_versions); i++)
		if (v >= quic_versions[i].lo && v <= quic_versions[i].hi)
			return &quic_versions[i];
	return NULL;
}

/* HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256 for outputs of at most one
 * hash block, so HKDF-Expand (RFC 5869 §2.3) is T(1) = HMAC(secret,
 * HkdfLabel || 0x01), where HkdfLabel = uint16 length, opaque
 * label<7..255> = "tls13 " + label, opaque context<0..255> = "". */
static bool hkdf_expand_label(const uint8_t secret[32], const char *label, uint8_t *out,
			      size_t outlen)
{
	uint8_t info[2 + 1 + 255 + 1 + 1], t[32];
	size_t ll = strlen(label), n = 0;
	unsigned int tlen = 0;

	if (outlen > 32 || 6 + ll > 255)
		return false;
	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;    /* empty context */
	info[n++] = 0x01; /* HKDF-Expand block counter */
	if (!HMAC(EVP_sha256(), secret, 32, info, n, t, &tlen) || tlen != 32)
		return false;
	memcpy(out, t, outlen);
	return true;
}

static bool keys_for(const struct quic_version *qv, const uint8_t *dcid, size_t dcid_len,
		     uint8_t key[16], uint8_t iv[12], uint8_t hp[16])
{
	uint8_t initial[32], client[32];
	unsigned int n = 0;

	/* initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id) */
	if (!HMAC(EVP_sha256(), qv->salt, sizeof(qv->salt), dcid, dcid_len, initial, &n) ||
	    n != 32)
		return false;
	return hkdf_expand_label(initial, "client in", client, 32) &&
	       hkdf_expand_label(client, qv->key_label, key, 16) &&
	       hkdf_expand_label(client, qv->iv_label, iv, 12) &&
	       hkdf_expand_label(client, qv->hp_label, hp, 16);
}

bool quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
		       uint8_t key[16], uint8_t iv[12], uint8_t hp[16])
{
	const struct quic_version *qv = version_find(version);

	return qv && keys_for(qv, dcid, dcid_len, key, iv, hp);
}

/* Header protection mask (RFC 9001 §5.4.3): AES-ECB(hp_key, sample). */
static bool hp_mask(const uint8_t hp[16], const uint8_t sample[16], uint8_t mask[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, hp, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_EncryptUpdate(ctx, mask, &n, sample, 16) == 1 && n == 16;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* AEAD_AES_128_GCM open (RFC 9001 §5.3): the AAD is the unprotected header,
 * given in three pieces so the (possibly large) token is never copied. */
static bool aead_open(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *aad1,
		      size_t aad1_len, const uint8_t *aad2, size_t aad2_len,
		      const uint8_t *aad3, size_t aad3_len, const uint8_t *ct, size_t ct_len,
		      const uint8_t tag[16], uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
	     EVP_DecryptUpdate(ctx, NULL, &n, aad1, (int)aad1_len) == 1 &&
	     (aad2_len == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad2, (int)aad2_len) == 1) &&
	     EVP_DecryptUpdate(ctx, NULL, &n, aad3, (int)aad3_len) == 1 &&
	     EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ct_len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1 &&
	     EVP_DecryptFinal_ex(ctx, pt + n, &m) == 1 && (size_t)(n + m) == ct_len;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* ---- CRYPTO stream reassembly --------------------------------------------- */

static bool have_bit(const struct quic_state *st, size_t i)
{
	return st->have[i >> 3] & (1u << (i & 7));
}

/* Stores CRYPTO bytes at their offset (RFC 9000 §19.6); the first copy of a
 * byte wins, a different retransmission is flagged. */
static void crypto_store(struct quic_state *st, uint64_t off, const uint8_t *data, size_t n)
{
	size_t i, end;

	if (off >= QUIC_CRYPTO_MAX) {
		st->flags |= QUIC_F_CRYPTO_OVERFLOW;
		return;
	}
	end = (size_t)off + n;
	if (end > QUIC_CRYPTO_MAX) {
		st->flags |= QUIC_F_CRYPTO_OVERFLOW;
		end = QUIC_CRYPTO_MAX;
	}
	for (i = (size_t)off; i < end; i++) {
		if (have_bit(st, i)) {
			if (st->crypto[i] != data[i - off])
				st->flags |= QUIC_F_CRYPTO_CONFLICT;
			continue;
		}
		st->crypto[i] = data[i - off];
		st->have[i >> 3] |= (uint8_t)(1u << (i & 7));
	}
	while (st->contig < QUIC_CRYPTO_MAX && have_bit(st, st->contig))
		st->contig++;
}

/* ---- frames ------------------------------------------------------------- */

/* Frames allowed in an Initial packet (RFC 9000 §12.4, Table 3; §17.2.2):
 *   PADDING 0x00 | PING 0x01
 *   ACK 0x02/0x03 { Largest, Delay, Range Count, First Range,
 *                   (Gap, Range Length) * Range Count, [ECT0, ECT1, CE] }  §19.3
 *   CRYPTO 0x06 { Offset (i), Length (i), Data }                           §19.6
 *   CONNECTION_CLOSE 0x1c { Error Code, Frame Type, Reason Phrase Length,
 *                           Reason Phrase }                                §19.19
 * Any other frame is a protocol violation in an Initial: stop there. */
static bool frames_parse(struct quic_state *st, const uint8_t *p, size_t n, const char **err)
{
	struct cur c = { p, n };
	uint64_t type, a, b, cnt, i;
	const uint8_t *d;

	while (c.n) {
		if (!cur_varint(&c, &type))
			goto bad;
		switch (type) {
		case 0x00:
			while (c.n && c.p[0] == 0)
				cur_take(&c, 1, NULL);
			break;
		case 0x01:
			break;
		case 0x02:
		case 0x03:
			if (!cur_varint(&c, &a) || !cur_varint(&c, &a) || !cur_varint(&c, &cnt) ||
			    !cur_varint(&c, &a))
				goto bad;
			/* each range takes at least 2 bytes: bounded by c.n */
			for (i = 0; i < cnt; i++)
				if (!cur_varint(&c, &a) || !cur_varint(&c, &b))
					goto bad;
			if (type == 0x03 &&
			    (!cur_varint(&c, &a) || !cur_varint(&c, &a) || !cur_varint(&c, &a)))
				goto bad;
			break;
		case 0x06:
			if (!cur_varint(&c, &a) || !cur_varint(&c, &b) || b > c.n ||
			    !cur_take(&c, (size_t)b, &d))
				goto bad;
			/* offset + length must stay below 2^62 (§19.6) */
			if (a + b > ((uint64_t)1 << 62) - 1)
				goto bad;
			crypto_store(st, a, d, (size_t)b);
			break;
		case 0x1c:
			if (!cur_varint(&c, &a) || !cur_varint(&c, &a) || !cur_varint(&c, &b) ||
			    b > c.n || !cur_take(&c, (size_t)b, NULL))
				goto bad;
			st->flags |= QUIC_F_CONN_CLOSE;
			break;
		default:
			st->flags |= QUIC_F_BAD_FRAME;
			return true;
		}
	}
	return true;
bad:
	*err = "malformed frame in Initial (RFC 9000 §12.4, §19)";
	return false;
}

/* ---- packets ------------------------------------------------------------ */

/* Packet number recovery (RFC 9000 §17.1, Appendix A.3). */
static uint64_t pn_decode(int64_t largest, uint64_t truncated, unsigned nbits)
{
	uint64_t expected = (uint64_t)(largest + 1), win = (uint64_t)1 << nbits;
	uint64_t hwin = win / 2, mask = win - 1, cand = (expected & ~mask) | truncated;

	if (largest < 0)
		return truncated;
	if (cand + hwin <= expected && cand < ((uint64_t)1 << 62) - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

struct lh {
	uint8_t first;
	uint32_t version;
	struct hg_slice dcid, scid;
	size_t pn_off, end; /* offsets in the datagram */
	unsigned type;
};

/* Long header (RFC 9000 §17.2; Initial §17.2.2):
 *   Header Form (1) = 1, Fixed Bit (1) = 1, Long Packet Type (2),
 *   Type-Specific Bits (4)                         protected in Initial
 *   Version (32)
 *   DCID Length (8) <= 20, DCID                    (§17.2: MUST NOT exceed 20 in v1)
 *   SCID Length (8) <= 20, SCID
 *   Initial only: Token Length (i), Token
 *   Length (i)      packet number + payload, <= what remains of the datagram
 *   Packet Number (8..32), Payload                 protected */
static bool long_header(const uint8_t *d, size_t len, size_t pos, const struct quic_version *qv,
			struct lh *h, const char **err)
{
	struct cur c = { d + pos, len - pos };
	uint32_t b, l;
	uint64_t v;
	const uint8_t *p;

	if (!cur_u8(&c, &b) || !(b & 0x80))
		goto bad;
	h->first = (uint8_t)b;
	h->type = (b >> 4) & 3;
	if (!cur_u32(&c, &h->version) || !cur_u8(&c, &l))
		goto bad;
	if (l > 20) {
		*err = "DCID longer than 20 (RFC 9000 §17.2)";
		return false;
	}
	if (!cur_take(&c, l, &p))
		goto bad;
	h->dcid = (struct hg_slice){ p, l };
	if (!cur_u8(&c, &l))
		goto bad;
	if (l > 20) {
		*err = "SCID longer than 20 (RFC 9000 §17.2)";
		return false;
	}
	if (!cur_take(&c, l, &p))
		goto bad;
	h->scid = (struct hg_slice){ p, l };
	if (h->type == qv->retry_type) { /* Retry: no Length, ends the datagram (§17.2.5) */
		h->pn_off = h->end = len;
		return true;
	}
	if (h->type == qv->initial_type) {
		if (!cur_varint(&c, &v) || v > c.n || !cur_take(&c, (size_t)v, NULL)) {
			*err = "Initial token length exceeds the packet (RFC 9000 §17.2.2)";
			return false;
		}
	}
	if (!cur_varint(&c, &v) || v > c.n) {
		*err = "long header Length exceeds the datagram (RFC 9000 §17.2)";
		return false;
	}
	h->pn_off = (size_t)(c.p - d);
	h->end = h->pn_off + (size_t)v;
	return true;
bad:
	*err = "truncated long header (RFC 9000 §17.2)";
	return false;
}

/* Removes header and packet protection with the given keys and parses the
 * frames. Returns 1 on success, 0 when authentication failed, -1 on a
 * malformed (but authentic) packet. */
static int initial_open(struct quic_state *st, const uint8_t *d, size_t start, const struct lh *h,
			const uint8_t key[16], const uint8_t iv[12], const uint8_t hp[16],
			uint8_t *plain, const char **err)
{
	uint8_t mask[16], first, pnb[4], nonce[12];
	unsigned pn_len, i;
	uint64_t trunc = 0, pn;
	size_t ct_off, ct_len;

	/* sample: 16 bytes at pn_off + 4 (RFC 9001 §5.4.2); checked by caller */
	if (!hp_mask(hp, d + h->pn_off + 4, mask))
		return 0;
	first = h->first ^ (mask[0] & 0x0f); /* long header: low 4 bits (§5.4.1) */
	pn_len = (first & 3) + 1;
	for (i = 0; i < pn_len; i++) {
		pnb[i] = d[h->pn_off + i] ^ mask[1 + i];
		trunc = trunc << 8 | pnb[i];
	}
	pn = pn_decode(st->largest_pn, trunc, pn_len * 8);
	/* nonce = iv XOR packet number, left-padded (RFC 9001 §5.3) */
	memcpy(nonce, iv, 12);
	for (i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	ct_off = h->pn_off + pn_len;
	ct_len = h->end - ct_off - 16;
	if (!aead_open(key, nonce, &first, 1, d + start + 1, h->pn_off - start - 1, pnb, pn_len,
		       d + ct_off, ct_len, d + h->end - 16, plain))
		return 0;
	/* reserved bits must be zero once protection is off (RFC 9000 §17.2) */
	if (first & 0x0c) {
		*err = "reserved bits set in Initial (RFC 9000 §17.2)";
		return -1;
	}
	if ((int64_t)pn > st->largest_pn)
		st->largest_pn = (int64_t)pn;
	st->packets++;
	if (!frames_parse(st, plain, ct_len, err))
		return -1;
	return 1;
}

void quic_state_init(struct quic_state *st)
{
	memset(st, 0, sizeof(*st));
	st->largest_pn = -1;
}

static enum hg_parse qinvalid(struct quic_result *out, struct quic_state *st, const char *why)
{
	out->err = why;
	out->flags = st->flags;
	return HG_PARSE_INVALID;
}

/* The ClientHello as far as the CRYPTO stream is contiguous (RFC 9001 §4:
 * a bare handshake message, no record layer). */
static enum hg_parse hello_result(struct quic_state *st, struct quic_result *out)
{
	enum hg_parse r;

	if (st->contig == 0)
		return HG_PARSE_NEED_MORE;
	r = tls_handshake_parse(st->crypto, st->contig, &out->hello);
	switch (r) {
	case HG_PARSE_NEED_MORE:
		if (out->hello.need > QUIC_CRYPTO_MAX)
			return qinvalid(out, st, "ClientHello larger than QUIC_CRYPTO_MAX");
		return r;
	case HG_PARSE_NOT_THIS:
		return qinvalid(out, st, "CRYPTO stream does not start with a ClientHello (RFC 9001 §4)");
	case HG_PARSE_INVALID:
		out->err = out->hello.err;
		return r;
	case HG_PARSE_FOUND:
		break;
	}
	return r;
}

enum hg_parse quic_initial_parse(struct quic_state *st, const uint8_t *dgram, size_t len,
				 struct quic_result *out)
{
	const struct quic_version *qv;
	uint8_t plain[QUIC_PLAIN_MAX];
	uint8_t key[16], iv[12], hp[16];
	struct lh h;
	size_t pos = 0;
	bool did_initial = false;
	const char *err = NULL;
	uint32_t version;
	int ok;

	memset(out, 0, sizeof(*out));
	/* A client's long header with the fixed bit (RFC 9000 §17.2). */
	if (len < 7 || (dgram[0] & 0xc0) != 0xc0)
		return HG_PARSE_NOT_THIS;
	version = (uint32_t)dgram[1] << 24 | (uint32_t)dgram[2] << 16 | (uint32_t)dgram[3] << 8 |
		  dgram[4];
	out->version = version;
	qv = version_find(version);
	if (!qv) {
		st->flags |= QUIC_F_UNKNOWN_VERSION;
		out->flags = st->flags;
		return HG_PARSE_NOT_THIS;
	}
	if (st->version && st->version != version)
		return qinvalid(out, st, "QUIC version changed within the flow");
	if (len < 1200)
		st->flags |= QUIC_F_SMALL_DATAGRAM; /* §14.1: servers discard these */

	/* Coalesced packets (RFC 9000 §12.2): read the first Initial, skip the
	 * rest by their Length; a short header packet ends the walk. */
	while (pos < len && (dgram[pos] & 0x80)) {
		if (!long_header(dgram, len, pos, qv, &h, &err)) {
			if (pos == 0)
				return qinvalid(out, st, err);
			break; /* later garbage: ignored, as a server would */
		}
		if (h.version != version)
			break;
		if (h.type != qv->initial_type || did_initial) {
			pos = h.end;
			if (pos < len)
				st->flags |= QUIC_F_COALESCED;
			continue;
		}
		did_initial = true;
		out->dcid = h.dcid;
		out->scid = h.scid;
		/* the sample needs 4 + 16 bytes after the packet number offset,
		 * and the payload at least one pn byte and the tag */
		if (h.end - h.pn_off < 4 + 16)
			return qinvalid(out, st, "Initial too short for the header protection sample (RFC 9001 §5.4.2)");
		if (h.end - h.pn_off > QUIC_PLAIN_MAX)
			return qinvalid(out, st, "Initial packet larger than hostgate decrypts");

		ok = 0;
		if (st->keys_ready)
			ok = initial_open(st, dgram, pos, &h, st->key, st->iv, st->hp, plain, &err);
		/* Keys come from the DCID of the client's first Initial (RFC 9001
		 * §5.2); after a Retry or when we missed the first, try this one's. */
		if (ok == 0 && (!st->keys_ready || h.dcid.len != st->key_dcid_len ||
				memcmp(h.dcid.p, st->key_dcid, h.dcid.len))) {
			if (!keys_for(qv, h.dcid.p, h.dcid.len, key, iv, hp))
				return qinvalid(out, st, "initial key derivation failed");
			ok = initial_open(st, dgram, pos, &h, key, iv, hp, plain, &err);
			if (ok != 0) {
				memcpy(st->key, key, 16);
				memcpy(st->iv, iv, 12);
				memcpy(st->hp, hp, 16);
				memcpy(st->key_dcid, h.dcid.p, h.dcid.len);
				st->key_dcid_len = (uint8_t)h.dcid.len;
				st->keys_ready = true;
			}
		}
		if (ok < 0)
			return qinvalid(out, st, err);
		if (ok == 0) {
			st->flags |= QUIC_F_DECRYPT_FAILED;
			if (!st->packets)
				return qinvalid(out, st, "Initial failed authentication (RFC 9001 §5.3)");
		} else {
			st->version = version;
		}
		pos = h.end;
		if (pos < len)
			st->flags |= QUIC_F_COALESCED;
	}
	out->flags = st->flags;
	if (!did_initial) {
		st->flags |= QUIC_F_NOT_INITIAL;
		out->flags = st->flags;
		return st->packets ? HG_PARSE_NEED_MORE : HG_PARSE_NOT_THIS;
	}
	return hello_result(st, out);
}

enum hg_parse quic_payload_parse(struct quic_state *st, const uint8_t *plain, size_t n,
				 struct quic_result *out)
{
	const char *err = NULL;

	memset(out, 0, sizeof(*out));
	if (!frames_parse(st, plain, n, &err))
		return qinvalid(out, st, err);
	out->flags = st->flags;
	return hello_result(st, out);
}
