"""The outermost layer of the app: header spelling and when the heap is
given back (glance_v1.common.serving)."""

import io
from unittest import mock

import testtools

from glance_v1.common import serving


def _app(status='200 OK', body=(b'x',), headers=()):
    def app(environ, start_response):
        start_response(status, list(headers))
        return list(body)
    return app


def _environ(**extra):
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v1/images',
               'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '127.0.0.1',
               'wsgi.input': io.BytesIO()}
    environ.update(extra)
    return environ


class TestInFlight(testtools.TestCase):

    def run_app(self, app, environ):
        seen = []
        layer = serving.InFlight(app)
        layer.trimmer = mock.Mock()
        body = layer(environ, lambda status, headers, exc=None: seen.extend(
            headers))
        for _ in body:
            pass
        body.close()
        self.assertEqual(0, layer.count)
        return seen, layer.trimmer.idle.call_count

    def test_header_names_spelled_as_eventlet_would(self):
        headers, _ = self.run_app(_app(headers=[
            ('x-image-meta-disk_format', 'raw'),
            ('content-type', 'text/plain'),
            ('x-openstack-request-id', 'req-1'),
            ('x-image-meta-property-\xe9t\xe9', 'v')]), _environ())
        self.assertEqual(['X-Image-Meta-Disk_format', 'Content-Type',
                          'X-Openstack-Request-Id',
                          'X-Image-Meta-Property-\xe9t\xe9'],
                         [name for name, _ in headers])

    def test_metadata_call_does_not_trim(self):
        _, trims = self.run_app(_app(), _environ())
        self.assertEqual(0, trims)

    def test_large_response_trims_once_idle(self):
        _, trims = self.run_app(_app(body=[b'x' * 65536]), _environ())
        self.assertEqual(1, trims)

    def test_request_with_body_trims(self):
        for extra in ({'CONTENT_LENGTH': '10'},
                      {'HTTP_TRANSFER_ENCODING': 'chunked'}):
            _, trims = self.run_app(_app(), _environ(**extra))
            self.assertEqual(1, trims, extra)
