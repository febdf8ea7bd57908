/* test_tls.c - ClientHello parser: real hellos (illustrated TLS 1.3/1.2,
 * an ECH hello from nDPI's captures) at every truncation point, refragmented
 * into records down to 1 byte, each length field off by one, and crafted
 * bad server_name lists, duplicates and non-TLS input. */
#include <criterion/criterion.h>
#include <string.h>

#include "hex_util.h"
#include "hostgate/appparse.h"
#include "tls_hellos.h"

static uint8_t scratch[TLS_SCRATCH_MAX];

static bool slice_is(struct hg_slice s, const char *str)
{
	return s.p && s.len == strlen(str) && !memcmp(s.p, str, s.len);
}

static enum hg_parse parse(const uint8_t *b, size_t n, struct tls_hello *h)
{
	return tls_client_hello_parse(b, n, scratch, sizeof(scratch), h);
}

/* Offsets of every length field of a well-formed single-record hello,
 * found by walking it (the vectors are known good). */
struct offs {
	size_t rec_len, hs_len, sid_len, cs_len, comp_len, ext_len;
	size_t ext_len_at[64], n_ext;
	size_t sni_list, sni_type, sni_name; /* 0: absent */
	size_t sv_list, alpn_list;
};

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

static void find_offsets(const uint8_t *b, size_t n, struct offs *o)
{
	size_t p = 43, end;

	memset(o, 0, sizeof(*o));
	o->rec_len = 3;
	o->hs_len = 6;
	o->sid_len = p;
	p += 1 + b[p];
	o->cs_len = p;
	p += 2 + be16(b + p);
	o->comp_len = p;
	p += 1 + b[p];
	o->ext_len = p;
	end = p + 2 + be16(b + p);
	cr_assert_eq(end, n);
	for (p += 2; p < end;) {
		unsigned type = be16(b + p), len = be16(b + p + 2);

		cr_assert_lt(o->n_ext, 64);
		o->ext_len_at[o->n_ext++] = p + 2;
		if (type == 0) {
			o->sni_list = p + 4;
			o->sni_type = p + 6;
			o->sni_name = p + 7;
		} else if (type == 43) {
			o->sv_list = p + 4;
		} else if (type == 16) {
			o->alpn_list = p + 4;
		}
		p += 4 + len;
	}
}

/* Adds delta to the big-endian integer of width w at off. */
static void bump(uint8_t *b, size_t off, unsigned w, int delta)
{
	unsigned v = 0;

	for (unsigned i = 0; i < w; i++)
		v = v << 8 | b[off + i];
	v += (unsigned)delta;
	for (unsigned i = 0; i < w; i++)
		b[off + w - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* The handshake message of a single-record hello re-cut into records of k
 * bytes each (RFC 8446 §5.1 allows any fragmentation). */
static size_t refragment(const uint8_t *rec, size_t n, size_t k, uint8_t *out)
{
	size_t o = 0;

	for (size_t p = 5; p < n; p += k) {
		size_t c = n - p < k ? n - p : k;

		out[o++] = 0x16;
		out[o++] = 0x03;
		out[o++] = 0x01;
		out[o++] = (uint8_t)(c >> 8);
		out[o++] = (uint8_t)c;
		memcpy(out + o, rec + p, c);
		o += c;
	}
	return o;
}

struct vec {
	const char *name, *hex, *sni;
	bool tls13, ech;
	unsigned n_alpn;
};

static const struct vec vecs[] = {
	{ "tls13", hex_tls13, "example.ulfheim.net", true, false, 0 },
	{ "tls12", hex_tls12, "example.ulfheim.net", false, false, 0 },
	{ "ech", hex_ech, "performance.radar.cloudflare.com", true, true, 2 },
};

static uint8_t buf[8192], frag[8192 * 6];

Test(tls, real_hellos_every_truncation)
{
	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		size_t n = unhex(vecs[v].hex, buf, sizeof(buf));
		struct tls_hello h;

		for (size_t len = 0; len < n; len++)
			cr_assert_eq(parse(buf, len, &h), HG_PARSE_NEED_MORE, "%s len %zu",
				     vecs[v].name, len);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND, "%s: %s", vecs[v].name,
			     h.err ? h.err : "");
		cr_assert(slice_is(h.sni, vecs[v].sni), "%s sni", vecs[v].name);
		cr_assert_eq(h.tls13, vecs[v].tls13, "%s tls13", vecs[v].name);
		cr_assert_eq(h.ech, vecs[v].ech, "%s ech", vecs[v].name);
		cr_assert_eq(h.n_alpn, vecs[v].n_alpn, "%s alpn", vecs[v].name);
		cr_assert_eq(h.legacy_version, 0x0303);
		cr_assert_eq(h.consumed, n);
		cr_assert_eq(h.flags & (TLS_F_FRAGMENTED | TLS_F_DUP_EXT | TLS_F_TRAILING), 0);
		/* slices point into the input: nothing was copied */
		cr_assert(h.sni.p > buf && h.sni.p < buf + n);
	}
}

Test(tls, ech_hello_alpn_list)
{
	size_t n = unhex(hex_ech, buf, sizeof(buf));
	struct tls_hello h;

	cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND);
	cr_assert_eq(h.alpn.len, 12);
	cr_assert(!memcmp(h.alpn.p, "\x02h2\x08http/1.1", 12));
	cr_assert_eq(h.record_version, 0x0301);
}

Test(tls, bare_handshake_every_truncation)
{
	size_t n = unhex(hex_tls13, buf, sizeof(buf));
	struct tls_hello h;

	for (size_t len = 0; len < n - 5; len++)
		cr_assert_eq(tls_handshake_parse(buf + 5, len, &h), HG_PARSE_NEED_MORE, "len %zu", len);
	cr_assert_eq(tls_handshake_parse(buf + 5, n - 5, &h), HG_PARSE_FOUND);
	cr_assert_eq(h.consumed, n - 5);
	cr_assert(slice_is(h.sni, "example.ulfheim.net"));
	buf[5] = 2; /* ServerHello */
	cr_assert_eq(tls_handshake_parse(buf + 5, n - 5, &h), HG_PARSE_NOT_THIS);
}

Test(tls, one_byte_records_every_truncation)
{
	size_t n = unhex(hex_tls13, buf, sizeof(buf));
	size_t fn = refragment(buf, n, 1, frag);
	struct tls_hello h;

	cr_assert_eq(fn, (n - 5) * 6);
	for (size_t len = 0; len < fn; len++)
		cr_assert_eq(parse(frag, len, &h), HG_PARSE_NEED_MORE, "len %zu", len);
	cr_assert_eq(parse(frag, fn, &h), HG_PARSE_FOUND, "%s", h.err ? h.err : "");
	cr_assert(slice_is(h.sni, "example.ulfheim.net"));
	cr_assert(h.flags & TLS_F_FRAGMENTED);
	cr_assert(h.tls13);
	cr_assert_eq(h.consumed, fn);
	cr_assert(h.sni.p >= scratch && h.sni.p < scratch + sizeof(scratch));
}

Test(tls, multi_record_sizes)
{
	static const size_t ks[] = { 2, 3, 4, 5, 7, 64, 100, 200, 300, 600 };

	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		size_t n = unhex(vecs[v].hex, buf, sizeof(buf));

		for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
			size_t fn = refragment(buf, n, ks[i], frag);
			struct tls_hello h;

			cr_assert_eq(parse(frag, fn - 1, &h), HG_PARSE_NEED_MORE);
			cr_assert_eq(parse(frag, fn, &h), HG_PARSE_FOUND, "%s k=%zu", vecs[v].name, ks[i]);
			cr_assert(slice_is(h.sni, vecs[v].sni));
			cr_assert_eq(h.ech, vecs[v].ech);
			cr_assert_eq(!!(h.flags & TLS_F_FRAGMENTED), ks[i] < n - 5);
			cr_assert_eq(h.consumed, fn);
		}
	}
}

Test(tls, fragmented_needs_scratch)
{
	size_t n = unhex(hex_tls13, buf, sizeof(buf));
	size_t fn = refragment(buf, n, 100, frag);
	struct tls_hello h;

	cr_assert_eq(tls_client_hello_parse(frag, fn, NULL, 0, &h), HG_PARSE_INVALID);
	cr_assert_eq(tls_client_hello_parse(frag, fn, scratch, n - 5 - 1, &h), HG_PARSE_INVALID);
	cr_assert_eq(tls_client_hello_parse(frag, fn, scratch, n - 5, &h), HG_PARSE_FOUND);
	/* a single-record hello needs none */
	cr_assert_eq(tls_client_hello_parse(buf, n, NULL, 0, &h), HG_PARSE_FOUND);
}

Test(tls, interleaved_record_type)
{
	size_t n = unhex(hex_tls13, buf, sizeof(buf));
	size_t fn = refragment(buf, n, 100, frag);
	static const uint8_t ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };
	struct tls_hello h;

	memmove(frag + 105 + sizeof(ccs), frag + 105, fn - 105);
	memcpy(frag + 105, ccs, sizeof(ccs));
	cr_assert_eq(parse(frag, fn + sizeof(ccs), &h), HG_PARSE_INVALID);
	cr_assert_not_null(h.err);
}

Test(tls, every_length_field_off_by_one)
{
	size_t n = unhex(hex_ech, buf, sizeof(buf));
	struct offs o;
	struct tls_hello h;
	static uint8_t m[8192];
	struct {
		size_t off;
		unsigned w;
		int delta;
		enum hg_parse want;
	} cases[200];
	size_t nc = 0;

	find_offsets(buf, n, &o);
	cr_assert(o.sni_list && o.sv_list && o.alpn_list);
#define ADD(off_, w_, d_, want_) \
	cases[nc++] = (typeof(cases[0])){ (off_), (w_), (d_), (want_) }
	/* the hello is complete even though its record claims one more byte */
	ADD(o.rec_len, 2, +1, HG_PARSE_FOUND);
	ADD(o.rec_len, 2, -1, HG_PARSE_NEED_MORE); /* the last byte needs a next record */
	ADD(o.hs_len, 3, +1, HG_PARSE_NEED_MORE);
	ADD(o.hs_len, 3, -1, HG_PARSE_INVALID);
	ADD(o.sid_len, 1, +1, HG_PARSE_INVALID);
	ADD(o.sid_len, 1, -1, HG_PARSE_INVALID);
	ADD(o.cs_len, 2, +1, HG_PARSE_INVALID);
	ADD(o.cs_len, 2, -1, HG_PARSE_INVALID);
	ADD(o.cs_len, 2, +2, HG_PARSE_INVALID);
	ADD(o.cs_len, 2, -2, HG_PARSE_INVALID);
	ADD(o.comp_len, 1, +1, HG_PARSE_INVALID);
	ADD(o.comp_len, 1, -1, HG_PARSE_INVALID);
	ADD(o.ext_len, 2, +1, HG_PARSE_INVALID);
	ADD(o.ext_len, 2, -1, HG_PARSE_INVALID);
	for (size_t i = 0; i < o.n_ext; i++) {
		ADD(o.ext_len_at[i], 2, +1, HG_PARSE_INVALID);
		ADD(o.ext_len_at[i], 2, -1, HG_PARSE_INVALID);
	}
	ADD(o.sni_list, 2, +1, HG_PARSE_INVALID);
	ADD(o.sni_list, 2, -1, HG_PARSE_INVALID);
	ADD(o.sni_name, 2, +1, HG_PARSE_INVALID);
	ADD(o.sni_name, 2, -1, HG_PARSE_INVALID);
	ADD(o.sv_list, 1, +1, HG_PARSE_INVALID);
	ADD(o.sv_list, 1, -1, HG_PARSE_INVALID);
	ADD(o.alpn_list, 2, +1, HG_PARSE_INVALID);
	ADD(o.alpn_list, 2, -1, HG_PARSE_INVALID);
	ADD(o.alpn_list + 2, 1, +1, HG_PARSE_INVALID); /* first protocol name */
	ADD(o.alpn_list + 2, 1, -1, HG_PARSE_INVALID);
#undef ADD
	for (size_t i = 0; i < nc; i++) {
		memcpy(m, buf, n);
		bump(m, cases[i].off, cases[i].w, cases[i].delta);
		cr_assert_eq(parse(m, n, &h), cases[i].want, "field at %zu width %u %+d: got %s (%s)",
			     cases[i].off, cases[i].w, cases[i].delta, hg_parse_name(parse(m, n, &h)),
			     h.err ? h.err : "");
		if (cases[i].want == HG_PARSE_FOUND)
			cr_assert(h.flags & TLS_F_TRAILING);
	}
}

Test(tls, wrong_name_type)
{
	size_t n = unhex(hex_tls13, buf, sizeof(buf));
	struct offs o;
	struct tls_hello h;

	find_offsets(buf, n, &o);
	cr_assert_eq(buf[o.sni_type], 0);
	buf[o.sni_type] = 1;
	cr_assert_eq(parse(buf, n, &h), HG_PARSE_INVALID);
	cr_assert(strstr(h.err, "name_type"));
}

/* ---- crafted hellos ---- */

struct ext {
	uint16_t type;
	const char *hex;
};

/* A TLS 1.2-style hello in one record with the given extensions (none at
 * all when n_ext is (size_t)-1). */
static size_t craft(uint8_t *out, const struct ext *e, size_t n_ext)
{
	size_t p = 9, body, rec;

	out[0] = 0x16, out[1] = 0x03, out[2] = 0x01;
	out[5] = 0x01;
	out[p++] = 0x03, out[p++] = 0x03;
	memset(out + p, 0xab, 32);
	p += 32;
	out[p++] = 0;                                   /* session_id */
	out[p++] = 0, out[p++] = 2, out[p++] = 0x13, out[p++] = 0x01; /* one suite */
	out[p++] = 1, out[p++] = 0;                     /* null compression */
	if (n_ext != (size_t)-1) {
		size_t lp = p;

		p += 2;
		for (size_t i = 0; i < n_ext; i++) {
			size_t dl = strlen(e[i].hex) / 2;

			out[p++] = (uint8_t)(e[i].type >> 8), out[p++] = (uint8_t)e[i].type;
			out[p++] = (uint8_t)(dl >> 8), out[p++] = (uint8_t)dl;
			p += unhex(e[i].hex, out + p, 4096);
		}
		out[lp] = (uint8_t)((p - lp - 2) >> 8), out[lp + 1] = (uint8_t)(p - lp - 2);
	}
	body = p - 9;
	out[6] = (uint8_t)(body >> 16), out[7] = (uint8_t)(body >> 8), out[8] = (uint8_t)body;
	rec = p - 5;
	out[3] = (uint8_t)(rec >> 8), out[4] = (uint8_t)rec;
	return p;
}

/* server_name data: list len, type 0, name len, name */
#define SNI_A "000c00000961" "2e6578616d706c65"         /* a.example */
#define SNI_B "000c00000962" "2e6578616d706c65"         /* b.example */

Test(tls, crafted_server_name_cases)
{
	struct tls_hello h;
	size_t n;

	{ /* no extensions at all (RFC 5246 §7.4.1.2) */
		n = craft(buf, NULL, (size_t)-1);
		for (size_t len = 0; len < n; len++)
			cr_assert_eq(parse(buf, len, &h), HG_PARSE_NEED_MORE);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND);
		cr_assert(h.flags & TLS_F_NO_EXTENSIONS);
		cr_assert_null(h.sni.p);
	}
	{ /* no server_name: SNI absent, still FOUND */
		struct ext e[] = { { 43, "020304" } };

		n = craft(buf, e, 1);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND);
		cr_assert_null(h.sni.p);
		cr_assert(h.tls13);
	}
	{ /* duplicate server_name extensions: flagged, first wins */
		struct ext e[] = { { 0, SNI_A }, { 0, SNI_B } };

		n = craft(buf, e, 2);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND);
		cr_assert(h.flags & TLS_F_DUP_EXT);
		cr_assert(slice_is(h.sni, "a.example"));
	}
	{ /* two host_names in one list: first taken, flagged */
		struct ext e[] = { { 0, "0018" "0000096" "12e6578616d706c65" "0000096" "22e6578616d706c65" } };

		n = craft(buf, e, 1);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND, "%s", h.err ? h.err : "");
		cr_assert(h.flags & TLS_F_SNI_MULTI);
		cr_assert(slice_is(h.sni, "a.example"));
	}
	{ /* host_name followed by an unknown name_type */
		struct ext e[] = { { 0, "0010" "0000096" "12e6578616d706c65" "01000100" } };

		n = craft(buf, e, 1);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_INVALID);
	}
	{ /* list length shorter than the extension */
		struct ext e[] = { { 0, "000b00000961" "2e6578616d706c65" } };

		n = craft(buf, e, 1);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_INVALID);
	}
	{ /* empty list, empty extension, empty host_name */
		struct ext e1[] = { { 0, "0000" } }, e2[] = { { 0, "" } }, e3[] = { { 0, "0003000000" } };

		cr_assert_eq(parse(buf, craft(buf, e1, 1), &h), HG_PARSE_INVALID);
		cr_assert_eq(parse(buf, craft(buf, e2, 1), &h), HG_PARSE_INVALID);
		cr_assert_eq(parse(buf, craft(buf, e3, 1), &h), HG_PARSE_INVALID);
	}
	{ /* ECH, GREASE and an odd supported_versions list */
		struct ext e[] = { { 0x0a0a, "" }, { 0xfe0d, "0000010001" }, { 0, SNI_A } };
		struct ext bad[] = { { 43, "03030403" } };

		n = craft(buf, e, 3);
		cr_assert_eq(parse(buf, n, &h), HG_PARSE_FOUND);
		cr_assert(h.ech);
		cr_assert(h.flags & TLS_F_GREASE);
		cr_assert_eq(h.n_extensions, 3);
		cr_assert(slice_is(h.sni, "a.example"));
		cr_assert_eq(parse(buf, craft(buf, bad, 1), &h), HG_PARSE_INVALID);
	}
}

Test(tls, not_tls_and_prefixes)
{
	static const struct {
		const char *hex;
		enum hg_parse want;
	} t[] = {
		{ "", HG_PARSE_NEED_MORE },
		{ "16", HG_PARSE_NEED_MORE },
		{ "1603", HG_PARSE_NEED_MORE },
		{ "160301", HG_PARSE_NEED_MORE },
		{ "16030100", HG_PARSE_NEED_MORE },
		{ "1603010010", HG_PARSE_NEED_MORE },
		{ "474554202f20485454502f312e310d0a", HG_PARSE_NOT_THIS }, /* GET / HTTP/1.1 */
		{ "17", HG_PARSE_NOT_THIS },         /* application data */
		{ "1602", HG_PARSE_NOT_THIS },       /* version major 2 */
		{ "160305", HG_PARSE_NOT_THIS },     /* no such minor */
		{ "160301001002", HG_PARSE_NOT_THIS }, /* ServerHello */
		{ "8031010001", HG_PARSE_NOT_THIS }, /* SSLv2-style hello */
		{ "1603014001", HG_PARSE_INVALID },  /* record longer than 2^14 */
		{ "1603010000", HG_PARSE_INVALID },  /* zero-length record */
		{ "160301000401010001", HG_PARSE_INVALID }, /* hello longer than TLS_HELLO_MAX */
		{ "160301000401000004", HG_PARSE_INVALID }, /* shorter than its fixed fields */
	};
	struct tls_hello h;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = unhex(t[i].hex, buf, sizeof(buf));

		cr_assert_eq(parse(buf, n, &h), t[i].want, "case %zu (%s): %s", i, t[i].hex,
			     hg_parse_name(parse(buf, n, &h)));
	}
}

Test(tls, trailing_bytes_and_following_records)
{
	size_t n = unhex(hex_tls13, buf, sizeof(buf));
	struct tls_hello h;

	/* another record after the hello: consumed stops at the hello */
	memcpy(buf + n, "\x14\x03\x03\x00\x01\x01", 6);
	cr_assert_eq(parse(buf, n + 6, &h), HG_PARSE_FOUND);
	cr_assert_eq(h.consumed, n);
	/* more handshake bytes in the same record */
	memcpy(buf + n, "\x0b\x00\x00\x00", 4);
	bump(buf, 3, 2, 4);
	cr_assert_eq(parse(buf, n + 4, &h), HG_PARSE_FOUND);
	cr_assert(h.flags & TLS_F_TRAILING);
	cr_assert_eq(h.consumed, n);
}
