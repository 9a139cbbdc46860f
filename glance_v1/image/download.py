"""An image's bytes on their way to one client.

A download is checked as it goes: its bytes must add up to the expected
length and, for a full download, hash to the value recorded when they were
stored -- the store's own checksum when it keeps one (fast), else the
image's secure hash. The last chunk is held back until both are known, so
on a failure the response ends short of its Content-Length and damaged
data is never received as complete. image.send tells how many bytes went
out.

Iterating a Download gives its chunks. When the bytes are a span of a local
file, a server able to send files itself asks ``fileno()`` and ``spans()``
instead: the kernel copies the file to the socket (sendfile) while a native
thread reads it once more for the hash. Those threads are a small pool
(``download_verify_threads``), not one per download, and downloads of the
same file at the same time share one reading of it: a thousand clients
fetching a popular image cost the hash of a few copies, not a thousand
threads, buffers and hashes.
"""

import hashlib
import logging
import mmap
import os

from oslo_config import cfg
import xxhash

from glance_v1.common import context
from glance_v1.common import exception
from glance_v1.common import threads
from glance_v1.image import notifier
from glance_v1.image import status
from glance_v1.registry import api as registry_api

LOG = logging.getLogger(__name__)

verify_opts = [
    cfg.IntOpt('download_verify_threads', default=2, min=1,
               help='Native threads that read image files to check their '
                    'hash while the kernel sends them (sendfile), shared '
                    'by all downloads of one process; downloads of the '
                    'same file at the same time share one reading.'),
]

CONF = cfg.CONF
CONF.register_opts(verify_opts)

# Hashes fast enough to run inline; the others get a thread of their own.
_FAST = {'xxh3_128': xxhash.xxh3_128}
# A verifying thread's reads: large enough that a file not in the page
# cache is read from the disk at its sequential rate.
_VERIFY_READ = 4 * 1024 * 1024
# Sent only once the hash of everything is known.
_TAIL = 1024 * 1024

_pool = None
# Hashes of files under way, by what identifies the bytes read: several
# downloads of the same file wait for the same one.
_checks = {}
# Guards _checks and the waiting counts: request threads are native under
# mod_wsgi and uWSGI, and a pool thread forgets its reading when done.
_checks_lock = threads.native('threading').Lock()


def _hasher(algo):
    fast = _FAST.get(algo)
    return fast() if fast else hashlib.new(algo)


def can_check(algo):
    return algo in _FAST or algo in hashlib.algorithms_guaranteed


def _hash_file(fd, offset, length, algo, buf, check=None):
    """Hash ``length`` bytes of ``fd`` from ``offset`` through ``buf``;
    None once no download waits for ``check`` any more."""
    hasher = _hasher(algo)
    while length > 0:
        if check is not None and not check.waiting:
            return None
        n = os.preadv(fd, [buf[:min(len(buf), length)]], offset)
        if not n:
            break
        hasher.update(buf[:n])
        offset += n
        length -= n
    return hasher.hexdigest()


def _deleted(image_id):
    """Whether the registry says ``image_id`` was deleted (False when it
    cannot tell)."""
    try:
        image = registry_api.get_registry().image_get(
            context.admin_context(), image_id)
    except exception.NotFound:
        return True
    except Exception as e:
        LOG.warning('Cannot tell whether image %s was deleted: %s',
                    image_id, e)
        return False
    return image['status'] in (status.DELETED, status.PENDING_DELETE)


class _Check:
    """One reading of a file for its hash, in a pool thread, awaited by
    the downloads counted in ``waiting`` (the first one included).
    Once none waits, it stops and is never joined again."""

    def __init__(self, key, fd, offset, length, algo):
        self.key = key
        self.waiting = 1
        # Known before its thread can end and forget it (else a reading
        # done at once stayed in _checks for good).
        _checks[key] = self
        self.job = _verify_pool().submit(self._run, fd, offset, length,
                                         algo)

    def leave(self):
        """One download waits no more."""
        with _checks_lock:
            self.waiting -= 1

    def _run(self, fd, offset, length, algo):
        try:
            # Its own descriptor (the downloads' may close first): its
            # own readahead, which this sequential reading may enlarge.
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_SEQUENTIAL)
            # Mapped, not from malloc: unmapped whole once dropped.
            buf = mmap.mmap(-1, min(_VERIFY_READ, length))
            return _hash_file(fd, offset, length, algo, memoryview(buf),
                              self)
        finally:
            os.close(fd)
            # Later downloads start a reading of their own.
            with _checks_lock:
                if _checks.get(self.key) is self:
                    del _checks[self.key]


def _verify_pool():
    global _pool
    if _pool is None:
        _pool = threads.Pool(CONF.download_verify_threads, 'verify')
    return _pool


def _shared_check(fd, offset, length, algo):
    """The _Check of ``length`` bytes of ``fd`` from ``offset`` under way,
    or a new one. Image files are never rewritten in place; a file that
    was (same inode, new times) is read anew."""
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
           st.st_ctime_ns, offset, length, algo)
    with _checks_lock:
        check = _checks.get(key)
        if check is not None and check.waiting and not check.job.done():
            check.waiting += 1
            return check
        try:
            own = os.open('/proc/self/fd/%d' % fd, os.O_RDONLY)
        except OSError:
            own = os.dup(fd)
        return _Check(key, own, offset, length, algo)


class Download:
    """``chunks`` (from a store or the cache) of ``image``, which must
    come to ``expected`` bytes; ``check`` is ``(algo, hexdigest)`` they
    must hash to, or None. ``ctx`` at ``destination_ip`` is who receives
    them, for image.send."""

    def __init__(self, chunks, image, expected, ctx, destination_ip,
                 check=None):
        self.chunks = chunks
        self.image = image
        self.expected = expected
        self.check = check
        self.ctx = ctx
        self.destination_ip = destination_ip
        # Bytes known to have gone out (servers sending the file
        # themselves add theirs).
        self.sent = 0
        self._closed = False

    # -- as chunks ----------------------------------------------------------

    def __iter__(self):
        hasher = feeder = None
        if self.check:
            hasher = _hasher(self.check[0])
            feeder = (None if self.check[0] in _FAST
                      else threads.Feeder(hasher.update))
        taken = 0
        held = None
        try:
            for chunk in self.chunks:
                if taken + len(chunk) > self.expected:
                    chunk = chunk[:self.expected - taken]
                taken += len(chunk)
                if feeder:
                    feeder.feed(chunk)
                elif hasher:
                    hasher.update(chunk)
                if held:
                    yield held
                    self.sent += len(held)
                held = chunk
                if taken >= self.expected:
                    break
        finally:
            if feeder:
                feeder.finish()
        self._check_length(taken)
        if hasher:
            self._check_digest(hasher.hexdigest())
        if held:
            yield held
            self.sent += len(held)

    # -- as spans of a file -------------------------------------------------

    def fileno(self):
        """The local file holding the bytes, or None."""
        fileno = getattr(self.chunks, 'fileno', None)
        return fileno() if fileno else None

    def spans(self):
        """``(offset, count)`` spans of ``fileno()`` to send in order;
        the checks run between them and raise to cut the response."""
        fd = self.fileno()
        offset = self.chunks.offset
        length = self.expected
        self._check_length(min(length, os.fstat(fd).st_size - offset))
        if not self.check or not length:
            yield offset, length
            return
        tail = min(length, _TAIL)
        if length == tail:
            # Small enough to hash on the spot (a thread would cost more).
            buf = memoryview(bytearray(length))
            self._check_digest(_hash_file(fd, offset, length, self.check[0],
                                          buf))
        else:
            check = _shared_check(fd, offset, length, self.check[0])
            try:
                yield offset, length - tail
                self._check_digest(check.job.wait())
            finally:
                check.leave()
        yield offset + length - tail, tail

    # -- both ---------------------------------------------------------------

    def _check_length(self, length):
        if length < self.expected:
            if _deleted(self.image['id']):
                # Its data went with it: the end of the download, not
                # damage to report.
                LOG.info('Download of image %s ended at %d of %d bytes: '
                         'the image was deleted meanwhile',
                         self.image['id'], length, self.expected)
                raise exception.DataDeleted(image_id=self.image['id'])
            LOG.error('Corrupt image download: %s has %d of %d bytes',
                      self.image['id'], length, self.expected)
            raise exception.DataCorrupted(image_id=self.image['id'])

    def _check_digest(self, digest):
        if digest != self.check[1]:
            LOG.error('Corrupt image download: the data of %s does not '
                      'match its recorded %s', self.image['id'],
                      self.check[0])
            raise exception.DataCorrupted(image_id=self.image['id'])

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self.chunks, 'close', None)
            if close is not None:
                close()
        finally:
            notifier.sent(self.ctx, self.image, self.sent, self.expected,
                          self.destination_ip)
