#!/usr/bin/python3
# differential.py - replay against the kernel, packet for packet.
#
# For each ruleset in rulesets/ (every file with a golden .nft next to it,
# so rulesets other helpers add join by themselves): the same generated
# probes are (1) written to a pcap and replayed with `hostgate replay
# --packets`, and (2) sent from a client namespace through a gateway
# namespace that has the compiled table loaded, to a server namespace where
# tcpdump records what arrived. The kernel's fate of each probe (arrived or
# not) must equal the engine's verdict for the same packets.
#
# What is compared: the decisions the table makes without the daemon
# (stateless rules and defaults, fragments, kernel-decided 5-tuple rules,
# strict-order drop defaults). No daemon runs: a probe the table holds for
# it (copied to the hold NFLOG group and dropped, seen by a tcpdump on that
# group in the gateway) is counted as left to the daemon, not compared. An
# undecided probe the table does not hold passes on both sides (§3.3: with
# no default action unmatched traffic passes). Every probe is the first
# packet of its own flow (a fresh 5-tuple, a TCP SYN), so conntrack and the
# engine both see a new flow (the mid-stream probes are the first packet
# of a connection neither saw start).
#
# Some probes also carry the fate ANFW's documentation gives them
# (expect=...), checked against both sides (reference/anfw.md §3.1: "Network
# Firewall only manages UDP packet fragments and silently drops packet
# fragments for other protocols", API FirewallPolicy.
# StatelessFragmentDefaultActions).
#
# usage: differential.py HOSTGATE SRCDIR WORKDIR
# Prints one line per ruleset and a total; exit 0 when every compared probe
# agrees, 1 on a mismatch, 77 when it cannot run (not root, no scapy).
import glob
import json
import os
import re
import struct
import subprocess
import sys
import time

try:
    from scapy.all import (IP, TCP, UDP, ICMP, Ether, Raw, fragment, wrpcap, rdpcap, RawPcapReader,
                           IPv6, IPv6ExtHdrFragment, fragment6, IPerror, IPerror6)
except ImportError:
    print("scapy not available: skipped")
    sys.exit(77)

HG, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
PID = os.getpid()
NS = {r: "hg-diff-%d-%s" % (PID, r) for r in ("cli", "gw", "srv")}
IF = {"c": "hdc%d" % PID, "g": "hdg%d" % PID, "h": "hdh%d" % PID, "s": "hds%d" % PID}


def sh(cmd, check=True, **kw):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, **kw)
    if check and r.returncode:
        raise RuntimeError("%s: %s%s" % (cmd, r.stdout, r.stderr))
    return r


def nsx(ns, cmd, **kw):
    return sh("ip netns exec %s %s" % (NS[ns], cmd), **kw)


def topology():
    for n in NS.values():
        sh("ip netns del %s" % n, check=False)
        sh("ip netns add %s" % n)
        sh("ip -n %s link set lo up" % n)
    sh("ip link add %s type veth peer name %s" % (IF["c"], IF["g"]))
    sh("ip link add %s type veth peer name %s" % (IF["h"], IF["s"]))
    sh("ip link set %s netns %s" % (IF["c"], NS["cli"]))
    sh("ip link set %s netns %s" % (IF["g"], NS["gw"]))
    sh("ip link set %s netns %s" % (IF["h"], NS["gw"]))
    sh("ip link set %s netns %s" % (IF["s"], NS["srv"]))
    c, g, h, s = IF["c"], IF["g"], IF["h"], IF["s"]
    sh("ip -n %s addr add 10.0.1.2/24 dev %s" % (NS["cli"], c))
    sh("ip -n %s -6 addr add fd00:1::2/64 dev %s nodad" % (NS["cli"], c))
    sh("ip -n %s link set %s up" % (NS["cli"], c))
    sh("ip -n %s addr add 10.0.1.1/24 dev %s" % (NS["gw"], g))
    sh("ip -n %s -6 addr add fd00:1::1/64 dev %s nodad" % (NS["gw"], g))
    sh("ip -n %s addr add 10.0.2.1/24 dev %s" % (NS["gw"], h))
    sh("ip -n %s -6 addr add fd00:2::1/64 dev %s nodad" % (NS["gw"], h))
    sh("ip -n %s link set %s up && ip -n %s link set %s up" % (NS["gw"], g, NS["gw"], h))
    sh("ip -n %s addr add 10.0.2.2/24 dev %s" % (NS["srv"], s))
    sh("ip -n %s -6 addr add fd00:2::2/64 dev %s nodad" % (NS["srv"], s))
    sh("ip -n %s link set %s up" % (NS["srv"], s))
    # The gateway forwards every probe's destination to the server side,
    # whatever its source (no reverse-path filter: sources are made up).
    sh("ip -n %s route add default via 10.0.2.2" % NS["gw"])
    sh("ip -n %s -6 route add default via fd00:2::2" % NS["gw"])
    for k in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
              "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
              "net.ipv4.conf.%s.rp_filter=0" % g, "net.ipv4.conf.all.send_redirects=0"):
        nsx("gw", "sysctl -qw %s" % k)
    sh("ip -n %s route add default via 10.0.1.1" % NS["cli"])
    sh("ip -n %s route add default via 10.0.2.1" % NS["srv"])
    # The path is usable once a connection attempt gets the server's
    # answer (links come up a moment after `ip link set up`): a readiness
    # wait, nothing is timed.
    probe = ("import socket,sys\ns=socket.socket();s.settimeout(1)\n"
             "try: s.connect(('10.0.2.2',9))\nexcept ConnectionRefusedError: sys.exit(0)\n"
             "except OSError: sys.exit(1)\n")
    for _ in range(50):
        if subprocess.run(["ip", "netns", "exec", NS["cli"], "/usr/bin/python3", "-c", probe]).returncode == 0:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("no path client -> gateway -> server")


def cleanup():
    for n in NS.values():
        sh("ip netns del %s" % n, check=False)


def mac(ns, ifname):
    return nsx(ns, "cat /sys/class/net/%s/address" % ifname).stdout.strip()


# ---------------------------------------------------------------- probes
#
# Each probe is one datagram (maybe in fragments) with a unique IP id / flow
# label and source port, so every probe is its own flow.

SRCS4 = ["10.0.1.2", "10.0.7.9", "198.51.100.7", "203.0.113.9", "172.16.5.5"]
DSTS4 = ["10.0.2.2", "10.0.0.2", "93.184.216.34", "198.51.100.20", "192.0.2.10"]
TCP_PORTS = [22, 23, 25, 80, 443, 853, 3389, 8080, 9999]
UDP_PORTS = [53, 123, 443, 5353, 9999]


def probes():
    out = []  # (name, [packets], expect or None)
    ident = [0x1000]
    sport = [20000]

    def nid():
        ident[0] += 1
        return ident[0]

    def nsp():
        sport[0] += 1
        return sport[0]

    for s in SRCS4:
        for d in DSTS4:
            for p in TCP_PORTS:
                i = nid()
                out.append(("tcp-syn %s->%s:%d" % (s, d, p),
                            [IP(src=s, dst=d, id=i, ttl=64) / TCP(sport=nsp(), dport=p, flags="S", seq=1000)],
                            None, i))
            for p in UDP_PORTS:
                i = nid()
                out.append(("udp %s->%s:%d" % (s, d, p),
                            [IP(src=s, dst=d, id=i, ttl=64) / UDP(sport=nsp(), dport=p) / Raw(b"hostgate probe %d" % i)],
                            None, i))
            for p in (80, 443):
                # A connection picked up mid-stream (an ACK with data, no
                # SYN seen): StreamExceptionPolicy, after the stateless layer.
                i = nid()
                out.append(("tcp-midstream %s->%s:%d" % (s, d, p),
                            [IP(src=s, dst=d, id=i, ttl=64) / TCP(sport=nsp(), dport=p, flags="PA", seq=7000, ack=9000)
                             / Raw(b"midstream %d" % i)], None, i))
            i = nid()
            out.append(("icmp %s->%s" % (s, d), [IP(src=s, dst=d, id=i, ttl=64) / ICMP(id=i & 0xffff, seq=1)], None, i))
            i = nid()
            out.append(("ip47 %s->%s" % (s, d), [IP(src=s, dst=d, id=i, ttl=64, proto=47) / Raw(b"\0" * 8)], None, i))
    # Fragments: UDP datagrams in three fragments (stateless rules and the
    # fragment default decide them), TCP and ICMP ones (always dropped).
    for s in ("10.0.1.2", "198.51.100.7"):
        for d in ("10.0.2.2", "10.0.0.2", "93.184.216.34"):
            for p in (53, 9999):
                i = nid()
                dg = IP(src=s, dst=d, id=i, ttl=64) / UDP(sport=nsp(), dport=p) / Raw(b"U" * 600)
                out.append(("udp-frags %s->%s:%d" % (s, d, p), fragment(dg, fragsize=256), None, i))
            i = nid()
            dg = IP(src=s, dst=d, id=i, ttl=64) / TCP(sport=nsp(), dport=443, flags="S", seq=1) / Raw(b"T" * 600)
            out.append(("tcp-frags %s->%s:443" % (s, d), fragment(dg, fragsize=256), "drop", i))
            i = nid()
            dg = IP(src=s, dst=d, id=i, ttl=64) / ICMP(id=i & 0xffff) / Raw(b"I" * 600)
            out.append(("icmp-frags %s->%s" % (s, d), fragment(dg, fragsize=256), "drop", i))
    # IPv6: a few plain probes and fragments.
    for d in ("fd00:2::2", "2001:db8::10"):
        for p in (53, 443):
            i = nid()
            out.append(("udp6 ->%s:%d" % (d, p),
                        [IPv6(src="fd00:1::2", dst=d, fl=i) / UDP(sport=nsp(), dport=p) / Raw(b"probe6 %d" % i)], None, i))
            i = nid()
            out.append(("tcp6-syn ->%s:%d" % (d, p),
                        [IPv6(src="fd00:1::2", dst=d, fl=i) / TCP(sport=nsp(), dport=p, flags="S")], None, i))
        i = nid()
        dg = IPv6(src="fd00:1::2", dst=d, fl=i) / IPv6ExtHdrFragment(id=i) / UDP(sport=nsp(), dport=53) / Raw(b"V" * 900)
        out.append(("udp6-frags ->%s:53" % d, fragment6(dg, 400), None, i))
        # Atomic fragments (offset 0, M 0; RFC 6946): whole datagrams.
        for p in (53, 443):
            i = nid()
            l4 = UDP(sport=nsp(), dport=p) / Raw(b"atomic %d" % i) if p == 53 else TCP(sport=nsp(), dport=p, flags="S")
            out.append(("%s6-atomic ->%s:%d" % ("udp" if p == 53 else "tcp", d, p),
                        [IPv6(src="fd00:1::2", dst=d, fl=i) / IPv6ExtHdrFragment(id=i, offset=0, m=0) / l4], None, i))
        i = nid()
        dg = IPv6(src="fd00:1::2", dst=d, fl=i) / IPv6ExtHdrFragment(id=i) / TCP(sport=nsp(), dport=443, flags="S") / Raw(b"W" * 900)
        out.append(("tcp6-frags ->%s:443" % d, fragment6(dg, 400), "drop", i))
    # Addresses of MaxMind's test database (tests/data/geoip: per its source
    # JSON 81.2.69.160 and 2a02:d3c0::1 are GB, 89.160.20.200 and
    # 2a02:d040::7 SE, 216.160.83.57 US, 111.235.160.1 CN) for the geoip
    # rules of rulesets/geoip-refsets.yaml; other rulesets just see more
    # addresses.
    for s in ("10.0.1.2", "89.160.20.200", "216.160.83.57"):
        for d in ("81.2.69.160", "89.160.20.200", "216.160.83.57", "111.235.160.1", "10.0.2.2"):
            if s == d:
                continue
            for p in (80, 443):
                i = nid()
                out.append(("tcp-syn %s->%s:%d" % (s, d, p),
                            [IP(src=s, dst=d, id=i, ttl=64) / TCP(sport=nsp(), dport=p, flags="S", seq=1000)],
                            None, i))
            i = nid()
            out.append(("udp %s->%s:53" % (s, d),
                        [IP(src=s, dst=d, id=i, ttl=64) / UDP(sport=nsp(), dport=53) / Raw(b"hostgate probe %d" % i)],
                        None, i))
            i = nid()
            out.append(("icmp %s->%s" % (s, d), [IP(src=s, dst=d, id=i, ttl=64) / ICMP(id=i & 0xffff, seq=1)], None, i))
    for s, d in (("fd00:1::2", "2a02:d3c0::1"), ("fd00:1::2", "2a02:d040::7"), ("2a02:d040::7", "fd00:2::2")):
        for p in (53, 443):
            i = nid()
            out.append(("udp6 %s->%s:%d" % (s, d, p),
                        [IPv6(src=s, dst=d, fl=i) / UDP(sport=nsp(), dport=p) / Raw(b"probe6 %d" % i)], None, i))
            i = nid()
            out.append(("tcp6-syn %s->%s:%d" % (s, d, p),
                        [IPv6(src=s, dst=d, fl=i) / TCP(sport=nsp(), dport=p, flags="S")], None, i))
    return out


# Fates ANFW's documentation gives some probes under one ruleset, checked on
# both sides (reference/anfw.md §3.1, API FirewallPolicy, StatelessRule).
EXPECT = {
    "reject-non-tcp.rules": {
        # reject on UDP and ICMP: a drop (and no ICMP answer, see below).
        "udp 10.0.1.2->192.0.2.10:53": "drop",
        "icmp 10.0.1.2->192.0.2.10": "drop",
        "udp 10.0.1.2->10.0.2.2:5353": "drop",
        "udp 10.0.1.2->10.0.2.2:53": "pass",
    },
    "stateless-fragments.yaml": {
        # No rule takes fragments from outside 10/8: StatelessFragmentDefault
        # Actions aws:pass lets them through, though the whole datagram
        # meets StatelessDefaultActions aws:drop.
        "udp-frags 198.51.100.7->93.184.216.34:53": "pass",
        "udp 198.51.100.7->93.184.216.34:53": "drop",
        # From 10/8, priority 20 forwards every fragment (no port in it):
        # the reassembled datagram meets the stateful drop rule.
        "udp-frags 10.0.1.2->93.184.216.34:53": "drop",
        # The first fragment names port 9999: priority 10 drops it, so the
        # datagram never completes.
        "udp-frags 198.51.100.7->10.0.2.2:9999": "drop",
        "icmp 10.0.1.2->10.0.2.2": "drop",
    },
    "stateless.yaml": {
        # priority 10: aws:drop TCP to 23; priority 40: aws:pass DNS to
        # the resolver; fragment default aws:drop.
        "tcp-syn 10.0.1.2->10.0.2.2:23": "drop",
        "udp 10.0.1.2->10.0.0.2:53": "pass",
        "udp-frags 10.0.1.2->10.0.0.2:53": "drop",
        "udp 198.51.100.7->10.0.2.2:53": "drop",
    },
    "geoip-refsets.yaml": {
        # ANFW rule-groups-geo-ip-filtering (IPv4 and IPv6) with the
        # countries of the test database; suricata-examples @NAME.
        "tcp-syn 10.0.1.2->81.2.69.160:443": "drop",      # geoip:dst,GB
        "tcp6-syn fd00:1::2->2a02:d3c0::1:443": "drop",   # GB, IPv6
        "tcp-syn 89.160.20.200->10.0.2.2:80": "drop",     # geoip:src,SE
        "udp6 2a02:d040::7->fd00:2::2:53": "drop",        # SE, IPv6
        "udp 10.0.1.2->216.160.83.57:53": "drop",         # geoip:any,US
        "udp 216.160.83.57->10.0.2.2:53": "drop",         # US as source
        "tcp-syn 10.0.1.2->111.235.160.1:443": "drop",    # StatefulRule geoip dst,CN
        "tcp-syn 10.0.1.2->111.235.160.1:80": "pass",     # CN, not 443
        "tcp-syn 10.0.1.2->89.160.20.200:443": "pass",    # SE as destination
        "udp 10.0.1.2->198.51.100.20:53": "drop",         # @BLOCKED 198.51.100.0/24
        "tcp-syn 10.0.1.2->93.184.216.34:443": "pass",    # no country in the database
    },
}


def probe_key(pkt):
    """What a probe is recognised by at the server: its source and IP id
    (IPv6: flow label; a gateway that reassembled a datagram gives its new
    fragments a fragment id of its own). The source keeps the server's own
    answers, routed back to it for made-up sources, from passing as probes."""
    if pkt.haslayer(IPv6):
        return (pkt[IPv6].src, pkt[IPv6].fl)
    if pkt.haslayer(IP):
        return (pkt[IP].src, pkt[IP].id)
    return None


def nflog_payloads(path):
    """The IP packets in a DLT_NFLOG capture (NFULA_PAYLOAD, TLV type 9;
    TLV lengths and types in host order, values padded to 4 bytes)."""
    out = []
    for data, _ in RawPcapReader(path):
        off = 4
        while off + 4 <= len(data):
            ln, ty = struct.unpack_from("=HH", data, off)
            if ln < 4:
                break
            if ty == 9:
                raw = data[off + 4:off + ln]
                out.append(IPv6(raw) if raw[0] >> 4 == 6 else IP(raw))
            off += (ln + 3) & ~3
    return out


# ---------------------------------------------------------------- one ruleset

def rules_args(rules):
    """The ruleset and the options it needs (RULES.args: one option a line,
    paths from the source root, '#' comments), for a shell run in SRC."""
    words = []
    if os.path.exists(rules + ".args"):
        for line in open(rules + ".args"):
            if line.strip() and not line.lstrip().startswith("#"):
                words += line.split()
    return " ".join(["'%s'" % rules] + ["'%s'" % w for w in words])


def engine_fates(rules, pcap, frames_of):
    """Per probe: 'pass', 'drop' or 'undecided' from replay --packets."""
    pk = os.path.join(WORK, "packets-%d.json" % PID)
    r = sh("%s replay %s %s --packets %s" % (HG, rules_args(rules), pcap, pk), check=False, cwd=SRC)
    if r.returncode not in (0, 1):
        raise RuntimeError("replay %s: %s" % (rules, r.stderr))
    verdicts = {}
    with open(pk) as f:
        for line in f:
            o = json.loads(line)
            verdicts[o["packet"]] = (o["verdict"], o["decided_by"])
    os.unlink(pk)
    fates = []
    for frames in frames_of:
        vs = [verdicts[n] for n in frames]
        if any(v in ("drop", "reject") for v, _ in vs):
            fates.append(("drop", next(b for v, b in vs if v in ("drop", "reject"))))
        else:
            fates.append((vs[-1][0], vs[-1][1]))
    return fates


def settle(paths):
    last, quiet = None, 0
    while quiet < 3:
        time.sleep(0.1)
        sizes = [os.path.getsize(p) if os.path.exists(p) else 0 for p in paths]
        quiet = quiet + 1 if sizes == last else 0
        last = sizes


def capture(ns, iface, path, flt):
    t = subprocess.Popen(["ip", "netns", "exec", NS[ns], "tcpdump", "--immediate-mode", "-B", "32768", "-U", "-n", "-i", iface, "-w", path] + flt,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # tcpdump says "listening on" once its socket is open.
    t.stderr.readline()
    return t


def run_ruleset(rules, plist, fr):
    nft = os.path.join(WORK, "table-%d.nft" % PID)
    sh("%s compile %s -o %s" % (HG, rules_args(rules), nft), cwd=SRC)
    text = open(nft).read()
    m = re.search(r"log group (\d+) snaplen \d+ queue-threshold 1 drop", text)
    nsx("gw", "nft -f %s" % nft)
    os.unlink(nft)
    nsx("gw", "conntrack -F", check=False)

    cap = os.path.join(WORK, "srv-%d.pcap" % PID)
    held_cap = os.path.join(WORK, "held-%d.pcap" % PID)
    tcpd = capture("srv", IF["s"], cap, ["-Q", "in", "(ip or ip6) and not src host 10.0.2.2 and not src host fd00:2::2"])
    # What comes back to the client: an ICMP destination-unreachable that
    # quotes a probe the server never got is the gateway's answer to it.
    icmp_cap = os.path.join(WORK, "cli-%d.pcap" % PID)
    icmpd = capture("cli", IF["c"], icmp_cap, ["-Q", "in", "icmp[icmptype] == 3 or icmp6[icmp6type] == 1"])
    held = capture("gw", "nflog:%s" % m.group(1), held_cap, []) if m else None
    # The sender (scapy loaded once, inside the client namespace) sends
    # the frames and answers when they are out.
    SENDER.stdin.write(fr + "\n")
    SENDER.stdin.flush()
    while SENDER.stdout.readline().strip() != "sent " + fr:
        pass
    # tcpdump writes each packet as it reads it (-U); stopping it drops
    # what it has not read yet, so wait until both files stop growing.
    settle([cap, icmp_cap] + ([held_cap] if held else []))
    seen, held_keys, answered = set(), set(), set()
    for t in (tcpd, held, icmpd):
        if t:
            t.terminate()
            t.communicate()
    for p in rdpcap(cap):
        k = probe_key(p)
        if k is not None:
            seen.add(k)
    os.unlink(cap)
    for p in rdpcap(icmp_cap):
        inner = p.getlayer(IPerror) or p.getlayer(IPerror6)
        if inner is not None:
            answered.add((inner.src, inner.id) if isinstance(inner, IPerror) else (inner.src, inner.fl))
    os.unlink(icmp_cap)
    if held:
        for p in nflog_payloads(held_cap):
            held_keys.add(probe_key(p))
        os.unlink(held_cap)

    # The engine gets the same frames (the pcap that was sent).
    frames_of, n = [], 0
    for _, pk, _, _ in plist:
        frames_of.append(list(range(n + 1, n + 1 + len(pk))))
        n += len(pk)
    fates = engine_fates(rules, fr, frames_of)

    compared = skipped = 0
    bad = []
    documented = EXPECT.get(os.path.basename(rules), {})
    names = set(p[0] for p in plist)
    bad += ["no probe named %r" % n for n in documented if n not in names]
    for (name, pk, expect, _), (fate, by) in zip(plist, fates):
        expect = documented.get(name, expect)
        key = probe_key(pk[0])
        kernel = "pass" if key in seen else "drop"
        if kernel == "drop" and key in answered and not name.startswith("tcp"):
            # §2.1: REJECT answers TCP only (a reset); nothing the firewall
            # drops gets an ICMP error from it.
            bad.append("%s: dropped with an ICMP answer from the gateway" % name)
        if key in held_keys and key not in seen:
            skipped += 1  # held for the daemon, which does not run here
            continue
        if fate == "undecided":
            fate = "pass"  # an undecided flow passes (§3.3), and so does the table
        compared += 1
        if kernel != fate:
            bad.append("%s: kernel %s, engine %s (%s)" % (name, kernel, fate, by))
        if expect and (kernel != expect or fate != expect):
            bad.append("%s: ANFW documents %s; kernel %s, engine %s (%s)" % (name, expect, kernel, fate, by))
    return compared, skipped, bad


SENDER = None
SENDER_PY = ("import sys\nfrom scapy.all import rdpcap, sendp\n"
             "for line in sys.stdin:\n"
             "    sendp(rdpcap(line.strip()), iface=sys.argv[1], verbose=0)\n"
             "    print('sent', line.strip(), flush=True)\n")


def main():
    global SENDER
    if os.geteuid() != 0:
        print("not root: skipped")
        return 77
    rulesets = sorted(f for f in glob.glob(os.path.join(SRC, "rulesets", "*"))
                      if not f.endswith(".nft") and os.path.exists(os.path.splitext(f)[0] + ".nft"))
    plist = probes()
    total = skipped_all = 0
    failed = []
    try:
        topology()
        gmac, cmac = mac("gw", IF["g"]), mac("cli", IF["c"])
        # A permanent neighbour for the server: a burst of probes must not
        # wait in (and overflow) the unresolved-neighbour queue.
        smac = mac("srv", IF["s"])
        nsx("gw", "ip neigh replace 10.0.2.2 lladdr %s dev %s nud permanent" % (smac, IF["h"]))
        nsx("gw", "ip -6 neigh replace fd00:2::2 lladdr %s dev %s nud permanent" % (smac, IF["h"]))
        SENDER = subprocess.Popen(["ip", "netns", "exec", NS["cli"], "/usr/bin/python3", "-c", SENDER_PY, IF["c"]],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        fr = os.path.join(WORK, "frames-%d.pcap" % PID)
        wrpcap(fr, [Ether(src=cmac, dst=gmac) / p for _, pk, _, _ in plist for p in pk])
        for rules in rulesets:
            c, s, bad = run_ruleset(rules, plist, fr)
            total += c
            skipped_all += s
            print("%-28s %4d probes compared, %4d left to the daemon, %d differ"
                  % (os.path.basename(rules), c, s, len(bad)))
            for b in bad[:20]:
                print("   ", b)
            failed += bad
        os.unlink(fr)
    finally:
        if SENDER:
            SENDER.stdin.close()
            SENDER.wait()
        cleanup()
    print("total: %d probes compared over %d rulesets, %d left to the daemon, %d differ"
          % (total, len(rulesets), skipped_all, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
