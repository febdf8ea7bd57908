/* appparse.h - the application parsers: TLS ClientHello, HTTP/1 request
 * headers and QUIC Initial packets, read from a flow's first client bytes.
 *
 * Each parser is a pure function over bytes (STYLE.md 7, 8): it fills a small
 * result struct with slices into its input (or into a caller-owned buffer
 * when bytes had to be joined or normalised) and says one of:
 *   NEED_MORE  the message may be valid but is not complete yet: call again
 *              with more bytes (the same prefix plus what arrived);
 *   NOT_THIS   these bytes are not this protocol;
 *   INVALID    this protocol, but malformed (result.err says why);
 *   FOUND      the whole message is in and the result is filled.
 * No parser allocates or keeps state between calls except QUIC, whose
 * per-flow state the caller owns (struct quic_state). */
#ifndef HOSTGATE_APPPARSE_H
#define HOSTGATE_APPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostgate/engine.h" /* struct hg_slice */

enum hg_parse {
	HG_PARSE_NEED_MORE,
	HG_PARSE_NOT_THIS,
	HG_PARSE_INVALID,
	HG_PARSE_FOUND,
};

/* "need_more", "not_this", "invalid", "found". */
const char *hg_parse_name(enum hg_parse r);

/* ---- TLS ClientHello (runtime/tls.c) ------------------------------------ */

/* A ClientHello's handshake body is capped at this many bytes (RFC 8446
 * allows 2^24; real ones, post-quantum key shares included, stay under 4 KiB
 * and no server we know accepts more than 64 KiB). Bigger is INVALID. */
#define TLS_HELLO_MAX 65536u
/* A caller-provided buffer of this size can hold any acceptable ClientHello
 * that arrived fragmented over several records. */
#define TLS_SCRATCH_MAX (TLS_HELLO_MAX + 4u)

enum {
	TLS_F_DUP_EXT = 1u << 0,       /* an extension type appeared twice (§4.2) */
	TLS_F_SNI_MULTI = 1u << 1,     /* server_name list held more than one name */
	TLS_F_FRAGMENTED = 1u << 2,    /* the hello spanned several records (joined in scratch) */
	TLS_F_NO_EXTENSIONS = 1u << 3, /* pre-TLS-1.2 style hello without extension block */
	TLS_F_TRAILING = 1u << 4,      /* the last record holds bytes after the ClientHello */
	TLS_F_GREASE = 1u << 5,        /* a GREASE extension (RFC 8701) was present */
};

struct tls_hello {
	uint16_t record_version;  /* legacy_record_version of the first record (0 bare) */
	uint16_t legacy_version;  /* ClientHello.legacy_version (client_version) */
	bool tls13;               /* supported_versions offers 0x0304 */
	bool ech;                 /* encrypted_client_hello (0xfe0d) present */
	uint32_t flags;           /* TLS_F_* */
	uint16_t n_extensions;
	struct hg_slice sni;      /* first host_name as sent; p == NULL: no server_name */
	struct hg_slice alpn;     /* ProtocolNameList body: (len, name)*; NULL: no ALPN */
	uint16_t n_alpn;
	struct hg_slice session_id, cipher_suites, extensions; /* raw bodies */
	/* Bytes of input the hello used: the records up to the end of the one
	 * that completes it (tls_client_hello_parse), or the handshake message
	 * (tls_handshake_parse). Valid with FOUND. */
	size_t consumed;
	/* NEED_MORE: the least total input length that can make progress (a
	 * hint; 0 when unknown). */
	size_t need;
	const char *err; /* INVALID: what was wrong, with its RFC section */
};

/* Parses a ClientHello from the start of a TLS byte stream: TLS records
 * (RFC 8446 §5.1) of type handshake carrying a ClientHello, possibly
 * fragmented over several records of any size. When it is, the record
 * payloads are joined into scratch (scratch_len bytes, TLS_SCRATCH_MAX is
 * always enough; smaller gives INVALID for hellos that do not fit) and the
 * result's slices point there; otherwise they point into buf. scratch may be
 * NULL if the caller accepts INVALID for fragmented hellos. */
enum hg_parse tls_client_hello_parse(const uint8_t *buf, size_t len, uint8_t *scratch,
				     size_t scratch_len, struct tls_hello *out);

/* Parses a bare handshake message (no record layer), as QUIC carries it in
 * CRYPTO frames (RFC 9001 §4). Slices point into msg. */
enum hg_parse tls_handshake_parse(const uint8_t *msg, size_t len, struct tls_hello *out);

/* The JA4 fingerprint (FoxIO's JA4 spec) of a parsed ClientHello (runtime/
 * ja4.c): quic selects the 'q' prefix (QUIC) over 't'. Writes
 * TLS_JA4_LEN characters and a NUL; returns TLS_JA4_LEN. */
#define TLS_JA4_LEN 36
size_t tls_ja4(const struct tls_hello *h, bool quic, char out[TLS_JA4_LEN + 1]);

/* JA3 (Salesforce's JA3 spec) of a parsed ClientHello (runtime/ja3.c):
 * "version,ciphers,extensions,groups,point_formats" in decimal, GREASE
 * values (RFC 8701) left out. Writes at most cap bytes (no NUL) and returns
 * the full length; TLS_JA3_MAX always fits. */
#define TLS_JA3_MAX (6u * TLS_HELLO_MAX / 2u + 64u)
size_t tls_ja3_string(const struct tls_hello *h, char *out, size_t cap);
/* MD5 of s as 32 lower-case hex digits and a NUL (libcrypto). */
void tls_ja3_hash(const char *s, size_t n, char out[33]);
/* The client's TLS version as Suricata's ssl_version reads it: the first
 * supported_versions entry that is a TLS version (GREASE skipped), else
 * legacy_version. */
uint16_t tls_client_version(const struct tls_hello *h);

/* ---- HTTP/1.x request (runtime/http.c) ---------------------------------- */

enum {
	HTTP_F_LF_ONLY = 1u << 0,        /* a line ended in a bare LF */
	HTTP_F_TRUNCATED = 1u << 1,      /* limit reached before the end of the headers */
	HTTP_F_NO_HOST = 1u << 2,        /* no host at all (URI or header) */
	HTTP_F_DUP_HOST = 1u << 3,       /* more than one Host header */
	HTTP_F_HOST_CONFLICT = 1u << 4,  /* Host headers with different hosts */
	HTTP_F_HOST_MISMATCH = 1u << 5,  /* URI authority and Host header differ */
	HTTP_F_HOST_TOO_LONG = 1u << 6,  /* normalised host did not fit host_buf */
	HTTP_F_NAMES_TRUNCATED = 1u << 7,/* header_names did not fit names_buf */
	HTTP_F_BAD_HEADER = 1u << 8,     /* a header line without a valid name/colon */
	HTTP_F_FOLDED = 1u << 9,         /* obs-fold continuation line (RFC 9112 §5.2) */
	HTTP_F_UNKNOWN_METHOD = 1u << 10,/* method outside Suricata's detection list */
	HTTP_F_HOST_INVALID = 1u << 11,  /* host has bytes no hostname has, or bad port */
	HTTP_F_LEADING_CRLF = 1u << 12,  /* empty lines before the request line */
	HTTP_F_ABSOLUTE_URI = 1u << 13,  /* absolute-form target (authority from URI) */
	HTTP_F_EMPTY_HOST = 1u << 14,    /* Host present but empty after normalisation */
	HTTP_F_NO_VERSION = 1u << 15,    /* request line without a version: HTTP/0.9 */
	HTTP_F_BAD_VERSION = 1u << 16,   /* a version other than HTTP/1.x (kept as sent) */
	HTTP_F_NO_TARGET = 1u << 17,     /* "OPTIONS HTTP/1.1": no request-target */
	HTTP_F_BAD_LINE = 1u << 18,      /* control bytes or extra spaces in the request line */
};

/* Caller-owned output buffers; either may be NULL (with cap 0). */
struct http_bufs {
	uint8_t *host;   /* normalised host; 256 bytes hold any DNS name */
	size_t host_cap;
	uint8_t *names;  /* the http.header_names buffer */
	size_t names_cap;
};

struct http_req {
	struct hg_slice method, target, version; /* version "HTTP/1.1" */
	uint8_t http_minor;
	/* host[:port] of an absolute-form (or CONNECT authority-form) target;
	 * NULL otherwise. Takes precedence over Host, as in libhtp. */
	struct hg_slice uri_authority;
	struct hg_slice host_raw;      /* first Host header value, OWS trimmed */
	struct hg_slice host;          /* normalised (in bufs->host): lower case, no port, */
				       /* no trailing dots; NULL when there is none */
	struct hg_slice user_agent;    /* first User-Agent value */
	struct hg_slice header_names;  /* "\r\nName\r\n...\r\n" in bufs->names */
	struct hg_slice headers;       /* the header lines as sent, up to the empty line */
	unsigned n_headers;
	uint32_t flags;                /* HTTP_F_* */
	size_t consumed;               /* request line + headers + empty line */
	const char *err;
};

/* Parses the request line and header block of an HTTP/1.x request at the
 * start of buf (RFC 9112 §2-§5). limit is the most the caller will ever
 * buffer: with len >= limit and no end of headers, the headers seen so far
 * are reported as FOUND with HTTP_F_TRUNCATED (INVALID if even the request
 * line is not complete). */
enum hg_parse http_request_parse(const uint8_t *buf, size_t len, size_t limit,
				 const struct http_bufs *bufs, struct http_req *out);

/* The normalised URI of a request-target that Suricata's http.uri matches
 * (runtime/http_uri.c): the path %-decoded, '\\' as '/', dot segments
 * removed and '/' runs compressed; the query as sent; an absolute-form
 * target reduced to its path and query. Writes at most n bytes to out;
 * returns the length. */
size_t http_uri_normalise(const uint8_t *target, size_t n, uint8_t *out);

/* Normalises a Host value or URI authority the way libhtp does for
 * http.host: port removed (after "]" for IPv6 literals), trailing dots
 * removed, ASCII lower case. Writes at most cap bytes to dst; returns the
 * normalised length (> cap: did not fit, dst incomplete). *bad is set when
 * the value holds bytes no host or port has. */
size_t http_host_normalise(const uint8_t *v, size_t n, uint8_t *dst, size_t cap, bool *bad);

/* ---- QUIC Initial (runtime/quic.c) -------------------------------------- */

/* The CRYPTO stream bytes of the Initial packet number space we keep per
 * flow: enough for post-quantum ClientHellos (Chrome's ML-KEM ones take
 * about 1.8 KiB over two packets). */
#define QUIC_CRYPTO_MAX 8192u

enum {
	QUIC_F_SMALL_DATAGRAM = 1u << 0, /* client Initial datagram < 1200 bytes (§14.1) */
	QUIC_F_COALESCED = 1u << 1,      /* more packets followed in the datagram */
	QUIC_F_CRYPTO_OVERFLOW = 1u << 2,/* CRYPTO data beyond QUIC_CRYPTO_MAX dropped */
	QUIC_F_CRYPTO_CONFLICT = 1u << 3,/* retransmitted CRYPTO bytes differed */
	QUIC_F_BAD_FRAME = 1u << 4,      /* a frame not allowed in Initial: parsing stopped */
	QUIC_F_DECRYPT_FAILED = 1u << 5, /* an Initial failed authentication */
	QUIC_F_UNKNOWN_VERSION = 1u << 6,
	QUIC_F_CONN_CLOSE = 1u << 7,     /* CONNECTION_CLOSE seen */
	QUIC_F_NOT_INITIAL = 1u << 8,    /* the datagram held no Initial packet */
};

/* Per-flow state, owned by the caller; zero it (quic_state_init) before the
 * first datagram. About 9 KiB. */
struct quic_state {
	uint8_t crypto[QUIC_CRYPTO_MAX];
	uint8_t have[QUIC_CRYPTO_MAX / 8]; /* bit per crypto byte received */
	uint32_t contig;                   /* crypto bytes contiguous from offset 0 */
	uint32_t version;
	uint32_t packets;                  /* Initials decrypted */
	int64_t largest_pn;                /* -1 before the first */
	bool keys_ready;
	uint8_t key_dcid_len;
	uint8_t key_dcid[20];
	uint8_t key[16], iv[12], hp[16];
	uint32_t flags;                    /* QUIC_F_*, cumulative */
};

struct quic_result {
	uint32_t version;
	struct hg_slice dcid, scid;  /* of the last Initial, into the datagram */
	uint32_t flags;              /* QUIC_F_* (cumulative, from the state) */
	struct tls_hello hello;      /* FOUND: slices point into state->crypto */
	const char *err;
};

void quic_state_init(struct quic_state *st);

/* Feeds one client-to-server UDP datagram. NOT_THIS: not a QUIC long header
 * packet of a version we can read; NEED_MORE: an Initial was read but the
 * ClientHello is not complete yet (feed the next datagram); FOUND: the
 * ClientHello is complete and parsed; INVALID: QUIC, but the packet or the
 * ClientHello is malformed. Decryption failures of a later packet leave the
 * state as it was (NEED_MORE, QUIC_F_DECRYPT_FAILED). */
enum hg_parse quic_initial_parse(struct quic_state *st, const uint8_t *dgram, size_t len,
				 struct quic_result *out);

/* The frames of an already decrypted Initial payload (RFC 9000 §12.4),
 * then the ClientHello check as above: what quic_initial_parse() does after
 * removing protection. For fuzzing and tests. */
enum hg_parse quic_payload_parse(struct quic_state *st, const uint8_t *plain, size_t n,
				 struct quic_result *out);

/* Initial keys for a client's first DCID (RFC 9001 §5.2; v2: RFC 9369 §3.3).
 * Returns false for unknown versions. Exposed for tests. */
bool quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
		       uint8_t key[16], uint8_t iv[12], uint8_t hp[16]);

/* ---- DNS message (runtime/dns.c) ---------------------------------------- */

/* Questions kept per message (their names are dns.query, a multi-buffer:
 * a rule matches if one of them does). A message with more still parses;
 * DNS_F_QUESTIONS_DROPPED says the rest were not kept. */
#define DNS_MAX_QUERIES 8
/* Room for the rendered names of one message: any single name fits (a
 * name is at most 255 bytes on the wire, RFC 1035 §2.3.4, so at most 253
 * rendered); what does not fit is dropped like extra questions. */
#define DNS_NAMES_CAP 1024u

enum {
	DNS_F_RESPONSE = 1u << 0,          /* QR set: a response, not a request */
	DNS_F_MULTI_QUESTION = 1u << 1,    /* QDCOUNT > 1 (RFC 9619: not for QUERY) */
	DNS_F_QUESTIONS_DROPPED = 1u << 2, /* questions beyond what we keep */
	DNS_F_COMPRESSED_QNAME = 1u << 3,  /* a question name used a pointer */
	DNS_F_TRAILING = 1u << 4,          /* bytes after the last record */
	DNS_F_TRUNCATED = 1u << 5,         /* TCP: the records after the questions */
					   /* lie beyond what the caller buffers */
};

struct dns_query {
	struct hg_slice name; /* labels joined by '.', as sent; root: "" */
	uint16_t qtype, qclass;
};

struct dns_msg {
	uint16_t id, hflags; /* the header's flags word */
	uint8_t opcode, rcode;
	uint16_t qdcount, ancount, nscount, arcount;
	unsigned n_queries;  /* kept in q[] */
	struct dns_query q[DNS_MAX_QUERIES];
	uint32_t flags;      /* DNS_F_* */
	size_t consumed;     /* bytes of input the message took (TCP: with its prefix) */
	const char *err;
};

/* Parses one DNS message (RFC 1035 §4.1) as a UDP datagram carries it.
 * Question names are rendered into names (names_cap bytes, DNS_NAMES_CAP
 * is enough for any name; the result's slices point there). Every name,
 * compressed or not, is bounded: labels <= 63, names <= 255 wire bytes,
 * pointers only backwards of the labels that hold them. FOUND: a
 * well-formed message; NOT_THIS: these bytes are not one. */
enum hg_parse dns_udp_parse(const uint8_t *dgram, size_t len, uint8_t *names, size_t names_cap,
			    struct dns_msg *out);

/* The same over TCP (RFC 1035 §4.2.2): a 2-byte length, then the message.
 * NEED_MORE until the message is whole; with limit bytes buffered and the
 * message still longer, the questions are enough (FOUND with
 * DNS_F_TRUNCATED) and INVALID when even they are cut. */
enum hg_parse dns_tcp_parse(const uint8_t *buf, size_t len, size_t limit, uint8_t *names,
			    size_t names_cap, struct dns_msg *out);

/* ---- the other protocols, by their first client bytes (runtime/detect.c) */

/* Protocols recognised from what the client sends first, on any port (the
 * live daemon sees only client-to-server bytes, so that is all detection
 * may use). TCP: SSH, SMB, DCERPC, KRB5, HTTP2 (cleartext preface), SMTP,
 * FTP, IMAP and MSN, whose clients speak after the server's banner: their
 * first command is what identifies them. DNS over TCP is dns.c's. */
struct hg_detect_tcp {
	uint32_t ruled_out; /* detectors that said NOT_THIS (private bits) */
};

/* Looks at the stream's first bytes: FOUND (*proto set), NEED_MORE (a
 * detector needs more bytes; st remembers which are ruled out) or
 * NOT_THIS (none of these protocols). at_limit: no more bytes will be
 * buffered, a partial match is NOT_THIS. */
enum hg_parse hg_detect_tcp(struct hg_detect_tcp *st, const uint8_t *buf, size_t len, bool at_limit,
			    enum hg_app_proto *proto);

/* One client datagram (QUIC and DNS have their parsers). The structured
 * ones, DHCP, TFTP, IKEV2, KRB5 and DCERPC, are tried before DNS (a DHCP
 * message can pass for a DNS one); NTP, whose header has the least to
 * check, after it (weak). HG_APP_UNKNOWN when none. */
enum hg_app_proto hg_detect_udp(const uint8_t *dgram, size_t len, bool weak);

#endif
