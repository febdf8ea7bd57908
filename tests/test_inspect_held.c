/* test_inspect_held.c - what the inspector decides for the live daemon's
 * held flows, fed built IPv4 TCP segments (a handshake, then client bytes):
 * a stream whose first byte is 0x16 but is not TLS goes on to the other
 * detectors; with decide_at_depth (the daemon's setting) a flow whose
 * client bytes reach the stream depth, or whose client sends bytes again
 * with nothing new, is dropped with the stream-depth alert; without it
 * (replay) it stays undecided. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/inspect.h"

#define LINKTYPE_RAW 101

struct seen {
	unsigned depth_alerts;
	enum hg_app_proto app;
	bool ended;
};

static void on_alert(void *ud, const struct hg_inspect_event *ev, const struct hg_alert *a)
{
	(void)ev;
	struct seen *s = ud;
	s->depth_alerts += a->sid == HG_SID_EVASION_BASE + 7;
}

static void on_end(void *ud, const struct hg_inspect_event *ev, enum hg_flow_end why)
{
	(void)why;
	struct seen *s = ud;
	s->app = ev->iflow->app.proto;
	s->ended = true;
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
static void rig_up(struct rig *r, bool decide_at_depth)
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

/* One segment, 10.0.0.2:40000 <-> 192.0.2.1:80 (to_server chooses). */
static enum hg_verdict seg(struct rig *r, bool to_server, uint8_t flags, uint32_t seq, uint32_t ack,
			   const void *data, size_t len)
{
	static uint8_t b[20 + 20 + 20000];
	cr_assert(len <= 20000);
	size_t tot = 40 + len;
	memset(b, 0, 40);
	b[0] = 0x45, b[2] = (uint8_t)(tot >> 8), b[3] = (uint8_t)tot, b[8] = 64, b[9] = 6;
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
	return hg_inspector_frame(r->ins, LINKTYPE_RAW, r->ts, b, (uint32_t)tot, (uint32_t)tot, NULL);
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
