"""The upload pipeline's outcomes (reference §3 failure table)."""

import io
import os
import time

from glance_v1.common import exception
from glance_v1.image import upload
from tests import base
from tests.unit.image import test_format_inspector as samples


class Stream:
    """A request body that can run code or fail part way."""

    def __init__(self, data, during=None, fail_after=None):
        self.buf = io.BytesIO(data)
        self.during = during
        self.fail_after = fail_after
        self.read_bytes = 0

    def read(self, n):
        if self.fail_after is not None and self.read_bytes >= \
                self.fail_after:
            raise OSError('connection reset')
        chunk = self.buf.read(n)
        self.read_bytes += len(chunk)
        if self.during and not chunk:
            self.during()
            self.during = None
        return chunk


class TestUpload(base.DatabaseTestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(upload_chunk_size=4096)
        self.datadir = os.path.join(self.tmp, 'images')
        self.conf.config(filesystem_store_datadir=self.datadir,
                         group='glance_store')
        self.ctx = base.ctx()
        self.image = self.registry.image_create(self.ctx, {
            'disk_format': 'raw', 'container_format': 'bare'})

    def files(self):
        return [f for _, _, fs in os.walk(self.datadir) for f in fs]

    def status(self):
        return self.registry.image_get(base.admin_ctx(),
                                       self.image['id'])['status']

    def body(self, stream, length=None):
        return upload.Body(stream, length, 'application/octet-stream')

    def test_success_records_hashes_and_location(self):
        data = os.urandom(10000)
        image = upload.upload(self.ctx, self.registry, self.image,
                              self.body(Stream(data), len(data)))
        self.assertEqual('active', image['status'])
        self.assertEqual(10000, image['size'])
        self.assertTrue(image['location'].startswith('file://'))
        self.assertEqual([self.image['id']], self.files())

    def test_deleted_during_upload_is_412_and_data_removed(self):
        # OSSA-2015-003: a delete racing the upload must not leave data.
        def delete():
            self.registry.image_destroy(self.ctx, self.image['id'])
        error = self.assertRaises(
            exception.PreconditionFailed, upload.upload, self.ctx,
            self.registry, self.image, self.body(Stream(b'x' * 5000,
                                                        during=delete)))
        self.assertIn('could not be found after upload', str(error))
        self.assertEqual([], self.files())

    def test_deletion_stops_the_upload_at_the_next_renewal(self):
        # The lease is renewed every second; the client would take 100 s
        # to send everything.
        self.conf.config(upload_lease_time=4)
        total = 4096 * 2000
        registry, ctx, image_id = self.registry, self.ctx, self.image['id']

        class DeletedThenSlow(Stream):
            def read(self, n):
                if not self.read_bytes:
                    registry.image_destroy(ctx, image_id)
                time.sleep(0.05)
                return super().read(n)

        stream = DeletedThenSlow(b'z' * total)
        error = self.assertRaises(
            exception.PreconditionFailed, upload.upload, self.ctx,
            self.registry, self.image, self.body(stream, total))
        self.assertIn('may have been deleted during the upload', str(error))
        self.assertLess(stream.read_bytes, total // 4)
        self.assertEqual([], self.files())
        self.assertEqual('deleted', self.status())

    def test_broken_body_kills(self):
        self.assertRaises(exception.ClientDisconnected, upload.upload,
                          self.ctx, self.registry, self.image,
                          self.body(Stream(b'x' * 50000, fail_after=8192)))
        self.assertEqual('killed', self.status())
        self.assertEqual([], self.files())

    def test_short_body_kills(self):
        self.assertRaises(exception.ClientDisconnected, upload.upload,
                          self.ctx, self.registry, self.image,
                          self.body(Stream(b'x' * 100), 1000))
        self.assertEqual('killed', self.status())

    def test_limit_error_is_raised_and_kills(self):
        def quota():
            return exception.LimitExceeded('over quota')
        error = self.assertRaises(
            exception.LimitExceeded, upload.upload, self.ctx,
            self.registry, self.image, self.body(Stream(b'x' * 10000)),
            limit=5000, limit_error=quota)
        self.assertEqual('over quota', str(error))
        self.assertEqual('killed', self.status())
        self.assertEqual([], self.files())

    def test_unexpected_error_is_500_and_kills(self):
        class Boom(Stream):
            def read(self, n):
                raise RuntimeError('boom')
        error = self.assertRaises(exception.GlanceException, upload.upload,
                                  self.ctx, self.registry, self.image,
                                  self.body(Boom(b'')))
        self.assertEqual(500, error.code)
        self.assertEqual('killed', self.status())

    def image_of(self, disk_format):
        return self.registry.image_create(self.ctx, {
            'disk_format': disk_format, 'container_format': 'bare'})

    def test_virtual_size_recorded(self):
        data = os.urandom(10000)
        image = upload.upload(self.ctx, self.registry, self.image,
                              self.body(Stream(data), len(data)))
        self.assertEqual(10000, image['virtual_size'])
        data = samples.qcow2(size=7 * 1024 ** 3)
        image = upload.upload(self.ctx, self.registry,
                              self.image_of('qcow2'),
                              self.body(Stream(data), len(data)))
        self.assertEqual(('active', 7 * 1024 ** 3),
                         (image['status'], image['virtual_size']))

    def test_virtual_size_from_the_content_not_the_request(self):
        image = self.registry.image_create(self.ctx, {
            'disk_format': 'raw', 'container_format': 'bare',
            'virtual_size': 5})
        image = upload.upload(self.ctx, self.registry, image,
                              self.body(Stream(b'x' * 3000), 3000))
        self.assertEqual(3000, image['virtual_size'])

    def test_unsafe_content_refused_early_kills(self):
        # Decisions "further" 8: refused in the first chunk, before the
        # rest of the body is read, and nothing stays in the store.
        data = samples.qcow2(backing=512, length=1024 * 1024)
        stream = Stream(data)
        error = self.assertRaises(exception.Invalid, upload.upload,
                                  self.ctx, self.registry, self.image,
                                  self.body(stream, len(data)))
        self.assertIn('qcow2 image has a backing file', str(error))
        self.assertLess(stream.read_bytes, len(data) // 2)
        self.assertEqual('killed', self.status())
        self.assertEqual([], self.files())

    def test_content_refused_at_the_end_kills(self):
        # A fixed VHD shows at its last 512 bytes: the data is in the
        # store by then, and must go.
        data = samples.vhd_fixed(size=200000)
        error = self.assertRaises(exception.Invalid, upload.upload,
                                  self.ctx, self.registry, self.image,
                                  self.body(Stream(data), len(data)))
        self.assertIn("disk_format is 'raw' but the content is vhd",
                      str(error))
        self.assertEqual('killed', self.status())
        self.assertEqual([], self.files())

    def test_upload_onto_non_queued_conflicts(self):
        self.registry.image_update(self.ctx, self.image['id'],
                                   {'status': 'active'})
        self.assertRaises(exception.StateConflict, upload.upload, self.ctx,
                          self.registry, self.image,
                          self.body(Stream(b'x')))


class Direct:
    """A direct reader (what SocketBody is to the server) over a Stream:
    fills each buffer, and says whether it was cancelled and finished."""

    def __init__(self, stream, length):
        self.stream = stream
        self.remaining = length
        self.cancelled = False
        self.finished = 0

    def readinto(self, view):
        filled = 0
        while filled < len(view) and self.remaining != 0:
            want = len(view) - filled
            if self.remaining is not None:
                want = min(want, self.remaining)
            try:
                chunk = self.stream.read(want)
            except OSError as e:
                raise exception.ClientDisconnected() from e
            if not chunk:
                if self.remaining:
                    raise exception.ClientDisconnected()
                break
            view[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
            if self.remaining is not None:
                self.remaining -= len(chunk)
        return filled

    def cancel(self):
        self.cancelled = True

    def finish(self):
        self.finished += 1


class TestUploadRing(TestUpload):
    """The same outcomes when native threads read the body (_Ring)."""

    def body(self, stream, length=None):
        def direct():
            self.direct = Direct(stream, length)
            return self.direct
        return upload.Body(stream, length, 'application/octet-stream',
                           direct=direct)

    def tearDown(self):
        # Every way out leaves the reader finished, exactly once.
        if hasattr(self, 'direct'):
            self.assertEqual(1, self.direct.finished)
        super().tearDown()

    def test_hashes_and_size_at_chunk_boundaries(self):
        import hashlib
        for size in (0, 1, 4095, 4096, 4097, 3 * 4096, 40000):
            image = self.registry.image_create(self.ctx, {
                'disk_format': 'raw', 'container_format': 'bare'})
            data = os.urandom(size)
            active = upload.upload(self.ctx, self.registry, image,
                                   self.body(Stream(data), size or None))
            self.assertEqual(size, active['size'])
            self.assertEqual(hashlib.md5(data).hexdigest(),
                             active['checksum'])
            self.assertEqual(hashlib.sha256(data).hexdigest(),
                             active['os_hash_value'])
            with open(os.path.join(self.datadir, image['id']), 'rb') as f:
                self.assertEqual(data, f.read())

    def test_store_that_never_reads_still_finishes_the_body(self):
        os.makedirs(self.datadir, exist_ok=True)
        with open(os.path.join(self.datadir, self.image['id']), 'wb'):
            pass
        self.assertRaises(exception.Duplicate, upload.upload, self.ctx,
                          self.registry, self.image,
                          self.body(Stream(b'x' * 10000), 10000))
        self.assertTrue(self.direct.cancelled)

    def test_store_failing_midway_cancels_the_reader(self):
        from glance_v1.store import filesystem

        def full(self, data):
            raise OSError(28, 'No space left on device')
        self.patch(filesystem._DirectWriter, 'write', full)
        self.patch(filesystem._Writer, 'write', full)
        self.assertRaises(exception.StorageFull, upload.upload, self.ctx,
                          self.registry, self.image,
                          self.body(Stream(b'x' * 100000), 100000))
        self.assertTrue(self.direct.cancelled)
        self.assertEqual('killed', self.status())
        self.assertEqual([], self.files())

    def test_borrowing_store_gets_views_others_get_bytes(self):
        seen = []

        class Store:
            def __init__(self, borrows):
                self.borrows_chunks = borrows

            def add(self, image_id, chunks, size, verify):
                for chunk in chunks:
                    seen.append(type(chunk))
                raise exception.StoreError('stop here')

        for borrows, kind in ((True, memoryview), (False, bytes)):
            image = self.registry.image_create(self.ctx, {
                'disk_format': 'raw', 'container_format': 'bare'})
            del seen[:]
            store = Store(borrows)
            self.patch(upload.store_api, 'default_store',
                       lambda store=store: store)
            self.assertRaises(exception.StoreError, upload.upload, self.ctx,
                              self.registry, image,
                              self.body(Stream(b'x' * 10000), 10000))
            self.assertEqual([kind] * 3, seen)
