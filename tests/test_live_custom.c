/* test_live_custom.c - stateless custom actions (PublishMetricAction)
 * counted by `hostgate run` as `hostgate replay` counts them: real UDP
 * datagrams from a client namespace through the gateway, the daemon's
 * stats line and EMF metrics read back, a reload that drops one of the
 * actions, and the replay of the client's capture under the same rules.
 *
 * ANFW's documentation is the expectation: API ActionDefinition,
 * PublishMetricAction "publishes the specified metrics to Amazon
 * CloudWatch for the matching packet" (so each datagram a rule takes
 * counts once); API Dimension, "Network Firewall sets the dimension name
 * to CustomAction and you provide the dimension value" (so two actions
 * with one value are one metric); API StatelessRule, rules by priority,
 * the first match decides (aws:drop ends inspection: a dropped datagram
 * meets no later rule). The counts are what the test sent. Needs root;
 * skips, saying so, otherwise. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live_util.h"

TestSuite(live_custom, .fini = teardown, .timeout = 120);

/* Two groups' worth of rules in one: UDP to 9999 and to 9997 dropped,
 * both publishing "udp probe" (two action names, one value); UDP to 9998
 * passed, publishing "udp pass". The reloaded rules (with_pass false)
 * drop the 9998 rule and its action. */
static void write_rules(const char *path, bool with_pass)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("Resources:\n"
	      "  Counted:\n"
	      "    Type: AWS::NetworkFirewall::RuleGroup\n"
	      "    Properties:\n"
	      "      RuleGroupName: counted\n"
	      "      Type: STATELESS\n"
	      "      Capacity: 10\n"
	      "      RuleGroup:\n"
	      "        RulesSource:\n"
	      "          StatelessRulesAndCustomActions:\n"
	      "            CustomActions:\n"
	      "              - {ActionName: Probe, ActionDefinition: {PublishMetricAction: {Dimensions: [{Value: udp probe}]}}}\n"
	      "              - {ActionName: Probe2, ActionDefinition: {PublishMetricAction: {Dimensions: [{Value: udp probe}]}}}\n"
	      "              - {ActionName: Pass, ActionDefinition: {PublishMetricAction: {Dimensions: [{Value: udp pass}]}}}\n"
	      "            StatelessRules:\n"
	      "              - Priority: 10\n"
	      "                RuleDefinition:\n"
	      "                  Actions: [\"aws:drop\", Probe]\n"
	      "                  MatchAttributes: {Protocols: [17], DestinationPorts: [{FromPort: 9999, ToPort: 9999}]}\n"
	      "              - Priority: 20\n"
	      "                RuleDefinition:\n"
	      "                  Actions: [\"aws:drop\", Probe2]\n"
	      "                  MatchAttributes: {Protocols: [17], DestinationPorts: [{FromPort: 9997, ToPort: 9997}]}\n",
	      f);
	if (with_pass)
		fputs("              - Priority: 30\n"
		      "                RuleDefinition:\n"
		      "                  Actions: [\"aws:pass\", Pass]\n"
		      "                  MatchAttributes: {Protocols: [17], DestinationPorts: [{FromPort: 9998, ToPort: 9998}]}\n",
		      f);
	fputs("  Policy:\n"
	      "    Type: AWS::NetworkFirewall::FirewallPolicy\n"
	      "    Properties:\n"
	      "      FirewallPolicyName: custom-policy\n"
	      "      FirewallPolicy:\n"
	      "        StatelessDefaultActions: [\"aws:forward_to_sfe\"]\n"
	      "        StatelessFragmentDefaultActions: [\"aws:drop\"]\n"
	      "        StatelessRuleGroupReferences:\n"
	      "          - {ResourceArn: !Ref Counted, Priority: 1}\n",
	      f);
	fclose(f);
}

/* n UDP datagrams from the client to the server's port. */
static void send_udp(int port, int n)
{
	int rc = sh("ip netns exec %sc timeout 10 " PY " -c \"\n"
		    "import socket, time\n"
		    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		    "for i in range(%d):\n"
		    "    s.sendto(b'probe %%d' %% i, ('198.51.100.10', %d))\n"
		    "    time.sleep(0.01)\n"
		    "\"",
		    P, n, port);
	cr_assert_eq(rc, 0, "sending to %d", port);
}

/* The packets of value in the last stats line of the daemon's log (its
 * custom_actions member), -1 when absent. */
static long stats_count(const char *value)
{
	char path[256], key[160];
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	char *log = slurp(path);
	const char *last = NULL;
	for (const char *p = log; (p = strstr(p, "\"event_type\":\"stats\"")); p++)
		last = p;
	long n = -1;
	const char *ca = last ? strstr(last, "\"custom_actions\":{") : NULL;
	const char *end = ca ? strchr(ca, '}') : NULL;
	snprintf(key, sizeof(key), "\"%s\":", value);
	const char *k = ca ? strstr(ca, key) : NULL;
	if (k && k < end)
		n = strtol(k + strlen(key), NULL, 10);
	free(log);
	return n;
}

/* Waits for a stats line written after now (the interval is 1 s). */
static void next_stats(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	int before = count_lines(path, "\"event_type\":\"stats\"", NULL);
	for (int t = 0; t < 5000 && count_lines(path, "\"event_type\":\"stats\"", NULL) < before + 2; t += 100)
		msleep(100);
	cr_assert(count_lines(path, "\"event_type\":\"stats\"", NULL) >= before + 2, "no stats line: %s", slurp(path));
}

Test(live_custom, daemon_counts_what_replay_counts)
{
	if (geteuid() != 0)
		cr_skip_test("live namespace tests need root: skipped");
	if (access("/usr/sbin/nft", X_OK) || access("/usr/bin/tcpdump", X_OK) || access(PY, X_OK))
		cr_skip_test("nft, tcpdump or python3 missing: skipped");
	bin = getenv("HG_BIN");
	srcdir = getenv("HG_SRCDIR");
	cr_assert(bin && srcdir, "HG_BIN and HG_SRCDIR must be set");
	snprintf(P, sizeof(P), "hca%d", (int)getpid() % 100000);
	snprintf(dir, sizeof(dir), "/tmp/hg-live-%s", P);
	sh("rm -rf %s; mkdir -p %s", dir, dir);
	cr_assert_eq(sh(". %s/bench/live-topo.sh && topo_up %s", srcdir, P), 0, "topology");

	char rules[256], metrics[256], args[1024];
	snprintf(rules, sizeof(rules), "%s/custom.yaml", dir);
	snprintf(metrics, sizeof(metrics), "%s/metrics.emf", dir);
	write_rules(rules, true);
	snprintf(args, sizeof(args), "--stats-interval 1 --metrics-log %s", metrics);
	daemon_start(rules, args);

	capture_start('c', "c0");
	send_udp(9999, 5);
	send_udp(9997, 2);
	send_udp(9998, 3);
	msleep(1200); /* tcpdump hands packets over at its buffer timeout (1 s) */
	capture_stop('c');
	next_stats();
	cr_expect_eq(stats_count("udp probe"), 7, "5 + 2 datagrams dropped by the two rules publishing 'udp probe'");
	cr_expect_eq(stats_count("udp pass"), 3, "3 datagrams passed by the rule publishing 'udp pass'");

	/* Replay of what the client sent, under the same rules: the same. */
	char *rep = sh_out("cd %s && timeout 60 %s replay %s %s/c.pcap 2>&1 | grep '^summary:'", srcdir, bin, rules, dir);
	cr_expect(strstr(rep, "custom actions: udp probe=7, udp pass=3"), "replay: %s\ncapture:\n%s", rep,
		  sh_out("tcpdump -n -r %s/c.pcap 2>&1; cat %s/c.tcpdump", dir, dir));
	free(rep);

	/* A reload without the 9998 rule: "udp probe" goes on from 7, "udp
	 * pass" keeps the 3 it counted. */
	write_rules(rules, false);
	daemon_signal("HUP");
	char lp[256];
	snprintf(lp, sizeof(lp), "%s/daemon.log", dir);
	cr_assert(wait_for(lp, "SIGHUP", 3000), "%s", slurp(lp));
	next_stats();
	send_udp(9999, 4);
	send_udp(9998, 2); /* no rule publishes it now */
	next_stats();
	cr_expect_eq(stats_count("udp probe"), 11, "7 before the reload and 4 after");
	cr_expect_eq(stats_count("udp pass"), 3, "the 3 counted before the reload stay counted");
	daemon_stop();
	char *dlog = slurp(lp);
	cr_expect(!strstr(dlog, "reload failed"), "%s", dlog);
	free(dlog);

	/* The EMF events (CloudWatch Embedded Metric Format: every dimension
	 * a root member): per interval, summed over the run, the same. */
	char *emf = sh_out(PY " -c \"\n"
			   "import json, sys\n"
			   "tot = {}\n"
			   "for line in open('%s'):\n"
			   "    e = json.loads(line)\n"
			   "    if 'CustomAction' not in e: continue\n"
			   "    d = e['_aws']['CloudWatchMetrics'][0]\n"
			   "    assert d['Namespace'] == 'Hostgate', d\n"
			   "    assert ['FirewallName', 'CustomAction'] in d['Dimensions'], d\n"
			   "    assert all(k in e for ds in d['Dimensions'] for k in ds), e\n"
			   "    assert d['Metrics'] == [{'Name': 'Packets', 'Unit': 'Count'}], d\n"
			   "    assert e['FirewallName'] and e['AvailabilityZone'], e\n"
			   "    tot[e['CustomAction']] = tot.get(e['CustomAction'], 0) + e['Packets']\n"
			   "print(sorted(tot.items()), end='')\n"
			   "\" 2>&1",
			   metrics);
	cr_expect_str_eq(emf, "[('udp pass', 3), ('udp probe', 11)]", "EMF: %s", emf);
	free(emf);
}
