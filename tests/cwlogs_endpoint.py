#!/usr/bin/python3
"""cwlogs_endpoint.py - a loopback CloudWatch Logs endpoint and EC2 IMDSv2
for the shipper's tests and benchmark.

It checks what AWS checks, with AWS's own signer (botocore's SigV4Auth: its
canonical request, string to sign and signature, over exactly the headers
the request says it signed, with the request's own X-Amz-Date), and answers
as the service does: JSON 1.1 errors {"__type": ..., "message": ...}.

  - Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/logs/aws4_request,
    SignedHeaders=..., Signature=... (IncompleteSignatureException when a part
    is missing, when a signed header was not sent, when host or x-amz-date is
    not signed); unknown key: UnrecognizedClientException; a session key
    without its X-Amz-Security-Token: UnrecognizedClientException; an expired
    one: ExpiredTokenException; dates more than 5 minutes off: "Signature
    expired" (InvalidSignatureException); any mismatch: InvalidSignatureException.
  - PutLogEvents (API reference, PutLogEvents): at most 10,000 events, at
    most 1,048,576 bytes counted as the UTF-8 messages plus 26 per event,
    chronological order, a span of at most 24 hours, each event at most
    256 KB (counted with its 26 bytes): InvalidParameterException otherwise;
    events older than 14 days or more than 2 hours ahead are not stored and
    reported in rejectedLogEventsInfo; unknown group or stream:
    ResourceNotFoundException.
  - CreateLogGroup, CreateLogStream, FilterLogEvents (JSON filter patterns
    { $.a.b = "x" }, != , numeric comparisons, && and ||, parentheses,
    * wildcards in strings), DescribeLogStreams.
  - A test knob: a "poison" text that makes the call invalid
    (InvalidParameterException), to see the batch split.
  - Faults: every Nth PutLogEvents call answers ThrottlingException (400)
    or ServiceUnavailableException (503), as configured.
  - IMDSv2: PUT /latest/api/token, then GETs with the token: role,
    credentials (a new key each time, valid for `cred_lifetime` seconds,
    registered with the logs endpoint), placement/region, instance-id.

Run alone: cwlogs_endpoint.py --port-file F [--imds-port-file F2] ...;
or import it and use Endpoint(...) in a test.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

MAX_EVENTS = 10000
MAX_BATCH_BYTES = 1048576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 262144
DAY_MS = 24 * 3600 * 1000
SKEW_S = 300


class ApiError(Exception):
    def __init__(self, status, typ, message):
        super().__init__(message)
        self.status, self.typ, self.message = status, typ, message


class ExactSigner(SigV4Auth):
    """botocore's signer over exactly the headers the request names."""

    def __init__(self, creds, region, signed):
        super().__init__(creds, 'logs', region)
        self._signed = signed

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._signed:
            for v in request.headers.get_all(name) or []:
                hm[name] = v
        return hm


# ------------------------------------------------------------ filter patterns
# CloudWatch Logs filter and pattern syntax, "Using filter patterns to match
# terms in JSON log events": { SELECTOR OP VALUE } joined by && and ||.

_TOK = re.compile(r'\s*(\{|\}|\(|\)|&&|\|\||!=|<=|>=|=|<|>|"(?:[^"\\]|\\.)*"|\$[\w.\[\]-]*|[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[\w*.:/-]+)')


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOK.match(text, pos)
        if not m or m.end() == pos:
            raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')
        out.append(m.group(1))
        pos = m.end()
    return out


def _select(obj, sel):
    cur = obj
    for part in re.findall(r'[^.\[\]]+|\[\d+\]', sel[2:] if sel.startswith('$.') else sel[1:]):
        if part.startswith('['):
            i = int(part[1:-1])
            if not isinstance(cur, list) or i >= len(cur):
                return None
            cur = cur[i]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return None
            cur = cur[part]
    return cur


def _compare(val, op, lit):
    if lit.startswith('"') or not re.match(r'^[-+]?\d', lit):
        s = json.loads(lit) if lit.startswith('"') else lit
        if val is None or isinstance(val, (dict, list)):
            return op == '!='
        if isinstance(val, bool):
            val = 'true' if val else 'false'
        rx = '^' + '.*'.join(re.escape(p) for p in s.split('*')) + '$'
        hit = re.match(rx, str(val), re.S) is not None
        if op == '=':
            return hit
        if op == '!=':
            return not hit
        raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')
    num = float(lit)
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return op == '!='
    return {'=': val == num, '!=': val != num, '<': val < num, '>': val > num,
            '<=': val <= num, '>=': val >= num}[op]


def compile_filter(pattern):
    """A predicate over messages for a filter pattern (JSON forms, or plain
    terms that must all appear)."""
    if not pattern or not pattern.strip():
        return lambda msg: True
    if not pattern.strip().startswith('{'):
        terms = [t.strip('"') for t in pattern.split()]
        return lambda msg: all(t in msg for t in terms)
    toks = _tokens(pattern)
    if toks[0] != '{' or toks[-1] != '}':
        raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')
    toks = toks[1:-1]
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take():
        t = peek()
        if t is None:
            raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')
        pos[0] += 1
        return t

    def primary():
        if peek() == '(':
            take()
            e = disj()
            if take() != ')':
                raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')
            return e
        sel = take()
        op = take()
        lit = take()
        if not sel.startswith('$') or op not in ('=', '!=', '<', '>', '<=', '>='):
            raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')
        return lambda obj: _compare(_select(obj, sel), op, lit)

    def conj():
        e = primary()
        while peek() == '&&':
            take()
            r = primary()
            e = (lambda a, b: lambda o: a(o) and b(o))(e, r)
        return e

    def disj():
        e = conj()
        while peek() == '||':
            take()
            r = conj()
            e = (lambda a, b: lambda o: a(o) or b(o))(e, r)
        return e

    pred = disj()
    if pos[0] != len(toks):
        raise ApiError(400, 'InvalidParameterException', 'Invalid filter pattern')

    def match(msg):
        try:
            obj = json.loads(msg)
        except ValueError:
            return False
        return isinstance(obj, dict) and pred(obj)
    return match


# ------------------------------------------------------------------ EMF check

def emf_problems(msg):
    """What is wrong with msg as an Embedded Metric Format event (the EMF
    specification: _aws.Timestamp, CloudWatchMetrics[{Namespace, Dimensions,
    Metrics[{Name, Unit}]}], every dimension and metric a member), [] if
    nothing."""
    p = []
    try:
        o = json.loads(msg)
    except ValueError:
        return ['not JSON']
    aws = o.get('_aws') if isinstance(o, dict) else None
    if not isinstance(aws, dict):
        return ['no _aws object']
    if not isinstance(aws.get('Timestamp'), int):
        p.append('_aws.Timestamp not an integer')
    cwm = aws.get('CloudWatchMetrics')
    if not isinstance(cwm, list) or not cwm:
        return p + ['no CloudWatchMetrics']
    for d in cwm:
        ns = d.get('Namespace')
        if not isinstance(ns, str) or not ns or ns.startswith('AWS/'):
            p.append('bad Namespace %r' % ns)
        dims = d.get('Dimensions')
        if not isinstance(dims, list):
            p.append('Dimensions not a list')
            dims = []
        for ds in dims:
            if not isinstance(ds, list) or len(ds) > 30:
                p.append('bad dimension set %r' % ds)
                continue
            for k in ds:
                if not isinstance(o.get(k), str):
                    p.append('dimension %s is not a string member' % k)
        mets = d.get('Metrics')
        if not isinstance(mets, list) or not mets or len(mets) > 100:
            p.append('bad Metrics')
            mets = []
        for m in mets:
            name = m.get('Name') if isinstance(m, dict) else None
            if not isinstance(name, str) or not name:
                p.append('metric without Name')
                continue
            v = o.get(name)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool)) and not (
                    isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v)):
                p.append('metric %s has no numeric member' % name)
            unit = m.get('Unit')
            if unit is not None and unit not in EMF_UNITS:
                p.append('metric %s unit %r' % (name, unit))
    return p


EMF_UNITS = {'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes',
             'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count',
             'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second',
             'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
             'Terabits/Second', 'Count/Second', 'None'}


# --------------------------------------------------------------- the service

class Service:
    def __init__(self, region='us-east-1', keys=None, fault_every=0, fault='throttle', now=time.time):
        self.lock = threading.Lock()
        self.region = region
        # access key -> (secret, token or None, expiry epoch or None)
        self.keys = dict(keys or {})
        self.groups = {}          # group -> {stream -> [events]}
        self.calls = []           # one dict per call
        self.fault_every = fault_every
        self.fault = fault
        self.put_calls = 0
        self.now = now
        self.seq = 0
        # a test knob: any event whose message holds this text makes the
        # call an InvalidParameterException (to see the batch split)
        self.poison = None
        # another: the clock PutLogEvents judges event times by (signatures
        # keep the real one)
        self.events_now = None
        # the benchmark's: count accepted events, keep no messages
        self.discard = False
        self.accepted = 0
        self.put_seconds = 0.0

    # -- authentication
    def authenticate(self, method, path, headers, body):
        auth = headers.get('Authorization')
        if not auth:
            raise ApiError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
        m = re.match(r'^AWS4-HMAC-SHA256 (.*)$', auth)
        if not m:
            raise ApiError(400, 'IncompleteSignatureException', 'Unsupported authorization type')
        parts = {}
        for kv in m.group(1).split(','):
            k, _, v = kv.strip().partition('=')
            parts[k] = v
        for need in ('Credential', 'SignedHeaders', 'Signature'):
            if not parts.get(need):
                raise ApiError(400, 'IncompleteSignatureException',
                               "Authorization header requires '%s' parameter." % need)
        cred = parts['Credential'].split('/')
        if len(cred) != 5 or cred[4] != 'aws4_request':
            raise ApiError(400, 'IncompleteSignatureException', 'Credential is malformed')
        akid, cdate, cregion, cservice, _ = cred
        signed = parts['SignedHeaders'].split(';')
        if 'host' not in signed:
            raise ApiError(400, 'InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.")
        if 'x-amz-date' not in signed:
            raise ApiError(400, 'IncompleteSignatureException',
                           "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        for h in signed:
            if h != h.lower() or not headers.get_all(h):
                raise ApiError(400, 'IncompleteSignatureException',
                               'Signed header %s was not sent with the request.' % h)
        dates = headers.get_all('x-amz-date')
        amz_date = ','.join(dates)
        try:
            t = datetime.datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise ApiError(400, 'IncompleteSignatureException', 'Date must be in ISO-8601 basic format. Got %r.' % amz_date)
        skew = t.timestamp() - self.now()
        if abs(skew) > SKEW_S:
            raise ApiError(400, 'InvalidSignatureException',
                           'Signature expired: %s is now earlier than %s (%s - 5 min.)' % (
                               amz_date, time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(self.now() - SKEW_S)),
                               time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(self.now())))
                           if skew < 0 else 'Signature not yet current')
        if cdate != amz_date[:8]:
            raise ApiError(400, 'InvalidSignatureException', 'Credential should be scoped to a valid date.')
        if cregion != self.region:
            raise ApiError(400, 'InvalidSignatureException',
                           "Credential should be scoped to a valid region, not '%s'." % cregion)
        if cservice != 'logs':
            raise ApiError(400, 'InvalidSignatureException', 'Credential should be scoped to correct service.')
        with self.lock:
            key = self.keys.get(akid)
        if not key:
            raise ApiError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
        secret, token, expiry = key
        sent_token = headers.get('X-Amz-Security-Token')
        if token is not None and sent_token != token:
            raise ApiError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
        if token is not None and 'x-amz-security-token' not in signed:
            raise ApiError(400, 'IncompleteSignatureException', 'X-Amz-Security-Token must be signed.')
        if expiry is not None and self.now() >= expiry:
            raise ApiError(400, 'ExpiredTokenException', 'The security token included in the request is expired')
        if 'x-amz-content-sha256' in signed and headers.get('x-amz-content-sha256') != hashlib.sha256(body).hexdigest():
            raise ApiError(400, 'InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed.')
        req = AWSRequest(method=method, url='http://%s%s' % (headers.get('host'), path), data=body)
        for h in signed:
            for v in headers.get_all(h):
                req.headers[h] = v  # HTTPHeaders: assignment appends
        req.context['timestamp'] = amz_date
        signer = ExactSigner(Credentials(akid, secret, token), cregion, signed)
        creq = signer.canonical_request(req)
        sts = signer.string_to_sign(req, creq)
        want = signer.signature(sts, req)
        if not secrets.compare_digest(want, parts['Signature']):
            raise ApiError(400, 'InvalidSignatureException',
                           'The request signature we calculated does not match the signature you provided. '
                           'Check your AWS Secret Access Key and signing method.')
        return akid

    # -- operations
    def dispatch(self, target, req, headers, akid):
        op = target.rpartition('.')[2]
        fn = getattr(self, 'op_' + op, None)
        if not target.startswith('Logs_20140328.') or fn is None:
            raise ApiError(400, 'UnknownOperationException', 'Unknown operation %s' % target)
        if not isinstance(req, dict):
            raise ApiError(400, 'SerializationException', 'Start of structure or map found where not expected.')
        return fn(req, headers)

    def _group(self, req):
        g = req.get('logGroupName')
        if not isinstance(g, str) or not g:
            raise ApiError(400, 'InvalidParameterException', 'logGroupName is required')
        if g not in self.groups:
            raise ApiError(400, 'ResourceNotFoundException', 'The specified log group does not exist.')
        return g

    def op_CreateLogGroup(self, req, headers):
        with self.lock:
            g = req.get('logGroupName')
            if not isinstance(g, str) or not re.match(r'^[\.\-_/#A-Za-z0-9]{1,512}$', g):
                raise ApiError(400, 'InvalidParameterException', 'invalid logGroupName')
            if g in self.groups:
                raise ApiError(400, 'ResourceAlreadyExistsException', 'The specified log group already exists')
            self.groups[g] = {}
        return {}

    def op_CreateLogStream(self, req, headers):
        with self.lock:
            g = self._group(req)
            s = req.get('logStreamName')
            if not isinstance(s, str) or not re.match(r'^[^:*]{1,512}$', s):
                raise ApiError(400, 'InvalidParameterException', 'invalid logStreamName')
            if s in self.groups[g]:
                raise ApiError(400, 'ResourceAlreadyExistsException', 'The specified log stream already exists')
            self.groups[g][s] = []
        return {}

    def op_DescribeLogStreams(self, req, headers):
        with self.lock:
            g = self._group(req)
            return {'logStreams': [{'logStreamName': s, 'storedBytes': 0} for s in sorted(self.groups[g])]}

    def op_PutLogEvents(self, req, headers):
        events = req.get('logEvents')
        with self.lock:
            self.put_calls += 1
            n = self.put_calls
        if self.fault_every and n % self.fault_every == 0:
            if self.fault == 'throttle':
                raise ApiError(400, 'ThrottlingException', 'Rate exceeded')
            raise ApiError(503, 'ServiceUnavailableException', 'The server failed to process the request')
        if not isinstance(events, list) or not events:
            raise ApiError(400, 'InvalidParameterException',
                           "1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: Member must not be null")
        if len(events) > MAX_EVENTS:
            raise ApiError(400, 'InvalidParameterException',
                           "1 validation error detected: Value '%d' at 'logEvents' failed to satisfy constraint: "
                           "Member must have length less than or equal to 10000" % len(events))
        size, prev, first = 0, None, None
        for e in events:
            msg, ts = e.get('message') if isinstance(e, dict) else None, e.get('timestamp') if isinstance(e, dict) else None
            if not isinstance(msg, str) or not msg or not isinstance(ts, int) or isinstance(ts, bool):
                raise ApiError(400, 'InvalidParameterException', 'Log event is missing its message or timestamp')
            esize = len(msg.encode('utf-8', 'surrogatepass')) + EVENT_OVERHEAD
            if esize > MAX_EVENT_BYTES:
                raise ApiError(400, 'InvalidParameterException', 'Log event too large: %d bytes exceeds limit of %d' % (esize, MAX_EVENT_BYTES))
            size += esize
            if prev is not None and ts < prev:
                raise ApiError(400, 'InvalidParameterException',
                               'Log events in a single PutLogEvents request must be in chronological order.')
            prev = ts
            first = ts if first is None else first
        if self.poison and any(self.poison in e['message'] for e in events):
            raise ApiError(400, 'InvalidParameterException', 'Log event refused (test poison)')
        if size > MAX_BATCH_BYTES:
            raise ApiError(400, 'InvalidParameterException',
                           'Upload too large: %d bytes exceeds limit of %d' % (size, MAX_BATCH_BYTES))
        if prev - first > DAY_MS:
            raise ApiError(400, 'InvalidParameterException',
                           'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.')
        now_ms = int((self.events_now or self.now)() * 1000)
        too_new = next((i for i, e in enumerate(events) if e['timestamp'] > now_ms + 2 * 3600 * 1000), None)
        too_old = max((i for i, e in enumerate(events) if e['timestamp'] < now_ms - 14 * DAY_MS), default=None)
        fmt = headers.get('x-amzn-logs-format')
        with self.lock:
            g = self._group(req)
            s = req.get('logStreamName')
            if s not in self.groups[g]:
                raise ApiError(400, 'ResourceNotFoundException', 'The specified log stream does not exist.')
            stored = 0
            for i, e in enumerate(events):
                if (too_new is not None and i >= too_new) or (too_old is not None and i <= too_old):
                    continue
                self.accepted += 1
                if self.discard:
                    continue
                self.seq += 1
                self.groups[g][s].append({'timestamp': e['timestamp'], 'message': e['message'],
                                          'ingestionTime': now_ms, 'eventId': '%020d' % self.seq,
                                          'logStreamName': s, 'format': fmt})
                stored += 1
            self.calls[-1]['stored'] = stored
        out = {'nextSequenceToken': '%056d' % self.seq}
        rej = {}
        if too_new is not None:
            rej['tooNewLogEventStartIndex'] = too_new
        if too_old is not None:
            rej['tooOldLogEventEndIndex'] = too_old
        if rej:
            out['rejectedLogEventsInfo'] = rej
        return out

    def op_FilterLogEvents(self, req, headers):
        pred = compile_filter(req.get('filterPattern') or '')
        limit = req.get('limit') or 10000
        start = int(req.get('nextToken') or 0)
        with self.lock:
            g = self._group(req)
            names = req.get('logStreamNames') or sorted(self.groups[g])
            evs = [e for s in names for e in self.groups[g].get(s, [])]
        evs.sort(key=lambda e: (e['timestamp'], e['eventId']))
        lo, hi = req.get('startTime'), req.get('endTime')
        hits = [e for e in evs if (lo is None or e['timestamp'] >= lo) and (hi is None or e['timestamp'] <= hi)
                and pred(e['message'])]
        page = hits[start:start + limit]
        out = {'events': [{k: e[k] for k in ('logStreamName', 'timestamp', 'message', 'ingestionTime', 'eventId')}
                          for e in page],
               'searchedLogStreams': [{'logStreamName': s, 'searchedCompletely': True} for s in names]}
        if start + limit < len(hits):
            out['nextToken'] = str(start + limit)
        return out

    # -- test helpers
    def stored(self, group, stream=None):
        with self.lock:
            streams = self.groups.get(group, {})
            if stream is not None:
                return list(streams.get(stream, []))
            return [e for s in sorted(streams) for e in streams[s]]

    def put_count(self, status=200):
        with self.lock:
            return sum(1 for c in self.calls if c['op'] == 'PutLogEvents' and c['status'] == status)


class LogsHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def setup(self):
        super().setup()
        # headers and body go out as separate writes: without this, Nagle
        # holds the body until the client's delayed ACK (40 ms a call)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/x-amz-json-1.1')
        self.send_header('x-amzn-RequestId', secrets.token_hex(16))
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        svc = self.server.svc
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n)
        target = self.headers.get('X-Amz-Target', '')
        t0 = time.process_time()
        call = {'op': target.rpartition('.')[2], 'status': None, 'events': None,
                'format': self.headers.get('x-amzn-logs-format'), 'time': time.time()}
        with svc.lock:
            svc.calls.append(call)
        try:
            akid = svc.authenticate('POST', self.path, self.headers, body)
            call['akid'] = akid
            try:
                req = json.loads(body)
            except ValueError:
                raise ApiError(400, 'SerializationException', 'Could not parse the request body')
            if isinstance(req, dict) and isinstance(req.get('logEvents'), list):
                call['events'] = len(req['logEvents'])
            out = svc.dispatch(target, req, self.headers, akid)
            call['status'] = 200
            self._answer(200, out)
        except ApiError as e:
            call['status'] = e.status
            call['error'] = e.typ
            self._answer(e.status, {'__type': e.typ, 'message': e.message})
        with svc.lock:
            svc.put_seconds += time.process_time() - t0

    def do_GET(self):
        self._answer(404, {'__type': 'UnknownOperationException', 'message': 'POST only'})


class ImdsHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, text, ctype='text/plain'):
        body = text.encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        imds = self.server.imds
        n = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(n)
        ttl = self.headers.get('X-aws-ec2-metadata-token-ttl-seconds')
        if self.path != '/latest/api/token' or not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._answer(400, 'Bad Request')
        tok = secrets.token_urlsafe(32)
        with imds.lock:
            imds.tokens[tok] = time.time() + int(ttl)
            imds.token_puts += 1
        self._answer(200, tok)

    def do_GET(self):
        imds = self.server.imds
        tok = self.headers.get('X-aws-ec2-metadata-token')
        with imds.lock:
            ok = tok in imds.tokens and imds.tokens[tok] > time.time()
        if not ok:
            return self._answer(401, 'Unauthorized')
        base = '/latest/meta-data/'
        p = self.path
        if p == base + 'iam/security-credentials/' or p == base + 'iam/security-credentials':
            return self._answer(200, imds.role)
        if p == base + 'iam/security-credentials/' + imds.role:
            return self._answer(200, json.dumps(imds.issue()), 'application/json')
        if p == base + 'placement/region':
            return self._answer(200, imds.region)
        if p == base + 'placement/availability-zone':
            return self._answer(200, imds.region + 'a')
        if p == base + 'instance-id':
            return self._answer(200, imds.instance_id)
        self._answer(404, 'Not Found')


class Imds:
    def __init__(self, svc, region, lifetime=21600, role='hostgate-ship'):
        self.svc, self.region, self.lifetime, self.role = svc, region, lifetime, role
        self.lock = threading.Lock()
        self.tokens = {}
        self.issued = []
        self.token_puts = 0
        self.instance_id = 'i-0123456789abcdef0'

    def issue(self):
        akid = 'ASIA' + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        token = secrets.token_urlsafe(60)
        now = time.time()
        exp = now + self.lifetime
        with self.svc.lock:
            self.svc.keys[akid] = (secret, token, exp)
        with self.lock:
            self.issued.append((akid, now, exp))
        return {'Code': 'Success', 'LastUpdated': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)),
                'Type': 'AWS-HMAC', 'AccessKeyId': akid, 'SecretAccessKey': secret, 'Token': token,
                'Expiration': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(exp))}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client killed mid-request (the kill -9 tests): not an error here
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class Endpoint:
    """Both servers on loopback ports, served from threads."""

    def __init__(self, region='us-east-1', keys=None, fault_every=0, fault='throttle', imds=False,
                 cred_lifetime=21600):
        self.svc = Service(region, keys, fault_every, fault)
        self.httpd = QuietServer(('127.0.0.1', 0), LogsHandler)
        self.httpd.daemon_threads = True
        self.httpd.svc = self.svc
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.threads = [threading.Thread(target=self.httpd.serve_forever, daemon=True)]
        self.imds = None
        if imds:
            self.imds = Imds(self.svc, region, cred_lifetime)
            self.imdsd = QuietServer(('127.0.0.1', 0), ImdsHandler)
            self.imdsd.daemon_threads = True
            self.imdsd.imds = self.imds
            self.imds_url = 'http://127.0.0.1:%d' % self.imdsd.server_address[1]
            self.threads.append(threading.Thread(target=self.imdsd.serve_forever, daemon=True))
        for t in self.threads:
            t.start()

    def close(self):
        self.httpd.shutdown()
        if self.imds:
            self.imdsd.shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--region', default='us-east-1')
    ap.add_argument('--key', action='append', default=[], help='AKID:SECRET')
    ap.add_argument('--fault-every', type=int, default=0)
    ap.add_argument('--fault', default='throttle', choices=['throttle', '5xx'])
    ap.add_argument('--imds', action='store_true')
    ap.add_argument('--cred-lifetime', type=int, default=21600)
    ap.add_argument('--ready-file', help='written with "URL [IMDS_URL]" once listening')
    ap.add_argument('--group', action='append', default=[], help='log group to create at start')
    a = ap.parse_args()
    keys = {}
    for k in a.key:
        akid, _, sec = k.partition(':')
        keys[akid] = (sec, None, None)
    ep = Endpoint(a.region, keys, a.fault_every, a.fault, a.imds, a.cred_lifetime)
    for g in a.group:
        ep.svc.groups[g] = {}
    line = ep.url + (' ' + ep.imds_url if a.imds else '')
    if a.ready_file:
        with open(a.ready_file + '.tmp', 'w') as f:
            f.write(line + '\n')
        os.rename(a.ready_file + '.tmp', a.ready_file)
    else:
        print(line, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    sys.exit(main())
