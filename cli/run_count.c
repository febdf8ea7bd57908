/* run_count.c - `hostgate run`'s count of the allowed flows in the verdict
 * sets (start and reload summaries), made off the packet path: a thread of
 * its own dumps allow4 and allow6 over its own netlink socket (up to
 * 2 x 262,144 elements) while the daemon goes on releasing held packets. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostgate/table.h"
#include "hostgate/table_read.h"
#include "run_live.h"

struct count_job {
	char table[256];
	long minus;
	bool quiet_zero;
	char prefix[160], suffix[400];
};

static void *count_main(void *arg)
{
	struct count_job *j = arg;
	/* The kernel resumes a set dump by skipping what it sent, so a full
	 * set's count is quadratic work (~20 s for 262,144 IPv6 elements
	 * here): at the lowest priority (Linux: this thread only), it yields
	 * the CPU to the packet path. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	long a4 = hg_table_count_elements(j->table, hg_vset_name(HG_VSET_ALLOW4));
	long a6 = hg_table_count_elements(j->table, hg_vset_name(HG_VSET_ALLOW6));
	if (a4 < 0 || a6 < 0) {
		live_log("%scannot count the allowed flows: %s", j->prefix, strerror((int)-(a4 < 0 ? a4 : a6)));
	} else {
		long n = (a4 + a6) / 2 - j->minus; /* 2 elements a flow */
		if (n > 0 || !j->quiet_zero)
			live_log("%s%ld%s", j->prefix, n > 0 ? n : 0, j->suffix);
	}
	free(j);
	return NULL;
}

void live_count_allowed(const char *table, long minus, bool quiet_zero, const char *prefix, const char *suffix_fmt,
			...)
{
	struct count_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	snprintf(j->table, sizeof(j->table), "%s", table);
	snprintf(j->prefix, sizeof(j->prefix), "%s", prefix);
	va_list ap;
	va_start(ap, suffix_fmt);
	vsnprintf(j->suffix, sizeof(j->suffix), suffix_fmt, ap);
	va_end(ap);
	j->minus = minus;
	j->quiet_zero = quiet_zero;
	pthread_attr_t at;
	pthread_t t;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &at, count_main, j);
	pthread_attr_destroy(&at);
	if (r) {
		live_log("%scannot count the allowed flows: %s", prefix, strerror(r));
		free(j);
	}
}
