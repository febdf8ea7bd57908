/* detect.c - the app-layer protocols ANFW's rules name that need no field
 * extracted, recognised by the first bytes the client sends, on any port.
 * TLS, HTTP/1, QUIC and DNS have their own parsers (their rules read
 * buffers); everything here only says which protocol a flow speaks.
 *
 * Each check follows the protocol's specification for the client's first
 * message, at least as strictly as Suricata's detection (ANFW's engine) and
 * never on the port. The daemon sees only client-to-server bytes (it holds
 * them; the server's answers pass in the kernel), so detection uses those
 * alone, in replay too, and the two agree. */
#include <string.h>

#include "hostgate/appparse.h"
#include "hostgate/util.h"

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* buf against pat at its start, ASCII case-insensitive when ci: FOUND
 * when it holds all of pat, NEED_MORE when it is a shorter prefix. */
static enum hg_parse prefix(const uint8_t *buf, size_t len, const char *pat, size_t n, bool ci)
{
	size_t k = len < n ? len : n;
	for (size_t i = 0; i < k; i++)
		if (ci ? hg_lower(buf[i]) != hg_lower((uint8_t)pat[i]) : buf[i] != (uint8_t)pat[i])
			return HG_PARSE_NOT_THIS;
	return len < n ? HG_PARSE_NEED_MORE : HG_PARSE_FOUND;
}

/* One of the words (ASCII case-insensitive), then a byte of ends. */
static enum hg_parse word_then(const uint8_t *buf, size_t len, const char *const *words, size_t nw,
			       const char *ends)
{
	enum hg_parse best = HG_PARSE_NOT_THIS;
	for (size_t i = 0; i < nw; i++) {
		size_t n = strlen(words[i]);
		enum hg_parse r = prefix(buf, len, words[i], n, true);
		if (r == HG_PARSE_NEED_MORE || (r == HG_PARSE_FOUND && len == n))
			best = HG_PARSE_NEED_MORE;
		else if (r == HG_PARSE_FOUND && memchr(ends, buf[n], strlen(ends)))
			return HG_PARSE_FOUND;
	}
	return best;
}

/* ---- TCP ------------------------------------------------------------------ */

/* SSH (RFC 4253 §4.2): the client's identification string comes first,
 * "SSH-protoversion-softwareversion". */
static enum hg_parse is_ssh(const uint8_t *b, size_t n)
{
	return prefix(b, n, "SSH-", 4, false);
}

/* HTTP/2 with prior knowledge (RFC 9113 §3.4): the client connection
 * preface. Over TLS, HTTP/2 is inside TLS and the flow is TLS (ALPN h2). */
static enum hg_parse is_http2(const uint8_t *b, size_t n)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	return prefix(b, n, preface, sizeof(preface) - 1, false);
}

/* SMB over the NetBIOS session service (RFC 1002 §4.3) or direct TCP
 * (MS-SMB2 §2.1, same 4-byte framing): a session message (type 0x00) whose
 * payload starts with a protocol id 0xFF 'SMB' (SMB1, MS-CIFS §2.2.3.1),
 * 0xFE (SMB2/3, MS-SMB2 §2.2.1), 0xFD (transform, §2.2.41) or 0xFC
 * (compression transform, §2.2.42). On port 139 a session request (type
 * 0x81, RFC 1002 §4.3.2) comes first and the client waits for the answer
 * before it sends SMB, so the request itself identifies the flow: its
 * called name in first-level encoding (RFC 1001 §14.1: length 32, 32
 * letters 'A'..'P'). */
static enum hg_parse is_smb(const uint8_t *b, size_t n)
{
	if (!n)
		return HG_PARSE_NEED_MORE;
	if (b[0] == 0x00) {
		for (size_t i = 4; i < n && i < 8; i++)
			if (i == 4 ? b[i] < 0xfc : b[i] != (uint8_t)"SMB"[i - 5])
				return HG_PARSE_NOT_THIS;
		return n < 8 ? HG_PARSE_NEED_MORE : HG_PARSE_FOUND;
	}
	if (b[0] == 0x81) {
		if (n < 4 + 34)
			return n >= 4 && be16(b + 2) < 68 ? HG_PARSE_NOT_THIS : HG_PARSE_NEED_MORE;
		if (b[1] != 0 || be16(b + 2) < 68 || b[4] != 32)
			return HG_PARSE_NOT_THIS;
		for (size_t i = 5; i < 5 + 32; i++)
			if (b[i] < 'A' || b[i] > 'P')
				return HG_PARSE_NOT_THIS;
		return HG_PARSE_FOUND;
	}
	return HG_PARSE_NOT_THIS;
}

/* DCE/RPC connection-oriented PDU header (C706 §12.6.3.1, MS-RPCE §2.2.2):
 * rpc_vers 5, rpc_vers_minor 0 or 1, PTYPE, pfc_flags, data representation
 * (integer and character formats in byte 0, float format <= 3 in byte 1,
 * two zero bytes), frag_length, auth_length, call_id. A client opens with
 * bind (11), alter_context (14) or a request (0) on a bound association. */
static bool drep_ok(const uint8_t *d)
{
	return (d[0] & 0xee) == 0 && d[1] <= 3 && d[2] == 0;
}

static enum hg_parse is_dcerpc_tcp(const uint8_t *b, size_t n)
{
	if (n >= 1 && b[0] != 5)
		return HG_PARSE_NOT_THIS;
	if (n >= 2 && b[1] > 1)
		return HG_PARSE_NOT_THIS;
	if (n >= 3 && b[2] != 0 && b[2] != 11 && b[2] != 14)
		return HG_PARSE_NOT_THIS;
	if (n < 16)
		return HG_PARSE_NEED_MORE;
	if (!drep_ok(b + 4) || b[7] != 0)
		return HG_PARSE_NOT_THIS;
	bool le = b[4] & 0x10;
	uint32_t frag = le ? (uint32_t)b[9] << 8 | b[8] : be16(b + 8);
	uint32_t auth = le ? (uint32_t)b[11] << 8 | b[10] : be16(b + 10);
	return frag >= 16 + auth ? HG_PARSE_FOUND : HG_PARSE_NOT_THIS;
}

/* A DER tag and definite length (X.690 §8.1.2, §8.1.3), low tag numbers
 * only. 1: read; 0: malformed; -1: more bytes needed. */
static int der_hdr(const uint8_t *b, size_t n, uint8_t *tag, size_t *len, size_t *hl)
{
	if (n < 2)
		return -1;
	*tag = b[0];
	if ((b[0] & 0x1f) == 0x1f)
		return 0;
	if (b[1] < 0x80) {
		*len = b[1];
		*hl = 2;
		return 1;
	}
	size_t k = b[1] & 0x7f;
	if (!k || k > 3)
		return 0;
	if (n < 2 + k)
		return -1;
	size_t v = 0;
	for (size_t i = 0; i < k; i++)
		v = v << 8 | b[2 + i];
	*len = v;
	*hl = 2 + k;
	return 1;
}

/* A Kerberos message (RFC 4120 §5): an APPLICATION-tagged SEQUENCE whose
 * first field is pvno, INTEGER 5 (context tag [0], or [1] in KDC-REQ
 * §5.4.1). As Suricata's krb5 probe, any message type. *total: the whole
 * message's length. */
static enum hg_parse krb5_msg(const uint8_t *b, size_t n, size_t *total)
{
	uint8_t tag;
	size_t len, hl, len2, hl2;
	int r = der_hdr(b, n, &tag, &len, &hl);
	if (r <= 0)
		return r ? HG_PARSE_NEED_MORE : HG_PARSE_NOT_THIS;
	if ((tag & 0xe0) != 0x60)
		return HG_PARSE_NOT_THIS;
	*total = hl + len;
	r = der_hdr(b + hl, n - hl, &tag, &len2, &hl2);
	if (r <= 0)
		return r ? HG_PARSE_NEED_MORE : HG_PARSE_NOT_THIS;
	if (tag != 0x30 || hl2 + len2 != len)
		return HG_PARSE_NOT_THIS;
	static const uint8_t pvno[] = {0x03, 0x02, 0x01, 0x05};
	size_t at = hl + hl2;
	for (size_t i = 0; i < 5; i++) {
		if (at + i >= n)
			return HG_PARSE_NEED_MORE;
		uint8_t c = b[at + i];
		if (i == 0 ? (c != 0xa0 && c != 0xa1) : c != pvno[i - 1])
			return HG_PARSE_NOT_THIS;
	}
	return HG_PARSE_FOUND;
}

/* Kerberos over TCP (RFC 4120 §7.2.2): a 4-byte length, its high bit
 * reserved (0), then the message; a client's request is far below 16 MiB,
 * so the first byte is 0. */
static enum hg_parse is_krb5_tcp(const uint8_t *b, size_t n)
{
	if (n < 4)
		return n && b[0] ? HG_PARSE_NOT_THIS : HG_PARSE_NEED_MORE;
	uint32_t rec = be32(b);
	if (rec & 0x80000000u)
		return HG_PARSE_NOT_THIS;
	size_t total = 0;
	enum hg_parse r = krb5_msg(b + 4, n - 4, &total);
	if (r == HG_PARSE_FOUND && total != rec)
		return HG_PARSE_NOT_THIS;
	return r;
}

/* SMTP (RFC 5321 §4.1.1.1, §3.3): the client's first command after the
 * 220 greeting is EHLO or HELO (QUIT when it gives up), Suricata's
 * detection patterns too. */
static enum hg_parse is_smtp(const uint8_t *b, size_t n)
{
	static const char *const w[] = {"EHLO", "HELO", "QUIT"};
	return word_then(b, n, w, HG_ARRAY_LEN(w), " \r\n");
}

/* FTP (RFC 959 §4.1): after the 220 greeting, USER, PASS or PORT with an
 * argument, or FEAT (RFC 2389), Suricata's detection patterns. POP3's USER
 * and PASS (RFC 1939) look the same: Suricata 7 calls them FTP as well. */
static enum hg_parse is_ftp(const uint8_t *b, size_t n)
{
	static const char *const w[] = {"USER", "PASS", "PORT"};
	static const char *const feat[] = {"FEAT"};
	enum hg_parse r = word_then(b, n, w, HG_ARRAY_LEN(w), " ");
	if (r == HG_PARSE_FOUND)
		return r;
	enum hg_parse f = word_then(b, n, feat, 1, "\r\n");
	return f != HG_PARSE_NOT_THIS ? f : r;
}

/* IMAP (RFC 9051 §2.2.1, §6.1-6.2): the client's commands are "tag SP
 * command"; a tag is 1*<ASTRING-CHAR except "+">; before login the
 * commands are CAPABILITY, NOOP, LOGOUT, STARTTLS, AUTHENTICATE, LOGIN and
 * ID (RFC 2971). Suricata's only pattern is "1 capability", a subset. */
static bool imap_tag_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\+", c);
}

static enum hg_parse is_imap(const uint8_t *b, size_t n)
{
	static const char *const w[] = {"CAPABILITY", "NOOP",  "LOGOUT", "STARTTLS",
					"AUTHENTICATE", "LOGIN", "ID"};
	size_t i = 0;
	while (i < n && i < 64 && imap_tag_char(b[i]))
		i++;
	if (i == n)
		return i < 64 ? HG_PARSE_NEED_MORE : HG_PARSE_NOT_THIS;
	if (!i || b[i] != ' ')
		return HG_PARSE_NOT_THIS;
	/* "AUTH LOGIN" is SMTP's and POP3's SASL command (RFC 4954, 5034),
	 * not a command tagged "AUTH" */
	if (hg_ascii_casecmp_eq((const char *)b, i, "AUTH", 4))
		return HG_PARSE_NOT_THIS;
	return word_then(b + i + 1, n - i - 1, w, HG_ARRAY_LEN(w), " \r\n");
}

/* MSN Messenger (MSNP): the client opens with "VER trid MSNPn ...", e.g.
 * "VER 1 MSNP8 CVR0"; Suricata matches "MSNP" a few bytes in. */
static enum hg_parse is_msn(const uint8_t *b, size_t n)
{
	enum hg_parse r = prefix(b, n, "VER ", 4, false);
	if (r != HG_PARSE_FOUND)
		return r;
	size_t i = 4;
	while (i < n && i < 16 && b[i] >= '0' && b[i] <= '9')
		i++;
	if (i == n)
		return i < 16 ? HG_PARSE_NEED_MORE : HG_PARSE_NOT_THIS;
	if (i == 4 || b[i] != ' ')
		return HG_PARSE_NOT_THIS;
	return prefix(b + i + 1, n - i - 1, "MSNP", 4, false);
}

static const struct {
	enum hg_app_proto proto;
	enum hg_parse (*fn)(const uint8_t *b, size_t n);
} tcp_detectors[] = {
	{HG_APP_HTTP2, is_http2}, {HG_APP_SSH, is_ssh},   {HG_APP_SMB, is_smb},
	{HG_APP_DCERPC, is_dcerpc_tcp}, {HG_APP_KRB5, is_krb5_tcp}, {HG_APP_SMTP, is_smtp},
	{HG_APP_FTP, is_ftp},     {HG_APP_IMAP, is_imap}, {HG_APP_MSN, is_msn},
};

enum hg_parse hg_detect_tcp(struct hg_detect_tcp *st, const uint8_t *buf, size_t len, bool at_limit,
			    enum hg_app_proto *proto)
{
	bool more = false;
	for (size_t i = 0; i < HG_ARRAY_LEN(tcp_detectors); i++) {
		if (st->ruled_out & (1u << i))
			continue;
		enum hg_parse r = tcp_detectors[i].fn(buf, len);
		if (r == HG_PARSE_FOUND) {
			*proto = tcp_detectors[i].proto;
			return r;
		}
		if (r == HG_PARSE_NEED_MORE && !at_limit)
			more = true;
		else
			st->ruled_out |= 1u << i;
	}
	return more ? HG_PARSE_NEED_MORE : HG_PARSE_NOT_THIS;
}

/* ---- UDP ------------------------------------------------------------------ */

/* DHCP (RFC 2131 §2, §3): a BOOTREQUEST (op 1; a BOOTREPLY, op 2, when
 * the server's broadcast answer is a flow of its own) of at least the
 * fixed 236 bytes, hardware address length <= 16, then the magic cookie
 * 99.130.83.99 that starts the options (what Suricata's probe checks). */
static bool is_dhcp(const uint8_t *b, size_t n)
{
	return n >= 240 && (b[0] == 1 || b[0] == 2) && b[2] <= 16 && be32(b + 236) == 0x63825363u;
}

/* TFTP (RFC 1350 §5): RRQ (1) or WRQ (2), filename NUL, mode NUL, mode
 * "netascii", "octet" or "mail" in any case; RFC 2347 options may follow
 * as NUL-terminated pairs. */
static bool is_tftp(const uint8_t *b, size_t n)
{
	if (n < 4 || (be16(b) != 1 && be16(b) != 2))
		return false;
	const uint8_t *z = memchr(b + 2, 0, n - 2);
	if (!z)
		return false;
	const uint8_t *mode = z + 1;
	size_t left = n - (size_t)(mode - b);
	const uint8_t *mz = memchr(mode, 0, left);
	if (!mz)
		return false;
	size_t ml = (size_t)(mz - mode);
	static const char *const modes[] = {"netascii", "octet", "mail"};
	bool ok = false;
	for (size_t i = 0; i < HG_ARRAY_LEN(modes); i++)
		ok |= hg_ascii_casecmp_eq((const char *)mode, ml, modes[i], strlen(modes[i]));
	if (!ok)
		return false;
	/* options: name NUL value NUL pairs to the end (RFC 2347 §2) */
	const uint8_t *p = mz + 1, *end = b + n;
	for (int field = 0; p < end; field ^= 1) {
		const uint8_t *q = memchr(p, 0, (size_t)(end - p));
		if (!q)
			return false;
		p = q + 1;
		if (p == end && !field)
			return false; /* a name without its value */
	}
	return true;
}

/* IKEv2 (RFC 7296 §3.1): header SPIi (never zero), SPIr, next payload,
 * version 2.x, exchange type, flags, message ID, Length the datagram's. A
 * flow starts with the initiator's IKE_SA_INIT request (34: SPIr zero,
 * Initiator set, Response clear, message ID 0), or, when the gateway's
 * flow timed out under a live IKE SA, with a later exchange of that SA
 * (35 IKE_AUTH, 36 CREATE_CHILD_SA, 37 INFORMATIONAL: SPIr set). On port
 * 4500 a non-ESP marker of four zero bytes comes first (RFC 3948 §2.2). */
static bool is_ikev2(const uint8_t *b, size_t n)
{
	if (n >= 4 + 28 && !be32(b)) {
		b += 4;
		n -= 4;
	}
	if (n < 28 || (b[17] >> 4) != 2 || be32(b + 24) != n)
		return false;
	static const uint8_t zero[8];
	if (!memcmp(b, zero, 8))
		return false;
	bool spir = memcmp(b + 8, zero, 8) != 0;
	if (b[18] == 34)
		return !spir && (b[19] & 0x28) == 0x08 && !be32(b + 20);
	return b[18] >= 35 && b[18] <= 37 && spir;
}

/* Kerberos over UDP (RFC 4120 §7.2.1): one message, the whole datagram. */
static bool is_krb5_udp(const uint8_t *b, size_t n)
{
	size_t total = 0;
	return krb5_msg(b, n, &total) == HG_PARSE_FOUND && total == n;
}

/* DCE/RPC connectionless PDU (C706 §12.5.3.1): rpc_vers 4, PTYPE 0..10,
 * flags, data representation, ..., the body length at offset 74 (in the
 * sender's integer format) equal to what follows the 80-byte header. */
static bool is_dcerpc_udp(const uint8_t *b, size_t n)
{
	if (n < 80 || b[0] != 4 || b[1] > 10 || !drep_ok(b + 4))
		return false;
	uint32_t body = b[4] & 0x10 ? (uint32_t)b[75] << 8 | b[74] : be16(b + 74);
	return body == n - 80;
}

/* NTP (RFC 5905 §7.3): version 2-4, mode 1-5 (symmetric active and
 * passive, client, server: a capture or a flow table may see an answer
 * first, broadcast), the 48-byte header, optionally a MAC (key id + 8, 16 or 20
 * bytes of digest: RFC 1305 DES, RFC 5905 MD5, RFC 8573 SHA-1). Checked
 * last: its header has the least structure to recognise. */
static bool is_ntp(const uint8_t *b, size_t n)
{
	if (n != 48 && n != 60 && n != 68 && n != 72)
		return false;
	unsigned vn = (b[0] >> 3) & 7, mode = b[0] & 7;
	return vn >= 2 && vn <= 4 && mode >= 1 && mode <= 5;
}

enum hg_app_proto hg_detect_udp(const uint8_t *dgram, size_t len, bool weak)
{
	static const struct {
		enum hg_app_proto proto;
		bool (*fn)(const uint8_t *b, size_t n);
	} t[] = {
		{HG_APP_DHCP, is_dhcp}, {HG_APP_TFTP, is_tftp},       {HG_APP_IKEV2, is_ikev2},
		{HG_APP_KRB5, is_krb5_udp}, {HG_APP_DCERPC, is_dcerpc_udp},
	};
	if (weak)
		return is_ntp(dgram, len) ? HG_APP_NTP : HG_APP_UNKNOWN;
	for (size_t i = 0; i < HG_ARRAY_LEN(t); i++)
		if (t[i].fn(dgram, len))
			return t[i].proto;
	return HG_APP_UNKNOWN;
}
