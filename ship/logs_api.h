/* logs_api.h - the CloudWatch Logs calls the shipper makes (JSON 1.1
 * protocol, X-Amz-Target Logs_20140328.*), signed with SigV4 by libcurl,
 * and their answers sorted into what the shipper does next. */
#ifndef HOSTGATE_SHIP_LOGS_API_H
#define HOSTGATE_SHIP_LOGS_API_H

#include <stdbool.h>
#include <stdint.h>

#include "creds.h"
#include "http.h"

enum logs_outcome {
	LOGS_OK,
	LOGS_THROTTLED,   /* ThrottlingException, 429...: back off, retry */
	LOGS_SERVER,      /* 5xx: back off, retry */
	LOGS_NETWORK,     /* no answer: back off, retry */
	LOGS_AUTH,        /* signature, token, key: refresh credentials, retry */
	LOGS_NO_CREDS,    /* none to sign with: back off, retry */
	LOGS_NOT_FOUND,   /* ResourceNotFoundException: create, retry */
	LOGS_EXISTS,      /* ResourceAlreadyExistsException (fine for creates) */
	LOGS_INVALID,     /* InvalidParameterException: split the batch */
	LOGS_OTHER,       /* anything else: back off, retry */
};

struct logs_result {
	enum logs_outcome outcome;
	long status;
	char type[96];     /* the error's __type, without its namespace */
	char message[256]; /* the error's message (untrusted text, cut) */
	/* rejectedLogEventsInfo of a 200 PutLogEvents answer; -1 when absent */
	int64_t too_new_start, too_old_end, expired_end;
};

struct logs_client;

/* endpoint: a base URL ("https://logs.us-east-1.amazonaws.com"). */
struct logs_client *logs_client_new(const char *endpoint, const char *region, struct creds_ctx *cc, long timeout_ms);
void logs_client_free(struct logs_client *c);

/* One call: action "PutLogEvents", "CreateLogStream", "CreateLogGroup";
 * emf adds x-amzn-logs-format: json/emf. force_refresh asks the
 * credentials to be fetched again (after an auth error; rate-limited). */
void logs_call(struct logs_client *c, const char *action, const char *body, size_t len, bool emf,
	       bool force_refresh, struct logs_result *r);

/* Sorts an answer (status, body) into r; exposed for the fuzz target. */
void logs_parse_answer(long status, const char *body, size_t len, struct logs_result *r);
const char *logs_outcome_name(enum logs_outcome o);

#endif
