/* test_eventlog.c - the event log: golden ANFW and EVE lines, every line
 * parsed back by a strict JSON reader (below) and looked up at the paths
 * the CloudWatch Logs Insights queries of reference/anfw.md §4.6 use,
 * hostile bytes, lost events on /dev/full, reopen after logrotate's rename. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include "hostgate/eventlog.h"

/* ------------------------------------------------------------------------
 * A strict JSON reader (RFC 8259) into a small tree: strings must be valid
 * UTF-8 with no raw control characters, escapes must be known, \u
 * surrogates must pair, duplicate keys are refused. Decoded strings and
 * keys live in one pool. */

enum jt { J_OBJ, J_ARR, J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL };

struct jn {
	enum jt t;
	size_t key, klen;  /* pool offsets: member key (objects' children) */
	size_t val, vlen;  /* pool offsets: string value; number text */
	int child, next;   /* first child, next sibling; -1 none */
};

#define JN_MAX 1024

struct jdoc {
	const unsigned char *s;
	size_t n, i;
	struct jn node[JN_MAX];
	int nn;
	char *pool;      /* decoded text never outgrows the line */
	size_t pl, pcap;
	const char *err;
};

static bool jfail(struct jdoc *d, const char *why)
{
	if (!d->err)
		d->err = why;
	return false;
}

static void jws(struct jdoc *d)
{
	while (d->i < d->n && strchr(" \t\r\n", d->s[d->i]))
		d->i++;
}

static bool jpool(struct jdoc *d, const void *p, size_t n)
{
	if (d->pcap - d->pl < n)
		return jfail(d, "pool full");
	memcpy(d->pool + d->pl, p, n);
	d->pl += n;
	return true;
}

static bool jpool_cp(struct jdoc *d, uint32_t cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return jpool(d, u, n);
}

static bool jhex4(struct jdoc *d, uint32_t *out)
{
	uint32_t v = 0;
	if (d->n - d->i < 4)
		return jfail(d, "short \\u");
	for (int k = 0; k < 4; k++) {
		unsigned char c = d->s[d->i++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return jfail(d, "bad hex in \\u");
	}
	*out = v;
	return true;
}

/* Decodes one raw UTF-8 character at d->i: code point, or false. */
static bool jutf8(struct jdoc *d, uint32_t *cp)
{
	unsigned char c = d->s[d->i];
	int need;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		d->i++;
		return true;
	} else if ((c & 0xe0) == 0xc0) {
		need = 1, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3, v = c & 0x07, min = 0x10000;
	} else {
		return jfail(d, "bad UTF-8 lead byte");
	}
	if (d->n - d->i <= (size_t)need)
		return jfail(d, "truncated UTF-8");
	for (int k = 1; k <= need; k++) {
		unsigned char cc = d->s[d->i + k];
		if ((cc & 0xc0) != 0x80)
			return jfail(d, "bad UTF-8 continuation");
		v = v << 6 | (cc & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return jfail(d, "overlong/surrogate/out of range UTF-8");
	d->i += (size_t)need + 1;
	*cp = v;
	return true;
}

static bool jstring(struct jdoc *d, size_t *off, size_t *len)
{
	if (d->i >= d->n || d->s[d->i] != '"')
		return jfail(d, "expected string");
	d->i++;
	*off = d->pl;
	for (;;) {
		if (d->i >= d->n)
			return jfail(d, "unterminated string");
		unsigned char c = d->s[d->i];
		uint32_t cp;
		if (c == '"') {
			d->i++;
			break;
		}
		if (c < 0x20)
			return jfail(d, "raw control character in string");
		if (c == '\\') {
			if (++d->i >= d->n)
				return jfail(d, "dangling backslash");
			c = d->s[d->i++];
			switch (c) {
			case '"': case '\\': case '/':
				cp = c;
				break;
			case 'b': cp = 8; break;
			case 'f': cp = 12; break;
			case 'n': cp = 10; break;
			case 'r': cp = 13; break;
			case 't': cp = 9; break;
			case 'u':
				if (!jhex4(d, &cp))
					return false;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return jfail(d, "lone low surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;
					if (d->n - d->i < 2 || d->s[d->i] != '\\' || d->s[d->i + 1] != 'u')
						return jfail(d, "lone high surrogate");
					d->i += 2;
					if (!jhex4(d, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return jfail(d, "bad surrogate pair");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				break;
			default:
				return jfail(d, "unknown escape");
			}
		} else if (!jutf8(d, &cp)) {
			return false;
		}
		if (!jpool_cp(d, cp))
			return false;
	}
	*len = d->pl - *off;
	return true;
}

static bool jnumber(struct jdoc *d, size_t *off, size_t *len)
{
	size_t st = d->i;
	const unsigned char *s = d->s;
	if (d->i < d->n && s[d->i] == '-')
		d->i++;
	if (d->i < d->n && s[d->i] == '0') {
		d->i++;
	} else if (d->i < d->n && s[d->i] >= '1' && s[d->i] <= '9') {
		while (d->i < d->n && s[d->i] >= '0' && s[d->i] <= '9')
			d->i++;
	} else {
		return jfail(d, "bad number");
	}
	if (d->i < d->n && s[d->i] == '.') {
		d->i++;
		if (d->i >= d->n || s[d->i] < '0' || s[d->i] > '9')
			return jfail(d, "bad fraction");
		while (d->i < d->n && s[d->i] >= '0' && s[d->i] <= '9')
			d->i++;
	}
	if (d->i < d->n && (s[d->i] == 'e' || s[d->i] == 'E')) {
		d->i++;
		if (d->i < d->n && (s[d->i] == '+' || s[d->i] == '-'))
			d->i++;
		if (d->i >= d->n || s[d->i] < '0' || s[d->i] > '9')
			return jfail(d, "bad exponent");
		while (d->i < d->n && s[d->i] >= '0' && s[d->i] <= '9')
			d->i++;
	}
	*off = d->pl;
	*len = d->i - st;
	return jpool(d, s + st, *len);
}

static int jnew(struct jdoc *d, enum jt t)
{
	if (d->nn == JN_MAX) {
		jfail(d, "too many nodes");
		return -1;
	}
	d->node[d->nn] = (struct jn){.t = t, .child = -1, .next = -1};
	return d->nn++;
}

static bool jkey_eq(const struct jdoc *d, const struct jn *n, const char *k, size_t klen)
{
	return n->klen == klen && !memcmp(d->pool + n->key, k, klen);
}

static int jvalue(struct jdoc *d, int depth)
{
	int me, last = -1;
	if (depth > 32) {
		jfail(d, "too deep");
		return -1;
	}
	jws(d);
	if (d->i >= d->n) {
		jfail(d, "expected value");
		return -1;
	}
	unsigned char c = d->s[d->i];
	if (c == '{' || c == '[') {
		bool obj = c == '{';
		if ((me = jnew(d, obj ? J_OBJ : J_ARR)) < 0)
			return -1;
		d->i++;
		jws(d);
		if (d->i < d->n && d->s[d->i] == (obj ? '}' : ']')) {
			d->i++;
			return me;
		}
		for (;;) {
			size_t ko = 0, kl = 0;
			int ch;
			jws(d);
			if (obj) {
				if (!jstring(d, &ko, &kl))
					return -1;
				for (int k = d->node[me].child; k >= 0; k = d->node[k].next)
					if (jkey_eq(d, &d->node[k], d->pool + ko, kl)) {
						jfail(d, "duplicate key");
						return -1;
					}
				jws(d);
				if (d->i >= d->n || d->s[d->i] != ':') {
					jfail(d, "expected ':'");
					return -1;
				}
				d->i++;
			}
			if ((ch = jvalue(d, depth + 1)) < 0)
				return -1;
			d->node[ch].key = ko;
			d->node[ch].klen = kl;
			if (last < 0)
				d->node[me].child = ch;
			else
				d->node[last].next = ch;
			last = ch;
			jws(d);
			if (d->i < d->n && d->s[d->i] == ',') {
				d->i++;
				continue;
			}
			if (d->i < d->n && d->s[d->i] == (obj ? '}' : ']')) {
				d->i++;
				return me;
			}
			jfail(d, "expected ',' or end of container");
			return -1;
		}
	}
	if (c == '"') {
		if ((me = jnew(d, J_STR)) < 0)
			return -1;
		if (!jstring(d, &d->node[me].val, &d->node[me].vlen))
			return -1;
		return me;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		if ((me = jnew(d, J_NUM)) < 0)
			return -1;
		if (!jnumber(d, &d->node[me].val, &d->node[me].vlen))
			return -1;
		return me;
	}
	static const struct {
		const char *w;
		enum jt t;
	} lits[] = {{"true", J_TRUE}, {"false", J_FALSE}, {"null", J_NULL}};
	for (size_t k = 0; k < 3; k++) {
		size_t l = strlen(lits[k].w);
		if (d->n - d->i >= l && !memcmp(d->s + d->i, lits[k].w, l)) {
			d->i += l;
			return jnew(d, lits[k].t);
		}
	}
	jfail(d, "unexpected character");
	return -1;
}

/* Parses one line (without its '\n'); the root must be an object. */
static struct jdoc *jparse(const char *s, size_t n)
{
	struct jdoc *d = calloc(1, sizeof(*d));
	cr_assert(d);
	d->s = (const unsigned char *)s;
	d->n = n;
	d->pcap = n + 16;
	d->pool = malloc(d->pcap);
	cr_assert(d->pool);
	int root = jvalue(d, 0);
	jws(d);
	if (root >= 0 && d->i != d->n)
		jfail(d, "trailing bytes");
	if (root == 0 && d->node[0].t != J_OBJ)
		jfail(d, "root is not an object");
	return d;
}

static void jfree(struct jdoc *d)
{
	if (d) {
		free(d->pool);
		free(d);
	}
}

/* Node at a dotted path ("event.verdict.action"), or -1. */
static int jget(const struct jdoc *d, const char *path)
{
	int cur = 0;
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t kl = dot ? (size_t)(dot - path) : strlen(path);
		int k;
		if (d->node[cur].t != J_OBJ)
			return -1;
		for (k = d->node[cur].child; k >= 0; k = d->node[k].next)
			if (jkey_eq(d, &d->node[k], path, kl))
				break;
		if (k < 0)
			return -1;
		cur = k;
		path += kl + (dot ? 1 : 0);
	}
	return cur;
}

static bool jstr_is(const struct jdoc *d, const char *path, const char *want)
{
	int k = jget(d, path);
	return k >= 0 && d->node[k].t == J_STR && d->node[k].vlen == strlen(want) &&
	       !memcmp(d->pool + d->node[k].val, want, d->node[k].vlen);
}

static bool jnum_is(const struct jdoc *d, const char *path, uint64_t want)
{
	char buf[32];
	int k = jget(d, path);
	if (k < 0 || d->node[k].t != J_NUM || d->node[k].vlen >= sizeof(buf))
		return false;
	memcpy(buf, d->pool + d->node[k].val, d->node[k].vlen);
	buf[d->node[k].vlen] = '\0';
	return strtoull(buf, NULL, 10) == want;
}

/* Same value, objects compared as unordered maps. */
static bool jequal(const struct jdoc *a, int x, const struct jdoc *b, int y)
{
	const struct jn *p = &a->node[x], *q = &b->node[y];
	if (p->t != q->t)
		return false;
	switch (p->t) {
	case J_STR:
	case J_NUM:
		return p->vlen == q->vlen && !memcmp(a->pool + p->val, b->pool + q->val, p->vlen);
	case J_ARR: {
		int i = p->child, j = q->child;
		for (; i >= 0 && j >= 0; i = a->node[i].next, j = b->node[j].next)
			if (!jequal(a, i, b, j))
				return false;
		return i < 0 && j < 0;
	}
	case J_OBJ: {
		size_t np = 0, nq = 0;
		for (int i = p->child; i >= 0; i = a->node[i].next, np++) {
			int j;
			for (j = q->child; j >= 0; j = b->node[j].next)
				if (jkey_eq(b, &b->node[j], a->pool + a->node[i].key, a->node[i].klen))
					break;
			if (j < 0) {
				fprintf(stderr, "key %.*s missing\n", (int)a->node[i].klen,
					a->pool + a->node[i].key);
				return false;
			}
			if (!jequal(a, i, b, j)) {
				fprintf(stderr, "key %.*s differs\n", (int)a->node[i].klen,
					a->pool + a->node[i].key);
				return false;
			}
		}
		for (int j = q->child; j >= 0; j = b->node[j].next)
			nq++;
		return np == nq;
	}
	default:
		return true;
	}
}

/* ------------------------------------------------------------------------
 * Test fixtures. */

static char tmpdir[64];

static void mk_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/hg_eventlog_XXXXXX");
	cr_assert(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void rm_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static char *tpath(const char *name)
{
	static char buf[4][128];
	static int k;
	char *p = buf[k++ & 3];
	snprintf(p, 128, "%s/%s", tmpdir, name);
	return p;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "open %s: %s", path, strerror(errno));
	char *buf = malloc(1 << 24);
	size_t n = fread(buf, 1, (1 << 24) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Splits text into lines, parses each strictly; returns the count. */
static size_t parse_lines(const char *text, struct jdoc **docs, size_t max)
{
	size_t n = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		cr_assert(nl, "last line without newline: %s", p);
		cr_assert(n < max);
		struct jdoc *d = jparse(p, (size_t)(nl - p));
		cr_assert(!d->err, "line %zu is not valid JSON (%s at byte %zu): %.*s", n + 1, d->err,
			  d->i, (int)(nl - p), p);
		docs[n++] = d;
		p = nl + 1;
	}
	return n;
}

static void free_docs(struct jdoc **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jfree(docs[i]);
}

static struct hg_ip ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct hg_ip ip;
	uint8_t v[4] = {a, b, c, d};
	hg_ip_from_v4(&ip, v);
	return ip;
}

static struct hg_ip ip6(const char *s)
{
	struct hg_ip lo, hi;
	cr_assert(hg_ip_parse_cidr(s, &lo, &hi), "%s", s);
	return lo;
}

#define SL(s) ((struct hg_slice){(const uint8_t *)(s), sizeof(s) - 1})

/* The flow of the ANFW §4.2 alert sample. */
static const struct hg_log_tls tls_ssm = {SL("ssm.us-east-1.amazonaws.com"), NULL};

static struct hg_log_flow flow_tls(void)
{
	return (struct hg_log_flow){
		.flow_id = 1734870487617660ull,
		.src = ip4(10, 170, 18, 47),
		.dst = ip4(67, 220, 244, 190),
		.sport = 49402,
		.dport = 443,
		.ip_proto = 6,
		.app_proto = "tls",
		.tls = &tls_ssm,
	};
}

static const struct hg_log_alert alert_ssm = {
	.signature_id = 100003,
	.rev = 1,
	.signature = "matching TLS allow-listed FQDNs",
	.verdict = "pass",
	.resource_arn = "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/custom-egress-rules",
};

static const char anfw_alert_sample[] =
	"{\"firewall_name\":\"use1-fw\",\"availability_zone\":\"us-east-1a\",\"event_timestamp\":\"1752419374\","
	"\"aws_metadata\":{\"resource_arn\":\"arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/custom-egress-rules\"},"
	"\"event\":{\"tx_id\":0,\"app_proto\":\"tls\",\"src_ip\":\"10.170.18.47\",\"src_port\":49402,\"event_type\":\"alert\","
	"\"alert\":{\"severity\":3,\"signature_id\":100003,\"rev\":1,\"signature\":\"matching TLS allow-listed FQDNs\",\"action\":\"allowed\",\"category\":\"\"},"
	"\"flow_id\":1734870487617660,\"dest_ip\":\"67.220.244.190\",\"proto\":\"TCP\",\"verdict\":{\"action\":\"pass\"},"
	"\"tls\":{\"sni\":\"ssm.us-east-1.amazonaws.com\",\"version\":\"UNDETERMINED\"},"
	"\"dest_port\":443,\"timestamp\":\"2025-07-13T15:09:34.606289+0000\",\"direction\":\"to_server\"}}";

static const char golden_tls_alert[] =
	"{\"firewall_name\":\"use1-fw\",\"availability_zone\":\"us-east-1a\",\"event_timestamp\":\"1752419374\","
	"\"aws_metadata\":{\"resource_arn\":\"arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/custom-egress-rules\"},"
	"\"event\":{\"timestamp\":\"2025-07-13T15:09:34.606289+0000\",\"flow_id\":1734870487617660,\"event_type\":\"alert\","
	"\"src_ip\":\"10.170.18.47\",\"src_port\":49402,\"dest_ip\":\"67.220.244.190\",\"dest_port\":443,\"proto\":\"TCP\","
	"\"app_proto\":\"tls\",\"direction\":\"to_server\",\"tx_id\":0,"
	"\"alert\":{\"action\":\"allowed\",\"signature_id\":100003,\"rev\":1,\"signature\":\"matching TLS allow-listed FQDNs\",\"category\":\"\",\"severity\":3},"
	"\"verdict\":{\"action\":\"pass\"},\"tls\":{\"sni\":\"ssm.us-east-1.amazonaws.com\",\"version\":\"UNDETERMINED\"}}}\n";

/* The HTTP default-action drop described next to it (§4.2). */
static const struct hg_log_http http_ctl = {
	.hostname = SL("ctldl.windowsupdate.com"),
	.url = SL("/msdownload/update/v3/static/trustedr/en/authrootstl.cab"),
	.user_agent = SL("Microsoft-CryptoAPI/10.0"),
	.method = SL("GET"),
	.protocol = SL("HTTP/1.1"),
	.length = 0,
};

static struct hg_log_flow flow_http(void)
{
	return (struct hg_log_flow){
		.flow_id = 42,
		.src = ip4(10, 80, 1, 44),
		.dst = ip4(209, 85, 203, 113),
		.sport = 59772,
		.dport = 80,
		.ip_proto = 6,
		.app_proto = "http",
		.http = &http_ctl,
	};
}

static const struct hg_log_alert alert_default_drop = {
	.signature_id = 4,
	.rev = 0,
	.signature = "aws:alert_established action",
	.blocked = true,
	.verdict = "drop",
	.resource_arn = "arn:aws:network-firewall:eu-west-1:123456789012:firewall-policy/egress",
};

static const char golden_http_alert[] =
	"{\"firewall_name\":\"networkfirewall\",\"availability_zone\":\"eu-west-1a\",\"event_timestamp\":\"1755003903\","
	"\"aws_metadata\":{\"resource_arn\":\"arn:aws:network-firewall:eu-west-1:123456789012:firewall-policy/egress\"},"
	"\"event\":{\"timestamp\":\"2025-08-12T13:05:03.935000+0000\",\"flow_id\":42,\"event_type\":\"alert\","
	"\"src_ip\":\"10.80.1.44\",\"src_port\":59772,\"dest_ip\":\"209.85.203.113\",\"dest_port\":80,\"proto\":\"TCP\","
	"\"app_proto\":\"http\",\"direction\":\"to_server\",\"tx_id\":0,"
	"\"alert\":{\"action\":\"blocked\",\"signature_id\":4,\"rev\":0,\"signature\":\"aws:alert_established action\",\"category\":\"\",\"severity\":3},"
	"\"verdict\":{\"action\":\"drop\"},"
	"\"http\":{\"hostname\":\"ctldl.windowsupdate.com\",\"url\":\"/msdownload/update/v3/static/trustedr/en/authrootstl.cab\","
	"\"http_user_agent\":\"Microsoft-CryptoAPI/10.0\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"length\":0}}}\n";

/* The flow of the §4.3 sample: to_server only (pkts 6), then with replies. */
static struct hg_log_flow flow_netflow(void)
{
	return (struct hg_log_flow){
		.flow_id = 2031903400513076ull,
		.src = ip4(10, 80, 1, 44),
		.dst = ip4(209, 85, 203, 113),
		.sport = 59772,
		.dport = 80,
		.ip_proto = 6,
		.app_proto = "http",
		.ts = {.pkts = 6, .bytes = 395, .first_us = 1755003903931841ull,
		       .last_us = 1755003903942320ull, .min_ttl = 126, .max_ttl = 126,
		       .tcp_flags = 0x1b},
		.state = "closed",
		.reason = "timeout",
	};
}

static const char anfw_flow_sample[] =
	"{\"firewall_name\":\"networkfirewall\",\"availability_zone\":\"eu-west-1a\",\"event_timestamp\":\"1755003965\","
	"\"event\":{\"tcp\":{\"tcp_flags\":\"1b\",\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true},\"app_proto\":\"http\","
	"\"src_ip\":\"10.80.1.44\",\"src_port\":59772,"
	"\"netflow\":{\"pkts\":6,\"bytes\":395,\"start\":\"2025-08-12T13:05:03.931841+0000\",\"end\":\"2025-08-12T13:05:03.942320+0000\","
	"\"age\":0,\"min_ttl\":126,\"max_ttl\":126,\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},"
	"\"event_type\":\"netflow\",\"flow_id\":2031903400513076,\"dest_ip\":\"209.85.203.113\",\"proto\":\"TCP\",\"dest_port\":80,"
	"\"timestamp\":\"2025-08-12T13:06:05.059525+0000\"}}";

static const char golden_netflow_pair[] =
	"{\"firewall_name\":\"networkfirewall\",\"availability_zone\":\"eu-west-1a\",\"event_timestamp\":\"1755003965\","
	"\"event\":{\"timestamp\":\"2025-08-12T13:06:05.059525+0000\",\"flow_id\":2031903400513076,\"event_type\":\"netflow\","
	"\"src_ip\":\"10.80.1.44\",\"src_port\":59772,\"dest_ip\":\"209.85.203.113\",\"dest_port\":80,\"proto\":\"TCP\",\"app_proto\":\"http\","
	"\"netflow\":{\"pkts\":6,\"bytes\":395,\"start\":\"2025-08-12T13:05:03.931841+0000\",\"end\":\"2025-08-12T13:05:04.950000+0000\","
	"\"age\":1,\"min_ttl\":126,\"max_ttl\":126,\"state\":\"closed\",\"reason\":\"shutdown\",\"alerted\":true},"
	"\"tcp\":{\"tcp_flags\":\"1b\",\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true}}}\n"
	"{\"firewall_name\":\"networkfirewall\",\"availability_zone\":\"eu-west-1a\",\"event_timestamp\":\"1755003965\","
	"\"event\":{\"timestamp\":\"2025-08-12T13:06:05.059525+0000\",\"flow_id\":2031903400513076,\"event_type\":\"netflow\","
	"\"src_ip\":\"209.85.203.113\",\"src_port\":80,\"dest_ip\":\"10.80.1.44\",\"dest_port\":59772,\"proto\":\"TCP\",\"app_proto\":\"http\","
	"\"netflow\":{\"pkts\":4,\"bytes\":1200,\"start\":\"2025-08-12T13:05:03.931841+0000\",\"end\":\"2025-08-12T13:05:04.950000+0000\","
	"\"age\":1,\"min_ttl\":58,\"max_ttl\":60,\"state\":\"closed\",\"reason\":\"shutdown\",\"alerted\":true},"
	"\"tcp\":{\"tcp_flags\":\"1f\",\"syn\":true,\"fin\":true,\"rst\":true,\"psh\":true,\"ack\":true}}}\n";

static const uint64_t ts_alert_tls = 1752419374606289ull;
static const uint64_t ts_alert_http = 1755003903935000ull;
static const uint64_t ts_flow_end = 1755003965059525ull;

/* Writes with fn into a fresh file and returns its text. */
static char *run_log(enum hg_log_format fmt, const char *fw, const char *az,
		     void (*fn)(struct hg_eventlog *), struct hg_eventlog_stats *st)
{
	int err = 1;
	const char *p = tpath("events.json");
	unlink(p);
	struct hg_eventlog *log = hg_eventlog_open(p, fmt, fw, az, &err);
	cr_assert(log, "open: %s", strerror(-err));
	cr_assert_eq(err, 0);
	fn(log);
	cr_assert_eq(hg_eventlog_flush(log), 0);
	if (st)
		hg_eventlog_stats(log, st);
	cr_assert_eq(hg_eventlog_close(log), 0);
	return slurp(p, NULL);
}

static void write_tls_alert(struct hg_eventlog *log)
{
	struct hg_log_flow f = flow_tls();
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), 0);
}

static void write_http_alert(struct hg_eventlog *log)
{
	struct hg_log_flow f = flow_http();
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_default_drop, ts_alert_http, true), 0);
}

static void write_sample_flow(struct hg_eventlog *log)
{
	struct hg_log_flow f = flow_netflow();
	cr_assert_eq(hg_eventlog_netflow(log, &f, ts_flow_end), 0);
}

static void write_flow_pair(struct hg_eventlog *log)
{
	struct hg_log_flow f = flow_netflow();
	f.tc = (struct hg_log_dir){.pkts = 4, .bytes = 1200, .first_us = 1755003903940000ull,
				   .last_us = 1755003904950000ull, .min_ttl = 58, .max_ttl = 60,
				   .tcp_flags = 0x1f};
	f.reason = "shutdown";
	f.alerted = true;
	cr_assert_eq(hg_eventlog_netflow(log, &f, ts_flow_end), 0);
}

TestSuite(eventlog, .init = mk_tmpdir, .fini = rm_tmpdir);

/* ------------------------------------------------------------ golden */

Test(eventlog, tls_alert_golden_and_same_as_anfw_sample)
{
	struct hg_eventlog_stats st;
	char *out = run_log(HG_LOG_ANFW, "use1-fw", "us-east-1a", write_tls_alert, &st);
	cr_assert_str_eq(out, golden_tls_alert);
	cr_assert_eq(st.events_written, 1);
	cr_assert_eq(st.events_lost, 0);
	cr_assert_eq(st.bytes_written, strlen(golden_tls_alert));

	/* Key order aside, the very document ANFW's best-practice guide shows. */
	struct jdoc *ours = jparse(out, strlen(out) - 1);
	struct jdoc *ref = jparse(anfw_alert_sample, strlen(anfw_alert_sample));
	cr_assert(!ours->err && !ref->err);
	cr_assert(jequal(ref, 0, ours, 0), "differs from the ANFW sample");
	jfree(ours);
	jfree(ref);
	free(out);
}

Test(eventlog, http_alert_golden)
{
	char *out = run_log(HG_LOG_ANFW, "networkfirewall", "eu-west-1a", write_http_alert, NULL);
	cr_assert_str_eq(out, golden_http_alert);
	free(out);
}

/* A DNS request's alert carries Suricata's EVE "dns" object: a "query"
 * array, one {"type":"query","rrname":…} a question (Suricata 7 docs,
 * output/eve/eve-json-format.html, "Event type: DNS"); names escaped like
 * every other field. */
static const struct hg_slice dns_names[] = {SL("www.tcpdump.org"), SL("a\"b\n.example")};

static void write_dns_alert(struct hg_eventlog *log)
{
	struct hg_log_flow f = {
		.flow_id = 42,
		.src = ip4(10, 0, 0, 2),
		.dst = ip4(192, 0, 2, 53),
		.sport = 40000,
		.dport = 53,
		.ip_proto = 17,
		.app_proto = "dns",
		.dns_queries = dns_names,
		.n_dns_queries = 2,
	};
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_default_drop, ts_alert_http, true), 0);
}

Test(eventlog, dns_alert_has_the_query_names)
{
	char *out = run_log(HG_LOG_EVE, "fw", "az", write_dns_alert, NULL);
	cr_assert(strstr(out, ",\"dns\":{\"query\":[{\"type\":\"query\",\"rrname\":\"www.tcpdump.org\"},"
			      "{\"type\":\"query\",\"rrname\":\"a\\\"b\\n.example\"}]}}\n"),
		  "%s", out);
	struct jdoc *d = jparse(out, strlen(out) - 1);
	cr_assert(!d->err, "not JSON: %s", out);
	jfree(d);
	free(out);
}

Test(eventlog, netflow_single_direction_matches_anfw_sample)
{
	char *out = run_log(HG_LOG_ANFW, "networkfirewall", "eu-west-1a", write_sample_flow, NULL);
	struct jdoc *docs[4];
	/* No to_client packets: one line, as Suricata writes it. */
	cr_assert_eq(parse_lines(out, docs, 4), 1);
	struct jdoc *ref = jparse(anfw_flow_sample, strlen(anfw_flow_sample));
	cr_assert(!ref->err);
	cr_assert(jequal(ref, 0, docs[0], 0), "differs from the ANFW flow sample: %s", out);
	jfree(ref);
	free_docs(docs, 1);
	free(out);
}

Test(eventlog, netflow_pair_golden)
{
	struct hg_eventlog_stats st;
	char *out = run_log(HG_LOG_ANFW, "networkfirewall", "eu-west-1a", write_flow_pair, &st);
	cr_assert_str_eq(out, golden_netflow_pair);
	cr_assert_eq(st.events_written, 2);
	struct jdoc *docs[4];
	cr_assert_eq(parse_lines(out, docs, 4), 2);
	/* Paired by flow_id, the second one reversed. */
	cr_assert(jnum_is(docs[0], "event.flow_id", 2031903400513076ull));
	cr_assert(jnum_is(docs[1], "event.flow_id", 2031903400513076ull));
	cr_assert(jstr_is(docs[1], "event.src_ip", "209.85.203.113"));
	cr_assert(jnum_is(docs[1], "event.src_port", 80));
	free_docs(docs, 2);
	free(out);
}

static const char golden_eve[] =
	"{\"timestamp\":\"2025-07-13T15:09:34.606289+0000\",\"flow_id\":1734870487617660,\"event_type\":\"alert\","
	"\"src_ip\":\"10.170.18.47\",\"src_port\":49402,\"dest_ip\":\"67.220.244.190\",\"dest_port\":443,\"proto\":\"TCP\","
	"\"app_proto\":\"tls\",\"direction\":\"to_server\",\"tx_id\":0,"
	"\"alert\":{\"action\":\"allowed\",\"signature_id\":100003,\"rev\":1,\"signature\":\"matching TLS allow-listed FQDNs\",\"category\":\"\",\"severity\":3},"
	"\"verdict\":{\"action\":\"pass\"},\"tls\":{\"sni\":\"ssm.us-east-1.amazonaws.com\",\"version\":\"UNDETERMINED\"}}\n"
	"{\"timestamp\":\"2025-08-12T13:06:05.059525+0000\",\"flow_id\":2031903400513076,\"event_type\":\"netflow\","
	"\"src_ip\":\"10.80.1.44\",\"src_port\":59772,\"dest_ip\":\"209.85.203.113\",\"dest_port\":80,\"proto\":\"TCP\",\"app_proto\":\"http\","
	"\"netflow\":{\"pkts\":6,\"bytes\":395,\"start\":\"2025-08-12T13:05:03.931841+0000\",\"end\":\"2025-08-12T13:05:03.942320+0000\","
	"\"age\":0,\"min_ttl\":126,\"max_ttl\":126,\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},"
	"\"tcp\":{\"tcp_flags\":\"1b\",\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true}}\n";

static void write_eve(struct hg_eventlog *log)
{
	write_tls_alert(log);
	write_sample_flow(log);
}

Test(eventlog, eve_format_is_the_flat_event)
{
	char *out = run_log(HG_LOG_EVE, "ignored", "ignored", write_eve, NULL);
	cr_assert_str_eq(out, golden_eve);
	struct jdoc *docs[4];
	cr_assert_eq(parse_lines(out, docs, 4), 2);
	/* What the seed's CloudWatch metric filter and script read. */
	cr_assert(jstr_is(docs[0], "event_type", "alert"));
	cr_assert(jstr_is(docs[0], "alert.signature", "matching TLS allow-listed FQDNs"));
	cr_assert(jstr_is(docs[0], "src_ip", "10.170.18.47"));
	cr_assert(jstr_is(docs[1], "event_type", "netflow"));
	cr_assert_eq(jget(docs[0], "firewall_name"), -1);
	cr_assert_eq(jget(docs[0], "event"), -1);
	free_docs(docs, 2);
	free(out);
}

/* --------------------------------------------- CloudWatch query paths */

static void write_all_kinds(struct hg_eventlog *log)
{
	write_tls_alert(log);
	write_http_alert(log);
	write_flow_pair(log);
}

Test(eventlog, logs_insights_paths_exist)
{
	char *out = run_log(HG_LOG_ANFW, "fw", "az", write_all_kinds, NULL);
	struct jdoc *d[8];
	cr_assert_eq(parse_lines(out, d, 8), 4);

	/* filter event.verdict.action = "drop" ... by event.alert.signature,
	 * event.tls.sni, event.http.hostname */
	cr_assert(jstr_is(d[0], "event.verdict.action", "pass"));
	cr_assert(jstr_is(d[1], "event.verdict.action", "drop"));
	cr_assert(jstr_is(d[1], "event.alert.signature", "aws:alert_established action"));
	cr_assert(jstr_is(d[0], "event.tls.sni", "ssm.us-east-1.amazonaws.com"));
	cr_assert(jstr_is(d[1], "event.http.hostname", "ctldl.windowsupdate.com"));
	/* by event.alert.signature_id, event.alert.signature, aws_metadata.resource_arn */
	cr_assert(jnum_is(d[0], "event.alert.signature_id", 100003));
	cr_assert(jnum_is(d[1], "event.alert.signature_id", 4));
	cr_assert(jstr_is(d[0], "aws_metadata.resource_arn", alert_ssm.resource_arn));
	cr_assert(jstr_is(d[1], "aws_metadata.resource_arn", alert_default_drop.resource_arn));
	/* fields event.flow_id, event.netflow.bytes; by event.src_ip */
	cr_assert(jnum_is(d[0], "event.flow_id", 1734870487617660ull));
	cr_assert(jnum_is(d[2], "event.netflow.bytes", 395));
	cr_assert(jnum_is(d[3], "event.netflow.bytes", 1200));
	cr_assert(jstr_is(d[2], "event.src_ip", "10.80.1.44"));
	/* filter event.tcp.tcp_flags = "00" / "02": two lower-case hex digits */
	cr_assert(jstr_is(d[2], "event.tcp.tcp_flags", "1b"));
	cr_assert(jstr_is(d[3], "event.tcp.tcp_flags", "1f"));
	/* event_timestamp is a string; netflow events carry no aws_metadata */
	int k = jget(d[2], "event_timestamp");
	cr_assert(k >= 0 && d[2]->node[k].t == J_STR);
	cr_assert_eq(jget(d[2], "aws_metadata"), -1);
	free_docs(d, 4);
	free(out);
}

/* ------------------------------------------------------- other shapes */

static void write_syn_only_v6(struct hg_eventlog *log)
{
	struct hg_log_flow f = {
		.flow_id = 7,
		.src = ip6("2001:db8:0:0:0:0:0:1"),
		.dst = ip6("2001:0db8:0000:0000:0001:0000:0000:0000"),
		.sport = 40000,
		.dport = 443,
		.ip_proto = 6,
		.ts = {.pkts = 1, .bytes = 80, .first_us = 1000000, .last_us = 1000000,
		       .min_ttl = 64, .max_ttl = 64, .tcp_flags = 0x02},
		.state = "new",
		.reason = "timeout",
	};
	cr_assert_eq(hg_eventlog_netflow(log, &f, 61000000), 0);
}

Test(eventlog, ipv6_rfc5952_syn_only_one_line)
{
	char *out = run_log(HG_LOG_ANFW, "fw", "az", write_syn_only_v6, NULL);
	struct jdoc *d[4];
	cr_assert_eq(parse_lines(out, d, 4), 1, "%s", out);
	cr_assert(jstr_is(d[0], "event.src_ip", "2001:db8::1"));
	cr_assert(jstr_is(d[0], "event.dest_ip", "2001:db8:0:0:1::"));
	cr_assert(jstr_is(d[0], "event.tcp.tcp_flags", "02"));
	cr_assert(jget(d[0], "event.tcp.syn") >= 0);
	cr_assert_eq(jget(d[0], "event.tcp.ack"), -1);
	cr_assert_eq(jget(d[0], "event.app_proto"), -1);
	cr_assert(jstr_is(d[0], "event.timestamp", "1970-01-01T00:01:01.000000+0000"));
	cr_assert(jstr_is(d[0], "event_timestamp", "61"));
	free_docs(d, 1);
	free(out);
}

static void write_icmp(struct hg_eventlog *log)
{
	struct hg_log_flow f = {
		.flow_id = 9,
		.src = ip4(10, 0, 0, 1),
		.dst = ip4(8, 8, 8, 8),
		.ip_proto = 1,
		.ts = {.pkts = 1, .bytes = 84, .first_us = 5, .last_us = 5, .icmp_type = 8},
		.tc = {.pkts = 1, .bytes = 84, .first_us = 7, .last_us = 7, .icmp_type = 0},
	};
	struct hg_log_alert a = {.signature_id = 5, .signature = "test_icmp", .verdict = "alert"};
	cr_assert_eq(hg_eventlog_alert(log, &f, &a, 7, false), 0);
	cr_assert_eq(hg_eventlog_netflow(log, &f, 9), 0);
	f.ip_proto = 58;
	f.src = ip6("fe80::1");
	f.dst = ip6("ff02::1");
	cr_assert_eq(hg_eventlog_netflow(log, &f, 9), 0);
	f.ip_proto = 253; /* experimental: no IANA keyword */
	cr_assert_eq(hg_eventlog_netflow(log, &f, 9), 0);
}

Test(eventlog, icmp_and_unnamed_protocols)
{
	char *out = run_log(HG_LOG_EVE, NULL, NULL, write_icmp, NULL);
	struct jdoc *d[8];
	cr_assert_eq(parse_lines(out, d, 8), 7, "%s", out);
	/* The alert came from the reply: reversed tuple, its ICMP type. */
	cr_assert(jstr_is(d[0], "proto", "ICMP"));
	cr_assert(jstr_is(d[0], "src_ip", "8.8.8.8"));
	cr_assert(jstr_is(d[0], "direction", "to_client"));
	cr_assert(jnum_is(d[0], "icmp_type", 0));
	cr_assert_eq(jget(d[0], "src_port"), -1);
	cr_assert_eq(jget(d[0], "tx_id"), -1);
	cr_assert(jnum_is(d[1], "icmp_type", 8));
	cr_assert_eq(jget(d[1], "tcp"), -1);
	cr_assert(jstr_is(d[3], "proto", "IPv6-ICMP"));
	cr_assert(jstr_is(d[3], "src_ip", "fe80::1"));
	cr_assert(jstr_is(d[5], "proto", "253"));
	free_docs(d, 7);
	free(out);
}

Test(eventlog, time_format)
{
	static const struct {
		uint64_t us;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000000+0000"},
		{1752419374606289ull, "2025-07-13T15:09:34.606289+0000"},
		{1709251199999999ull, "2024-02-29T23:59:59.999999+0000"},
		{951868800000001ull, "2000-03-01T00:00:00.000001+0000"},
		{4107499200000000ull, "2100-02-28T12:00:00.000000+0000"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[48];
		size_t n = hg_log_time_format(buf, sizeof(buf), cases[i].us);
		cr_assert_eq(n, strlen(cases[i].want));
		cr_assert_str_eq(buf, cases[i].want);
	}
	char small[8];
	cr_assert_eq(hg_log_time_format(small, sizeof(small), 0), 31);
	cr_assert_str_eq(small, "1970-01");
}

/* ------------------------------------------------------ hostile bytes */

static const unsigned char hostile[] = {
	'a', '"', 'b', '\\', 'c', '\n', 0x00, 0x01, 0x1f, 0x7f, '/',
	0xff, 0xfe, 0xc0, 0xaf,             /* never valid; overlong '/' */
	0xed, 0xa0, 0x80,                   /* CESU surrogate U+D800 */
	0xf4, 0x90, 0x80, 0x80,             /* above U+10FFFF */
	0xe2, 0x82,                         /* truncated euro sign */
	'x', 0xc3, 0xa9,                    /* valid e-acute */
	0xe2, 0x80, 0xa8,                   /* U+2028 */
	0xf0, 0x9f, 0x98, 0x80,             /* valid U+1F600 */
	0x80, 'z', 0xc3,                    /* stray continuation; lead at end */
};
static struct hg_log_tls tls_hostile;
static struct hg_log_http http_hostile;

static void write_hostile(struct hg_eventlog *log)
{
	struct hg_log_flow f = flow_tls();
	struct hg_slice h = {hostile, sizeof(hostile)};
	tls_hostile = (struct hg_log_tls){.sni = h, .version = "TLS\"1.3"};
	f.tls = &tls_hostile;
	http_hostile = (struct hg_log_http){.hostname = h, .url = h, .user_agent = h,
					    .method = h, .protocol = h, .length = 1};
	f.http = &http_hostile;
	f.app_proto = "tls\x01";
	struct hg_log_alert a = alert_ssm;
	a.signature = (const char *)hostile + 1; /* stops at the NUL */
	a.resource_arn = "arn:\"x\"";
	cr_assert_eq(hg_eventlog_alert(log, &f, &a, 1, true), 0);
	cr_assert_eq(hg_eventlog_netflow(log, &f, 2), 0);
}

Test(eventlog, hostile_bytes_give_valid_json)
{
	char *out = run_log(HG_LOG_ANFW, "fw\"\\\x02", "az\xff", write_hostile, NULL);
	struct jdoc *d[4];
	cr_assert_eq(parse_lines(out, d, 4), 2, "%s", out);

	/* Every byte accounted for: invalid ones read back as U+00XX. */
	static const char want[] =
		"a\"b\\c\n\x00\x01\x1f\x7f/"
		"\xc3\xbf\xc3\xbe\xc3\x80\xc2\xaf"
		"\xc3\xad\xc2\xa0\xc2\x80"
		"\xc3\xb4\xc2\x90\xc2\x80\xc2\x80"
		"\xc3\xa2\xc2\x82"
		"x\xc3\xa9"
		"\xe2\x80\xa8"
		"\xf0\x9f\x98\x80"
		"\xc2\x80z\xc3\x83";
	int k = jget(d[0], "event.tls.sni");
	cr_assert(k >= 0);
	cr_assert_eq(d[0]->node[k].vlen, sizeof(want) - 1);
	cr_assert(!memcmp(d[0]->pool + d[0]->node[k].val, want, sizeof(want) - 1));
	cr_assert(jstr_is(d[0], "event.tls.version", "TLS\"1.3"));
	cr_assert(jstr_is(d[0], "firewall_name", "fw\"\\\x02"));
	cr_assert(jstr_is(d[0], "availability_zone", "az\xc3\xbf"));
	cr_assert(jstr_is(d[0], "aws_metadata.resource_arn", "arn:\"x\""));
	/* No raw control byte or U+2028 anywhere in the file but the newlines. */
	for (const char *p = out; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 || *p == '\n');
	cr_assert_null(strstr(out, "\xe2\x80\xa8"));
	cr_assert_not_null(strstr(out, "\\u2028"));
	free_docs(d, 2);
	free(out);
}

Test(eventlog, escape_helper)
{
	char buf[64];
	cr_assert_eq(hg_json_escape(buf, sizeof(buf), "a\"\\\x01\xff", 5), 17);
	cr_assert_str_eq(buf, "a\\\"\\\\\\u0001\\u00ff");
	cr_assert_eq(hg_json_escape(NULL, 0, "\xff\xff", 2), 12);
	char tiny[4];
	cr_assert_eq(hg_json_escape(tiny, sizeof(tiny), "\"\"\"", 3), 6);
}

static unsigned char longname[3 * HG_EVENTLOG_FIELD_MAX];
static struct hg_log_tls tls_long;

static void write_long(struct hg_eventlog *log)
{
	/* 'e-acute' repeated, shifted by one byte: the cut at
	 * HG_EVENTLOG_FIELD_MAX falls inside a character. */
	longname[0] = 'x';
	for (size_t i = 1; i + 1 < sizeof(longname); i += 2) {
		longname[i] = 0xc3;
		longname[i + 1] = 0xa9;
	}
	struct hg_log_flow f = flow_tls();
	tls_long = (struct hg_log_tls){.sni = {longname, sizeof(longname) - 1}};
	f.tls = &tls_long;
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, 1, true), 0);
}

Test(eventlog, long_fields_cut_on_a_character_boundary)
{
	char *out = run_log(HG_LOG_ANFW, "fw", "az", write_long, NULL);
	struct jdoc *d[2];
	cr_assert_eq(parse_lines(out, d, 2), 1);
	int k = jget(d[0], "event.tls.sni");
	cr_assert(k >= 0);
	/* 'x' + 1023 whole characters; the half one is left out, not escaped. */
	cr_assert_eq(d[0]->node[k].vlen, HG_EVENTLOG_FIELD_MAX - 1);
	cr_assert_null(strstr(out, "\\u00c3"));
	free_docs(d, 1);
	free(out);
}

/* ------------------------------------------------------------ delivery */

Test(eventlog, write_errors_are_counted_not_silent)
{
	int err = 0;
	struct hg_eventlog *log = hg_eventlog_open("/dev/full", HG_LOG_ANFW, "fw", "az", &err);
	cr_assert(log, "open /dev/full: %s", strerror(-err));
	struct hg_log_flow f = flow_tls();

	/* Buffered (replay): the loss shows at flush, for every pending event. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), 0);
	cr_assert_eq(hg_eventlog_flush(log), -ENOSPC);
	struct hg_eventlog_stats st;
	hg_eventlog_stats(log, &st);
	cr_assert_eq(st.events_lost, 3);
	cr_assert_eq(st.events_written, 0);
	cr_assert_eq(st.last_errno, ENOSPC);

	/* Live: each event reports its own loss. */
	hg_eventlog_set_flush_each(log, true);
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), -ENOSPC);
	f.tc.pkts = 1;
	f.ts.pkts = 1;
	cr_assert_eq(hg_eventlog_netflow(log, &f, ts_alert_tls), -ENOSPC);
	hg_eventlog_stats(log, &st);
	cr_assert_eq(st.events_lost, 6);

	/* Close reports what it could not write. */
	hg_eventlog_set_flush_each(log, false);
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), 0);
	cr_assert_eq(hg_eventlog_close(log), -ENOSPC);
}

Test(eventlog, partial_write_is_counted_and_the_line_ended)
{
	const char *p = tpath("partial.json");
	size_t line = strlen(golden_tls_alert) - strlen("use1-fw") - strlen("us-east-1a") + 4;
	struct rlimit old, lim;
	int err;

	signal(SIGXFSZ, SIG_IGN); /* write() then fails with EFBIG */
	struct hg_eventlog *log = hg_eventlog_open(p, HG_LOG_ANFW, "fw", "az", &err);
	cr_assert(log);
	struct hg_log_flow f = flow_tls();
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = line + line / 2; /* room for one and a half lines */
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), 0);
	cr_assert_eq(hg_eventlog_flush(log), -EFBIG);
	struct hg_eventlog_stats st;
	hg_eventlog_stats(log, &st);
	cr_assert_eq(st.events_written, 1);
	cr_assert_eq(st.events_lost, 2);
	cr_assert_eq(st.bytes_written, line + line / 2);
	cr_assert_eq(st.last_errno, EFBIG);

	/* Room again: the half line is ended before the next event. */
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), 0);
	cr_assert_eq(hg_eventlog_close(log), 0);

	char *text = slurp(p, NULL);
	const char *l1 = text, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	cr_assert_eq((size_t)(l2 - l1), line);
	cr_assert_eq((size_t)(l3 - l2), line / 2 + 1);
	cr_assert_eq(strlen(l3), line);
	cr_assert(!strncmp(l1, l3, line));
	struct jdoc *d = jparse(l3, line - 1);
	cr_assert(!d->err);
	jfree(d);
	free(text);
}

Test(eventlog, alert_from_engine)
{
	struct hg_rule_group g = {.arn = "arn:aws:network-firewall:us-east-1:1:stateful-rulegroup/g"};
	struct hg_alert a = {.group = &g, .sid = 7, .rev = 2, .msg = "m", .blocked = true,
			     .verdict_action = "drop"};
	struct hg_log_alert la;
	hg_log_alert_from_engine(&la, &a, "arn:policy");
	cr_assert_eq(la.signature_id, 7);
	cr_assert_eq(la.rev, 2);
	cr_assert_str_eq(la.signature, "m");
	cr_assert(la.blocked);
	cr_assert_str_eq(la.verdict, "drop");
	cr_assert_str_eq(la.resource_arn, g.arn);
	cr_assert_eq(la.severity, 0); /* written as 3 */
	a.group = NULL; /* a default action: the policy's ARN */
	hg_log_alert_from_engine(&la, &a, "arn:policy");
	cr_assert_str_eq(la.resource_arn, "arn:policy");
}

Test(eventlog, open_errors)
{
	int err = 0;
	errno = 0;
	cr_assert_null(hg_eventlog_open("/nonexistent-dir/x.json", HG_LOG_ANFW, "fw", "az", &err));
	cr_assert_eq(err, -ENOENT);
	cr_assert_eq(errno, ENOENT);
	cr_assert_null(hg_eventlog_open("", HG_LOG_ANFW, "fw", "az", &err));
	cr_assert_eq(err, -EINVAL);
	cr_assert_eq(hg_eventlog_close(NULL), 0);
	enum hg_log_format fmt;
	cr_assert(hg_log_format_parse("eve", &fmt) && fmt == HG_LOG_EVE);
	cr_assert(hg_log_format_parse("anfw", &fmt) && fmt == HG_LOG_ANFW);
	cr_assert(!hg_log_format_parse("json", &fmt));
	cr_assert_str_eq(hg_log_format_name(HG_LOG_EVE), "eve");
}

Test(eventlog, reopen_after_rename_writes_to_the_new_file)
{
	const char *p = tpath("alert.json"), *rotated = tpath("alert.json.1");
	int err;
	struct hg_eventlog *log = hg_eventlog_open(p, HG_LOG_ANFW, "fw", "az", &err);
	cr_assert(log);
	hg_eventlog_set_flush_each(log, true);
	struct hg_log_flow f = flow_tls();

	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls, true), 0);
	/* flush_each: on disk before anything else happens */
	size_t n;
	free(slurp(p, &n));
	cr_assert_eq(n, strlen(golden_tls_alert) - strlen("use1-fw") - strlen("us-east-1a") + 4);

	/* logrotate: rename, then SIGHUP. Until the reopen, events still go
	 * to the renamed file (same inode), none is lost. */
	cr_assert_eq(rename(p, rotated), 0);
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls + 1, true), 0);
	cr_assert_eq(hg_eventlog_reopen(log), 0);
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls + 2, true), 0);
	cr_assert_eq(hg_eventlog_close(log), 0);

	char *old = slurp(rotated, NULL), *cur = slurp(p, NULL);
	struct jdoc *d[4];
	cr_assert_eq(parse_lines(old, d, 4), 2);
	cr_assert(jstr_is(d[1], "event.timestamp", "2025-07-13T15:09:34.606290+0000"));
	free_docs(d, 2);
	cr_assert_eq(parse_lines(cur, d, 4), 1);
	cr_assert(jstr_is(d[0], "event.timestamp", "2025-07-13T15:09:34.606291+0000"));
	free_docs(d, 1);
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0640 & ~(unsigned)umask(022));
	free(old);
	free(cur);
}

Test(eventlog, reopen_failure_keeps_the_old_stream)
{
	char dir[96];
	snprintf(dir, sizeof(dir), "%s/sub", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	char path[200];
	snprintf(path, sizeof(path), "%s/alert.json", dir);
	int err;
	struct hg_eventlog *log = hg_eventlog_open(path, HG_LOG_EVE, "fw", "az", &err);
	cr_assert(log);
	struct hg_log_flow f = flow_tls();
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, 1, true), 0);

	/* The directory is gone (rotated away): reopen fails, writing goes on. */
	char moved[96];
	snprintf(moved, sizeof(moved), "%s/sub.old", tmpdir);
	cr_assert_eq(rename(dir, moved), 0);
	cr_assert_eq(hg_eventlog_reopen(log), -ENOENT);
	cr_assert_eq(hg_eventlog_alert(log, &f, &alert_ssm, 2, true), 0);
	struct hg_eventlog_stats st;
	hg_eventlog_stats(log, &st);
	cr_assert_eq(st.reopen_failures, 1);
	cr_assert_eq(hg_eventlog_close(log), 0);

	snprintf(path, sizeof(path), "%s/alert.json", moved);
	char *text = slurp(path, NULL);
	struct jdoc *d[4];
	cr_assert_eq(parse_lines(text, d, 4), 2);
	free_docs(d, 2);
	free(text);
}

static void write_many(struct hg_eventlog *log)
{
	struct hg_log_flow f = flow_netflow();
	f.tc = f.ts;
	for (uint64_t i = 0; i < 5000; i++) {
		f.flow_id = i;
		cr_assert_eq(hg_eventlog_netflow(log, &f, ts_flow_end + i), 0);
	}
	/* Several buffer-fulls went out while writing; the rest is pending. */
	struct hg_eventlog_stats st;
	hg_eventlog_stats(log, &st);
	cr_assert_gt(st.events_written, 0);
	cr_assert_lt(st.events_written, 10000);
}

Test(eventlog, buffered_output_is_reproducible)
{
	struct hg_eventlog_stats st;
	char *a = run_log(HG_LOG_ANFW, "fw", "az", write_many, &st);
	char *b = run_log(HG_LOG_ANFW, "fw", "az", write_many, NULL);
	cr_assert_str_eq(a, b);
	cr_assert_eq(st.events_written, 10000);
	cr_assert_eq(st.bytes_written, strlen(a));
	size_t lines = 0;
	for (const char *p = a, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
		struct jdoc *d = jparse(p, (size_t)(nl - p));
		cr_assert(!d->err, "line %zu: %s", lines + 1, d->err);
		cr_assert(jnum_is(d, "event.flow_id", lines / 2));
		jfree(d);
	}
	cr_assert_eq(lines, 10000);
	free(a);
	free(b);
}

Test(eventlog, stdout_dash)
{
	int err;
	struct hg_eventlog *log = hg_eventlog_open("-", HG_LOG_EVE, NULL, NULL, &err);
	cr_assert(log);
	cr_assert_eq(hg_eventlog_reopen(log), 0); /* flush only */
	cr_assert_eq(hg_eventlog_close(log), 0);
	cr_assert(fcntl(STDOUT_FILENO, F_GETFD) >= 0, "stdout stays open");
}

/* ------------------------------------------------- asynchronous delivery */

struct reader {
	int fd;
	size_t lines;
	bool whole; /* ends with a newline */
};

static void *read_lines(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	ssize_t n;
	char last = '\n';
	while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++)
			r->lines += buf[k] == '\n';
		last = buf[n - 1];
	}
	r->whole = last == '\n';
	return NULL;
}

/* A log on a pipe that nobody reads: the caller is never held (an alarm
 * kills the test if a write blocks it); what finds the queue full is
 * counted lost, and once a reader drains the pipe everything queued comes
 * out whole. The daemon's events take this path (hostgate run). */
Test(eventlog, async_pipe_nobody_reads_never_stalls)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd[1]);
	int err;
	struct hg_eventlog *log = hg_eventlog_open(path, HG_LOG_ANFW, "fw", "az", &err);
	cr_assert(log, "open: %s", strerror(-err));
	cr_assert_eq(hg_eventlog_set_async(log, 256 * 1024), 0);
	struct hg_log_flow f = flow_tls();
	alarm(20); /* a blocked caller is a failure, not a hang */
	const unsigned total = 20000; /* ~10 MB of lines: far more than pipe + queue */
	unsigned refused = 0;
	for (unsigned i = 0; i < total; i++)
		refused += hg_eventlog_alert(log, &f, &alert_ssm, ts_alert_tls + i, true) == -ENOBUFS;
	alarm(0);
	struct hg_eventlog_stats st;
	hg_eventlog_stats(log, &st);
	cr_assert_gt(st.events_queue_full, 0, "a full queue counts lost events");
	cr_assert_eq(st.events_queue_full, refused, "each refused event said so");
	cr_assert_geq(st.events_lost, st.events_queue_full);
	cr_assert_lt(st.events_written + st.events_lost, total, "some are still queued or in the pipe");

	/* A reader comes: the queue drains into the pipe, lines whole. */
	struct reader rd = {.fd = pfd[0]};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, read_lines, &rd), 0);
	cr_assert_eq(hg_eventlog_close(log), 0);
	close(pfd[1]);
	pthread_join(t, NULL);
	close(pfd[0]);
	cr_assert_eq(rd.lines, total - refused, "the reader got every queued line, whole");
	cr_assert(rd.whole);
}

/* Order and content are those of the synchronous log, reopen included:
 * lines queued before the reopen go to the rotated file. */
Test(eventlog, async_same_bytes_and_reopen)
{
	const char *p = tpath("async.json"), *rotated = tpath("async.json.1"), *s = tpath("sync.json");
	int err;
	struct hg_eventlog *a = hg_eventlog_open(p, HG_LOG_ANFW, "fw", "az", &err);
	struct hg_eventlog *b = hg_eventlog_open(s, HG_LOG_ANFW, "fw", "az", &err);
	cr_assert(a && b);
	cr_assert_eq(hg_eventlog_set_async(a, 4u << 20), 0);
	struct hg_log_flow f = flow_tls();
	for (unsigned i = 0; i < 1000; i++) {
		cr_assert_eq(hg_eventlog_alert(a, &f, &alert_ssm, ts_alert_tls + i, true), 0);
		cr_assert_eq(hg_eventlog_alert(b, &f, &alert_ssm, ts_alert_tls + i, true), 0);
	}
	cr_assert_eq(rename(p, rotated), 0);
	cr_assert_eq(hg_eventlog_reopen(a), 0);
	cr_assert_eq(hg_eventlog_alert(a, &f, &alert_ssm, ts_alert_tls + 5000, true), 0);
	struct hg_eventlog_stats st;
	cr_assert_eq(hg_eventlog_close(b), 0);
	hg_eventlog_stats(a, &st);
	cr_assert_eq(st.events_lost, 0);
	cr_assert_eq(hg_eventlog_close(a), 0);
	size_t n1, n2;
	char *old = slurp(rotated, &n1), *ref = slurp(s, &n2), *cur = slurp(p, NULL);
	cr_assert_eq(n1, n2);
	cr_assert_str_eq(old, ref, "the queued lines, in order, in the rotated file");
	struct jdoc *d[2];
	cr_assert_eq(parse_lines(cur, d, 2), 1);
	cr_assert(jstr_is(d[0], "event.timestamp", "2025-07-13T15:09:34.611289+0000"), "%s", cur);
	free_docs(d, 1);
	free(old);
	free(ref);
	free(cur);
}
