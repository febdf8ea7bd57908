/* test_live_dns.c - DNS rules in `hostgate run`: queries from the client
 * namespace through the gateway to a DNS server (a small python resolver
 * answering every name), over UDP and TCP, on port 53 and on another
 * port. The table holds undecided UDP flows for the daemon when a DNS rule
 * needs it, the daemon parses the query and the rule drops it: nothing of a
 * dropped query reaches the server (its log of names is the witness), an
 * allowed one is answered, and replay of the client's capture decides the
 * same. Needs root; skips otherwise. */
#include <criterion/criterion.h>

#include "live_util.h"

TestSuite(live_dns, .fini = teardown, .timeout = 240);

/* Server: answers any query with 192.0.2.53 over UDP and TCP on each
 * port given, appending each question name to dns-names.txt. */
static const char server_py[] =
	"import socket, struct, sys, threading\n"
	"log = open(sys.argv[1], 'a', buffering=1)\n"
	"def answer(q):\n"
	"    i, n = 12, []\n"
	"    while q[i]:\n"
	"        n.append(q[i + 1:i + 1 + q[i]].decode()); i += 1 + q[i]\n"
	"    log.write('.'.join(n) + '\\n')\n"
	"    qend = i + 5\n"
	"    return (q[:2] + b'\\x81\\x80' + q[4:6] + b'\\x00\\x01\\x00\\x00\\x00\\x00' + q[12:qend] +\n"
	"            b'\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04' + bytes([192, 0, 2, 53]))\n"
	"def udp(port):\n"
	"    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.51.100.10', port))\n"
	"    while True:\n"
	"        q, a = s.recvfrom(2048); s.sendto(answer(q), a)\n"
	"def tcp(port):\n"
	"    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"    s.bind(('198.51.100.10', port)); s.listen(8)\n"
	"    while True:\n"
	"        c, _ = s.accept(); c.settimeout(3)\n"
	"        try:\n"
	"            l = struct.unpack('!H', c.recv(2))[0]; q = b''\n"
	"            while len(q) < l: q += c.recv(l - len(q))\n"
	"            r = answer(q); c.sendall(struct.pack('!H', len(r)) + r)\n"
	"        except Exception: pass\n"
	"        c.close()\n"
	"for p in map(int, sys.argv[2:]):\n"
	"    threading.Thread(target=udp, args=(p,), daemon=True).start()\n"
	"    threading.Thread(target=tcp, args=(p,), daemon=True).start()\n"
	"threading.Event().wait()\n";

/* Client: one A query for NAME to PORT over udp or tcp from SPORT; prints
 * "answer" or "none". */
static const char client_py[] =
	"import socket, struct, sys\n"
	"name, port, proto, sport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])\n"
	"q = b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00'\n"
	"for l in name.split('.'): q += bytes([len(l)]) + l.encode()\n"
	"q += b'\\x00\\x00\\x01\\x00\\x01'\n"
	"try:\n"
	"    if proto == 'udp':\n"
	"        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', sport)); s.settimeout(2)\n"
	"        s.sendto(q, ('198.51.100.10', port)); r = s.recv(2048)\n"
	"    else:\n"
	"        s = socket.socket(); s.bind(('', sport)); s.settimeout(2)\n"
	"        s.connect(('198.51.100.10', port)); s.sendall(struct.pack('!H', len(q)) + q)\n"
	"        r = s.recv(2048)\n"
	"    print('answer' if len(r) > 12 else 'none')\n"
	"except Exception:\n"
	"    print('none')\n";

static char *query(const char *name, int port, const char *proto, int sport)
{
	char *o = sh_out("ip netns exec %sc timeout 10 " PY " %s/dns-client.py %s %d %s %d", P, dir, name, port,
			 proto, sport);
	o[strcspn(o, "\n")] = '\0';
	return o;
}

/* The rule is the Suricata docs' dotprefix example shape (Suricata 7
 * "Transformations": dns.query; dotprefix; content:".microsoft.com"
 * matches the domain and its subdomains), as a drop: ANFW's DROP "blocks
 * the packets from going to the intended destination" (API StatefulRule). */
Test(live_dns, drop_rule_on_dns_query)
{
	setup("hld");
	write_file("dns-server.py", server_py);
	write_file("dns-client.py", client_py);
	sh("cd %s && (ip netns exec %ss timeout 200 " PY " dns-server.py %s/dns-names.txt 53 5300 >/dev/null 2>&1 &)",
	   dir, P, dir);
	char rules[256];
	snprintf(rules, sizeof(rules), "%s/dns.rules", dir);
	write_file("dns.rules", "drop dns $HOME_NET any -> any any (msg:\"blocked name\"; dns.query; dotprefix; "
				"content:\".blocked.example\"; nocase; endswith; sid:700; rev:1;)\n");
	capture_start('c', "c0");
	daemon_start(rules, NULL);

	static const struct {
		const char *name;
		int port;
		const char *proto;
		int sport;
		bool allowed;
	} t[] = {
		{"www.allowed.example", 53, "udp", 41001, true},
		{"www.blocked.example", 53, "udp", 41002, false},
		{"BLOCKED.example", 5300, "udp", 41003, false},
		{"notblocked.example", 5300, "udp", 41004, true},
		{"api.blocked.example", 53, "tcp", 41005, false},
		{"www.allowed.example", 5300, "tcp", 41006, true},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *o = query(t[i].name, t[i].port, t[i].proto, t[i].sport);
		cr_expect_str_eq(o, t[i].allowed ? "answer" : "none", "%s to port %d over %s: got '%s'", t[i].name,
				 t[i].port, t[i].proto, o);
		free(o);
	}
	capture_stop('c');
	daemon_stop();

	char names[256], alerts[256];
	snprintf(names, sizeof(names), "%s/dns-names.txt", dir);
	snprintf(alerts, sizeof(alerts), "%s/alerts.json", dir);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char line[128];
		snprintf(line, sizeof(line), "%s\n", t[i].name);
		char *s = slurp(names);
		bool reached = strstr(s, line) != NULL;
		free(s);
		cr_expect_eq(reached, t[i].allowed, "%s: reached the server: %d", t[i].name, reached);
		cr_expect_eq(port_sid_alerts(alerts, t[i].sport, 700), t[i].allowed ? 0 : 1, "%s: %s", t[i].name,
			     slurp(alerts));
	}
	cr_expect_geq(count_lines(alerts, "\"app_proto\":\"dns\"", NULL), 3);

	/* Replay of what the client sent decides the same. */
	expect_replay_agrees(rules, alerts);
}

/* Server: on each port, for each connection, sends a banner when asked
 * ("banner" after the port), then logs the first line it receives as
 * "PORT: line" to first-lines.txt. */
static const char lines_py[] =
	"import socket, sys, threading\n"
	"log = open(sys.argv[1], 'a', buffering=1)\n"
	"def serve(port, banner):\n"
	"    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"    s.bind(('198.51.100.10', port)); s.listen(8)\n"
	"    while True:\n"
	"        c, _ = s.accept(); c.settimeout(3)\n"
	"        try:\n"
	"            if banner: c.sendall(b'220 mail.example ESMTP\\r\\n')\n"
	"            d = c.recv(512)\n"
	"            if d: log.write('%d: %s\\n' % (port, d.split(b'\\r\\n')[0].decode(errors='replace')))\n"
	"        except Exception: pass\n"
	"        c.close()\n"
	"for a in sys.argv[2:]:\n"
	"    p, _, b = a.partition(':')\n"
	"    threading.Thread(target=serve, args=(int(p), b == 'banner'), daemon=True).start()\n"
	"threading.Event().wait()\n";

/* Client: connects to PORT from SPORT, reads the banner when asked, sends
 * LINE CRLF, waits a moment. */
static const char send_py[] =
	"import socket, sys, time\n"
	"port, sport, banner, line = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == 'banner', sys.argv[4]\n"
	"s = socket.socket(); s.bind(('', sport)); s.settimeout(2)\n"
	"try:\n"
	"    s.connect(('198.51.100.10', port))\n"
	"    if banner: s.recv(512)\n"
	"    s.sendall(line.encode() + b'\\r\\n'); time.sleep(0.5)\n"
	"except Exception: pass\n";

/* Protocols named by the client's first bytes on ports that are not
 * theirs: SSH (client speaks first) and SMTP (the server's greeting
 * passes, the client's EHLO is held and names the flow); an unknown
 * protocol passes (API StatefulRule: DROP "blocks the packets" of
 * matching flows only). */
Test(live_dns, protocols_by_first_client_bytes)
{
	setup("hlp");
	write_file("lines.py", lines_py);
	write_file("send.py", send_py);
	sh("cd %s && (ip netns exec %ss timeout 200 " PY " lines.py %s/first-lines.txt 2222 2525:banner 8025 "
	   ">/dev/null 2>&1 &)",
	   dir, P, dir);
	char rules[256];
	snprintf(rules, sizeof(rules), "%s/proto.rules", dir);
	write_file("proto.rules", "drop ssh $HOME_NET any -> any any (msg:\"no ssh\"; sid:801; rev:1;)\n"
				  "drop smtp $HOME_NET any -> any any (msg:\"no smtp\"; sid:802; rev:1;)\n");
	capture_start('c', "c0");
	daemon_start(rules, NULL);
	msleep(300);
	sh("ip netns exec %sc timeout 10 " PY " %s/send.py 2222 42001 no 'SSH-2.0-OpenSSH_9.6'", P, dir);
	sh("ip netns exec %sc timeout 10 " PY " %s/send.py 2525 42002 banner 'EHLO client.example'", P, dir);
	sh("ip netns exec %sc timeout 10 " PY " %s/send.py 8025 42003 no 'HELLO there'", P, dir);
	capture_stop('c');
	daemon_stop();

	char lines[256], alerts[256];
	snprintf(lines, sizeof(lines), "%s/first-lines.txt", dir);
	snprintf(alerts, sizeof(alerts), "%s/alerts.json", dir);
	char *got = slurp(lines);
	cr_expect(!strstr(got, "2222:"), "the SSH client's bytes reached the server: %s", got);
	cr_expect(!strstr(got, "2525:"), "the SMTP client's EHLO reached the server: %s", got);
	cr_expect(strstr(got, "8025: HELLO there"), "the unknown protocol did not pass: %s", got);
	free(got);
	cr_expect_eq(count_lines(alerts, "\"src_port\":42001,", "\"signature_id\":801,"), 1, "%s", slurp(alerts));
	cr_expect_eq(count_lines(alerts, "\"src_port\":42002,", "\"signature_id\":802,"), 1, "%s", slurp(alerts));
	cr_expect_eq(count_lines(alerts, "\"src_port\":42003,", NULL), 0);
	expect_replay_agrees(rules, alerts);
}
