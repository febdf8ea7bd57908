/* fuzz_tls.c - libFuzzer target for the TLS ClientHello parser, at the
 * record level (with a scratch buffer) and as a bare handshake message.
 * Checks the result's invariants, not only the absence of crashes, and
 * runs the JA3 fingerprint and client version over every hello found. */
#include <stdlib.h>
#include <string.h>

#include "hostgate/appparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t scratch[TLS_SCRATCH_MAX];
static char ja3[TLS_JA3_MAX];

/* The fingerprints of a parsed hello walk its raw lists again: bounded,
 * and the string never longer than TLS_JA3_MAX. */
static void fingerprints(const struct tls_hello *h)
{
	size_t n = tls_ja3_string(h, ja3, sizeof(ja3));
	if (n > sizeof(ja3))
		abort();
	char md5[33];
	tls_ja3_hash(ja3, n, md5);
	if (strlen(md5) != 32)
		abort();
	(void)tls_client_version(h);
}

static void check_slice(struct hg_slice s, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	volatile uint8_t sink = 0;

	if (!s.p)
		return;
	if (!((s.p >= a && s.p + s.len <= a + an) || (b && s.p >= b && s.p + s.len <= b + bn)))
		abort();
	for (size_t i = 0; i < s.len; i++)
		sink ^= s.p[i]; /* ASan checks the bytes are readable */
	(void)sink;
}

static void check(enum hg_parse r, const struct tls_hello *h, const uint8_t *d, size_t n,
		  const uint8_t *scr, size_t scrn)
{
	if (r == HG_PARSE_INVALID && !h->err)
		abort();
	if (r != HG_PARSE_FOUND)
		return;
	if (h->consumed == 0 || h->consumed > n)
		abort();
	check_slice(h->sni, d, n, scr, scrn);
	check_slice(h->alpn, d, n, scr, scrn);
	check_slice(h->session_id, d, n, scr, scrn);
	check_slice(h->cipher_suites, d, n, scr, scrn);
	check_slice(h->extensions, d, n, scr, scrn);
	if (h->sni.p && h->sni.len == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_hello h;
	enum hg_parse r;

	r = tls_client_hello_parse(data, size, scratch, sizeof(scratch), &h);
	check(r, &h, data, size, scratch, sizeof(scratch));
	if (r == HG_PARSE_FOUND)
		fingerprints(&h);
	/* decided once the whole hello is in: one byte less still waits */
	if (r == HG_PARSE_FOUND &&
	    tls_client_hello_parse(data, h.consumed - 1, scratch, sizeof(scratch), &h) !=
		    HG_PARSE_NEED_MORE)
		abort();

	r = tls_handshake_parse(data, size, &h);
	check(r, &h, data, size, NULL, 0);
	if (r == HG_PARSE_FOUND && tls_handshake_parse(data, h.consumed - 1, &h) != HG_PARSE_NEED_MORE)
		abort();
	return 0;
}
