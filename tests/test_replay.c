/* test_replay.c - the replay front end through the real binary: the seed's
 * expected verdicts (pcaps/cases.yaml), reproducible logs, the --json and
 * EVE shapes, diff's exit status, and bad captures. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED "rulesets/seed-zero-trust.yaml"

/* Runs a shell command in the source tree; returns its exit status and
 * (when out is not NULL) its standard output. */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	char *full;
	cr_assert(asprintf(&full, "cd '%s' && %s", getenv("HG_SRCDIR"), cmd) >= 0);
	FILE *p = popen(full, "r");
	cr_assert(p);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += r;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	int st = pclose(p);
	free(cmd);
	free(full);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *bin(void)
{
	const char *b = getenv("HG_BIN");
	cr_assert(b && getenv("HG_SRCDIR"), "HG_BIN and HG_SRCDIR are set by meson test");
	return b;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(replay, seed_cases_pass)
{
	char *out;
	int st = run(&out, "%s test " SEED " pcaps/cases.yaml", bin());
	unsigned passed = 0, failed = 1;
	const char *sum = strstr(out, " passed, ");
	cr_assert(sum, "no summary line:\n%s", out);
	while (sum > out && sum[-1] != '\n')
		sum--;
	cr_assert_eq(sscanf(sum, "%u passed, %u failed", &passed, &failed), 2);
	cr_expect_eq(st, 0, "hostgate test failed:\n%s", out);
	cr_expect_eq(failed, 0u, "%s", out);
	cr_expect_geq(passed, 30u);
	cr_log_info("seed cases: %u passed, %u failed", passed, failed);
	free(out);
}

Test(replay, a_wrong_expectation_fails)
{
	char tmp[] = "/tmp/hg-cases-XXXXXX";
	int fd = mkstemp(tmp);
	cr_assert(fd >= 0);
	char *src;
	cr_assert(asprintf(&src, "%s/pcaps", getenv("HG_SRCDIR")) > 0);
	dprintf(fd, "cases:\n  - name: wrong on purpose\n    pcap: %s/real-tls.pcap\n"
		    "    match: {sni: api.github.com}\n    verdict: drop\n", src);
	close(fd);
	char *out;
	cr_expect_eq(run(&out, "%s test " SEED " %s", bin(), tmp), 1);
	cr_expect(strstr(out, "FAIL wrong on purpose"), "%s", out);
	free(out);
	free(src);
	unlink(tmp);
}

Test(replay, logs_are_reproducible_and_anfw_shaped)
{
	char *a1, *a2, *f1, *f2;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(run(NULL, "%s replay " SEED " pcaps/seed-demo.pcap --alert-log /tmp/hg-rt-a%d.log "
				 "--flow-log /tmp/hg-rt-f%d.log >/dev/null && true",
				 bin(), i, i),
			     0);
	run(&a1, "cat /tmp/hg-rt-a0.log; rm -f /tmp/hg-rt-a0.log");
	run(&a2, "cat /tmp/hg-rt-a1.log; rm -f /tmp/hg-rt-a1.log");
	run(&f1, "cat /tmp/hg-rt-f0.log; rm -f /tmp/hg-rt-f0.log");
	run(&f2, "cat /tmp/hg-rt-f1.log; rm -f /tmp/hg-rt-f1.log");
	cr_expect_str_eq(a1, a2, "alert logs differ between two replays");
	cr_expect_str_eq(f1, f2, "flow logs differ between two replays");
	size_t lines = count(a1, "\n");
	cr_expect_geq(lines, 8u);
	cr_expect_eq(count(a1, "{\"firewall_name\":\"ZeroTrustFirewall\""), lines);
	cr_expect_eq(count(a1, "\"event_type\":\"alert\""), lines);
	cr_expect_eq(count(a1, "\"verdict\":{\"action\":\"drop\"}"), lines);
	cr_expect_geq(count(a1, "\"signature\":\"not matching any TLS allowlisted FQDNs\""), 4u);
	cr_expect_geq(count(f1, "\"event_type\":\"netflow\""), 20u);
	cr_expect_eq(count(f1, "\"event_type\":\"netflow\""), count(f1, "\n"));
	free(a1), free(a2), free(f1), free(f2);
}

Test(replay, json_and_eve_output)
{
	char *out;
	cr_assert_eq(run(&out, "%s replay --json " SEED " pcaps/real-tls.pcap 2>/dev/null", bin()), 0);
	static const char *const keys[] = {"\"flow_id\":", "\"src_ip\":", "\"src_port\":", "\"dest_ip\":",
					   "\"dest_port\":", "\"proto\":", "\"app_proto\":", "\"verdict\":",
					   "\"alerts\":", "\"pkts_toserver\":", "\"pkts_toclient\":",
					   "\"bytes_toserver\":", "\"bytes_toclient\":", "\"evasion\":"};
	size_t flows = count(out, "\n");
	cr_expect_geq(flows, 8u);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect_eq(count(out, keys[i]), flows, "%s", keys[i]);
	cr_expect_eq(count(out, "\"tls\":{\"sni\":\"api.github.com\"}"), 1u);
	free(out);
	cr_assert_eq(run(&out, "%s replay " SEED " pcaps/real-http.pcap --log-format eve --alert-log /dev/stdout "
			 ">/dev/null 2>&1; %s replay " SEED " pcaps/real-http.pcap --log-format eve --alert-log - "
			 "| grep '^{'",
			 bin(), bin()),
		     0);
	cr_expect_geq(count(out, "{\"timestamp\":"), 3u);
	cr_expect_eq(count(out, "firewall_name"), 0u);
	free(out);
}

Test(replay, diff_reports_changed_flows)
{
	char *out;
	cr_expect_eq(run(&out, "%s diff " SEED " tests/data/replay/seed-no-github.yaml pcaps/real-tls.pcap", bin()), 1);
	cr_expect(strstr(out, "sni=api.github.com: pass"), "%s", out);
	cr_expect(strstr(out, "diff: 1 of"), "%s", out);
	free(out);
	cr_expect_eq(run(&out, "%s diff " SEED " " SEED " pcaps/real-tls.pcap", bin()), 0);
	cr_expect(strstr(out, "diff: 0 of"), "%s", out);
	free(out);
}

Test(replay, overlap_policy_drop)
{
	char *out;
	cr_assert_eq(run(&out, "%s replay --json --overlap-policy drop " SEED " pcaps/evasion-overlap.pcap 2>/dev/null",
			 bin()),
		     0);
	cr_expect(strstr(out, "\"verdict\":\"drop\""), "%s", out);
	cr_expect(strstr(out, "\"stream-overlap\""), "%s", out);
	free(out);
}

Test(replay, bad_captures)
{
	char *out;
	/* Not a capture: a clean error, exit 2. */
	cr_expect_eq(run(&out, "%s replay " SEED " README.md 2>&1", bin()), 2);
	cr_expect(strstr(out, "README.md"), "%s", out);
	free(out);
	/* Cut mid-packet: what was read is replayed, the cut is reported. */
	cr_assert_eq(run(NULL, "head -c 30000 pcaps/real-tls.pcap > /tmp/hg-cut.pcap"), 0);
	int st = run(&out, "%s replay " SEED " /tmp/hg-cut.pcap 2>&1", bin());
	cr_expect(st == 0 || st == 1, "exit %d", st);
	cr_expect(strstr(out, "summary:"), "%s", out);
	cr_expect(strstr(out, "sni=api.github.com"), "%s", out);
	free(out);
	unlink("/tmp/hg-cut.pcap");
}
