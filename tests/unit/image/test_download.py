"""Downloads: bytes checked for length and hash as they go, the last
chunk held back until both are known, as chunks or as spans of a file."""

import hashlib
import logging
import os
import threading
from unittest import mock

import fixtures
import xxhash

from glance_v1.common import exception
from glance_v1.image import download
from glance_v1.store import filesystem
from tests import base

IMAGE = {'id': 'img-1', 'owner': 'o'}


def xxh(data):
    return ('xxh3_128', xxhash.xxh3_128(data).hexdigest())


def sha(data):
    return ('sha256', hashlib.sha256(data).hexdigest())


class TestChunks(base.TestCase):

    def received(self, dl):
        """What a client receives: the chunks until one raises."""
        out = []
        try:
            for chunk in dl:
                out.append(chunk)
        except exception.DataCorrupted:
            return b''.join(out), False
        finally:
            dl.close()
        return b''.join(out), True

    def test_whole_and_notified(self):
        chunks = [b'a' * 10, b'b' * 10, b'c' * 5]
        for check in (None, xxh(b''.join(chunks)), sha(b''.join(chunks))):
            with mock.patch.object(download.notifier, 'sent') as sent:
                dl = download.Download(iter(chunks), IMAGE, 25, 'ctx',
                                       '127.0.0.1', check)
                self.assertEqual((b''.join(chunks), True), self.received(dl))
            sent.assert_called_once_with('ctx', IMAGE, 25, 25, '127.0.0.1')

    def test_longer_data_is_cut_at_expected(self):
        with mock.patch.object(download.notifier, 'sent'):
            dl = download.Download(iter([b'abc', b'defg']), IMAGE, 5, None,
                                   None)
            self.assertEqual((b'abcde', True), self.received(dl))

    def test_short_data_never_completes(self):
        with mock.patch.object(download.notifier, 'sent') as sent:
            dl = download.Download(iter([b'abc', b'def']), IMAGE, 10, None,
                                   None)
            received, complete = self.received(dl)
        self.assertFalse(complete)
        # The last chunk is held back: the length is known to be short
        # before it would go out.
        self.assertEqual(b'abc', received)
        sent.assert_called_once_with(None, IMAGE, 3, 10, None)

    def test_hash_mismatch_holds_back_the_last_chunk(self):
        chunks = [b'x' * 100, b'y' * 100, b'z' * 100]
        for check in (xxh(b'other'), sha(b'other')):
            with mock.patch.object(download.notifier, 'sent'):
                dl = download.Download(iter(chunks), IMAGE, 300, None, None,
                                       check)
                received, complete = self.received(dl)
            self.assertFalse(complete)
            self.assertEqual(b'x' * 100 + b'y' * 100, received)

    def test_chunks_are_closed(self):
        chunks = mock.MagicMock()
        chunks.__iter__.return_value = iter([b'abc'])
        with mock.patch.object(download.notifier, 'sent'):
            self.received(download.Download(chunks, IMAGE, 3, None, None))
        chunks.close.assert_called_once_with()


class TestSpans(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(filesystem_store_datadir=self.tmp,
                         group='glance_store')
        self.store = filesystem.FilesystemStore(self.conf.conf)
        self.useFixture(fixtures.MockPatchObject(download.notifier, 'sent'))
        self.useFixture(fixtures.MockPatchObject(download, '_TAIL', 1000))

    def stored(self, data):
        loc, _ = self.store.add('0d6a3f31-44bb-4d0c-b7a6-2c2c1f06b3e1',
                                [data], len(data), lambda n: None)
        return loc, os.path.join(self.tmp,
                                 '0d6a3f31-44bb-4d0c-b7a6-2c2c1f06b3e1')

    def spans(self, loc, size, check, offset=0, length=None):
        chunks, _ = self.store.get(loc, offset, length)
        dl = download.Download(chunks, IMAGE, size if length is None
                               else length, None, None, check)
        self.addCleanup(dl.close)
        return dl, dl.spans()

    def test_file_is_sent_in_two_spans_after_the_check(self):
        data = os.urandom(5000)
        loc, _ = self.stored(data)
        chunks, _ = self.store.get(loc)
        self.assertEqual(xxh(data), chunks.checksum)
        chunks.close()
        dl, spans = self.spans(loc, 5000, xxh(data))
        self.assertIsNotNone(dl.fileno())
        self.assertEqual([(0, 4000), (4000, 1000)], list(spans))

    def test_unchecked_and_ranged_is_one_span(self):
        loc, _ = self.stored(os.urandom(5000))
        _, spans = self.spans(loc, 5000, None)
        self.assertEqual([(0, 5000)], list(spans))
        _, spans = self.spans(loc, 5000, None, offset=100, length=200)
        self.assertEqual([(100, 200)], list(spans))

    def test_damaged_file_stops_before_the_tail(self):
        data = os.urandom(5000)
        loc, path = self.stored(data)
        with open(path, 'r+b') as f:
            f.seek(10)
            f.write(b'\0' if data[10] else b'\1')
        for check in (xxh(data), sha(data)):
            _, spans = self.spans(loc, 5000, check)
            self.assertEqual((0, 4000), next(spans))
            self.assertRaises(exception.DataCorrupted, next, spans)

    def test_small_file_is_checked_before_its_only_span(self):
        data = os.urandom(800)
        loc, path = self.stored(data)
        _, spans = self.spans(loc, 800, xxh(data))
        self.assertEqual([(0, 800)], list(spans))
        with open(path, 'r+b') as f:
            f.write(b'\0' if data[0] else b'\1')
        _, spans = self.spans(loc, 800, xxh(data))
        self.assertRaises(exception.DataCorrupted, next, spans)

    def test_short_file_sends_nothing(self):
        loc, path = self.stored(os.urandom(5000))
        os.truncate(path, 4999)
        _, spans = self.spans(loc, 5000, None)
        self.assertRaises(exception.DataCorrupted, next, spans)

    def test_sha256_when_the_store_has_no_checksum(self):
        data = os.urandom(3000)
        with mock.patch.object(filesystem.os, 'setxattr',
                               side_effect=OSError(95, 'not supported')):
            loc, _ = self.stored(data)
        chunks, _ = self.store.get(loc)
        self.assertIsNone(chunks.checksum)
        chunks.close()
        _, spans = self.spans(loc, 3000, sha(data))
        self.assertEqual([(0, 2000), (2000, 1000)], list(spans))


class TestCutByDeletion(base.DatabaseTestCase):
    """A download whose data went away with its image ends short, and
    says so; only data short of a live image is called corrupt."""

    def short_download(self, image):
        dl = download.Download(iter([b'abc']), image, 10, None, None)
        with mock.patch.object(download.notifier, 'sent'):
            try:
                return self.assertRaises(exception.GlanceException, list,
                                         dl)
            finally:
                dl.close()

    def test_deleted_image_is_not_corrupt(self):
        ctx = base.admin_ctx()
        image = self.registry.image_create(ctx, {'status': 'active',
                                                 'size': 10})
        logged = self.useFixture(fixtures.FakeLogger(
            name=download.__name__, level=logging.DEBUG,
            format='%(levelname)s %(message)s'))
        self.assertIsInstance(self.short_download(image),
                              exception.DataCorrupted)
        self.assertIn('ERROR Corrupt image download', logged.output)
        self.registry.image_destroy(ctx, image['id'])
        logged.reset_output()
        self.assertIsInstance(self.short_download(image),
                              exception.DataDeleted)
        self.assertIn('INFO Download of image %s ended at 3 of 10 bytes: '
                      'the image was deleted meanwhile' % image['id'],
                      logged.output)
        self.assertNotIn('ERROR', logged.output)


class TestSharedChecks(TestSpans):
    """Downloads of one file at the same time share one reading of it by
    a pool thread; a reading nobody waits for stops and is not joined."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(download, '_checks', {}))

    def test_concurrent_downloads_share_one_reading(self):
        data = os.urandom(5000)
        loc, _ = self.stored(data)
        reads = []
        real = download._hash_file
        # The reading lasts until the second download has joined it (a
        # file in the page cache is hashed in microseconds).
        joined = threading.Event()

        def counted(*args):
            reads.append(args[:3])
            joined.wait(10)
            return real(*args)
        with mock.patch.object(download, '_hash_file', counted):
            first = self.spans(loc, 5000, xxh(data))[1]
            second = self.spans(loc, 5000, xxh(data))[1]
            self.assertEqual((0, 4000), next(first))
            self.assertEqual((0, 4000), next(second))
            joined.set()
            self.assertEqual((4000, 1000), next(first))
            self.assertEqual((4000, 1000), next(second))
        self.assertEqual(1, len(reads))
        # Done: the next download reads the file again.
        with mock.patch.object(download, '_hash_file', counted):
            self.assertEqual(2, len(list(self.spans(loc, 5000,
                                                    xxh(data))[1])))
        self.assertEqual(2, len(reads))
        self.assertEqual({}, download._checks)

    def test_rewritten_file_is_read_anew(self):
        data = os.urandom(5000)
        loc, path = self.stored(data)
        gate = threading.Event()
        real = download._hash_file

        def held(*args):
            gate.wait(10)
            return real(*args)
        with mock.patch.object(download, '_hash_file', held):
            first = self.spans(loc, 5000, xxh(data))[1]
            next(first)
            with open(path, 'r+b') as f:
                f.write(b'\0' if data[0] else b'\1')
            os.utime(path, ns=(1, 1))
            second = self.spans(loc, 5000, xxh(data))[1]
            next(second)
            self.assertEqual(2, len(download._checks))
            gate.set()
            self.assertRaises(exception.DataCorrupted, next, second)

    def test_abandoned_reading_stops_and_is_not_joined(self):
        data = os.urandom(5000)
        loc, _ = self.stored(data)
        started, gate = threading.Event(), threading.Event()
        real = download._hash_file

        def held(*args):
            started.set()
            gate.wait(10)
            return real(*args)
        with mock.patch.object(download, '_hash_file', held):
            first = self.spans(loc, 5000, xxh(data))[1]
            next(first)
            started.wait(10)
            check = next(iter(download._checks.values()))
            first.close()
            self.assertEqual(0, check.waiting)
            second = self.spans(loc, 5000, xxh(data))[1]
            next(second)
            gate.set()
            self.assertIsNone(check.job.wait())
            self.assertEqual((4000, 1000), next(second))
