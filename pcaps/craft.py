#!/usr/bin/python3
"""craft.py - writes the crafted evasion captures pcaps/evasion-*.pcap.

Each capture holds complete TCP (or UDP) conversations between a HOME_NET
client (10.77.1.0/24) and an internet server (198.51.100.20) whose first
bytes try to slip past a domain filter: 1-byte segments, out-of-order and
overlapping segments, duplicate Host headers, trailing-dot and mixed-case
names, IP fragments, QUIC Initials, and flows picked up mid-stream. Deterministic: fixed ports, sequence
numbers and timestamps, so re-running gives identical files.
Usage: /usr/bin/python3 pcaps/craft.py [OUTDIR]"""
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.all import IP, TCP, UDP, Ether, Raw, fragment, wrpcap

SERVER = "198.51.100.20"


def ETH():
    """Fixed MACs: the output must not depend on this host's interfaces."""
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
T0 = 1764000000.0


class Clock:
    def __init__(self):
        self.t = T0

    def next(self):
        self.t += 0.001
        return self.t


def client_hello(sni, pad=0):
    """A TLS 1.3-capable ClientHello record (RFC 8446 §4.1.2) for sni."""
    exts = b""
    if sni is not None:
        name = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        sn = struct.pack("!H", len(entry)) + entry
        exts += struct.pack("!HH", 0, len(sn)) + sn
    groups = b"\x00\x1d\x00\x17"
    exts += struct.pack("!HHH", 10, len(groups) + 2, len(groups)) + groups
    exts += struct.pack("!HHB", 43, 3, 2) + b"\x03\x04"  # supported_versions
    ks = b"\x00\x1d" + struct.pack("!H", 32) + bytes(range(32))
    exts += struct.pack("!HHH", 51, len(ks) + 2, len(ks)) + ks
    if pad:
        exts += struct.pack("!HH", 21, pad) + b"\x00" * pad  # padding (RFC 7685)
    body = b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(32)
    body += struct.pack("!H", 4) + b"\x13\x01\x13\x02" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return hs, b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


class Flow:
    """One TCP conversation; collects frames with timestamps."""

    def __init__(self, clock, client, sport, dport, dst=SERVER):
        self.c, self.s, self.sp, self.dp = client, dst, sport, dport
        self.cseq, self.sseq = 1000, 5000
        self.clock = clock
        self.frames = []

    def add(self, pkt):
        pkt.time = self.clock.next()
        self.frames.append(pkt)

    def c2s(self, flags, payload=b"", seq=None):
        return ETH() / IP(src=self.c, dst=self.s, ttl=64) / TCP(
            sport=self.sp, dport=self.dp, flags=flags,
            seq=self.cseq if seq is None else seq, ack=self.sseq) / Raw(payload)

    def s2c(self, flags, payload=b""):
        return ETH() / IP(src=self.s, dst=self.c, ttl=57) / TCP(
            sport=self.dp, dport=self.sp, flags=flags, seq=self.sseq, ack=self.cseq) / Raw(payload)

    def handshake(self):
        p = self.c2s("S")
        p[TCP].ack = 0
        self.add(p)
        self.cseq += 1
        self.add(self.s2c("SA"))
        self.sseq += 1
        self.add(self.c2s("A"))

    def send(self, segments):
        """segments: list of (offset, bytes) relative to the current seq,
        sent in the order given; the stream advances by the furthest end."""
        end = 0
        for off, data in segments:
            self.add(self.c2s("PA", data, seq=self.cseq + off))
            end = max(end, off + len(data))
        self.cseq += end
        self.add(self.s2c("A"))

    def close(self, reply=b""):
        if reply:
            self.add(self.s2c("PA", reply))
            self.sseq += len(reply)
        self.add(self.c2s("FA"))
        self.cseq += 1
        self.add(self.s2c("FA"))
        self.sseq += 1
        self.add(self.c2s("A"))


def chunks(data, n):
    return [(i, data[i:i + n]) for i in range(0, len(data), n)]


def tls_flow(clock, client, sport, sni, segments_of):
    f = Flow(clock, client, sport, 443)
    f.handshake()
    _, rec = client_hello(sni)
    f.send(segments_of(rec))
    f.close(b"\x15\x03\x03\x00\x02\x02\x28")  # a fatal alert from the server
    return f.frames


def http_flow(clock, client, sport, request, dport=80):
    f = Flow(clock, client, sport, dport)
    f.handshake()
    f.send([(0, request)])
    f.close(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    return f.frames


def one_byte(rec):
    return chunks(rec, 1)


def out_of_order(rec):
    third = len(rec) // 3
    return [(2 * third, rec[2 * third:]), (0, rec[:third]), (third, rec[third:2 * third])]


def overlap_conflict(allowed_rec, other_rec):
    """The second half first (out of order), then a conflicting copy of it
    carrying different bytes (same length), then the first half: the
    conflict arrives before the ClientHello is complete, so it is seen
    while the flow is still being decided."""
    half = len(allowed_rec) // 2

    def segs(_):
        return [(half, allowed_rec[half:]), (half, other_rec[half:]), (0, allowed_rec[:half])]
    return segs


def fragmented_tls(clock, client, sport, sni, overlap=False):
    f = Flow(clock, client, sport, 443)
    f.handshake()
    _, rec = client_hello(sni)
    pkt = f.c2s("PA", rec)
    pkt[IP].id = 4242 + sport
    frags = fragment(pkt[IP], fragsize=96)
    if overlap:
        # A second copy of the fragment holding the SNI, different bytes.
        bad = frags[1].copy()
        raw = bytearray(bytes(bad[Raw].load)) if Raw in bad else bytearray(bytes(bad.payload))
        raw = bytes(b ^ 0x20 if 0x61 <= b <= 0x7a else b for b in raw)
        bad = IP(src=bad.src, dst=bad.dst, id=bad.id, flags=bad.flags, frag=bad.frag, proto=6) / Raw(raw)
        frags.insert(2, bad)
    for fr in frags:
        f.add(ETH() / fr)
    f.cseq += len(rec)
    f.add(f.s2c("A"))
    f.close()
    return f.frames


def midstream(clock, client, sport, dport, payload):
    """A connection picked up mid-stream (no handshake seen: asymmetric
    routing, a failed-over gateway): StreamExceptionPolicy decides it, and
    the report still names what it carried."""
    f = Flow(clock, client, sport, dport)
    f.send([(0, payload)])
    f.close()
    return f.frames


def stateless_probes(clock):
    """Packets for rulesets/stateless.yaml, one flow each, in its rules'
    terms (reference/anfw.md §3.1): telnet, a listed bad source, DNS to the
    resolver, a web SYN, ICMP, and UDP and TCP datagrams in fragments."""
    out = []

    def add(pkt):
        pkt.time = clock.next()
        out.append(pkt)
    add(ETH() / IP(src="10.0.1.5", dst="192.0.2.10", id=1) / TCP(sport=41001, dport=23, flags="S"))
    add(ETH() / IP(src="198.51.100.9", dst="192.0.2.10", id=2) / UDP(sport=41002, dport=9999) / Raw(b"x"))
    add(ETH() / IP(src="10.0.1.5", dst="10.0.0.2", id=3) / UDP(sport=41003, dport=53) / Raw(b"q" * 20))
    add(ETH() / IP(src="10.0.1.5", dst="192.0.2.10", id=4) / TCP(sport=41004, dport=80, flags="S"))
    add(ETH() / IP(src="10.0.1.5", dst="192.0.2.10", id=5) / ICMP_ECHO())
    for fr in fragment(IP(src="10.0.1.5", dst="192.0.2.10", id=6) / UDP(sport=41006, dport=9999) / Raw(b"u" * 300),
                       fragsize=128):
        add(ETH() / fr)
    for fr in fragment(IP(src="10.0.1.5", dst="192.0.2.10", id=7) / TCP(sport=41007, dport=443, flags="S")
                       / Raw(b"t" * 300), fragsize=128):
        add(ETH() / fr)
    return out


def ICMP_ECHO():
    from scapy.all import ICMP
    return ICMP(type=8, id=7, seq=1)


# ---- QUIC v1 Initial (RFC 9000 §17.2.2, RFC 9001 §5) --------------------
INITIAL_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def hkdf_extract(salt, ikm):
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label.encode()
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        h = hmac.HMAC(secret, hashes.SHA256())
        h.update(t + info + bytes([i]))
        t = h.finalize()
        out += t
        i += 1
    return out[:length]


def varint(v):
    if v < 64:
        return bytes([v])
    if v < 16384:
        return struct.pack("!H", 0x4000 | v)
    return struct.pack("!I", 0x80000000 | v)


def quic_initial(dcid, scid, crypto_frames, pn=0):
    secret = hkdf_extract(INITIAL_SALT, dcid)
    client = hkdf_expand_label(secret, "client in", 32)
    key = hkdf_expand_label(client, "quic key", 16)
    iv = hkdf_expand_label(client, "quic iv", 12)
    hp = hkdf_expand_label(client, "quic hp", 16)
    payload = b""
    for off, data in crypto_frames:
        payload += b"\x06" + varint(off) + varint(len(data)) + data
    payload += b"\x00" * max(0, 1162 - len(payload))  # pad the datagram to >= 1200
    pn_bytes = struct.pack("!I", pn)
    first = 0xc0 | 0x03  # long header, Initial, 4-byte packet number
    hdr = bytes([first]) + b"\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    hdr += varint(0)  # no token
    hdr += struct.pack("!H", 0x4000 | (len(payload) + 4 + 16))
    pn_off = len(hdr)
    hdr += pn_bytes
    nonce = bytes(a ^ b for a, b in zip(iv, b"\x00" * 8 + pn_bytes))
    ct = AESGCM(key).encrypt(nonce, payload, hdr)
    sample = ct[4 - 4:4 - 4 + 16]  # sample starts 4 bytes after the pn offset
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    hdr = bytearray(hdr)
    hdr[0] ^= mask[0] & 0x0f
    for i in range(4):
        hdr[pn_off + i] ^= mask[1 + i]
    return bytes(hdr) + ct


def quic_flow(clock, client, sport, sni, split=False):
    hs, _ = client_hello(sni, pad=0 if not split else 1400)
    dcid = bytes([0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, sport & 0xff])
    scid = b"\x01\x02\x03\x04"
    frames = []
    if split:  # the ClientHello across two Initial packets (as Chrome's Kyber ones)
        cut = 700
        dgrams = [quic_initial(dcid, scid, [(0, hs[:cut])], 0),
                  quic_initial(dcid, scid, [(cut, hs[cut:])], 1)]
    else:
        dgrams = [quic_initial(dcid, scid, [(0, hs)], 0)]
    for d in dgrams:
        p = ETH() / IP(src=client, dst=SERVER, ttl=64) / UDP(sport=sport, dport=443) / Raw(d)
        p.time = clock.next()
        frames.append(p)
    r = ETH() / IP(src=SERVER, dst=client, ttl=57) / UDP(sport=443, dport=sport) / Raw(b"\xc0" + bytes(60))
    r.time = clock.next()
    frames.append(r)
    return frames


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    ck = Clock()
    caps = {}
    caps["evasion-1byte-segments"] = (
        tls_flow(ck, "10.77.1.10", 40001, "api.github.com", one_byte)
        + tls_flow(ck, "10.77.1.10", 40002, "evil.malicious-domain.com", one_byte))
    caps["evasion-out-of-order"] = (
        tls_flow(ck, "10.77.1.11", 40011, "www.example.com", out_of_order)
        + tls_flow(ck, "10.77.1.11", 40012, "fooexample.com", out_of_order))
    _, good = client_hello("api.github.com")
    _, bad = client_hello("api.github.xyz")
    caps["evasion-overlap"] = (
        tls_flow(ck, "10.77.1.12", 40021, None, overlap_conflict(good, bad)))
    caps["evasion-http-host"] = (
        http_flow(ck, "10.77.1.13", 40031,
                  b"GET / HTTP/1.1\r\nHost: api.github.com\r\nHost: evil.malicious-domain.com\r\n"
                  b"User-Agent: craft\r\n\r\n")
        + http_flow(ck, "10.77.1.13", 40032,
                    b"GET / HTTP/1.1\r\nHost: WWW.Example.COM.:8080\r\nUser-Agent: craft\r\n\r\n", 8080)
        + http_flow(ck, "10.77.1.13", 40033,
                    b"GET http://api.github.com/ HTTP/1.1\r\nHost: phishing-site.net\r\n\r\n")
        + http_flow(ck, "10.77.1.13", 40034, b"GET / HTTP/1.0\r\nUser-Agent: craft\r\n\r\n")
        + http_flow(ck, "10.77.1.13", 40035,
                    b"GET / HTTP/1.1\r\nHost: Phishing-Site.NET.\r\n\r\n"))
    caps["evasion-names"] = (
        tls_flow(ck, "10.77.1.14", 40041, "API.GitHub.com.", lambda r: [(0, r)])
        + tls_flow(ck, "10.77.1.14", 40042, "Evil.Malicious-Domain.COM", lambda r: [(0, r)])
        + tls_flow(ck, "10.77.1.14", 40043, "notmalicious-domain.com", lambda r: [(0, r)])
        + tls_flow(ck, "10.77.1.14", 40044, None, lambda r: [(0, r)]))
    caps["evasion-ip-fragments"] = (
        fragmented_tls(ck, "10.77.1.15", 40051, "phishing-site.net")
        + fragmented_tls(ck, "10.77.1.15", 40052, "api.github.com"))
    caps["quic-initial"] = (
        quic_flow(ck, "10.77.1.16", 40061, "api.github.com")
        + quic_flow(ck, "10.77.1.16", 40062, "evil.malicious-domain.com", split=True))
    caps["midstream"] = (
        midstream(ck, "10.77.1.17", 40071, 443, client_hello("api.github.com")[1])
        + midstream(ck, "10.77.1.17", 40072, 80, b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"))
    caps["stateless"] = stateless_probes(ck)
    for name, frames in caps.items():
        path = os.path.join(out, name + ".pcap")
        wrpcap(path, frames)
        print("wrote", path, len(frames), "packets")


if __name__ == "__main__":
    main()
