/* test_live_log.c - `hostgate run` whose alert log is a pipe nobody reads:
 * the daemon goes on deciding (an allowed flow still passes, at once, after
 * a flood of denied ones whose alerts fill the pipe and the queue), and
 * the events it could not queue are counted (log_queue_full in the stats
 * event), never waited for. Needs root; skips otherwise. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "live_util.h"

TestSuite(live_log, .fini = teardown, .timeout = 240);

Test(live_log, pipe_nobody_reads_never_stalls_decisions)
{
	setup("hll");
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/alerts.fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	/* A reader that holds the pipe open and never reads (the daemon's
	 * open of the pipe waits for a reader to exist); in the gateway's
	 * namespace, so that teardown ends it. */
	sh("(ip netns exec %sg timeout 200 sleep 200 < %s >/dev/null 2>&1 &)", P, fifo);
	char extra[512];
	snprintf(extra, sizeof(extra), "--alert-log %s --stats-interval 1 --log-queue-bytes 262144", fifo);
	daemon_start(SEED, extra);

	/* 300 denied HTTP flows, two alerts each with a 2 KB URL and user
	 * agent (~5 KB a line): far more than the pipe (64 KB) and the queue
	 * (256 KB) hold. Each connection waits for its handshake, which the
	 * daemon releases: a daemon blocked on its log would stall this loop
	 * (timeout 60). */
	int rc = sh("ip netns exec %sc timeout 60 " PY " -c \"\n"
		    "import socket\n"
		    "req = b'GET /' + b'u' * 2000 + b' HTTP/1.1\\\\r\\\\nHost: x.malicious-domain.com\\\\r\\\\n'"
		    " + b'User-Agent: ' + b'a' * 2000 + b'\\\\r\\\\n\\\\r\\\\n'\n"
		    "for i in range(300):\n"
		    "    s = socket.create_connection(('198.51.100.10', 80), timeout=5)\n"
		    "    s.send(req)\n"
		    "    s.close()\n"
		    "\"",
		    P);
	cr_expect_eq(rc, 0, "the handshakes of the denied flows stalled (exit %d)", rc);

	/* Still deciding, at once. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_curl("-H 'Host: www.example.com' http://198.51.100.10/", "200");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect(secs < 3.0, "an allowed flow took %.1f s behind a full log", secs);

	/* The events that found the queue full are counted. */
	char lp[256];
	snprintf(lp, sizeof(lp), "%s/daemon.log", dir);
	msleep(1500);
	char *n = sh_out("grep -o '\"log_queue_full\":[0-9]*' %s | tail -1 | cut -d: -f2", lp);
	cr_expect_gt(atol(n), 0, "no lost events counted: %s", n);
	free(n);
	daemon_stop();
	char *log = slurp(lp);
	cr_expect(strstr(log, "events could not be written"), "the daemon says what it lost at exit:\n%s", log);
	free(log);
}
