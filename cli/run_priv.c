/* run_priv.c - `hostgate run` gives up root once its sockets and logs are
 * open: an optional user, CAP_NET_ADMIN and CAP_NET_RAW kept, the rest
 * gone. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sys/capability.h>

#include "run_live.h"

/* Keeps CAP_NET_ADMIN (verdict sets, reload) and CAP_NET_RAW (re-injection)
 * and nothing else; switches to user when given. */
int live_drop_privileges(const char *user, const char *const *logs, size_t n_logs)
{
	/* The bounding set first, while CAP_SETPCAP is still effective: no
	 * exec'd program (nft is run in-process, nothing is exec'd, but a
	 * library might) can gain a capability outside the two we keep. The
	 * ambient set is emptied too. */
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (c == CAP_NET_ADMIN || c == CAP_NET_RAW || CAP_IS_SUPPORTED(c) <= 0)
			continue;
		if (cap_drop_bound(c) < 0) {
			live_log("cannot clear the bounding capability set: %s", strerror(errno));
			return -1;
		}
	}
	if (cap_reset_ambient() < 0 && errno != EINVAL) {
		live_log("cannot clear the ambient capability set: %s", strerror(errno));
		return -1;
	}
	if (user) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			live_log("--user %s: no such user", user);
			return -1;
		}
		/* The logs were opened (created) as root: the user must be able to
		 * reopen them at SIGHUP. */
		for (size_t i = 0; i < n_logs; i++)
			if (logs[i] && strcmp(logs[i], "-") && chown(logs[i], pw->pw_uid, pw->pw_gid) < 0)
				live_log("cannot give %s to %s: %s", logs[i], user, strerror(errno));
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			live_log("cannot switch to user %s: %s", user, strerror(errno));
			return -1;
		}
	}
	cap_t caps = cap_init();
	cap_value_t keep[] = {CAP_NET_ADMIN, CAP_NET_RAW};
	int rc = 0;
	if (!caps || cap_set_flag(caps, CAP_PERMITTED, 2, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 2, keep, CAP_SET) || cap_set_proc(caps)) {
		live_log("cannot drop capabilities: %s", strerror(errno));
		rc = -1;
	}
	cap_free(caps);
	/* Nothing we exec may regain what we dropped. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return rc;
}
