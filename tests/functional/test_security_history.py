"""The v1 security history as regression tests against a real glance-api
(glance-v1-reference §14). Each test is named after its advisory and
fails if the flaw comes back; doc/security.rst lists which test covers
which advisory, and why the others cannot apply."""

import json
import os
import shutil
import tempfile
import time

from tests.functional import base
from tests.functional import server

OWNER = base.identity('sec-owner')
MEMBER = base.identity('sec-member')
OTHER = base.identity('sec-other')
ADMIN = base.identity('sec-admin', roles='admin')
DATA = os.urandom(100 * 1024 + 3)
CAP = 1024 * 1024

# OSSN-0013: the strict rule comes first; the permissive catch-all after
# it must not override it.
PROTECTIONS = """
[^x_secret_.*]
create = admin
read = admin
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
"""


class SecurityHistoryTest(base.FunctionalTest):

    flavor = 'trusted-auth'

    @classmethod
    def setUpClass(cls):
        cls.conf_dir = tempfile.mkdtemp(prefix='glance-v1-sec-')
        rules = os.path.join(cls.conf_dir, 'protections.conf')
        with open(rules, 'w') as f:
            f.write(PROTECTIONS)
        cls.conf = {'DEFAULT': {'image_size_cap': CAP,
                                'property_protection_file': rules,
                                'property_protection_rule_format':
                                    'roles'}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.conf_dir)

    # -- helpers ------------------------------------------------------------

    def image(self, headers=OWNER, body=DATA, **extra):
        resp = self.create(headers=headers, body=body, extra=extra)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def files_of(self, image_id):
        return [f for f in self.api.store_files() if image_id in f]

    def all_images(self):
        # changes-since lists killed and deleted images too.
        resp = self.request('GET', '/v1/images/detail?is_public=none&'
                            'limit=1000&changes-since=2000-01-01T00:00:00',
                            ADMIN)
        return {i['id']: i for i in resp.json['images']}

    def assertNoLocation(self, resp):
        """Neither the location nor the store path in headers or body."""
        self.assertNotIn('x-image-meta-location', resp.headers)
        text = json.dumps(resp.headers)
        for secret in ('file://', self.api.store_dir):
            self.assertNotIn(secret, text)
        if resp.header('content-type') != 'application/octet-stream':
            for secret in ('file://', self.api.store_dir, '"location"'):
                self.assertNotIn(secret.encode(), resp.body, resp)

    # -- the advisories -----------------------------------------------------

    def test_lp_755916_location_never_returned(self):
        resp = self.create(headers=OWNER, body=DATA)
        self.assertNoLocation(resp)
        image_id = resp.json['image']['id']
        path = '/v1/images/%s' % image_id
        for method, url, headers in (
                ('HEAD', path, OWNER), ('GET', path, OWNER),
                ('GET', '/v1/images/detail', OWNER),
                ('GET', '/v1/images', OWNER),
                ('GET', '/v1/images/detail?is_public=none', ADMIN),
                ('PUT', path, dict(OWNER, **{'x-image-meta-name': 'n'})),
                # An upload onto an active image fails: its message
                # must not name the data either.
                ('PUT', path, dict(OWNER, **{
                    'Content-Type': 'application/octet-stream'}))):
            body = DATA if method == 'PUT' and 'Content-Type' in headers \
                else None
            resp = self.request(method, url, headers, body)
            self.assertLess(resp.status, 500, (method, url))
            self.assertNoLocation(resp)
        resp = self.request('DELETE', path, OWNER)
        self.assertEqual(200, resp.status)
        self.assertNoLocation(self.request('HEAD', path, ADMIN))

    def test_lp_942118_restricted_schemes_on_update(self):
        # POST is covered by test_external_sources; here the second way
        # in, a PUT onto a queued image, in spellings a naive scheme
        # check would miss.
        image_id = self.image(body=None)
        path = '/v1/images/%s' % image_id
        for header in ('x-image-meta-location', 'x-glance-api-copy-from'):
            for url in ('file:///etc/passwd', 'FILE:///etc/passwd',
                        'file:/etc/passwd', 'filesystem:///etc/passwd',
                        ' file:///etc/passwd', 'swift+config://ref1/c/o',
                        'file://localhost/etc/passwd'):
                resp = self.request('PUT', path, dict(OWNER, **{
                    header: url}))
                self.assertEqual(400, resp.status, (header, url, resp))
        resp = self.request('HEAD', path, OWNER)
        self.assertEqual('queued', resp.header('x-image-meta-status'))
        self.assertEqual('0', resp.header('x-image-meta-size'))
        self.assertEqual(404, self.request('GET', path, OWNER).status)

    def test_ossa_2012_017_delete_authorisation(self):
        private = self.image()
        shared = self.image()
        self.assertEqual(204, self.request(
            'PUT', '/v1/images/%s/members/sec-member' % shared,
            OWNER).status)
        public = self.image(ADMIN, **{'x-image-meta-is_public': 'true',
                                      'x-image-meta-owner': 'sec-owner'})
        attempts = [(OTHER, private, 404), (OTHER, public, 403),
                    (MEMBER, shared, 403), (MEMBER, public, 403)]
        for headers, image_id, expected in attempts:
            resp = self.request('DELETE', '/v1/images/%s' % image_id,
                                headers)
            self.assertEqual(expected, resp.status,
                             (headers['X-Tenant-Id'], image_id))
        # The refused deletes removed no byte and changed no status.
        for image_id in (private, shared, public):
            self.assertEqual(1, len(self.files_of(image_id)))
            resp = self.request('GET', '/v1/images/%s' % image_id, OWNER)
            self.assertEqual(200, resp.status)
            self.assertEqual(DATA, resp.body)
            self.assertEqual('active', resp.header('x-image-meta-status'))

    def test_ossa_2014_012_unknown_location_schemes_refused(self):
        before = set(self.all_images())
        for url in ('sheepdog://127.0.0.1:7000:image', 'rbd://a/b/c/d',
                    'vsphere://h/folder/x', 'cinder://vol', 'gopher://h/x',
                    'javascript:alert(1)', 'http://', 'sheepdog://;id'):
            for header in ('x-image-meta-location',
                           'x-glance-api-copy-from'):
                resp = self.create(headers=ADMIN, extra={header: url})
                self.assertEqual(400, resp.status, (header, url, resp))
        self.assertEqual(before, set(self.all_images()))

    def test_ossa_2014_028_size_cap(self):
        def over_cap():
            for _ in range(3 * CAP // 65536):
                yield b'x' * 65536
        before = set(self.all_images())
        # Chunked: cut off at the cap, image killed, nothing stored.
        resp = self.create(headers=OWNER, body=over_cap())
        self.assertEqual(413, resp.status, resp)
        self.assertIn(b'Denying attempt to upload image larger than',
                      resp.body)
        new = set(self.all_images()) - before
        self.assertEqual(1, len(new))
        image_id = new.pop()
        self.assertEqual('killed', self.image_status(image_id, ADMIN))
        self.assertEqual([], self.files_of(image_id))
        # Declared (Content-Length or size header): refused before a
        # record is made.
        before = set(self.all_images())
        resp = self.create(headers=OWNER, body=b'x' * (CAP + 1))
        self.assertEqual(400, resp.status)
        resp = self.create(headers=dict(OWNER, **{
            'x-image-meta-size': str(CAP + 1)}))
        self.assertEqual(400, resp.status)
        self.assertEqual(before, set(self.all_images()))
        queued = self.image(body=None)
        resp = self.request('PUT', '/v1/images/%s' % queued, dict(
            OWNER, **{'x-image-meta-size': str(2 ** 63 - 1)}))
        self.assertEqual(400, resp.status)

    def test_ossa_2014_041_ossa_2015_002_no_path_traversal(self):
        before = set(self.all_images())
        for url in ('file:///%s/../../../etc/passwd' % self.api.store_dir,
                    'filesystem://%s/..%%2f..%%2fetc%%2fpasswd'
                    % self.api.store_dir):
            resp = self.create(headers=ADMIN, extra={
                'x-image-meta-location': url})
            self.assertEqual(400, resp.status, url)
        for image_id in ('../../../../etc/passwd', '..%2F..%2Fetc',
                         '/etc/passwd', '00000000-0000-0000-0000-0000000/..'):
            resp = self.create(headers=ADMIN, body=b'x', extra={
                'x-image-meta-id': image_id})
            self.assertEqual(400, resp.status, image_id)
        self.assertEqual(before, set(self.all_images()))
        for path in ('/v1/images/..%2F..%2Fetc%2Fpasswd',
                     '/v1/images/%2e%2e', '/v1/images/..%252Fetc'):
            resp = self.request('GET', path, ADMIN)
            # Apache resolves the dot segment (RFC 3986) before any
            # application sees the path: that one is GET /v1/ there.
            if server.TEST_SERVER != 'modwsgi' or '%2e' not in path:
                self.assertIn(resp.status, (404, 400), path)
            self.assertNotIn(b'root:', resp.body)

    def test_ossa_2015_003_delete_during_upload_leaves_no_data(self):
        image_id = self.image(body=None)
        sock = self.raw_socket()
        head = ('PUT /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                'Content-Type: application/octet-stream\r\n'
                'Transfer-Encoding: chunked\r\n' % image_id)
        for name, value in OWNER.items():
            head += '%s: %s\r\n' % (name, value)
        sock.sendall(head.encode() + b'\r\n10000\r\n' + b'y' * 65536
                     + b'\r\n')
        deadline = time.monotonic() + 10
        while self.image_status(image_id, OWNER) != 'saving':
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % image_id, OWNER).status)
        sock.sendall(b'10000\r\n' + b'y' * 65536 + b'\r\n0\r\n\r\n')
        reply = b''
        while b'\r\n\r\n' not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        sock.close()
        self.assertTrue(reply.startswith(b'HTTP/1.1 412'), reply[:200])
        self.assertEqual('deleted', self.image_status(image_id, ADMIN))
        self.assertStoreBecomes([f for f in self.api.store_files()
                                 if image_id not in f])

    def test_ossa_2015_019_status_immutable(self):
        active = self.image()
        path = '/v1/images/%s' % active
        octets = {'Content-Type': 'application/octet-stream'}
        # Re-queue an active image to replace its data: refused in any
        # header spelling, and the data stays.
        for name in ('x-image-meta-status', 'X-Image-Meta-Status'):
            for value in ('queued', 'Queued', 'saving', 'killed',
                          'deleted', 'pending_delete', 'deactivated'):
                resp = self.request('PUT', path, dict(OWNER, **{
                    name: value}))
                self.assertEqual(403, resp.status, (name, value))
        resp = self.request('PUT', path, dict(OWNER, **octets), b'other')
        self.assertEqual(409, resp.status)
        self.assertEqual(DATA, self.request('GET', path, OWNER).body)
        # A killed image cannot be revived to active.
        killed = self.image(body=None, **{'x-image-meta-size': '4'})
        self.assertEqual(400, self.request('PUT', '/v1/images/%s' % killed,
                                           dict(OWNER, **octets),
                                           b'abc').status)
        self.assertEqual('killed', self.image_status(killed, OWNER))
        resp = self.request('PUT', '/v1/images/%s' % killed, dict(
            OWNER, **{'x-image-meta-status': 'active'}))
        self.assertEqual(403, resp.status)
        self.assertEqual(404, self.request('GET', '/v1/images/%s' % killed,
                                           OWNER).status)
        # A queued image cannot be made active without data, nor can
        # POST choose a status.
        queued = self.image(body=None)
        resp = self.request('PUT', '/v1/images/%s' % queued, dict(
            OWNER, **{'x-image-meta-status': 'active'}))
        self.assertEqual(403, resp.status)
        self.assertEqual('queued', self.image_status(queued, OWNER))
        resp = self.create(headers=dict(OWNER, **{
            'x-image-meta-status': 'active'}))
        self.assertEqual('queued', resp.json['image']['status'])

    def test_ossn_0013_first_matching_protection_rule_wins(self):
        resp = self.create(headers=dict(OWNER, **{
            'x-image-meta-property-x_secret_key': 'mine'}))
        self.assertEqual(403, resp.status, resp)
        self.assertIn(b"Property 'x_secret_key' is protected", resp.body)
        image_id = self.image(ADMIN, body=None, **{
            'x-image-meta-owner': 'sec-owner',
            'x-image-meta-property-x_secret_key': 'admin-only',
            'x-image-meta-property-plain': 'p'})
        path = '/v1/images/%s' % image_id
        head = self.request('HEAD', path, OWNER)
        self.assertEqual('p', head.header('x-image-meta-property-plain'))
        self.assertIsNone(head.header('x-image-meta-property-x_secret_key'))
        resp = self.request('PUT', path, dict(OWNER, **{
            'x-image-meta-property-x_secret_key': 'changed',
            'x-glance-registry-purge-props': 'false'}))
        self.assertEqual(403, resp.status)
        resp = self.request('PUT', path, dict(OWNER, **{
            'x-image-meta-property-plain': 'q'}))
        self.assertEqual(200, resp.status)
        head = self.request('HEAD', path, ADMIN)
        self.assertEqual('admin-only',
                         head.header('x-image-meta-property-x_secret_key'))
