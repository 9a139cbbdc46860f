"""x-image-meta-* parsing and rendering (glance-v1-reference §2)."""

import datetime

import testtools

from glance_v1.api.v1 import headers
from glance_v1.common import exception


class TestParse(testtools.TestCase):

    def test_core_fields_and_properties(self):
        meta = headers.parse({
            'X-Image-Meta-Name': 'img',
            'X-Image-Meta-Disk-Format': 'raw',
            'x-image-meta-container_format': 'bare',
            'X-Image-Meta-Property-Distro-Name': 'Debian',
            'x-image-meta-min_ram': '',
            'Content-Type': 'application/octet-stream'})
        self.assertEqual({'name': 'img', 'disk_format': 'raw',
                          'container_format': 'bare', 'min_ram': None,
                          'properties': {'distro_name': 'Debian'}}, meta)

    def test_unknown_field_is_bad_header(self):
        error = self.assertRaises(exception.BadHeader, headers.parse,
                                  {'x-image-meta-foo': '1'})
        self.assertEqual('Bad header: x-image-meta-foo', str(error))
        self.assertEqual(400, error.code)

    def test_empty_property_name_is_bad_header(self):
        self.assertRaises(exception.BadHeader, headers.parse,
                          {'x-image-meta-property-': '1'})

    def test_echoed_server_fields_are_accepted(self):
        meta = headers.parse({'x-image-meta-os_hash_algo': 'sha256',
                              'x-image-meta-os_hash_value': 'ab'})
        self.assertEqual('sha256', meta['os_hash_algo'])

    def test_utf8_values(self):
        wire = 'd\u00e9j\u00e0'.encode().decode('latin-1')
        meta = headers.parse({'x-image-meta-name': wire})
        self.assertEqual('d\u00e9j\u00e0', meta['name'])
        self.assertRaises(exception.Invalid, headers.parse,
                          {'x-image-meta-name': '\xe9t\xe9'})

    def test_copy_from(self):
        meta = headers.parse({'x-glance-api-copy-from': 'http://a/b'})
        self.assertEqual('http://a/b', meta['copy_from_url'])
        self.assertRaises(exception.Invalid, headers.parse,
                          {'x-glance-api-copy-from': ' '})


class TestRender(testtools.TestCase):

    image = {'id': 'abc', 'name': 'n', 'status': 'active', 'size': 10,
             'virtual_size': None, 'is_public': True, 'protected': False,
             'checksum': 'c' * 32, 'location': 'file:///secret/abc',
             'created_at': datetime.datetime(2020, 1, 2, 3, 4, 5),
             'properties': {'k': 'v', 'none': None, 'snow': '\u2603'}}

    def test_headers(self):
        hdrs = dict(headers.image_headers(self.image))
        self.assertEqual('True', hdrs['x-image-meta-is_public'])
        self.assertEqual('False', hdrs['x-image-meta-protected'])
        self.assertEqual('10', hdrs['x-image-meta-size'])
        self.assertEqual('2020-01-02T03:04:05.000000',
                         hdrs['x-image-meta-created_at'])
        self.assertEqual('v', hdrs['x-image-meta-property-k'])
        self.assertEqual('\u2603'.encode().decode('latin-1'),
                         hdrs['x-image-meta-property-snow'])
        self.assertEqual('c' * 32, hdrs['ETag'])
        self.assertNotIn('x-image-meta-property-none', hdrs)
        self.assertNotIn('x-image-meta-virtual_size', hdrs)
        self.assertFalse([k for k in hdrs if 'location' in k])

    def test_views(self):
        view = headers.image_view(self.image)
        self.assertNotIn('location', view)
        self.assertEqual('2020-01-02T03:04:05.000000', view['created_at'])
        self.assertIsNone(view['virtual_size'])
        self.assertEqual({'id', 'name', 'size', 'disk_format',
                          'container_format', 'checksum'},
                         set(headers.brief_view(self.image)))
