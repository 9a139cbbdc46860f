"""The local image cache (glance-v1-reference §9).

Files, not HTTP: ``<image_cache_dir>/<image_id>`` holds a verified copy of
an image's data, ``incomplete/`` the copies being written, ``invalid/``
copies that failed verification and ``queue/`` empty files naming images
to prefetch. A driver keeps the bookkeeping (size, hits, access times).

A copy becomes a cache entry only after its md5 matched the image's
checksum, and a hit is read through once and checked again before it is
served, so a file damaged on disk is never sent to a client.
"""

import contextlib
import hashlib
import logging
import os
import re
import time

from oslo_config import cfg

from glance_v1.common import exception

LOG = logging.getLogger(__name__)

cache_opts = [
    cfg.StrOpt('image_cache_dir', default='$state_path/image-cache',
               help='Directory of the image cache (with incomplete/, '
                    'invalid/ and queue/ below it). Every API worker and '
                    'the glance-cache-* commands of a node must use the '
                    'same directory.'),
    cfg.StrOpt('image_cache_driver', default='sqlite',
               choices=[('sqlite', 'bookkeeping in an SQLite file in the '
                                   'cache directory'),
                        ('xattr', 'bookkeeping in extended attributes of '
                                  'the cached files (needs a filesystem '
                                  'mounted with user_xattr)')],
               help='Where the cache keeps sizes, hit counts and access '
                    'times.'),
    cfg.StrOpt('image_cache_sqlite_db', default='cache.db',
               help='File name, inside image_cache_dir, of the sqlite '
                    'driver\'s database.'),
    cfg.IntOpt('image_cache_max_size', default=10 * 1024 ** 3, min=0,
               help='Bytes of cached images glance-cache-pruner trims the '
                    'cache down to (least recently used first). The cache '
                    'may exceed it between pruner runs.'),
    cfg.IntOpt('image_cache_stall_time', default=86400, min=0,
               help='Seconds after which glance-cache-cleaner removes an '
                    'incomplete cache file that is no longer growing.'),
    cfg.IntOpt('image_cache_chunk_size', default=1024 * 1024, min=4096,
               help='Bytes read from a cached file at a time.'),
]

CONF = cfg.CONF
CONF.register_opts(cache_opts)

# Image ids name files here: nothing with a path separator or dot
# component may pass.
_SAFE_ID = re.compile(r'^[0-9A-Za-z{}-]{1,36}$')


def check_id(image_id):
    if not image_id or not _SAFE_ID.match(image_id):
        raise exception.Invalid('Invalid image id %r' % image_id)
    return image_id


def _remove(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _write_all(fd, chunk):
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view):]


class ImageCache:

    def __init__(self, conf=CONF):
        self.base = os.path.abspath(conf.image_cache_dir)
        self.chunk_size = conf.image_cache_chunk_size
        self.max_size = conf.image_cache_max_size
        self.stall_time = conf.image_cache_stall_time
        self.incomplete = os.path.join(self.base, 'incomplete')
        self.invalid = os.path.join(self.base, 'invalid')
        self.queue = os.path.join(self.base, 'queue')
        for d in (self.base, self.incomplete, self.invalid, self.queue):
            os.makedirs(d, exist_ok=True)
        if conf.image_cache_driver == 'xattr':
            from glance_v1.image_cache.drivers import xattr as driver
            self.driver = driver.Driver(self.base)
        else:
            from glance_v1.image_cache.drivers import sqlite as driver
            self.driver = driver.Driver(
                os.path.join(self.base, conf.image_cache_sqlite_db))

    def path(self, image_id):
        return os.path.join(self.base, check_id(image_id))

    # -- entries ----------------------------------------------------------

    def is_cached(self, image_id):
        return os.path.exists(self.path(image_id))

    def open_verified(self, image_id, size, checksum):
        """Chunks of a cached copy that has exactly ``size`` bytes with md5
        ``checksum``, or None (a damaged copy is moved to invalid/)."""
        path = self.path(image_id)
        try:
            f = open(path, 'rb')
        except FileNotFoundError:
            return None
        try:
            md5 = hashlib.md5(usedforsecurity=False)
            # Read from the open file: a concurrent replacement of the
            # path cannot slip other bytes in between check and send.
            actual = os.fstat(f.fileno()).st_size
            if actual == size:
                while True:
                    chunk = f.read(self.chunk_size)
                    if not chunk:
                        break
                    md5.update(chunk)
                    # Under eventlet this lets the worker's other requests
                    # run while a large file is checked.
                    time.sleep(0)
            if actual != size or md5.hexdigest() != checksum:
                LOG.error('Cached copy of image %s is corrupt (%d bytes, '
                          'expected %d); moving it to invalid/',
                          image_id, actual, size)
                f.close()
                self._invalidate(path, image_id)
                return None
            f.seek(0)
        except BaseException:
            f.close()
            raise
        self.driver.hit(image_id)
        return self._read(f)

    def _read(self, f):
        with f:
            while True:
                chunk = f.read(self.chunk_size)
                if not chunk:
                    return
                yield chunk

    def _invalidate(self, path, image_id):
        try:
            os.replace(path, os.path.join(self.invalid, image_id))
        except FileNotFoundError:
            pass
        self.driver.forget(image_id)

    def fill(self, image_id, chunks, size, checksum):
        """Pass ``chunks`` through unchanged while writing them to
        incomplete/; the copy becomes an entry only when exactly ``size``
        bytes with md5 ``checksum`` went through. Another fill of the same
        image in progress, or an existing entry, leaves ``chunks`` alone."""
        check_id(image_id)
        tmp = os.path.join(self.incomplete, image_id)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            LOG.debug('Image %s is already being cached', image_id)
            yield from chunks
            return
        except OSError as e:
            LOG.warning('Cannot cache image %s: %s', image_id, e)
            yield from chunks
            return
        yield from self._fill(image_id, chunks, size, checksum, fd, tmp)

    def _fill(self, image_id, chunks, size, checksum, fd, tmp):
        md5 = hashlib.md5(usedforsecurity=False)
        written = 0
        writing = True
        done = False
        try:
            for chunk in chunks:
                if writing:
                    try:
                        _write_all(fd, chunk)
                        md5.update(chunk)
                        written += len(chunk)
                    except OSError as e:
                        # A full cache disk must not fail the download.
                        LOG.warning('Stopped caching image %s: %s',
                                    image_id, e)
                        writing = False
                yield chunk
            done = writing
        finally:
            os.close(fd)
            close = getattr(chunks, 'close', None)
            if close is not None:
                close()
            if not done:
                _remove(tmp)
            elif written != size or md5.hexdigest() != checksum:
                LOG.error('Not caching image %s: got %d bytes with md5 %s, '
                          'expected %d bytes with md5 %s', image_id,
                          written, md5.hexdigest(), size, checksum)
                os.replace(tmp, os.path.join(self.invalid, image_id))
            else:
                os.replace(tmp, self.path(image_id))
                self.driver.record(image_id, size, checksum)
                _remove(os.path.join(self.queue, image_id))
                LOG.info('Cached image %s (%d bytes)', image_id, size)

    def delete_cached_image(self, image_id):
        removed = _remove(self.path(image_id))
        self.driver.forget(image_id)
        return removed

    def delete_all_cached_images(self):
        count = 0
        for entry in self.driver.entries():
            if self.delete_cached_image(entry['image_id']):
                count += 1
        return count

    def get_cached_images(self):
        """Entries as dicts: image_id, size, hits, last_accessed,
        last_modified (epoch seconds), checksum; only those whose file
        exists."""
        return [e for e in self.driver.entries()
                if os.path.exists(os.path.join(self.base, e['image_id']))]

    def get_cache_size(self):
        return sum(e['size'] for e in self.get_cached_images())

    # -- prefetch queue -----------------------------------------------------

    def queue_image(self, image_id):
        path = os.path.join(self.queue, check_id(image_id))
        if self.is_cached(image_id):
            return False
        with open(path, 'a'):
            pass
        return True

    def get_queued_images(self):
        """Queued image ids, oldest first."""
        names = []
        for name in os.listdir(self.queue):
            with contextlib.suppress(FileNotFoundError):
                names.append((os.stat(os.path.join(self.queue,
                                                   name)).st_mtime, name))
        return [n for _, n in sorted(names)]

    def delete_queued_image(self, image_id):
        return _remove(os.path.join(self.queue, check_id(image_id)))

    def delete_all_queued_images(self):
        return sum(1 for n in os.listdir(self.queue)
                   if _remove(os.path.join(self.queue, n)))

    # -- maintenance -------------------------------------------------------

    def prune(self):
        """Delete least recently used entries until the cache holds at
        most image_cache_max_size bytes; returns (count, bytes) freed."""
        entries = sorted(self.get_cached_images(),
                         key=lambda e: (e['last_accessed'], e['image_id']))
        total = sum(e['size'] for e in entries)
        count = freed = 0
        for entry in entries:
            if total <= self.max_size:
                break
            if self.delete_cached_image(entry['image_id']):
                LOG.info('Pruned image %s (%d bytes) from the cache',
                         entry['image_id'], entry['size'])
                count += 1
                freed += entry['size']
            total -= entry['size']
        return count, freed

    def clean(self, stall_time=None):
        """Remove invalid files and incomplete ones untouched for
        ``stall_time`` seconds; returns the number removed."""
        stall_time = self.stall_time if stall_time is None else stall_time
        cutoff = time.time() - stall_time
        count = 0
        for name in os.listdir(self.invalid):
            count += _remove(os.path.join(self.invalid, name))
        for name in os.listdir(self.incomplete):
            path = os.path.join(self.incomplete, name)
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_mtime < cutoff:
                    LOG.info('Removing stalled incomplete cache file %s',
                             name)
                    count += _remove(path)
        # Bookkeeping of files removed behind the cache's back.
        for entry in self.driver.entries():
            if not os.path.exists(os.path.join(self.base,
                                               entry['image_id'])):
                self.driver.forget(entry['image_id'])
        return count
