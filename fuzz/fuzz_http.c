/* fuzz_http.c - libFuzzer target for the HTTP/1 request parser, without a
 * limit and with one that cuts the input, checking the result's
 * invariants (slices inside the input or the caller buffers). */
#include <stdlib.h>
#include <string.h>

#include "hostgate/appparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(struct hg_slice s, const uint8_t *a, size_t an)
{
	volatile uint8_t sink = 0;

	if (!s.p)
		return;
	if (s.p < a || s.p + s.len > a + an)
		abort();
	for (size_t i = 0; i < s.len; i++)
		sink ^= s.p[i];
	(void)sink;
}

static void run(const uint8_t *data, size_t size, size_t limit)
{
	uint8_t host[256], names[512];
	struct http_bufs b = { host, sizeof(host), names, sizeof(names) };
	struct http_req r;
	enum hg_parse p = http_request_parse(data, size, limit, &b, &r);
	size_t n = limit && limit < size ? limit : size;

	if (p == HG_PARSE_INVALID && !r.err)
		abort();
	if (p != HG_PARSE_FOUND)
		return;
	if (r.consumed > n || (!(r.flags & HTTP_F_TRUNCATED) && r.consumed == 0))
		abort();
	check_slice(r.method, data, n);
	check_slice(r.target, data, n);
	check_slice(r.version, data, n);
	check_slice(r.uri_authority, data, n);
	check_slice(r.host_raw, data, n);
	check_slice(r.user_agent, data, n);
	check_slice(r.host, host, sizeof(host));
	check_slice(r.header_names, names, sizeof(names));
	check_slice(r.headers, data, n);
	static uint8_t u[1 << 16];
	if (r.target.p && r.target.len <= sizeof(u) &&
	    http_uri_normalise(r.target.p, r.target.len, u) > r.target.len)
		abort(); /* http.uri's normalisation never grows the target */
	for (size_t i = 0; r.host.p && i < r.host.len; i++)
		if (r.host.p[i] >= 'A' && r.host.p[i] <= 'Z')
			abort(); /* normalised means lower case */
	if (r.header_names.p && (r.header_names.len < 4 || memcmp(r.header_names.p, "\r\n", 2) ||
				 memcmp(r.header_names.p + r.header_names.len - 2, "\r\n", 2)))
		abort();
	/* a complete header block: one byte less still waits (an HTTP/0.9
	 * request line ends the request where the bytes end) */
	if (!(r.flags & (HTTP_F_TRUNCATED | HTTP_F_NO_VERSION)) && !limit &&
	    http_request_parse(data, r.consumed - 1, 0, &b, &r) != HG_PARSE_NEED_MORE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, 0);
	if (size > 2)
		run(data, size, size / 2 + 1);
	return 0;
}
