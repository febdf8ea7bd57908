/* engine_int.h - private to the engine's files: the content matcher that
 * engine.c runs on one sticky buffer (engine_match.c). */
#ifndef HOSTGATE_ENGINE_INT_H
#define HOSTGATE_ENGINE_INT_H

#include "hostgate/engine.h"

/* Longest buffer the dotprefix transform is applied to (SNI and hosts are
 * at most 255 bytes; longer transformed buffers do not match). */
#define HG_ENG_DOTPREFIX_MAX 1024

/* Runs the content matches m[0..n) (all on the same buffer, in rule order)
 * on buf with Suricata's semantics: offset/depth, startswith/endswith,
 * distance/within relative to the previous match with backtracking,
 * negation, nocase. dotprefix: the buffer is seen with a '.' prepended.
 * Work is bounded by an internal recursion budget. */
bool hg_eng_content_match(const struct hg_match *const *m, size_t n, const uint8_t *buf,
			  size_t len, bool dotprefix);

#endif
