/* test_differential.c - replay against the kernel (tests/differential.py):
 * for every ruleset in rulesets/, the same generated probes through the
 * engine (`hostgate replay --packets`) and through a gateway namespace with
 * the compiled table loaded; the kernel's fate of each probe must equal the
 * engine's verdict, and the probes whose fate ANFW documents (non-UDP
 * fragments silently dropped, reference/anfw.md §3.1) must get it on both
 * sides. Needs root, scapy and tcpdump; skips, visibly, otherwise. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh_util.h"

#define PY "/usr/bin/python3"

Test(differential, replay_equals_kernel)
{
	if (geteuid() != 0)
		cr_skip_test("the differential test needs root (network namespaces): skipped");
	if (access(PY, X_OK) || access("/usr/bin/tcpdump", X_OK) || access("/usr/sbin/nft", X_OK))
		cr_skip_test(PY ", tcpdump or nft not installed: skipped");
	const char *src = getenv("HG_SRCDIR"), *bin = getenv("HG_BIN");
	cr_assert(src && bin);
	char dir[] = "/tmp/hg-diff-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *out = sh_out(PY " '%s/tests/differential.py' '%s' '%s' '%s' 2>&1; echo \"rc=$?\"", src, bin, src, dir);
	sh("rm -rf '%s'", dir);
	const char *rc = strstr(out, "rc=");
	cr_assert_not_null(rc, "%s", out);
	if (!strcmp(rc, "rc=77\n"))
		cr_skip_test("%s", out);
	unsigned compared = 0, rulesets = 0, held = 0, differ = 1;
	const char *tot = strstr(out, "total: ");
	cr_assert_not_null(tot, "%s", out);
	cr_assert_eq(sscanf(tot, "total: %u probes compared over %u rulesets, %u left to the daemon, %u differ", &compared,
			    &rulesets, &held, &differ),
		     4, "%s", out);
	cr_log_info("%s", out);
	cr_expect_eq(differ, 0u, "the kernel and the engine disagree:\n%s", out);
	cr_expect_geq(rulesets, 9u, "%s", out);
	/* The stateless ruleset alone decides all its probes in the kernel. */
	cr_expect_geq(compared, 1000u, "too few probes compared:\n%s", out);
	cr_expect(!strcmp(rc, "rc=0\n"), "%s", out);
	free(out);
}
