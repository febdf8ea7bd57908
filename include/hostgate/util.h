/* util.h - allocation, arenas and growable arrays shared by every component.
 *
 * The compiler aborts on out-of-memory through the x*() wrappers (STYLE.md
 * practice 6); the runtime never calls them on a packet path. */
#ifndef HOSTGATE_UTIL_H
#define HOSTGATE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define HG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HG_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define HG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HG_NORETURN __attribute__((noreturn))
#else
#define HG_PRINTF(f, a)
#define HG_NORETURN
#endif

HG_NORETURN void hg_oom(void);
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray checks nmemb * size for overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) HG_PRINTF(1, 2);
/* xmalloc for a block that is about to be filled completely: from 2 MiB
 * up it is 2 MiB-aligned, asks for transparent huge pages and has its pages
 * made present at once, so filling it costs a page fault per 2 MiB or
 * none instead of one per 4 KiB (on a VM a fault costs microseconds; a
 * million-name list fills ~100 MB). Release with free(). */
void *xmalloc_big(size_t n);

/* An arena owns every node of one IR tree: one hg_arena_free() releases a
 * whole ruleset, so the IR needs no per-node destructors. */
struct hg_arena;
struct hg_arena *hg_arena_new(void);
void hg_arena_free(struct hg_arena *a);
void *hg_arena_alloc(struct hg_arena *a, size_t n); /* zeroed, 16-aligned */
/* Not zeroed, align-byte aligned (a power of two <= 16): for bulk data that
 * is written right away (a million scalars need not be zeroed first). */
void *hg_arena_alloc_raw(struct hg_arena *a, size_t n, size_t align);
char *hg_arena_strdup(struct hg_arena *a, const char *s);
char *hg_arena_strndup(struct hg_arena *a, const char *s, size_t n);
char *hg_arena_printf(struct hg_arena *a, const char *fmt, ...) HG_PRINTF(2, 3);
size_t hg_arena_bytes(const struct hg_arena *a);

/* Growable array of T: HG_VEC(struct foo) v = {0}; hg_vec_push(&v, x);
 * Storage comes from malloc (compiler side); free with hg_vec_free(). */
#define HG_VEC(T)          \
	struct {           \
		T *v;      \
		size_t n;  \
		size_t cap; \
	}
#define hg_vec_reserve(vec, want)                                                   \
	do {                                                                        \
		if ((want) > (vec)->cap) {                                          \
			size_t hg_nc_ = (vec)->cap ? (vec)->cap * 2 : 8;            \
			while (hg_nc_ < (want))                                     \
				hg_nc_ *= 2;                                        \
			(vec)->v = xreallocarray((vec)->v, hg_nc_, sizeof(*(vec)->v)); \
			(vec)->cap = hg_nc_;                                        \
		}                                                                   \
	} while (0)
#define hg_vec_push(vec, x)                          \
	do {                                         \
		hg_vec_reserve((vec), (vec)->n + 1); \
		(vec)->v[(vec)->n++] = (x);          \
	} while (0)
#define hg_vec_free(vec)              \
	do {                          \
		free((vec)->v);       \
		(vec)->v = NULL;      \
		(vec)->n = (vec)->cap = 0; \
	} while (0)

/* ASCII case folding by table: never locale-dependent (STYLE.md 10). */
extern const unsigned char hg_lower_table[256];
static inline unsigned char hg_lower(unsigned char c) { return hg_lower_table[c]; }

/* The value of one hexadecimal digit, or -1 (content's |0d 0a|, %XX in URIs). */
static inline int hg_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
bool hg_ascii_casecmp_eq(const char *a, size_t alen, const char *b, size_t blen);

/* Validates UTF-8 (RFC 3629: no overlongs, no surrogates). On failure sets
 * *bad_off to the offset of the first bad byte. */
bool hg_utf8_valid(const unsigned char *s, size_t n, size_t *bad_off);

/* Reads a whole file (at most max bytes; -EFBIG beyond). 0 or -errno. */
int hg_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* Edit distance, for "did you mean" suggestions. */
size_t hg_levenshtein(const char *a, const char *b);

#endif
