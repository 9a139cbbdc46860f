"""The Swift store against a real Swift all-in-one (tox -e swift): segmented
large objects, missing objects, an outage, and the key kept secret
(glance-v1-reference §3, §4, §14 OSSA-2013-002 and OSSA-2014-004)."""

import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import xxhash

from tests.functional import base
from tests.functional import server

MiB = 1024 * 1024
SWIFT_ONLY = unittest.skipUnless(
    server.TEST_STORE == 'swift',
    'Swift tests run in "tox -e swift" (GLANCE_V1_TEST_STORE=swift)')
AIO = os.path.join(server.REPO, 'tools', 'swift_aio.py')


def pattern(size, seed):
    """``size`` bytes of varied content, generated 1 MiB at a time."""
    block = hashlib.sha256(seed).digest() * (MiB // 32)
    for i in range(0, size, MiB):
        piece = i.to_bytes(8, 'big') + block[8:]
        yield piece[:min(MiB, size - i)]


class SwiftTest(base.FunctionalTest):

    def swift_conn(self):
        return server.swift_connection(self.api.swift)

    def upload_stream(self, chunks, size=None):
        """POST an image from an iterable of chunks; ``(status, json)``."""
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=300)
        headers = dict(base.IMAGE_HEADERS)
        headers['Content-Type'] = 'application/octet-stream'
        if size is None:
            headers['Transfer-Encoding'] = 'chunked'
        else:
            headers['Content-Length'] = str(size)
            headers['x-image-meta-size'] = str(size)
        conn.request('POST', '/v1/images', body=chunks, headers=headers,
                     encode_chunked=size is None)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, json.loads(body) if resp.status == 201 else body

    def download_digest(self, image_id, headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=300)
        conn.request('GET', '/v1/images/%s' % image_id,
                     headers=headers or {})
        resp = conn.getresponse()
        digest, size = hashlib.sha256(), 0
        while True:
            chunk = resp.read(MiB)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        conn.close()
        return resp.status, size, digest.hexdigest()

    def assertKeyHidden(self, *responses):
        key = self.api.swift['key']
        self.assertNotIn(key, self.api.read_log())
        for resp in responses:
            self.assertNotIn(key.encode(), resp.body)
            self.assertNotIn(key, json.dumps(resp.headers))


@SWIFT_ONLY
class TestSwiftStore(SwiftTest):
    conf = {'DEFAULT': {'debug': 'true'},
            'glance_store': {'swift_store_large_object_size': 1,
                             'swift_store_large_object_chunk_size': 50}}

    def test_200_mib_image_as_segments(self):
        size = 200 * MiB
        want = hashlib.sha256()
        for chunk in pattern(size, b'big'):
            want.update(chunk)
        status, body = self.upload_stream(pattern(size, b'big'), size)
        self.assertEqual(201, status, body)
        image = body['image']
        self.assertEqual('active', image['status'])
        self.assertEqual(size, image['size'])
        container = self.api.store_conf['swift_store_container']
        conn = self.swift_conn()
        manifest = conn.head_object(container, image['id'])
        self.assertEqual('True', manifest.get('x-static-large-object'))
        segments = [o for o in self.api.store_files()
                    if o.startswith(container + '_segments/' + image['id'])]
        self.assertEqual(4, len(segments))
        self.assertEqual((200, size, want.hexdigest()),
                         self.download_digest(image['id']))
        # A range across the first segment boundary.
        resp = self.request('GET', '/v1/images/%s' % image['id'],
                            {'Range': 'bytes=%d-%d' % (50 * MiB - 10,
                                                       50 * MiB + 9)})
        self.assertEqual(206, resp.status)
        whole = b''.join(pattern(51 * MiB, b'big'))
        self.assertEqual(whole[50 * MiB - 10:50 * MiB + 10], resp.body)
        resp = self.request('DELETE', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertEqual([], [o for o in self.api.store_files()
                              if image['id'] in o])

    def test_segmented_failures_leave_nothing(self):
        # §3: size mismatch and a client gone mid-upload, both after
        # segments were written: no manifest, no segment left.
        size = 3 * MiB
        status, body = self.upload_stream(pattern(size, b'short'), size)
        self.assertEqual(201, status)
        before = self.api.store_files()
        resp = self.create(body=b''.join(pattern(size, b'lie')),
                           extra={'x-image-meta-size': str(size + 1)})
        self.assertEqual(400, resp.status)
        self.assertEqual(before, self.api.store_files())
        sock = self.start_raw_upload(b'Transfer-Encoding: chunked')
        for chunk in pattern(2 * MiB + 5, b'cut'):
            sock.sendall(b'%x\r\n%s\r\n' % (len(chunk), chunk))
        sock.close()
        self.assertStoreBecomes(before)

    def test_small_image_is_one_object(self):
        status, body = self.upload_stream([b'a' * 1000], 1000)
        self.assertEqual(201, status, body)
        image_id = body['image']['id']
        self.assertEqual(['%s/%s' % (self.api.store_conf[
            'swift_store_container'], image_id)],
            [o for o in self.api.store_files() if image_id in o])

    def test_unknown_size_is_segmented(self):
        status, body = self.upload_stream(pattern(3 * MiB, b'chunked'))
        self.assertEqual(201, status, body)
        image = body['image']
        self.assertEqual(3 * MiB, image['size'])
        want = hashlib.sha256(b''.join(pattern(3 * MiB, b'chunked')))
        self.assertEqual((200, 3 * MiB, want.hexdigest()),
                         self.download_digest(image['id']))

    def test_segmented_download_checked_against_manifest_checksum(self):
        # The manifest records the image's xxh3, and a full download is
        # checked against it: a wrong value cuts the download short.
        data = b''.join(pattern(3 * MiB, b'xxh3'))
        status, body = self.upload_stream(pattern(3 * MiB, b'xxh3'))
        self.assertEqual(201, status, body)
        image_id = body['image']['id']
        container = self.api.store_conf['swift_store_container']
        conn = self.swift_conn()
        name = 'X-Object-Meta-Glance-V1-Xxh3-128'
        self.assertEqual(xxhash.xxh3_128(data).hexdigest(),
                         conn.head_object(container, image_id)[name.lower()])
        want = (200, 3 * MiB, hashlib.sha256(data).hexdigest())
        self.assertEqual(want, self.download_digest(image_id))
        conn.post_object(container, image_id, {name: '0' * 32})
        conn.close()
        status, size, _digest = self.download_digest(image_id)
        self.assertEqual(200, status)
        self.assertLess(size, 3 * MiB)
        self.assertIn('Corrupt image download: the data of %s does not '
                      'match its recorded xxh3_128' % image_id,
                      self.api.read_log())
        # A Range is served, unchecked.
        resp = self.request('GET', '/v1/images/%s' % image_id,
                            {'Range': 'bytes=0-9'})
        self.assertEqual((206, data[:10]), (resp.status, resp.body))

    def test_empty_chunked_upload(self):
        status, body = self.upload_stream([])
        self.assertEqual(201, status, body)
        self.assertEqual(0, body['image']['size'])
        resp = self.request('GET', '/v1/images/%s' % body['image']['id'])
        self.assertEqual((200, b''), (resp.status, resp.body))

    def test_object_missing(self):
        # §15 test_api_response_when_image_deleted_from_filesystem, on Swift.
        image = self.create(body=b'gone soon').json['image']
        self.swift_conn().delete_object(
            self.api.store_conf['swift_store_container'], image['id'])
        resp = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(404, resp.status)
        resp = self.request('HEAD', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        # The image can still be deleted.
        resp = self.request('DELETE', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)

    def test_key_never_shown(self):
        # OSSA-2013-002, OSSA-2014-004: no Swift key in any response or in
        # the (debug) log, successes and failures alike.
        responses = [self.create(body=b'k' * 100)]
        image_id = responses[0].json['image']['id']
        responses += [
            self.request('GET', '/v1/images/%s' % image_id),
            self.request('HEAD', '/v1/images/%s' % image_id),
            self.request('GET', '/v1/images/detail'),
            self.create(body=b'x', extra={'x-image-meta-size': '5'}),
            self.create(extra={'x-image-meta-location':
                               'swift+http://127.0.0.1/v1/glance/x'}),
        ]
        self.swift_conn().delete_object(
            self.api.store_conf['swift_store_container'], image_id)
        responses.append(self.request('GET', '/v1/images/%s' % image_id))
        self.assertKeyHidden(*responses)


@SWIFT_ONLY
class TestSwiftOutage(SwiftTest):
    """Swift goes away and comes back (its own all-in-one, so the shared
    one stays up for the other tests)."""

    @classmethod
    def aio(cls, command, *extra):
        subprocess.check_call(
            [sys.executable, AIO, command, '--base', cls.aio_dir] +
            list(extra), stdout=subprocess.DEVNULL)

    @classmethod
    def setUpClass(cls):
        server.swift_settings()
        cls.aio_dir = tempfile.mkdtemp(prefix='glance-v1-outage-')
        cls.aio('start')
        # The server reads its Swift from GLANCE_V1_SWIFT_AIO.
        saved = os.environ['GLANCE_V1_SWIFT_AIO']
        os.environ['GLANCE_V1_SWIFT_AIO'] = cls.aio_dir
        try:
            cls.conf = {'glance_store': {'swift_store_timeout': 5}}
            super().setUpClass()
        finally:
            os.environ['GLANCE_V1_SWIFT_AIO'] = saved

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.aio('stop', '--purge')

    def test_outage_and_recovery(self):
        before = self.create(body=b'before the outage').json['image']
        queued = self.create().json['image']
        self.aio('stop')
        try:
            started = time.monotonic()
            resp = self.request(
                'PUT', '/v1/images/%s' % queued['id'],
                {'Content-Type': 'application/octet-stream'},
                b'during the outage')
            self.assertEqual(503, resp.status)
            self.assertIn(b'The image store is unavailable: cannot reach '
                          b'Swift', resp.body)
            self.assertLess(time.monotonic() - started, 30)
            self.assertEqual('killed', self.image_status(queued['id']))
            resp_get = self.request('GET', '/v1/images/%s' % before['id'])
            self.assertEqual(503, resp_get.status)
        finally:
            self.aio('start')
        self.assertEqual(200, self.request(
            'GET', '/v1/images/%s' % before['id']).status)
        after = self.create(body=b'after the outage')
        self.assertEqual(201, after.status)
        # The failed upload left nothing in Swift.
        container = self.api.store_conf['swift_store_container']
        self.assertEqual(
            sorted('%s/%s' % (container, i['id'])
                   for i in (before, after.json['image'])),
            self.api.store_files())
        self.assertKeyHidden(resp, resp_get, after)
