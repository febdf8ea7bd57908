/* logs_answer.c - a CloudWatch Logs answer, untrusted bytes, sorted into
 * what the shipper does next: the JSON 1.1 error shape {"__type": ...,
 * "message": ...} (the type possibly prefixed "namespace#"), and a 200
 * PutLogEvents answer's rejectedLogEventsInfo indexes. Fuzzed by
 * fuzz/fuzz_ship.c. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "logs_api.h"
#include "hostgate/util.h"

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

