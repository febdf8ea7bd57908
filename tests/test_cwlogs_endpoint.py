#!/usr/bin/python3
"""test_cwlogs_endpoint.py - the test endpoint checked against AWS's own
client before anything is tested against it: boto3 (Debian's python3-boto3)
is accepted; a wrong secret, one changed body byte, a signed header that was
not sent, an old date and an expired session key are each rejected with the
error AWS gives; the PutLogEvents limits answer as the API reference says;
the filter patterns the seed's script uses select what they should."""
import hashlib
import json
import os
import sys
import time
import unittest
import urllib.request
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import cwlogs_endpoint as cw  # noqa: E402
    import boto3  # noqa: E402
except ImportError as e:  # Debian's python3-botocore, python3-boto3
    print('SKIP: %s: the endpoint check needs botocore and boto3' % e)
    sys.exit(77)
import botocore.exceptions  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.config import Config  # noqa: E402

AK, SK = 'AKIDTESTENDPOINT', 'secret/for+the+endpoint'


def client(ep, secret=SK, akid=AK):
    return boto3.client('logs', region_name='us-east-1', endpoint_url=ep.url,
                        aws_access_key_id=akid, aws_secret_access_key=secret,
                        config=Config(retries={'total_max_attempts': 1}))


def raw_post(ep, target, body, mutate=None, secret=SK, drop_header=None, date=None):
    """A request signed by botocore's SigV4Auth, then (optionally) altered."""
    req = AWSRequest(method='POST', url=ep.url + '/', data=body, headers={
        'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'Logs_20140328.' + target})
    signer = SigV4Auth(Credentials(AK, secret), 'logs', 'us-east-1')
    if date:
        req.context['timestamp'] = date
        req.headers['X-Amz-Date'] = date
        sts = signer.string_to_sign(req, signer.canonical_request(req))
        sig = signer.signature(sts, req)
        req.headers['Authorization'] = ('AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s' % (
            AK, signer.credential_scope(req), signer.signed_headers(signer.headers_to_sign(req)), sig))
    else:
        signer.add_auth(req)
    data = req.body
    if mutate:
        data = mutate(data)
    hdrs = {k: v for k, v in req.headers.items() if k != drop_header}
    r = urllib.request.Request(ep.url + '/', data=data, headers=hdrs, method='POST')
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class EndpointTest(unittest.TestCase):
    def setUp(self):
        self.ep = cw.Endpoint(keys={AK: (SK, None, None)})

    def tearDown(self):
        self.ep.close()

    def test_boto3_accepted(self):
        c = client(self.ep)
        c.create_log_group(logGroupName='/aws/networkfirewall/alert')
        c.create_log_stream(logGroupName='/aws/networkfirewall/alert', logStreamName='s')
        now = int(time.time() * 1000)
        r = c.put_log_events(logGroupName='/aws/networkfirewall/alert', logStreamName='s',
                             logEvents=[{'timestamp': now, 'message': '{"event_type":"alert","a":{"b":"x"}}'},
                                        {'timestamp': now + 1, 'message': '{"event_type":"netflow"}'}])
        self.assertNotIn('rejectedLogEventsInfo', r)
        got = c.filter_log_events(logGroupName='/aws/networkfirewall/alert',
                                  filterPattern='{ $.event_type = "alert" }', limit=10)['events']
        self.assertEqual(len(got), 1)
        got = c.filter_log_events(logGroupName='/aws/networkfirewall/alert',
                                  filterPattern='{ $.a.b = "x" && $.event_type = "alert" }')['events']
        self.assertEqual(len(got), 1)
        got = c.filter_log_events(logGroupName='/aws/networkfirewall/alert',
                                  filterPattern='{ $.a.b = "y" || $.event_type = "netflow" }')['events']
        self.assertEqual([json.loads(e['message'])['event_type'] for e in got], ['netflow'])
        got = c.filter_log_events(logGroupName='/aws/networkfirewall/alert',
                                  filterPattern='{ $.event_type = "*flow" }')['events']
        self.assertEqual(len(got), 1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            c.create_log_stream(logGroupName='/nope', logStreamName='s')
        self.assertEqual(cm.exception.response['Error']['Code'], 'ResourceNotFoundException')

    def test_wrong_secret_rejected(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client(self.ep, secret='not-the-secret').create_log_group(logGroupName='g')
        self.assertEqual(cm.exception.response['Error']['Code'], 'InvalidSignatureException')
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client(self.ep, akid='AKIDUNKNOWN').create_log_group(logGroupName='g')
        self.assertEqual(cm.exception.response['Error']['Code'], 'UnrecognizedClientException')
        self.assertEqual(self.ep.svc.groups, {})

    def test_changed_body_byte_rejected(self):
        body = json.dumps({'logGroupName': 'abc'}).encode()
        st, ans = raw_post(self.ep, 'CreateLogGroup', body)
        self.assertEqual((st, ans), (200, {}))
        st, ans = raw_post(self.ep, 'CreateLogGroup', json.dumps({'logGroupName': 'abd'}).encode(),
                           mutate=lambda b: b.replace(b'abd', b'abe'))
        self.assertEqual((st, ans['__type']), (400, 'InvalidSignatureException'))
        self.assertNotIn('abe', self.ep.svc.groups)

    def test_signed_header_not_sent(self):
        st, ans = raw_post(self.ep, 'CreateLogGroup', b'{"logGroupName":"x"}', drop_header='X-Amz-Target')
        self.assertEqual((st, ans['__type']), (400, 'IncompleteSignatureException'))

    def test_old_date_rejected(self):
        old = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - 900))
        st, ans = raw_post(self.ep, 'CreateLogGroup', b'{"logGroupName":"x"}', date=old)
        self.assertEqual((st, ans['__type']), (400, 'InvalidSignatureException'))
        self.assertIn('Signature expired', ans['message'])
        now = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        st, ans = raw_post(self.ep, 'CreateLogGroup', b'{"logGroupName":"x"}', date=now)
        self.assertEqual(st, 200)

    def test_expired_session_key(self):
        self.ep.svc.keys['ASIAOLD'] = ('s', 'tok', time.time() - 1)
        c = boto3.client('logs', region_name='us-east-1', endpoint_url=self.ep.url, aws_access_key_id='ASIAOLD',
                         aws_secret_access_key='s', aws_session_token='tok',
                         config=Config(retries={'total_max_attempts': 1}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            c.create_log_group(logGroupName='g')
        self.assertEqual(cm.exception.response['Error']['Code'], 'ExpiredTokenException')

    def test_put_limits(self):
        c = client(self.ep)
        c.create_log_group(logGroupName='g')
        c.create_log_stream(logGroupName='g', logStreamName='s')
        now = int(time.time() * 1000)

        def put(evs):
            try:
                return c.put_log_events(logGroupName='g', logStreamName='s', logEvents=evs)
            except botocore.exceptions.ClientError as e:
                return e.response['Error']['Code']
        # 1,048,576 counted bytes exactly: accepted; one more: refused.
        n = 4
        size = cw.MAX_BATCH_BYTES // n - 26
        evs = [{'timestamp': now, 'message': 'x' * size} for _ in range(n)]
        self.assertEqual(sum(len(e['message']) + 26 for e in evs), 1048576)
        self.assertNotIn('rejectedLogEventsInfo', put(evs))
        evs[0]['message'] += 'y'
        self.assertEqual(put(evs), 'InvalidParameterException')
        self.assertEqual(put([{'timestamp': now, 'message': 'a'}] * 10001), 'InvalidParameterException')
        self.assertEqual(put([{'timestamp': now, 'message': 'a'}, {'timestamp': now - 1, 'message': 'b'}]),
                         'InvalidParameterException')
        self.assertEqual(put([{'timestamp': now - 25 * 3600000, 'message': 'a'}, {'timestamp': now, 'message': 'b'}]),
                         'InvalidParameterException')
        r = put([{'timestamp': now - 15 * 86400000, 'message': 'old'}])
        self.assertEqual(r['rejectedLogEventsInfo'], {'tooOldLogEventEndIndex': 0})
        r = put([{'timestamp': now, 'message': 'ok'}, {'timestamp': now + 3 * 3600000, 'message': 'new'}])
        self.assertEqual(r['rejectedLogEventsInfo'], {'tooNewLogEventStartIndex': 1})
        self.assertEqual([e['message'] for e in self.ep.svc.stored('g')], ['x' * size] * 4 + ['ok'])
        try:
            c.put_log_events(logGroupName='g', logStreamName='nope', logEvents=[{'timestamp': now, 'message': 'a'}])
            self.fail('unknown stream accepted')
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response['Error']['Code'], 'ResourceNotFoundException')

    def test_faults(self):
        self.ep.svc.fault_every = 2
        c = client(self.ep)
        c.create_log_group(logGroupName='g')
        c.create_log_stream(logGroupName='g', logStreamName='s')
        ev = [{'timestamp': int(time.time() * 1000), 'message': 'a'}]
        c.put_log_events(logGroupName='g', logStreamName='s', logEvents=ev)
        with self.assertRaises(botocore.exceptions.ClientError, msg=str(self.ep.svc.calls)) as cm:
            c.put_log_events(logGroupName='g', logStreamName='s', logEvents=ev)
        self.assertEqual(cm.exception.response['Error']['Code'], 'ThrottlingException')

    def test_emf_check(self):
        good = {'_aws': {'Timestamp': 1, 'CloudWatchMetrics': [{'Namespace': 'Hostgate', 'Dimensions': [['FirewallName']],
                'Metrics': [{'Name': 'Alerts', 'Unit': 'Count'}]}]}, 'FirewallName': 'fw', 'Alerts': 3}
        self.assertEqual(cw.emf_problems(json.dumps(good)), [])
        bad = dict(good, _aws=dict(good['_aws'], CloudWatchMetrics=[dict(good['_aws']['CloudWatchMetrics'][0],
                                                                           Namespace='AWS/NetworkFirewall')]))
        self.assertTrue(cw.emf_problems(json.dumps(bad)))
        self.assertTrue(cw.emf_problems(json.dumps({k: v for k, v in good.items() if k != 'Alerts'})))


if __name__ == '__main__':
    unittest.main(verbosity=2)
