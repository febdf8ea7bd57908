/* state.h - the shipper's acknowledged positions: for each shipped log, the
 * inode of the file and the offset up to which CloudWatch accepted every
 * line. Written whole to a temporary file, synced and renamed over the old
 * one after every acknowledged batch, so a crash leaves the previous or the
 * new state, never a mix. */
#ifndef HOSTGATE_SHIP_STATE_H
#define HOSTGATE_SHIP_STATE_H

#include <stddef.h>
#include <stdint.h>

#define STATE_NAME_MAX 32

struct state_entry {
	char name[STATE_NAME_MAX]; /* "alert", "flow", "metrics" */
	uint64_t ino, off;
};

/* Fills the entries whose names are in e[0..n) from path (others keep
 * ino = off = 0). 0; -errno when the file exists and cannot be read; a
 * malformed file is an error with its line (-EINVAL, message printed). */
int state_load(const char *path, struct state_entry *e, size_t n);
/* Atomically replaces path. 0 or -errno. */
int state_save(const char *path, const struct state_entry *e, size_t n);

#endif
