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

const char *logs_outcome_name(enum logs_outcome o)
{
	static const char *const names[] = {"ok", "throttled", "server_error", "network_error", "auth_error",
					    "no_credentials", "not_found", "exists", "invalid", "other_error"};
	return o < HG_ARRAY_LEN(names) ? names[o] : "?";
}

static bool type_is(const char *t, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(t, *list))
			return true;
	return false;
}

static int64_t int_at(const char *body, size_t len, const char *key)
{
	struct json_val v;
	int64_t x;
	if (json_getv(body, len, &v, "rejectedLogEventsInfo", key, NULL) && json_int(&v, &x) && x >= 0)
		return x;
	return -1;
}

void logs_parse_answer(long status, const char *body, size_t len, struct logs_result *r)
{
	r->status = status;
	r->type[0] = r->message[0] = 0;
	r->too_new_start = r->too_old_end = r->expired_end = -1;
	if (status == 200) {
		r->outcome = LOGS_OK;
		r->too_new_start = int_at(body, len, "tooNewLogEventStartIndex");
		r->too_old_end = int_at(body, len, "tooOldLogEventEndIndex");
		r->expired_end = int_at(body, len, "expiredLogEventEndIndex");
		return;
	}
	struct json_val v;
	char t[256] = "";
	if (json_getv(body, len, &v, "__type", NULL) && json_string(&v, t, sizeof(t))) {
		/* "com.amazonaws.logs#ThrottlingException" names it after '#' */
		const char *hash = strrchr(t, '#');
		snprintf(r->type, sizeof(r->type), "%s", hash ? hash + 1 : t);
	}
	if ((json_getv(body, len, &v, "message", NULL) || json_getv(body, len, &v, "Message", NULL)) &&
	    !json_string(&v, r->message, sizeof(r->message)))
		snprintf(r->message, sizeof(r->message), "(message not readable)");
	/* printable ASCII only in what we log of it */
	for (char *p = r->message; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	static const char *const throttle[] = {"ThrottlingException", "Throttling", "TooManyRequestsException",
					       "RequestLimitExceeded", "LimitExceededException",
					       "RequestThrottledException", "ProvisionedThroughputExceededException",
					       NULL};
	static const char *const auth[] = {"UnrecognizedClientException", "InvalidSignatureException",
					   "IncompleteSignatureException", "ExpiredTokenException", "ExpiredToken",
					   "InvalidClientTokenId", "SignatureDoesNotMatch",
					   "MissingAuthenticationTokenException", "AccessDeniedException",
					   "RequestExpired", NULL};
	if (type_is(r->type, throttle) || status == 429)
		r->outcome = LOGS_THROTTLED;
	else if (status >= 500)
		r->outcome = LOGS_SERVER;
	else if (type_is(r->type, auth) || status == 401 || status == 403)
		r->outcome = LOGS_AUTH;
	else if (!strcmp(r->type, "ResourceNotFoundException"))
		r->outcome = LOGS_NOT_FOUND;
	else if (!strcmp(r->type, "ResourceAlreadyExistsException"))
		r->outcome = LOGS_EXISTS;
	else if (!strcmp(r->type, "InvalidParameterException"))
		r->outcome = LOGS_INVALID;
	else if (!strcmp(r->type, "DataAlreadyAcceptedException"))
		r->outcome = LOGS_OK; /* it has them already */
	else
		r->outcome = LOGS_OTHER;
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
