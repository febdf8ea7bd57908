/* ja3.c - the JA3 TLS client fingerprint (Salesforce's JA3 specification)
 * of a parsed ClientHello, for the ja3.hash and ja3.string rule buffers,
 * and the client version that ssl_version matches. JA3 is
 *   SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
 * in decimal, list items joined by '-', GREASE values (RFC 8701) left out
 * of the ciphers, extensions and curves; ja3.hash is its MD5. */
#include "hostgate/appparse.h"
#include "hello_walk.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

enum { EXT_SUPPORTED_GROUPS = 0x000a, EXT_EC_POINT_FORMATS = 0x000b, EXT_SUPPORTED_VERSIONS = 0x002b };

struct out {
	char *p;
	size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap)
		memcpy(o->p + o->len, s, HG_MIN(n, o->cap - o->len));
	o->len += n;
}

static void put_num(struct out *o, unsigned v, bool *first)
{
	char b[8];
	int n = snprintf(b, sizeof(b), "%s%u", *first ? "" : "-", v);
	put(o, b, (size_t)n);
	*first = false;
}

/* The u16 list of a supported_groups body (NamedGroupList<2..2^16-1>). */
static void put_groups(struct out *o, const uint8_t *body, size_t len)
{
	struct jcur e = {body, len};
	uint16_t l, v;
	bool first = true;
	if (!ju16(&e, &l))
		return;
	struct jcur g = {e.p, HG_MIN((size_t)l, e.n)};
	while (ju16(&g, &v))
		if (!is_grease(v))
			put_num(o, v, &first);
}

/* ECPointFormatList: ECPointFormat ec_point_format_list<1..2^8-1> (RFC 8422 §5.1.2). */
static void put_formats(struct out *o, const uint8_t *body, size_t len)
{
	if (!len)
		return;
	size_t n = HG_MIN((size_t)body[0], len - 1);
	bool first = true;
	for (size_t i = 0; i < n; i++)
		put_num(o, body[1 + i], &first);
}

size_t tls_ja3_string(const struct tls_hello *h, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0};
	bool first = true;
	char b[8];
	put(&o, b, (size_t)snprintf(b, sizeof(b), "%u,", (unsigned)h->legacy_version));

	struct jcur c = {h->cipher_suites.p, h->cipher_suites.p ? h->cipher_suites.len : 0};
	uint16_t v, type, len;
	while (ju16(&c, &v))
		if (!is_grease(v))
			put_num(&o, v, &first);
	put(&o, ",", 1);

	/* Extensions in the order sent; remember the two lists JA3 reads. */
	const uint8_t *groups = NULL, *formats = NULL, *body;
	size_t groups_len = 0, formats_len = 0;
	first = true;
	c = (struct jcur){h->extensions.p, h->extensions.p ? h->extensions.len : 0};
	while (ju16(&c, &type) && ju16(&c, &len) && jtake(&c, len, &body)) {
		if (is_grease(type))
			continue;
		put_num(&o, type, &first);
		if (type == EXT_SUPPORTED_GROUPS && !groups)
			groups = body, groups_len = len;
		else if (type == EXT_EC_POINT_FORMATS && !formats)
			formats = body, formats_len = len;
	}
	put(&o, ",", 1);
	if (groups)
		put_groups(&o, groups, groups_len);
	put(&o, ",", 1);
	if (formats)
		put_formats(&o, formats, formats_len);
	return o.len;
}

void tls_ja3_hash(const char *s, size_t n, char out[33])
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(s, n, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16) {
		memset(out, 'x', 32); /* only on an OpenSSL failure: no MD5 gives it */
		out[32] = 0;
		return;
	}
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[32] = 0;
}

/* Suricata app-layer-ssl.c TLSVersionValid: the TLS versions and the TLS
 * 1.3 drafts (0x7fxx). */
static bool version_valid(uint16_t v)
{
	return (v >= 0x0300 && v <= 0x0304) || (v >> 8) == 0x7f;
}

uint16_t tls_client_version(const struct tls_hello *h)
{
	struct jcur c = {h->extensions.p, h->extensions.p ? h->extensions.len : 0};
	uint16_t type, len, v;
	const uint8_t *body;
	while (ju16(&c, &type) && ju16(&c, &len) && jtake(&c, len, &body)) {
		if (type != EXT_SUPPORTED_VERSIONS || !len)
			continue;
		struct jcur l = {body + 1, HG_MIN((size_t)body[0], (size_t)len - 1)};
		while (ju16(&l, &v))
			if (!is_grease(v) && version_valid(v))
				return v;
		break;
	}
	return h->legacy_version;
}
