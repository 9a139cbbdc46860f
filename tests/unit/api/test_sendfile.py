"""A download from the file store reaches the server through every
filter of the pipeline as a Download, which the server sends with
sendfile(2) after the first bytes; everything else is counted as it goes
through eventlet.

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


class TestSendfile(base.StoreTestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(config_file=os.path.abspath(PASTE),
                         group='paste_deploy')
        self.app = serving.InFlight(config.load_paste_app('glance-api'))
        self.image_id = service.ImageService(self.registry).create(
            self.admin, {'disk_format': 'raw', 'container_format': 'bare',
                         'is_public': True},
            upload.Body(io.BytesIO(DATA), len(DATA),
                        'application/octet-stream'))['id']
        self.server_end, self.client_end = socket.socketpair()
        for s in (self.server_end, self.client_end):
            self.addCleanup(s.close)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)

    def call(self, path, **headers):
        environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': path,
                   'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '9292',
                   'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
                   'wsgi.input': io.BytesIO(), 'wsgi.errors': io.StringIO(),
                   'REMOTE_ADDR': '127.0.0.1',
                   'eventlet.input': _Input(self.server_end)}
        for name, value in headers.items():
            environ['HTTP_' + name.upper()] = value
        started = []
        body = self.app(environ, lambda s, h, e=None: started.append(s))
        return started[0], body

    def read_socket(self, count):
        got = b''
        self.client_end.settimeout(5)
        while len(got) < count:
            got += self.client_end.recv(count - len(got))
        return got

    def test_full_download_is_sent_by_the_kernel(self):
        status, body = self.call('/v1/images/%s' % self.image_id)
        self.assertEqual('200 OK', status)
        with mock.patch.object(serving.ACCESS_LOG, 'info') as access:
            through_eventlet = b''.join(body)
            body.close()
        # eventlet sends only the first bytes, with the headers...
        self.assertEqual(65536, len(through_eventlet))
        # ...the kernel the rest, straight from the file.
        rest = self.read_socket(len(DATA) - 65536)
        self.assertEqual(DATA, through_eventlet + rest)
        self.assertEqual(len(DATA), body.body.sent)
        # The access line counts every byte.
        self.assertEqual(len(DATA), access.call_args.args[10])

    def test_range_is_sent_by_the_kernel(self):
        status, body = self.call('/v1/images/%s' % self.image_id,
                                 range='bytes=100000-299999')
        self.assertEqual('206 Partial Content', status)
        head = b''.join(body)
        body.close()
        self.assertEqual(DATA[100000:300000],
                         head + self.read_socket(200000 - len(head)))

    def test_other_responses_go_through_eventlet(self):
        status, body = self.call('/v1/images/detail')
        self.assertEqual('200 OK', status)
        with mock.patch.object(serving.ACCESS_LOG, 'info') as access:
            text = b''.join(body)
            body.close()
        self.assertIn(self.image_id.encode(), text)
        self.assertEqual(len(text), access.call_args.args[10])
