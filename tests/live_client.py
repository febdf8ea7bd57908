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
Prints what it did; exit status 0 unless scapy failed."""
import sys
import time

from scapy.all import IP, IPv6, TCP, Raw, conf, send, sr1  # noqa: E402

conf.verb = 0


def ipl(dst):
    return IPv6(dst=dst) if ":" in dst else IP(dst=dst)


def request(host, size=None):
    r = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: live-client\r\n" % host)
    if size is not None:
        pad = size - len(r) - len("X-Pad: \r\n\r\n")
        r += "X-Pad: " + "a" * max(pad, 0) + "\r\n"
    return (r + "\r\n").encode()


def main():
    mode, dst, dport, sport, host = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    ip = ipl(dst)
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
