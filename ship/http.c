/* http.c - requests through libcurl for the shipper: one easy handle per
 * peer so connections are kept between calls; the answer is collected into
 * a bounded buffer; SigV4 is libcurl's own (CURLOPT_AWS_SIGV4), given the
 * exact body through CURLOPT_POSTFIELDS so the payload hash matches. We
 * never set X-Amz-Date ourselves: libcurl 7.88.1 adds its own and would
 * send both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "hostgate/util.h"

struct http_peer {
	CURL *c;
	long timeout_ms;
	struct http_answer *cur;
	bool too_big;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct http_peer *h = ud;
	size_t n = sz * nm;
	if (h->cur->body.n + n > HTTP_ANSWER_MAX) {
		h->too_big = true;
		return 0;
	}
	jbuf_put(&h->cur->body, p, n);
	return n;
}

struct http_peer *http_peer_new(long timeout_ms)
{
	static bool inited;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return NULL;
		inited = true;
	}
	struct http_peer *h = xcalloc(1, sizeof(*h));
	h->c = curl_easy_init();
	if (!h->c) {
		free(h);
		return NULL;
	}
	h->timeout_ms = timeout_ms;
	return h;
}

void http_peer_free(struct http_peer *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->c);
	free(h);
}

void http_answer_free(struct http_answer *a)
{
	jbuf_free(&a->body);
}

int http_request(struct http_peer *h, const char *method, const char *url, const char *const *headers,
		 const char *body, size_t len, const struct http_sigv4 *sig, struct http_answer *ans)
{
	CURL *c = h->c;
	/* Reset drops every option but keeps the connection cache. */
	curl_easy_reset(c);
	ans->status = 0;
	ans->error[0] = 0;
	ans->body.n = 0;
	jbuf_reserve(&ans->body, 0);
	ans->body.p[0] = 0;
	h->cur = ans;
	h->too_big = false;

	struct curl_slist *hl = NULL;
	for (size_t i = 0; headers && headers[i]; i++) {
		const char *colon = strchr(headers[i], ':');
		/* an empty value would be signed and not sent (libcurl 7.88.1) */
		if (!colon || !colon[1 + strspn(colon + 1, " ")])
			continue;
		hl = curl_slist_append(hl, headers[i]);
	}
	/* No "Expect:" or "Accept:" to remove libcurl's defaults: libcurl
	 * 7.88.1 would sign those empty headers. */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 10000 ? h->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ans->error);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hostgate-ship/0.1");
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		if (strcmp(method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	char provider[128];
	if (sig) {
		snprintf(provider, sizeof(provider), "aws:amz:%s:%s", sig->region, sig->service);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, provider);
		curl_easy_setopt(c, CURLOPT_USERNAME, sig->akid);
		curl_easy_setopt(c, CURLOPT_PASSWORD, sig->secret);
	}
	CURLcode rc = curl_easy_perform(c);
	if (sig) /* the secret does not stay in the handle */
		curl_easy_setopt(c, CURLOPT_PASSWORD, "");
	curl_slist_free_all(hl);
	h->cur = NULL;
	if (rc != CURLE_OK) {
		if (h->too_big)
			snprintf(ans->error, sizeof(ans->error), "answer over %u bytes", HTTP_ANSWER_MAX);
		else if (!ans->error[0])
			snprintf(ans->error, sizeof(ans->error), "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ans->status);
	return 0;
}
