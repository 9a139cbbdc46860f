"""Image data through the configured store (file, or Swift with
GLANCE_V1_TEST_STORE=swift): upload, download, ranges, failures that must
leave nothing behind, delete (glance-v1-reference §3, §4)."""

import hashlib
import os
import sqlite3

from tests.functional import base


class TestImageData(base.FunctionalTest):

    def _upload(self, data, extra=None):
        resp = self.create(body=data, extra=extra)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']

    def test_round_trip(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        image = self._upload(data)
        self.assertEqual('active', image['status'])
        self.assertEqual(len(data), image['size'])
        self.assertEqual(hashlib.md5(data).hexdigest(), image['checksum'])
        resp = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertEqual(data, resp.body)
        resp = self.request('GET', '/v1/images/%s' % image['id'],
                            {'Range': 'bytes=1000-1999'})
        self.assertEqual(206, resp.status)
        self.assertEqual(data[1000:2000], resp.body)

    def test_round_trip_just_over_the_checked_tail(self):
        # The last MiB is sent once the digest checked out; a first
        # part shorter than eventlet's write buffer (4096) used to reach
        # the wire after the file, ahead of the status line.
        for n in (2 ** 20 + 1, 2 ** 20 + 4095, 2 ** 20 + 4096):
            data = os.urandom(n)
            image = self._upload(data)
            resp = self.request('GET', '/v1/images/%s' % image['id'])
            self.assertEqual(200, resp.status)
            self.assertEqual(data, resp.body)

    def test_size_mismatch_leaves_nothing(self):
        # §3: size mismatch -> 400, killed, data deleted.
        before = self.api.store_files()
        resp = self.create(body=b'x' * 1000,
                           extra={'x-image-meta-size': '999'})
        self.assertEqual(400, resp.status)
        self.assertIn(b'did not match', resp.body)
        self.assertEqual(before, self.api.store_files())

    def test_checksum_mismatch_leaves_nothing(self):
        before = self.api.store_files()
        resp = self.create(body=b'y' * 4096,
                           extra={'x-image-meta-checksum': '0' * 32})
        self.assertEqual(400, resp.status)
        self.assertEqual(before, self.api.store_files())

    def test_delete_removes_data(self):
        before = self.api.store_files()
        image = self._upload(os.urandom(1024))
        self.assertNotEqual(before, self.api.store_files())
        resp = self.request('DELETE', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertEqual(before, self.api.store_files())

    def test_client_disconnect_leaves_nothing(self):
        before = self.api.store_files()
        sock = self.start_raw_upload(b'Content-Length: 100000')
        sock.sendall(b'z' * 5000)
        sock.close()
        self.assertStoreBecomes(before)


class TestEncryptedLocations(base.FunctionalTest):
    """metadata_encryption_key: the stored location is ciphertext, the
    service reads it back (glance-v1-reference §4)."""
    conf = {'DEFAULT': {'metadata_encryption_key': 'k' * 32}}

    def test_location_encrypted_at_rest(self):
        data = os.urandom(5000)
        image = self.create(body=data).json['image']
        db = sqlite3.connect(os.path.join(self.api.state_dir,
                                          'glance.sqlite'))
        try:
            (value,), = db.execute(
                'SELECT value FROM image_locations WHERE image_id = ?',
                (image['id'],)).fetchall()
        finally:
            db.close()
        self.assertNotIn('://', value)
        self.assertNotIn(image['id'], value)
        resp = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(data, resp.body)
        before = self.api.store_files()
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % image['id']).status)
        self.assertEqual(len(before) - 1, len(self.api.store_files()))
