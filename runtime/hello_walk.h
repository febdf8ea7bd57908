/* hello_walk.h - private to the ClientHello fingerprints (ja3.c, ja4.c): a
 * bounds-checked reader over the parsed hello's raw lists, and RFC 8701's
 * GREASE test that both fingerprints apply. */
#ifndef HOSTGATE_HELLO_WALK_H
#define HOSTGATE_HELLO_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jcur {
	const uint8_t *p;
	size_t n;
};

static inline bool jtake(struct jcur *c, size_t k, const uint8_t **out)
{
	if (c->n < k)
		return false;
	*out = c->p;
	c->p += k;
	c->n -= k;
	return true;
}

static inline bool ju16(struct jcur *c, uint16_t *v)
{
	const uint8_t *b;
	if (!jtake(c, 2, &b))
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

/* RFC 8701: 0x?a?a with both bytes equal. */
static inline bool is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

#endif
