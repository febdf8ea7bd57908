/* nflog.h - an NFLOG group read straight from nfnetlink_log (source.c opens
 * "nflog:N" with it): many messages a system call, frames as libpcap gives
 * them for DLT_NFLOG. Needs CAP_NET_ADMIN. */
#ifndef HOSTGATE_NFLOG_H
#define HOSTGATE_NFLOG_H

#include <stddef.h>
#include <stdint.h>

#include "hostgate/source.h"

struct hg_nflog;

/* Binds group (0-65535) with copies of up to snaplen bytes of each packet
 * (0: 65535). The descriptor is non-blocking. NULL with a message in err
 * (the group bound by another socket: EBUSY). */
struct hg_nflog *hg_nflog_open(unsigned group, uint32_t snaplen, char *err, size_t errlen);
void hg_nflog_close(struct hg_nflog *n);
int hg_nflog_fd(const struct hg_nflog *n);
/* The next logged packet: HG_SOURCE_FRAME (f borrowed until the next
 * call; linktype DLT_NFLOG, data the message's nfgenmsg and attributes; the
 * time the kernel's NFULA_TIMESTAMP, else when it was read),
 * HG_SOURCE_TIMEOUT when nothing is queued (never blocks), or
 * HG_SOURCE_ERROR (messages lost to a full socket buffer, a truncated
 * datagram: the next call goes on; hg_nflog_error says what). */
enum hg_source_result hg_nflog_next(struct hg_nflog *n, struct hg_frame *f);
const char *hg_nflog_error(const struct hg_nflog *n);

#endif
