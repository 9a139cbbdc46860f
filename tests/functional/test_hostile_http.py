"""Hostile input at the HTTP layer, against glance-api and glance-registry
(decisions "further" 9, "Bad input"; doc/decisions.rst "Strict HTTP
framing"): a malformed request line or header line is answered 400 (505
for another HTTP version) with ``Connection: close`` before any layer sees
a header, and JSON bodies are bounded in depth and size."""

import http.client
import json

from tests.functional import base
from tests.functional import server

MEMBER = base.identity('framing')
ADMIN = base.identity('framing-admin', roles='admin')
CONTROL_CHARACTERS = [bytes([c]) for c in range(0x20) if c != 0x09] + [
    b'\x7f']


def _head(identity):
    return b''.join(b'%s: %s\r\n' % (k.encode(), v.encode())
                    for k, v in identity.items())


class Answer:

    def __init__(self, raw):
        head, _, self.body = raw.partition(b'\r\n\r\n')
        lines = head.split(b'\r\n')
        self.status_line = lines[0]
        self.status = int(lines[0].split(b' ')[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b':')
            self.headers[name.strip().lower().decode()] = \
                value.strip().decode('latin-1')

    def __repr__(self):
        return '<Answer %r %r>' % (self.status_line, self.body[:200])


class FramingMixin:
    """The same malformed heads against either service; ``path`` is a
    harmless GET of the service."""

    path = None

    def exchange(self, data):
        """Send ``data``; the answer, read until the server closes (the
        test fails if it leaves the connection open)."""
        sock = self.raw_socket()
        sock.settimeout(10)
        try:
            try:
                sock.sendall(data)
            except OSError:
                pass
            raw = self.read_until_closed(sock)
        finally:
            sock.close()
        self.assertTrue(raw.startswith(b'HTTP/1.'), raw[:200])
        return Answer(raw)

    def assertRefused(self, data, status=400, message=None):
        answer = self.exchange(data)
        self.assertEqual(status, answer.status, (data[:200], answer))
        self.assertEqual('close', answer.headers.get('connection'), answer)
        self.assertEqual(str(len(answer.body)),
                         answer.headers.get('content-length'))
        if message:
            self.assertIn(message, answer.body)
        return answer

    def get(self, *field_lines):
        return (b'GET %s HTTP/1.1\r\nHost: x\r\n' % self.path.encode()
                + b''.join(line + b'\r\n' for line in field_lines)
                + _head(ADMIN) + b'\r\n')

    def test_control_characters_in_any_header_are_400(self):
        names = [b'X-Roles', b'X-Tenant-Id', b'X-Auth-Token', b'Accept',
                 b'Content-Type', b'User-Agent', b'x-image-meta-name',
                 b'X-Anything']
        for i, ctl in enumerate(CONTROL_CHARACTERS):
            name = names[i % len(names)]
            self.assertRefused(self.get(name + b': a' + ctl + b'b'),
                               message=b'Malformed header line')
            # At the end of the value, and in the name.
            self.assertRefused(self.get(name + b': a' + ctl))
            self.assertRefused(self.get(b'X-A' + ctl + b'b: c'))
        # Host too, and before the other headers.
        self.assertRefused(b'GET %s HTTP/1.1\r\nHost: x\x00y\r\n\r\n'
                           % self.path.encode())

    def test_htab_and_obs_text_are_legal_in_values(self):
        resp = self.exchange(self.get(b'X-Anything: a\tb\xe9\xff',
                                      b'Connection: close'))
        self.assertEqual(200, resp.status, resp)

    def test_bare_lf_and_other_line_shapes_are_400(self):
        path = self.path.encode()
        for data in (
                # Lines ended by LF alone, all or some of them.
                b'GET %s HTTP/1.1\nHost: x\n\n' % path,
                b'GET %s HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n' % path,
                b'GET %s HTTP/1.1\r\nHost: x\r\n\n' % path,
                # A folded line (obs-fold), a space before the colon, a
                # line without a colon, an empty name.
                self.get(b'X-A: b', b' c'),
                self.get(b'Transfer-Encoding : chunked'),
                self.get(b'garbage'),
                self.get(b': b')):
            self.assertRefused(data)

    def test_malformed_request_lines_are_400(self):
        path = self.path.encode()
        for line in (b'GET %s HTTP/9.x' % path,
                     b'GET %s HTTP/1' % path,
                     b'GET %s HTTP/1.1.1' % path,
                     b'GET %s http/1.1' % path,
                     b'GET %s' % path,
                     b'GET',
                     b'GET  %s HTTP/1.1' % path,
                     b'GET %s HTTP/1.1 ' % path,
                     b'GET %s extra HTTP/1.1' % path,
                     b'\x80\x81\xfe\xff \x00\x01 \x16\x03\x01',
                     b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
                     b'G\x00T %s HTTP/1.1' % path,
                     b'GET %s\x00 HTTP/1.1' % path,
                     b'GET %s\x7f HTTP/1.1' % path,
                     b'GET %s\xe9 HTTP/1.1' % path,
                     b'GET %s\rX HTTP/1.1' % path,
                     b'GET\t%s\tHTTP/1.1' % path):
            self.assertRefused(line + b'\r\nHost: x\r\n\r\n',
                               message=b'Malformed request line')

    def test_other_http_versions_are_505(self):
        path = self.path.encode()
        for line in (b'PRI * HTTP/2.0', b'GET %s HTTP/2.0' % path,
                     b'GET %s HTTP/3.0' % path, b'GET %s HTTP/0.9' % path):
            self.assertRefused(line + b'\r\nHost: x\r\n\r\n', 505)
        # The HTTP/2 connection preface of a client speaking h2c directly.
        self.assertRefused(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505)

    def test_overlong_request_line_is_414(self):
        self.assertRefused(b'GET /' + b'a' * 100000 + b' HTTP/1.1\r\n\r\n',
                           414)
        self.assertRefused(b'G' * 100000, 414)

    def test_content_length_must_be_one_number(self):
        for fields in ([b'Content-Length: +5'], [b'Content-Length: 5_0'],
                       [b'Content-Length: 0x5'],
                       [b'Content-Length: 5', b'Content-Length: 6'],
                       [b'Content-Length: 5', b'Content-Length: 5'],
                       [b'Content-Length: 5, 5']):
            self.assertRefused(self.get(*fields) + b'abcde',
                               message=b'Invalid Content-Length')

    def test_transfer_coding_must_be_chunked_alone(self):
        # eventlet reads a chunked body only for exactly "chunked": with
        # another coding the body was read as the next request on the
        # connection (request smuggling).
        path = self.path.encode()
        smuggled = b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path
        body = b'%x\r\n%s\r\n0\r\n\r\n' % (len(smuggled), smuggled)
        for codings, status in (([b'gzip, chunked'], 501),
                                ([b'chunked, chunked'], 501),
                                ([b'chunked', b'chunked'], 501),
                                ([b'gzip'], 400), ([b'identity'], 400),
                                ([b'xchunked'], 400),
                                ([b'chunked, gzip'], 400),
                                ([b'chunked', b'gzip'], 400)):
            data = b'PUT %s HTTP/1.1\r\nHost: x\r\n%s\r\n%s' % (
                path, b''.join(b'Transfer-Encoding: %s\r\n' % c
                               for c in codings), body)
            answer = self.assertRefused(data, status)
            self.assertNotIn(b'HTTP/1.', answer.body, codings)
        self.assertRefused(
            b'PUT %s HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n%s'
            % (path, body), message=b'Invalid Transfer-Encoding')
        # Any spelling of chunked alone is read as chunked: one answer
        # (404 from the API, 400 "Malformed JSON" from the registry).
        answer = self.exchange(
            b'PUT %s/nowhere HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding:'
            b' \tChunked \r\nConnection: close\r\n\r\n%s'
            % (path, _head(ADMIN), body))
        self.assertIn(answer.status, (400, 404), answer)
        self.assertNotIn(b'HTTP/1.', answer.body)

    def test_well_formed_requests_still_served(self):
        # An empty line before the request line is ignored (RFC 9112
        # 2.2), HTTP/1.0 and an unknown 1.x minor version are served,
        # and keep-alive still works.
        answer = self.exchange(b'\r\n' + self.get(b'Connection: close'))
        self.assertEqual(200, answer.status)
        for version in (b'HTTP/1.0', b'HTTP/1.2'):
            answer = self.exchange(self.get(b'Connection: close').replace(
                b'HTTP/1.1', version, 1))
            self.assertEqual(200, answer.status)
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=10)
        for _ in range(3):
            conn.request('GET', self.path, headers=ADMIN)
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(200, resp.status)
        conn.close()


@server.eventlet_only(
    "the request head is parsed by the front server: these are glance-api's "
    'own server\'s answers (the stricthttp filter that guards the environ '
    'under others is tests/unit/api/test_strict_http.py)')
class TestApiFraming(FramingMixin, base.FunctionalTest):

    flavor = 'trusted-auth'
    path = '/v1/images'

    def test_bare_cr_cannot_smuggle_a_role(self):
        # A member sent "X-Roles: member<CR>X-Roles: admin" in one line:
        # Python's header parser started a second X-Roles at the CR, the
        # roles became "member, admin", and publicize_image (admin only)
        # let a public image be created.
        before = self.request('GET', '/v1/images/detail?is_public=none',
                              ADMIN).json['images']
        identity = dict(MEMBER)
        del identity['X-Roles']
        data = (b'POST /v1/images HTTP/1.1\r\nHost: x\r\n' + _head(identity)
                + b'X-Roles: member\rX-Roles: admin\r\n'
                b'x-image-meta-name: smuggled\r\n'
                b'x-image-meta-is_public: true\r\n\r\n')
        self.assertRefused(data)
        for ctl in (b'\x00', b'\x0b', b'\x0c', b'\n'):
            self.assertRefused(data.replace(b'\r', ctl, 1).replace(
                b'member\r', b'member' + ctl))
        self.assertEqual(before, self.request(
            'GET', '/v1/images/detail?is_public=none', ADMIN).json['images'])
        # The member alone may not publicize.
        resp = self.create(headers=dict(MEMBER, **{
            'x-image-meta-is_public': 'true'}))
        self.assertEqual(403, resp.status)

    def test_refused_head_is_logged_without_its_control_characters(self):
        self.assertRefused(b'GET /v1/images\r\x1b[2J HTTP/1.1\r\n\r\n')
        log = self.api.read_log()
        self.assertIn("refused: Malformed request line", log)
        self.assertNotIn('\x1b[2J', log)


class TestRegistryFraming(FramingMixin, base.FunctionalTest):

    path = '/images'

    @classmethod
    def make_server(cls):
        return server.RegistryServer(flavor='trusted-auth')

    def test_bare_cr_cannot_smuggle_a_role(self):
        # Admins see every image in the registry's detail list; members
        # only their own: a smuggled admin role is refused instead.
        identity = dict(MEMBER)
        del identity['X-Roles']
        self.assertRefused(
            b'GET /images/detail?is_public=none HTTP/1.1\r\nHost: x\r\n'
            + _head(identity) + b'X-Roles: member\rX-Roles: admin\r\n\r\n')


def _nested(depth):
    return b'[' * depth + b']' * depth


class TestJsonBodies(base.FunctionalTest):
    """Member bodies of glance-api and every JSON body of glance-registry:
    at most 32 levels deep (400) and max_json_body_size bytes (413)."""

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'max_json_body_size': 65536}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = server.RegistryServer(flavor='trusted-auth',
                                             conf=cls.conf)
        cls.registry.setUp()

    @classmethod
    def tearDownClass(cls):
        cls.registry.cleanUp()
        super().tearDownClass()

    def api_targets(self):
        image_id = self.create(headers=MEMBER).json['image']['id']
        return [('PUT', '/v1/images/%s/members' % image_id),
                ('PUT', '/v1/images/%s/members/friend' % image_id)]

    def registry_targets(self):
        resp = self.request('POST', '/images', dict(
            MEMBER, **{'Content-Type': 'application/json'}),
            json.dumps({'image': {'name': 'r', 'status': 'queued'}}),
            api=self.registry)
        image_id = resp.json['image']['id']
        return [('POST', '/images'), ('PUT', '/images/%s' % image_id),
                ('PUT', '/images/%s/members' % image_id),
                ('PUT', '/images/%s/members/friend' % image_id)]

    def each_target(self):
        for method, path in self.api_targets():
            yield self.api, method, path
        for method, path in self.registry_targets():
            yield self.registry, method, path

    def send(self, api, method, path, body, chunked=False):
        headers = dict(MEMBER, **{'Content-Type': 'application/json',
                                  'Accept': 'application/json'})
        if chunked:
            body = iter([body[i:i + 8192]
                         for i in range(0, len(body), 8192)])
        return self.request(method, path, headers, body, api=api)

    def test_deep_nesting_is_400(self):
        for api, method, path in self.each_target():
            for body in (_nested(2000), _nested(100000)[:65536],
                         b'{"memberships": ' + _nested(40) + b'}',
                         b'{"image": ' + b'{"a": ' * 40 + b'1' + b'}' * 41,
                         b'[' * 5000):
                resp = self.send(api, method, path, body)
                self.assertEqual(400, resp.status, (path, body[:50], resp))
                self.assertEqual(
                    'JSON in request body is nested too deeply: at most '
                    '32 levels.', resp.json['message'])

    def test_nesting_within_the_limit_is_parsed(self):
        # 32 levels is not refused for its depth (the body is still not a
        # valid member list or image, except for one member's PUT, which
        # reads only "member" and ignores other keys as in §6).
        for api, method, path in self.each_target():
            resp = self.send(api, method, path,
                             b'{"memberships": ' + _nested(31) + b'}')
            if api is self.api and path.endswith('/members/friend'):
                self.assertEqual(204, resp.status, resp)
                continue
            self.assertEqual(400, resp.status, resp)
            self.assertNotIn('nested too deeply', resp.json['message'])

    def test_brackets_in_strings_do_not_nest(self):
        image_id = self.create(headers=MEMBER).json['image']['id']
        member = '[{' * 40 + '\\"' + ']}' * 40
        resp = self.send(self.api, 'PUT', '/v1/images/%s/members' % image_id,
                         json.dumps({'memberships': [
                             {'member_id': member}]}).encode())
        self.assertEqual(204, resp.status, resp)

    def test_chunked_bodies_are_read(self):
        # They were taken as no body at all: webob reads none without a
        # Content-Length unless the server flags its input as terminated.
        image_id = self.create(headers=MEMBER).json['image']['id']
        path = '/v1/images/%s/members' % image_id
        resp = self.send(self.api, 'PUT', path, json.dumps({'memberships': [
            {'member_id': 'friend', 'can_share': True}]}).encode(),
            chunked=True)
        self.assertEqual(204, resp.status, resp)
        resp = self.send(self.api, 'PUT', path + '/other', json.dumps(
            {'member': {'can_share': True}}).encode(), chunked=True)
        self.assertEqual(204, resp.status, resp)
        members = self.request('GET', path, MEMBER).json['members']
        self.assertEqual([('friend', True), ('other', True)], sorted(
            (m['member_id'], m['can_share']) for m in members))

    def test_oversized_body_is_413(self):
        for api, method, path in self.each_target():
            for chunked in (False, True):
                resp = self.send(api, method, path,
                                 b'[' + b'1, ' * 30000 + b'1]',
                                 chunked=chunked)
                self.assertEqual(413, resp.status, (path, chunked, resp))
                self.assertEqual('The request body is too large: at most '
                                 '65536 bytes of JSON.',
                                 resp.json['message'])

    def test_malformed_json_is_400(self):
        for api, method, path in self.each_target():
            for body in (b'{', b'\xff\xfe{}', b'{"a": 1}}', b'"\\'):
                resp = self.send(api, method, path, body)
                self.assertEqual(400, resp.status, (path, body, resp))
                self.assertEqual('Malformed JSON in request body.',
                                 resp.json['message'])
