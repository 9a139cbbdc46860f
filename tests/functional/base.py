"""Base class of the functional tests: a real glance-api on loopback,
spoken to over HTTP."""

import json
import socket
import time

import testtools

from tests import db
from tests.functional import server


class Response:

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return '<Response %d %r>' % (self.status, self.body[:300])


def identity(tenant='tenant1', user=None, roles='member'):
    """Headers of a caller for the trusted-auth flavor."""
    return {'X-Identity-Status': 'Confirmed', 'X-Auth-Token': 'token',
            'X-Tenant-Id': tenant, 'X-User-Id': user or 'user-' + tenant,
            'X-Roles': roles}


IMAGE_HEADERS = {'x-image-meta-name': 'test',
                 'x-image-meta-disk_format': 'raw',
                 'x-image-meta-container_format': 'bare'}


class FunctionalTest(testtools.TestCase):
    """One server per test class (started in setUpClass): tests create
    their own images and must not assume an empty service. A class that
    needs a fresh server per test sets ``server_per_test``."""

    flavor = None
    conf = None
    server_per_test = False

    @classmethod
    def make_server(cls):
        return server.ApiServer(flavor=cls.flavor, conf=cls.conf)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shared_api = None
        db.check_available(db.selected_backend())
        if not cls.server_per_test:
            cls.shared_api = cls.make_server()
            cls.shared_api.setUp()

    @classmethod
    def tearDownClass(cls):
        if cls.shared_api is not None:
            cls.shared_api.cleanUp()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.shared_api is not None:
            self.api = self.shared_api
        else:
            db.check_available(db.selected_backend())
            self.api = self.useFixture(self.make_server())

    def require_file_store(self):
        """For tests that look at or tamper with the filesystem store's
        files directly (staging files, bytes changed in place)."""
        if server.TEST_STORE != 'file':
            self.skipTest('works on the filesystem store\'s files; this run '
                          'uses the %s store' % server.TEST_STORE)

    def request(self, method, path, headers=None, body=None, api=None):
        api = api or self.api
        conn = api.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {}
            for name, value in resp.getheaders():
                hdrs[name.lower()] = value
            return Response(resp.status, hdrs, data)
        finally:
            conn.close()

    def create(self, headers=None, body=None, extra=None, **kw):
        hdrs = dict(IMAGE_HEADERS)
        hdrs.update(extra or {})
        if body is not None:
            hdrs['Content-Type'] = 'application/octet-stream'
        hdrs.update(headers or {})
        return self.request('POST', '/v1/images', hdrs, body, **kw)

    @staticmethod
    def read_until_closed(sock):
        """All the server sends on ``sock`` until it closes."""
        got = []
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return b''.join(got)
            got.append(data)

    def raw_socket(self, api=None):
        api = api or self.api
        return socket.create_connection(('127.0.0.1', api.port), timeout=30)

    def start_raw_upload(self, length_header):
        """A socket that has sent the headers of an image upload with
        ``length_header`` (a Content-Length or Transfer-Encoding line)."""
        sock = self.raw_socket()
        sock.sendall(b'POST /v1/images HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Type: application/octet-stream\r\n'
                     b'x-image-meta-disk_format: raw\r\n'
                     b'x-image-meta-container_format: bare\r\n'
                     + length_header + b'\r\n\r\n')
        return sock

    def assertStoreBecomes(self, expected, timeout=15):
        """The store holds ``expected`` (store_files()) within
        ``timeout``: the server notices a dropped client asynchronously."""
        deadline = time.monotonic() + timeout
        while self.api.store_files() != expected and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(expected, self.api.store_files())

    def image_status(self, image_id, headers=None):
        resp = self.request('HEAD', '/v1/images/%s' % image_id, headers)
        return resp.header('x-image-meta-status')
