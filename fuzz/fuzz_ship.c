/* fuzz_ship.c - libFuzzer target for what `hostgate ship` reads from
 * outside: CloudWatch Logs answers (error shapes, rejectedLogEventsInfo),
 * IMDS credential documents, and log lines (validation, timestamps). The
 * JSON walker must never read outside the input, and whatever it accepts
 * must be consistent: a value found lies inside the input, a string it
 * unescapes is NUL-terminated within the buffer. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "creds.h"
#include "json.h"
#include "logs_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool each(void *ud, const struct json_val *el)
{
	const char *s = ud;
	(void)s;
	char buf[64];
	int64_t x;
	json_string(el, buf, sizeof(buf));
	json_int(el, &x);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	char *s = malloc(size ? size : 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	bool valid = json_valid(s, size);
	struct json_val v;
	static const char *const paths[][3] = {{"__type", NULL, NULL}, {"message", NULL, NULL},
					       {"rejectedLogEventsInfo", "tooOldLogEventEndIndex", NULL},
					       {"event", "timestamp", NULL}, {"_aws", "Timestamp", NULL},
					       {"logEvents", NULL, NULL}};
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		if (json_get(s, size, paths[k], &v)) {
			if (!valid || v.p < s || v.p + v.n > s + size)
				abort();
			char buf[32];
			if (json_string(&v, buf, sizeof(buf)) && strlen(buf) >= sizeof(buf))
				abort();
			int64_t x;
			json_int(&v, &x);
			json_array_each(&v, each, s);
			iso8601_us(v.p, v.n, &x);
		}
	}
	int64_t us;
	iso8601_us(s, size, &us);
	struct logs_result r;
	logs_parse_answer(200, s, size, &r);
	logs_parse_answer(400, s, size, &r);
	if (strlen(r.type) >= sizeof(r.type) || strlen(r.message) >= sizeof(r.message))
		abort();
	struct creds c;
	char err[128];
	memset(&c, 0, sizeof(c));
	creds_parse_imds(s, size, 1700000000, &c, err, sizeof(err));
	size_t n = size;
	int64_t ts;
	bool has_ts;
	line_classify(s, &n, 1700000000000, &ts, &has_ts);
	if (n > size)
		abort();
	free(s);
	return 0;
}
