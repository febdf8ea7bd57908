/* fuzz_quic.c - libFuzzer target for the QUIC Initial parser. The input is
 * a mode byte then records (u16 length, bytes) fed to one flow state:
 * mode even: each record is a UDP datagram (quic_initial_parse); mode odd:
 * each is a decrypted Initial payload (quic_payload_parse), which reaches
 * the frame and CRYPTO reassembly code that random ciphertext cannot. */
#include <stdlib.h>
#include <string.h>

#include "hostgate/appparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct quic_state st;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quic_result r;
	size_t pos = 1;
	bool plain;

	if (size < 1)
		return 0;
	plain = data[0] & 1;
	quic_state_init(&st);
	while (size - pos >= 2) {
		size_t n = (size_t)data[pos] << 8 | data[pos + 1];
		enum hg_parse p;

		pos += 2;
		if (n > size - pos)
			n = size - pos;
		p = plain ? quic_payload_parse(&st, data + pos, n, &r)
			  : quic_initial_parse(&st, data + pos, n, &r);
		pos += n;
		if (st.contig > QUIC_CRYPTO_MAX)
			abort();
		if (p == HG_PARSE_INVALID && !r.err)
			abort();
		if (p == HG_PARSE_FOUND) {
			if (r.hello.consumed > st.contig)
				abort();
			if (r.hello.sni.p && (r.hello.sni.p < st.crypto ||
					      r.hello.sni.p + r.hello.sni.len > st.crypto + st.contig))
				abort();
		}
	}
	return 0;
}
