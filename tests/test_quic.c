/* test_quic.c - QUIC Initial parser: the RFC 9001 Appendix A.2 client
 * Initial (keys, header protection, AEAD, the ClientHello for
 * example.com), a real Chrome ClientHello split over two Initials in either
 * order, coalesced packets, every truncation and corrupted byte, and,
 * when ../shared is present, real captures of v1, v2 and drafts. */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "hex_util.h"
#include "hostgate/appparse.h"

/* RFC 9001 Appendix A.2: the protected client Initial (DCID
 * 0x8394c8f03e515708, packet number 2, 1200 bytes). */
static const char hex_rfc9001_a2[] =
	"c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
	"d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
	"1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
	"30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
	"457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
	"4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
	"485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
	"7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
	"9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
	"68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
	"c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
	"291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
	"25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
	"ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
	"e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
	"203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
	"cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
	"a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
	"90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
	"40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
	"6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
	"be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
	"54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
	"f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
	"056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
	"e221af44860018ab0856972e194cd934";

/* A 1578-byte ClientHello (no SNI, 1289 bytes of transport parameters)
 * split over two Initial packets (CRYPTO frames at offsets 0 and 1182),
 * nDPI quic_frags_ch_in_multiple_packets.pcapng frames 1 and 2 (UDP
 * payloads). */
static const char hex_chrome_0[] =
	"c30000000108e0ea07d1045fdfdf085bb4b299cb9dcac40044b6b9cce1dff490"
	"8dedd93e453b7453113bc0dc71a19ab6f09d099af923d83e7f22618b8774a690"
	"5bc4a8bd7d3e5787673ec7983bee154d266575e89f813f15350401d38b5addc1"
	"3264c0e9291b5e816e1d7a4928e473d46c48a274d99240eb8fde91fff12a0bf7"
	"1eed4c143383638bdd4a42aa30275f5ea9140750f95fd16ea2757b2cd615d6f0"
	"0507761ee0b1fc88f5e75051448d979ffcfe003078ad51785833aeb739b5d0ef"
	"2c876b2c2c57b663230a11e4858643b65b131c01ab4d036950e2a257237d8ada"
	"4ca01b8582ed0f016f485314c1bf9b2c049fbcb8d79d4e493e276540cabc3958"
	"7155a3b85faa4d5b296bf887edcd94bb23e1a5362f2231f441e654c59cd98524"
	"c57a3d8b5b01653f6605ce91b08894b005a88b318fb9ffbd038a80259aac950b"
	"b48534b026e3eedf51cfc226c7f47fc1436cf1a3304178af87f9fb42d5647f78"
	"532e16774b6c4ac00e988c63c703188602d5566ad5b7b4c1471668b4bb0c3001"
	"392a06380b7ec9ec0282bef874e2f5c98f5cf7510558189878f19f63d831fad9"
	"af3f0d05d2ef871479ab20a1723ffdf72acaa1bff9d127904cb2425f5fe74562"
	"c13cd4cea841c2bd351d96a907c74104875274e2dc53fc6eef7db9078804e8c6"
	"eb66beb0e8363b0a1ace81cd955b0a317a1b19a38d6b58166c390348c8fccbbf"
	"d2740518a9fb0ec626663173edee6deea0c5d6b3f56f929f8dc2b1b44842b85b"
	"0a01c66972df2c6df761c694e17fba961669643211ae97c796278d9341381c77"
	"ef996ea74d79307291ca51cfcb5ade7e5a8b875afc4c9f8c7e95d403bd7d7ed7"
	"9f3b095dd7330c0164cd916b36ad1211d6d51277393fb10b78227bab669a7310"
	"76e5ec78599cf95d89693e7faba31153f4e5c18d11abb12d27cf996f3197a88b"
	"aee23c42c7da0c9a2ebacfae6e5f0dea20d34e794c475c9c9ca405b0e437b857"
	"3695478970ca0cca1aa967c782f7254bde223fa839bca1ec5e7a36a4dee42e14"
	"570d2b5ce2b9bea0ca69fad2383be489e2134e0c74dc1da950d296f512eed4f8"
	"6d6d7519b98d2088f9e03df2a08cc116c1b81a87922fc939ef79a2fab04a9ff6"
	"37ebde416bb32f86356fceca8ae40e746923c4687f31b0d6d2f188394f821d67"
	"f6b1f2475a5175bcbd0677ffac31c47936b1a2d3f45a10298201c21daff21491"
	"02cd5aacf5a4bb8b6c960dc25f4b8d001729d43f55062a125efee5315e287ba9"
	"7b61790ec55f122402156fddc3e809103bd427ecd84fc47b2d5f54a456e65309"
	"5bd3eb88973b1a85adcb1ef4a4e759b0af075e24043e260a25a4a2a0dd1caf6f"
	"010eba4c51fba72515a7f0f88b9975264edb883086e11721b2f8443ac619c3f8"
	"0ff484b24d58d1cc5cbbbf91f501a2ea402504c271fb0286881a7aa803e9ee5e"
	"49808de4f4fdf97a46377f867f83f125f0ec4e3b11632f6925cb5f68f0b786a8"
	"723a340a7c2c76adba6f802f4f311541c898ed2c9c469e425402e1b797a5056a"
	"4515be8b19fb933ade551cb37f7eaf7aae883039caeecd009f00fe2f3b941c64"
	"1becb599dc835ec6810c27dc2b76713ffb2865c638afed1009a48a6312b74e77"
	"224dbb954f67a68097baa04d7b24568c28bffea0da80de5cbe4a7cb9dcb1eddc"
	"39c65737d64069d22694f6c35c468a2972f654df0322ec77e7ef981b6e1f6d25"
	"a7c3ebb3b66055420631dfe9592455fe";
static const char hex_chrome_1[] =
	"c80000000108e0ea07d1045fdfdf085bb4b299cb9dcac40044b6743ffa9c06bb"
	"24575ed08f4b89eaed25fa82b0f12dfb9efc45a30439c5b1a1c2fef0b23c9ba9"
	"627f7907de2e21cdf945001727376c69b2f6a4c5d3e5283f245ba7e87014c3bb"
	"0d96f7adab9a5d1b9a0a137bcaffd483cc95d3ce07af120f5708b2b9def98a28"
	"d900a7ca483cbe6e3fce76c82c560ee7df4d20e1de3be6a1ccaea8fc91ef02b2"
	"d9a9964264532dc8e1618d66b4dfc027b420ba092644f9153bf4a83876fcbdfc"
	"154e5379401237d4f827d15fbeeeb43f8631e3ae00ea1f9f42ed4bd4e0dbbff6"
	"aa03c674ce981a0770af782cfa08d7fcb8fa17b167c7b5781c1a85c460631acf"
	"edd5935ab47e2703c3f62529505bf1a3c4888268155a2fda6cce8c3702a66130"
	"8d2d7a3ad31e07b5a37f04224fec8d525ff2d285fd1cc9ed4e7f58a6b81292ad"
	"eb92f21479feda58692cee3e577cdb27529afb33010d06af2a8e27f654fa3af1"
	"4774edfc0691c395c1ecb010e62822db8ae4d151daf278940836c7a94012b192"
	"6f7a39030db63a3263ea95f61a2029a290a58c2f850c16e93bb1f0f26348bfa7"
	"cbcbbafb9a770c1dbe735f8b099e892273aefb67e2328951d73325ea90a04008"
	"364a0ec356d50590c9551f84501aa19bb69b69466738f534925b029adce9b518"
	"6f19d8c6202c1edf189a82a1042a0150c01fffbde6f3d760c4099101414ba485"
	"bb021311e997c1ee7805ef29203203ad836539cf8c16c50d1a065279ac375c3a"
	"aeffc490a993f7c28e9d6fe46b6dd3f07a50c865b4dd00bea897732b682081c2"
	"9f3b0b33ea177dcf728f8c3d3a5004841ea7dc674bb761be7f30bba6a58f0ba3"
	"0e1802ecf88f5acfb11fb2fc442459e1da60b17ff34c09a7dc9beffda9fab6ec"
	"65aec3fcfcfdc1d6188f4727ad7621ae0f47607b8f67dc0a0df192e6f6088a16"
	"5844631b10c6c670580b74e00d95b4eba9ea7ba9e61a22ee5bb38dabb6ff7119"
	"800be3dcb3c53909263ee86e99345838378663a8d06d062ae30de43dc32ec77a"
	"0807a4b6d81cfd1c9018658f7f539d06b18e67cf3ab1595261f548e773bcc0ba"
	"75630098d50985cdd3e949ebed8b32765d8bc527e630df38abd6ac01c43e1b86"
	"7b680e0f9a106c2a23288dc97807088d7724e429257b616e94408faf1693836e"
	"5417519a6b3ab49b1117af4930bfd8f81fc1507de856648234b89c4961e38af3"
	"704831bf77b41ea404b5c0d606c0d993cd643f3c28f98fd09dc3aea69ba44365"
	"66abc439bfa1293d344305ad8ef128aec87ae6efacf59de960c3749f41a2fa79"
	"37384788abb05524b1fddd1ed40e9b535162e5d7d411cad8e26095acb42daebc"
	"cbfd4aae85949d9f5a7288ecb4308d18fdb9db0782ba274e2b5d9ea712da7511"
	"4fcd9124b2cfef901aec1af2ffbe981660c9145d1d7932ff2392ad31b16e6362"
	"9103ff05739a3b79e5af1794ed2aae3a1a3aa1f3069000fd9bd9e70f4e090695"
	"c36ecca69c1b869135200293d1a7e347360f9a021c17d105efdb59d3d463891a"
	"4819fe43a4dbdada6b951eaf3c473f8dff64d9f0a9c5464b67a4d3115d6b0ca8"
	"8bba72be3d0655ae029e04e652e2472c74a05d76058285cb2333f2e7131d1189"
	"19165c4a453e0feafbc699f1c194bed9665f345a61c09ef54b0388a73fd37a35"
	"0ea0a44b9a7d03078810bc459eebee9ffb360496f3f37e7548420fb069d2e390"
	"98151b624b727668b614586f1117db25";

static bool slice_is(struct hg_slice s, const char *str)
{
	return s.p && s.len == strlen(str) && !memcmp(s.p, str, s.len);
}

static struct quic_state st;
static uint8_t pkt[4096], pkt2[4096], dg[8192];

Test(quic, rfc9001_initial_keys)
{
	static const uint8_t dcid[] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };
	uint8_t key[16], iv[12], hp[16], want[16];

	cr_assert(quic_initial_keys(1, dcid, sizeof(dcid), key, iv, hp));
	unhex("1f369613dd76d5467730efcbe3b1a22d", want, 16);
	cr_assert(!memcmp(key, want, 16));
	unhex("fa044b2f42a3fd3b46fb255c", want, 12);
	cr_assert(!memcmp(iv, want, 12));
	unhex("9f50449e04a0e810283a1e9933adedd2", want, 16);
	cr_assert(!memcmp(hp, want, 16));
	cr_assert_not(quic_initial_keys(0x12345678, dcid, sizeof(dcid), key, iv, hp));
}

Test(quic, rfc9001_a2_client_initial)
{
	size_t n = unhex(hex_rfc9001_a2, pkt, sizeof(pkt));
	struct quic_result r;

	cr_assert_eq(n, 1200);
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt, n, &r), HG_PARSE_FOUND, "%s", r.err ? r.err : "");
	cr_assert(slice_is(r.hello.sni, "example.com"));
	cr_assert(r.hello.tls13);
	cr_assert_eq(r.hello.n_alpn, 1);
	cr_assert_eq(r.version, 1);
	cr_assert_eq(r.dcid.len, 8);
	cr_assert_eq(r.scid.len, 0);
	cr_assert_eq(r.flags & (QUIC_F_SMALL_DATAGRAM | QUIC_F_DECRYPT_FAILED | QUIC_F_BAD_FRAME), 0);
	cr_assert_eq(st.packets, 1);
	cr_assert_eq(st.largest_pn, 2);
	cr_assert_eq(st.contig, 241); /* one CRYPTO frame: the 241-byte hello */
	cr_assert_eq(r.hello.consumed, 241);
	/* the hello's slices live in the caller's state */
	cr_assert(r.hello.sni.p >= st.crypto && r.hello.sni.p < st.crypto + sizeof(st.crypto));
}

Test(quic, every_truncation_and_corruption)
{
	size_t n = unhex(hex_rfc9001_a2, pkt, sizeof(pkt));
	struct quic_result r;
	enum hg_parse p;

	/* a datagram is never "more to come": a cut packet is invalid */
	for (size_t len = 0; len < n; len++) {
		quic_state_init(&st);
		p = quic_initial_parse(&st, pkt, len, &r);
		cr_assert(p == (len < 7 ? HG_PARSE_NOT_THIS : HG_PARSE_INVALID), "len %zu: %s", len,
			  hg_parse_name(p));
	}
	/* any flipped bit after the version fails: lengths, DCID (other keys),
	 * protected header, ciphertext, tag */
	for (size_t i = 5; i < n; i += 7) {
		memcpy(pkt2, pkt, n);
		pkt2[i] ^= 0x01;
		quic_state_init(&st);
		p = quic_initial_parse(&st, pkt2, n, &r);
		cr_assert(p != HG_PARSE_FOUND, "byte %zu", i);
	}
	memcpy(pkt2, pkt, n);
	pkt2[n - 1] ^= 0x80;
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_INVALID);
	cr_assert(r.flags & QUIC_F_DECRYPT_FAILED);
}

Test(quic, header_checks)
{
	size_t n = unhex(hex_rfc9001_a2, pkt, sizeof(pkt));
	struct quic_result r;

	memcpy(pkt2, pkt, n);
	pkt2[0] &= 0x7f; /* short header */
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_NOT_THIS);
	memcpy(pkt2, pkt, n);
	pkt2[0] &= ~0x40; /* fixed bit clear */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_NOT_THIS);
	memcpy(pkt2, pkt, n);
	pkt2[4] = 0x02; /* unknown version */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_NOT_THIS);
	cr_assert(r.flags & QUIC_F_UNKNOWN_VERSION);
	memcpy(pkt2, pkt, n);
	pkt2[1] = pkt2[2] = pkt2[3] = pkt2[4] = 0; /* version negotiation */
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_NOT_THIS);
	memcpy(pkt2, pkt, n);
	pkt2[5] = 21; /* DCID length > 20 */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_INVALID);
	memcpy(pkt2, pkt, n);
	pkt2[14] = 1; /* SCID length 1: the header shifts, Length is now wrong */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_INVALID);
	memcpy(pkt2, pkt, n);
	pkt2[16] = 0x44; pkt2[17] = 0x9f; /* Length one too big */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_INVALID);
	memcpy(pkt2, pkt, n);
	pkt2[15] = 0x05; /* token length 5: shifts the rest */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_INVALID);
	memcpy(pkt2, pkt, n);
	pkt2[15] = 0x7f; pkt2[16] = 0xff; /* token length beyond the packet */
	cr_assert_eq(quic_initial_parse(&st, pkt2, n, &r), HG_PARSE_INVALID);
}

Test(quic, coalesced_packets)
{
	size_t n = unhex(hex_rfc9001_a2, pkt, sizeof(pkt));
	/* a Handshake-type long header packet of 24 bytes (Length 24 after it) */
	static const uint8_t hs[] = { 0xe0, 0, 0, 0, 1, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57,
				      0x08, 0, 0x18 };
	struct quic_result r;
	size_t d = 0;

	/* Initial first, then another packet */
	memcpy(dg, pkt, n);
	memcpy(dg + n, hs, sizeof(hs));
	memset(dg + n + sizeof(hs), 0x5a, 24);
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, dg, n + sizeof(hs) + 24, &r), HG_PARSE_FOUND);
	cr_assert(r.flags & QUIC_F_COALESCED);
	cr_assert(slice_is(r.hello.sni, "example.com"));
	/* another packet first, skipped by its Length */
	memcpy(dg, hs, sizeof(hs));
	d = sizeof(hs);
	memset(dg + d, 0x5a, 24);
	d += 24;
	memcpy(dg + d, pkt, n);
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, dg, d + n, &r), HG_PARSE_FOUND);
	cr_assert(slice_is(r.hello.sni, "example.com"));
	/* no Initial at all */
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, dg, sizeof(hs) + 24, &r), HG_PARSE_NOT_THIS);
	cr_assert(r.flags & QUIC_F_NOT_INITIAL);
}

Test(quic, hello_over_two_packets)
{
	size_t n1 = unhex(hex_chrome_0, pkt, sizeof(pkt));
	size_t n2 = unhex(hex_chrome_1, pkt2, sizeof(pkt2));
	struct quic_result r;

	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt, n1, &r), HG_PARSE_NEED_MORE, "%s", r.err ? r.err : "");
	cr_assert_eq(st.contig, 1182);
	cr_assert_eq(quic_initial_parse(&st, pkt2, n2, &r), HG_PARSE_FOUND, "%s", r.err ? r.err : "");
	cr_assert_eq(r.hello.consumed, 1578);
	cr_assert_null(r.hello.sni.p);
	cr_assert(r.hello.tls13);
	cr_assert_gt(r.hello.n_alpn, 0);
	cr_assert_eq(st.packets, 2);
	/* the other order: nothing contiguous until the first half arrives */
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt2, n2, &r), HG_PARSE_NEED_MORE);
	cr_assert_eq(st.contig, 0);
	cr_assert_eq(quic_initial_parse(&st, pkt, n1, &r), HG_PARSE_FOUND);
	cr_assert_eq(r.hello.consumed, 1578);
	/* a retransmission changes nothing */
	cr_assert_eq(quic_initial_parse(&st, pkt, n1, &r), HG_PARSE_FOUND);
	cr_assert_eq(r.flags & QUIC_F_CRYPTO_CONFLICT, 0);
	/* the second half alone, in a fresh flow, never completes */
	quic_state_init(&st);
	cr_assert_eq(quic_initial_parse(&st, pkt2, n2, &r), HG_PARSE_NEED_MORE);
}

/* RFC 9001 Appendix A.2: the unprotected payload's CRYPTO frame. */
static const char hex_a2_crypto[] =
	"060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
	"04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
	"616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
	"04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
	"baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
	"0d0010000e0403050306030203080408050806002d00020101001c0002400100"
	"3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
	"75300901100f088394c8f03e51570806048000ffff";

Test(quic, decrypted_payload_frames)
{
	uint8_t frame[512], f[600];
	size_t n = unhex(hex_a2_crypto, frame, sizeof(frame));
	const uint8_t *hello = frame + 4; /* after type 06, offset 00, length 40f1 */
	size_t hl = n - 4, k = 0;
	struct quic_result r;

	cr_assert_eq(hl, 241);
	/* the RFC payload as is, padded */
	quic_state_init(&st);
	memcpy(f, frame, n);
	memset(f + n, 0, 40);
	cr_assert_eq(quic_payload_parse(&st, f, n + 40, &r), HG_PARSE_FOUND);
	cr_assert(slice_is(r.hello.sni, "example.com"));

	/* PING, ACK, ACK_ECN, then the hello's second part first, then its first */
	quic_state_init(&st);
	f[k++] = 0x01;
	f[k++] = 0x02, f[k++] = 0x05, f[k++] = 0x00, f[k++] = 0x01, f[k++] = 0x01, f[k++] = 0x00,
	f[k++] = 0x01;                                  /* one extra range */
	f[k++] = 0x03, f[k++] = 0x05, f[k++] = 0x00, f[k++] = 0x00, f[k++] = 0x00,
	f[k++] = 0x01, f[k++] = 0x02, f[k++] = 0x03;    /* ECN counts */
	f[k++] = 0x06, f[k++] = 0x40, f[k++] = 100, f[k++] = 0x40, f[k++] = (uint8_t)(hl - 100);
	memcpy(f + k, hello + 100, hl - 100);
	k += hl - 100;
	cr_assert_eq(quic_payload_parse(&st, f, k, &r), HG_PARSE_NEED_MORE);
	cr_assert_eq(st.contig, 0);
	k = 0;
	f[k++] = 0x06, f[k++] = 0x00, f[k++] = 0x40, f[k++] = 101; /* one byte of overlap */
	memcpy(f + k, hello, 101);
	k += 101;
	cr_assert_eq(quic_payload_parse(&st, f, k, &r), HG_PARSE_FOUND);
	cr_assert(slice_is(r.hello.sni, "example.com"));
	cr_assert_eq(r.flags & QUIC_F_CRYPTO_CONFLICT, 0);
	/* a retransmission that differs is flagged; the first copy stays */
	f[4] ^= 0xff;
	cr_assert_eq(quic_payload_parse(&st, f, k, &r), HG_PARSE_FOUND);
	cr_assert(r.flags & QUIC_F_CRYPTO_CONFLICT);

	/* CONNECTION_CLOSE; a STREAM frame stops the walk */
	quic_state_init(&st);
	static const uint8_t cc[] = { 0x1c, 0x01, 0x06, 0x02, 'o', 'k', 0x08, 0x00, 0x06 };
	cr_assert_eq(quic_payload_parse(&st, cc, sizeof(cc), &r), HG_PARSE_NEED_MORE);
	cr_assert(r.flags & QUIC_F_CONN_CLOSE);
	cr_assert(r.flags & QUIC_F_BAD_FRAME);

	/* malformed frames: truncated ACK, CRYPTO longer than the packet */
	static const uint8_t ack[] = { 0x02, 0x05, 0x00, 0x03, 0x00, 0x01 };
	static const uint8_t cr_long[] = { 0x06, 0x00, 0x10, 0x01, 0x00 };
	quic_state_init(&st);
	cr_assert_eq(quic_payload_parse(&st, ack, sizeof(ack), &r), HG_PARSE_INVALID);
	cr_assert_eq(quic_payload_parse(&st, cr_long, sizeof(cr_long), &r), HG_PARSE_INVALID);

	/* CRYPTO beyond the per-flow buffer is dropped and flagged */
	static const uint8_t far[] = { 0x06, 0x80, 0x00, 0x20, 0x00, 0x02, 0x01, 0x00 };
	quic_state_init(&st);
	cr_assert_eq(quic_payload_parse(&st, far, sizeof(far), &r), HG_PARSE_NEED_MORE);
	cr_assert(r.flags & QUIC_F_CRYPTO_OVERFLOW);

	/* a hello claiming more than QUIC_CRYPTO_MAX, and a non-hello stream */
	static const uint8_t big[] = { 0x06, 0x00, 0x04, 0x01, 0x00, 0x30, 0x00 };
	static const uint8_t sh[] = { 0x06, 0x00, 0x04, 0x02, 0x00, 0x00, 0x30 };
	quic_state_init(&st);
	cr_assert_eq(quic_payload_parse(&st, big, sizeof(big), &r), HG_PARSE_INVALID);
	quic_state_init(&st);
	cr_assert_eq(quic_payload_parse(&st, sh, sizeof(sh), &r), HG_PARSE_INVALID);
}

/* ---- optional: real captures from ../shared ---- */

/* The UDP payload of a captured frame (Ethernet, SLL, SLL2, raw IP, BSD
 * loopback), or NULL. */
static const uint8_t *udp_payload(int dlt, const uint8_t *p, size_t n, size_t *len, uint16_t *sport,
				  uint16_t *dport)
{
	size_t off = 0, ihl;
	unsigned et = 0;

	switch (dlt) {
	case DLT_EN10MB:
		if (n < 14)
			return NULL;
		et = (unsigned)p[12] << 8 | p[13];
		off = 14;
		while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) {
			et = (unsigned)p[off + 2] << 8 | p[off + 3];
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (n < 16)
			return NULL;
		et = (unsigned)p[14] << 8 | p[15];
		off = 16;
		break;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		if (n < 20)
			return NULL;
		et = (unsigned)p[0] << 8 | p[1];
		off = 20;
		break;
#endif
	case DLT_NULL:
		off = 4;
		break;
	default: /* raw IP */
		off = 0;
		break;
	}
	if (n <= off)
		return NULL;
	if ((p[off] >> 4) == 4) {
		ihl = (size_t)(p[off] & 15) * 4;
		if (n < off + ihl + 8 || p[off + 9] != 17)
			return NULL;
		off += ihl;
	} else if ((p[off] >> 4) == 6) {
		if (n < off + 48 || p[off + 6] != 17)
			return NULL;
		off += 40;
	} else {
		return NULL;
	}
	(void)et;
	*sport = (uint16_t)(p[off] << 8 | p[off + 1]);
	*dport = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
	*len = n - off - 8;
	return p + off + 8;
}

/* Feeds the client datagrams of the first QUIC flow of a capture; returns
 * the final result and writes the SNI. */
static enum hg_parse pcap_first_sni(const char *path, char *sni, size_t cap, uint32_t *version)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *data;
	uint16_t cport = 0, sport_, dport_;
	enum hg_parse res = HG_PARSE_NOT_THIS;
	struct quic_result r;

	cr_assert_not_null(pc, "%s: %s", path, err);
	quic_state_init(&st);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		size_t len;
		const uint8_t *u = udp_payload(pcap_datalink(pc), data, h->caplen, &len, &sport_, &dport_);

		if (!u || len < 7 || (u[0] & 0xc0) != 0xc0)
			continue;
		if (!cport)
			cport = sport_;
		if (sport_ != cport)
			continue;
		res = quic_initial_parse(&st, u, len, &r);
		if (res == HG_PARSE_FOUND) {
			snprintf(sni, cap, "%.*s", (int)r.hello.sni.len,
				 r.hello.sni.p ? (const char *)r.hello.sni.p : "");
			*version = r.version;
			break;
		}
		if (res != HG_PARSE_NEED_MORE)
			break;
	}
	pcap_close(pc);
	return res;
}

Test(quic, shared_captures)
{
	static const struct {
		const char *file, *sni;
		uint32_t version;
	} t[] = {
		{ "illustrated-quic/captures/capture.pcap", "example.ulfheim.net", 1 },
		{ "ndpi/quic-v2.pcapng", "test", 0x6b3343cf },
		{ "ndpi/quic-29.pcap", "localhost", 0xff00001d },
		{ "ndpi/quic-27.pcap", "play.google.com", 0xff00001b },
		{ "ndpi/quic-23.pcap", "quic.aiortc.org", 0xff000017 },
		{ "ndpi/quic_frags_ch_out_of_order_same_packet_craziness.pcapng",
		  "update.googleapis.com", 0xff00001d },
		{ "ndpi/quic_frags_different_dcid.pcapng", "cdnjs.cloudflare.com", 1 },
		{ "ndpi/quic_frags_ch_in_multiple_packets.pcapng", NULL, 1 },
	};
	const char *shared = getenv("HG_SHARED");
	char path[1024], sni[256];
	unsigned done = 0;

	if (!shared)
		cr_skip_test("HG_SHARED not set");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t version = 0;
		enum hg_parse res;
		FILE *f;

		snprintf(path, sizeof(path), "%s/corpus/pcaps/%s", shared, t[i].file);
		if (!(f = fopen(path, "rb")))
			continue;
		fclose(f);
		res = pcap_first_sni(path, sni, sizeof(sni), &version);
		cr_assert_eq(res, HG_PARSE_FOUND, "%s: %s", t[i].file, hg_parse_name(res));
		if (t[i].sni)
			cr_assert_str_eq(sni, t[i].sni, "%s", t[i].file);
		cr_assert_eq(version, t[i].version, "%s", t[i].file);
		done++;
	}
	if (!done)
		cr_skip_test("no QUIC captures under %s", shared);
}
