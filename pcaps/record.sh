#!/bin/bash
# record.sh - re-records pcaps/real-*.pcap from real programs in network
# namespaces this script creates: curl and openssl s_client (clients, in
# HOME_NET 10.77.0.2 / fd77::2) against openssl s_server and python3's
# http.server (servers, "internet" 198.51.100.10 / 2001:db8:77::10).
# Names resolve with curl --resolve / s_client -servername, so any name can
# be exercised. Needs root. Usage: pcaps/record.sh [OUTDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
tag=hgrec$$
C=${tag}c S=${tag}s
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$C" 2>/dev/null || true
	ip netns del "$S" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$C"
ip netns add "$S"
ip link add vc type veth peer name vs
ip link set vc netns "$C"
ip link set vs netns "$S"
ip -n "$C" addr add 10.77.0.2/24 dev vc
ip -n "$S" addr add 198.51.100.10/24 dev vs
ip -n "$C" addr add fd77::2/64 dev vc nodad
ip -n "$S" addr add 2001:db8:77::10/64 dev vs nodad
for ns in "$C" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$C" link set vc up
ip -n "$S" link set vs up
ip -n "$C" route add default dev vc
ip -n "$S" route add 10.77.0.0/24 dev vs
ip -n "$C" -6 route add default dev vc
ip -n "$S" -6 route add fd77::/64 dev vs
# Offloads off so the capture shows segments as they are on the wire.
ip netns exec "$C" ethtool -K vc tso off gso off gro off 2>/dev/null || true
ip netns exec "$S" ethtool -K vs tso off gso off gro off 2>/dev/null || true

# A self-signed certificate; clients do not verify (-k): the firewall sees
# only the ClientHello.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
	-subj /CN=hostgate-test -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
mkdir -p "$work/www" && echo "hello from the server" > "$work/www/index.html"

serve() { # background a server in S
	ip netns exec "$S" "$@" >/dev/null 2>&1 &
	pids+=($!)
}
serve openssl s_server -accept 443 -cert "$work/cert.pem" -key "$work/key.pem" -www -quiet
serve openssl s_server -accept '[::]:8443' -cert "$work/cert.pem" -key "$work/key.pem" -www -quiet
(cd "$work/www" && serve /usr/bin/python3 -m http.server 80 --bind 0.0.0.0)
(cd "$work/www" && serve /usr/bin/python3 -m http.server 8080 --bind ::)
(serve /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 22)); s.listen()
while True:
    c, _ = s.accept(); c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"); c.recv(100); c.close()
')
sleep 1

cx() { ip netns exec "$C" "$@" >/dev/null 2>&1 || true; }
capture() { # capture NAME; runs the function body given as the rest
	local name=$1
	shift
	ip netns exec "$S" tcpdump -i vs -U -s 0 -w "$work/$name.pcap" not arp and not icmp6 2>/dev/null &
	local tp=$!
	sleep 0.7
	"$@"
	sleep 0.5
	kill -INT "$tp"
	wait "$tp" || true
	cp "$work/$name.pcap" "$out/$name.pcap"
	echo "recorded $out/$name.pcap"
}

CURL="curl -s -k -m 3 -o /dev/null"
tls_flows() {
	cx $CURL --resolve api.github.com:443:198.51.100.10 https://api.github.com/
	cx $CURL --resolve www.example.com:443:198.51.100.10 https://www.example.com/
	cx $CURL --resolve example.com:443:198.51.100.10 https://example.com/
	cx $CURL --resolve fooexample.com:443:198.51.100.10 https://fooexample.com/
	cx $CURL --resolve evil.malicious-domain.com:443:198.51.100.10 https://evil.malicious-domain.com/
	cx $CURL --resolve phishing-site.net:443:198.51.100.10 https://phishing-site.net/
	# TLS 1.2 with openssl s_client, mixed-case SNI
	echo | cx timeout 3 openssl s_client -connect 198.51.100.10:443 -tls1_2 -servername S3.US-EAST-1.AmazonAWS.com
	echo | cx timeout 3 openssl s_client -connect 198.51.100.10:443 -tls1_3 -servername unknown.test
	# no SNI at all
	echo | cx timeout 3 openssl s_client -connect 198.51.100.10:443 -noservername
}
http_flows() {
	cx $CURL --resolve api.github.com:80:198.51.100.10 http://api.github.com/
	cx $CURL --resolve api.github.com:8080:198.51.100.10 http://api.github.com:8080/
	cx $CURL -H "Host: WWW.EXAMPLE.COM" http://198.51.100.10/
	cx $CURL --resolve phishing-site.net:80:198.51.100.10 http://phishing-site.net/
	cx $CURL http://198.51.100.10/
	cx $CURL --resolve www.malicious-domain.com:80:198.51.100.10 http://www.malicious-domain.com/index.html
	# absolute-form target through a "proxy" (the server answers it anyway)
	cx $CURL -x http://198.51.100.10:80 http://sts.amazonaws.com/
}
ipv6_flows() {
	cx $CURL -6 --resolve api.github.com:8443:[2001:db8:77::10] https://api.github.com:8443/
	cx $CURL -6 --resolve blocked.example.org:8443:[2001:db8:77::10] https://blocked.example.org:8443/
	cx $CURL -6 --resolve www.example.com:8080:[2001:db8:77::10] http://www.example.com:8080/
}
other_flows() {
	cx /usr/bin/python3 -c '
import socket
s = socket.create_connection(("198.51.100.10", 22), 3); print(s.recv(100)); s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"); s.close()'
}
split_hello() {
	# A small MTU on the path splits the ClientHello over several segments,
	# as post-quantum key shares do on real paths (reference/anfw.md §5.1).
	ip -n "$C" link set vc mtu 400
	ip -n "$S" link set vs mtu 400
	cx $CURL --resolve sqs.us-east-1.amazonaws.com:443:198.51.100.10 https://sqs.us-east-1.amazonaws.com/
	cx $CURL --resolve c2.malicious-domain.com:443:198.51.100.10 https://c2.malicious-domain.com/
	ip -n "$C" link set vc mtu 1500
	ip -n "$S" link set vs mtu 1500
}
capture real-tls "tls_flows"
capture real-http "http_flows"
capture real-ipv6 "ipv6_flows"
capture real-other "other_flows"
capture real-split-hello "split_hello"
# The demo capture (scripts/demo) is the TLS, HTTP and split-hello ones in a row.
mergecap -a -w "$out/seed-demo.pcap" "$out/real-tls.pcap" "$out/real-http.pcap" "$out/real-split-hello.pcap"
