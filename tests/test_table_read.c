/* test_table_read.c - the table read back as data (runtime/table_read.c),
 * in a network namespace of the test's own: the generation the emitter
 * wrote (table.h's contract, both sides), the named objects the daemon's
 * replacing transaction deletes, the elements of a verdict set counted.
 * Needs root; skips, saying so, otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostgate/actuate.h"
#include "hostgate/apply.h"
#include "hostgate/emit.h"
#include "hostgate/ir.h"
#include "hostgate/table.h"
#include "hostgate/table_read.h"

static void own_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, nf_tables): skipped");
	/* Criterion runs each test in its own process: the namespace and
	 * its tables go with it. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
}

/* An empty policy: the table is the emitter's frame (verdict sets, the
 * generation, the chains). */
static char *emit_empty(uint16_t gen)
{
	struct hg_ruleset *rs = hg_ruleset_new();
	struct hg_policy *p = hg_arena_alloc(rs->arena, sizeof(*p));
	p->name = "ReadBack";
	p->stateless_default = HG_SL_FORWARD;
	p->stateless_fragment_default = HG_SL_FORWARD;
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr("10.0.0.0/8", &lo, &hi));
	hg_ipset_add(&p->home_net, &lo, &hi);
	hg_ipset_copy(&p->external_net, &p->home_net);
	hg_ipset_complement(&p->external_net);
	rs->policy = p;
	struct hg_nft_opts o;
	hg_nft_opts_defaults(&o);
	o.table = "hgread";
	o.ct_mark_gen = gen;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_eq(hg_emit_nft(m, rs, &o), 0);
	fclose(m);
	hg_ruleset_free(rs);
	return buf;
}

static void apply(const char *text)
{
	char *err = NULL;
	cr_assert_eq(hg_apply_nft_text(text, false, &err), 0, "%s", err ? err : "?");
}

static const struct hg_table_object *find(const struct hg_table_objects *o, const char *kind, const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind && !strcmp(o->v[i].kind, kind) && !strcmp(o->v[i].name, name))
			return &o->v[i];
	return NULL;
}

Test(table_read, generation_objects_and_counts)
{
	own_netns();
	uint16_t gen = 0;
	struct hg_table_objects objs;
	cr_assert_eq(hg_table_read_generation("hgread", &gen), -ENOENT, "no table yet");
	cr_assert_eq(hg_table_read_objects("hgread", &objs), -ENOENT);

	char *text = emit_empty(0xbeef);
	apply(text);
	free(text);
	cr_assert_eq(hg_table_read_generation("hgread", &gen), 0);
	cr_assert_eq(gen, 0xbeef, "the generation the emitter wrote: 0x%x", gen);
	/* A table of the same name in another family is not ours. */
	apply("table ip hgread {\n set generation {\n type mark\n elements = { 7 }\n }\n}\n");
	cr_assert_eq(hg_table_read_generation("hgread", &gen), 0);
	cr_assert_eq(gen, 0xbeef);

	/* Objects someone added beside ours are named too. */
	apply("table inet hgread {\n counter c1 {\n }\n map m1 {\n type ipv4_addr : verdict\n }\n quota q1 {\n 25 mbytes\n }\n}\n");
	cr_assert_eq(hg_table_read_objects("hgread", &objs), 0);
	for (int s = 0; s < HG_VSET_N; s++)
		cr_assert_not_null(find(&objs, "set", hg_vset_name((enum hg_vset)s)), "%s", hg_vset_name((enum hg_vset)s));
	cr_assert_not_null(find(&objs, "set", HG_SET_GENERATION));
	cr_assert_not_null(find(&objs, "chain", "forward"));
	cr_assert_not_null(find(&objs, "chain", "stateful"));
	cr_assert_not_null(find(&objs, "counter", "c1"));
	cr_assert_not_null(find(&objs, "quota", "q1"));
	cr_assert_not_null(find(&objs, "map", "m1"));
	for (size_t i = 0; i < objs.n; i++)
		cr_assert_not(objs.v[i].name[0] == '_', "anonymous set %s listed", objs.v[i].name);
	hg_table_objects_free(&objs);

	/* Elements counted over the binary dump: 512 IPv6 flows. */
	cr_assert_eq(hg_table_count_elements("hgread", "allow6"), 0);
	char err[256];
	struct hg_actuator *a = hg_act_new("hgread", err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	for (unsigned i = 0; i < 512; i++) {
		struct hg_act_tuple t = {.cport = (uint16_t)(1024 + i), .sport = 443, .proto = 6};
		t.cli.b[0] = 0xfd, t.cli.b[14] = (uint8_t)(i >> 8), t.cli.b[15] = (uint8_t)i;
		t.srv.b[0] = 0x20, t.srv.b[1] = 0x01, t.srv.b[15] = 1;
		hg_act_verdict(a, &t, true, 600);
	}
	cr_assert_eq(hg_act_commit(a), 0, "%s", hg_act_last_error(a));
	hg_act_free(a);
	cr_assert_eq(hg_table_count_elements("hgread", "allow6"), 1024);
	cr_assert_eq(hg_table_count_elements("hgread", "allow4"), 0);
	cr_assert_eq(hg_table_count_elements("hgread", "nosuchset"), -ENOENT);
}

static const struct hg_table_counter *find_ctr(const struct hg_table_counters *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name))
			return &c->v[i];
	return NULL;
}

/* The custom actions' counters read back with what they counted (set
 * here through nft's own counter syntax), only ours: the prefix, the
 * table, the family. Declaring a counter again in a later transaction (a
 * reload keeping it, run_table.c) leaves its count as it was. */
Test(table_read, custom_action_counters)
{
	own_netns();
	struct hg_table_counters c;
	cr_assert_eq(hg_table_read_counters("hgread", HG_CA_COUNTER_PREFIX, &c), 0, "no table: none");
	cr_assert_eq(c.n, 0u);
	apply("table inet hgread {\n counter hg_ca_telnet {\n packets 7 bytes 420\n }\n"
	      " counter hg_ca_udp.seen {\n packets 3 bytes 90\n }\n counter other {\n packets 1 bytes 1\n }\n}\n"
	      "table ip hgread {\n counter hg_ca_ip {\n packets 9 bytes 9\n }\n}\n"
	      "table inet hgother {\n counter hg_ca_elsewhere {\n packets 9 bytes 9\n }\n}\n");
	cr_assert_eq(hg_table_read_counters("hgread", HG_CA_COUNTER_PREFIX, &c), 0);
	cr_expect_eq(c.n, 2u);
	const struct hg_table_counter *t = find_ctr(&c, "hg_ca_telnet"), *u = find_ctr(&c, "hg_ca_udp.seen");
	cr_assert(t && u);
	cr_expect_eq(t->packets, 7u);
	cr_expect_eq(t->bytes, 420u);
	cr_expect_eq(u->packets, 3u);
	hg_table_counters_free(&c);

	apply("table inet hgread {}\ntable inet hgread {\n counter hg_ca_telnet {\n }\n}\n");
	cr_assert_eq(hg_table_read_counters("hgread", HG_CA_COUNTER_PREFIX, &c), 0);
	t = find_ctr(&c, "hg_ca_telnet");
	cr_assert(t);
	cr_expect_eq(t->packets, 7u, "declared again, the counter keeps its count: %llu", (unsigned long long)t->packets);
	hg_table_counters_free(&c);
}
