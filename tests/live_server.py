#!/usr/bin/python3
"""live_server.py - the server application's own record for the namespace
tests of `hostgate run`: an HTTP server on PORT (IPv4 and IPv6) that
appends "HOST <client port> <Host header>" to LOG for every request it
reads, and answers 200; and on UDP PORT, "UDP <client port> <length>" for
every datagram.  live_server.py PORT LOG"""
import http.server
import socket
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        with open(sys.argv[2], "a") as f:
            f.write("HOST %d %s\n" % (self.client_address[1], self.headers.get("Host", "")))
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def udp():
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", int(sys.argv[1])))
    while True:
        data, addr = u.recvfrom(65535)
        with open(sys.argv[2], "a") as f:
            f.write("UDP %d %d\n" % (addr[1], len(data)))


threading.Thread(target=udp, daemon=True).start()
Server(("::", int(sys.argv[1])), Handler).serve_forever()
