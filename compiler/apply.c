/* apply.c - loads nft text into the kernel through libnftables. One buffer
 * is one netlink transaction: either the whole table is replaced or the
 * kernel keeps the previous one untouched (tests/test_apply_netns.c checks
 * this in a network namespace). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "hostgate/apply.h"

int hg_apply_nft_text(const char *text, bool check_only, char **err)
{
	if (err)
		*err = NULL;
	if (!text)
		return -EINVAL;
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	int ret = 0;
	/* Buffer both streams: libnftables would otherwise print to our
	 * stdout/stderr; the caller decides what to show. */
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		ret = -ENOMEM;
		goto out;
	}
	/* Check mode still needs CAP_NET_ADMIN: nft evaluates against the
	 * kernel's view, then aborts the transaction. */
	nft_ctx_set_dry_run(ctx, check_only);
	if (nft_run_cmd_from_buffer(ctx, text) != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		ret = -EINVAL;
		if (err)
			*err = xstrdup(e && *e ? e : "nft rejected the ruleset (no error text)\n");
	}
out:
	nft_ctx_free(ctx);
	return ret;
}

int hg_apply_ruleset(const struct hg_ruleset *rs, const struct hg_nft_opts *o, bool check_only, char **err)
{
	if (err)
		*err = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return -errno;
	int r = hg_emit_nft(mem, rs, o);
	if (fclose(mem) != 0 && r == 0)
		r = -EIO;
	if (r == 0)
		r = hg_apply_nft_text(buf, check_only, err);
	else if (err)
		*err = xasprintf("cannot emit the nft table: %s", strerror(-r));
	free(buf);
	return r;
}
