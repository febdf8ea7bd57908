/* http.h - one libcurl handle per peer (the logs endpoint, IMDS): kept
 * connections, bounded answers, SigV4 signing done by libcurl. */
#ifndef HOSTGATE_SHIP_HTTP_H
#define HOSTGATE_SHIP_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "json.h"

/* Answers longer than this are refused (API answers are small). */
#define HTTP_ANSWER_MAX (1u << 20)

struct http_answer {
	long status;          /* 0: no HTTP answer (see error) */
	struct jbuf body;     /* NUL-terminated */
	char error[CURL_ERROR_SIZE];
};

/* SigV4 through libcurl (CURLOPT_AWS_SIGV4). The secret goes to libcurl
 * only, as CURLOPT_PASSWORD: never on a command line, never logged. */
struct http_sigv4 {
	const char *region, *service;
	const char *akid, *secret;
};

struct http_peer;
struct http_peer *http_peer_new(long timeout_ms);
void http_peer_free(struct http_peer *h);

/* One request. method "GET", "PUT" or "POST"; headers "Name: value" lines
 * (NULL-terminated array; none may have an empty value: Debian 12's libcurl
 * 7.88.1 signs such a header and then does not send it); body may be NULL.
 * Returns 0 with ans->status set (any HTTP status), or -1 on a transport
 * failure (ans->error says which). */
int http_request(struct http_peer *h, const char *method, const char *url, const char *const *headers,
		 const char *body, size_t len, const struct http_sigv4 *sig, struct http_answer *ans);
void http_answer_free(struct http_answer *a);

#endif
