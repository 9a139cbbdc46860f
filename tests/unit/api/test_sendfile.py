"""A download from the file store reaches the server through every
filter of the pipeline as a Download, which the server sends with
sendfile(2) after the first bytes; everything else is counted as it goes
through eventlet. A stand-in for eventlet's response loop (write() sends
at once; what the app yields is held back below 4 KiB) puts everything on
a real socket, read from its first byte.

Nothing here may import eventlet.wsgi (glance_v1.common.wsgi): it would
put green sockets into this process's http.client.
"""

import io
import os
import socket
from unittest import mock

from glance_v1.common import config
from glance_v1.common import serving
from glance_v1.image import service
from glance_v1.image import upload
from tests import base

DATA = os.urandom(3 * 1024 * 1024 + 5)
PASTE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                     'glance-api-paste.ini')


class _Input:

    def __init__(self, sock):
        self.sock = sock

    def get_socket(self):
        return self.sock


class _Server:
    """What eventlet.wsgi does with a response, on ``sock``."""

    # eventlet's minimum_chunk_size.
    HOLD_BELOW = 4096

    def __init__(self, sock):
        self.sock = sock
        self.started = None
        self.headers_sent = False
        self.through_server = 0

    def start_response(self, status, headers, exc_info=None):
        self.started = status, headers
        return self.write

    def write(self, data):
        if not self.headers_sent:
            self.headers_sent = True
            status, headers = self.started
            head = 'HTTP/1.1 %s\r\n' % status + ''.join(
                '%s: %s\r\n' % h for h in headers) + '\r\n'
            self.sock.sendall(head.encode('latin-1'))
        self.sock.sendall(data)
        self.through_server += len(data)

    def respond(self, body):
        held = []
        for chunk in body:
            held.append(chunk)
            if sum(map(len, held)) >= self.HOLD_BELOW:
                self.write(b''.join(held))
                held = []
        if held or not self.headers_sent:
            self.write(b''.join(held))


class TestSendfile(base.StoreTestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(config_file=os.path.abspath(PASTE),
                         group='paste_deploy')
        self.app = serving.InFlight(config.load_paste_app('glance-api'))
        self.image_id = self.create(DATA)
        self.server_end, self.client_end = socket.socketpair()
        for s in (self.server_end, self.client_end):
            self.addCleanup(s.close)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.client_end.settimeout(5)
        self.received = b''

    def create(self, data):
        return service.ImageService(self.registry).create(
            self.admin, {'disk_format': 'raw', 'container_format': 'bare',
                         'is_public': True},
            upload.Body(io.BytesIO(data), len(data),
                        'application/octet-stream'))['id']

    def call(self, path, **headers):
        """The response to a GET of ``path``, sent as eventlet would:
        ``(status line, headers, body)`` read from the socket, and the
        server stand-in."""
        server = self.serve(self.environ(path, **headers))
        status, fields = self.read_head()
        return status, fields, self.read_socket(
            int(fields['content-length'])), server

    def serve(self, environ, app=None):
        server = _Server(self.server_end)
        body = (app or self.app)(environ, server.start_response)
        try:
            server.respond(body)
        finally:
            body.close()
        return server

    def environ(self, path, **headers):
        environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': path,
                   'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '9292',
                   'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
                   'wsgi.input': io.BytesIO(), 'wsgi.errors': io.StringIO(),
                   'REMOTE_ADDR': '127.0.0.1',
                   'eventlet.input': _Input(self.server_end)}
        for name, value in headers.items():
            environ['HTTP_' + name.upper()] = value
        return environ

    def read_socket(self, count):
        while len(self.received) < count:
            self.received += self.client_end.recv(4 << 20)
        got, self.received = self.received[:count], self.received[count:]
        return got

    def read_head(self):
        while b'\r\n\r\n' not in self.received:
            self.received += self.client_end.recv(4 << 20)
        self.assertTrue(self.received.startswith(b'HTTP/1.1 '),
                        'the response starts with %r' % self.received[:20])
        head, self.received = self.received.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        fields = dict((name.lower(), value) for name, value in (
            line.split(': ', 1) for line in lines[1:]))
        return lines[0], fields

    def test_full_download_is_sent_by_the_kernel(self):
        with mock.patch.object(serving.ACCESS_LOG, 'info') as access:
            status, _h, body, server = self.call(
                '/v1/images/%s' % self.image_id)
        self.assertEqual('HTTP/1.1 200 OK', status)
        self.assertEqual(DATA, body)
        # The server sends only the first bytes, with the headers; the
        # kernel the rest, straight from the file.
        self.assertEqual(65536, server.through_server)
        # The access line counts every byte.
        self.assertEqual(len(DATA), access.call_args.args[10])

    def test_range_is_sent_by_the_kernel(self):
        status, fields, body, server = self.call(
            '/v1/images/%s' % self.image_id, range='bytes=100000-299999')
        self.assertEqual('HTTP/1.1 206 Partial Content', status)
        self.assertEqual('bytes 100000-299999/%d' % len(DATA),
                         fields['content-range'])
        self.assertEqual(DATA[100000:300000], body)
        self.assertEqual(65536, server.through_server)

    def test_headers_come_first_whatever_the_first_span(self):
        # A verified download sends all but the last MiB, then the last
        # MiB once the hash is known: a first span below eventlet's
        # minimum chunk must still go out, with the headers, before it.
        for extra in (1, 4095, 4096, 65537):
            data = os.urandom(1024 * 1024 + extra)
            image_id = self.create(data)
            status, _h, body, server = self.call('/v1/images/%s' % image_id)
            self.assertEqual('HTTP/1.1 200 OK', status, extra)
            self.assertEqual(data, body, extra)
            self.assertEqual(min(extra, 65536), server.through_server)

    def test_no_bytes_past_the_server_without_a_length(self):
        # The server would send the body in chunks of its own framing.
        app = self.app.app

        def unsized(environ, start_response):
            return app(environ, lambda status, headers, exc_info=None:
                       start_response(status, [
                           h for h in headers
                           if h[0].lower() != 'content-length'], exc_info))

        server = self.serve(self.environ('/v1/images/%s' % self.image_id),
                            serving.InFlight(unsized))
        self.assertEqual(len(DATA), server.through_server)

    def test_no_bytes_past_the_server_in_answer_to_a_head(self):
        app = self.app.app

        def as_get(environ, start_response):
            return app(dict(environ, REQUEST_METHOD='GET'), start_response)

        environ = self.environ('/v1/images/%s' % self.image_id)
        environ['REQUEST_METHOD'] = 'HEAD'
        server = self.serve(environ, serving.InFlight(as_get))
        # Whatever the server makes of a body to a HEAD, it sees it all.
        self.assertEqual(len(DATA), server.through_server)

    def test_other_responses_go_through_eventlet(self):
        with mock.patch.object(serving.ACCESS_LOG, 'info') as access:
            status, _h, text, server = self.call('/v1/images/detail')
        self.assertEqual('HTTP/1.1 200 OK', status)
        self.assertIn(self.image_id.encode(), text)
        self.assertEqual(len(text), server.through_server)
        self.assertEqual(len(text), access.call_args.args[10])
