"""The filesystem store: staging, verification, durability, containment."""

import errno
import os
from unittest import mock

import xxhash

from glance_v1.common import exception
from glance_v1.store import filesystem
from glance_v1.store import location
from tests import base

IMAGE_ID = '6f1e6a5e-1c1a-4b8e-9f10-5a3a2d9b1c11'


class TestFilesystemStore(base.TestCase):

    def setUp(self):
        super().setUp()
        self.datadir = os.path.join(self.tmp, 'images')
        self.conf.config(filesystem_store_datadir=self.datadir,
                         filesystem_store_chunk_size=4096,
                         group='glance_store')
        self.store = filesystem.FilesystemStore(self.conf.conf)

    def files(self):
        return sorted(os.path.relpath(os.path.join(r, f), self.datadir)
                      for r, _, fs in os.walk(self.datadir) for f in fs)

    def test_add_get_delete(self):
        seen = []
        loc, size = self.store.add(IMAGE_ID, [b'abc', b'defg'], 7,
                                   seen.append)
        self.assertEqual([7], seen)
        self.assertEqual(7, size)
        self.assertEqual(location.file_uri(
            os.path.join(os.path.realpath(self.datadir), IMAGE_ID)), loc)
        self.assertEqual([IMAGE_ID], self.files())
        chunks, total = self.store.get(loc)
        self.assertEqual(b'abcdefg', b''.join(chunks))
        self.assertEqual(7, total)
        self.assertEqual(7, self.store.get_size(loc))
        self.store.delete(loc)
        self.assertEqual([], self.files())
        self.assertRaises(exception.NotFound, self.store.delete, loc)
        self.assertRaises(exception.NotFound, self.store.get, loc)

    def test_ranges_and_bounded_chunks(self):
        data = os.urandom(10000)
        loc, _ = self.store.add(IMAGE_ID, [data], None, lambda n: None)
        chunks, _ = self.store.get(loc)
        chunks = list(chunks)
        self.assertEqual(data, b''.join(chunks))
        self.assertLessEqual(max(len(c) for c in chunks), 4096)
        chunks, _ = self.store.get(loc, offset=5000, length=100)
        self.assertEqual(data[5000:5100], b''.join(chunks))

    def test_verify_failure_leaves_nothing(self):
        def verify(written):
            raise exception.Invalid('mismatch')
        self.assertRaises(exception.Invalid, self.store.add, IMAGE_ID,
                          [b'data'], 4, verify)
        self.assertEqual([], self.files())

    def test_broken_input_leaves_nothing(self):
        def chunks():
            yield b'partial'
            raise exception.ClientDisconnected()
        self.assertRaises(exception.ClientDisconnected, self.store.add,
                          IMAGE_ID, chunks(), None, lambda n: None)
        self.assertEqual([], self.files())

    def test_disk_full_is_storage_full(self):
        with mock.patch.object(filesystem.os, 'write',
                               side_effect=OSError(errno.ENOSPC, 'full')):
            error = self.assertRaises(exception.StorageFull, self.store.add,
                                      IMAGE_ID, [b'x'], 1, lambda n: None)
        self.assertEqual(413, error.code)
        self.assertEqual([], self.files())

    def test_permission_denied_is_503(self):
        with mock.patch.object(filesystem.os, 'write',
                               side_effect=OSError(errno.EACCES, 'no')):
            error = self.assertRaises(exception.StorageWriteDenied,
                                      self.store.add, IMAGE_ID, [b'x'], 1,
                                      lambda n: None)
        self.assertEqual(503, error.code)

    def test_data_is_fsynced_before_it_becomes_visible(self):
        calls = []
        real_fsync = os.fsync
        real_link = os.link

        def fsync(fd):
            calls.append('fsync')
            real_fsync(fd)

        def link(src, dst):
            calls.append('link')
            real_link(src, dst)
        with mock.patch.object(filesystem.os, 'fsync', fsync), \
                mock.patch.object(filesystem.os, 'link', link):
            self.store.add(IMAGE_ID, [b'x'], 1, lambda n: None)
        self.assertEqual(['fsync', 'link', 'fsync'], calls)

    def test_duplicate(self):
        self.store.add(IMAGE_ID, [b'x'], 1, lambda n: None)
        self.assertRaises(exception.Duplicate, self.store.add, IMAGE_ID,
                          [b'y'], 1, lambda n: None)
        self.assertEqual([IMAGE_ID], self.files())

    def test_ids_cannot_escape(self):
        for bad in ('../x', 'a/b', '', '..', 'x' * 37):
            self.assertRaises(exception.Invalid, self.store.add, bad,
                              [b'x'], 1, lambda n: None)
        outside = location.file_uri('/etc/passwd')
        self.assertRaises(exception.Forbidden, self.store.get, outside)
        self.assertRaises(exception.Forbidden, self.store.delete, outside)
        sneaky = location.file_uri(os.path.join(self.datadir, '..', 'x'))
        self.assertRaises(exception.Forbidden, self.store.get, sneaky)

    def test_checksum_is_kept_with_the_file(self):
        data = os.urandom(10000)
        loc, _ = self.store.add(IMAGE_ID, [data[:5000], data[5000:]], None,
                                lambda n: None)
        chunks, _ = self.store.get(loc, offset=100, length=200)
        self.addCleanup(chunks.close)
        # The whole file's checksum, whatever span is asked for.
        self.assertEqual(('xxh3_128', xxhash.xxh3_128(data).hexdigest()),
                         chunks.checksum)
        self.assertEqual((100, 200), (chunks.offset, chunks.length))
        self.assertEqual(os.path.join(self.datadir, IMAGE_ID),
                         os.readlink('/proc/self/fd/%d' % chunks.fileno()))

    def test_no_checksum_without_xattrs(self):
        with mock.patch.object(filesystem.os, 'setxattr',
                               side_effect=OSError(errno.ENOTSUP, 'no')):
            loc, _ = self.store.add(IMAGE_ID, [b'abc'], 3, lambda n: None)
        chunks, _ = self.store.get(loc)
        self.addCleanup(chunks.close)
        self.assertIsNone(chunks.checksum)
        self.assertEqual(b'abc', b''.join(chunks))

    def test_writeback_starts_in_steps(self):
        self.conf.config(filesystem_store_writeback_bytes=8192,
                         filesystem_store_direct_io=False,
                         group='glance_store')
        store = filesystem.FilesystemStore(self.conf.conf)
        with mock.patch.object(filesystem, '_sync_file_range') as sfr:
            store.add(IMAGE_ID, [b'x' * 4096] * 5, None, lambda n: None)
        self.assertEqual([(0, 8192, 2), (8192, 8192, 2)],
                         [c.args[1:] for c in sfr.call_args_list])
        self.conf.config(filesystem_store_writeback_bytes=0,
                         group='glance_store')
        store = filesystem.FilesystemStore(self.conf.conf)
        with mock.patch.object(filesystem, '_sync_file_range') as sfr:
            store.add(IMAGE_ID.replace('6', '7'), [b'x' * 4096] * 5, None,
                      lambda n: None)
        self.assertFalse(sfr.called)

    def test_direct_io_writes_every_byte(self):
        # Sizes around the block and buffer boundaries, in odd chunks.
        for n, size in enumerate((1, 4095, 4096, 4097, 8192 + 100,
                                  3 * 4096, 5 * 4096 + 7)):
            data = os.urandom(size)
            image_id = IMAGE_ID[:-2] + '%02d' % n
            with mock.patch.object(filesystem, '_DirectWriter',
                                   wraps=filesystem._DirectWriter) as dw:
                loc, written = self.store.add(
                    image_id, [data[i:i + 1000]
                               for i in range(0, size, 1000)],
                    size, lambda n: None)
            self.assertTrue(dw.called)
            self.assertEqual(size, written)
            chunks, _ = self.store.get(loc)
            self.addCleanup(chunks.close)
            self.assertEqual(data, b''.join(chunks))
            self.assertEqual(('xxh3_128', xxhash.xxh3_128(data).hexdigest()),
                             chunks.checksum)

    def test_without_direct_io_support_the_page_cache_is_used(self):
        real_open = os.open

        def no_direct(path, flags, mode=0o777):
            if flags & os.O_DIRECT:
                # As Linux does: the file is created before O_DIRECT is
                # refused.
                os.close(real_open(path, flags & ~os.O_DIRECT, mode))
                raise OSError(errno.EINVAL, 'Invalid argument')
            return real_open(path, flags, mode)
        with mock.patch.object(filesystem.os, 'open', no_direct):
            loc, _ = self.store.add(IMAGE_ID, [b'abc', b'de'], 5,
                                    lambda n: None)
        chunks, _ = self.store.get(loc)
        self.addCleanup(chunks.close)
        self.assertEqual(b'abcde', b''.join(chunks))
