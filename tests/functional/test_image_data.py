"""Image data through the configured store (file, or Swift with
GLANCE_V1_TEST_STORE=swift): upload, download, ranges, failures that must
leave nothing behind, delete (glance-v1-reference §3, §4)."""

import hashlib
import os
import time

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
        sock = self.raw_socket()
        sock.sendall(b'POST /v1/images HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Type: application/octet-stream\r\n'
                     b'x-image-meta-name: cut\r\n'
                     b'x-image-meta-disk_format: raw\r\n'
                     b'x-image-meta-container_format: bare\r\n'
                     b'Content-Length: 100000\r\n\r\n' + b'z' * 5000)
        sock.close()
        # The server notices the short body asynchronously.
        deadline = time.monotonic() + 15
        while self.api.store_files() != before and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(before, self.api.store_files())
