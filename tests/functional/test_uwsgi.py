"""Chunked uploads and connections as any WSGI server serves them, and
what only uWSGI needs (etc/uwsgi/glance-api.ini, glance_v1.wsgi.uwsgi_input):
run under ``tox -e uwsgi`` for the latter."""

import hashlib
import http.client
import os
import signal
import time

import requests
import testtools

from tests.functional import base
from tests.functional import server
from tests.functional.launchers import uwsgi as uwsgi_launcher

UNDER_UWSGI = server.TEST_SERVER == 'uwsgi'
# uWSGI: the first read of a chunked body fills one page; a chunk is held
# whole up to chunked-input-limit (4 MiB in the shipped ini).
PAGE = 4096
CHUNK_LIMIT = 4 * 1024 * 1024
# Ours: the upload pipeline reads upload_chunk_size (1 MiB) at a time.
READ = 1024 * 1024

HEAD = ('%s HTTP/1.1\r\nHost: x\r\n'
        'Content-Type: application/octet-stream\r\n'
        'x-image-meta-name: chunked\r\n'
        'x-image-meta-disk_format: raw\r\n'
        'x-image-meta-container_format: bare\r\n'
        'Transfer-Encoding: chunked\r\n\r\n')


def chunked(data, size):
    """``data`` in the chunked coding, chunks of ``size`` bytes."""
    out = []
    for at in range(0, len(data), size):
        part = data[at:at + size]
        out.append(b'%x\r\n' % len(part) + part + b'\r\n')
    return b''.join(out) + b'0\r\n\r\n'


def only_uwsgi(reason):
    return testtools.skipUnless(UNDER_UWSGI, 'only under uWSGI: %s' % reason)


class UwsgiServer(server.ApiServer):
    """An ApiServer under uWSGI with lines of the shipped ini changed."""

    def __init__(self, ini_options, **kw):
        super().__init__(**kw)
        self.ini_options = ini_options

    def command(self):
        return uwsgi_launcher.command(self, self.ini_options)


class ChunkedTest(base.FunctionalTest):

    def send(self, method_path, body, pause=None, api=None):
        """Send a chunked request (head, then ``body``: bytes or a list of
        pieces with ``pause`` seconds between them) and read the reply."""
        sock = self.raw_socket(api)
        self.addCleanup(sock.close)
        head = (HEAD % method_path).encode()
        pieces = [body] if isinstance(body, bytes) else body
        if pause is None:
            sock.sendall(head + b''.join(pieces))
        else:
            sock.sendall(head)
            for piece in pieces:
                time.sleep(pause)
                sock.sendall(piece)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, resp.read()

    def upload(self, data, coded, **kw):
        status, body = self.send('POST /v1/images', coded, **kw)
        self.assertEqual(201, status, body[:300])
        image = base.Response(status, {}, body).json['image']
        self.assertEqual('active', image['status'])
        self.assertEqual(len(data), image['size'])
        self.assertEqual(hashlib.md5(data).hexdigest(), image['checksum'])
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         image['os_hash_value'])
        get = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(data, get.body)
        return image

    def assertNothingStored(self, before):
        self.assertEqual(before, self.api.store_files())
        resp = self.request('GET', '/v1/images/detail?name=chunked')
        self.assertEqual([], [i for i in resp.json['images']
                              if i['status'] == 'active'])


class TestChunkedUploads(ChunkedTest):
    """Chunked uploads arrive byte for byte, whatever the chunk and body
    sizes around uWSGI's buffers and our reads."""

    def test_body_sizes(self):
        for n in (1, PAGE - 1, PAGE, PAGE + 1, READ - 1, READ, READ + 1,
                  3 * READ + 5):
            data = os.urandom(n)
            self.upload(data, chunked(data, 65536))

    def test_chunk_sizes(self):
        data = os.urandom(2 * READ + 123)
        for size in (1000, PAGE - 2, PAGE - 1, PAGE, PAGE + 1, READ - 1,
                     READ + 1, CHUNK_LIMIT - 2):
            self.upload(data, chunked(data, size))

    def test_one_byte_chunks(self):
        data = os.urandom(3000)
        self.upload(data, chunked(data, 1))

    def test_body_arrives_slowly(self):
        # Each wait for the next piece, mid-line and mid-chunk.
        data = os.urandom(3 * PAGE + 7)
        coded = chunked(data, 5000)
        pieces = [coded[:3], coded[3:5003], coded[5003:9000], coded[9000:]]
        self.upload(data, pieces, pause=0.2)

    def test_empty_body(self):
        self.upload(b'', b'0\r\n\r\n')

    def test_clients(self):
        data = os.urandom(READ + 999)

        def pieces():
            for at in range(0, len(data), 8192):
                yield data[at:at + 8192]
        resp = requests.post(self.api.url + '/v1/images', data=pieces(),
                             headers=dict(base.IMAGE_HEADERS, **{
                                 'Content-Type': 'application/octet-stream'}))
        self.assertEqual(201, resp.status_code, resp.text)
        image = resp.json()['image']
        self.assertEqual(hashlib.md5(data).hexdigest(), image['checksum'])


class TestChunkedFailures(ChunkedTest):
    """A chunked body that cannot be read whole leaves nothing behind."""

    def queued(self):
        return self.create().json['image']['id']

    def assertKilled(self, image_id, before, timeout=10):
        """``image_id`` is killed (the server may notice a failed body
        after answering) and the store as ``before``."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.request('HEAD', '/v1/images/%s' % image_id
                                  ).header('x-image-meta-status')
            if status == 'killed' or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual('killed', status)
        self.assertEqual(before, self.api.store_files())

    @only_uwsgi('chunked-input-limit is uWSGI\'s')
    def test_chunk_over_uwsgi_limit(self):
        image_id, before = self.queued(), self.api.store_files()
        data = os.urandom(CHUNK_LIMIT - 1)
        try:
            status, body = self.send('PUT /v1/images/%s' % image_id,
                                     chunked(data, len(data)))
        except ConnectionResetError:
            # uWSGI closes a connection whose body it did not read whole:
            # a client still sending sees a reset instead of the 400.
            pass
        else:
            self.assertEqual(400, status, body)
        self.assertKilled(image_id, before)

    def test_bad_chunk_size_is_400(self):
        # A size line that is no number (uWSGI takes letters for a 0,
        # the end of the body: see doc/deployment.rst).
        image_id, before = self.queued(), self.api.store_files()
        status, body = self.send('PUT /v1/images/%s' % image_id,
                                 b'10\r\n0123456789abcdef\r\n-1\r\n')
        self.assertEqual(400, status, body)
        self.assertKilled(image_id, before)

    def test_disconnect_mid_chunk(self):
        image_id, before = self.queued(), self.api.store_files()
        sock = self.raw_socket()
        sock.sendall((HEAD % ('PUT /v1/images/%s' % image_id)).encode() +
                     b'100000\r\n' + b'x' * 70000)
        time.sleep(0.5)
        sock.close()
        self.assertKilled(image_id, before)


class TestChunkedInputOff(ChunkedTest):
    """With ``glance-chunked-input = false`` uWSGI hands over no chunked
    body: the upload is refused with 411, nothing created or stored."""

    server_per_test = True

    def setUp(self):
        if not UNDER_UWSGI:
            self.skipTest('only under uWSGI: the switch is in its ini')
        super().setUp()

    @classmethod
    def make_server(cls):
        return UwsgiServer({'glance-chunked-input': 'false'})

    def test_411_and_nothing_stored(self):
        before = self.api.store_files()
        data = os.urandom(5000)
        status, body = self.send('POST /v1/images', chunked(data, 1000))
        self.assertEqual(411, status, body)
        self.assertIn(b'send Content-Length instead', body)
        self.assertNothingStored(before)
        self.assertEqual([], self.request(
            'GET', '/v1/images/detail?name=chunked').json['images'])
        # Content-Length uploads are unaffected.
        resp = self.create(body=data)
        self.assertEqual(201, resp.status)
        self.assertEqual(hashlib.md5(data).hexdigest(),
                         resp.json['image']['checksum'])


class TestConnections(base.FunctionalTest):
    """Clients that keep connections open for the next request are never
    reset (uWSGI's http-socket closes each one after its response)."""

    ROUNDS = 40

    def exercise(self, api):
        conn = http.client.HTTPConnection('127.0.0.1', api.port, timeout=30)
        self.addCleanup(conn.close)
        session = requests.Session()
        self.addCleanup(session.close)
        for _ in range(self.ROUNDS):
            conn.request('GET', '/v1/images')
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(200, resp.status)
            # A body the server answers without reading it all.
            conn.request('PUT', '/v1/images/no-such-image', body=b'x' * 5000,
                         headers={'Content-Type': 'application/octet-stream'})
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(404, resp.status)
            r = session.post(api.url + '/v1/images', data=b'y' * 1000,
                             headers=dict(base.IMAGE_HEADERS, **{
                                 'Content-Type': 'application/octet-stream'}))
            self.assertEqual(201, r.status_code, r.text)
            self.assertEqual(200, session.head(
                api.url + r.headers['Location'][len(api.url):]).status_code)

    def test_keep_alive_clients(self):
        self.exercise(self.api)

    @only_uwsgi('add-header is a line of the uWSGI ini')
    def test_reset_without_connection_close(self):
        # The shipped line is what keeps them working.
        api = self.useFixture(UwsgiServer({'add-header': None}))
        self.assertRaises((ConnectionError, requests.ConnectionError,
                           http.client.HTTPException),
                          self.exercise, api)



class TestStop(base.FunctionalTest):
    """SIGTERM stops uWSGI gracefully (the ini's unix_signal hook): a
    download under way completes byte for byte, then uWSGI exits 0."""

    server_per_test = True

    @only_uwsgi('the hook is a line of the uWSGI ini')
    def test_sigterm_lets_a_download_in_flight_finish(self):
        data = os.urandom(32 * 1024 * 1024)
        image_id = self.create(body=data).json['image']['id']
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=30)
        self.addCleanup(conn.close)
        conn.request('GET', '/v1/images/%s' % image_id)
        resp = conn.getresponse()
        first = resp.read(1024 * 1024)
        self.api.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        rest = resp.read()
        self.assertEqual(hashlib.md5(data).hexdigest(),
                         hashlib.md5(first + rest).hexdigest())
        # A worker may wait for its idle threads up to worker-reload-mercy.
        self.assertEqual(0, self.api.proc.wait(90))
