/* state.c - the acknowledged positions, one line per log:
 *   hostgate-ship-state 1
 *   NAME INODE OFFSET
 * replaced by write(tmp) + fsync + rename + fsync(dir). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"
#include "hostgate/util.h"

#define STATE_MAGIC "hostgate-ship-state 1"

int state_load(const char *path, struct state_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		e[i].ino = e[i].off = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[256];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC)) {
				fprintf(stderr, "%s:1:1: error: not a hostgate ship state file\n", path);
				rc = -EINVAL;
				break;
			}
			continue;
		}
		char name[STATE_NAME_MAX];
		uint64_t ino, off;
		char extra;
		if (sscanf(line, "%31s %" SCNu64 " %" SCNu64 " %c", name, &ino, &off, &extra) != 3) {
			fprintf(stderr, "%s:%u:1: error: expected 'NAME INODE OFFSET'\n", path, lineno);
			rc = -EINVAL;
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (!strcmp(e[i].name, name)) {
				e[i].ino = ino;
				e[i].off = off;
			}
	}
	fclose(f);
	return rc;
}

int state_save(const char *path, const struct state_entry *e, size_t n)
{
	char *tmp = xasprintf("%s.tmp", path);
	char buf[4096];
	size_t len = (size_t)snprintf(buf, sizeof(buf), STATE_MAGIC "\n");
	for (size_t i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %" PRIu64 " %" PRIu64 "\n", e[i].name,
					e[i].ino, e[i].off);
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		goto out;
	}
	char *dcopy = xstrdup(path);
	int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dcopy);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(tmp);
	return rc;
}
