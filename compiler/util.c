/* util.c - checked allocation, the IR arena, UTF-8 validation, file reading.
 * The compiler treats out-of-memory as fatal (STYLE.md practice 6). */
#include "hostgate/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void hg_oom(void)
{
	fputs("hostgate: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		hg_oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		hg_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		hg_oom();
	return p;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		hg_oom();
	return xrealloc(p, nmemb * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		hg_oom();
	return p;
}

enum { HG_HUGE_PAGE = 2u << 20 };

/* populate: the caller fills the whole block right away, so its pages are
 * made present in one call instead of a fault each (what is left when the
 * kernel gives no huge pages). */
static void *big_alloc(size_t n, bool populate)
{
	if (n < HG_HUGE_PAGE)
		return xmalloc(n);
	void *p;
	size_t len = (n + HG_HUGE_PAGE - 1) & ~(size_t)(HG_HUGE_PAGE - 1);
	if (len < n || posix_memalign(&p, HG_HUGE_PAGE, len))
		hg_oom();
	/* Hints only: without THP (or on an older kernel) the block is an
	 * ordinary one. */
	(void)madvise(p, len, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
	if (populate)
		(void)madvise(p, n & ~(size_t)4095, MADV_POPULATE_WRITE);
#endif
	return p;
}

void *xmalloc_big(size_t n)
{
	return big_alloc(n, true);
}

/* Arena: a list of chunks, bump-allocated. Big requests get their own chunk. */
struct hg_arena_chunk {
	struct hg_arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct hg_arena {
	struct hg_arena_chunk *head;
	size_t total;
};

/* Chunks start at 64 KiB; once the arena holds a few MiB they grow with
 * it (an eighth of what it holds, up to 16 MiB) and come from
 * xmalloc_big(): a big IR costs few page faults and wastes at most the
 * untouched tail of its last chunk. */
enum { HG_ARENA_CHUNK = 64 * 1024, HG_ARENA_BIG_FROM = 4u << 20, HG_ARENA_CHUNK_MAX = 16u << 20 };

static size_t arena_chunk_size(const struct hg_arena *a)
{
	if (a->total < HG_ARENA_BIG_FROM)
		return HG_ARENA_CHUNK;
	size_t size = HG_MIN(a->total / 8, (size_t)HG_ARENA_CHUNK_MAX);
	return (size + HG_HUGE_PAGE - 1) & ~(size_t)(HG_HUGE_PAGE - 1);
}

struct hg_arena *hg_arena_new(void)
{
	return xcalloc(1, sizeof(struct hg_arena));
}

void hg_arena_free(struct hg_arena *a)
{
	if (!a)
		return;
	for (struct hg_arena_chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* Room for n bytes at an align-byte boundary (a power of two <= 16), not
 * zeroed. Big requests get their own chunk and leave the current one
 * filling. */
static void *arena_take(struct hg_arena *a, size_t n, size_t align)
{
	struct hg_arena_chunk *c = a->head;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	if (!c || at > c->size || c->size - at < n) {
		size_t chunk = arena_chunk_size(a);
		bool own = n > chunk / 4; /* a big request: a chunk of its own */
		size_t size = own ? (n + 15) & ~(size_t)15 : chunk;
		if (!own && size >= HG_HUGE_PAGE)
			size -= sizeof(*c); /* header and data fill whole huge pages */
		/* A chunk of its own is filled by its request; a shared one
		 * may never be (its untouched tail costs no memory). */
		c = big_alloc(sizeof(*c) + size, own);
		c->used = 0;
		c->size = size;
		if (own && a->head) {
			/* Keep filling the current chunk after a big one. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->total += size;
		at = 0;
	}
	c->used = at + n;
	return c->data + at;
}

void *hg_arena_alloc(struct hg_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	void *p = arena_take(a, n, 16);
	memset(p, 0, n);
	return p;
}

void *hg_arena_alloc_raw(struct hg_arena *a, size_t n, size_t align)
{
	if (!align || (align & (align - 1)) || align > 16)
		align = 16;
	return arena_take(a, n, align);
}

char *hg_arena_strndup(struct hg_arena *a, const char *s, size_t n)
{
	char *p = hg_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *hg_arena_strdup(struct hg_arena *a, const char *s)
{
	return hg_arena_strndup(a, s, strlen(s));
}

char *hg_arena_printf(struct hg_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *tmp;
	va_start(ap, fmt);
	int r = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (r < 0)
		hg_oom();
	char *p = hg_arena_strndup(a, tmp, (size_t)r);
	free(tmp);
	return p;
}

size_t hg_arena_bytes(const struct hg_arena *a)
{
	return a->total;
}

const unsigned char hg_lower_table[256] = {
#define R(x) x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7
	R(0), R(8), R(16), R(24), R(32), R(40), R(48), R(56),
	64, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 91, 92, 93, 94, 95,
	R(96), R(104), R(112), R(120), R(128), R(136), R(144), R(152), R(160), R(168),
	R(176), R(184), R(192), R(200), R(208), R(216), R(224), R(232), R(240), R(248),
#undef R
};

bool hg_ascii_casecmp_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (hg_lower((unsigned char)a[i]) != hg_lower((unsigned char)b[i]))
			return false;
	return true;
}

bool hg_utf8_valid(const unsigned char *s, size_t n, size_t *bad_off)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			goto bad;
		}
		if (n - i <= need)
			goto bad;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
	}
	return true;
bad:
	if (bad_off)
		*bad_off = i;
	return false;
}

int hg_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A regular file's size is known: one buffer of that size (filled
	 * at once, so a big one gets huge pages); a pipe grows by doubling. */
	size_t cap = 65536, len = 0;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < max)
		cap = HG_MAX(cap, (size_t)st.st_size + 1); /* +1: the read that sees EOF */
	char *buf = xmalloc_big(cap + 1);
	int ret = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				ret = -EFBIG;
				goto out;
			}
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			ret = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

size_t hg_levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = hg_lower((unsigned char)a[i - 1]) == hg_lower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}
