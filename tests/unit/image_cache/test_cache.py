"""The image cache's files and bookkeeping (glance-v1-reference §9)."""

import errno
import hashlib
import os
import time
import uuid

from glance_v1.common import exception
from glance_v1 import image_cache
from tests import base

DATA = [os.urandom(5000), os.urandom(7000), os.urandom(3)]
BLOB = b''.join(DATA)
MD5 = hashlib.md5(BLOB).hexdigest()
SIZE = len(BLOB)


def _id():
    return str(uuid.uuid4())


class CacheTestBase(base.TestCase):
    driver = 'sqlite'

    def setUp(self):
        super().setUp()
        self.conf.config(image_cache_driver=self.driver,
                         image_cache_chunk_size=4096)
        self.check_driver()
        self.cache = image_cache.ImageCache()

    def check_driver(self):
        pass

    def fill(self, image_id, chunks=None, size=SIZE, checksum=MD5):
        return b''.join(self.cache.fill(image_id, iter(chunks or DATA),
                                        size, checksum))

    def listdir(self, sub):
        return os.listdir(os.path.join(self.cache.base, sub))


class TestCache(CacheTestBase):

    def test_layout(self):
        for sub in ('incomplete', 'invalid', 'queue'):
            self.assertTrue(os.path.isdir(os.path.join(self.cache.base,
                                                       sub)))
        self.assertEqual(os.path.join(self.tmp, 'image-cache'),
                         self.cache.base)

    def test_fill_passes_data_through_and_becomes_entry(self):
        image_id = _id()
        self.assertEqual(BLOB, self.fill(image_id))
        self.assertTrue(self.cache.is_cached(image_id))
        [entry] = self.cache.get_cached_images()
        self.assertEqual(image_id, entry['image_id'])
        self.assertEqual(len(BLOB), entry['size'])
        self.assertEqual(0, entry['hits'])
        self.assertEqual([], self.listdir('incomplete'))
        chunks = self.cache.open_verified(image_id, len(BLOB), MD5)
        self.assertEqual(BLOB, b''.join(chunks))
        self.assertEqual(1, self.cache.get_cached_images()[0]['hits'])

    def test_checksum_mismatch_never_becomes_entry(self):
        image_id = _id()
        # The client still gets the bytes (the API's own checks govern
        # that); the cache keeps nothing servable.
        self.assertEqual(BLOB, self.fill(image_id, checksum='0' * 32))
        self.assertFalse(self.cache.is_cached(image_id))
        self.assertEqual([], self.cache.get_cached_images())
        self.assertEqual([image_id], self.listdir('invalid'))
        self.assertEqual([], self.listdir('incomplete'))

    def test_short_data_never_becomes_entry(self):
        image_id = _id()
        self.fill(image_id, size=len(BLOB) + 1)
        self.assertFalse(self.cache.is_cached(image_id))

    def test_interrupted_fill_leaves_nothing(self):
        image_id = _id()
        closed = []

        def source():
            try:
                yield from DATA
            finally:
                closed.append(True)

        it = self.cache.fill(image_id, source(), len(BLOB), MD5)
        next(it)
        self.assertEqual([image_id], self.listdir('incomplete'))
        it.close()  # the client went away
        self.assertEqual([True], closed)
        self.assertFalse(self.cache.is_cached(image_id))
        self.assertEqual([], self.listdir('incomplete'))

    def test_failing_source_leaves_nothing(self):
        image_id = _id()

        def source():
            yield DATA[0]
            raise OSError('store went away')

        self.assertRaises(OSError, self.fill, image_id, source())
        self.assertFalse(self.cache.is_cached(image_id))
        self.assertEqual([], self.listdir('incomplete'))

    def test_concurrent_fill_passes_through(self):
        image_id = _id()
        first = self.cache.fill(image_id, iter(DATA), len(BLOB), MD5)
        next(first)
        # A second download of the same image while the first fills.
        self.assertEqual(BLOB, self.fill(image_id))
        self.assertFalse(self.cache.is_cached(image_id))
        self.assertEqual(BLOB[len(DATA[0]):], b''.join(first))
        self.assertTrue(self.cache.is_cached(image_id))

    def test_corrupted_file_is_never_served(self):
        image_id = _id()
        self.fill(image_id)
        path = self.cache.path(image_id)
        with open(path, 'r+b') as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        self.assertIsNone(self.cache.open_verified(image_id, len(BLOB),
                                                   MD5))
        self.assertFalse(self.cache.is_cached(image_id))
        self.assertEqual([image_id], self.listdir('invalid'))
        self.assertEqual([], self.cache.get_cached_images())

    def test_truncated_file_is_never_served(self):
        image_id = _id()
        self.fill(image_id)
        os.truncate(self.cache.path(image_id), 10)
        self.assertIsNone(self.cache.open_verified(image_id, len(BLOB),
                                                   MD5))
        self.assertFalse(self.cache.is_cached(image_id))

    def test_bad_ids_name_no_file(self):
        for bad in ('../etc', 'a/b', '', '.', 'x' * 37):
            self.assertRaises(exception.Invalid, self.cache.path, bad)
            self.assertRaises(exception.Invalid, self.cache.queue_image,
                              bad)

    def test_delete(self):
        a, b = _id(), _id()
        self.fill(a)
        self.fill(b)
        self.assertTrue(self.cache.delete_cached_image(a))
        self.assertFalse(self.cache.delete_cached_image(a))
        self.assertEqual([b], [e['image_id']
                               for e in self.cache.get_cached_images()])
        self.assertEqual(1, self.cache.delete_all_cached_images())
        self.assertEqual([], self.cache.get_cached_images())
        self.assertEqual(0, self.cache.get_cache_size())

    def test_queue(self):
        a, b = _id(), _id()
        self.assertTrue(self.cache.queue_image(a))
        time.sleep(0.01)
        self.cache.queue_image(b)
        self.cache.queue_image(a)
        self.assertEqual([a, b], self.cache.get_queued_images())
        self.assertTrue(self.cache.delete_queued_image(a))
        self.assertEqual([b], self.cache.get_queued_images())
        # Caching an image takes it off the queue; a cached image is not
        # queued again.
        self.fill(b)
        self.assertEqual([], self.cache.get_queued_images())
        self.assertFalse(self.cache.queue_image(b))
        self.cache.queue_image(a)
        self.assertEqual(1, self.cache.delete_all_queued_images())

    def test_prune_least_recently_used_first(self):
        self.conf.config(image_cache_max_size=2 * len(BLOB))
        cache = image_cache.ImageCache()
        a, b, c = _id(), _id(), _id()
        for image_id in (a, b, c):
            self.fill(image_id)
            time.sleep(0.01)
        # A hit makes a the most recently used; b is now the oldest.
        b''.join(cache.open_verified(a, len(BLOB), MD5))
        self.assertEqual((1, len(BLOB)), cache.prune())
        self.assertEqual(sorted([a, c]), sorted(
            e['image_id'] for e in cache.get_cached_images()))
        self.assertFalse(os.path.exists(cache.path(b)))
        self.assertEqual((0, 0), cache.prune())
        self.conf.config(image_cache_max_size=0)
        self.assertEqual((2, 2 * len(BLOB)),
                         image_cache.ImageCache().prune())

    def test_clean(self):
        stalled, fresh = _id(), _id()
        for name in (stalled, fresh):
            with open(os.path.join(self.cache.incomplete, name), 'w'):
                pass
        old = time.time() - 1000
        os.utime(os.path.join(self.cache.incomplete, stalled), (old, old))
        self.fill(_id(), checksum='0' * 32)  # -> invalid/
        self.assertEqual(2, self.cache.clean(stall_time=500))
        self.assertEqual([fresh], self.listdir('incomplete'))
        self.assertEqual([], self.listdir('invalid'))

    def test_clean_forgets_entries_whose_file_is_gone(self):
        image_id = _id()
        self.fill(image_id)
        os.unlink(self.cache.path(image_id))
        self.cache.clean()
        self.assertEqual([], self.cache.driver.entries())

    def test_full_disk_does_not_fail_the_download(self):
        image_id = _id()
        real_write = os.write

        def full(fd, data):
            raise OSError(errno.ENOSPC, 'No space left on device')

        self.patch(os, 'write', full)
        try:
            self.assertEqual(BLOB, self.fill(image_id))
        finally:
            os.write = real_write
        self.assertFalse(self.cache.is_cached(image_id))
        self.assertEqual([], self.listdir('incomplete'))


class TestXattrCache(CacheTestBase):
    """The same behaviour with the xattr driver, where the filesystem of
    the temporary directory supports user extended attributes."""

    driver = 'xattr'

    def check_driver(self):
        probe = os.path.join(self.tmp, 'probe')
        with open(probe, 'w'):
            pass
        try:
            os.setxattr(probe, 'user.probe', b'1')
        except OSError as e:
            self.skipTest('no user extended attributes in %s: %s'
                          % (self.tmp, e))

    test_fill_passes_data_through_and_becomes_entry = \
        TestCache.test_fill_passes_data_through_and_becomes_entry
    test_corrupted_file_is_never_served = \
        TestCache.test_corrupted_file_is_never_served
    test_prune_least_recently_used_first = \
        TestCache.test_prune_least_recently_used_first
    test_delete = TestCache.test_delete
