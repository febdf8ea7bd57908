/* test_inspect_held.c - what the inspector decides for the live daemon's
 * held flows, fed built IPv4 TCP segments (a handshake, then client bytes):
 * a stream whose first byte is 0x16 but is not TLS goes on to the other
 * detectors; with decide_at_depth (the daemon's setting) a flow whose
 * client bytes reach the stream depth, or whose client sends bytes again
 * with nothing new, is dropped with the stream-depth alert; without it
 * (replay) it stays undecided. Urgent data and overlapping segments with
 * different bytes (the server's stack may read another stream than the
 * inspected one) drop an undecided flow with their alerts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/held_flow.h"
#include "hostgate/inspect.h"

#define LINKTYPE_RAW 101

struct seen {
	unsigned depth_alerts;
	unsigned evasion_alerts[16]; /* by sid - HG_SID_EVASION_BASE */
	enum hg_app_proto app;
	bool ended;
	uint32_t area_at_end; /* the first bytes of the caller's area */
};

static void on_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	(void)ev;
	struct seen *s = ud;
	s->depth_alerts += a->sid == HG_SID_EVASION_BASE + 7;
	if (a->sid >= HG_SID_EVASION_BASE && a->sid < HG_SID_EVASION_BASE + 16)
		s->evasion_alerts[a->sid - HG_SID_EVASION_BASE]++;
}

static void on_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	(void)why;
	struct seen *s = ud;
	s->app = ev->iflow->app.proto;
	s->ended = true;
	if (ev->area)
		memcpy(&s->area_at_end, ev->area, sizeof(s->area_at_end));
}

struct rig {
	struct hg_ruleset *rs;
	struct hg_engine *e;
	struct hg_inspector *ins;
	struct seen seen;
	uint32_t cseq, sseq; /* next client / server sequence numbers */
	uint64_t ts;         /* the segments' time */
};

/* An HTTP drop rule on a Host and a TLS one on an SNI: flows stay
 * undecided until their name is read. */
static void rig_up_sized(struct rig *r, bool decide_at_depth, size_t user_size);

static void rig_up(struct rig *r, bool decide_at_depth)
{
	rig_up_sized(r, decide_at_depth, 0);
}

static void rig_up_sized(struct rig *r, bool decide_at_depth, size_t user_size)
{
	static const char rules[] = "drop http any any -> any any (http.host; content:\"evil.example\"; sid:1;)\n"
				    "drop tls any any -> any any (tls.sni; content:\"evil.example\"; sid:2;)\n";
	memset(r, 0, sizeof(*r));
	r->rs = hg_ruleset_new();
	struct hg_load_opts o;
	struct hg_diag d;
	hg_load_opts_defaults(&o);
	hg_diag_init(&d);
	struct hg_rule_group *g = hg_group_new(r->rs, (struct hg_loc){"t.rules", 1, 1}, "rules", HG_GROUP_STATEFUL);
	g->source = HG_SRC_RULES_STRING;
	bool ok = hg_load_suricata(r->rs, g, rules, strlen(rules), (struct hg_loc){"t.rules", 1, 1}, false, &d) &&
		  hg_ruleset_finalize(r->rs, &o, &d);
	if (!ok)
		hg_diag_print(&d, stderr);
	hg_diag_fini(&d);
	cr_assert(ok);
	r->e = hg_engine_new(r->rs);
	cr_assert_not_null(r->e);
	struct hg_inspect_config c;
	hg_inspect_config_defaults(&c);
	c.decide_at_depth = decide_at_depth;
	c.user_size = user_size;
	struct hg_inspect_callbacks cb = {.alert = on_alert, .flow_end = on_end, .ud = &r->seen};
	r->ins = hg_inspector_new(r->e, &c, &cb);
	cr_assert_not_null(r->ins);
	r->ts = 1000000;
	r->cseq = 1000;
	r->sseq = 5000;
}

static void rig_down(struct rig *r)
{
	hg_inspector_free(r->ins);
	hg_engine_free(r->e);
	hg_ruleset_free(r->rs);
}

/* One segment, 10.0.0.2:40000 <-> 192.0.2.1:80 (to_server chooses), in
 * a static buffer: its length in *tot. */
static const uint8_t *build(bool to_server, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t len,
			    size_t *tot)
{
	static uint8_t b[20 + 20 + 20000];
	cr_assert(len <= 20000);
	*tot = 40 + len;
	memset(b, 0, 40);
	b[0] = 0x45, b[2] = (uint8_t)(*tot >> 8), b[3] = (uint8_t)*tot, b[8] = 64, b[9] = 6;
	const uint8_t c[4] = {10, 0, 0, 2}, s[4] = {192, 0, 2, 1};
	memcpy(b + 12, to_server ? c : s, 4);
	memcpy(b + 16, to_server ? s : c, 4);
	uint8_t *t = b + 20;
	uint16_t sp = to_server ? 40000 : 80, dp = to_server ? 80 : 40000;
	t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 5 << 4, t[13] = flags, t[14] = 0xff, t[15] = 0xff;
	if (len)
		memcpy(b + 40, data, len);
	return b;
}

static enum hg_verdict seg(struct rig *r, bool to_server, uint8_t flags, uint32_t seq, uint32_t ack,
			   const void *data, size_t len)
{
	size_t tot;
	const uint8_t *b = build(to_server, flags, seq, ack, data, len, &tot);
	return hg_inspector_frame(r->ins, LINKTYPE_RAW, r->ts, b, (uint32_t)tot, (uint32_t)tot, NULL);
}

/* A client segment built and decoded (into build's buffer: valid until
 * the next one). */
static struct hg_packet client_pkt(const struct rig *r, uint8_t flags, uint32_t seq, const void *data, size_t len)
{
	size_t tot;
	const uint8_t *d = build(true, flags, seq, flags & HG_TCP_ACK ? r->sseq : 0, data, len, &tot);
	struct hg_packet p = {.ts_us = r->ts, .wire_len = (uint32_t)tot};
	struct hg_decode_stats ds = {0};
	cr_assert(hg_decode_ip(&ds, d, (uint32_t)tot, false, &p));
	return p;
}

static void handshake(struct rig *r)
{
	seg(r, true, HG_TCP_SYN, r->cseq - 1, 0, NULL, 0);
	seg(r, false, HG_TCP_SYN | HG_TCP_ACK, r->sseq - 1, r->cseq, NULL, 0);
	seg(r, true, HG_TCP_ACK, r->cseq, r->sseq, NULL, 0);
}

static enum hg_verdict send_client(struct rig *r, const void *data, size_t len)
{
	enum hg_verdict v = seg(r, true, HG_TCP_ACK | HG_TCP_PSH, r->cseq, r->sseq, data, len);
	r->cseq += (uint32_t)len;
	return v;
}

/* 0x16 then bytes that are no TLS record: the TLS label goes, the other
 * detectors look, and the flow is known as not any protocol (before the
 * fix it stayed "tls" with HTTP never tried). */
Test(inspect_held, first_byte_0x16_not_tls)
{
	struct rig r;
	rig_up(&r, false);
	handshake(&r);
	send_client(&r, "\x16", 1);
	send_client(&r, "\x01\x02GET / HTTP/1.1\r\n\r\n", 20);
	rig_down(&r);
	cr_assert(r.seen.ended);
	cr_expect_neq(r.seen.app, HG_APP_TLS, "still labelled TLS after the TLS parser said not TLS");
}

/* An HTTP head longer than the depth (16 KiB): decided at the depth, with
 * the alert, in the daemon's setting; undecided in replay's. */
Test(inspect_held, depth_decides_when_asked)
{
	static char big[20000];
	memcpy(big, "GET / HTTP/1.1\r\nX-Pad: ", 23);
	memset(big + 23, 'a', sizeof(big) - 23);
	for (int asked = 0; asked < 2; asked++) {
		struct rig r;
		rig_up(&r, asked);
		handshake(&r);
		enum hg_verdict v = HG_VERDICT_UNDECIDED;
		for (size_t off = 0; off < sizeof(big) && v == HG_VERDICT_UNDECIDED; off += 1400)
			v = send_client(&r, big + off, sizeof(big) - off < 1400 ? sizeof(big) - off : 1400);
		if (asked) {
			cr_expect_eq(v, HG_VERDICT_DROP);
			cr_expect_eq(r.seen.depth_alerts, 1);
		} else {
			cr_expect_eq(v, HG_VERDICT_UNDECIDED);
			cr_expect_eq(r.seen.depth_alerts, 0);
		}
		rig_down(&r);
	}
}

/* The client sends its first bytes again (an RTO: no answer came, its
 * window is what we hold): decided then, in the daemon's setting. A later
 * segment that brings new bytes out of order is not a stall, nor is a
 * resend within a second of the SYN. */
Test(inspect_held, resent_bytes_decide_when_asked)
{
	struct rig r;
	rig_up(&r, true);
	handshake(&r);
	uint32_t start = r.cseq;
	cr_expect_eq(send_client(&r, "GET / HTTP/1.1\r\nX: 1\r\n", 22), HG_VERDICT_UNDECIDED);
	cr_expect_eq(seg(&r, true, HG_TCP_ACK | HG_TCP_PSH, start + 100, r.sseq, "later", 5), HG_VERDICT_UNDECIDED);
	cr_expect_eq(r.seen.depth_alerts, 0);
	/* Resent soon after the SYN (a lost segment, a reload): time left. */
	r.ts += 300000;
	cr_expect_eq(seg(&r, true, HG_TCP_ACK | HG_TCP_PSH, start, r.sseq, "GET / HTTP/1.1\r\nX: 1\r\n", 22),
		     HG_VERDICT_UNDECIDED);
	cr_expect_eq(r.seen.depth_alerts, 0);
	r.ts += 1000000;
	cr_expect_eq(seg(&r, true, HG_TCP_ACK | HG_TCP_PSH, start, r.sseq, "GET / HTTP/1.1\r\nX: 1\r\n", 22),
		     HG_VERDICT_DROP);
	cr_expect_eq(r.seen.depth_alerts, 1);
	rig_down(&r);
}

static bool keep_all(void *ud, void *area)
{
	(void)ud;
	struct hg_held_flow *hf = area;
	hf->refeed = true;
	return true;
}

/* A reload: the daemon's state of a held flow (the caller area) moves to
 * a new inspector, which has the flow, unstarted, under the same tuple;
 * the old flow ends with an empty area. At its next packet the new one is
 * fed the handshake rebuilt from the stream's start, then the held bytes
 * and the rest: the new rules decide it from the first byte. */
Test(inspect_held, carry_moves_the_area_and_the_new_rules_decide)
{
	struct rig a, b;
	rig_up_sized(&a, true, sizeof(struct hg_held_flow));
	rig_up_sized(&b, true, sizeof(struct hg_held_flow));
	handshake(&a);
	static const char head[] = "GET / HTTP/1.1\r\nHost: evil.exa";
	struct hg_packet p = client_pkt(&a, HG_TCP_ACK | HG_TCP_PSH, a.cseq, head, sizeof(head) - 1);
	struct hg_flow *f = NULL;
	cr_assert_eq(hg_inspector_packet(a.ins, &p, &f), HG_VERDICT_UNDECIDED);
	cr_assert_not_null(f);
	struct hg_held_flow *hf = hg_inspect_area(f);
	hf->syn_seen = true;
	hf->isn = a.cseq - 1;
	hf->verdict_us = 0xfeedbeef;

	cr_assert_eq(hg_inspector_carry(a.ins, b.ins, a.ts + 1000, keep_all, NULL), 0);
	struct hg_flow *g = hg_inspector_find(b.ins, &p);
	cr_assert_not_null(g);
	struct hg_held_flow *hg = hg_inspect_area(g);
	cr_expect_eq(hg->verdict_us, 0xfeedbeef);
	cr_expect(hg->refeed && hg->syn_seen && hg->isn == a.cseq - 1);
	cr_expect_eq(g->d[0].pkts + g->d[1].pkts, 0, "unstarted until its next packet");
	rig_down(&a);
	cr_expect_eq(a.seen.area_at_end, 0, "the old flow's area was moved out");

	/* The next packet: the rest of the request. */
	p.ts_us = b.ts;
	cr_expect_eq(hg_held_prepare(b.ins, hg, &p), HG_HELD_REFEED);
	cr_expect_eq(hg_inspector_packet(b.ins, &p, &f), HG_VERDICT_UNDECIDED, "the held bytes, again");
	cr_expect_eq(f, g);
	static const char tail[] = "mple\r\n\r\n";
	struct hg_packet rest = client_pkt(&a, HG_TCP_ACK | HG_TCP_PSH, a.cseq + (uint32_t)sizeof(head) - 1, tail,
					   sizeof(tail) - 1);
	cr_expect_eq(hg_held_prepare(b.ins, hg, &rest), HG_HELD_INSPECT);
	enum hg_verdict v = hg_inspector_packet(b.ins, &rest, &f);
	cr_expect_eq(v, HG_VERDICT_DROP);
	cr_expect_eq(hg_held_decide(hg, f, &rest, &v), HG_HELD_DENY);
	cr_expect_eq(hg_held_decide(hg, f, &rest, &v), HG_HELD_DENIED, "denied once");
	rig_down(&b);
}

/* Each kept record decided again by a fresh inspector (the records here
 * share a tuple). */
struct redo {
	const struct hg_engine *e;
	enum hg_verdict v[2];
	int n;
};

static bool redo_cb(void *ud, const struct hg_hold_key *key, const uint8_t *pkts, size_t n, uint64_t t)
{
	(void)key;
	struct redo *rd = ud;
	struct hg_inspect_config c;
	hg_inspect_config_defaults(&c);
	c.decide_at_depth = true;
	struct hg_inspector *ins = hg_inspector_new(rd->e, &c, NULL);
	cr_assert_not_null(ins);
	rd->v[rd->n++ & 1] = hg_held_redecide(ins, pkts, n, t * 1000000);
	hg_inspector_free(ins);
	return false;
}

/* The held-flow policy on its own: a client packet of a TCP flow whose SYN
 * the daemon never saw is refused; once every app-layer rule had its look
 * (a complete request of a name no rule names) the flow passes; a kept
 * copy is decided again the same way by hg_held_redecide. */
Test(inspect_held, policy_no_start_app_seen_and_redecide)
{
	struct rig r;
	rig_up_sized(&r, true, sizeof(struct hg_held_flow));
	static const char good[] = "GET / HTTP/1.1\r\nHost: good.example\r\n\r\n";
	struct hg_packet p = client_pkt(&r, HG_TCP_ACK | HG_TCP_PSH, r.cseq, good, sizeof(good) - 1);
	cr_expect_eq(hg_held_prepare(r.ins, NULL, &p), HG_HELD_NO_START);

	/* The SYN through the daemon, then the request (the SYN-ACK rebuilt). */
	struct hg_packet syn = client_pkt(&r, HG_TCP_SYN, r.cseq - 1, NULL, 0);
	struct hg_flow *f = NULL;
	enum hg_verdict v = hg_inspector_packet(r.ins, &syn, &f);
	struct hg_held_flow *hf = hg_inspect_area(f);
	cr_expect_eq(hg_held_decide(hf, f, &syn, &v), HG_HELD_SEND);
	cr_expect(hf->syn_seen && hf->isn == r.cseq - 1);
	p = client_pkt(&r, HG_TCP_ACK | HG_TCP_PSH, r.cseq, good, sizeof(good) - 1);
	cr_expect_eq(hg_held_prepare(r.ins, hf, &p), HG_HELD_INSPECT);
	cr_expect(hf->synack_fed);
	v = hg_inspector_packet(r.ins, &p, &f);
	cr_expect_eq(v, HG_VERDICT_UNDECIDED, "no rule decides good.example by itself");
	cr_expect_eq(hg_held_decide(hf, f, &p, &v), HG_HELD_ALLOW, "the application was seen: pass");
	cr_expect_eq(v, HG_VERDICT_PASS);

	/* Its kept copy, decided again by a fresh inspector on the same rules;
	 * and the evil one's. */
	struct hg_kept *k = hg_kept_new(&(struct hg_kept_config){.total_bytes = 1 << 20});
	struct hg_hold_key key;
	hg_held_key(&p, &key);
	hg_kept_add(k, hg_kept_start(k, &key, 1), p.l3, p.l3_len);
	static const char evil[] = "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n";
	p = client_pkt(&r, HG_TCP_ACK | HG_TCP_PSH, r.cseq, evil, sizeof(evil) - 1);
	key.sport++;
	hg_kept_add(k, hg_kept_start(k, &key, 2), p.l3, p.l3_len);
	struct redo rd = {.e = r.e};
	hg_kept_foreach(k, redo_cb, &rd);
	cr_expect_eq(rd.n, 2);
	cr_expect_eq(rd.v[0], HG_VERDICT_PASS);
	cr_expect_eq(rd.v[1], HG_VERDICT_DROP);
	hg_kept_free(k);
	rig_down(&r);
}

#define SID_OVERLAP 0 /* HG_EVASION_STREAM_OVERLAP's bit index */
#define SID_URGENT 9  /* HG_EVASION_URGENT's */

static const char evil_req[] = "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n";
static const char good_req[] = "GET / HTTP/1.1\r\nHost: good.example\r\n\r\n";

/* "Host: ev" + urgent "X" + "il.example": Linux hands the marked byte to
 * the application out of band (RFC 6093 §3), so the server reads
 * "evil.example" where the stream said "evXil.example". Dropped at the
 * urgent segment, whatever its payload (the pointer may mark a later
 * byte: a bare ACK with URG too), as Suricata's urgent policy `drop`. */
Test(inspect_held, urgent_data_drops_undecided)
{
	for (int bare = 0; bare < 2; bare++) {
		struct rig r;
		rig_up(&r, true);
		handshake(&r);
		cr_expect_eq(send_client(&r, "GET / HTTP/1.1\r\nHost: ev", 24), HG_VERDICT_UNDECIDED);
		enum hg_verdict v;
		if (bare) {
			v = seg(&r, true, HG_TCP_ACK | HG_TCP_URG, r.cseq, r.sseq, NULL, 0);
		} else {
			v = seg(&r, true, HG_TCP_ACK | HG_TCP_PSH | HG_TCP_URG, r.cseq, r.sseq, "X", 1);
			r.cseq++;
		}
		cr_expect_eq(v, HG_VERDICT_DROP, "bare %d", bare);
		cr_expect_eq(send_client(&r, "il.example\r\n\r\n", 14), HG_VERDICT_DROP);
		cr_expect_eq(r.seen.evasion_alerts[SID_URGENT], 1, "bare %d", bare);
		rig_down(&r);
	}
}

/* The same request without urgent data is not dropped by it; urgent data
 * after the request was read (the application layer seen) is the
 * application's business and changes nothing. */
Test(inspect_held, urgent_data_after_the_request_is_left_alone)
{
	struct rig r;
	rig_up(&r, true);
	handshake(&r);
	cr_expect_eq(send_client(&r, good_req, strlen(good_req)), HG_VERDICT_UNDECIDED);
	cr_expect_eq(seg(&r, true, HG_TCP_ACK | HG_TCP_PSH | HG_TCP_URG, r.cseq, r.sseq, "!", 1),
		     HG_VERDICT_UNDECIDED);
	cr_expect_eq(r.seen.evasion_alerts[SID_URGENT], 0);
	rig_down(&r);
}

/* Linux's out-of-order queue keeps the later of two segments that start at
 * the same sequence number when it ends further (tcp_data_queue_ofo
 * replaces the queued one), and the earlier-starting one's bytes where a
 * later-arriving segment overlaps a queued one's head; the inspector keeps
 * the first bytes it got. Both shapes, and a hole filled with bytes that
 * differ from an overlapping queued segment, drop the flow by default
 * (the daemon's and replay's --overlap-policy drop) with the overlap alert,
 * whichever copy carried the denied name. */
Test(inspect_held, conflicting_overlap_drops_by_default)
{
	size_t n = strlen(good_req), host = 22; /* offset of "good"/"evil" */
	for (int shape = 0; shape < 3; shape++) {
		for (int evil_first = 0; evil_first < 2; evil_first++) {
			const char *first = evil_first ? evil_req : good_req, *second = evil_first ? good_req : evil_req;
			struct rig r;
			rig_up(&r, true);
			handshake(&r);
			uint32_t start = r.cseq;
			enum hg_verdict v = HG_VERDICT_UNDECIDED;
			if (shape == 0) { /* same start, the second one longer */
				seg(&r, true, HG_TCP_ACK, start + host, r.sseq, first + host, 8);
				v = seg(&r, true, HG_TCP_ACK, start + host, r.sseq, second + host, (uint32_t)(n - host));
			} else if (shape == 1) { /* the second starts earlier, over the first's head */
				seg(&r, true, HG_TCP_ACK, start + host, r.sseq, first + host, (uint32_t)(n - host));
				v = seg(&r, true, HG_TCP_ACK, start + 20, r.sseq, second + 20, 6);
			} else { /* a hole, then filled with other bytes than queued past it */
				seg(&r, true, HG_TCP_ACK, start + host, r.sseq, first + host, (uint32_t)(n - host));
				v = seg(&r, true, HG_TCP_ACK, start, r.sseq, second, (uint32_t)n);
			}
			if (v == HG_VERDICT_UNDECIDED)
				v = seg(&r, true, HG_TCP_ACK, start, r.sseq, good_req, host);
			cr_expect_eq(v, HG_VERDICT_DROP, "shape %d evil first %d", shape, evil_first);
			cr_expect_eq(r.seen.evasion_alerts[SID_OVERLAP], 1, "shape %d evil first %d", shape,
				     evil_first);
			rig_down(&r);
		}
	}
}

/* Out-of-order segments resent with the same bytes, then the hole filled:
 * no overlap alert, the request is read (no drop: the rules drop only
 * evil.example). */
Test(inspect_held, same_bytes_resent_out_of_order_pass)
{
	size_t n = strlen(good_req), host = 22;
	struct rig r;
	rig_up(&r, true);
	handshake(&r);
	uint32_t start = r.cseq;
	cr_expect_eq(seg(&r, true, HG_TCP_ACK, start + host, r.sseq, good_req + host, 8), HG_VERDICT_UNDECIDED);
	cr_expect_eq(seg(&r, true, HG_TCP_ACK, start + host, r.sseq, good_req + host, (uint32_t)(n - host)),
		     HG_VERDICT_UNDECIDED);
	cr_expect_eq(seg(&r, true, HG_TCP_ACK, start, r.sseq, good_req, (uint32_t)n), HG_VERDICT_UNDECIDED);
	cr_expect_eq(r.seen.evasion_alerts[SID_OVERLAP], 0);
	rig_down(&r);
	cr_expect_eq(r.seen.app, HG_APP_HTTP);
}
