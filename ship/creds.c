/* creds.c - the credential chain of the AWS SDKs, in their order:
 * environment, shared credentials file, then IMDSv2 (a session token by
 * PUT /latest/api/token, the role name, the role's credentials document).
 * IMDS credentials are fetched again before they expire: at the later of
 * half their lifetime and five minutes before Expiration (the SDKs refresh
 * in the last minutes; half the lifetime keeps short test credentials from
 * being fetched at every call). An authentication error forces one fetch
 * at most once a minute. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "http.h"
#include "json.h"
#include "hostgate/util.h"

#define IMDS_TOKEN_TTL 21600
#define FORCE_MIN_GAP 60

struct creds_ctx {
	char *profile;
	char *imds_base; /* NULL: IMDS disabled */
	struct http_peer *imds;
	char imds_token[512];
	int64_t imds_token_until;
	bool imds_dead; /* did not answer: not asked again for credentials */
	struct creds cur;
	bool have;
	int64_t last_forced;
	uint64_t fetches;
};

static void wipe(struct creds *c)
{
	explicit_bzero(c, sizeof(*c));
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

const char *creds_source_name(enum creds_source s)
{
	switch (s) {
	case CREDS_ENV: return "environment";
	case CREDS_FILE: return "shared credentials file";
	case CREDS_IMDS: return "EC2 instance metadata (IMDSv2)";
	default: return "none";
	}
}

struct creds_ctx *creds_ctx_new(const char *profile)
{
	struct creds_ctx *c = xcalloc(1, sizeof(*c));
	const char *p = profile ? profile : getenv("AWS_PROFILE");
	c->profile = xstrdup(p && *p ? p : "default");
	const char *dis = getenv("AWS_EC2_METADATA_DISABLED");
	if (!dis || strcasecmp(dis, "true")) {
		const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
		c->imds_base = xstrdup(ep && *ep ? ep : "http://169.254.169.254");
		size_t n = strlen(c->imds_base);
		while (n && c->imds_base[n - 1] == '/')
			c->imds_base[--n] = 0;
		/* IMDS answers within a second or is not there (SDK default) */
		c->imds = http_peer_new(1000);
	}
	return c;
}

void creds_ctx_free(struct creds_ctx *c)
{
	if (!c)
		return;
	wipe(&c->cur);
	explicit_bzero(c->imds_token, sizeof(c->imds_token));
	http_peer_free(c->imds);
	free(c->imds_base);
	free(c->profile);
	free(c);
}

enum creds_source creds_current_source(const struct creds_ctx *c)
{
	return c->have ? c->cur.source : CREDS_NONE;
}

uint64_t creds_fetches(const struct creds_ctx *c)
{
	return c->fetches;
}

static bool copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* ------------------------------------------------------------ ini files */

static char *home_file(const char *env, const char *rel)
{
	const char *p = getenv(env);
	if (p && *p)
		return xstrdup(p);
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	return xasprintf("%s/%s", home, rel);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* The value of key in section, or NULL. config: the config file's
 * "[profile NAME]" naming (except "default"). */
static char *ini_get(const char *path, const char *profile, bool config, const char *key)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return NULL;
	char want[300];
	if (config && strcmp(profile, "default"))
		snprintf(want, sizeof(want), "profile %s", profile);
	else
		snprintf(want, sizeof(want), "%s", profile);
	char line[8192];
	bool in = false;
	char *out = NULL;
	while (!out && fgets(line, sizeof(line), f)) {
		char *s = trim(line);
		if (*s == '#' || *s == ';' || !*s)
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e)
				continue;
			*e = 0;
			in = !strcmp(trim(s + 1), want);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!in || !eq)
			continue;
		*eq = 0;
		if (!strcmp(trim(s), key))
			out = xstrdup(trim(eq + 1));
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return out;
}

char *creds_profile_region(struct creds_ctx *c)
{
	char *path = home_file("AWS_CONFIG_FILE", ".aws/config");
	char *r = ini_get(path, c->profile, true, "region");
	free(path);
	return r;
}

/* ------------------------------------------------------------------ IMDS */

static int imds_token(struct creds_ctx *c, int64_t now)
{
	if (c->imds_token[0] && now < c->imds_token_until)
		return 0;
	char url[512], ttl[64];
	snprintf(url, sizeof(url), "%s/latest/api/token", c->imds_base);
	snprintf(ttl, sizeof(ttl), "X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL);
	const char *h[] = {ttl, NULL};
	struct http_answer a = {0};
	int rc = -1;
	if (!http_request(c->imds, "PUT", url, h, "", 0, NULL, &a) && a.status == 200 && a.body.n &&
	    a.body.n < sizeof(c->imds_token) && !strpbrk(a.body.p, "\r\n")) {
		memcpy(c->imds_token, a.body.p, a.body.n + 1);
		c->imds_token_until = now + IMDS_TOKEN_TTL - 60;
		rc = 0;
	}
	http_answer_free(&a);
	return rc;
}

char *creds_imds_get(struct creds_ctx *c, const char *path)
{
	if (!c->imds_base || !c->imds)
		return NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (imds_token(c, now_s()))
			return NULL;
		char url[1024], tok[600];
		snprintf(url, sizeof(url), "%s/latest/%s", c->imds_base, path);
		snprintf(tok, sizeof(tok), "X-aws-ec2-metadata-token: %s", c->imds_token);
		const char *h[] = {tok, NULL};
		struct http_answer a = {0};
		int rc = http_request(c->imds, "GET", url, h, NULL, 0, NULL, &a);
		explicit_bzero(tok, sizeof(tok));
		if (!rc && a.status == 401) { /* token expired or revoked: one new one */
			c->imds_token[0] = 0;
			http_answer_free(&a);
			continue;
		}
		if (rc || a.status != 200) {
			http_answer_free(&a);
			return NULL;
		}
		char *out = xstrdup(trim(a.body.p));
		explicit_bzero(a.body.p, a.body.n);
		http_answer_free(&a);
		return out;
	}
	return NULL;
}

static int from_imds(struct creds_ctx *c, struct creds *out, char *err, size_t errlen)
{
	if (!c->imds_base) {
		snprintf(err, errlen, "IMDS disabled (AWS_EC2_METADATA_DISABLED)");
		return -1;
	}
	char *role = creds_imds_get(c, "meta-data/iam/security-credentials/");
	if (!role || !*role || strchr(role, '/') || strchr(role, '\n')) {
		snprintf(err, errlen, "no IAM role from instance metadata at %s", c->imds_base);
		free(role);
		return -1;
	}
	char path[512];
	snprintf(path, sizeof(path), "meta-data/iam/security-credentials/%s", role);
	free(role);
	char *doc = creds_imds_get(c, path);
	if (!doc) {
		snprintf(err, errlen, "no credentials document from instance metadata");
		return -1;
	}
	size_t n = strlen(doc);
	int rc = creds_parse_imds(doc, n, (int64_t)time(NULL), out, err, errlen);
	explicit_bzero(doc, n);
	free(doc);
	return rc;
}

int creds_resolve(struct creds_ctx *c, struct creds *out, char *err, size_t errlen)
{
	wipe(out);
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && *ak && sk && *sk) {
		const char *tok = getenv("AWS_SESSION_TOKEN");
		if (!copy(out->akid, sizeof(out->akid), ak) || !copy(out->secret, sizeof(out->secret), sk) ||
		    !copy(out->token, sizeof(out->token), tok ? tok : "")) {
			snprintf(err, errlen, "credentials in the environment are too long");
			return -1;
		}
		out->source = CREDS_ENV;
		return 0;
	}
	char *path = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	char *fak = ini_get(path, c->profile, false, "aws_access_key_id");
	char *fsk = fak ? ini_get(path, c->profile, false, "aws_secret_access_key") : NULL;
	char *ftok = fsk ? ini_get(path, c->profile, false, "aws_session_token") : NULL;
	int rc = 1;
	if (fak && fsk) {
		if (copy(out->akid, sizeof(out->akid), fak) && copy(out->secret, sizeof(out->secret), fsk) &&
		    copy(out->token, sizeof(out->token), ftok ? ftok : "")) {
			out->source = CREDS_FILE;
			rc = 0;
		} else {
			snprintf(err, errlen, "%s: profile %s: credentials too long", path, c->profile);
			rc = -1;
		}
	}
	for (char **p = (char *[]){fak, fsk, ftok, NULL}; *p; p++) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	free(path);
	if (rc <= 0)
		return rc;
	if (from_imds(c, out, err, errlen)) {
		wipe(out);
		char more[200];
		snprintf(more, sizeof(more), "%s", err);
		snprintf(err, errlen, "no credentials: not in the environment, not in the shared credentials file "
			 "(profile %s), and %s", c->profile, more);
		return -1;
	}
	return 0;
}

const struct creds *creds_get(struct creds_ctx *c, int64_t now, bool force, char *err, size_t errlen)
{
	bool want = !c->have;
	if (c->have && c->cur.refresh_at && now >= c->cur.refresh_at)
		want = true;
	if (force && (!c->last_forced || now - c->last_forced >= FORCE_MIN_GAP)) {
		c->last_forced = now;
		want = true;
	}
	if (want) {
		struct creds fresh;
		if (!creds_resolve(c, &fresh, err, errlen)) {
			wipe(&c->cur);
			c->cur = fresh;
			wipe(&fresh);
			c->have = true;
			c->fetches++;
		} else if (c->have) {
			/* keep what we have while it lasts; try again in 10 s */
			c->cur.refresh_at = now + 10;
		}
	}
	if (!c->have)
		return NULL;
	if (c->cur.expires && now >= c->cur.expires) {
		snprintf(err, errlen, "credentials expired and could not be refreshed");
		return NULL;
	}
	return &c->cur;
}
