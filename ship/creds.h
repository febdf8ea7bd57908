/* creds.h - AWS credentials and settings found where the SDKs look:
 * the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), the shared credentials file (AWS_SHARED_CREDENTIALS_FILE
 * or ~/.aws/credentials) and config file (AWS_CONFIG_FILE or ~/.aws/config)
 * for the profile (--profile, AWS_PROFILE, "default"), then EC2's instance
 * metadata service, IMDSv2 only (AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * AWS_EC2_METADATA_DISABLED). Secrets are kept here only, zeroed when
 * replaced, and never printed. */
#ifndef HOSTGATE_SHIP_CREDS_H
#define HOSTGATE_SHIP_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum creds_source { CREDS_NONE, CREDS_ENV, CREDS_FILE, CREDS_IMDS };

struct creds {
	enum creds_source source;
	char akid[128];
	char secret[256];
	char token[4096]; /* "" when none */
	int64_t expires;  /* epoch seconds; 0: does not expire */
	int64_t refresh_at; /* when to fetch new ones (IMDS): before expires */
};

struct creds_ctx;

/* profile may be NULL (AWS_PROFILE, then "default"). */
struct creds_ctx *creds_ctx_new(const char *profile);
void creds_ctx_free(struct creds_ctx *c);

/* Walks the chain. 0, or -1 with a reason in err (no secret in it). */
int creds_resolve(struct creds_ctx *c, struct creds *out, char *err, size_t errlen);
/* Current credentials, refreshed when refresh_at has passed (IMDS) or
 * when forced (an authentication error: at most once a minute). NULL when
 * none could be had; err says why. */
const struct creds *creds_get(struct creds_ctx *c, int64_t now, bool force, char *err, size_t errlen);
/* Where the credentials in use came from (CREDS_NONE: none yet). */
enum creds_source creds_current_source(const struct creds_ctx *c);
/* How many times credentials were fetched (first included). */
uint64_t creds_fetches(const struct creds_ctx *c);
const char *creds_source_name(enum creds_source s);

/* The region of the profile in the config file (region = ...), or NULL. */
char *creds_profile_region(struct creds_ctx *c);
/* An IMDS document (path under /latest/), trimmed; NULL when IMDS is
 * disabled or does not answer. */
char *creds_imds_get(struct creds_ctx *c, const char *path);

/* An IMDS credentials document (meta-data/iam/security-credentials/ROLE:
 * Code "Success", AccessKeyId, SecretAccessKey, Token, Expiration) into
 * out, untrusted bytes; refresh_at set from now. 0, or -1 with err. */
int creds_parse_imds(const char *doc, size_t n, int64_t now, struct creds *out, char *err, size_t errlen);

#endif
