#!/usr/bin/python3
"""test_ship_live.py - a live `hostgate run` in network namespaces (client -
gateway - server, bench/live-topo.sh) with the seed's rules, real curl
clients and a python http.server; `hostgate ship` sends its alert, flow and
metrics logs to the loopback endpoint (cwlogs_endpoint.py, signatures
checked with botocore). Then:

  - what the endpoint stored equals each file, line for line, across a
    rotation (rename, then SIGHUP: the daemon reopens its logs);
  - every metrics event is EMF (_aws directives valid, namespace Hostgate,
    dimensions [FirewallName] and [FirewallName, AvailabilityZone]) and was
    sent with x-amzn-logs-format: json/emf;
  - the seed's CloudWatch consumer script (tests/seed_cloudwatch_consumer.py,
    the seed's text, run with only its client's endpoint changed) prints
    the alerts of the denied flows: signature, source, destination.

The expected denials are the seed's rules as ANFW documents domain lists
(reference/anfw.md §1.3): x.malicious-domain.com is on the DENYLIST,
other.org matches no ALLOWLIST entry (the allowlist's catch-all drop);
www.example.com is allowed (.example.com). Needs root; skips otherwise."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import cwlogs_endpoint as cw  # noqa: E402
except ImportError as e:
    print('SKIP: %s: the CloudWatch test endpoint needs botocore' % e)
    sys.exit(77)

SRC = os.environ.get('HG_SRCDIR') or os.path.join(HERE, '..')
BIN = os.environ.get('HG_BIN') or os.path.join(SRC, 'build', 'cli', 'hostgate')
SHARED = os.environ.get('HG_SHARED') or os.path.join(SRC, '..', 'shared')
AK, SK = 'AKIDLIVESHIP', 'live/ship+secret'
PY = '/usr/bin/python3'


def sh(cmd, check=True, **kw):
    r = subprocess.run(['bash', '-c', cmd], capture_output=True, text=True, **kw)
    if check and r.returncode:
        raise AssertionError('%s: %s%s' % (cmd, r.stdout, r.stderr))
    return r


class LiveShip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest('live namespace tests need root: skipped')
        for tool in ('/usr/sbin/nft', '/usr/bin/curl'):
            if not os.access(tool, os.X_OK):
                raise unittest.SkipTest('%s missing: skipped' % tool)

    def setUp(self):
        self.P = 'hs%d' % (os.getpid() % 1000)
        self.dir = tempfile.mkdtemp(prefix='hg-ship-live-%d-' % os.getpid())
        self.procs = []
        sh('. %s/bench/live-topo.sh && topo_up %s' % (SRC, self.P))
        for port in (80, 443):
            self.bg(['ip', 'netns', 'exec', self.P + 's', 'timeout', '120', PY, '-m', 'http.server', str(port),
                     '--bind', '0.0.0.0'], cwd=self.dir)
        self.ep = cw.Endpoint(keys={AK: (SK, None, None)})
        end = time.time() + 10
        while time.time() < end:
            ss = sh('ip netns exec %ss ss -ltnH' % self.P).stdout
            if ':80 ' in ss and ':443 ' in ss:
                break
            time.sleep(0.1)

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
                p.wait()
        sh('. %s/bench/live-topo.sh && topo_down %s' % (SRC, self.P), check=False)
        self.ep.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def bg(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=kw.pop('stderr', subprocess.DEVNULL), **kw)
        self.procs.append(p)
        return p

    def path(self, name):
        return os.path.join(self.dir, name)

    def curl(self, port, host, scheme='http'):
        """curl from the client namespace, from a known source port."""
        url = ('https://%s/' % host) if scheme == 'https' else 'http://198.51.100.10/'
        args = ['--resolve', '%s:443:198.51.100.10' % host] if scheme == 'https' else ['-H', 'Host: ' + host]
        r = subprocess.run(['ip', 'netns', 'exec', self.P + 'c', 'timeout', '10', 'curl', '-sk', '-m', '2',
                            '--local-port', str(port), '-o', '/dev/null', '-w', '%{http_code}'] + args + [url],
                           capture_output=True, text=True)
        return r.stdout

    def wait_text(self, path, text, secs):
        end = time.time() + secs
        while time.time() < end:
            if os.path.exists(path) and text in open(path, errors='replace').read():
                return True
            time.sleep(0.05)
        return False

    def logrotate(self, pid):
        if not shutil.which('logrotate'):
            self.skipTest('logrotate not installed (scripts/install-deps)')
        conf = open(os.path.join(SRC, 'contrib', 'hostgate.logrotate')).read()
        self.assertIn('/var/log/hostgate/*.json {', conf)
        self.assertIn('delaycompress', conf)
        conf = conf.replace('/var/log/hostgate/', self.dir + '/')
        conf = re.sub(r'create 0640 hostgate hostgate', 'create 0640', conf)
        conf = re.sub(r'systemctl reload hostgate.service[^\n]*', 'kill -HUP %d' % pid, conf)
        path = self.path('logrotate.conf')
        with open(path, 'w') as f:
            f.write(conf)
        r = subprocess.run(['logrotate', '-f', '-s', self.path('logrotate.state'), path],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_live_logs_shipped_line_for_line_and_seed_script_reads_them(self):
        log = open(self.path('daemon.log'), 'w')
        daemon = self.bg(['ip', 'netns', 'exec', self.P + 'g', 'timeout', '120', BIN, 'run',
                          os.path.join(SRC, 'rulesets', 'seed-zero-trust.yaml'), '--inside', self.P + 'g0',
                          '--alert-log', self.path('alert.json'), '--flow-log', self.path('flow.json'),
                          '--metrics-log', self.path('metrics.json'), '--log-format', 'eve',
                          '--stats-interval', '1', '--remove-on-exit'], stderr=log)
        self.assertTrue(self.wait_text(self.path('daemon.log'), 'running:', 15),
                        open(self.path('daemon.log')).read())
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env.update({'AWS_ACCESS_KEY_ID': AK, 'AWS_SECRET_ACCESS_KEY': SK, 'AWS_REGION': 'us-east-1',
                    'AWS_DEFAULT_REGION': 'us-east-1',  # boto3 1.26 reads this one
                    'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS': self.ep.url, 'AWS_EC2_METADATA_DISABLED': 'true',
                    'HOME': self.dir})
        shiplog = open(self.path('ship.log'), 'w')
        shipper = self.bg([BIN, 'ship', '--alert-log', self.path('alert.json'), '--flow-log',
                           self.path('flow.json'), '--metrics-log', self.path('metrics.json'), '--create-group',
                           '--state-dir', self.path('state'), '--flush-interval-ms', '200',
                           '--stats-interval', '0'], env=env, stderr=shiplog)
        self.assertEqual(self.curl(41001, 'www.example.com'), '200', open(self.path('daemon.log')).read())
        self.assertEqual(self.curl(41002, 'x.malicious-domain.com'), '000')
        self.assertEqual(self.curl(41003, 'other.org'), '000')
        self.assertEqual(self.curl(41004, 'evil.malicious-domain.com', 'https'), '000')
        # The real logrotate with the packaged configuration
        # (contrib/hostgate.logrotate), pointed at this test's directory,
        # with this test's user, signalling this daemon: rename, create,
        # SIGHUP (the daemon reopens its logs), the rotated file left plain
        # (delaycompress); the shipper finishes the renamed files, then the
        # new ones.
        hostgate = sh('pgrep -P %d' % daemon.pid).stdout.split()[0]
        self.logrotate(int(hostgate))
        self.assertTrue(self.wait_text(self.path('daemon.log'), 'reloaded', 15))
        # (the flow log may still be empty: notifempty leaves it)
        self.assertTrue(os.path.exists(self.path('alert.json.1')), os.listdir(self.dir))
        self.assertEqual(self.curl(41005, 'y.malicious-domain.com'), '000')
        self.assertEqual(self.curl(41006, 'www.example.com'), '200')
        time.sleep(2.2)  # at least two stats intervals: metrics lines
        daemon.send_signal(signal.SIGTERM)
        # `timeout` forwards the signal to the daemon
        daemon.wait(timeout=15)
        files = {'alert': ('/aws/networkfirewall/alert', 'alert.json'),
                 'flow': ('/aws/networkfirewall/flow', 'flow.json'),
                 'metrics': ('/hostgate/metrics', 'metrics.json')}
        def lines(f):
            rotated = self.path(f + '.1')
            old = open(rotated).read().splitlines() if os.path.exists(rotated) else []
            return old + open(self.path(f)).read().splitlines()
        want = {k: lines(f) for k, (_, f) in files.items()}
        self.assertTrue(os.path.getsize(self.path('alert.json.1')) and os.path.getsize(self.path('alert.json')))
        self.assertGreaterEqual(len(want['alert']), 3, open(self.path('daemon.log')).read())
        self.assertGreaterEqual(len(want['metrics']), 2)
        end = time.time() + 20
        while time.time() < end:
            if all(len(self.ep.svc.stored(g)) >= len(want[k]) for k, (g, _) in files.items()):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        shipper.send_signal(signal.SIGTERM)
        shipper.wait(timeout=10)
        # Under ASan/UBSan (build-asan) both processes' reports land in
        # their logs: memory errors, undefined behaviour, leaks at exit.
        for f in ('daemon.log', 'ship.log'):
            text = open(self.path(f)).read()
            self.assertNotRegex(text, r'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:', f)
        for k, (g, _) in files.items():
            got = [e['message'] for e in self.ep.svc.stored(g)]
            self.assertEqual(got, want[k], '%s: %s' % (k, open(self.path('ship.log')).read()))

        # EMF: directives valid, header sent, the metrics' dimensions
        for e in self.ep.svc.stored('/hostgate/metrics'):
            self.assertEqual(cw.emf_problems(e['message']), [], e['message'])
            self.assertEqual(e['format'], 'json/emf')
            m = json.loads(e['message'])
            d = m['_aws']['CloudWatchMetrics'][0]
            self.assertEqual(d['Namespace'], 'Hostgate')
            self.assertEqual(d['Dimensions'], [['FirewallName'], ['FirewallName', 'AvailabilityZone']])
            self.assertEqual(e['timestamp'], m['_aws']['Timestamp'])
        totals = {}
        for line in want['metrics']:
            for k, v in json.loads(line).items():
                if isinstance(v, int) and k != 'VerdictsSampled':
                    totals[k] = totals.get(k, 0) + v
        self.assertGreaterEqual(totals.get('DroppedFlows', 0), 3, want['metrics'])
        self.assertGreaterEqual(totals.get('PassedFlows', 0), 1, want['metrics'])
        self.assertGreaterEqual(totals.get('Alerts', 0), 3, want['metrics'])
        for e in self.ep.svc.stored('/aws/networkfirewall/alert'):
            self.assertIsNone(e['format'])

        # The seed's consumer, its client pointed at the endpoint.
        with open(os.path.join(HERE, 'seed_cloudwatch_consumer.py')) as f:
            script = f.read()
        seed = os.path.join(SHARED, 'seeds', '000_d3b5c586f0ca54c5.txt')
        if os.path.exists(seed):
            text = open(seed).read()
            part = text.split('Network Firewall Logs (CloudWatch):\n', 1)[1].split('Example 4:', 1)[0]
            self.assertEqual(part.strip('\n'), script.strip('\n'), 'tests/seed_cloudwatch_consumer.py '
                             'is no longer the seed\'s script')
        else:
            print('note: %s absent: the copy of the seed script is not compared with it' % seed)
        changed = script.replace("boto3.client('logs')", "boto3.client('logs', endpoint_url=%r)" % self.ep.url)
        self.assertEqual(len(changed.splitlines()), len(script.splitlines()))
        self.assertNotEqual(changed, script)
        out = subprocess.run([PY, '-c', changed], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        print('\nthe seed script printed:\n' + out.stdout)
        blocks = [b for b in out.stdout.split('---\n') if b.strip()]
        seen = {}
        for b in blocks:
            sig = re.search(r'^Alert: (.*)$', b, re.M).group(1)
            src = re.search(r'^Source: (.*):(\d+)$', b, re.M)
            dst = re.search(r'^Destination: (.*)$', b, re.M).group(1)
            self.assertIn('Action: alert', b)
            seen[int(src.group(2))] = (sig, src.group(1), dst)
        for port, dport in ((41002, 80), (41003, 80), (41004, 443), (41005, 80)):
            self.assertIn(port, seen, out.stdout)
            self.assertEqual(seen[port][1:], ('10.88.0.2', '198.51.100.10:%d' % dport))
        self.assertNotIn(41001, seen)
        self.assertNotIn(41006, seen)
        # signatures as the seed's lists generate them (reference/anfw.md §1.3)
        self.assertIn('matching TLS/HTTP denylisted FQDNs', ' '.join(s for s, _, _ in seen.values())
                      .replace('matching HTTP denylisted FQDNs', 'matching TLS/HTTP denylisted FQDNs')
                      .replace('matching TLS denylisted FQDNs', 'matching TLS/HTTP denylisted FQDNs'))


if __name__ == '__main__':
    unittest.main(verbosity=2)
