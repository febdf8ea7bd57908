/* hex_util.h - test vectors written as hex: one reader for the parser
 * tests (TLS, QUIC, JA4, JA3). Static in each test program. */
#ifndef HOSTGATE_TEST_HEX_UTIL_H
#define HOSTGATE_TEST_HEX_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The bytes of hex string h (two digits a byte) into out, at most cap of
 * them (more fails the test); returns their number. */
static inline size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h) / 2;
	cr_assert_leq(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

#endif
