/* engine_int.h - private to the engine's files: the content matcher that
 * engine.c runs on one sticky buffer (engine_match.c). */
#ifndef HOSTGATE_ENGINE_INT_H
#define HOSTGATE_ENGINE_INT_H

#include "hostgate/engine.h"

/* Longest buffer the dotprefix transform is applied to (SNI and hosts are
 * at most 255 bytes; longer transformed buffers do not match). */
#define HG_ENG_DOTPREFIX_MAX 1024

/* Runs the content and pcre matches m[0..n) (all on the same buffer, in
 * rule order; re[i] is the compiled pattern of a pcre m[i], else NULL)
 * on buf with Suricata's semantics: offset/depth, startswith/endswith,
 * distance/within relative to the previous match with backtracking,
 * negation, nocase. dotprefix: the buffer is seen with a '.' prepended.
 * Work is bounded by an internal recursion budget. HG_ENG_MATCH_ERROR: a
 * pcre search failed (limit, memory), so whether the rule matches is
 * unknown; the engine drops the flow rather than take it as no match. */
enum { HG_ENG_MATCH_ERROR = -1, HG_ENG_NO_MATCH = 0, HG_ENG_MATCH = 1 };
int hg_eng_content_match(const struct hg_match *const *m, void *const *re, size_t n,
			 const uint8_t *buf, size_t len, bool dotprefix);

/* pcre: m's pattern compiled (and JIT-compiled where the platform has it)
 * for re[] above; NULL if it does not compile (the loader checked it). */
void *hg_eng_pcre_compile(const struct hg_match *m);
void hg_eng_pcre_free(void *re);
/* Tests: frees this thread's pcre match block and context; with fail, the
 * next ones "cannot be allocated" (an injected allocation failure). */
void hg_eng_pcre_fail_alloc(bool fail);

#endif
