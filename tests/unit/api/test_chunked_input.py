"""A chunked request body that the WSGI server does not decode for us
(no ``wsgi.input_terminated``: uWSGI without its chunked API, wsgiref)
is refused with 411 and stores nothing; it must never be taken for an
empty image (decisions "further" 9)."""

import io
import os

from glance_v1.common import config
from glance_v1.image import service
from tests import base

PASTE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                     'glance-api-paste.ini')
CODED = b'3\r\nabc\r\n0\r\n\r\n'


class TestChunkedInput(base.StoreTestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(config_file=os.path.abspath(PASTE),
                         group='paste_deploy')
        self.app = config.load_paste_app('glance-api')

    def call(self, method, path, terminated, **headers):
        environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
                   'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '9292',
                   'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
                   'wsgi.input': io.BytesIO(CODED),
                   'wsgi.errors': io.StringIO(), 'REMOTE_ADDR': '127.0.0.1',
                   'CONTENT_TYPE': 'application/octet-stream',
                   'HTTP_TRANSFER_ENCODING': 'chunked',
                   'HTTP_X_IMAGE_META_DISK_FORMAT': 'raw',
                   'HTTP_X_IMAGE_META_CONTAINER_FORMAT': 'bare'}
        if terminated:
            environ['wsgi.input_terminated'] = True
            environ['wsgi.input'] = io.BytesIO(b'abc')
        for name, value in headers.items():
            environ['HTTP_' + name.upper()] = value
        started = []
        body = b''.join(self.app(environ,
                                 lambda s, h, e=None: started.append(s)))
        return started[0], body

    def images(self):
        # Every image, of any status (is_public=None is an admin's all).
        return service.ImageService(self.registry).list(
            self.admin, {'is_public': None}, None, 100, 'created_at',
            'desc')

    def store_files(self):
        return os.listdir(self.datadir) if os.path.isdir(self.datadir) \
            else []

    def test_create_is_411_and_stores_nothing(self):
        status, body = self.call('POST', '/v1/images', terminated=False)
        self.assertEqual('411 Length Required', status)
        self.assertIn(b'send Content-Length', body)
        self.assertEqual([], self.images())
        self.assertEqual([], self.store_files())

    def test_upload_to_queued_image_is_411(self):
        image = service.ImageService(self.registry).create(
            self.admin, {'disk_format': 'raw', 'container_format': 'bare'})
        status, _ = self.call('PUT', '/v1/images/%s' % image['id'],
                              terminated=False)
        self.assertEqual('411 Length Required', status)
        [found] = self.images()
        self.assertEqual('queued', found['status'])
        self.assertEqual([], self.store_files())

    def test_a_server_that_ends_the_input_is_read(self):
        status, body = self.call('POST', '/v1/images', terminated=True)
        self.assertEqual('201 Created', status, body)
        [found] = self.images()
        self.assertEqual(('active', 3), (found['status'], found['size']))
