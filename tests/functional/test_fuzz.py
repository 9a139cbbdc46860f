"""Hostile input against one running glance-api (decisions "Bad input"):
hypothesis generates malformed headers, values, query strings, member
bodies, ids, methods, paths and broken chunked bodies; control characters
in any header, malformed request lines (raw socket), deeply nested JSON,
and empty bodies with checksums (decisions "further" 9).

The property, for every request: no 5xx, no traceback in the body, the
server stays up; and no image but the request's target changes (images
of another tenant and of the fuzzing tenant itself are compared before
and after every example).

Examples per test are bounded (``GLANCE_V1_FUZZ_SCALE`` multiplies them
for a longer run); a failure prints the falsifying request and hypothesis'
seed.
"""

import http.client
import json
import os
import re
import socket
import threading
import time
import urllib.parse
import uuid

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from glance_v1.image import validation
from tests.functional import base
from tests.functional import server

FUZZER = base.identity('fuzz')
ADMIN = base.identity('fuzz-admin', roles='admin')
VICTIM = base.identity('victim')
SCALE = float(os.environ.get('GLANCE_V1_FUZZ_SCALE', '1'))
TRACEBACK_MARKERS = (b'Traceback (most recent call last)', b'File "/')


def fuzz_settings(examples):
    return settings(max_examples=max(1, int(examples * SCALE)),
                    deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _no_line_breaks(value):
    return value.replace(b'\r', b'').replace(b'\n', b'')


def _utf8(text):
    return text.encode('utf-8', 'surrogatepass')


def _percent(text):
    return urllib.parse.quote(_utf8(text), safe='').encode()


INTERESTING = [b'', b' ', b'None', b'none', b'True', b'False', b'null',
               b'-1', b'0', b'1', b'2147483648', b'9' * 40,
               str(2 ** 63).encode(), b'1e308', b'NaN', b'%00', b'%ff%fe',
               b'%', b'%zz', b'\x00', b'\t', b'\x7f', b'\xff\xfe',
               b'\xc3\x28', b'\xf0\x9f\x92\xa9', b'../../etc/passwd',
               b'file:///etc/passwd', b'http://169.254.169.254/',
               b'a' * 300, b'{"a": 1}', b'in:a,b', b'eq:', b'"', b"'",
               b'<script>', b'2000-01-01T00:00:00', b'9999-99-99']

VALUES = st.one_of(
    st.sampled_from(INTERESTING),
    st.binary(max_size=64).map(_no_line_breaks),
    st.text(max_size=64).map(_utf8).map(_no_line_breaks),
    st.text(max_size=32).map(_percent),
    st.integers(min_value=-2 ** 70, max_value=2 ** 70).map(
        lambda i: str(i).encode()),
    st.integers(min_value=200, max_value=12000).map(lambda n: b'v' * n),
)

META_KEYS = st.one_of(
    st.sampled_from(sorted(validation.CORE_FIELDS)).map(
        lambda f: b'x-image-meta-' + f.encode()),
    st.text(alphabet='abcdefghijklmnopqrstuvwxyz_-.:~0123456789',
            min_size=0, max_size=20).map(
        lambda k: b'x-image-meta-property-' + k.encode()),
    st.text(alphabet='abcdefghijklmnopqrstuvwxyz_-', max_size=12).map(
        lambda k: b'x-image-meta-' + k.encode()),
    st.sampled_from([b'x-glance-api-copy-from',
                     b'x-glance-registry-purge-props', b'Content-Type',
                     b'X-Openstack-Request-ID', b'Range', b'Accept',
                     b'X-Image-Meta-Disk-Format', b'x-image-meta-is-public',
                     b'Transfer-Encoding']),
)

FILTER_KEYS = st.one_of(
    st.sampled_from(['name', 'status', 'container_format', 'disk_format',
                     'size_min', 'size_max', 'min_ram', 'min_disk',
                     'is_public', 'protected', 'changes-since', 'deleted',
                     'marker', 'limit', 'sort_key', 'sort_dir', 'owner',
                     'property-a', 'property-', 'id', 'checksum']),
    st.text(max_size=12))


class FuzzTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'client_socket_timeout': 3}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.requests_sent = 0
        api = cls.shared_api
        cls.targets = {}
        cls.bystanders = []
        for headers, body, share in ((FUZZER, b'target', False),
                                     (FUZZER, None, False),
                                     (FUZZER, b'mine', True),
                                     (VICTIM, b'theirs', True),
                                     (VICTIM, None, False)):
            image_id = cls._create(api, headers, body)
            if share:
                cls._call(api, 'PUT', '/v1/images/%s/members/fuzz-friend'
                          % image_id, headers)
            cls.bystanders.append(image_id)
        for name, body in (('active', b'fuzz'), ('queued', None)):
            cls.targets[name] = cls._create(api, FUZZER, body)

    @staticmethod
    def _call(api, method, path, headers, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', api.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    @classmethod
    def _create(cls, api, headers, body):
        hdrs = dict(headers, **base.IMAGE_HEADERS)
        if body is not None:
            hdrs['Content-Type'] = 'application/octet-stream'
        status, data = cls._call(api, 'POST', '/v1/images', hdrs, body)
        assert status == 201, (status, data)
        return json.loads(data)['image']['id']

    # -- the property -------------------------------------------------------

    def snapshot(self):
        """Everything a client could learn of the bystander images."""
        state = {}
        for image_id in self.bystanders:
            path = '/v1/images/%s' % image_id
            resp = self.request('HEAD', path, ADMIN)
            meta = {k: v for k, v in resp.headers.items()
                    if k.startswith('x-image-meta-')}
            members = self.request('GET', path + '/members', ADMIN)
            state[image_id] = (resp.status, meta, members.body)
        return state

    def setUp(self):
        super().setUp()
        self.before = self.snapshot()
        self.addCleanup(self.check_bystanders)

    def check_bystanders(self):
        self.assertEqual(self.before, self.snapshot())
        self.assertIsNone(self.api.proc.poll(), 'glance-api died')

    def assertSane(self, status, body, what):
        self.assertLess(status, 500, (what, body[:300]))
        for marker in TRACEBACK_MARKERS:
            self.assertNotIn(marker, body, what)

    def unanswered_by_uwsgi(self, error, head):
        """Re-raise ``error`` (no status line came back) unless uWSGI's
        own parser is known to end ``head`` so: a NUL in a header field,
        a CR not followed by LF, or a request line not ending in CRLF are
        dropped without an answer, and what follows the second space of
        a request line is echoed into the status line (``HTTP/2.0 505``,
        ``x 400`` for ``GET<TAB>/ HTTP/1.1``). Refused, but not answered
        in HTTP (doc/deployment.rst, "uWSGI")."""
        line, _, fields = head.partition(b'\n')
        if server.TEST_SERVER != 'uwsgi' or not (
                b'\x00' in fields or re.search(rb'\r(?!\n)', head) or
                not re.fullmatch(rb'[^ ]+ [^ ]+ HTTP/1\.\d\r', line)):
            raise error

    def raw(self, method, path, headers=(), body=None, chunked=False):
        """Send exactly these bytes; ``(status, body)`` of the answer."""
        lines = [method + b' ' + path + b' HTTP/1.1', b'Host: fuzz']
        lines += [b'%s: %s' % (k, v) for k, v in headers]
        if chunked:
            lines.append(b'Transfer-Encoding: chunked')
            payload = (b'%x\r\n%s\r\n0\r\n\r\n' % (len(body), body)
                       if body else b'0\r\n\r\n')
        elif body is not None:
            lines.append(b'Content-Length: %d' % len(body))
            payload = body
        else:
            payload = b''
        lines.append(b'Connection: close')
        head = b'\r\n'.join(lines) + b'\r\n\r\n'
        sock = self.raw_socket()
        try:
            sock.sendall(head + payload)
            resp = http.client.HTTPResponse(sock, method=method.decode(
                'latin-1'))
            resp.begin()
            data = resp.read()
        finally:
            sock.close()
        type(self).requests_sent += 1
        return resp.status, data

    def raw_or_dropped(self, *args, **kwargs):
        """``raw``, or None where uWSGI's parser ends the request
        unanswered."""
        try:
            return self.raw(*args, **kwargs)
        except (http.client.HTTPException, ConnectionResetError) as e:
            method, path, headers = args[:3]
            self.unanswered_by_uwsgi(e, b'%s %s HTTP/1.1\r\n%s' % (
                method, path, b''.join(b'%s: %s\r\n' % kv
                                       for kv in headers)))
            return None

    def identity_headers(self, admin):
        who = ADMIN if admin else FUZZER
        return [(k.encode(), v.encode()) for k, v in who.items()]

    # -- the fuzzers --------------------------------------------------------

    @given(method=st.sampled_from([b'POST', b'PUT']),
           target=st.sampled_from(['active', 'queued']),
           meta=st.lists(st.tuples(META_KEYS, VALUES), max_size=6),
           body=st.one_of(st.none(), st.binary(max_size=300)),
           octets=st.booleans(), admin=st.booleans(),
           bystander_id=st.booleans())
    @fuzz_settings(150)
    def test_image_meta_headers(self, method, target, meta, body, octets,
                                admin, bystander_id):
        headers = self.identity_headers(admin) + meta
        if octets:
            headers.append((b'Content-Type', b'application/octet-stream'))
        if bystander_id:
            # Ids of other images are the most hostile values of all.
            headers.append((b'x-image-meta-id',
                            self.bystanders[3].encode()))
        path = b'/v1/images'
        if method == b'PUT':
            path += b'/' + self.targets[target].encode()
        status, data = self.raw(method, path, headers, body)
        self.assertSane(status, data, (method, path, headers))

    @given(detail=st.booleans(),
           query=st.lists(st.tuples(FILTER_KEYS, VALUES), max_size=5),
           raw_tail=st.sampled_from([b'', b'&', b'&&=', b'=%', b'%zz',
                                     b'&a', b'#x', b'?x']),
           admin=st.booleans())
    @fuzz_settings(120)
    def test_list_queries(self, detail, query, raw_tail, admin):
        pairs = [_percent(k) + b'=' + urllib.parse.quote(
            v, safe='').encode() for k, v in query]
        path = b'/v1/images' + (b'/detail' if detail else b'') + b'?' + \
            b'&'.join(pairs) + raw_tail
        status, data = self.raw(b'GET', path,
                                self.identity_headers(admin))
        self.assertSane(status, data, path)

    JSON = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() |
        st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(['memberships', 'member', 'member_id',
                             'can_share', 'x']) | st.text(max_size=8),
            inner, max_size=4),
        max_leaves=12)

    @given(kind=st.sampled_from(['replace', 'add', 'delete']),
           body=st.one_of(JSON.map(lambda v: json.dumps(v).encode()),
                          st.binary(max_size=200), st.none()),
           member=st.one_of(st.text(max_size=40).map(_percent),
                            st.sampled_from([b'victim', b'fuzz-friend',
                                             b'a' * 300, b'%00', b'..'])),
           content_type=st.sampled_from([None, b'application/json',
                                         b'text/plain']),
           own_image=st.booleans(), admin=st.booleans())
    @fuzz_settings(120)
    def test_member_bodies(self, kind, body, member, content_type,
                           own_image, admin):
        image_id = (self.targets['active'] if own_image
                    else self.bystanders[3]).encode()
        if not own_image and admin:
            admin = False  # an admin may change anybody's members
        headers = self.identity_headers(admin)
        if content_type:
            headers.append((b'Content-Type', content_type))
        path = b'/v1/images/' + image_id + b'/members'
        method = b'PUT'
        if kind != 'replace':
            path += b'/' + member
            method = b'PUT' if kind == 'add' else b'DELETE'
        status, data = self.raw(method, path, headers, body)
        self.assertSane(status, data, (method, path, body))

    SEGMENTS = st.one_of(
        st.sampled_from([b'v1', b'v1.0', b'v1.1', b'v2', b'images',
                         b'detail', b'members', b'shared-images',
                         b'healthcheck', b'versions', b'..', b'.', b'',
                         b'%2e%2e', b'%2F', b'cached_images', b'x' * 300]),
        st.text(max_size=30).map(_percent),
        st.binary(max_size=20).map(lambda b: b.translate(
            None, b' \r\n\t\x0b\x0c?#')))

    @given(method=st.sampled_from([b'GET', b'HEAD', b'POST', b'PUT',
                                   b'DELETE', b'PATCH', b'OPTIONS',
                                   b'TRACE', b'FOO', b'get', b'M' * 100]),
           segments=st.lists(SEGMENTS, max_size=6),
           victim=st.sampled_from([None, 3, 4]),
           body=st.one_of(st.none(), st.binary(max_size=100)),
           chunked=st.booleans())
    @fuzz_settings(150)
    def test_methods_and_paths(self, method, segments, victim, body,
                               chunked):
        if victim is not None:
            # Aim at another tenant's image: it must not change.
            segments = [b'v1', b'images',
                        self.bystanders[victim].encode()] + segments[:2]
        path = b'/' + b'/'.join(segments)
        answer = self.raw_or_dropped(
            method, path, self.identity_headers(False), body,
            chunked=chunked and body is not None)
        if answer is not None:
            self.assertSane(*answer, (method, path))

    @given(parts=st.lists(st.tuples(
        st.integers(min_value=0, max_value=70000),
        st.integers(min_value=0, max_value=70000)), min_size=1,
        max_size=4),
        bad_size_line=st.sampled_from([None, b'zz', b'-1', b'1;x=y',
                                       b'f' * 20, b'']))
    @fuzz_settings(30)
    def test_chunked_bodies_cut_short(self, parts, bad_size_line):
        """Chunks that announce more than they carry, bad size lines, no
        terminator, then the client goes away: the upload's image is
        killed or stays queued, and nothing is left in the store."""
        image_id = self._create(self.api, FUZZER, None)
        head = [b'PUT /v1/images/%s HTTP/1.1' % image_id.encode(),
                b'Host: fuzz', b'Transfer-Encoding: chunked',
                b'Content-Type: application/octet-stream']
        head += [b'%s: %s' % kv for kv in self.identity_headers(False)]
        payload = b''
        for announced, sent in parts:
            payload += b'%x\r\n' % announced + b'c' * min(announced, sent)
            if sent >= announced:
                payload += b'\r\n'
        if bad_size_line is not None:
            payload += bad_size_line + b'\r\nxyz\r\n'
        sock = self.raw_socket()
        sock.sendall(b'\r\n'.join(head) + b'\r\n\r\n' + payload)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        reply = b''
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
        sock.close()
        type(self).requests_sent += 1
        # mod_wsgi answers a body cut short with its own 500 (the request
        # never reached glance-api whole); what is left behind is checked
        # under every server.
        if reply and server.TEST_SERVER != 'modwsgi':
            status = int(reply.split(b' ', 2)[1])
            self.assertSane(status, reply, (parts, bad_size_line))
        deadline = time.monotonic() + 10
        while True:
            state = self.image_status(image_id, FUZZER)
            staged = [f for f in self.api.store_files() if image_id in f]
            if state in ('killed', 'queued', 'active') and (
                    state == 'active' or not staged):
                break
            self.assertLess(time.monotonic(), deadline, (state, staged))
            time.sleep(0.1)

    # -- framing: control characters, request lines (decisions "further" 9)

    CONTROL = st.sampled_from([bytes([c]) for c in range(0x20)
                               if c != 0x09] + [b'\x7f'])
    HEADER_NAMES = st.one_of(
        st.sampled_from([b'X-Roles', b'X-Tenant-Id', b'X-User-Id',
                         b'X-Identity-Status', b'X-Auth-Token',
                         b'X-Service-Roles', b'Host', b'Content-Type',
                         b'Content-Length', b'Transfer-Encoding',
                         b'Accept', b'X-Openstack-Request-ID',
                         b'x-image-meta-is_public', b'x-image-meta-name',
                         b'x-image-meta-property-a', b'Range']),
        st.text(alphabet='abcdefghijklmnopqrstuvwxyz-_', min_size=1,
                max_size=12).map(lambda k: k.encode()))

    def assertRefused(self, status, data, what, codes=(400,)):
        self.assertIn(status, codes, (what, data[:300]))
        self.assertSane(status, data, what)

    @given(name=HEADER_NAMES, value=VALUES, ctl=CONTROL,
           at=st.integers(min_value=0, max_value=80),
           in_name=st.booleans(),
           method=st.sampled_from([b'GET', b'POST', b'PUT', b'DELETE']),
           admin=st.booleans(), smuggled=st.booleans())
    @fuzz_settings(100)
    def test_control_characters_in_any_header(self, name, value, ctl, at,
                                              in_name, method, admin,
                                              smuggled):
        """A bare CR, LF, NUL or other control character anywhere in any
        header is 400 before any layer reads a header: a bare CR once
        split "X-Roles: member<CR>X-Roles: admin" into an admin role."""
        if smuggled:
            value += b'\rX-Roles: admin'
        elif in_name:
            at = min(at, len(name))
            name = name[:at] + ctl + name[at:]
        else:
            at = min(at, len(value))
            value = value[:at] + ctl + value[at:]
        path = b'/v1/images'
        if method != b'POST':
            path += b'/' + self.targets['queued'].encode()
        headers = self.identity_headers(admin) + [
            (b'x-image-meta-is_public', b'true'), (name, value)]
        answer = self.raw_or_dropped(method, path, headers)
        if answer is not None:
            self.assertRefused(*answer, (method, name, value))

    @given(method=st.one_of(
        st.sampled_from([b'GET', b'PRI', b'G\x00T', b'', b'get']),
        st.binary(max_size=12).map(_no_line_breaks)),
        target=st.one_of(st.sampled_from([b'/v1/images', b'*', b'',
                                          b'/v1/images?a=\x00',
                                          b'http://x/v1/images',
                                          b'/' + b'a' * 9000]),
                         st.binary(max_size=40).map(_no_line_breaks)),
        version=st.one_of(st.sampled_from([
            b'HTTP/1.1', b'HTTP/1.0', b'HTTP/1.9', b'HTTP/2.0', b'HTTP/3.0',
            b'HTTP/9.x', b'HTTP/1', b'http/1.1', b'HTTP/1.1.1', b'',
            b'HTTP/11.1', b'HTTP/1.1 x']),
            st.binary(max_size=10).map(_no_line_breaks)),
        separator=st.sampled_from([b' ', b'  ', b'\t', b'\x00', b'\x0b']),
        ending=st.sampled_from([b'\r\n', b'\n', b'\r', b'\r\r\n', b'']))
    @fuzz_settings(100)
    def test_malformed_request_lines(self, method, target, version,
                                     separator, ending):
        """Every request line gets a status line back: a well-formed one
        its answer, any other 400 (505 for HTTP/2 and later, 414 when too
        long) with Connection: close, never a silent close."""
        line = method + separator + target + separator + version
        well_formed = ending == b'\r\n' and re.fullmatch(
            rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e]+ HTTP/1\.\d",
            line) is not None
        head = line + ending + b'Host: fuzz\r\n' + b''.join(
            b'%s: %s\r\n' % kv for kv in self.identity_headers(False)) + \
            b'Connection: close\r\n\r\n'
        sock = self.raw_socket()
        try:
            try:
                sock.sendall(head)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # refused before all was sent: the answer counts
            resp = http.client.HTTPResponse(sock)
            try:
                resp.begin()
            except (http.client.HTTPException, ConnectionResetError) as e:
                self.assertFalse(well_formed, line)
                self.unanswered_by_uwsgi(e, head)
                return
            data = resp.read()
        finally:
            sock.close()
        type(self).requests_sent += 1
        if well_formed:
            self.assertSane(resp.status, data, line)
            return
        self.assertRefused(resp.status, data, line, codes=(400, 414, 505))
        self.assertEqual('close', resp.getheader('Connection'), line)

    # -- JSON bodies and empty images ---------------------------------------

    # Openers of a nesting level, the levels each adds, its closer.
    NESTING = [('[', 1, ']'), ('{"a": ', 1, '}'), ('{"memberships": ', 1, '}'),
               ('{"member": ', 1, '}'), ('[{"member_id": "x", "a": ', 2, '}]'),
               ('["[", ', 1, ']')]

    @given(depth=st.one_of(st.integers(min_value=1, max_value=64),
                           st.sampled_from([2000, 100000])),
           nesting=st.sampled_from(NESTING), closed=st.booleans(),
           chunked=st.booleans(), kind=st.sampled_from(['replace', 'add']))
    @fuzz_settings(60)
    def test_json_nesting(self, depth, nesting, closed, chunked, kind):
        """Member bodies nested past 32 levels are 400, never a 500
        (2,000 "[" once were), at every depth and shape."""
        opener, levels, closer = nesting
        body = opener * depth + ('1' + closer * depth if closed else '')
        path = b'/v1/images/%s/members' % self.targets['active'].encode()
        if kind == 'add':
            path += b'/fuzz-friend'
        status, data = self.raw(b'PUT', path, self.identity_headers(False) +
                                [(b'Content-Type', b'application/json')],
                                body.encode(), chunked=chunked)
        self.assertSane(status, data, (depth, opener))
        if len(body) > 1024 ** 2:  # max_json_body_size's default
            self.assertEqual(413, status, (depth, opener, data))
        elif depth * levels > 32:
            self.assertEqual(400, status, (depth, opener, data))
            self.assertIn(b'nested too deeply', data)

    @given(method=st.sampled_from([b'POST', b'PUT']),
           size=st.sampled_from([None, b'0', b'1', b'']),
           checksum=st.sampled_from([
               None, validation.EMPTY_MD5.encode(),
               validation.EMPTY_MD5.upper().encode(), b'a' * 32, b'x', b'',
               b'0' * 31, b'0' * 33, b'g' * 32, b'\xe9' * 16]),
           body=st.sampled_from(['none', 'length0', 'chunked0']),
           octets=st.booleans())
    @fuzz_settings(40)
    def test_empty_bodies_with_checksums(self, method, size, checksum, body,
                                         octets):
        """An image never becomes active with a checksum its (empty) data
        does not have, and a refused request leaves no image and no
        data behind."""
        name = b'empty-' + uuid.uuid4().hex.encode()
        headers = self.identity_headers(False) + [
            (b'x-image-meta-name', name),
            (b'x-image-meta-disk_format', b'raw'),
            (b'x-image-meta-container_format', b'bare')]
        if size is not None:
            headers.append((b'x-image-meta-size', size))
        if checksum is not None:
            headers.append((b'x-image-meta-checksum', checksum))
        if octets:
            headers.append((b'Content-Type', b'application/octet-stream'))
        path = b'/v1/images'
        image_id = None
        if method == b'PUT':
            image_id = self._create(self.api, FUZZER, None)
            path += b'/' + image_id.encode()
        status, data = self.raw(method, path, headers,
                                None if body == 'none' else b'',
                                chunked=body == 'chunked0')
        what = (method, headers, body, data)
        self.assertSane(status, data, what)
        if status >= 300 and image_id is None:
            # Refused: no image by that name (one killed by a failed
            # upload is hidden, as in the reference).
            found = self.request('GET', '/v1/images/detail?is_public=none&'
                                 'name=%s' % name.decode(), ADMIN)
            self.assertEqual([], found.json['images'], what)
            return
        image_id = image_id or json.loads(data)['image']['id']
        head = self.request('HEAD', '/v1/images/%s' % image_id, ADMIN)
        state = head.header('x-image-meta-status')
        if status >= 300:
            self.assertIn(state, ('queued', 'killed'), what)
        if state == 'active':
            self.assertEqual('0', head.header('x-image-meta-size'), what)
            self.assertIn(head.header('x-image-meta-checksum'),
                          (None, validation.EMPTY_MD5), what)
            self.assertEqual(head.header('x-image-meta-checksum'),
                             head.header('etag'), what)
        else:
            self.assertEqual([], [f for f in self.api.store_files()
                                  if image_id in f], what)

    # -- limits on headers and slow clients ---------------------------------

    @server.eventlet_only(
        "max_header_line is glance-api's own server's; uWSGI drops a head "
        'over buffer-size unanswered')
    def test_oversized_header_line_and_request_id(self):
        # eventlet refuses a header line over max_header_line (400, as
        # the reference); the server stays up and later requests work.
        status, data = self.raw(b'GET', b'/v1/images', self.identity_headers(
            False) + [(b'x-image-meta-name', b'n' * 20000)])
        self.assertEqual(400, status)
        if server.TEST_SERVER == 'eventlet':
            # A bound on all header lines together is eventlet's; Apache
            # bounds each line and their number (LimitRequestField*).
            total = [(b'X-Pad-%d' % i, b'p' * 8000) for i in range(10)]
            status, data = self.raw(b'GET', b'/v1/images',
                                    self.identity_headers(False) + total)
            self.assertEqual(400, status)
        status, data = self.raw(b'GET', b'/v1/images',
                                self.identity_headers(False) + [(
                                    b'X-Openstack-Request-ID', b'r' * 65)])
        self.assertEqual(431, status)
        self.assertIn(b'Request id is too long', data)
        # A request id with control characters is refused with the head
        # (decisions "further" 9); one with other bytes than ASCII is
        # replaced, not echoed.
        status, data = self.raw(b'GET', b'/v1/images', self.identity_headers(
            False) + [(b'X-Openstack-Request-ID', b'req-\x01\x7fabc')])
        self.assertEqual(400, status)
        resp = self.request('GET', '/v1/images', dict(FUZZER, **{
            'X-Openstack-Request-ID': 'req-\xe9\xa0abc'}))
        self.assertEqual(200, resp.status)
        self.assertTrue(resp.header('x-openstack-request-id').isascii())
        self.assertNotIn('\xe9', resp.header('x-openstack-request-id'))
        self.assertEqual(200, self.request('GET', '/v1/images',
                                           FUZZER).status)

    @server.eventlet_only(
        "client_socket_timeout is glance-api's own server's; under uWSGI a "
        "silent connection holds a thread for socket-timeout, under Apache "
        "mod_reqtimeout bounds a request head")
    def test_slow_loris_bounded_by_client_socket_timeout(self):
        # client_socket_timeout = 3 here. Connections that go silent, or
        # stop half way through their headers, or trickle them a byte at
        # a time, are all closed; others are served meanwhile.
        idle = [self.raw_socket() for _ in range(40)]
        partial = [self.raw_socket() for _ in range(10)]
        for sock in partial:
            sock.sendall(b'GET /v1/images HTTP/1.1\r\nHost: x\r\n')
        started = time.monotonic()
        cut_after = []

        def trickle():
            sock = self.raw_socket()
            try:
                for byte in b'GET /v1/images HTTP/1.1\r\nX-Slow: ' + \
                        b'z' * 100:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.5)
            except OSError:
                cut_after.append(time.monotonic() - started)
            finally:
                sock.close()
        tricklers = [threading.Thread(target=trickle) for _ in range(3)]
        for thread in tricklers:
            thread.start()
        self.assertEqual(200, self.request('GET', '/v1/images',
                                           FUZZER).status)
        self.assertLess(time.monotonic() - started, 2)
        for sock in idle + partial:
            sock.settimeout(15)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
            sock.close()
        for thread in tricklers:
            thread.join()
        # All closed by the server well before our own 15 s timeouts,
        # the tricklers too (they would have taken 50 s to finish).
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(3, len(cut_after))
        self.assertLess(max(cut_after), 8)
        self.assertEqual(200, self.request('GET', '/v1/images',
                                           FUZZER).status)
