/* fuzz_detect.c - libFuzzer target for the protocol detectors of
 * runtime/detect.c: every prefix of the input as a growing TCP stream (a
 * detector must never read past what it is given, and once it has ruled a
 * protocol out it stays out) and the input as one UDP datagram. */
#include <stdlib.h>
#include <string.h>

#include "hostgate/appparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct hg_detect_tcp st = {0};
	enum hg_app_proto a = HG_APP_UNKNOWN;
	size_t step = size > 2048 ? size / 256 : 1;
	for (size_t k = 0; k <= size; k += step) {
		/* exact-size buffer per prefix, so a read past it is caught */
		uint8_t *pre = malloc(k ? k : 1);
		if (!pre)
			break;
		memcpy(pre, copy, k);
		enum hg_parse r = hg_detect_tcp(&st, pre, k, k == size, &a);
		free(pre);
		if (r == HG_PARSE_FOUND && (a <= HG_APP_FAILED || a >= HG_APP__COUNT))
			abort();
		if (r != HG_PARSE_NEED_MORE)
			break;
	}
	for (int weak = 0; weak < 2; weak++) {
		enum hg_app_proto u = hg_detect_udp(copy, size, weak);
		if (u != HG_APP_UNKNOWN && (u <= HG_APP_FAILED || u >= HG_APP__COUNT))
			abort();
	}
	free(copy);
	return 0;
}
