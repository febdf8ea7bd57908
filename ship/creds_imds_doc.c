/* creds_imds_doc.c - the credentials document IMDS serves, read as the
 * untrusted bytes it is (fuzzed by fuzz/fuzz_ship.c). New credentials are
 * fetched at the later of half their lifetime and five minutes before
 * Expiration. */
#include <stdio.h>
#include <string.h>

#include "creds.h"
#include "json.h"

static bool json_copy(const char *doc, size_t n, const char *key, char *dst, size_t cap)
{
	struct json_val v;
	return json_getv(doc, n, &v, key, NULL) && json_string(&v, dst, cap) && dst[0];
}

int creds_parse_imds(const char *doc, size_t n, int64_t now, struct creds *out, char *err, size_t errlen)
{
	char code[64] = "", exp[64] = "";
	int64_t exp_us;
	if (!json_copy(doc, n, "Code", code, sizeof(code)) || strcmp(code, "Success")) {
		snprintf(err, errlen, "instance metadata credentials: Code is not Success");
		return -1;
	}
	if (!json_copy(doc, n, "AccessKeyId", out->akid, sizeof(out->akid)) ||
	    !json_copy(doc, n, "SecretAccessKey", out->secret, sizeof(out->secret)) ||
	    !json_copy(doc, n, "Token", out->token, sizeof(out->token)) ||
	    !json_copy(doc, n, "Expiration", exp, sizeof(exp)) || !iso8601_us(exp, strlen(exp), &exp_us)) {
		explicit_bzero(out, sizeof(*out));
		snprintf(err, errlen, "instance metadata credentials document is incomplete or invalid");
		return -1;
	}
	out->source = CREDS_IMDS;
	out->expires = exp_us / 1000000;
	int64_t half = now + (out->expires - now) / 2, late = out->expires - 300;
	out->refresh_at = half > late ? half : late;
	return 0;
}
