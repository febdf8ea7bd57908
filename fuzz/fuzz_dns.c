/* fuzz_dns.c - libFuzzer target for the DNS message parser (runtime/dns.c)
 * as a UDP datagram and as a TCP stream, whole and cut at a limit, with
 * names buffers of several sizes; checks the result's invariants: question
 * names inside the names buffer and within DNS's length limits, what was
 * consumed inside the input. The first byte picks the limit and the
 * buffer size. */
#include <stdlib.h>
#include <string.h>

#include "hostgate/appparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(enum hg_parse r, const struct dns_msg *m, size_t n, const uint8_t *names, size_t cap)
{
	volatile uint8_t sink = 0;

	if (r == HG_PARSE_INVALID && !m->err)
		abort();
	if (r != HG_PARSE_FOUND)
		return;
	if (m->consumed > n || m->n_queries > DNS_MAX_QUERIES || m->n_queries > m->qdcount)
		abort();
	size_t total = 0;
	for (unsigned i = 0; i < m->n_queries; i++) {
		struct hg_slice s = m->q[i].name;
		/* 255 wire bytes hold at most 253 rendered ones (RFC 1035 §2.3.4) */
		if (!s.p || s.len > 253 || s.p < names || s.p + s.len > names + cap)
			abort();
		for (size_t k = 0; k < s.len; k++)
			sink ^= s.p[k];
		total += s.len;
	}
	if (total > cap)
		abort();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t names[DNS_NAMES_CAP];
	struct dns_msg m;

	if (!size)
		return 0;
	uint8_t sel = data[0];
	data++, size--;
	size_t cap = sel & 1 ? sizeof(names) : (size_t)(sel >> 1) * 4;
	if (cap > sizeof(names))
		cap = sizeof(names);
	/* an exact-size copy, so reads past the input are caught */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	check(dns_udp_parse(copy, size, names, cap, &m), &m, size, names, cap);
	size_t limit = sel & 2 ? size : (size_t)(sel >> 2) + 1;
	check(dns_tcp_parse(copy, size, limit, names, cap, &m), &m, size, names, cap);
	/* every prefix of a short stream, as reassembly hands it over */
	for (size_t k = 0; size <= 512 && k < size; k++)
		check(dns_tcp_parse(copy, k, 16384, names, cap, &m), &m, k, names, cap);
	free(copy);
	return 0;
}
