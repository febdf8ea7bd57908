/* source.h - where packets come from: a pcap or pcapng file or a live
 * interface (through libpcap), or an NFLOG group ("nflog:N", nflog.h).
 * Timestamps are microseconds; frames are borrowed until the next call. */
#ifndef HOSTGATE_SOURCE_H
#define HOSTGATE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_source;

/* One captured frame, borrowed from the source until the next call. */
struct hg_frame {
	uint64_t ts_us;
	int linktype;        /* pcap_datalink() value: hand it to hg_decode() */
	uint32_t caplen, wirelen;
	const uint8_t *data;
};

/* Opens a capture file (pcap or pcapng; "-" is stdin). Unsupported link
 * types are refused here. NULL with a message in err on failure. */
struct hg_source *hg_source_open_file(const char *path, char *err, size_t errlen);
/* Opens a live device or "nflog:N" with the given snap length (0: 65535),
 * immediate delivery, and a read timeout of timeout_ms (so the caller can
 * run timers; an NFLOG group never blocks: HG_SOURCE_TIMEOUT at once when
 * nothing is queued, poll hg_source_fd). Needs privileges. */
struct hg_source *hg_source_open_live(const char *dev, int snaplen, int timeout_ms, char *err,
				      size_t errlen);
void hg_source_close(struct hg_source *s);

enum hg_source_result {
	HG_SOURCE_FRAME = 1, /* *f filled */
	HG_SOURCE_TIMEOUT = 0, /* live: nothing within the read timeout */
	HG_SOURCE_EOF = -1,
	HG_SOURCE_ERROR = -2, /* hg_source_error() says what */
};
enum hg_source_result hg_source_next(struct hg_source *s, struct hg_frame *f);

int hg_source_linktype(const struct hg_source *s);
const char *hg_source_linktype_name(const struct hg_source *s);
const char *hg_source_error(const struct hg_source *s);
/* A descriptor to poll for live sources; -1 for files. */
int hg_source_fd(const struct hg_source *s);
/* Stops a blocking hg_source_next() (from a signal handler: pcap_breakloop). */
void hg_source_break(struct hg_source *s);

#endif
