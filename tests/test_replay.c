/* test_replay.c - the replay front end through the real binary: the seed's
 * expected verdicts (pcaps/cases.yaml), reproducible logs that are strict
 * JSON in ANFW's envelope (checked by a small validator below), the --json
 * and EVE shapes, diff's exit status, overlap policy and bad captures. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED "rulesets/seed-zero-trust.yaml"

/* ---- a strict JSON reader (RFC 8259) ------------------------------------
 * Builds a small tree so the tests can look fields up. Rejects what a
 * lenient reader would let through: trailing commas, leading zeros, bare
 * control characters, bad escapes and unpaired surrogates, invalid UTF-8,
 * duplicate keys, and anything after the value. */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	bool b;
	double num;
	bool integer;  /* no fraction or exponent */
	char *s;       /* J_STR: decoded UTF-8 */
	size_t n;      /* J_ARR/J_OBJ: members */
	struct jv *kid;
	char **key;    /* J_OBJ */
};

struct jp {
	const unsigned char *p, *end;
	int depth;
};

static void jv_free(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jv_free(&v->kid[i]);
		if (v->key)
			free(v->key[i]);
	}
	free(v->kid);
	free(v->key);
	free(v->s);
}

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(struct jp *j, unsigned *out)
{
	if (j->end - j->p < 4)
		return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = j->p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	j->p += 4;
	*out = v;
	return 0;
}

static void put_utf8(char **b, size_t *len, unsigned cp)
{
	char *o = *b + *len;
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*len = (size_t)(o - *b);
}

/* One UTF-8 sequence starting at j->p (lead byte >= 0x80): shortest form,
 * no surrogates, at most U+10FFFF. */
static int utf8_seq(struct jp *j)
{
	unsigned c = *j->p, need, cp, min;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07, min = 0x10000;
	else
		return -1;
	if ((size_t)(j->end - j->p) <= need)
		return -1;
	for (unsigned i = 1; i <= need; i++) {
		if ((j->p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (j->p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return (int)need + 1;
}

static int jstring(struct jp *j, char **out)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	/* Decoded text is never longer than the source. */
	char *b = malloc((size_t)(j->end - j->p) + 1);
	size_t len = 0;
	while (j->p < j->end && *j->p != '"') {
		unsigned c = *j->p;
		if (c < 0x20)
			goto bad;
		if (c == '\\') {
			if (++j->p >= j->end)
				goto bad;
			c = *j->p++;
			const char *esc = strchr("\"\\/bfnrt", (int)c);
			if (c && esc) {
				static const char to[] = "\"\\/\b\f\n\r\t";
				b[len++] = to[esc - "\"\\/bfnrt"];
			} else if (c == 'u') {
				unsigned cp, lo;
				if (hex4(j, &cp) < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
					goto bad;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
						goto bad;
					j->p += 2;
					if (hex4(j, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
						goto bad;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				put_utf8(&b, &len, cp);
			} else {
				goto bad;
			}
		} else if (c >= 0x80) {
			int n = utf8_seq(j);
			if (n < 0)
				goto bad;
			memcpy(b + len, j->p, (size_t)n);
			len += (size_t)n;
			j->p += n;
		} else {
			b[len++] = (char)c;
			j->p++;
		}
	}
	if (j->p >= j->end)
		goto bad;
	j->p++;
	b[len] = '\0';
	*out = b;
	return 0;
bad:
	free(b);
	return -1;
}

static int jnumber(struct jp *j, struct jv *v)
{
	const unsigned char *s = j->p;
	v->integer = true;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return -1;
	if (*j->p == '0') {
		j->p++;
	} else if (*j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		return -1;
	}
	if (j->p < j->end && *j->p == '.') {
		v->integer = false;
		if (++j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		v->integer = false;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	char tmp[64];
	if (j->p - s >= (long)sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(j->p - s));
	tmp[j->p - s] = '\0';
	v->t = J_NUM;
	v->num = strtod(tmp, NULL);
	return 0;
}

static int jvalue(struct jp *j, struct jv *v);

static int jmembers(struct jp *j, struct jv *v, bool obj)
{
	unsigned char close = obj ? '}' : ']';
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		ws(j);
		if (obj) {
			if (jstring(j, &key) < 0)
				return -1;
			for (size_t i = 0; i < v->n; i++)
				if (!strcmp(v->key[i], key)) {
					free(key);
					return -1; /* duplicate key */
				}
			ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				return -1;
			}
			j->p++;
		}
		v->kid = realloc(v->kid, (v->n + 1) * sizeof(*v->kid));
		if (obj)
			v->key = realloc(v->key, (v->n + 1) * sizeof(*v->key));
		memset(&v->kid[v->n], 0, sizeof(v->kid[0]));
		if (obj)
			v->key[v->n] = key;
		v->n++;
		if (jvalue(j, &v->kid[v->n - 1]) < 0)
			return -1;
		ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return -1;
		j->p++;
	}
}

static int jvalue(struct jp *j, struct jv *v)
{
	ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return -1;
	int r;
	switch (*j->p) {
	case '{':
		v->t = J_OBJ;
		r = jmembers(j, v, true);
		break;
	case '[':
		v->t = J_ARR;
		r = jmembers(j, v, false);
		break;
	case '"':
		v->t = J_STR;
		r = jstring(j, &v->s);
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = {"true", "false", "null"};
		r = -1;
		for (int i = 0; i < 3; i++) {
			size_t l = strlen(lit[i]);
			if ((size_t)(j->end - j->p) >= l && !memcmp(j->p, lit[i], l)) {
				j->p += l;
				v->t = i < 2 ? J_BOOL : J_NULL;
				v->b = i == 0;
				r = 0;
			}
		}
		break;
	}
	default:
		r = jnumber(j, v);
	}
	j->depth--;
	return r;
}

/* Parses exactly one JSON text of len bytes; false when it is not one. */
static bool json_parse(const char *text, size_t len, struct jv *out)
{
	struct jp j = {(const unsigned char *)text, (const unsigned char *)text + len, 0};
	memset(out, 0, sizeof(*out));
	int r = jvalue(&j, out);
	ws(&j);
	if (r < 0 || j.p != j.end) {
		jv_free(out);
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}

/* Member lookup by a dotted path ("event.alert.action"). */
static const struct jv *jget(const struct jv *v, const char *path)
{
	char part[64];
	while (v && *path) {
		size_t l = strcspn(path, ".");
		snprintf(part, sizeof(part), "%.*s", (int)l, path);
		path += l + (path[l] == '.');
		const struct jv *next = NULL;
		for (size_t i = 0; v->t == J_OBJ && i < v->n; i++)
			if (!strcmp(v->key[i], part))
				next = &v->kid[i];
		v = next;
	}
	return v;
}

static const char *jstr(const struct jv *v, const char *path)
{
	const struct jv *x = jget(v, path);
	return x && x->t == J_STR ? x->s : NULL;
}

static bool jint(const struct jv *v, const char *path, long long *out)
{
	const struct jv *x = jget(v, path);
	if (!x || x->t != J_NUM || !x->integer)
		return false;
	*out = (long long)x->num;
	return true;
}

/* Splits text into lines and parses each; asserts every line is JSON. */
struct jlines {
	struct jv *v;
	size_t n;
};

static struct jlines json_lines(const char *text, const char *what)
{
	struct jlines l = {0};
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		cr_assert(nl, "%s: last line is not terminated", what);
		l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
		cr_assert(json_parse(p, (size_t)(nl - p), &l.v[l.n]), "%s line %zu is not strict JSON: %.*s", what,
			  l.n + 1, (int)(nl - p), p);
		l.n++;
		p = nl + 1;
	}
	return l;
}

static void jlines_free(struct jlines *l)
{
	for (size_t i = 0; i < l->n; i++)
		jv_free(&l->v[i]);
	free(l->v);
}

/* ---- running the binary -------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot read %s", path);
	size_t cap = 1 << 16, len = 0, r;
	char *buf = malloc(cap);
	while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0)
		if ((len += r) + 1 >= cap)
			buf = realloc(buf, cap *= 2);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Runs `hostgate ARGS...` (NULL-terminated) in the source tree with stdout
 * and stderr captured (either may be NULL); returns the exit status, or
 * 128+signal. */
static int hg(char **out, char **err, ...)
{
	const char *bin = getenv("HG_BIN"), *src = getenv("HG_SRCDIR");
	cr_assert(bin && src, "HG_BIN and HG_SRCDIR are set by meson test");
	char *argv[32] = {(char *)bin};
	int argc = 1;
	va_list ap;
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *));) {
		cr_assert(argc < 31);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	char po[] = "/tmp/hg-rt-out-XXXXXX", pe[] = "/tmp/hg-rt-err-XXXXXX";
	int fo = mkstemp(po), fe = mkstemp(pe);
	cr_assert(fo >= 0 && fe >= 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		if (chdir(src) == 0)
			execv(bin, argv);
		_exit(127);
	}
	int st;
	cr_assert(waitpid(pid, &st, 0) == pid);
	close(fo);
	close(fe);
	if (out)
		*out = slurp(po);
	if (err)
		*err = slurp(pe);
	unlink(po);
	unlink(pe);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- tests --------------------------------------------------------------- */

Test(replay, json_validator_is_strict)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0.5e+3", "\"a\\u00e9\\ud83d\\ude00\\n\"", "{\"a\":[1,{\"b\":null}],\"c\":true}",
		" {\"x\" : \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"} ",
	};
	static const char *const bad[] = {
		"", "{", "{\"a\":1,}", "[1,]", "01", "1.", ".5", "-", "+1", "{'a':1}", "\"\t\"", "\"\\x\"",
		"\"\\ud800\"", "\"\\udc00\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xff\"", "{\"a\":1,\"a\":2}",
		"{} {}", "[1 2]", "tru", "nul", "{\"a\" 1}", "NaN", "\"abc",
	};
	struct jv v;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_expect(json_parse(good[i], strlen(good[i]), &v), "rejected %s", good[i]);
		jv_free(&v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect(!json_parse(bad[i], strlen(bad[i]), &v), "accepted %s", bad[i]);
		jv_free(&v);
	}
	const char *t = "{\"event\":{\"alert\":{\"action\":\"blocked\",\"signature_id\":7}}}";
	cr_assert(json_parse(t, strlen(t), &v));
	long long sid = 0;
	cr_expect_str_eq(jstr(&v, "event.alert.action"), "blocked");
	cr_expect(jint(&v, "event.alert.signature_id", &sid) && sid == 7);
	cr_expect_null(jget(&v, "event.alert.nope"));
	jv_free(&v);
}

Test(replay, seed_cases_pass)
{
	char *out;
	int st = hg(&out, NULL, "test", SEED, "pcaps/cases.yaml", NULL);
	unsigned passed = 0, failed = 1;
	const char *sum = strstr(out, " passed, ");
	cr_assert(sum, "no summary line:\n%s", out);
	while (sum > out && sum[-1] != '\n')
		sum--;
	cr_assert_eq(sscanf(sum, "%u passed, %u failed", &passed, &failed), 2, "%s", sum);
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
	dprintf(fd, "cases:\n  - name: wrong on purpose\n    pcap: %s/pcaps/real-tls.pcap\n"
		    "    match: {sni: api.github.com}\n    verdict: drop\n", getenv("HG_SRCDIR"));
	close(fd);
	char *out;
	cr_expect_eq(hg(&out, NULL, "test", SEED, tmp, NULL), 1);
	cr_expect(strstr(out, "FAIL wrong on purpose"), "%s", out);
	cr_expect(strstr(out, "0 passed, 1 failed"), "%s", out);
	free(out);
	unlink(tmp);
}

/* The ANFW envelope: exactly these top-level keys (aws_metadata optional). */
static void check_envelope(const struct jv *v, const char *want_type, size_t line)
{
	cr_assert_eq(v->t, J_OBJ, "line %zu", line);
	for (size_t i = 0; i < v->n; i++)
		cr_expect(!strcmp(v->key[i], "firewall_name") || !strcmp(v->key[i], "availability_zone") ||
				  !strcmp(v->key[i], "event_timestamp") || !strcmp(v->key[i], "aws_metadata") ||
				  !strcmp(v->key[i], "event"),
			  "line %zu: unexpected top-level key %s", line, v->key[i]);
	cr_expect_str_eq(jstr(v, "firewall_name"), "ZeroTrustFirewall", "line %zu", line);
	cr_expect(jstr(v, "availability_zone"), "line %zu", line);
	const char *ts = jstr(v, "event_timestamp");
	cr_expect(ts && *ts && strspn(ts, "0123456789") == strlen(ts), "line %zu: event_timestamp", line);
	const struct jv *md = jget(v, "aws_metadata");
	if (md)
		cr_expect(jstr(md, "resource_arn") && !strncmp(jstr(md, "resource_arn"), "arn:aws:network-firewall:", 25),
			  "line %zu: aws_metadata.resource_arn", line);
	const struct jv *ev = jget(v, "event");
	cr_assert(ev && ev->t == J_OBJ, "line %zu: no event object", line);
	cr_expect_str_eq(jstr(ev, "event_type"), want_type, "line %zu", line);
	long long id;
	cr_expect(jint(ev, "flow_id", &id) && id > 0, "line %zu: flow_id", line);
	cr_expect(jstr(ev, "timestamp") && jstr(ev, "src_ip") && jstr(ev, "dest_ip") && jstr(ev, "proto"),
		  "line %zu: event fields", line);
	if (!strcmp(want_type, "alert")) {
		const char *act = jstr(ev, "alert.action");
		cr_expect(act && (!strcmp(act, "allowed") || !strcmp(act, "blocked")), "line %zu: alert.action", line);
		cr_expect(jint(ev, "alert.signature_id", &id), "line %zu", line);
		cr_expect(jstr(ev, "verdict.action"), "line %zu: verdict.action", line);
	} else {
		cr_expect(jint(ev, "netflow.pkts", &id) && id > 0, "line %zu: netflow.pkts", line);
		cr_expect(jint(ev, "netflow.bytes", &id) && id > 0, "line %zu: netflow.bytes", line);
	}
}

Test(replay, logs_are_reproducible_and_anfw_shaped)
{
	char *j[2], *a[2], *f[2];
	for (int i = 0; i < 2; i++) {
		char al[64], fl[64];
		snprintf(al, sizeof(al), "/tmp/hg-rt-a%d-%d.log", (int)getpid(), i);
		snprintf(fl, sizeof(fl), "/tmp/hg-rt-f%d-%d.log", (int)getpid(), i);
		cr_assert_eq(hg(&j[i], NULL, "replay", "--json", SEED, "pcaps/seed-demo.pcap", "--alert-log", al,
				"--flow-log", fl, NULL),
			     0);
		a[i] = slurp(al);
		f[i] = slurp(fl);
		unlink(al);
		unlink(fl);
	}
	cr_expect_str_eq(a[0], a[1], "alert logs differ between two replays");
	cr_expect_str_eq(f[0], f[1], "flow logs differ between two replays");
	cr_expect_str_eq(j[0], j[1], "--json output differs between two replays");

	struct jlines al = json_lines(a[0], "alert log"), fl = json_lines(f[0], "flow log");
	struct jlines flows = json_lines(j[0], "--json");
	cr_expect_geq(al.n, 8u);
	cr_expect_geq(fl.n, 20u);
	for (size_t i = 0; i < al.n; i++)
		check_envelope(&al.v[i], "alert", i + 1);
	for (size_t i = 0; i < fl.n; i++)
		check_envelope(&fl.v[i], "netflow", i + 1);
	cr_expect_geq(count(a[0], "\"signature\":\"not matching any TLS allowlisted FQDNs\""), 4u);

	/* Flow logs are one-directional: a TCP flow with replies gives two
	 * netflow events with its flow_id (client->server, server->client)
	 * whose packet counts are the flow's; one without replies gives one. */
	size_t paired = 0;
	for (size_t i = 0; i < flows.n; i++) {
		const struct jv *r = &flows.v[i];
		long long id, tos, toc, port;
		if (strcmp(jstr(r, "proto") ? jstr(r, "proto") : "", "TCP"))
			continue;
		cr_assert(jint(r, "flow_id", &id) && jint(r, "pkts_toserver", &tos) && jint(r, "pkts_toclient", &toc) &&
			  jint(r, "src_port", &port));
		size_t n = 0, fwd = 0, rev = 0;
		for (size_t k = 0; k < fl.n; k++) {
			const struct jv *ev = jget(&fl.v[k], "event");
			long long fid, pkts, sp;
			if (!jint(ev, "flow_id", &fid) || fid != id)
				continue;
			n++;
			cr_assert(jint(ev, "netflow.pkts", &pkts) && jint(ev, "src_port", &sp));
			if (!strcmp(jstr(ev, "src_ip"), jstr(r, "src_ip")) && sp == port) {
				fwd++;
				cr_expect_eq(pkts, tos, "flow %lld: to-server packets", id);
			} else if (!strcmp(jstr(ev, "src_ip"), jstr(r, "dest_ip"))) {
				rev++;
				cr_expect_eq(pkts, toc, "flow %lld: to-client packets", id);
			}
		}
		if (toc > 0) {
			cr_expect(n == 2 && fwd == 1 && rev == 1, "TCP flow %lld with replies: %zu netflow events", id, n);
			paired++;
		} else {
			cr_expect(n == 1 && fwd == 1, "TCP flow %lld without replies: %zu netflow events", id, n);
		}
	}
	cr_expect_geq(paired, 8u);
	cr_log_info("seed-demo: %zu alerts, %zu netflow events, %zu TCP flows paired", al.n, fl.n, paired);
	jlines_free(&al), jlines_free(&fl), jlines_free(&flows);
	for (int i = 0; i < 2; i++)
		free(j[i]), free(a[i]), free(f[i]);
}

Test(replay, json_output_one_object_per_flow)
{
	char *out, *err;
	cr_assert_eq(hg(&out, &err, "replay", "--json", SEED, "pcaps/real-tls.pcap", NULL), 0);
	struct jlines l = json_lines(out, "--json");
	static const char *const ints[] = {"flow_id", "src_port", "dest_port", "pkts_toserver",
					   "pkts_toclient", "bytes_toserver", "bytes_toclient"};
	static const char *const strs[] = {"src_ip", "dest_ip", "proto", "app_proto", "verdict"};
	cr_expect_geq(l.n, 8u);
	/* The summary goes to stderr and names the same number of flows. */
	unsigned long long flows = 0;
	const char *s = strstr(err, "packets, ");
	cr_expect(s && sscanf(s, "packets, %llu flows", &flows) == 1 && flows == l.n, "%s", err);
	size_t github = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct jv *r = &l.v[i];
		long long x;
		cr_assert_eq(r->t, J_OBJ);
		for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++)
			cr_expect(jint(r, ints[k], &x) && x >= 0, "flow %zu: %s", i, ints[k]);
		for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			cr_expect(jstr(r, strs[k]), "flow %zu: %s", i, strs[k]);
		cr_expect(jget(r, "alerts") && jget(r, "alerts")->t == J_ARR, "flow %zu: alerts", i);
		cr_expect(jget(r, "evasion") && jget(r, "evasion")->t == J_ARR, "flow %zu: evasion", i);
		const char *v = jstr(r, "verdict");
		cr_expect(v && (!strcmp(v, "pass") || !strcmp(v, "drop") || !strcmp(v, "reject")), "verdict %s", v);
		const char *sni = jstr(r, "tls.sni");
		if (sni && !strcmp(sni, "api.github.com")) {
			github++;
			cr_expect_str_eq(jstr(r, "verdict"), "pass");
			cr_expect_str_eq(jstr(r, "app_proto"), "tls");
		}
	}
	cr_expect_eq(github, 1u);
	jlines_free(&l);
	free(out);
	free(err);
}

Test(replay, eve_format_has_top_level_event_type)
{
	char fl[64];
	snprintf(fl, sizeof(fl), "/tmp/hg-rt-eve-%d.log", (int)getpid());
	char *out;
	cr_assert_eq(hg(&out, NULL, "replay", SEED, "pcaps/real-http.pcap", "--log-format", "eve", "--alert-log", "-",
			"--flow-log", fl, NULL),
		     0);
	/* stdout mixes the flow lines and the alert log: keep the JSON lines. */
	size_t alerts = 0, netflows = 0;
	for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		if (*p != '{')
			continue;
		struct jv v;
		cr_assert(json_parse(p, (size_t)(nl - p), &v), "not JSON: %.*s", (int)(nl - p), p);
		cr_expect_str_eq(jstr(&v, "event_type"), "alert");
		cr_expect_null(jget(&v, "event"));
		cr_expect_null(jget(&v, "firewall_name"));
		cr_expect(jstr(&v, "http.hostname"));
		alerts++;
		jv_free(&v);
	}
	char *f = slurp(fl);
	unlink(fl);
	struct jlines l = json_lines(f, "EVE flow log");
	for (size_t i = 0; i < l.n; i++) {
		cr_expect_str_eq(jstr(&l.v[i], "event_type"), "netflow");
		cr_expect_null(jget(&l.v[i], "event"));
		netflows++;
	}
	cr_expect_geq(alerts, 3u);
	cr_expect_geq(netflows, 10u);
	jlines_free(&l);
	free(f);
	free(out);
}

Test(replay, diff_reports_changed_flows)
{
	char *out;
	cr_expect_eq(hg(&out, NULL, "diff", SEED, "tests/data/replay/seed-no-github.yaml", "pcaps/real-tls.pcap", NULL), 1);
	/* Exactly one flow line (plus the count), and it is api.github.com. */
	cr_expect_eq(count(out, "\n"), 2u, "%s", out);
	const char *l = strstr(out, "sni=api.github.com: ");
	cr_assert(l, "%s", out);
	cr_expect(!strncmp(l + strlen("sni=api.github.com: "), "pass ", 5), "%s", out);
	cr_expect(strstr(l, " -> drop "), "%s", out);
	cr_expect(strstr(out, "\ndiff: 1 of "), "%s", out);
	free(out);
	cr_expect_eq(hg(&out, NULL, "diff", SEED, SEED, "pcaps/real-tls.pcap", NULL), 0);
	cr_expect(!strncmp(out, "diff: 0 of ", 11), "%s", out);
	cr_expect_eq(count(out, "\n"), 1u, "%s", out);
	free(out);
}

static const struct jv *flow_by_port(const struct jlines *l, long long port)
{
	for (size_t i = 0; i < l->n; i++) {
		long long p;
		if (jint(&l->v[i], "src_port", &p) && p == port)
			return &l->v[i];
	}
	return NULL;
}

Test(replay, overlap_policy)
{
	char *out;
	/* first: the first data wins and the reassembled SNI is allowlisted
	 * (an alert says the overlap differed). */
	cr_assert_eq(hg(&out, NULL, "replay", "--json", "--overlap-policy", "first", SEED, "pcaps/evasion-overlap.pcap",
			NULL),
		     0);
	struct jlines l = json_lines(out, "--json");
	const struct jv *r = flow_by_port(&l, 40021);
	cr_assert(r, "%s", out);
	cr_expect_str_eq(jstr(r, "verdict"), "pass");
	cr_expect(strstr(out, "\"stream-overlap\""), "%s", out);
	jlines_free(&l);
	free(out);
	/* The default, as live (drop): an overlap with different bytes ends
	 * the flow, whichever copy the server's stack would keep. */
	for (int explicit = 0; explicit < 2; explicit++) {
		if (explicit)
			cr_assert_eq(hg(&out, NULL, "replay", "--json", "--overlap-policy", "drop", SEED,
					"pcaps/evasion-overlap.pcap", NULL),
				     0);
		else
			cr_assert_eq(hg(&out, NULL, "replay", "--json", SEED, "pcaps/evasion-overlap.pcap", NULL), 0);
		l = json_lines(out, "--json");
		r = flow_by_port(&l, 40021);
		cr_assert(r, "%s", out);
		cr_expect_str_eq(jstr(r, "verdict"), "drop");
		const struct jv *ev = jget(r, "evasion");
		cr_expect(ev && ev->n == 1 && ev->kid[0].t == J_STR && !strcmp(ev->kid[0].s, "stream-overlap"), "%s",
			  out);
		jlines_free(&l);
		free(out);
	}
}

Test(replay, not_a_capture)
{
	char *out, *err;
	cr_expect_eq(hg(&out, &err, "replay", SEED, "README.md", NULL), 2);
	cr_expect(strstr(err, "README.md"), "%s", err);
	cr_expect_str_empty(out);
	free(out), free(err);
	cr_expect_eq(hg(&out, &err, "replay", SEED, "/nonexistent/x.pcap", NULL), 2);
	cr_expect(strstr(err, "/nonexistent/x.pcap"), "%s", err);
	free(out), free(err);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

Test(replay, capture_cut_mid_packet)
{
	/* Cut a copy of real-tls.pcap halfway through the record that follows
	 * the first 60 complete records (little-endian pcap, as recorded). */
	char *src;
	cr_assert(asprintf(&src, "%s/pcaps/real-tls.pcap", getenv("HG_SRCDIR")) > 0);
	FILE *f = fopen(src, "rb");
	cr_assert(f);
	static unsigned char buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	free(src);
	cr_assert(len > 24 && rd32(buf) == 0xa1b2c3d4, "real-tls.pcap is a little-endian pcap");
	size_t off = 24, whole = 0;
	while (whole < 60) {
		cr_assert(off + 16 <= len);
		off += 16 + rd32(buf + off + 8);
		whole++;
	}
	size_t caplen = rd32(buf + off + 8);
	cr_assert(caplen > 2 && off + 16 + caplen <= len);
	size_t cut = off + 16 + caplen / 2;
	char tmp[] = "/tmp/hg-cut-XXXXXX";
	int fd = mkstemp(tmp);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, buf, cut), (ssize_t)cut);
	close(fd);

	char *out, *err;
	int st = hg(&out, &err, "replay", SEED, tmp, NULL);
	cr_expect_eq(st, 0, "exit %d: %s", st, err);
	cr_expect(strstr(err, tmp) && strstr(err, "truncated"), "no message about the cut: %s", err);
	/* Every whole record before the cut was replayed. */
	unsigned long long packets = 0, skipped = 0;
	const char *s = strstr(out, "summary: ");
	cr_assert(s, "%s", out);
	cr_expect_eq(sscanf(s, "summary: %llu packets", &packets), 1);
	const char *k = strstr(s, " skipped");
	while (k && k > s && k[-1] != ' ')
		k--;
	cr_expect(k && sscanf(k, "%llu", &skipped) == 1);
	cr_expect_eq(packets + skipped, (unsigned long long)whole, "summary: %s", s);
	cr_expect(strstr(out, "sni=api.github.com"), "%s", out);
	free(out), free(err);
	unlink(tmp);
}

Test(replay, quic_initial_after_a_leading_0rtt_packet)
{
	/* pcaps/quic-initial.pcap with a copy of its first Initial, retyped
	 * as 0-RTT (long header type bits 01; they are not header-protected),
	 * in front: the ClientHello that follows must still be read. */
	char *src;
	cr_assert(asprintf(&src, "%s/pcaps/quic-initial.pcap", getenv("HG_SRCDIR")) > 0);
	FILE *f = fopen(src, "rb");
	cr_assert(f);
	static unsigned char buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	free(src);
	cr_assert(len > 40 && rd32(buf) == 0xa1b2c3d4 && rd32(buf + 20) == 1, "little-endian Ethernet pcap");
	size_t rec = 16 + rd32(buf + 24 + 8);
	cr_assert(24 + rec <= len);
	unsigned char *frame = buf + 24 + 16;
	size_t udp_payload = 14 + (frame[14] & 0x0fu) * 4 + 8;
	cr_assert(frame[12] == 0x08 && frame[13] == 0x00 && frame[14 + 9] == 17 && (frame[udp_payload] & 0xf0) == 0xc0,
		  "the first frame is an IPv4 QUIC Initial");
	char tmp[] = "/tmp/hg-0rtt-XXXXXX";
	int fd = mkstemp(tmp);
	cr_assert(fd >= 0);
	unsigned char copy[1 << 12];
	cr_assert(rec <= sizeof(copy));
	memcpy(copy, buf + 24, rec);
	copy[16 + udp_payload] = (unsigned char)((copy[16 + udp_payload] & ~0x30u) | 0x10u);
	cr_assert(write(fd, buf, 24) == 24 && write(fd, copy, rec) == (ssize_t)rec &&
		  write(fd, buf + 24, len - 24) == (ssize_t)(len - 24));
	close(fd);

	char *out;
	cr_assert_eq(hg(&out, NULL, "replay", "--json", SEED, tmp, NULL), 0);
	unlink(tmp);
	struct jlines l = json_lines(out, "--json");
	size_t found = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *sni = jstr(&l.v[i], "quic.sni");
		if (sni && !strcmp(sni, "api.github.com")) {
			long long pkts;
			cr_expect(jint(&l.v[i], "pkts_toserver", &pkts) && pkts == 2, "the 0-RTT copy is in the flow");
			cr_expect_str_eq(jstr(&l.v[i], "app_proto"), "quic");
			found++;
		}
	}
	cr_expect_eq(found, 1u, "the Initial after a 0-RTT packet was not read:\n%s", out);
	jlines_free(&l);
	free(out);
}

/* One flow of a replay --json output, found by its client port. */
static bool flow_line(const char *out, unsigned cport, struct jv *v)
{
	char key[32];
	snprintf(key, sizeof(key), "\"src_port\":%u,", cport);
	const char *p = strstr(out, key);
	if (!p)
		return false;
	while (p > out && p[-1] != '\n')
		p--;
	const char *e = strchr(p, '\n');
	return json_parse(p, e ? (size_t)(e - p) : strlen(p), v);
}

/* The stateless layer decides packets and the report says which part of it
 * did (pcaps/stateless.pcap against rulesets/stateless.yaml; ANFW's
 * semantics from the API's FirewallPolicy/StatelessRule, reference/anfw.md
 * §3.1: rules by priority, aws:drop and aws:pass end inspection,
 * aws:forward_to_sfe hands over to the stateful engine, "Network Firewall
 * only manages UDP packet fragments and silently drops packet fragments for
 * other protocols"; custom actions publish a metric, we count). */
Test(replay, stateless_layer_decides_and_says_so)
{
	char *out, *err;
	char pk[] = "/tmp/hg-rt-packets-XXXXXX";
	int fd = mkstemp(pk);
	cr_assert(fd >= 0);
	close(fd);
	int st = hg(&out, &err, "replay", "--json", "--packets", pk, "rulesets/stateless.yaml", "pcaps/stateless.pcap",
		    NULL);
	cr_assert_eq(st, 0, "%s", err);
	static const struct {
		unsigned cport;
		const char *verdict, *by;
	} want[] = {
		{41001, "drop", "stateless_rule"}, /* priority 10: aws:drop TCP to 23 */
		{41002, "drop", "stateless_rule"}, /* priority 20: listed source */
		{41003, "pass", "stateless_rule"}, /* priority 40: aws:pass DNS to the resolver */
		{41004, "pass", "none"},	   /* priority 30 forwards the SYN; no stateful rule */
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct jv v;
		cr_assert(flow_line(out, want[i].cport, &v), "no flow %u in\n%s", want[i].cport, out);
		cr_expect_str_eq(jstr(&v, "verdict"), want[i].verdict, "flow %u", want[i].cport);
		cr_expect_str_eq(jstr(&v, "decided_by"), want[i].by, "flow %u", want[i].cport);
		jv_free(&v);
	}
	struct jv v;
	cr_assert(flow_line(out, 41001, &v));
	long long prio = 0;
	cr_expect(jint(&v, "rule.priority", &prio) && prio == 10);
	cr_expect_str_eq(jstr(&v, "rule.group"), "stateless-basics");
	jv_free(&v);
	/* Fragments: the three UDP ones meet StatelessFragmentDefaultActions
	 * aws:drop, the three TCP ones are non-UDP fragments. */
	char *pkts = slurp(pk);
	unlink(pk);
	size_t n_frag_default = 0, n_not_udp = 0;
	for (const char *p = pkts; (p = strstr(p, "\"decided_by\":\"fragment_default\"")); p++)
		n_frag_default++;
	for (const char *p = pkts; (p = strstr(p, "\"decided_by\":\"fragment_not_udp\"")); p++)
		n_not_udp++;
	cr_expect_eq(n_frag_default, 3u, "%s", pkts);
	cr_expect_eq(n_not_udp, 3u, "%s", pkts);
	cr_expect(strstr(pkts, "{\"packet\":1,\"verdict\":\"drop\",\"decided_by\":\"stateless_rule\"}"), "%s", pkts);
	cr_expect(strstr(err, "custom actions: telnet=1"), "%s", err);
	free(pkts);
	free(out);
	free(err);
}

/* Issue 9 item 9: a flow picked up mid-stream is decided by
 * StreamExceptionPolicy (the seed's is the default, DROP: "fails closed and
 * drops all subsequent traffic", API StatefulEngineOptions, reference/anfw.md
 * §3.2) before any parser ran; the report still names what it carried. */
Test(replay, stream_exception_policy_still_reports_names)
{
	char *out;
	int st = hg(&out, NULL, "replay", "--json", SEED, "pcaps/midstream.pcap", NULL);
	cr_assert_eq(st, 0);
	struct jv v;
	cr_assert(flow_line(out, 40071, &v), "%s", out);
	cr_expect_str_eq(jstr(&v, "verdict"), "drop");
	cr_expect_str_eq(jstr(&v, "decided_by"), "stream_exception_policy");
	cr_expect_str_eq(jstr(&v, "tls.sni"), "api.github.com");
	jv_free(&v);
	cr_assert(flow_line(out, 40072, &v), "%s", out);
	cr_expect_str_eq(jstr(&v, "decided_by"), "stream_exception_policy");
	cr_expect_str_eq(jstr(&v, "http.hostname"), "www.example.com");
	jv_free(&v);
	free(out);
	char *table;
	hg(&table, NULL, "replay", SEED, "pcaps/midstream.pcap", NULL);
	cr_expect(strstr(table, "sni=api.github.com") && strstr(table, "by stream_exception_policy"), "%s", table);
	free(table);
}
