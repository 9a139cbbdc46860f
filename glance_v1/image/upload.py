"""The upload pipeline: request body -> hashes -> format inspection ->
store -> verify -> active.

Every way an upload can fail ends in one place (``_fail``), which leaves
the image ``killed`` and the store without a byte of it.
"""

import hashlib
import logging
import mmap

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1.common import threads
from glance_v1.image import format_inspector
from glance_v1.image import notifier
from glance_v1.image import recovery
from glance_v1.image import status
from glance_v1 import store as store_api
from glance_v1.store import location as store_location

LOG = logging.getLogger(__name__)

upload_opts = [
    cfg.StrOpt('hashing_algorithm', default='sha256',
               choices=sorted(hashlib.algorithms_guaranteed - {
                   'shake_128', 'shake_256'}),
               help='Secure hash computed over image data besides md5, '
                    'exposed as os_hash_algo/os_hash_value.'),
    cfg.IntOpt('upload_chunk_size', default=1024 * 1024, min=4096,
               help='Bytes read from a client at a time during upload.'),
]

CONF = cfg.CONF
CONF.register_opts(upload_opts)


class Body:
    """A request body: a file-like ``stream``, the declared ``length``
    (None for a chunked body) and its media type.

    ``direct``, when given, is called (once, when the data is wanted) for
    a reader of the same body that native threads may use: None, or an
    object with ``readinto(view)`` (fills the view, fewer bytes only at
    the end), ``cancel()`` (from any thread) and ``finish()`` (from the
    caller's thread, once no native thread reads any more).
    """

    def __init__(self, stream, length, content_type, direct=None):
        self.stream = stream
        self.length = length
        self.content_type = content_type
        self.direct = direct


def _chunks(body, limit, limit_error):
    """Read ``body`` in bounded chunks; raise ``limit_error`` past
    ``limit`` bytes and ClientDisconnected on a short or broken body."""
    chunk_size = CONF.upload_chunk_size
    remaining = body.length
    total = 0
    while remaining is None or remaining > 0:
        want = chunk_size if remaining is None else min(chunk_size,
                                                        remaining)
        try:
            chunk = body.stream.read(want)
        except (OSError, ValueError) as e:
            raise exception.ClientDisconnected() from e
        if not chunk:
            if remaining:
                raise exception.ClientDisconnected()
            return
        total += len(chunk)
        if total > limit:
            raise limit_error()
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


class _Hashing:
    """Pass chunks through while computing md5 and the secure hash.

    Each hash runs in a native thread of its own while the store writes,
    so an upload moves at the pace of the slowest of the three rather
    than of their sum. The digests are ready once the chunks are
    exhausted.
    """

    def __init__(self, chunks):
        self.chunks = chunks
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.secure = hashlib.new(CONF.hashing_algorithm)

    def __iter__(self):
        feeders = [threads.Feeder(self.md5.update),
                   threads.Feeder(self.secure.update)]
        try:
            for chunk in self.chunks:
                for feeder in feeders:
                    feeder.feed(chunk)
                yield chunk
        finally:
            for feeder in feeders:
                feeder.finish()

    def close(self):
        pass


class _Ring:
    """The body received, hashed and handed to the store by native
    threads, in a ring of reused page-aligned buffers.

    One thread fills a buffer from the body's direct reader and computes
    the secure hash over it, a second computes md5, and the store gets
    the buffer in turn: three stages at once, with no copy, no bytes
    object per chunk and the event loop free for other requests. An
    upload then runs within a few percent of the same work done without
    HTTP (tools/bench.py's floor rows). A store that ``borrows_chunks``
    gets views of the buffers (each is reused once it asks for the
    next); others get copies.
    """

    DEPTH = 8

    def __init__(self, reader, limit, limit_error, lend):
        self.reader = reader
        self.limit = limit
        self.limit_error = limit_error
        self.lend = lend
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.secure = hashlib.new(CONF.hashing_algorithm)
        size = -(-CONF.upload_chunk_size // mmap.PAGESIZE) * mmap.PAGESIZE
        self.free = threads.native_queue()
        for _ in range(self.DEPTH):
            self.free.put(mmap.mmap(-1, size))
        self.hashed = threads.native_queue()
        self.ready = threads.native_queue()
        self._workers = []
        self._closed = False

    def _receive(self):
        total = 0
        try:
            while True:
                buf = self.free.get()
                if buf is None:
                    raise exception.ClientDisconnected()
                view = memoryview(buf)
                n = self.reader.readinto(view)
                total += n
                if total > self.limit:
                    raise self.limit_error()
                if n:
                    self.secure.update(view[:n])
                    self.hashed.put((buf, n))
                if n < len(view):
                    break
        except BaseException as e:
            self.hashed.put(e)
        else:
            self.hashed.put(None)

    def _hash_md5(self):
        while True:
            item = self.hashed.get()
            if type(item) is tuple:
                buf, n = item
                self.md5.update(memoryview(buf)[:n])
            self.ready.put(item)
            if type(item) is not tuple:
                return

    def __iter__(self):
        self._workers = [threads.Started(self._receive),
                         threads.Started(self._hash_md5)]
        try:
            while True:
                item = threads.get(self.ready)
                if item is None:
                    return
                if type(item) is not tuple:
                    raise item
                buf, n = item
                view = memoryview(buf)[:n]
                yield view if self.lend else bytes(view)
                self.free.put(buf)
        finally:
            self.close()

    def close(self):
        """Stop reading: once this returns, no thread reads the body or
        holds a buffer any more (also when the store never iterated, or
        gave up midway)."""
        if self._closed:
            return
        self._closed = True
        self.reader.cancel()
        self.free.put(None)
        for worker in self._workers:
            try:
                worker.wait()
            except BaseException:
                pass
        # The workers refer back to this ring: no cycle left to hold the
        # buffers until the garbage collector runs.
        self._workers = []
        self.reader.finish()


def _size_cap_error():
    return exception.LimitExceeded(
        'Denying attempt to upload image larger than %d bytes.'
        % CONF.image_size_cap)


def upload(ctx, registry, image, body, store_name=None, limit=None,
           limit_error=None):
    """Stream ``body`` into the default store and activate ``image``.

    ``limit``/``limit_error`` let a quota tighten the size cap.
    Returns the active image.
    """
    image_id = image['id']
    saving = dict(recovery.Lease.start_values(), status=status.SAVING)
    notifier.info(ctx, 'image.prepare', registry.image_update(
        ctx, image_id, saving, from_state=status.QUEUED))
    cap = CONF.image_size_cap
    if limit is None or limit >= cap:
        limit, limit_error = cap, _size_cap_error
    declared_size = image.get('size') or None
    declared_checksum = image.get('checksum')
    # Sees every chunk on its way to the store; refuses unsafe content
    # there or in verify(), so the store removes what it wrote.
    inspector = format_inspector.Inspector(image.get('disk_format'))

    def verify(written):
        if declared_size is not None and declared_size != written:
            raise exception.Invalid(
                "Supplied size (%d) and size generated from uploaded image "
                "(%d) did not match. Setting image status to 'killed'."
                % (declared_size, written))
        md5 = hashing.md5.hexdigest()
        if declared_checksum and declared_checksum != md5:
            raise exception.Invalid(
                "Supplied checksum (%s) and checksum generated from uploaded "
                "image (%s) did not match. Setting image status to 'killed'."
                % (declared_checksum, md5))
        inspector.finish()
        return md5

    lease = None
    try:
        store = (store_api.get_store(store_name) if store_name
                 else store_api.default_store())
        reader = body.direct() if body.direct else None
        if reader is not None:
            hashing = _Ring(reader, limit, limit_error, store.borrows_chunks)
        else:
            hashing = _Hashing(_chunks(body, limit, limit_error))
        # A deletion seen at a lease renewal stops the upload there; a
        # read waiting for the client is cut short too.
        lease = recovery.Lease(ctx, registry, image_id,
                               on_lost=reader.cancel if reader else None)
        # The store may use a known length to choose how to write (Swift:
        # one object or segments); verify() still checks the declared size.
        try:
            with lease:
                location, size = store.add(
                    image_id, lease.guard(inspector.watch(hashing)),
                    declared_size or body.length, verify)
        finally:
            hashing.close()
    except Exception as e:
        if (lease is not None and lease.lost) or \
                _deleted(ctx, registry, image_id):
            # The store removed what it wrote; the image is not ours to
            # kill any more. (A deletion may also be what broke the
            # upload: it removes what the upload staged.)
            error = recovery.gone_error(image_id)
            notifier.error(ctx, 'image.upload', str(error))
            raise error from e
        if isinstance(e, exception.GlanceException):
            kill(ctx, registry, image_id)
            notifier.error(ctx, 'image.upload', str(e))
            raise e
        LOG.exception('Failed to upload image %s', image_id)
        kill(ctx, registry, image_id)
        message = 'Failed to upload image %s' % image_id
        notifier.error(ctx, 'image.upload', message)
        raise exception.GlanceException(message)

    values = {'status': status.ACTIVE, 'size': size,
              'checksum': hashing.md5.hexdigest(),
              'os_hash_algo': CONF.hashing_algorithm,
              'os_hash_value': hashing.secure.hexdigest(),
              'virtual_size': inspector.virtual_size,
              'location': location}
    try:
        active = registry.image_update(ctx, image_id, values,
                                       from_state=status.SAVING)
    except (exception.StateConflict, exception.NotFound):
        _delete_data(store, location)
        raise recovery.gone_error(image_id)
    except exception.NotAuthenticated:
        _delete_data(store, location)
        raise
    except Exception:
        _delete_data(store, location)
        kill(ctx, registry, image_id)
        raise
    for event_type in ('image.upload', 'image.activate', 'image.update'):
        notifier.info(ctx, event_type, active)
    return active


def _deleted(ctx, registry, image_id):
    try:
        image = registry.image_get(ctx, image_id)
    except exception.NotFound:
        return True
    except Exception:
        # Unknown: the failure is reported as it is.
        return False
    return image['status'] in (status.DELETED, status.PENDING_DELETE)


def kill(ctx, registry, image_id, from_state=status.SAVING):
    try:
        registry.image_update(ctx, image_id, {'status': status.KILLED},
                              from_state=from_state)
    except Exception as e:
        # The image may already be gone (deleted during the upload).
        LOG.warning('Unable to kill image %s: %s', image_id, e)


def _delete_data(store, location):
    try:
        store.delete(location)
    except Exception as e:
        LOG.error('Unable to delete data of %s: %s',
                  store_location.redact(location), e)
