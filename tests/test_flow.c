/* test_flow.c - the flow table: direction-symmetric keys, who the client
 * is (SYN sender, midstream heuristics), handshake and close tracking,
 * expiry by packet time, eviction under the caps (every ended flow reaches
 * the callback exactly once), flush, flow ids, user area. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/flow.h"

static struct hg_packet pkt4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			     uint8_t proto, uint8_t flags, uint64_t ts)
{
	struct hg_packet p;
	memset(&p, 0, sizeof(p));
	uint8_t a[4] = {(uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src};
	uint8_t b[4] = {(uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst};
	hg_ip_from_v4(&p.src, a);
	hg_ip_from_v4(&p.dst, b);
	p.family = 4;
	p.ip_proto = proto;
	p.sport = sport;
	p.dport = dport;
	p.tcp_flags = flags;
	p.ts_us = ts;
	p.ttl = 64;
	p.wire_len = 60;
	p.l4 = (const uint8_t *)"";
	return p;
}

static struct hg_packet rev(const struct hg_packet *p, uint8_t flags, uint64_t ts)
{
	struct hg_packet r = *p;
	r.src = p->dst, r.dst = p->src;
	r.sport = p->dport, r.dport = p->sport;
	r.tcp_flags = flags;
	r.ts_us = ts;
	return r;
}

#define C_IP 0x0a000001u
#define S_IP 0x5db8d822u
#define SEC 1000000ull

struct ended {
	int n;
	int why[4];
	uint64_t ids[8192];
	int n_ids;
	uint32_t user_magic_seen;
};

static void on_end(void *ud, struct hg_flow *f, enum hg_flow_end why)
{
	struct ended *e = ud;
	e->n++;
	e->why[why]++;
	if (e->n_ids < 8192)
		e->ids[e->n_ids++] = f->flow_id;
	uint32_t m;
	memcpy(&m, hg_flow_user(f), 4);
	if (m == 0xfeedbeef)
		e->user_magic_seen++;
}

static struct hg_flow_table *table(struct ended *e, uint32_t max)
{
	struct hg_flow_config cfg = {.max_flows = max, .user_size = 100, .end_cb = on_end, .ud = e};
	struct hg_flow_table *t = hg_flow_table_new(&cfg);
	cr_assert(t);
	return t;
}

Test(flow, key_symmetric)
{
	struct hg_packet p = pkt4(C_IP, 40000, S_IP, 443, 6, HG_TCP_SYN, 0);
	struct hg_packet r = rev(&p, HG_TCP_SYN | HG_TCP_ACK, 1);
	struct hg_flow_key k1, k2;
	bool s1, s2;
	hg_flow_key_make(&p, &k1, &s1);
	hg_flow_key_make(&r, &k2, &s2);
	cr_expect(!memcmp(&k1, &k2, sizeof(k1)));
	cr_expect_neq(s1, s2);
	/* same address both sides: ports order the key */
	struct hg_packet q = pkt4(C_IP, 9, C_IP, 7, 17, 0, 0);
	struct hg_packet qr = rev(&q, 0, 0);
	hg_flow_key_make(&q, &k1, &s1);
	hg_flow_key_make(&qr, &k2, &s2);
	cr_expect(!memcmp(&k1, &k2, sizeof(k1)));
	cr_expect_eq(k1.pa, 7);
	cr_expect_eq(k1.pad[0] | k1.pad[1] | k1.pad[2], 0);
}

Test(flow, syn_sender_is_client_and_handshake)
{
	struct ended e = {0};
	struct hg_flow_table *t = table(&e, 64);
	enum hg_dir d;
	bool created;
	struct hg_packet syn = pkt4(C_IP, 40000, S_IP, 443, 6, HG_TCP_SYN, 10 * SEC);
	syn.tcp_seq = 1000;
	struct hg_flow *f = hg_flow_packet(t, &syn, &d, &created);
	cr_assert(f && created);
	cr_expect_eq(d, HG_DIR_TO_SERVER);
	cr_expect_eq(f->cport, 40000);
	cr_expect_eq(f->sport, 443);
	cr_expect(!(f->flags & HG_FLOW_F_MIDSTREAM));
	cr_expect_eq(f->state, HG_FLOW_S_NEW);
	cr_expect(hg_flow_first_in_dir(f, d));
	cr_expect_gt(f->flow_id, 0);
	memcpy(hg_flow_user(f), &(uint32_t){0xfeedbeef}, 4);

	struct hg_packet sa = rev(&syn, HG_TCP_SYN | HG_TCP_ACK, 10 * SEC + 1);
	sa.tcp_seq = 5000;
	sa.tcp_ack = 1001;
	sa.ttl = 50;
	struct hg_flow *g = hg_flow_packet(t, &sa, &d, &created);
	cr_expect_eq(g, f);
	cr_expect(!created);
	cr_expect_eq(d, HG_DIR_TO_CLIENT);
	cr_expect(!hg_flow_established(f));

	/* an ACK that does not ack the server's ISN does not complete it */
	struct hg_packet ack = syn;
	ack.tcp_flags = HG_TCP_ACK;
	ack.tcp_seq = 1001;
	ack.tcp_ack = 4242;
	ack.ts_us = 10 * SEC + 2;
	hg_flow_packet(t, &ack, &d, &created);
	cr_expect(!hg_flow_established(f));
	ack.tcp_ack = 5001;
	hg_flow_packet(t, &ack, &d, &created);
	cr_expect(hg_flow_established(f));
	cr_expect_eq(f->state, HG_FLOW_S_ESTABLISHED);
	cr_expect_eq(f->d[0].pkts, 3);
	cr_expect_eq(f->d[1].pkts, 1);
	cr_expect_eq(f->d[0].bytes, 180);
	cr_expect_eq(f->d[1].ttl_min, 50);
	cr_expect_eq(f->d[0].tcp_flags, HG_TCP_SYN | HG_TCP_ACK);
	cr_expect_eq(f->isn[0], 1000);
	cr_expect_eq(f->isn[1], 5000);
	cr_expect_eq(f->first_us, 10 * SEC);
	cr_expect_eq(f->last_us, 10 * SEC + 2);

	/* FIN both ways: closed; a new SYN on the tuple is a new flow */
	struct hg_packet fin = ack;
	fin.tcp_flags = HG_TCP_FIN | HG_TCP_ACK;
	hg_flow_packet(t, &fin, &d, &created);
	cr_expect_eq(f->state, HG_FLOW_S_CLOSING);
	struct hg_packet fin2 = rev(&fin, HG_TCP_FIN | HG_TCP_ACK, 10 * SEC + 3);
	hg_flow_packet(t, &fin2, &d, &created);
	cr_expect_eq(f->state, HG_FLOW_S_CLOSED);
	cr_expect(hg_flow_established(f));
	uint64_t old_id = f->flow_id;
	syn.ts_us = 10 * SEC + 4;
	g = hg_flow_packet(t, &syn, &d, &created);
	cr_expect(created);
	cr_expect_eq(e.why[HG_FLOW_END_REUSED], 1);
	cr_expect_eq(e.user_magic_seen, 1);
	cr_expect_neq(g->flow_id, old_id);
	uint32_t m;
	memcpy(&m, hg_flow_user(g), 4);
	cr_expect_eq(m, 0, "user area zeroed for the new flow");

	hg_flow_table_flush(t);
	cr_expect_eq(e.n, 2);
	cr_expect_eq(e.why[HG_FLOW_END_FLUSH], 1);
	hg_flow_table_free(t);
}

Test(flow, midstream_client)
{
	struct ended e = {0};
	struct hg_flow_table *t = table(&e, 64);
	enum hg_dir d;
	bool created;
	/* server -> client data first: the higher port is the client */
	struct hg_packet p = pkt4(S_IP, 443, C_IP, 51000, 6, HG_TCP_ACK | HG_TCP_PSH, 0);
	struct hg_flow *f = hg_flow_packet(t, &p, &d, &created);
	cr_expect(f->flags & HG_FLOW_F_MIDSTREAM);
	cr_expect_eq(f->cport, 51000);
	cr_expect_eq(d, HG_DIR_TO_CLIENT);
	cr_expect(!hg_flow_established(f));
	struct hg_packet r = rev(&p, HG_TCP_ACK, 1);
	hg_flow_packet(t, &r, &d, &created);
	cr_expect_eq(d, HG_DIR_TO_SERVER);
	cr_expect(hg_flow_established(f), "midstream: both sides spoke");

	/* SYN-ACK first: its receiver is the client, whatever the ports */
	struct hg_packet sa = pkt4(S_IP, 8080, C_IP, 80, 6, HG_TCP_SYN | HG_TCP_ACK, 2);
	f = hg_flow_packet(t, &sa, &d, &created);
	cr_expect_eq(f->cport, 80);
	cr_expect_eq(d, HG_DIR_TO_CLIENT);

	/* equal ports: the sender */
	struct hg_packet eq = pkt4(S_IP, 5000, C_IP, 5000, 6, HG_TCP_ACK, 3);
	f = hg_flow_packet(t, &eq, &d, &created);
	cr_expect_eq(d, HG_DIR_TO_SERVER);

	/* UDP: the first sender, even from the lower port */
	struct hg_packet u = pkt4(S_IP, 53, C_IP, 40000, 17, 0, 4);
	f = hg_flow_packet(t, &u, &d, &created);
	cr_expect_eq(d, HG_DIR_TO_SERVER);
	cr_expect(!(f->flags & HG_FLOW_F_MIDSTREAM));
	cr_expect_eq(f->state, HG_FLOW_S_NEW);
	struct hg_packet ur = rev(&u, 0, 5);
	hg_flow_packet(t, &ur, &d, &created);
	cr_expect_eq(f->state, HG_FLOW_S_ESTABLISHED);

	struct hg_flow_stats st;
	hg_flow_get_stats(t, &st);
	cr_expect_eq(st.midstream, 3);
	cr_expect_eq(st.flows, 4);
	hg_flow_table_free(t);
}

Test(flow, rst_and_timeouts)
{
	struct ended e = {0};
	struct hg_flow_config cfg = {.max_flows = 64, .end_cb = on_end, .ud = &e};
	cfg.timeout_s[HG_FLOW_PC_UDP][HG_FLOW_S_NEW] = 5;
	struct hg_flow_table *t = hg_flow_table_new(&cfg);
	enum hg_dir d;
	bool created;
	struct hg_packet syn = pkt4(C_IP, 1, S_IP, 2, 6, HG_TCP_SYN, 100 * SEC);
	struct hg_flow *f = hg_flow_packet(t, &syn, &d, &created);
	struct hg_packet rst = rev(&syn, HG_TCP_RST | HG_TCP_ACK, 100 * SEC);
	hg_flow_packet(t, &rst, &d, &created);
	cr_expect_eq(f->state, HG_FLOW_S_CLOSED);
	cr_expect(f->flags & HG_FLOW_F_RST);

	struct hg_packet u = pkt4(C_IP, 3, S_IP, 4, 17, 0, 100 * SEC);
	hg_flow_packet(t, &u, &d, &created);
	struct hg_packet est = pkt4(C_IP, 5, S_IP, 6, 17, 0, 100 * SEC);
	hg_flow_packet(t, &est, &d, &created);
	struct hg_packet estr = rev(&est, 0, 100 * SEC);
	hg_flow_packet(t, &estr, &d, &created);

	/* 4 s: nothing; 6 s: the UDP new flow (5 s); 11 s: the closed TCP
	 * (10 s); the established UDP flow lives 300 s */
	hg_flow_table_expire(t, 104 * SEC);
	cr_expect_eq(e.n, 0);
	hg_flow_table_expire(t, 106 * SEC);
	cr_expect_eq(e.n, 1);
	hg_flow_table_expire(t, 111 * SEC);
	cr_expect_eq(e.n, 2);
	hg_flow_table_expire(t, 399 * SEC);
	cr_expect_eq(e.n, 2);
	/* a packet far later expires it on its own (packet time drives) */
	struct hg_packet late = pkt4(C_IP, 7, S_IP, 8, 17, 0, 401 * SEC);
	hg_flow_packet(t, &late, &d, &created);
	cr_expect_eq(e.n, 3);
	cr_expect_eq(e.why[HG_FLOW_END_TIMEOUT], 3);
	hg_flow_table_flush(t);
	cr_expect_eq(e.n, 4);
	hg_flow_table_free(t);
}

Test(flow, eviction_caps)
{
	struct ended e = {0};
	struct hg_flow_table *t = table(&e, 1024);
	enum hg_dir d;
	bool created;
	for (uint32_t i = 0; i < 1024 + 1000; i++) {
		struct hg_packet p = pkt4(C_IP + i, (uint16_t)(1024 + i), S_IP, 443, 6, HG_TCP_SYN,
					  SEC + i);
		struct hg_flow *f = hg_flow_packet(t, &p, &d, &created);
		cr_assert(f && created);
		struct hg_flow_stats st;
		hg_flow_get_stats(t, &st);
		cr_assert_leq(st.flows, 1024);
	}
	struct hg_flow_stats st;
	hg_flow_get_stats(t, &st);
	cr_expect_eq(st.flows, 1024);
	cr_expect_eq(st.ended[HG_FLOW_END_EVICTED], 1000);
	cr_expect_eq(e.why[HG_FLOW_END_EVICTED], 1000);
	/* the evicted were the oldest (the first 1000 created) */
	struct hg_packet p = pkt4(C_IP + 5, 1024 + 5, S_IP, 443, 6, HG_TCP_ACK, 3 * SEC);
	hg_flow_packet(t, &p, &d, &created);
	cr_expect(created);
	hg_flow_table_flush(t);
	cr_expect_eq(e.n, 2025);
	hg_flow_get_stats(t, &st);
	cr_expect_eq(st.flows, 0);
	/* flow ids unique */
	for (int i = 0; i < e.n_ids; i++)
		for (int j = i + 1; j < e.n_ids; j++)
			cr_assert_neq(e.ids[i], e.ids[j]);
	hg_flow_table_free(t);
}

Test(flow, closed_evicted_before_active)
{
	struct ended e = {0};
	struct hg_flow_table *t = table(&e, 16);
	enum hg_dir d;
	bool created;
	struct hg_packet syn = pkt4(C_IP, 1, S_IP, 2, 6, HG_TCP_SYN, SEC);
	struct hg_flow *closed = hg_flow_packet(t, &syn, &d, &created);
	struct hg_packet rst = rev(&syn, HG_TCP_RST, SEC);
	hg_flow_packet(t, &rst, &d, &created);
	uint64_t closed_id = closed->flow_id;
	for (uint32_t i = 0; i < 15; i++) {
		struct hg_packet p = pkt4(C_IP, (uint16_t)(100 + i), S_IP, 2, 17, 0, 2 * SEC);
		hg_flow_packet(t, &p, &d, &created);
	}
	struct hg_packet p = pkt4(C_IP, 999, S_IP, 2, 17, 0, 3 * SEC);
	hg_flow_packet(t, &p, &d, &created);
	cr_assert_eq(e.n, 1);
	cr_expect_eq(e.ids[0], closed_id);
	hg_flow_table_free(t);
}

Test(flow, memcap_and_bad_config)
{
	struct hg_flow_config cfg = {.max_flows = 100000, .memcap = 1 << 20, .user_size = 64};
	struct hg_flow_table *t = hg_flow_table_new(&cfg);
	cr_assert(t);
	struct hg_flow_stats st;
	hg_flow_get_stats(t, &st);
	cr_expect_lt(st.max_flows, 100000);
	cr_expect_gt(st.max_flows, 1000);
	cr_expect_leq(st.bytes, (1 << 20) + 4096);
	hg_flow_table_free(t);
	struct hg_flow_config tiny = {.memcap = 10};
	cr_expect_null(hg_flow_table_new(&tiny));
	hg_flow_table_free(NULL);
}

Test(flow, v6_and_icmp)
{
	struct ended e = {0};
	struct hg_flow_table *t = table(&e, 64);
	struct hg_packet p;
	memset(&p, 0, sizeof(p));
	p.family = 6;
	p.ip_proto = 58;
	p.src.b[0] = 0x20, p.src.b[15] = 1;
	p.dst.b[0] = 0x20, p.dst.b[15] = 2;
	enum hg_dir d;
	bool created;
	struct hg_flow *f = hg_flow_packet(t, &p, &d, &created);
	cr_expect_eq(f->pclass, HG_FLOW_PC_OTHER);
	struct hg_packet r = rev(&p, 0, 0);
	cr_expect_eq(hg_flow_packet(t, &r, &d, &created), f);
	cr_expect_eq(d, HG_DIR_TO_CLIENT);
	cr_expect(hg_flow_established(f));
	cr_expect_str_eq(hg_flow_end_name(HG_FLOW_END_EVICTED), "evicted");
	cr_expect_str_eq(hg_flow_state_name(HG_FLOW_S_CLOSING), "closing");
	hg_flow_table_free(t);
}

/* hg_flow_adopt: a flow with another table's identity that no packet
 * started; its first packet starts it as a new flow's would (a SYN is not
 * taken for port reuse), and left alone it ends at its class's NEW
 * timeout counted from the adoption. */
Test(flow, adopted_flow_is_started_by_its_first_packet)
{
	struct ended e1 = {0}, e2 = {0};
	struct hg_flow_table *a = table(&e1, 64), *b = table(&e2, 64);
	enum hg_dir d;
	bool created;
	struct hg_packet syn = pkt4(C_IP, 40000, S_IP, 443, 6, HG_TCP_SYN, 10 * SEC);
	syn.tcp_seq = 1000;
	struct hg_flow *f = hg_flow_packet(a, &syn, &d, &created);
	struct hg_packet data = syn;
	data.tcp_flags = HG_TCP_ACK | HG_TCP_PSH;
	data.tcp_seq = 1001;
	data.ts_us = 11 * SEC;
	hg_flow_packet(a, &data, &d, &created);

	struct hg_flow *g = hg_flow_adopt(b, f, 20 * SEC);
	cr_assert_not_null(g);
	cr_expect_null(hg_flow_adopt(b, f, 20 * SEC), "the key is there already");
	cr_expect_eq(hg_flow_find(b, &syn), g);
	cr_expect(!memcmp(&g->cli, &f->cli, sizeof(g->cli)) && g->cport == 40000 && g->sport == 443);
	cr_expect_eq(g->d[0].pkts + g->d[1].pkts, 0);
	cr_expect_neq(g->flow_id, 0);
	uint8_t zero[100] = {0};
	cr_expect(!memcmp(hg_flow_user(g), zero, sizeof(zero)), "a zeroed user area");

	/* The rebuilt SYN (same ISN or not) starts it: no port reuse. */
	struct hg_packet syn2 = syn;
	syn2.tcp_seq = 7;
	syn2.ts_us = 21 * SEC;
	struct hg_flow *h = hg_flow_packet(b, &syn2, &d, &created);
	cr_expect_eq(h, g);
	cr_expect(created, "the first packet of an adopted flow starts it");
	cr_expect_eq(d, HG_DIR_TO_SERVER);
	cr_expect(!(h->flags & HG_FLOW_F_MIDSTREAM));
	cr_expect_eq(h->isn[0], 7);
	cr_expect_eq(h->first_us, 21 * SEC);
	cr_expect_eq(e2.n, 0);
	h = hg_flow_packet(b, &syn2, &d, &created);
	cr_expect(!created && h == g, "then it is an ordinary flow");

	/* Adopted and never started: the NEW timeout from the adoption. */
	struct hg_packet u = pkt4(C_IP, 5353, S_IP, 53, 17, 0, 10 * SEC);
	struct hg_flow *uf = hg_flow_packet(a, &u, &d, &created);
	hg_flow_table_expire(b, 99 * SEC); /* the TCP flow above ends */
	int before = e2.why[HG_FLOW_END_TIMEOUT];
	cr_assert_not_null(hg_flow_adopt(b, uf, 100 * SEC));
	hg_flow_table_expire(b, 129 * SEC);
	cr_expect_eq(e2.why[HG_FLOW_END_TIMEOUT], before);
	hg_flow_table_expire(b, 131 * SEC);
	cr_expect_eq(e2.why[HG_FLOW_END_TIMEOUT], before + 1);
	hg_flow_table_free(a);
	hg_flow_table_free(b);
}
