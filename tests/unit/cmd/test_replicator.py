"""glance-replicator's metadata handling (reference §12)."""

import argparse

import testtools

from glance_v1.cmd import replicator

IMAGE = {'id': 'abc', 'name': 'caf\xe9', 'size': 3, 'status': 'active',
         'checksum': '900150983cd24fb0d6963f7d28e17f72', 'is_public': True,
         'owner': None, 'created_at': '2026-01-01T00:00:00.000000',
         'deleted': False, 'os_hash_value': 'x',
         'properties': {'os_distro': 'debian', 'empty': None}}
DONT = set(replicator.DONT_REPLICATE.split())


class TestReplicatorMetadata(testtools.TestCase):

    def test_meta_headers(self):
        headers = replicator.meta_headers(IMAGE, DONT)
        self.assertEqual({
            'x-image-meta-id': b'abc',
            'x-image-meta-name': 'caf\xe9'.encode(),
            'x-image-meta-size': b'3',
            'x-image-meta-checksum': b'900150983cd24fb0d6963f7d28e17f72',
            'x-image-meta-is_public': b'True',
            'x-image-meta-property-os_distro': b'debian'}, headers)

    def test_no_differences_ignores_server_side_fields(self):
        other = dict(IMAGE, created_at='2027-01-01T00:00:00.000000',
                     updated_at='x', status='active', os_hash_value='y',
                     deleted=False)
        self.assertEqual([], replicator.differences(IMAGE, other, DONT))

    def test_differences(self):
        other = dict(IMAGE, min_ram=256,
                     properties={'os_distro': 'ubuntu', 'new': '1'})
        self.assertEqual(
            [('min_ram', None, 256), ('property-new', None, '1'),
             ('property-os_distro', 'debian', 'ubuntu')],
            replicator.differences(IMAGE, other, DONT))

    def test_header_option(self):
        self.assertEqual(('X-Roles', 'admin'),
                         replicator._header('X-Roles: admin'))
        self.assertRaises(argparse.ArgumentTypeError,
                          replicator._header, 'no colon')
