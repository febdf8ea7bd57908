/* tls.c - TLS ClientHello parser: record layer defragmentation, then the
 * handshake message (SNI, ALPN, supported_versions, ECH) as slices.
 *
 * Used at two levels: tls_client_hello_parse() reads a TCP stream from its
 * first byte (records), tls_handshake_parse() a bare handshake message (the
 * CRYPTO stream of a QUIC Initial). Neither allocates; a hello fragmented
 * over several records is joined into a caller-provided scratch buffer. */
#include <string.h>

#include "hostgate/appparse.h"

#include "cursor.h"
#include "hostgate/util.h"

const char *hg_parse_name(enum hg_parse r)
{
	switch (r) {
	case HG_PARSE_NEED_MORE: return "need_more";
	case HG_PARSE_NOT_THIS: return "not_this";
	case HG_PARSE_INVALID: return "invalid";
	case HG_PARSE_FOUND: return "found";
	}
	return "?";
}

/* ---- the cursor: every read goes through cur_take() --------------------- */

/* A length-prefixed vector: the length is a claim checked against what is
 * left of the container c; on success sub covers exactly the vector. */
static bool cur_vec(struct cur *c, unsigned lenbytes, struct cur *sub)
{
	uint32_t n;
	const uint8_t *b;

	if (!(lenbytes == 1 ? cur_u8(c, &n) : cur_u16(c, &n)))
		return false;
	if (!cur_take(c, n, &b))
		return false;
	sub->p = b;
	sub->n = n;
	return true;
}

static struct hg_slice slice_of(const struct cur *c)
{
	return (struct hg_slice){ .p = c->p, .len = c->n };
}

static enum hg_parse invalid(struct tls_hello *out, const char *why)
{
	out->err = why;
	return HG_PARSE_INVALID;
}

/* GREASE values (RFC 8701 §2): 0x0A0A, 0x1A1A, ... 0xFAFA. */
static bool is_grease(uint32_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* ---- extensions ---------------------------------------------------------- */

enum {
	EXT_SERVER_NAME = 0,
	EXT_ALPN = 16,
	EXT_SUPPORTED_VERSIONS = 43,
	EXT_ECH = 0xfe0d,
};

/* server_name (RFC 6066 §3):
 *   struct { NameType name_type; select (name_type) {
 *            case host_name: HostName; } name; } ServerName;   name_type 0
 *   opaque HostName<1..2^16-1>;
 *   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 * The list must fill the extension; every entry must be a host_name (no
 * other NameType is defined, so an unknown one cannot even be skipped:
 * OpenSSL rejects it too). The first host_name is the SNI. */
static enum hg_parse ext_server_name(struct cur ext, struct tls_hello *out)
{
	struct cur list, name;
	uint32_t type;
	bool first = true;

	if (!cur_vec(&ext, 2, &list) || ext.n != 0)
		return invalid(out, "server_name list length does not match extension (RFC 6066 §3)");
	if (list.n == 0)
		return invalid(out, "empty server_name list (RFC 6066 §3)");
	while (list.n) {
		if (!cur_u8(&list, &type))
			return invalid(out, "truncated server_name entry (RFC 6066 §3)");
		if (type != 0)
			return invalid(out, "server_name name_type is not host_name(0) (RFC 6066 §3)");
		if (!cur_vec(&list, 2, &name))
			return invalid(out, "host_name length exceeds server_name list (RFC 6066 §3)");
		if (name.n == 0)
			return invalid(out, "empty host_name (RFC 6066 §3: HostName<1..2^16-1>)");
		if (first)
			out->sni = slice_of(&name);
		else
			out->flags |= TLS_F_SNI_MULTI;
		first = false;
	}
	return HG_PARSE_FOUND;
}

/* application_layer_protocol_negotiation (RFC 7301 §3.1):
 *   opaque ProtocolName<1..2^8-1>;
 *   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList; */
static enum hg_parse ext_alpn(struct cur ext, struct tls_hello *out)
{
	struct cur list, name;
	uint16_t n = 0;

	if (!cur_vec(&ext, 2, &list) || ext.n != 0)
		return invalid(out, "ALPN list length does not match extension (RFC 7301 §3.1)");
	if (list.n < 2)
		return invalid(out, "ALPN list shorter than 2 bytes (RFC 7301 §3.1)");
	out->alpn = slice_of(&list);
	while (list.n) {
		if (!cur_vec(&list, 1, &name))
			return invalid(out, "ALPN protocol name exceeds list (RFC 7301 §3.1)");
		if (name.n == 0)
			return invalid(out, "empty ALPN protocol name (RFC 7301 §3.1)");
		n++;
	}
	out->n_alpn = n;
	return HG_PARSE_FOUND;
}

/* supported_versions in a ClientHello (RFC 8446 §4.2.1):
 *   ProtocolVersion versions<2..254>; */
static enum hg_parse ext_supported_versions(struct cur ext, struct tls_hello *out)
{
	struct cur list;
	uint32_t v;

	if (!cur_vec(&ext, 1, &list) || ext.n != 0)
		return invalid(out, "supported_versions length does not match extension (RFC 8446 §4.2.1)");
	if (list.n < 2 || list.n % 2)
		return invalid(out, "supported_versions list not a non-empty even length (RFC 8446 §4.2.1)");
	while (cur_u16(&list, &v))
		if (v == 0x0304)
			out->tls13 = true;
	return HG_PARSE_FOUND;
}

/* ---- the ClientHello message --------------------------------------------- */

/* Handshake (RFC 8446 §4):
 *   HandshakeType msg_type;    1 = client_hello
 *   uint24 length;             the body; checked against the container
 * ClientHello body (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2):
 *   ProtocolVersion legacy_version;              major 3
 *   Random random;                               32 bytes
 *   opaque legacy_session_id<0..32>;
 *   CipherSuite cipher_suites<2..2^16-2>;        even
 *   opaque legacy_compression_methods<1..2^8-1>;
 *   Extension extensions<8..2^16-1>;             may be absent before TLS 1.3
 *                                                (RFC 5246 §7.4.1.2), must end
 *                                                the message exactly
 * Extension (RFC 8446 §4.2): ExtensionType extension_type; opaque
 *   extension_data<0..2^16-1>; "There MUST NOT be more than one extension of
 *   the same type": duplicates are flagged, the first one counts. */
static enum hg_parse hello_body(const uint8_t *body, size_t n, struct tls_hello *out)
{
	struct cur c = { body, n }, v, exts, ext;
	uint32_t ver, type;
	uint8_t seen[65536 / 8];
	enum hg_parse r;

	if (!cur_u16(&c, &ver) || !cur_take(&c, 32, NULL))
		return invalid(out, "ClientHello shorter than version and random (RFC 8446 §4.1.2)");
	if (ver >> 8 != 3)
		return invalid(out, "ClientHello legacy_version major is not 3 (RFC 5246 §7.4.1.2)");
	out->legacy_version = (uint16_t)ver;
	if (!cur_vec(&c, 1, &v))
		return invalid(out, "session_id length exceeds ClientHello (RFC 8446 §4.1.2)");
	if (v.n > 32)
		return invalid(out, "session_id longer than 32 (RFC 8446 §4.1.2)");
	out->session_id = slice_of(&v);
	if (!cur_vec(&c, 2, &v))
		return invalid(out, "cipher_suites length exceeds ClientHello (RFC 8446 §4.1.2)");
	if (v.n < 2 || v.n % 2)
		return invalid(out, "cipher_suites not a non-empty even length (RFC 8446 §4.1.2)");
	out->cipher_suites = slice_of(&v);
	if (!cur_vec(&c, 1, &v))
		return invalid(out, "compression_methods length exceeds ClientHello (RFC 8446 §4.1.2)");
	if (v.n < 1)
		return invalid(out, "no compression_methods (RFC 8446 §4.1.2)");
	if (c.n == 0) {
		out->flags |= TLS_F_NO_EXTENSIONS;
		return HG_PARSE_FOUND;
	}
	if (!cur_vec(&c, 2, &exts) || c.n != 0)
		return invalid(out, "extensions length does not match ClientHello (RFC 5246 §7.4.1.2)");
	out->extensions = slice_of(&exts);

	memset(seen, 0, sizeof(seen));
	while (exts.n) {
		if (!cur_u16(&exts, &type) || !cur_vec(&exts, 2, &ext))
			return invalid(out, "extension length exceeds extensions block (RFC 8446 §4.2)");
		out->n_extensions++;
		if (seen[type >> 3] & (1u << (type & 7))) {
			out->flags |= TLS_F_DUP_EXT;
			continue;
		}
		seen[type >> 3] |= (uint8_t)(1u << (type & 7));
		r = HG_PARSE_FOUND;
		switch (type) {
		case EXT_SERVER_NAME:
			r = ext_server_name(ext, out);
			break;
		case EXT_ALPN:
			r = ext_alpn(ext, out);
			break;
		case EXT_SUPPORTED_VERSIONS:
			r = ext_supported_versions(ext, out);
			break;
		case EXT_ECH:
			out->ech = true;
			break;
		default:
			if (is_grease(type))
				out->flags |= TLS_F_GREASE;
			break;
		}
		if (r != HG_PARSE_FOUND)
			return r;
	}
	return HG_PARSE_FOUND;
}

/* The 4-byte handshake header of a ClientHello, wherever it came from. */
static enum hg_parse hello_header(const uint8_t h[4], size_t have, size_t *total,
				  struct tls_hello *out)
{
	size_t body;

	if (have >= 1 && h[0] != 1)
		return HG_PARSE_NOT_THIS; /* not client_hello (RFC 8446 §4) */
	if (have < 4)
		return HG_PARSE_NEED_MORE;
	body = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (body > TLS_HELLO_MAX)
		return invalid(out, "ClientHello longer than hostgate accepts (TLS_HELLO_MAX)");
	/* version + random + three minimal vectors */
	if (body < 2 + 32 + 1 + 2 + 2 + 1 + 1)
		return invalid(out, "ClientHello shorter than its fixed fields (RFC 8446 §4.1.2)");
	*total = 4 + body;
	return HG_PARSE_FOUND;
}

enum hg_parse tls_handshake_parse(const uint8_t *msg, size_t len, struct tls_hello *out)
{
	size_t total = 0;
	enum hg_parse r;

	memset(out, 0, sizeof(*out));
	r = hello_header(msg, HG_MIN(len, 4), &total, out);
	if (r == HG_PARSE_NEED_MORE)
		out->need = 4;
	if (r != HG_PARSE_FOUND)
		return r;
	if (len < total) {
		out->need = total;
		return HG_PARSE_NEED_MORE;
	}
	r = hello_body(msg + 4, total - 4, out);
	if (r == HG_PARSE_FOUND)
		out->consumed = total;
	return r;
}

/* ---- the record layer ---------------------------------------------------- */

/* TLSPlaintext (RFC 8446 §5.1; RFC 5246 §6.2.1):
 *   ContentType type;                     22 = handshake
 *   ProtocolVersion legacy_record_version; 0x0300..0x0304 in practice
 *   uint16 length;                        1..2^14 ("MUST NOT exceed 2^14";
 *                                         zero-length handshake fragments
 *                                         MUST NOT be sent)
 *   opaque fragment[length];
 * "Handshake messages MUST NOT be interleaved with other record types"
 * (§5.1): until the ClientHello is complete every record must be a
 * handshake record. A message may be split over any number of records.
 * The first byte, the version and the first handshake byte decide NOT_THIS
 * as soon as they are present. */
#define TLS_RECORD_MAX 16384u

static bool record_version_ok(uint8_t maj, uint8_t min)
{
	return maj == 3 && min <= 4;
}

enum hg_parse tls_client_hello_parse(const uint8_t *buf, size_t len, uint8_t *scratch,
				     size_t scratch_len, struct tls_hello *out)
{
	uint8_t hdr[4];
	size_t pos = 0, hs = 0, total = 0, rlen, avail, k, p, got;
	unsigned nrec = 0;
	enum hg_parse r;

	memset(out, 0, sizeof(*out));
	/* Early NOT_THIS on a prefix: content type, version, handshake type. */
	if (len >= 1 && buf[0] != 22)
		return HG_PARSE_NOT_THIS;
	if (len >= 2 && buf[1] != 3)
		return HG_PARSE_NOT_THIS;
	if (len >= 3 && !record_version_ok(buf[1], buf[2]))
		return HG_PARSE_NOT_THIS;
	if (len >= 6 && buf[5] != 1)
		return HG_PARSE_NOT_THIS;

	/* Walk the records counting handshake bytes (hs) until the ClientHello's
	 * length is known and all of it is present. */
	for (;;) {
		if (len - pos < 5) {
			out->need = pos + 5;
			return HG_PARSE_NEED_MORE;
		}
		if (buf[pos] != 22)
			return invalid(out, "non-handshake record inside the ClientHello (RFC 8446 §5.1)");
		if (!record_version_ok(buf[pos + 1], buf[pos + 2]))
			return invalid(out, "implausible record version (RFC 8446 §5.1)");
		rlen = (size_t)buf[pos + 3] << 8 | buf[pos + 4];
		if (rlen > TLS_RECORD_MAX)
			return invalid(out, "record longer than 2^14 (RFC 8446 §5.1)");
		if (rlen == 0)
			return invalid(out, "zero-length handshake record (RFC 8446 §5.1)");
		if (nrec++ == 0)
			out->record_version = (uint16_t)(buf[pos + 1] << 8 | buf[pos + 2]);
		pos += 5;
		avail = HG_MIN(rlen, len - pos);
		/* the handshake header may itself be split (1-byte records) */
		for (k = 0; hs < 4 && k < avail; k++)
			hdr[hs++] = buf[pos + k];
		if (!total) {
			r = hello_header(hdr, hs, &total, out);
			if (r == HG_PARSE_NOT_THIS || r == HG_PARSE_INVALID)
				return r;
		}
		hs += avail - k;
		if (total && hs >= total) {
			/* complete: the hello ends inside this record */
			size_t in_rec = avail - (hs - total);

			out->consumed = pos + in_rec;
			if (in_rec < rlen)
				out->flags |= TLS_F_TRAILING;
			break;
		}
		if (avail < rlen) {
			out->need = pos + rlen;
			return HG_PARSE_NEED_MORE;
		}
		pos += rlen;
	}

	if (nrec == 1) /* the usual case: one record, no copy */
		return hello_body(buf + 5 + 4, total - 4, out);

	if (!scratch || scratch_len < total)
		return invalid(out, "fragmented ClientHello larger than the scratch buffer");
	/* Second walk over the same (already checked) records: join them. */
	for (p = 0, got = 0; got < total; p += rlen) {
		rlen = (size_t)buf[p + 3] << 8 | buf[p + 4];
		p += 5;
		k = HG_MIN(rlen, total - got);
		memcpy(scratch + got, buf + p, k);
		got += k;
	}
	out->flags |= TLS_F_FRAGMENTED;
	return hello_body(scratch + 4, total - 4, out);
}
