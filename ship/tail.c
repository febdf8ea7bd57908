/* tail.c - reading a growing log file line by line, following logrotate
 * (rename and create, SIGHUP reopen) and copytruncate. The file's inode
 * identifies it: a restart resumes in the file it stopped in, found by inode
 * in the log's directory when it was renamed meanwhile. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tail.h"
#include "hostgate/util.h"

#define READ_CHUNK (256u << 10)

static void open_at(struct tail *t, const char *path, uint64_t off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if ((uint64_t)st.st_size < off) {
		t->st.truncations++;
		off = 0;
	}
	if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
		close(fd);
		return;
	}
	t->fd = fd;
	t->ino = st.st_ino;
	t->buf_off = off;
	t->len = t->pos = 0;
	t->skipping = false;
	t->have_peek = false;
	t->rotated_since_us = 0;
}

/* A file in path's directory with inode ino (a rotated name of the log). */
static char *find_inode(const char *path, uint64_t ino)
{
	char *dcopy = xstrdup(path), *bcopy = xstrdup(path);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t blen = strlen(base);
	char *found = NULL;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while (!found && (de = readdir(d))) {
			if (de->d_ino != ino || strncmp(de->d_name, base, blen))
				continue;
			found = xasprintf("%s/%s", dir, de->d_name);
		}
		closedir(d);
	}
	free(dcopy);
	free(bcopy);
	return found;
}

void tail_init(struct tail *t, const char *path, uint64_t ino, uint64_t off, size_t max_line)
{
	memset(t, 0, sizeof(*t));
	t->path = xstrdup(path);
	t->fd = -1;
	t->max_line = max_line;
	t->cap = max_line + READ_CHUNK;
	t->buf = xmalloc(t->cap);
	if (!ino) {
		open_at(t, path, 0);
		return;
	}
	struct stat st;
	if (!stat(path, &st) && (uint64_t)st.st_ino == ino) {
		open_at(t, path, off);
		return;
	}
	char *old = find_inode(path, ino);
	if (old) {
		open_at(t, old, off);
		free(old);
		return;
	}
	/* the file we were in is gone (deleted, compressed): its unread
	 * rest is lost; say so */
	t->st.lost_files++;
	open_at(t, path, 0);
}

void tail_fini(struct tail *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	free(t->path);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

uint64_t tail_offset(const struct tail *t)
{
	if (t->skipping)
		return t->skip_start;
	return t->buf_off + t->pos;
}

/* Reads more into the buffer; 1 read something, 0 at the end, -1 error. */
static int fill(struct tail *t)
{
	if (t->pos) {
		memmove(t->buf, t->buf + t->pos, t->len - t->pos);
		t->buf_off += t->pos;
		t->len -= t->pos;
		t->pos = 0;
	}
	if (t->len == t->cap)
		return 1; /* the caller handles a full buffer */
	ssize_t n;
	do
		n = read(t->fd, t->buf + t->len, t->cap - t->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	t->len += (size_t)n;
	return n > 0;
}

int tail_peek(struct tail *t, struct tail_line *l)
{
	if (t->have_peek) {
		*l = t->peek;
		return 1;
	}
	if (t->fd < 0)
		return 0;
	for (;;) {
		char *s = t->buf + t->pos;
		size_t avail = t->len - t->pos;
		char *nl = memchr(s, '\n', avail);
		if (t->skipping) {
			if (nl) {
				t->pos += (size_t)(nl - s) + 1;
				t->skipping = false;
				t->peek = (struct tail_line){NULL, t->buf_off + t->pos - 1 - t->skip_start, t->buf_off + t->pos,
							      true};
				t->peek_advance = 0; /* its bytes left the buffer already */
				t->have_peek = true;
				*l = t->peek;
				return 1;
			}
			t->pos = t->len; /* discard, keep looking for its end */
		} else if (nl) {
			size_t n = (size_t)(nl - s);
			if (n > t->max_line) {
				t->pos += n + 1;
				t->peek = (struct tail_line){NULL, n, t->buf_off + t->pos, true};
				t->peek_advance = 0;
			} else {
				t->peek = (struct tail_line){s, n, t->buf_off + t->pos + n + 1, false};
				t->peek_advance = n + 1;
			}
			t->have_peek = true;
			*l = t->peek;
			return 1;
		} else if (avail > t->max_line) {
			t->skipping = true;
			t->skip_start = t->buf_off + t->pos;
			t->pos = t->len;
		}
		int r = fill(t);
		if (r <= 0)
			return r;
	}
}

void tail_consume(struct tail *t)
{
	if (!t->have_peek)
		return;
	t->have_peek = false;
	t->pos += t->peek_advance;
}

/* A rotated name of path: "NAME.N" (logrotate's default) or "NAME-..."
 * (dateext), not compressed (we read text). */
static bool rotated_name(const char *name, const char *base, size_t blen)
{
	if (strncmp(name, base, blen) || (name[blen] != '.' && name[blen] != '-') || !name[blen + 1])
		return false;
	if (name[blen] == '.' && strspn(name + blen + 1, "0123456789") != strlen(name + blen + 1))
		return false;
	static const char *const packed[] = {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".z", ".tmp"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(packed) / sizeof(packed[0]); i++) {
		size_t k = strlen(packed[i]);
		if (n > k && !strcmp(name + n - k, packed[i]))
			return false;
	}
	return true;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The file to read after the finished one (cur): when logs were rotated
 * more than once while we were away, a rotated name last written after
 * cur and before the others comes first (mtime order); NULL: path itself. */
static char *successor(const struct tail *t, const struct stat *cur)
{
	char *dcopy = xstrdup(t->path), *bcopy = xstrdup(t->path);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t blen = strlen(base);
	char *best = NULL;
	struct timespec best_t = {0, 0};
	struct stat named;
	bool named_ok = !stat(t->path, &named);
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!rotated_name(de->d_name, base, blen))
				continue;
			char *p = xasprintf("%s/%s", dir, de->d_name);
			struct stat st;
			/* written after the finished file, and not after the
			 * current log (which comes last anyway) */
			if (stat(p, &st) || !S_ISREG(st.st_mode) || st.st_ino == cur->st_ino ||
			    (named_ok && st.st_ino == named.st_ino) || ts_before(&st.st_mtim, &cur->st_mtim) ||
			    (best && !ts_before(&st.st_mtim, &best_t))) {
				free(p);
				continue;
			}
			free(best);
			best = p;
			best_t = st.st_mtim;
		}
		closedir(d);
	}
	free(dcopy);
	free(bcopy);
	return best;
}

bool tail_rotate(struct tail *t, int64_t now_us, int64_t rotate_wait_us)
{
	struct stat cur, named;
	bool named_ok = !stat(t->path, &named);
	if (t->fd < 0) {
		if (!named_ok)
			return false;
		open_at(t, t->path, 0);
		return t->fd >= 0;
	}
	if (fstat(t->fd, &cur) < 0)
		return false;
	if (named_ok && named.st_ino == cur.st_ino) {
		t->rotated_since_us = 0;
		/* copytruncate: the same file, shorter than where we are */
		if ((uint64_t)cur.st_size < t->buf_off + t->len) {
			t->st.truncations++;
			lseek(t->fd, 0, SEEK_SET);
			t->buf_off = 0;
			t->len = t->pos = 0;
			t->skipping = false;
			t->have_peek = false;
			return true;
		}
		return false;
	}
	if (!t->rotated_since_us) {
		t->rotated_since_us = now_us;
		return false;
	}
	if (now_us - t->rotated_since_us < rotate_wait_us)
		return false;
	/* still data the writer added meanwhile? read it first */
	if ((uint64_t)cur.st_size > t->buf_off + t->len)
		return false;
	if (t->len > t->pos && !t->skipping) {
		/* a last line without its newline: given as a line */
		size_t n = t->len - t->pos;
		t->peek = (struct tail_line){t->buf + t->pos, n, t->buf_off + t->len, n > t->max_line};
		if (t->peek.too_long)
			t->peek.p = NULL;
		t->peek_advance = n;
		t->have_peek = true;
		return false;
	}
	if (!named_ok)
		return false; /* rotated away, successor not created yet */
	char *next = successor(t, &cur);
	close(t->fd);
	t->fd = -1;
	open_at(t, next ? next : t->path, 0);
	free(next);
	t->st.rotations++;
	return true;
}

uint64_t tail_backlog(const struct tail *t)
{
	uint64_t b = 0;
	struct stat st;
	if (t->fd >= 0 && !fstat(t->fd, &st) && (uint64_t)st.st_size > tail_offset(t))
		b += (uint64_t)st.st_size - tail_offset(t);
	if (t->rotated_since_us && !stat(t->path, &st))
		b += (uint64_t)st.st_size;
	else if (t->fd < 0 && !stat(t->path, &st))
		b += (uint64_t)st.st_size;
	return b;
}

bool tail_switch_pending(const struct tail *t)
{
	struct stat st;
	if (stat(t->path, &st) < 0)
		return false;
	return t->fd < 0 || (uint64_t)st.st_ino != t->ino;
}
