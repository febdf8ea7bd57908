/* source.c - libpcap behind a small iterator: files (pcap, pcapng) and live
 * interfaces, microsecond timestamps, and a clean refusal of link types the
 * decoder cannot read; NFLOG groups ("nflog:N") through nflog.c, which
 * reads them many messages a system call. */
#include "hostgate/source.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostgate/decode.h"
#include "hostgate/nflog.h"

struct hg_source {
	pcap_t *pc;
	struct hg_nflog *nflog; /* instead of pc */
	int dlt;
	bool live;
	char err[PCAP_ERRBUF_SIZE + 64];
};

static struct hg_source *finish_open(pcap_t *pc, bool live, const char *what, char *err,
				     size_t errlen)
{
	int dlt = pcap_datalink(pc);
	if (!hg_linktype_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);
		snprintf(err, errlen, "%s: unsupported link type %d (%s)", what, dlt,
			 name ? name : "unknown");
		pcap_close(pc);
		return NULL;
	}
	struct hg_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", what);
		pcap_close(pc);
		return NULL;
	}
	s->pc = pc;
	s->dlt = dlt;
	s->live = live;
	return s;
}

struct hg_source *hg_source_open_file(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
							      ebuf);
	if (!pc) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return NULL;
	}
	return finish_open(pc, false, path, err, errlen);
}

struct hg_source *hg_source_open_live(const char *dev, int snaplen, int timeout_ms, char *err,
				      size_t errlen)
{
	unsigned group;
	char tail;
	if (sscanf(dev, "nflog:%u%c", &group, &tail) == 1 || !strcmp(dev, "nflog")) {
		struct hg_source *s = calloc(1, sizeof(*s));
		if (!s) {
			snprintf(err, errlen, "%s: out of memory", dev);
			return NULL;
		}
		s->nflog = hg_nflog_open(strcmp(dev, "nflog") ? group : 0, (uint32_t)(snaplen > 0 ? snaplen : 65535),
					 err, errlen);
		if (!s->nflog) {
			free(s);
			return NULL;
		}
		s->dlt = DLT_NFLOG;
		s->live = true;
		return s;
	}
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_create(dev, ebuf);
	if (!pc) {
		snprintf(err, errlen, "%s: %s", dev, ebuf);
		return NULL;
	}
	pcap_set_snaplen(pc, snaplen > 0 ? snaplen : 65535);
	pcap_set_timeout(pc, timeout_ms > 0 ? timeout_ms : 100);
	pcap_set_immediate_mode(pc, 1);
	pcap_set_tstamp_precision(pc, PCAP_TSTAMP_PRECISION_MICRO);
	int rc = pcap_activate(pc);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", dev,
			 rc == PCAP_ERROR ? pcap_geterr(pc) : pcap_statustostr(rc));
		pcap_close(pc);
		return NULL;
	}
	return finish_open(pc, true, dev, err, errlen);
}

void hg_source_close(struct hg_source *s)
{
	if (!s)
		return;
	if (s->nflog)
		hg_nflog_close(s->nflog);
	else
		pcap_close(s->pc);
	free(s);
}

enum hg_source_result hg_source_next(struct hg_source *s, struct hg_frame *f)
{
	if (s->nflog) {
		enum hg_source_result r = hg_nflog_next(s->nflog, f);
		if (r == HG_SOURCE_ERROR)
			snprintf(s->err, sizeof(s->err), "%s", hg_nflog_error(s->nflog));
		return r;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(s->pc, &h, &data);
	switch (rc) {
	case 1:
		f->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		f->linktype = s->dlt;
		f->caplen = h->caplen;
		f->wirelen = h->len;
		f->data = data;
		return HG_SOURCE_FRAME;
	case 0:
		return HG_SOURCE_TIMEOUT;
	case PCAP_ERROR_BREAK:
		return HG_SOURCE_EOF;
	default:
		snprintf(s->err, sizeof(s->err), "%s", pcap_geterr(s->pc));
		return HG_SOURCE_ERROR;
	}
}

int hg_source_linktype(const struct hg_source *s)
{
	return s->dlt;
}

const char *hg_source_linktype_name(const struct hg_source *s)
{
	const char *n = pcap_datalink_val_to_name(s->dlt);
	return n ? n : "unknown";
}

const char *hg_source_error(const struct hg_source *s)
{
	return s->err;
}

int hg_source_fd(const struct hg_source *s)
{
	if (s->nflog)
		return hg_nflog_fd(s->nflog);
	return s->live ? pcap_get_selectable_fd(s->pc) : -1;
}

void hg_source_break(struct hg_source *s)
{
	if (s->nflog)
		return; /* its reads never block */
	pcap_breakloop(s->pc);
}
