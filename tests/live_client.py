#!/usr/bin/python3
"""live_client.py - a hostile TCP client for the namespace tests of
`hostgate run`, driven with scapy from the client namespace (the kernel's
own RSTs for this port must be dropped there: the test does that).

  live_client.py MODE DST DPORT SPORT HOST

MODE
  invalid-noack   a payload segment without ACK and without a handshake
                  (conntrack: INVALID)
  invalid-synack  a SYN-ACK carrying the request, sent by the client
                  (conntrack: INVALID)
  desync          a handshake completed by an allowed request placed 200
                  bytes further on in sequence space, then the real start of
                  the stream (200 bytes naming HOST), then the allowed one
                  again: a daemon that takes its first segment for the start
                  of the stream allows the flow and passes the real start as
                  a retransmission
  split3 [PID]    an HTTP request naming HOST in three segments: two at once,
                  then SIGHUP to PID (the daemon: it reloads), the third 0.1 s
                  later (before the client's retransmission timer, after which
                  it would send nothing new until answered); prints the
                  answer's first line
  udp-big         one 2000-byte UDP datagram (its stack fragments it on a 1280
                  MTU link), HOST as its first bytes
  big-hello       a TLS ClientHello naming HOST, padded (RFC 7685) to 20 KB over
                  two records, through an ordinary socket (no scapy)
  paws            insertion after the verdict: a handshake with TCP timestamps
                  (RFC 7323), a request naming www.example.com whose segment
                  carries a timestamp older than the SYN's (the server discards
                  it: PAWS, RFC 7323 5.3), then the same sequence range naming
                  HOST (the same length) with a fresh timestamp
  old-ack         the same, the first segment's ACK far below the server's
                  window (RFC 5961 5.2: the server discards it) instead
  forged-ack      paws, and between the two segments an ACK of the first one
                  forged from the client's side with the server's address
  paws-tls        paws with TLS ClientHellos (517 bytes each, SNI
                  www.example.com, then HOST) instead of HTTP requests
  retrans         paws with HOST sent again unchanged (a benign retransmission)
  reload PID      paws with a SIGHUP to PID (the daemon) after the first
                  segment; then the request naming www.example.com once more
  restart FILE    paws; between the segments it waits for FILE to exist (the
                  test restarts the daemon meanwhile, then creates FILE)
  After these, prints "answer: <status line>" when the server answered ("answer:
  TLS handshake" for a TLS record) and
  "reset" when a reset came back.
The neighbours (issue 11): each inspects as the allowlisted GOOD name while
the server's stack is led to read HOST; MODE-benign does the same moves
with GOOD only (the server must answer it):
  urgent          "GET / HTTP/1.1\r\n", then "ZHost: HOST\r\nHost: GOOD\r\n\r\n"
                  with URG and the urgent pointer on the "Z": Linux reads it out
                  of band, so the server's first Host is HOST (benign: no URG,
                  an X-Note line instead)
  overlap         the request's tail from its Host (GOOD) out of order, then
                  from the same start a longer tail naming HOST (Linux's
                  out-of-order queue keeps the longer), then the head (benign:
                  the same tail twice)
  sack-fill       SACK permitted; the tail from the Host's third byte (GOOD)
                  out of order, leaving a hole, then the whole request naming
                  HOST filling it (Linux delivers the in-order fill) (benign:
                  the fill names GOOD)
  window-edge     the request's tail with its Host (GOOD) at exactly the
                  server's right window edge (the SYN-ACK's window; conntrack
                  takes a segment starting there, Linux's receiver drops it),
                  then the head filling the window, then the tail again
                  naming HOST, three times (benign: GOOD again)
  window-straddle the same with the tail from two bytes before the edge
For these, DST may be a comma-separated list (each gets the flow, from
SPORT on) and MODE+benign runs the benign moves after the attacks.
Prints what it did; exit status 0 unless scapy failed."""
import sys
import time

from scapy.all import IP, IPv6, TCP, AsyncSniffer, Ether, Raw, conf, getmacbyip, getmacbyip6, send, sendp, sr1  # noqa: E402

conf.verb = 0


def ipl(dst):
    return IPv6(dst=dst) if ":" in dst else IP(dst=dst)


def request(host, size=None):
    r = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: live-client\r\n" % host)
    if size is not None:
        pad = size - len(r) - len("X-Pad: \r\n\r\n")
        r += "X-Pad: " + "a" * max(pad, 0) + "\r\n"
    return (r + "\r\n").encode()


def client_hello(host, size):
    """A TLS 1.2 ClientHello (RFC 8446 4.1.2) with SNI (RFC 6066 3) and a
    padding extension (RFC 7685) bringing the handshake message to size."""
    import struct
    name = host.encode()
    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    exts = struct.pack("!HH", 0, len(sni)) + sni
    body_fixed = 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2  # version random sid suites comp extlen
    pad = size - 4 - body_fixed - len(exts) - 4
    exts += struct.pack("!HH", 21, pad) + b"\0" * pad
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    recs = b""
    for i in range(0, len(hs), 16384):
        chunk = hs[i:i + 16384]
        recs += b"\x16\x03\x01" + struct.pack("!H", len(chunk)) + chunk
    return recs


def insertion(mode, ip, dst, dport, sport, host, arg=None):
    """The insertion modes: the first segment names www.example.com and the
    server discards it; the second, same sequence range, names host."""
    isn, ts0, win = 300000, 100000, 8192
    sniff = AsyncSniffer(filter="tcp and src port %d and dst port %d" % (dport, sport), store=True)
    sniff.start()
    time.sleep(0.3)
    sa = sr1(ip / TCP(sport=sport, dport=dport, flags="S", seq=isn, window=win,
                      options=[("MSS", 1200), ("Timestamp", (ts0, 0))]), timeout=3)
    if sa is None or TCP not in sa:
        print("no SYN-ACK")
        sniff.stop()
        return 0
    srv = sa[TCP].seq + 1
    ecr = dict(sa[TCP].options).get("Timestamp", (0, 0))[0]

    def seg(seq, ack, tsval, data=None, flags="A"):
        p = ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=win,
                     options=[("NOP", None), ("NOP", None), ("Timestamp", (tsval, ecr))])
        return p / Raw(data) if data else p

    send(seg(isn + 1, srv, ts0 + 1))
    if mode == "paws-tls":
        first, second = client_hello("www.example.com", 512), client_hello(host, 512)
    else:
        first = request("www.example.com", 200)
        second = first if mode == "retrans" else request(host, 200)
    assert len(first) == len(second)
    if mode == "old-ack":
        send(seg(isn + 1, (srv - 20000) % (1 << 32), ts0 + 2, first, "PA"))
    else:
        send(seg(isn + 1, srv, 5, first, "PA"))  # PAWS-old: far before ts0
    time.sleep(0.5)
    if mode == "reload":
        import os
        import signal
        os.kill(int(arg), signal.SIGHUP)
        time.sleep(1)
    if mode == "restart":
        # the test restarts the daemon, then creates the file named by the
        # last argument: the next segment must meet the new daemon, however
        # long the restart took on a loaded machine
        import os
        print("first sent", flush=True)
        end = time.time() + 60
        while not os.path.exists(arg) and time.time() < end:
            time.sleep(0.05)
    if mode == "forged-ack":
        v6 = ":" in dst
        iface, me, gw = (conf.route6 if v6 else conf.route).route(dst)
        mac = getmacbyip6(gw) if v6 else getmacbyip(gw)
        src_of = IPv6 if v6 else IP
        sendp(Ether(dst=mac) / src_of(src=dst, dst=me) /
              TCP(sport=dport, dport=sport, flags="A", seq=srv, ack=isn + 1 + len(first), window=65000,
                  options=[("NOP", None), ("NOP", None), ("Timestamp", (ecr + 1, ts0 + 2))]), iface=iface)
        time.sleep(0.3)
    send(seg(isn + 1, srv, ts0 + 100, second, "PA"))
    if mode == "reload":
        time.sleep(0.5)
        send(seg(isn + 1, srv, ts0 + 200, first, "PA"))
    time.sleep(1.5)
    sniff.stop()
    print("%s sent" % mode)
    for p in sniff.results or []:
        if Raw in p and bytes(p[Raw].load).startswith(b"HTTP/"):
            print("answer:", bytes(p[Raw].load).split(b"\r\n")[0].decode())
            break
        if Raw in p and bytes(p[Raw].load).startswith(b"\x16\x03"):
            print("answer: TLS handshake")
            break
    if any(p[TCP].flags.R for p in sniff.results or [] if TCP in p):
        print("reset")
    return 0


GOOD = "x.xxxxxxxx.example.com"  # allowlisted (.example.com), as long as x.malicious-domain.com


def handshake(ip, sport, dport, isn):
    """(the server's next sequence number, its SYN-ACK window) or None."""
    sa = sr1(ip / TCP(sport=sport, dport=dport, flags="S", seq=isn, options=[("MSS", 1400), ("SAckOK", b"")]),
             timeout=3)
    if sa is None or TCP not in sa:
        return None
    return sa[TCP].seq + 1, sa[TCP].window


NEIGHBOURS = ("urgent", "overlap", "sack-fill", "window-edge", "window-straddle")


def neighbour(mode, ip, dport, sport, host):
    benign = mode.endswith("-benign")
    mode = mode[:-len("-benign")] if benign else mode
    isn = 300000
    hs = handshake(ip, sport, dport, isn)
    if hs is None:
        print("no SYN-ACK")
        return 0
    ack, win = hs

    def seg(off, data, flags="PA", urgptr=0):
        send(ip / TCP(sport=sport, dport=dport, flags=flags, seq=isn + 1 + off, ack=ack, urgptr=urgptr)
             / Raw(data))
        time.sleep(0.05)

    head = b"GET / HTTP/1.1\r\n"
    good = head + b"Host: " + GOOD.encode() + b"\r\n\r\n"
    at = len(head) + len(b"Host: ")
    if mode == "urgent":
        seg(0, head)
        if benign:
            seg(len(head), b"X-Note: 1\r\nHost: " + GOOD.encode() + b"\r\n\r\n")
        else:
            # Linux (tcp_stdurg 0) takes the byte before seq + pointer: the Z
            seg(len(head), b"ZHost: " + host.encode() + b"\r\nHost: " + GOOD.encode() + b"\r\n\r\n", "PAU", 1)
    elif mode == "overlap":
        other = good if benign else head + b"Host: " + host.encode() + b"\r\nX-Longer: 1\r\n\r\n"
        seg(at, good[at:])
        seg(at, other[at:])
        seg(0, good[:at])
    elif mode == "sack-fill":
        fill = good if benign else head + b"Host: " + host.encode() + b"\r\n\r\n"
        assert len(fill) == len(good) and fill[:at + 2] == good[:at + 2]
        seg(at + 2, good[at + 2:])
        time.sleep(0.2)
        seg(0, fill)
    elif mode in ("window-edge", "window-straddle"):
        pre = head + b"X-Pad: "
        first = pre + b"a" * (win - len(pre) - 2) + b"\r\n"
        assert len(first) == win, (len(first), win)
        # at the edge, or from the head's last two bytes: across it
        at = win if mode == "window-edge" else win - 2
        tail = first[at:] + b"Host: " + GOOD.encode() + b"\r\n\r\n"
        seg(at, tail)
        for off in range(0, win, 1400):
            seg(off, first[off:off + 1400])
        time.sleep(1)
        again = tail if benign else first[at:] + b"Host: " + host.encode() + b"\r\n\r\n"
        for _ in range(3):
            seg(at, again)
            time.sleep(0.5)
    else:
        print("unknown mode", mode)
        return 2
    time.sleep(0.3)
    print("%s%s sent (window %d)" % (mode, "-benign" if benign else "", win))
    return 0


def main():
    mode, dst, dport, sport, host = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    if mode == "split3":
        import socket
        s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind(("::" if ":" in dst else "0.0.0.0", sport))
        s.settimeout(4)
        s.connect((dst, dport))
        req = request(host)
        s.send(req[:10])
        time.sleep(0.02)
        s.send(req[10:20])
        if len(sys.argv) > 6:
            import os
            import signal
            os.kill(int(sys.argv[6]), signal.SIGHUP)
        time.sleep(0.1)
        s.send(req[20:])
        try:
            print("answer:", s.recv(100).split(b"\r\n")[0].decode())
        except OSError as e:
            print("split3:", e)
        return 0
    if mode == "udp-big":
        import socket
        s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("::" if ":" in dst else "0.0.0.0", sport))
        s.sendto((host + " ").encode().ljust(2000, b"u"), (dst, dport))
        print("udp-big sent")
        return 0
    if mode == "big-hello":
        import socket
        s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if ":" in dst else "0.0.0.0", sport))
        s.settimeout(4)
        s.connect((dst, dport))
        try:
            s.sendall(client_hello(host, 20000))
            print("big-hello sent; answer:", len(s.recv(100)))
        except OSError as e:
            print("big-hello:", e)
        return 0
    if mode.split("+")[0] in NEIGHBOURS:
        # One process for several flows (scapy takes seconds to load): the
        # attack to each of DST (comma-separated), then with "+benign" the
        # benign moves to each, from SPORT, SPORT+1, ...
        modes = [mode.split("+")[0]] + ([mode.split("+")[0] + "-benign"] if mode.endswith("+benign") else [])
        for m in modes:
            for d in dst.split(","):
                neighbour(m, ipl(d), dport, sport, host)
                sport += 1
        return 0
    ip = ipl(dst)
    if mode in ("paws", "paws-tls", "old-ack", "forged-ack", "retrans", "reload", "restart"):
        return insertion(mode, ip, dst, dport, sport, host, sys.argv[6] if len(sys.argv) > 6 else None)
    if mode == "invalid-noack":
        for _ in range(3):
            send(ip / TCP(sport=sport, dport=dport, flags="P", seq=1000) / Raw(request(host)))
            time.sleep(0.2)
        return 0
    if mode == "invalid-synack":
        for _ in range(3):
            send(ip / TCP(sport=sport, dport=dport, flags="SA", seq=1000, ack=5000) / Raw(request(host)))
            time.sleep(0.2)
        return 0
    if mode == "desync":
        isn = 100000
        sa = sr1(ip / TCP(sport=sport, dport=dport, flags="S", seq=isn), timeout=3)
        if sa is None or TCP not in sa:
            print("no SYN-ACK")
            return 0
        ack = sa[TCP].seq + 1
        first = request(host, 200)
        assert len(first) == 200, len(first)
        good = request("www.example.com")
        send(ip / TCP(sport=sport, dport=dport, flags="PA", seq=isn + 1 + 200, ack=ack) / Raw(good))
        time.sleep(0.5)
        send(ip / TCP(sport=sport, dport=dport, flags="PA", seq=isn + 1, ack=ack) / Raw(first))
        time.sleep(0.5)
        send(ip / TCP(sport=sport, dport=dport, flags="PA", seq=isn + 1 + 200, ack=ack) / Raw(good))
        time.sleep(1)
        print("desync sent")
        return 0
    print("unknown mode", mode)
    return 2


if __name__ == "__main__":
    sys.exit(main())
