/* cursor.h - the one bounds-checked reader the byte parsers share (STYLE.md
 * practice 7): a pointer and the bytes left; every read goes through
 * cur_take(), integers are assembled with shifts in network order. Private
 * to runtime/. */
#ifndef HOSTGATE_CURSOR_H
#define HOSTGATE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cur {
	const uint8_t *p;
	size_t n; /* bytes left */
};

static inline bool cur_take(struct cur *c, size_t k, const uint8_t **out)
{
	if (k > c->n)
		return false;
	if (out)
		*out = c->p;
	c->p += k;
	c->n -= k;
	return true;
}

static inline bool cur_u8(struct cur *c, uint32_t *v)
{
	const uint8_t *b;
	if (!cur_take(c, 1, &b))
		return false;
	*v = b[0];
	return true;
}

static inline bool cur_u16(struct cur *c, uint32_t *v)
{
	const uint8_t *b;
	if (!cur_take(c, 2, &b))
		return false;
	*v = (uint32_t)b[0] << 8 | b[1];
	return true;
}

static inline bool cur_u32(struct cur *c, uint32_t *v)
{
	const uint8_t *b;
	if (!cur_take(c, 4, &b))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

#endif
