/* ja4.c - the JA4 TLS client fingerprint (FoxIO's JA4 specification,
 * technical_details/JA4.md) of a parsed ClientHello, for the ja4.hash rule
 * buffer: "t13d1516h2_8daaf6152771_e5627efa2ab1". */
#include "hostgate/appparse.h"
#include "hello_walk.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Lists longer than this are fingerprinted by their first entries only (a
 * real ClientHello has a few dozen; the counts are capped at 99 anyway). */
#define JA4_LIST_MAX 512

enum { EXT_SNI = 0x0000, EXT_SIGALGS = 0x000d, EXT_ALPN = 0x0010, EXT_SUPPORTED_VERSIONS = 0x002b };

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return x < y ? -1 : x > y;
}

static const char hexd[] = "0123456789abcdef";

/* Hashes "v0,v1,..." (4 lower-case hex digits each), then "_" and the
 * second list when it is not empty, and writes the first 12 hex digits of
 * the SHA-256. An empty first list gives "000000000000" (JA4.md). */
static void hash12(const uint16_t *a, size_t na, const uint16_t *b, size_t nb, char out[12])
{
	if (!na) {
		memset(out, '0', 12);
		return;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (int part = 0; ok && part < 2; part++) {
		const uint16_t *v = part ? b : a;
		size_t n = part ? nb : na;
		if (part && n)
			ok = EVP_DigestUpdate(ctx, "_", 1) == 1;
		for (size_t i = 0; ok && i < n; i++) {
			char t[5] = {hexd[v[i] >> 12], hexd[(v[i] >> 8) & 15], hexd[(v[i] >> 4) & 15],
				     hexd[v[i] & 15], ','};
			ok = EVP_DigestUpdate(ctx, t, i + 1 < n ? 5 : 4) == 1;
		}
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 6;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		/* Only on an OpenSSL failure: a value no hash produces. */
		memset(out, 'x', 12);
		return;
	}
	for (int i = 0; i < 6; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
}

static const char *version_code(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First and last character of the first ALPN value; when either is not
 * ASCII alphanumeric, the first and last hex digit of the value instead;
 * "00" without ALPN. */
static void alpn_code(const struct tls_hello *h, char out[2])
{
	out[0] = out[1] = '0';
	if (!h->alpn.p || h->alpn.len < 2)
		return;
	size_t n = h->alpn.p[0];
	if (!n || n + 1 > h->alpn.len)
		return;
	uint8_t first = h->alpn.p[1], last = h->alpn.p[n];
	if (alnum(first) && alnum(last)) {
		out[0] = (char)first;
		out[1] = (char)last;
	} else {
		out[0] = hexd[first >> 4];
		out[1] = hexd[last & 15];
	}
}

static void two_digits(size_t n, char out[2])
{
	if (n > 99)
		n = 99;
	out[0] = (char)('0' + n / 10);
	out[1] = (char)('0' + n % 10);
}

size_t tls_ja4(const struct tls_hello *h, bool quic, char out[TLS_JA4_LEN + 1])
{
	uint16_t ciphers[JA4_LIST_MAX], exts[JA4_LIST_MAX], sigs[JA4_LIST_MAX];
	size_t nc = 0, ne = 0, ns = 0, n_ext_all = 0, n_cipher_all = 0;
	uint16_t version = h->legacy_version, best_sv = 0;
	bool sni = false;
	struct jcur c;

	c = (struct jcur){h->cipher_suites.p, h->cipher_suites.p ? h->cipher_suites.len : 0};
	uint16_t v;
	while (ju16(&c, &v)) {
		if (is_grease(v))
			continue;
		n_cipher_all++;
		if (nc < JA4_LIST_MAX)
			ciphers[nc++] = v;
	}
	c = (struct jcur){h->extensions.p, h->extensions.p ? h->extensions.len : 0};
	uint16_t type, len;
	const uint8_t *body;
	while (ju16(&c, &type) && ju16(&c, &len) && jtake(&c, len, &body)) {
		if (is_grease(type))
			continue;
		n_ext_all++;
		struct jcur e = {body, len};
		uint16_t k;
		switch (type) {
		case EXT_SNI:
			sni = true;
			continue; /* counted, not hashed */
		case EXT_ALPN:
			continue;
		case EXT_SUPPORTED_VERSIONS: {
			/* ProtocolVersion versions<2..254>: the highest non-GREASE one. */
			const uint8_t *l;
			if (!jtake(&e, 1, &l))
				break;
			struct jcur vl = {e.p, HG_MIN((size_t)l[0], e.n)};
			while (ju16(&vl, &k))
				if (!is_grease(k) && k > best_sv)
					best_sv = k;
			break;
		}
		case EXT_SIGALGS: {
			/* SignatureSchemeList: in the order sent. Only the first
			 * signature_algorithms extension counts. */
			uint16_t l;
			if (ns || !ju16(&e, &l))
				break;
			struct jcur sl = {e.p, HG_MIN((size_t)l, e.n)};
			while (ju16(&sl, &k))
				if (!is_grease(k) && ns < JA4_LIST_MAX)
					sigs[ns++] = k;
			break;
		}
		default:
			break;
		}
		if (ne < JA4_LIST_MAX)
			exts[ne++] = type;
	}
	if (best_sv)
		version = best_sv;
	qsort(ciphers, nc, sizeof(*ciphers), cmp_u16);
	qsort(exts, ne, sizeof(*exts), cmp_u16);

	char *o = out;
	*o++ = quic ? 'q' : 't';
	memcpy(o, version_code(version), 2);
	o += 2;
	*o++ = sni ? 'd' : 'i';
	two_digits(n_cipher_all, o);
	o += 2;
	two_digits(n_ext_all, o);
	o += 2;
	alpn_code(h, o);
	o += 2;
	*o++ = '_';
	hash12(ciphers, nc, NULL, 0, o);
	o += 12;
	*o++ = '_';
	hash12(exts, ne, sigs, ns, o);
	o += 12;
	*o = 0;
	return (size_t)(o - out);
}
