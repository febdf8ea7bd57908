/* tail.h - following one log file as the daemon writes it, across
 * rotations: lines are peeked, then consumed, so a line that does not fit
 * in the current batch stays for the next. Offsets are file offsets of the
 * file identified by its inode (the spool is the log file itself). */
#ifndef HOSTGATE_SHIP_TAIL_H
#define HOSTGATE_SHIP_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tail_line {
	const char *p;     /* the line without its newline (NULL when too long) */
	size_t len;        /* its length (also when too long) */
	uint64_t end;      /* file offset after its newline */
	bool too_long;     /* over max_line: its bytes were not kept */
};

struct tail_stats {
	uint64_t rotations;   /* successor files opened */
	uint64_t truncations; /* the file shrank under us (copytruncate): read from 0 */
	uint64_t lost_files;  /* the acknowledged file was gone at start */
};

struct tail {
	char *path;
	int fd;
	uint64_t ino;
	uint64_t buf_off;   /* file offset of buf[0] */
	char *buf;
	size_t len, pos, cap; /* unread line bytes are buf[pos..len) */
	size_t max_line;
	bool skipping;       /* inside a line longer than max_line */
	uint64_t skip_start;
	bool have_peek;
	struct tail_line peek;
	size_t peek_advance; /* what consuming the peek moves pos by */
	int64_t rotated_since_us; /* path names another file since; 0: not */
	struct tail_stats st;
};

/* Starts following path. Resumes at (ino, off) when that file is still
 * path, or another file in the same directory (a rotated name): that one
 * is finished first. ino 0: from the start of path. Never fails: a missing
 * file is waited for. */
void tail_init(struct tail *t, const char *path, uint64_t ino, uint64_t off, size_t max_line);
void tail_fini(struct tail *t);

/* The next whole line: 1 with *l, 0 when none is complete yet, -1 on a read
 * error (errno). Repeated calls return the same line until tail_consume. */
int tail_peek(struct tail *t, struct tail_line *l);
void tail_consume(struct tail *t);
/* Where the next line starts (the acknowledgeable position when all before
 * it was shipped). */
uint64_t tail_offset(const struct tail *t);

/* At the end of the current file: true when path now names another file
 * (or none) and the current one is done: it has been at its end for
 * rotate_wait_us since the change was seen, so a writer that had it open
 * has reopened. Opens the successor (from its start). A final line without
 * its newline is returned by tail_peek before that. */
bool tail_rotate(struct tail *t, int64_t now_us, int64_t rotate_wait_us);

/* True when path names a file other than the one being read (a
 * successor to read after this one). */
bool tail_switch_pending(const struct tail *t);

/* Bytes written and not read yet: the rest of this file, and all of the
 * successor when rotated. */
uint64_t tail_backlog(const struct tail *t);

#endif
