#!/usr/bin/python3
"""test_ship.py - `hostgate ship` against the loopback CloudWatch Logs
endpoint (cwlogs_endpoint.py), which verifies every signature with botocore
and enforces PutLogEvents' rules (API reference, PutLogEvents: 10,000
events, 1,048,576 bytes counted as UTF-8 message bytes + 26 per event, 24
hours, 14 days back, 2 hours ahead).

Each test writes log lines, runs the shipper (usually with --once: ship
what is there, exit when all is acknowledged) and compares what the
endpoint stored with the file, line for line. Backoff caps are lowered so
the retry tests take seconds."""
import json
import os
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
except ImportError as e:  # Debian's python3-botocore (scripts/install-deps)
    print('SKIP: %s: the CloudWatch test endpoint needs botocore' % e)
    sys.exit(77)

BIN = os.environ.get('HG_BIN') or os.path.join(HERE, '..', 'build', 'cli', 'hostgate')
AK, SK = 'AKIDSHIPTEST', 'shipper/secret+key'
ALERTS = '/aws/networkfirewall/alert'
FAST = ['--flush-interval-ms', '100', '--backoff-base-ms', '20', '--backoff-cap-ms', '200',
        '--rotate-wait-ms', '300', '--stats-interval', '0']


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%06d+0000' % int((t % 1) * 1e6)


def alert_line(t, i, pad=0):
    """An ANFW alert line (reference/anfw.md §4.2 layout)."""
    return json.dumps({'firewall_name': 'fw-test', 'availability_zone': 'us-east-1a',
                       'event_timestamp': str(int(t)),
                       'event': {'timestamp': iso(t), 'flow_id': 1000 + i, 'event_type': 'alert',
                                 'src_ip': '10.0.0.2', 'src_port': 40000 + i % 20000, 'dest_ip': '198.51.100.10',
                                 'dest_port': 443, 'proto': 'TCP', 'app_proto': 'tls',
                                 'alert': {'action': 'blocked', 'signature_id': 2, 'rev': 1,
                                           'signature': 'test' + 'x' * pad, 'category': '', 'severity': 3},
                                 'verdict': {'action': 'drop'}, 'tls': {'sni': 'n%d.example' % i}}},
                      separators=(',', ':'))


class ShipCase(unittest.TestCase):
    imds = False
    cred_lifetime = 21600

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='hg-ship-%d-' % os.getpid())
        keys = {AK: (SK, None, None)}
        self.ep = cw.Endpoint(keys=keys, imds=self.imds, cred_lifetime=self.cred_lifetime)
        self.svc = self.ep.svc
        self.svc.groups[ALERTS] = {'gw1': []}
        self.alert = os.path.join(self.dir, 'alert.json')
        self.state = os.path.join(self.dir, 'state')
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.ep.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self, creds=True):
        e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        e.update({'AWS_REGION': 'us-east-1', 'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS': self.ep.url,
                  'HOME': self.dir})
        if creds:
            e.update({'AWS_ACCESS_KEY_ID': AK, 'AWS_SECRET_ACCESS_KEY': SK})
        if self.imds:
            e['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = self.ep.imds_url
        else:
            e['AWS_EC2_METADATA_DISABLED'] = 'true'
        return e

    def write(self, lines, path=None, mode='w'):
        with open(path or self.alert, mode) as f:
            for ln in lines:
                f.write(ln + '\n')

    def ship_args(self, extra=()):
        return [BIN, 'ship', '--alert-log', self.alert, '--state-dir', self.state, '--stream', 'gw1'] + FAST + \
            list(extra)

    def ship(self, extra=(), env=None, timeout=60, check=True):
        r = subprocess.run(self.ship_args(list(extra) + ['--once']), env=env or self.env(),
                           capture_output=True, text=True, timeout=timeout)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r.stderr

    def start(self, extra=(), env=None):
        p = subprocess.Popen(self.ship_args(extra), env=env or self.env(), stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    @staticmethod
    def stats(stderr):
        lines = [ln for ln in stderr.splitlines() if ln.startswith('{"timestamp"') and 'ship_stats' in ln]
        return json.loads(lines[-1])['logs']

    def stored(self, group=ALERTS, stream='gw1'):
        return [e['message'] for e in self.svc.stored(group, stream)]

    def puts(self):
        return [c for c in self.svc.calls if c['op'] == 'PutLogEvents']

    def file_lines(self, path=None):
        with open(path or self.alert) as f:
            return f.read().splitlines()

    def wait_stored(self, n, group=ALERTS, stream='gw1', secs=30):
        end = time.time() + secs
        while time.time() < end:
            if len(self.svc.stored(group, stream)) >= n:
                return True
            time.sleep(0.05)
        return False


class Basics(ShipCase):
    def test_lines_delivered_in_order_and_state_written(self):
        now = time.time()
        self.write([alert_line(now + i * 0.001, i) for i in range(50)])
        err = self.ship()
        self.assertEqual(self.stored(), self.file_lines())
        st = self.stats(err)['alert']
        self.assertEqual((st['events'], st['calls']), (50, 1))
        # timestamps are the events' own (event.timestamp), in ms
        self.assertEqual([e['timestamp'] for e in self.svc.stored(ALERTS, 'gw1')],
                         [int((now + i * 0.001) * 1000) for i in range(50)])
        with open(os.path.join(self.state, 'ship.state')) as f:
            state = f.read().split('\n')
        ino, off = os.stat(self.alert).st_ino, os.path.getsize(self.alert)
        self.assertIn('alert %d %d' % (ino, off), state)
        # nothing new: nothing sent again
        calls = len(self.puts())
        self.ship()
        self.assertEqual(len(self.puts()), calls)
        self.write([alert_line(time.time(), 99)], mode='a')
        self.ship()
        self.assertEqual(self.stored(), self.file_lines())

    def test_10001_events_make_2_calls(self):
        now = time.time()
        self.write(['{"timestamp":"%s","event_type":"alert","i":%d}' % (iso(now), i) for i in range(10001)])
        self.ship()
        self.assertEqual([c['events'] for c in self.puts()], [10000, 1])
        self.assertEqual(self.stored(), self.file_lines())

    def exact_bytes(self, extra):
        # 8 events of (1,048,576 / 8 - 26) message bytes = 1,048,576 counted
        now = time.time()
        base = '{"timestamp":"%s","p":"' % iso(now)
        size = 1048576 // 8 - 26
        lines = [base + 'x' * (size - len(base) - 2) + '"}' for _ in range(8)]
        lines[0] = lines[0][:-2] + 'y' * extra + '"}'
        self.assertEqual(sum(len(ln.encode()) + 26 for ln in lines), 1048576 + extra)
        self.write(lines)
        self.ship()
        self.assertEqual(self.stored(), self.file_lines())
        return [c['events'] for c in self.puts()]

    def test_exactly_1048576_counted_bytes_make_1_call(self):
        self.assertEqual(self.exact_bytes(0), [8])

    def test_one_byte_more_makes_2_calls(self):
        self.assertEqual(self.exact_bytes(1), [7, 1])

    def test_utf8_bytes_are_counted(self):
        # multi-byte characters count as their UTF-8 bytes, not characters
        now = time.time()
        base = '{"timestamp":"%s","p":"' % iso(now)
        size = 1048576 // 8 - 26
        fill = size - len(base) - 2
        lines = [base + 'é' * (fill // 2) + '"}' for _ in range(8)]
        self.assertEqual(sum(len(ln.encode()) + 26 for ln in lines), 1048576)
        lines[7] = lines[7][:-2] + 'x"}'
        self.write(lines)
        self.ship()
        self.assertEqual([c['events'] for c in self.puts()], [7, 1])
        self.assertEqual(self.stored(), self.file_lines())

    def test_25_hours_make_2_calls(self):
        now = time.time()
        # within 14 days, spanning 25 hours, in file order
        lines = ['{"timestamp":"%s","h":%d}' % (iso(now - 26 * 3600 + h * 3600), h) for h in range(26)]
        self.write(lines)
        self.ship()
        self.assertEqual([c['events'] for c in self.puts()], [24, 2])
        self.assertEqual(self.stored(), self.file_lines())

    def test_out_of_order_lines_sorted_in_batch(self):
        now = time.time()
        lines = ['{"timestamp":"%s","i":%d}' % (iso(now - i), i) for i in range(20)]
        self.write(lines)
        self.ship()
        self.assertEqual([c['status'] for c in self.puts()], [200])
        self.assertEqual(sorted(self.stored()), sorted(lines))
        ts = [e['timestamp'] for e in self.svc.stored(ALERTS, 'gw1')]
        self.assertEqual(ts, sorted(ts))

    def test_15_day_old_event_counted_and_offset_advances(self):
        now = time.time()
        old = '{"timestamp":"%s","old":true}' % iso(now - 15 * 86400)
        new = '{"timestamp":"%s","ahead":true}' % iso(now + 3 * 3600)
        ok = '{"timestamp":"%s","ok":true}' % iso(now)
        self.write([old, ok, new])
        err = self.ship()
        st = self.stats(err)['alert']
        self.assertEqual((st['skipped']['too_old'], st['skipped']['too_new'], st['events']), (1, 1, 1))
        self.assertEqual(self.stored(), [ok])
        with open(os.path.join(self.state, 'ship.state')) as f:
            self.assertIn('alert %d %d' % (os.stat(self.alert).st_ino, os.path.getsize(self.alert)), f.read())
        # a file of only an old event: skipped, acknowledged, not sent
        self.write([old], mode='a')
        calls = len(self.puts())
        err = self.ship()
        self.assertEqual(len(self.puts()), calls)
        with open(os.path.join(self.state, 'ship.state')) as f:
            self.assertIn('alert %d %d' % (os.stat(self.alert).st_ino, os.path.getsize(self.alert)), f.read())

    def test_rejected_by_the_service_counted(self):
        # the endpoint's clock 3 hours behind: every event is "too new"
        # there (rejectedLogEventsInfo), while the shipper's clock says fine
        self.svc.events_now = lambda: time.time() - 3 * 3600 + 240
        self.write(['{"timestamp":"%s","i":%d}' % (iso(time.time()), i) for i in range(3)])
        err = self.ship()
        st = self.stats(err)['alert']
        self.assertEqual((st['rejected']['too_new'], st['events']), (3, 0))
        self.assertIn('rejectedLogEventsInfo', err)
        self.assertEqual(self.stored(), [])

    def test_bad_lines_counted_and_skipped(self):
        now = time.time()
        good = ['{"timestamp":"%s","i":%d}' % (iso(now), i) for i in range(3)]
        with open(self.alert, 'wb') as f:
            f.write(good[0].encode() + b'\n\n')                       # empty line
            f.write(b'{"timestamp":"x","bad":"\xff\xfe"}\n')           # not UTF-8
            f.write(b'{"a":"' + b'z' * 300000 + b'"}\n')              # over 256 KB
            f.write(good[1].encode() + b'\n')
            f.write(b'not json at all\n')                              # shipped, time of reading
            f.write(good[2].encode() + b'\n')
        err = self.ship()
        st = self.stats(err)['alert']
        self.assertEqual((st['skipped']['empty'], st['skipped']['invalid_utf8'], st['skipped']['too_large'],
                          st['no_timestamp']), (1, 1, 1, 1))
        self.assertEqual(sorted(self.stored()), sorted(good + ['not json at all']))

    def test_unknown_stream_created_group_only_when_asked(self):
        self.svc.groups.clear()
        # the stream first, in a group that exists
        self.svc.groups['/other'] = {}
        self.write([alert_line(time.time(), 1)])
        err = self.ship(['--alert-group', '/other'])
        self.assertEqual(self.stats(err)['alert']['streams_created'], 1)
        self.assertEqual(self.stored('/other'), self.file_lines())
        shutil.rmtree(self.state)
        self.write([alert_line(time.time(), 1)])
        p = self.start()
        time.sleep(1.5)
        self.assertEqual(self.stored(), [])
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertIn('does not exist: create it, or give --create-group', err)
        self.assertGreater(self.stats(err)['alert']['create_errors'], 0)
        err = self.ship(['--create-group'])
        st = self.stats(err)['alert']
        self.assertEqual((st['groups_created'], st['streams_created'], st['events']), (1, 1, 1))
        self.assertEqual(self.stored(), self.file_lines())

    def test_invalid_parameter_splits_to_the_bad_event(self):
        now = time.time()
        lines = ['{"timestamp":"%s","i":%d}' % (iso(now), i) for i in range(9)]
        lines[5] = '{"timestamp":"%s","poison":1}' % iso(now)
        self.svc.poison = '"poison"'
        self.write(lines)
        err = self.ship()
        st = self.stats(err)['alert']
        self.assertEqual(st['rejected']['invalid'], 1)
        self.assertGreaterEqual(st['splits'], 3)
        self.assertEqual(self.stored(), lines[:5] + lines[6:])


class Faults(ShipCase):
    def test_throttling_every_3rd_call_loses_nothing(self):
        self.svc.fault_every = 3
        now = time.time()
        self.write(['{"timestamp":"%s","i":%d}' % (iso(now), i) for i in range(25000)])
        # small batches: many calls
        err = self.ship()
        st = self.stats(err)['alert']
        self.assertEqual(self.stored(), self.file_lines())
        self.assertGreaterEqual(st['throttled'], 1)
        self.assertEqual(len(self.puts()), 4)  # 10000, 10000 (throttled and again), 5000

    def test_5xx_every_2nd_call_loses_nothing(self):
        self.svc.fault_every, self.svc.fault = 2, '5xx'
        now = time.time()
        lines = ['{"timestamp":"%s","i":%d}' % (iso(now), i) for i in range(30000)]
        self.write(lines)
        err = self.ship()
        self.assertEqual(self.stored(), lines)
        self.assertGreaterEqual(self.stats(err)['alert']['server_errors'], 2)

    def test_unreachable_endpoint_waits_then_delivers(self):
        self.write([alert_line(time.time(), i) for i in range(10)])
        env = self.env()
        env['AWS_ENDPOINT_URL_CLOUDWATCH_LOGS'] = 'http://127.0.0.1:9'  # nothing listens
        p = self.start(['--stats-interval', '1'], env=env)
        time.sleep(2.5)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        st = self.stats(err)['alert']
        self.assertEqual(st['state'], 'waiting')
        self.assertGreater(st['network_errors'], 1)
        self.assertGreater(st['backlog_bytes'], 0)
        self.ship()
        self.assertEqual(self.stored(), self.file_lines())

    def test_kill_9_mid_run_and_restart_lose_nothing(self):
        # a slow endpoint (every call answers after 50 ms) and a writer
        # appending while the shipper runs; kill -9 twice
        now = time.time()
        lines = ['{"timestamp":"%s","i":%d}' % (iso(now + i / 1e6), i) for i in range(60000)]
        self.write(lines[:20000])
        orig = self.svc.op_PutLogEvents

        def slow(req, headers):
            time.sleep(0.05)
            return orig(req, headers)
        self.svc.op_PutLogEvents = slow
        for k in range(2):
            p = self.start()
            self.write(lines[20000 * (k + 1):20000 * (k + 2)], mode='a')
            self.assertTrue(self.wait_stored(10000 + 20000 * k))
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.ship()
        got = self.stored()
        # every line stored; a line stored twice only within one batch
        self.assertEqual(sorted(set(got)), sorted(lines))
        self.assertLessEqual(len(got) - len(lines), 2 * 10000)
        first = {}
        for i, m in enumerate(got):
            first.setdefault(m, i)
        self.assertEqual([m for i, m in enumerate(got) if first[m] == i], lines)

    def test_rotation_finishes_old_file_first(self):
        now = time.time()
        a = ['{"timestamp":"%s","f":"a","i":%d}' % (iso(now), i) for i in range(100)]
        b = ['{"timestamp":"%s","f":"b","i":%d}' % (iso(now), i) for i in range(100)]
        c = ['{"timestamp":"%s","f":"c","i":%d}' % (iso(now), i) for i in range(100)]
        self.write(a[:50])
        p = self.start()
        self.assertTrue(self.wait_stored(50))
        # logrotate: rename; the writer goes on in the old file until it
        # reopens (SIGHUP), then writes the new one
        os.rename(self.alert, self.alert + '.1')
        self.write(a[50:], path=self.alert + '.1', mode='a')
        self.write(b)
        self.assertTrue(self.wait_stored(200))
        p.send_signal(signal.SIGTERM)
        p.wait()
        # rotated again while the shipper is down, with lines unshipped
        self.write(c[:50], mode='a')
        os.rename(self.alert + '.1', self.alert + '.2')
        os.rename(self.alert, self.alert + '.1')
        self.write(c[50:])
        err = self.ship()
        self.assertEqual(self.stored(), a + b + c[:50] + c[50:])
        self.assertEqual(self.stats(err)['alert']['lost_files'], 0)

    def test_two_rotations_while_down_read_in_order(self):
        # the acknowledged file renamed twice, a second log rotated in
        # between: read A (to its end), then B (alert.json.1), then C
        now = time.time()
        mk = lambda tag, n: ['{"timestamp":"%s","f":"%s","i":%d}' % (iso(now), tag, i) for i in range(n)]
        a, a2, b, c = mk('a', 20), mk('a2', 5), mk('b', 30), mk('c', 10)
        self.write(a)
        self.ship()
        self.write(a2, mode='a')
        os.rename(self.alert, self.alert + '.1')
        time.sleep(0.02)
        self.write(b)
        os.rename(self.alert + '.1', self.alert + '.2')
        os.rename(self.alert, self.alert + '.1')
        time.sleep(0.02)
        self.write(c)
        # an old rotation, compressed: never read
        with open(self.alert + '.3.gz', 'wb') as f:
            f.write(b'\x1f\x8b not text')
        err = self.ship()
        self.assertEqual(self.stored(), a + a2 + b + c)
        st = self.stats(err)['alert']
        self.assertEqual((st['rotations'], st['lost_files']), (2, 0))

    def test_copytruncate(self):
        now = time.time()
        a = ['{"timestamp":"%s","i":%d}' % (iso(now), i) for i in range(30)]
        self.write(a)
        self.ship()
        with open(self.alert, 'r+') as f:
            f.truncate(0)
        self.write(a[:5], mode='a')
        err = self.ship()
        self.assertEqual(self.stored(), a + a[:5])
        self.assertEqual(self.stats(err)['alert']['truncations'], 1)


class Credentials(ShipCase):
    def test_wrong_secret_is_an_auth_error(self):
        self.write([alert_line(time.time(), 1)])
        env = self.env()
        env['AWS_SECRET_ACCESS_KEY'] = 'wrong'
        p = self.start(env=env)
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertIn('InvalidSignatureException', err)
        self.assertNotIn('wrong', err.replace('wrong secret', ''))
        self.assertGreater(self.stats(err)['alert']['auth_errors'], 0)
        self.assertEqual(self.stored(), [])

    def test_shared_credentials_file_and_profile(self):
        os.makedirs(os.path.join(self.dir, '.aws'))
        with open(os.path.join(self.dir, '.aws', 'credentials'), 'w') as f:
            f.write('[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n'
                    '[ship]\naws_access_key_id = %s\naws_secret_access_key = %s\n' % (AK, SK))
        with open(os.path.join(self.dir, '.aws', 'config'), 'w') as f:
            f.write('[profile ship]\nregion = us-east-1\n')
        self.write([alert_line(time.time(), 1)])
        env = self.env(creds=False)
        del env['AWS_REGION']
        err = self.ship(['--profile', 'ship'], env=env)
        self.assertIn('credentials from shared credentials file', err)
        self.assertEqual(self.stored(), self.file_lines())

    def test_secrets_not_in_ps_or_logs(self):
        self.write([alert_line(time.time(), 1)])
        p = self.start(['--stats-interval', '1'])
        time.sleep(1.5)
        with open('/proc/%d/cmdline' % p.pid, 'rb') as f:
            self.assertNotIn(SK.encode(), f.read())
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertNotIn(SK, err)


class Imds(ShipCase):
    imds = True
    cred_lifetime = 4

    def test_credentials_expiring_mid_run_refreshed_from_imds(self):
        # Credentials live 4 s; the endpoint refuses them once expired
        # (ExpiredTokenException). The shipper fetches new ones before.
        env = self.env(creds=False)
        del env['AWS_REGION']  # from IMDS placement/region
        now = time.time()
        p = self.start(['--firewall-name', 'fw'] + [], env=env)
        t0 = time.time()
        i = 0
        while time.time() - t0 < 9:
            self.write(['{"timestamp":"%s","i":%d}' % (iso(time.time()), i)], mode='a')
            i += 1
            time.sleep(0.1)
        self.assertTrue(self.wait_stored(i, secs=10))
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertIn('credentials from EC2 instance metadata (IMDSv2)', err)
        self.assertGreaterEqual(len(self.ep.imds.issued), 3)
        used = {c.get('akid') for c in self.svc.calls if c['status'] == 200}
        self.assertGreaterEqual(len(used), 3)
        self.assertEqual([c['error'] for c in self.svc.calls if c.get('error') == 'ExpiredTokenException'], [])
        self.assertEqual(self.stored(), self.file_lines())
        del now

    def test_default_stream_name_has_instance_id(self):
        env = self.env(creds=False)
        self.write([alert_line(time.time(), 1)])
        args = [a for a in self.ship_args(['--once']) if a not in ('--stream', 'gw1')]
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(self.svc.groups[ALERTS]), ['fw-test_i-0123456789abcdef0', 'gw1'])
        self.assertEqual(self.stored(stream='fw-test_i-0123456789abcdef0'), self.file_lines())


class ImdsRevoked(ShipCase):
    imds = True

    def test_auth_error_forces_one_refresh_a_minute(self):
        # long-lived IMDS credentials revoked at the endpoint: the auth
        # error makes the shipper fetch new ones at once; revoked again
        # within the minute, it waits (backs off) rather than hammer IMDS
        env = self.env(creds=False)
        self.write(['{"timestamp":"%s","i":0}' % iso(time.time())])
        p = self.start(['--stats-interval', '1'], env=env)
        self.assertTrue(self.wait_stored(1))
        self.assertEqual(len(self.ep.imds.issued), 1)
        with self.svc.lock:
            del self.svc.keys[self.ep.imds.issued[0][0]]
        self.write(['{"timestamp":"%s","i":1}' % iso(time.time())], mode='a')
        self.assertTrue(self.wait_stored(2))
        self.assertEqual(len(self.ep.imds.issued), 2)
        with self.svc.lock:
            del self.svc.keys[self.ep.imds.issued[1][0]]
        self.write(['{"timestamp":"%s","i":2}' % iso(time.time())], mode='a')
        time.sleep(2)
        self.assertEqual(len(self.ep.imds.issued), 2)
        self.assertEqual(len(self.stored()), 2)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        st = self.stats(err)['alert']
        self.assertGreaterEqual(st['auth_errors'], 2)
        self.assertEqual(st['state'], 'waiting')
        self.assertIn('UnrecognizedClientException', err)


class Emf(ShipCase):
    def test_metrics_file_shipped_with_emf_header(self):
        metrics = os.path.join(self.dir, 'metrics.json')
        ts = int(time.time() * 1000)
        ev = {'_aws': {'Timestamp': ts, 'CloudWatchMetrics': [
            {'Namespace': 'Hostgate', 'Dimensions': [['FirewallName'], ['FirewallName', 'AvailabilityZone']],
             'Metrics': [{'Name': 'Alerts', 'Unit': 'Count'}]}]},
            'FirewallName': 'fw', 'AvailabilityZone': 'az1', 'Alerts': 2}
        self.write([json.dumps(ev)], path=metrics)
        self.write([alert_line(time.time(), 1)])
        self.ship(['--metrics-log', metrics, '--create-group'])
        got = self.svc.stored('/hostgate/metrics', 'gw1')
        self.assertEqual([e['message'] for e in got], [json.dumps(ev)])
        self.assertEqual([e['format'] for e in got], ['json/emf'])
        self.assertEqual(got[0]['timestamp'], ts)
        self.assertEqual([e['format'] for e in self.svc.stored(ALERTS, 'gw1')], [None])


class Config(ShipCase):
    def test_config_file_keys_are_the_options(self):
        cfg = os.path.join(self.dir, 'ship.conf')
        with open(cfg, 'w') as f:
            f.write('# shipper\nalert-log: %s\nstate-dir: %s\nstream: fromfile\ncreate-group: yes\n'
                    'alert-group: /from/file\n' % (self.alert, self.state))
        self.write([alert_line(time.time(), 1)])
        r = subprocess.run([BIN, 'ship', '--config', cfg, '--stream', 'fromcli', '--once'] + FAST, env=self.env(),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e['message'] for e in self.svc.stored('/from/file', 'fromcli')], self.file_lines())
        with open(cfg, 'a') as f:
            f.write('no-such-key: 1\n')
        r = subprocess.run([BIN, 'ship', '--config', cfg], env=self.env(), capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("ship.conf:7:1: error: unknown option 'no-such-key'", r.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
