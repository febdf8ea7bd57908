#!/usr/bin/python3
"""make_hostile_names.py - writes hostile-names.pcap: TLS ClientHellos whose
SNI carries bytes a terminal must not get raw (CR/LF, ESC, a bidi override,
a zero-width space, invalid UTF-8), and an HTTP request whose Host carries a
right-to-left override. Uses pcaps/craft.py's builders; deterministic.
Usage: /usr/bin/python3 tests/data/replay/make_hostile_names.py"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "pcaps"))
import craft  # noqa: E402
from scapy.all import wrpcap  # noqa: E402


class Raw(bytes):
    """craft.client_hello encodes its name; these are bytes already."""

    def encode(self):
        return bytes(self)


NAMES = [
    b"evil.example.com\r\nTCP fake -> row allowed",
    b"a\x1b[31mred.example.com",
    b"moc.elpmaxe\xe2\x80\xae.example.com",
    b"zero\xe2\x80\x8bwidth.example.com",
    b"bad\xff\xfeutf8.example.com",
    b"back\\slash.example.com",
]


def main():
    clock = craft.Clock()
    frames = []
    for i, name in enumerate(NAMES):
        frames += craft.tls_flow(clock, "10.77.1.5", 40000 + i, Raw(name), lambda r: [(0, r)])
    req = b"GET / HTTP/1.1\r\nHost: rtl\xe2\x80\xaemoc.example.com\r\n\r\n"
    frames += craft.http_flow(clock, "10.77.1.5", 41000, req)
    wrpcap(os.path.join(HERE, "hostile-names.pcap"), frames)


if __name__ == "__main__":
    main()
