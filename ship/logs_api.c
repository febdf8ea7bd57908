/* logs_api.c - CloudWatch Logs over HTTPS: the request headers the JSON 1.1
 * protocol wants (Content-Type application/x-amz-json-1.1, X-Amz-Target),
 * X-Amz-Security-Token only when there is a token (libcurl 7.88.1 signs an
 * empty header without sending it), SigV4 by libcurl, and the answer's
 * error shape {"__type": ..., "message": ...} read as untrusted input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "logs_api.h"
#include "hostgate/util.h"

struct logs_client {
	struct http_peer *http;
	char *url, *region;
	struct creds_ctx *cc;
};

struct logs_client *logs_client_new(const char *endpoint, const char *region, struct creds_ctx *cc, long timeout_ms)
{
	struct http_peer *h = http_peer_new(timeout_ms);
	if (!h)
		return NULL;
	struct logs_client *c = xcalloc(1, sizeof(*c));
	c->http = h;
	c->url = xstrdup(endpoint);
	c->region = xstrdup(region);
	c->cc = cc;
	return c;
}

void logs_client_free(struct logs_client *c)
{
	if (!c)
		return;
	http_peer_free(c->http);
	free(c->url);
	free(c->region);
	free(c);
}


void logs_call(struct logs_client *c, const char *action, const char *body, size_t len, bool emf,
	       bool force_refresh, struct logs_result *r)
{
	memset(r, 0, sizeof(*r));
	r->too_new_start = r->too_old_end = r->expired_end = -1;
	char err[256];
	const struct creds *cr = creds_get(c->cc, (int64_t)time(NULL), force_refresh, err, sizeof(err));
	if (!cr) {
		r->outcome = LOGS_NO_CREDS;
		snprintf(r->message, sizeof(r->message), "%s", err);
		return;
	}
	char target[96];
	snprintf(target, sizeof(target), "X-Amz-Target: Logs_20140328.%s", action);
	char *tok = cr->token[0] ? xasprintf("X-Amz-Security-Token: %s", cr->token) : NULL;
	const char *headers[5];
	size_t k = 0;
	headers[k++] = "Content-Type: application/x-amz-json-1.1";
	headers[k++] = target;
	if (tok)
		headers[k++] = tok;
	if (emf)
		headers[k++] = "x-amzn-logs-format: json/emf";
	headers[k] = NULL;
	struct http_sigv4 sig = {c->region, "logs", cr->akid, cr->secret};
	struct http_answer a = {0};
	if (http_request(c->http, "POST", c->url, headers, body, len, &sig, &a)) {
		r->outcome = LOGS_NETWORK;
		snprintf(r->message, sizeof(r->message), "%s", a.error);
	} else {
		logs_parse_answer(a.status, a.body.p, a.body.n, r);
	}
	if (tok) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	http_answer_free(&a);
}
