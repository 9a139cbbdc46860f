"""The Swift driver's bookkeeping, with swiftclient replaced by an
in-memory account so failures can be injected at exact points. The real
Swift runs in tests/functional/test_swift.py."""

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from unittest import mock

from swiftclient import exceptions as swift_exc
import xxhash

from glance_v1.common import exception
from glance_v1.image import upload
from glance_v1.store import swift
from tests import base

MiB = 1024 * 1024
KEY = 'very-secret-key'


class FakeAccount:
    """Containers of objects, as swiftclient's Connection sees them."""

    def __init__(self):
        self.containers = {}
        self.fail_put = None   # object name prefix whose PUT fails
        self.down = False
        self.break_reads = None
        self.connections = []
        self.closed = []
        # Called with the object's name once its body was read, before
        # the PUT answers (Swift syncing it to disk); may raise.
        self.tail = None
        self.lock = threading.Lock()
        self.open_puts = 0
        # Objects' user metadata, by (container, name), lower-case names.
        self.meta = {}
        self.most_open_puts = 0

    def connection(self, **kwargs):
        self.connections.append(kwargs)
        return FakeConnection(self)


class FakeConnection:

    def __init__(self, account):
        self.account = account
        self.url, self.token = 'http://swift/v1/AUTH_x', 'tok'

    def _check(self):
        if self.account.down:
            raise ConnectionRefusedError()

    def _container(self, name):
        self._check()
        if name not in self.account.containers:
            raise swift_exc.ClientException('no', http_status=404)
        return self.account.containers[name]

    def head_container(self, name):
        self._container(name)
        return {}

    def put_container(self, name):
        self._check()
        self.account.containers.setdefault(name, {})

    def head_object(self, container, name):
        objects = self._container(container)
        if name not in objects:
            raise swift_exc.ClientException('no', http_status=404)
        return {'content-length': str(len(objects[name]))}

    def put_object(self, container, name, contents, query_string=None,
                   content_type=None, headers=None):
        account = self.account
        with account.lock:
            account.open_puts += 1
            account.most_open_puts = max(account.most_open_puts,
                                         account.open_puts)
        try:
            etag = self._put_object(container, name, contents,
                                    query_string)
            account.meta[container, name] = {
                k.lower(): v for k, v in (headers or {}).items()
                if k.lower().startswith('x-object-meta-')}
            return etag
        finally:
            with account.lock:
                account.open_puts -= 1

    def _put_object(self, container, name, contents, query_string):
        objects = self._container(container)
        if isinstance(contents, str):
            data = contents.encode()
        else:
            data = b''
            for chunk in contents:
                data += chunk
                if self.account.fail_put and \
                        name.startswith(self.account.fail_put):
                    raise swift_exc.ClientException('broken',
                                                    http_status=503)
        if query_string == 'multipart-manifest=put':
            segments = json.loads(data)
            parts = [self._container(s['path'].split('/')[1])[
                s['path'].split('/', 2)[2]] for s in segments]
            for part, segment in zip(parts, segments):
                # What Swift's SLO middleware checks.
                if (hashlib.md5(part).hexdigest(), len(part)) != (
                        segment['etag'], segment['size_bytes']):
                    raise swift_exc.ClientException('bad', http_status=400)
            data = b''.join(parts)
        elif self.account.tail is not None:
            self.account.tail(name)
        objects[name] = data
        return hashlib.md5(data).hexdigest()

    def get_object(self, container, name, resp_chunk_size, headers):
        objects = self._container(container)
        if name not in objects:
            raise swift_exc.ClientException('no', http_status=404)
        data = objects[name]
        resp = dict(self.account.meta.get((container, name), {}))
        resp['content-length'] = str(len(data))
        if 'Range' in headers:
            first, last = headers['Range'][6:].split('-')
            resp['content-range'] = 'bytes %s-%s/%d' % (first, last,
                                                        len(data))
            data = data[int(first):int(last or len(data) - 1) + 1]
            resp['content-length'] = str(len(data))
        return resp, Body(data, resp_chunk_size, self.account)

    def delete_object(self, container, name):
        objects = self._container(container)
        if name not in objects:
            raise swift_exc.ClientException('no', http_status=404)
        del objects[name]

    def get_container(self, container, prefix='', full_listing=False):
        return {}, [{'name': n} for n in sorted(self._container(container))
                    if n.startswith(prefix)]

    def close(self):
        self.account.closed.append('connection')


class Body:
    """A response body that breaks after ``account.break_reads`` chunks
    (swiftclient's bodies are iterators with close())."""

    def __init__(self, data, chunk_size, account):
        self.chunks = iter([data[i:i + chunk_size]
                            for i in range(0, len(data), chunk_size)])
        self.account = account

    def __iter__(self):
        return self

    def __next__(self):
        if self.account.break_reads is not None:
            if self.account.break_reads == 0:
                self.account.break_reads = None
                raise ConnectionResetError()
            self.account.break_reads -= 1
        return next(self.chunks)

    def close(self):
        self.account.closed.append('body')


class FakeSwift:
    """Test case setup: a store over a FakeAccount, segments of 1 MiB."""

    def use_fake_swift(self):
        self.conf.config(group='glance_store',
                         swift_store_auth_address='http://auth:8080/auth/v1.0',
                         swift_store_auth_version='1',
                         swift_store_user='acct:glance',
                         swift_store_key=KEY,
                         swift_store_create_container_on_put=True,
                         swift_store_large_object_size=2,
                         swift_store_large_object_chunk_size=1)
        self.account = FakeAccount()
        patcher = mock.patch.object(swift, '_Connection',
                                    side_effect=self.account.connection)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.store = swift.SwiftStore(swift.CONF)

    def everything(self):
        return {c: sorted(o) for c, o in self.account.containers.items()}

    def hold_until(self, waiters, setter):
        """The PUTs of the segments numbered in ``waiters`` answer only
        once the body of segment ``setter`` was read; returns the
        event."""
        released = threading.Event()
        held = tuple('%08d' % n for n in waiters)

        def tail(name):
            if name.endswith('%08d' % setter):
                released.set()
            if name.endswith(held):
                self.assertTrue(released.wait(10), 'segments serialised')
        self.account.tail = tail
        return released


class SwiftStoreTest(FakeSwift, base.TestCase):

    def setUp(self):
        super().setUp()
        self.use_fake_swift()

    @staticmethod
    def chunks(size):
        return (b'x' * min(256 * 1024, size - i)
                for i in range(0, size, 256 * 1024))

    def test_small_image_one_object(self):
        loc, size = self.store.add('img1', self.chunks(1000), 1000,
                                   lambda n: None)
        self.assertEqual(1000, size)
        self.assertEqual('swift+http://auth:8080/auth/v1.0/glance/img1', loc)
        self.assertEqual({'glance': ['img1'], 'glance_segments': []},
                         self.everything())
        chunks, total = self.store.get(loc)
        self.assertEqual(b'x' * 1000, b''.join(chunks))

    def test_large_image_segments_and_delete(self):
        size = 3 * MiB + 5
        loc, written = self.store.add('img2', self.chunks(size), None,
                                      lambda n: None)
        self.assertEqual(size, written)
        segments = self.everything()['glance_segments']
        self.assertEqual(4, len(segments))
        chunks, total = self.store.get(loc)
        self.assertEqual(size, len(b''.join(chunks)))
        self.store.delete(loc)
        self.assertEqual({'glance': [], 'glance_segments': []},
                         self.everything())

    def test_manifest_records_the_images_checksum(self):
        # Downloads of a segmented image check an xxh3 kept on its
        # manifest; a single object has none (secure hash instead), nor
        # has a Range.
        size = 3 * MiB + 5
        data = b''.join(self.chunks(size))
        loc, _ = self.store.add('img13', self.chunks(size), None,
                                lambda n: None)
        chunks, _ = self.store.get(loc)
        self.assertEqual(('xxh3_128', xxhash.xxh3_128(data).hexdigest()),
                         chunks.checksum)
        self.assertEqual(data, b''.join(chunks))
        self.assertIsNone(self.store.get(loc, 1)[0].checksum)
        self.assertIsNone(self.store.get(loc, 0, 10)[0].checksum)
        loc, _ = self.store.add('img14', self.chunks(1000), 1000,
                                lambda n: None)
        self.assertIsNone(self.store.get(loc)[0].checksum)

    def test_verify_failure_removes_everything(self):
        for size, declared in ((1000, 1000), (3 * MiB, None)):
            def verify(n):
                raise exception.Invalid('size mismatch')
            self.assertRaises(exception.Invalid, self.store.add, 'img3',
                              self.chunks(size), declared, verify)
            self.assertEqual({'glance': [], 'glance_segments': []},
                             self.everything())

    def test_object_checked_against_the_uploads_md5(self):
        # A single object is not hashed again by the store: Swift's etag
        # is compared with the md5 verify() returns.
        good = hashlib.md5(b'x' * 1000).hexdigest()
        loc, _ = self.store.add('img11', self.chunks(1000), 1000,
                                lambda n: good)
        self.assertEqual(b'x' * 1000, b''.join(self.store.get(loc)[0]))
        error = self.assertRaises(
            exception.StoreError, self.store.add, 'img12',
            self.chunks(1000), 1000, lambda n: hashlib.md5(b'y').hexdigest())
        self.assertIn('with md5 %s' % good, str(error))
        self.assertEqual({'glance': ['img11'], 'glance_segments': []},
                         self.everything())

    def test_input_error_wins_and_cleans(self):
        def broken():
            yield b'y' * MiB
            yield b'y' * MiB
            raise exception.ClientDisconnected()
        self.assertRaises(exception.ClientDisconnected, self.store.add,
                          'img4', broken(), None, lambda n: None)
        self.assertEqual({'glance': [], 'glance_segments': []},
                         self.everything())

    def test_discard_staged_finds_what_a_dead_writer_left(self):
        keep, _ = self.store.add('img-kept', self.chunks(3 * MiB), None,
                                 lambda n: None)
        before = self.everything()

        # A writer that died after its segments (twice), and one after
        # its manifest, before the image was recorded as active.
        def died_after_segments():
            yield from self.chunks(2 * MiB)
            raise SystemExit()
        for _ in range(2):
            with mock.patch.object(self.store, '_remove'):
                self.assertRaises(SystemExit, self.store.add, 'img-a',
                                  died_after_segments(), None,
                                  lambda n: None)
        self.store.add('img-b', self.chunks(3 * MiB), None, lambda n: None)
        self.assertEqual(4, len([n for n in self.everything()[
            'glance_segments'] if n.startswith('img-a/')]))
        self.store.discard_staged('img-a')
        self.store.discard_staged('img-b')
        self.assertEqual(before, self.everything())
        self.store.discard_staged('img-never-uploaded')
        self.account.down = True
        self.assertRaises(exception.ServiceUnavailable,
                          self.store.discard_staged, 'img-kept')
        self.account.down = False
        self.assertEqual(3 * MiB, self.store.get_size(keep))

    def test_swift_failure_mid_segment(self):
        self.account.fail_put = 'img5/'
        e = self.assertRaises(exception.ServiceUnavailable, self.store.add,
                              'img5', self.chunks(3 * MiB), None,
                              lambda n: None)
        self.assertNotIn(KEY, str(e))
        self.assertEqual({'glance': [], 'glance_segments': []},
                         self.everything())

    def test_download_resumes(self):
        # swift_store_retry_get_count: a broken read resumes at the offset.
        self.conf.config(group='glance_store', swift_store_retry_get_count=1,
                         swift_store_chunk_size=4096)
        store = swift.SwiftStore(swift.CONF)
        data = bytes(range(256)) * 64
        loc, _ = store.add('imgr', iter([data]), len(data), lambda n: None)
        self.account.break_reads = 2
        chunks, size = store.get(loc)
        self.assertEqual(data, b''.join(chunks))
        # Without retries the download ends short (and the API aborts it).
        self.conf.config(group='glance_store', swift_store_retry_get_count=0)
        self.account.break_reads = 2
        chunks, size = store.get(loc)
        self.assertEqual(len(data), size)
        self.assertEqual(data[:8192], b''.join(chunks))

    def test_unreachable(self):
        self.account.down = True
        e = self.assertRaises(exception.StoreUnavailable, self.store.add,
                              'img6', self.chunks(10), 10, lambda n: None)
        self.assertEqual(503, e.code)
        self.assertIn('cannot reach Swift', str(e))

    def test_duplicate(self):
        self.store.add('img7', self.chunks(10), 10, lambda n: None)
        self.assertRaises(exception.Duplicate, self.store.add, 'img7',
                          self.chunks(10), 10, lambda n: None)

    def test_missing_object(self):
        loc, _ = self.store.add('img8', self.chunks(10), 10, lambda n: None)
        del self.account.containers['glance']['img8']
        self.assertRaises(exception.NotFound, self.store.get, loc)
        self.assertRaises(exception.NotFound, self.store.delete, loc)

    def test_foreign_cluster_never_contacted(self):
        loc = 'swift+http://elsewhere/auth/v1.0/glance/img9'
        self.assertRaises(exception.NotFound, self.store.get, loc)
        self.assertEqual([], self.account.connections)

    def test_empty_image(self):
        loc, size = self.store.add('img10', iter(()), None, lambda n: None)
        self.assertEqual(0, size)
        self.assertEqual({'glance': ['img10'], 'glance_segments': []},
                         self.everything())

    def test_keystone_v3_settings(self):
        self.conf.config(group='glance_store', swift_store_auth_version='3',
                         swift_store_user='proj:alice',
                         swift_store_region='R1',
                         swift_store_user_domain_name='udom')
        self.store._connection()
        kwargs = self.account.connections[-1]
        self.assertEqual(('alice', 'proj', '3'), (
            kwargs['user'], kwargs['tenant_name'], kwargs['auth_version']))
        self.assertEqual('proj', kwargs['os_options']['project_name'])
        self.assertEqual('udom', kwargs['os_options']['user_domain_name'])
        self.assertEqual('R1', kwargs['os_options']['region_name'])

    def test_download_never_iterated_still_releases_its_connection(self):
        # A client gone before the first byte: the response is closed
        # without being iterated.
        location, _ = self.store.add('img', [b'x' * 100], 100,
                                     lambda n: None)
        del self.account.closed[:]
        chunks, size = self.store.get(location)
        self.assertEqual(100, size)
        chunks.close()
        self.assertEqual(['body', 'connection'], self.account.closed)


class SegmentsTest(FakeSwift, base.TestCase):
    """Segments PUT with several requests open: one receives the data,
    the others wait for Swift's answer (``FakeAccount.tail``)."""

    def setUp(self):
        super().setUp()
        self.use_fake_swift()
        self.threads = threading.active_count()

    @staticmethod
    def varied(size):
        # Every 256 KiB different, so a chunk or segment out of place
        # shows in the data read back.
        return (bytes([i // (256 * 1024) % 251]) * min(256 * 1024,
                                                       size - i)
                for i in range(0, size, 256 * 1024))

    def assertNothingLeft(self):
        self.assertEqual({'glance': [], 'glance_segments': []},
                         self.everything())
        self.assertEqual(len(self.account.connections),
                         self.account.closed.count('connection'))
        self.assertEqual(self.threads, threading.active_count())

    def test_open_at_once_in_order(self):
        size = 5 * MiB + 7
        data = b''.join(self.varied(size))
        # The first two segments are answered only after the third was
        # sent: three PUTs open, and no more.
        self.hold_until((1, 2), 3)
        stored = []

        def verify(n):
            # Every segment is stored before the data is checked.
            stored.extend(self.everything()['glance_segments'])
            return None
        loc, written = self.store.add('img', self.varied(size), None,
                                      verify)
        self.assertEqual(size, written)
        self.assertEqual(6, len(stored))
        self.assertEqual(3, self.account.most_open_puts)
        # The fake checks each manifest entry's etag and size against
        # the segment, as Swift's SLO middleware does.
        manifest = self.account.containers['glance']['img']
        self.assertEqual(hashlib.md5(data).hexdigest(),
                         hashlib.md5(manifest).hexdigest())
        self.assertEqual(data, b''.join(self.store.get(loc)[0]))
        self.assertEqual(len(self.account.connections),
                         self.account.closed.count('connection'))
        self.assertEqual(self.threads, threading.active_count())

    def test_one_at_a_time(self):
        self.conf.config(group='glance_store',
                         swift_store_segment_concurrency=1)
        store = swift.SwiftStore(swift.CONF)
        size = 4 * MiB
        loc, _ = store.add('img', self.varied(size), None, lambda n: None)
        self.assertEqual(1, self.account.most_open_puts)
        self.assertEqual(b''.join(self.varied(size)),
                         b''.join(store.get(loc)[0]))

    def test_failed_segment_fails_the_upload_and_removes_all(self):
        # Segment 2 fails once segment 3 was sent: the upload fails
        # while 1 is stored, 3 waits for its answer and 4 receives data.
        released = self.hold_until((2,), 3)
        tail = self.account.tail

        def failing(name):
            tail(name)
            if name.endswith('00000002'):
                raise swift_exc.ClientException('broken', http_status=503)
        self.account.tail = failing
        verified = []
        e = self.assertRaises(exception.StoreUnavailable, self.store.add,
                              'img', self.varied(8 * MiB), None,
                              verified.append)
        self.assertIn('(503)', str(e))
        self.assertTrue(released.is_set())
        self.assertEqual([], verified)
        self.assertNothingLeft()

    def test_input_error_while_segments_wait_for_swift(self):
        gone = threading.Event()

        def tail(name):
            self.assertTrue(gone.wait(10))
        self.account.tail = tail

        def broken():
            yield from self.varied(2 * MiB + 5)
            gone.set()
            raise exception.ClientDisconnected()
        self.assertRaises(exception.ClientDisconnected, self.store.add,
                          'img', broken(), None, lambda n: None)
        self.assertNothingLeft()

class GreenSegmentsTest(base.TestCase):

    def test_segments_under_eventlet(self):
        """SegmentsTest again in a child process that eventlet patched,
        as glance-api runs: the PUTs are green threads there."""
        code = textwrap.dedent('''
            import sys
            import unittest
            import eventlet
            eventlet.monkey_patch()
            from glance_v1.common import threads
            from tests.unit.store import test_swift
            assert threads._green()
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(
                test_swift.SegmentsTest)
            result = unittest.TextTestRunner(sys.stdout).run(suite)
            sys.exit(not result.wasSuccessful() or result.testsRun < 4)
        ''')
        repo = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))))
        proc = subprocess.run([sys.executable, '-W', 'ignore', '-c', code],
                              capture_output=True, text=True, timeout=300,
                              cwd=repo)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)


class SegmentedUploadTest(FakeSwift, base.DatabaseTestCase):

    def setUp(self):
        super().setUp()
        self.use_fake_swift()

    def test_upload_hashes_exact(self):
        # Through the upload pipeline: the image's md5 and sha256 are
        # those of the whole stream, not of any segment.
        self.conf.config(group='glance_store', stores=['swift'],
                         default_store='swift')
        self.conf.config(upload_chunk_size=64 * 1024)
        ctx = base.ctx()
        image = self.registry.image_create(ctx, {
            'disk_format': 'raw', 'container_format': 'bare'})
        data = os.urandom(3 * MiB + 123)
        self.hold_until((1,), 2)
        active = upload.upload(ctx, self.registry, image, upload.Body(
            io.BytesIO(data), None, 'application/octet-stream'))
        self.assertEqual('active', active['status'])
        self.assertEqual(hashlib.md5(data).hexdigest(), active['checksum'])
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         active['os_hash_value'])
        self.assertEqual(4, len(self.everything()['glance_segments']))
        self.assertEqual(data, b''.join(
            self.store.get(active['location'])[0]))


class ConnectionTest(base.TestCase):

    def test_close_lets_go_of_every_http_connection(self):
        # swiftclient replaces its HTTP connection when it retries,
        # without closing the old one.
        opened = []

        def http_connection(self, url=None):
            conn = mock.Mock(resp=object())
            opened.append(conn)
            return 'parsed', conn
        self.patch(swift.swift_client.Connection, 'http_connection',
                   http_connection)
        conn = swift._Connection(preauthurl='http://127.0.0.1:1/v1/a',
                                 preauthtoken='t')
        conn.http_conn = conn.http_connection()
        conn.http_conn = conn.http_connection()
        conn.close()
        self.assertEqual(2, len(opened))
        for http in opened:
            self.assertTrue(http.close.called)
            # No reference cycle left to keep its socket open.
            self.assertIsNone(http.resp)
