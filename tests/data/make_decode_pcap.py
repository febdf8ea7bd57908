#!/usr/bin/python3
# make_decode_pcap.py - writes decode-mini.pcap for tests/test_decode.c:
# an ARP, a VLAN-tagged TCP connection with an HTTP request and the first
# bytes of a response, an IPv6 UDP exchange, and a UDP datagram in two IPv4
# fragments. Timestamps are fixed so the file is reproducible.
import struct
import sys

from scapy.all import ARP, Dot1Q, Ether, IP, IPv6, TCP, UDP, Raw, fragment

C, S = "10.1.0.1", "93.184.216.34"
E = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
REQ = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"

def tcp(src, dst, sp, dp, flags, seq, ack, data=b""):
    p = Ether(**E) / Dot1Q(vlan=10) / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
    return p / Raw(data) if data else p

frames = [
    Ether(**E) / ARP(psrc=C, pdst=S),
    tcp(C, S, 40000, 80, "S", 1000, 0),
    tcp(S, C, 80, 40000, "SA", 5000, 1001),
    tcp(C, S, 40000, 80, "A", 1001, 5001),
    tcp(C, S, 40000, 80, "PA", 1001, 5001, REQ),
    tcp(S, C, 80, 40000, "PA", 5001, 1001 + len(REQ), b"HTTP/"),
    tcp(C, S, 40000, 80, "FA", 1001 + len(REQ), 5006),
    tcp(S, C, 80, 40000, "FA", 5006, 1002 + len(REQ)),
    Ether(**E) / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=5353, dport=53) / Raw(b"q" * 20),
    Ether(**E) / IPv6(src="2001:db8::2", dst="2001:db8::1") / UDP(sport=53, dport=5353) / Raw(b"r" * 20),
]
big = IP(src=C, dst=S, id=4242) / UDP(sport=6000, dport=7000) / Raw(b"z" * 100)
frames += [Ether(**E) / f for f in fragment(big, fragsize=64)]
assert len(frames) == 12

out = open(sys.argv[1] if len(sys.argv) > 1 else "decode-mini.pcap", "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
sec, usec = 1700000000, 123456
for i, f in enumerate(frames):
    b = bytes(f)
    out.write(struct.pack("<IIII", sec + i, usec, len(b), len(b)))
    out.write(b)
out.close()
