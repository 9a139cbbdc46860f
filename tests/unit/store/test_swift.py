"""The Swift driver's bookkeeping, with swiftclient replaced by an
in-memory account so failures can be injected at exact points. The real
Swift runs in tests/functional/test_swift.py."""

import hashlib
import json
from unittest import mock

from swiftclient import exceptions as swift_exc

from glance_v1.common import exception
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
                   content_type=None):
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
            data = b''.join(self._container(s['path'].split('/')[1])[
                s['path'].split('/', 2)[2]] for s in segments)
        objects[name] = data
        return hashlib.md5(data).hexdigest()

    def get_object(self, container, name, resp_chunk_size, headers):
        objects = self._container(container)
        if name not in objects:
            raise swift_exc.ClientException('no', http_status=404)
        data = objects[name]
        resp = {'content-length': str(len(data))}
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


class SwiftStoreTest(base.TestCase):

    def setUp(self):
        super().setUp()
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
