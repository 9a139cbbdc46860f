"""Swift store: images as objects in one Swift account (single tenant).

Up to ``swift_store_large_object_size`` (when the size is declared) an image
is one object. Larger images, and images of unknown size, are uploaded as
segments of ``swift_store_large_object_chunk_size`` into
``<container>_segments`` under ``<image id>/<upload nonce>/`` (a few PUTs
open at once, see ``_Segments``) and made visible by a Static Large Object
manifest at ``<container>/<image id>``, which is written only after every
segment was stored and ``verify`` passed. Every failure removes what the
upload wrote, so no object and no segment outlives a failed upload; what a
writer that died left behind is all named after the image, for
``discard_staged`` to find.

Locations name the cluster and the object, never the credentials: those
are read from the configuration on every use, so rotating the key needs no
database change, and user-supplied ``swift`` locations are refused
(``glance_v1.image.sources``) since they would read through glance's own
account.

A manifest carries an xxh3 checksum of the image's bytes in its metadata
(``X-Object-Meta-Glance-V1-Xxh3-128``), as the filesystem store keeps one
in an extended attribute: downloads check that at memory speed instead of
the secure hash. A single object has none (its metadata goes out before
its data) and is checked against the secure hash.
"""

import collections
import hashlib
import json
import logging
import queue
import socket
import threading
import uuid

from oslo_config import cfg
import requests
from swiftclient import client as swift_client
from swiftclient import exceptions as swift_exc
import xxhash

from glance_v1.common import exception
from glance_v1.common import threads
from glance_v1.store import base
from glance_v1.store import location

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024
CHECKSUM_ALGO = 'xxh3_128'
_CHECKSUM_META = 'X-Object-Meta-Glance-V1-Xxh3-128'

swift_opts = [
    cfg.StrOpt('swift_store_auth_address',
               help='Auth endpoint: the tempauth/swauth URL '
                    '(http://host:8080/auth/v1.0) or the Keystone URL.'),
    cfg.StrOpt('swift_store_auth_version', default='2',
               choices=['1', '2', '3'],
               help='Auth protocol: 1 (tempauth/swauth), 2 or 3 '
                    '(Keystone).'),
    cfg.StrOpt('swift_store_user',
               help='"account:user" (auth 1) or "project:user" '
                    '(Keystone).'),
    cfg.StrOpt('swift_store_key', secret=True,
               help='Key or password of swift_store_user.'),
    cfg.StrOpt('swift_store_user_domain_name', default='Default',
               help='Keystone v3 domain of the user.'),
    cfg.StrOpt('swift_store_project_domain_name', default='Default',
               help='Keystone v3 domain of the project.'),
    cfg.StrOpt('swift_store_region',
               help='Region of the object-store endpoint (Keystone).'),
    cfg.StrOpt('swift_store_endpoint_type', default='publicURL',
               choices=['publicURL', 'adminURL', 'internalURL'],
               help='Endpoint type taken from the Keystone catalog.'),
    cfg.StrOpt('swift_store_service_type', default='object-store',
               help='Service type taken from the Keystone catalog.'),
    cfg.BoolOpt('swift_store_auth_insecure', default=False,
                help='Skip TLS certificate checks (tests only).'),
    cfg.StrOpt('swift_store_cacert',
               help='CA bundle for TLS connections to Swift.'),
    cfg.StrOpt('swift_store_container', default='glance',
               help='Container that holds the images; segments go to '
                    '"<container>_segments".'),
    cfg.BoolOpt('swift_store_create_container_on_put', default=False,
                help='Create the containers on first upload when missing.'),
    cfg.IntOpt('swift_store_large_object_size', default=5 * 1024, min=1,
               help='Images larger than this many MB (or of unknown size) '
                    'are uploaded as segmented large objects.'),
    cfg.IntOpt('swift_store_large_object_chunk_size', default=200, min=1,
               help='Segment size of large objects, in MB.'),
    cfg.IntOpt('swift_store_segment_concurrency', default=3, min=1,
               help='Segment PUTs of one upload open at once. The image '
                    'arrives as one stream, so one segment receives data '
                    'while the others wait for Swift to answer (it syncs '
                    'each segment to disk first); 1 writes the segments '
                    'one after another. Memory does not grow with it.'),
    cfg.IntOpt('swift_store_retry_get_count', default=0, min=0,
               help='Times a download interrupted mid-way is resumed '
                    'from where it stopped.'),
    cfg.IntOpt('swift_store_retries', default=3, min=0,
               help='Retries (with backoff from 1 s) of a Swift request '
                    'that failed on a transient error: connection '
                    'failure, 5xx, 408, 429.'),
    cfg.FloatOpt('swift_store_timeout', default=60.0, min=1,
                 help='Seconds to wait for Swift on one connection.'),
    cfg.IntOpt('swift_store_chunk_size', default=MiB, min=4096,
               help='Bytes read from Swift at a time on download.'),
]

CONF = cfg.CONF
CONF.register_opts(swift_opts, group='glance_store')

# swiftclient logs failed requests with the first characters of the
# X-Auth-Key / X-Auth-Token headers; show none of them.
swift_client.logger_settings['reveal_sensitive_prefix'] = 0

_TRANSIENT = (socket.error, requests.RequestException)


class _Connection(swift_client.Connection):
    """A swiftclient connection that lets go of its sockets when closed.

    swiftclient replaces its HTTP connection without closing it when it
    retries a request, and an HTTP connection's response refers back to
    it (header closures): a socket the response's file object still held
    stayed open until the garbage collector ran. A soak left dozens of
    them open."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._opened = []

    def http_connection(self, url=None):
        parsed, conn = super().http_connection(url)
        self._opened.append(conn)
        return parsed, conn

    def close(self):
        super().close()
        opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
            # Breaks the cycle, so what the response still holds (a
            # socket's file object keeps its descriptor open) goes now.
            conn.resp = None


class _Download:
    """A GET's chunks, resumed with a range request up to
    swift_store_retry_get_count times if Swift breaks off. ``close()``
    releases the connection whether or not iteration began or ended: a
    generator never started would not run its cleanup, and the socket
    would stay open until the garbage collector found it."""

    def __init__(self, store, obj, body, conn, offset, remaining,
                 checksum):
        self.store = store
        self.obj = obj
        self.body = body
        self.conn = conn
        self.offset = offset
        self.remaining = remaining
        # ``(algo, hexdigest)`` recorded for the whole object, or None.
        self.checksum = checksum

    def __iter__(self):
        retries = self.store.conf.glance_store.swift_store_retry_get_count
        try:
            while self.remaining > 0:
                try:
                    for chunk in self.body:
                        chunk = chunk[:self.remaining]
                        self.offset += len(chunk)
                        self.remaining -= len(chunk)
                        yield chunk
                        if self.remaining <= 0:
                            return
                    return
                except Exception as e:
                    if retries <= 0:
                        # The download then ends short: the image layer
                        # tells a deletion from damage.
                        LOG.warning('Download of %s from Swift broke: %s',
                                    self.obj, self.store._scrub(str(e)))
                        return
                    retries -= 1
                    self.close()
                    LOG.warning('Resuming download of %s at byte %d',
                                self.obj, self.offset)
                    _h, self.body, self.conn = self.store._open(
                        self.obj, {'Range': 'bytes=%d-%d' % (
                            self.offset, self.offset + self.remaining - 1)})
        finally:
            self.close()

    def close(self):
        self.body.close()
        self.conn.close()


class _Upload:
    """One segment (or the whole object) as a PUT body: the given chunks.

    The md5 that Swift's etag is checked against runs in a native thread
    of its own (``threads.Feeder``), beside the send rather than between
    two chunks of it; ``digest()`` waits for it.

    swiftclient may retry the PUT; that is only sound while nothing has
    been sent, which ``reset`` checks. An error of the input itself (client
    gone, size cap) is kept so it is raised as is, not as a Swift error.
    """

    def __init__(self, chunks, hashed=True):
        """``hashed``: compute the md5 of what is sent (else the caller
        checks Swift's etag by other means, and ``digest()`` is None)."""
        self.chunks = iter(chunks)
        self.sent = 0
        self.md5 = hashlib.md5(usedforsecurity=False) if hashed else None
        self.hasher = threads.Feeder(self.md5.update) if hashed else None
        self.error = None

    def __iter__(self):
        while True:
            try:
                chunk = next(self.chunks, None)
            except Exception as e:
                self.error = e
                raise
            if chunk is None:
                return
            self.sent += len(chunk)
            if self.hasher is not None:
                self.hasher.feed(chunk)
            yield chunk

    def digest(self):
        """The md5 of what was sent, once all of it is hashed."""
        if self.hasher is None:
            return None
        self.hasher.finish()
        return self.md5.hexdigest()

    def abandon(self):
        if self.hasher is not None:
            self.hasher.stop()

    def reset(self, *args, **kwargs):
        if self.sent:
            raise exception.StoreUnavailable(
                reason='the connection to Swift broke during an upload')


class _Source:
    """The upload's chunks, with a one-chunk look-ahead so that a segment
    is started only when data remains and split at exact byte counts;
    ``checksum`` (when asked for) is the xxh3 of what was taken."""

    def __init__(self, chunks, checksum=False):
        self.chunks = iter(chunks)
        self.pending = b''
        self.total = 0
        self.checksum = xxhash.xxh3_128() if checksum else None

    def has_more(self):
        while not self.pending:
            chunk = next(self.chunks, None)
            if chunk is None:
                return False
            self.pending = chunk
        return True

    def take(self, most):
        if not self.has_more():
            return b''
        if most is None or len(self.pending) <= most:
            chunk, self.pending = self.pending, b''
        else:
            chunk = self.pending[:most]
            self.pending = self.pending[most:]
        self.total += len(chunk)
        if self.checksum is not None:
            self.checksum.update(chunk)
        return chunk

    def __iter__(self):
        while self.has_more():
            yield self.take(None)


class _Aborted(Exception):
    """The upload failed elsewhere: a segment's PUT must not complete."""


class _Feed:
    """The chunks of one segment, from the thread that reads the upload
    to the thread of the segment's PUT (at most DEPTH waiting)."""

    DEPTH = 4

    def __init__(self):
        self.queue = threads.queue(self.DEPTH)
        self.aborted = False

    def put(self, chunk):
        """The next chunk; None ends the segment."""
        self.queue.put(chunk)

    def __iter__(self):
        while True:
            chunk = self.queue.get()
            if self.aborted:
                raise _Aborted()
            if chunk is None:
                return
            yield chunk

    def abort(self):
        """Fail the PUT (from the reading thread)."""
        self.aborted = True
        try:
            # Wakes a PUT waiting for data; with the queue full it takes
            # a chunk soon and sees the flag then.
            self.queue.put_nowait(None)
        except queue.Full:
            pass

    def close(self):
        """The PUT ended (in its thread): drop what waits, which also
        unblocks a reader waiting for room."""
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return


class _Segments:
    """An upload's segments, PUT with up to ``concurrency`` requests open.

    The image arrives as one stream, so one segment at a time receives
    data (``write``, in the caller's thread, hands it to the PUT's thread
    through a ``_Feed``); the PUTs before it are done sending and wait for
    Swift's answer, which comes once the object server synced the segment
    to disk -- on the all-in-one about a quarter of a 200 MiB segment's
    time, which the next segment no longer waits for. Memory is one feed
    and each open PUT's md5 queue, whatever the concurrency.

    The first failure of any PUT is raised by the next ``write`` or
    ``finish``; the caller then calls ``abort`` and removes ``names``
    (every segment that was begun, stored or not).
    """

    def __init__(self, store, prefix, concurrency):
        self.store = store
        self.prefix = prefix
        self.concurrency = concurrency
        self.names = []
        self.entries = {}
        self.running = collections.deque()
        self.feed = None
        self.error = None

    def write(self, source, limit):
        """PUT the next segment: the next ``limit`` bytes of ``source``."""
        self._wait(self.concurrency - 1)
        index = len(self.names)
        self.names.append('%s%08d' % (self.prefix, index + 1))
        self.feed = _Feed()
        self.running.append(threads.spawn(self._put, index, self.feed))
        remaining = limit
        while remaining and source.has_more():
            chunk = source.take(remaining)
            remaining -= len(chunk)
            self.feed.put(chunk)
            self._raise()
        self.feed.put(None)
        self.feed = None

    def _put(self, index, feed):
        name = self.names[index]
        try:
            body = _Upload(feed)
            etag = self.store._put(self.store.segments, name, body)
            self.entries[index] = {
                'path': '/%s/%s' % (self.store.segments, name),
                'etag': etag, 'size_bytes': body.sent}
        except BaseException as e:
            if self.error is None:
                self.error = e
        finally:
            feed.close()

    def _wait(self, most):
        """Until at most ``most`` PUTs are open (the oldest end first);
        raises the first failure."""
        while len(self.running) > most:
            self.running.popleft().wait()
        self._raise()

    def _raise(self):
        if self.error is not None:
            raise self.error

    def finish(self):
        """The SLO manifest's entries, in order, once every PUT
        succeeded."""
        self._wait(0)
        return [self.entries[i] for i in range(len(self.names))]

    def abort(self):
        """Fail the PUT receiving data, if any, and wait for every PUT
        still open."""
        if self.feed is not None:
            self.feed.abort()
        while self.running:
            self.running.popleft().wait()


class SwiftStore(base.Store):
    scheme = 'swift'

    def __init__(self, conf):
        super().__init__(conf)
        opts = conf.glance_store
        if not (opts.swift_store_auth_address and opts.swift_store_user
                and opts.swift_store_key):
            raise exception.StoreError(
                'The swift store needs swift_store_auth_address, '
                'swift_store_user and swift_store_key in [glance_store].')
        self.auth_address = opts.swift_store_auth_address.rstrip('/')
        if '://' not in self.auth_address:
            self.auth_address = 'https://' + self.auth_address
        self.container = opts.swift_store_container
        self.segments = self.container + '_segments'
        self.large_size = opts.swift_store_large_object_size * MiB
        self.segment_size = opts.swift_store_large_object_chunk_size * MiB
        self.chunk_size = opts.swift_store_chunk_size
        self._auth = (None, None)
        self._auth_lock = threading.Lock()
        self._containers_ok = False

    # -- connections ------------------------------------------------------

    def _connection(self, retries=None):
        """A new swiftclient connection (they are not safe to share between
        green threads), reusing the last token."""
        opts = self.conf.glance_store
        version = opts.swift_store_auth_version
        user = opts.swift_store_user
        os_options = {'endpoint_type': opts.swift_store_endpoint_type,
                      'service_type': opts.swift_store_service_type}
        if opts.swift_store_region:
            os_options['region_name'] = opts.swift_store_region
        tenant = None
        if version != '1' and ':' in user:
            tenant, user = user.split(':', 1)
            if version == '3':
                os_options.update(
                    project_name=tenant,
                    user_domain_name=opts.swift_store_user_domain_name,
                    project_domain_name=opts.swift_store_project_domain_name)
        url, token = self._auth
        return _Connection(
            authurl=self.auth_address, user=user, key=opts.swift_store_key,
            tenant_name=tenant, auth_version=version, os_options=os_options,
            preauthurl=url, preauthtoken=token,
            retries=opts.swift_store_retries if retries is None else retries,
            starting_backoff=1, max_backoff=8,
            insecure=opts.swift_store_auth_insecure,
            cacert=opts.swift_store_cacert, timeout=opts.swift_store_timeout)

    def _keep_auth(self, conn):
        if conn.url and conn.token:
            with self._auth_lock:
                self._auth = (conn.url, conn.token)

    def _call(self, method, *args, **kwargs):
        """Run one swiftclient call, mapping its failures to ours."""
        conn = self._connection()
        try:
            return getattr(conn, method)(*args, **kwargs)
        except Exception as e:
            raise self._translate(e)
        finally:
            self._keep_auth(conn)
            conn.close()

    def _translate(self, error, not_found=None):
        if isinstance(error, exception.GlanceException):
            return error
        if isinstance(error, swift_exc.ClientException):
            status = error.http_status
            if status == 404:
                return not_found or exception.NotFound(
                    'Image data not found in Swift')
            if status in (401, 403):
                self._auth = (None, None)
                return exception.StoreUnavailable(
                    reason='Swift refused the credentials of glance-api')
            if status in (413, 507):
                return exception.StorageFull(
                    reason='Swift refused the data (%s)' % status)
            if status is None or status >= 500 or status in (408, 429):
                return exception.StoreUnavailable(
                    reason='Swift is not answering (%s)'
                    % (status or 'no response'))
            return exception.StoreError('Swift answered %s' % status)
        if isinstance(error, _TRANSIENT):
            return exception.StoreUnavailable(reason='cannot reach Swift')
        # Unknown errors are logged by the caller's handler; make sure
        # no message of a third-party library carries the key.
        return exception.StoreError(self._scrub(str(error)))

    def _scrub(self, text):
        key = self.conf.glance_store.swift_store_key
        return text.replace(key, '***') if key else text

    # -- paths ------------------------------------------------------------

    def _object_of(self, uri):
        auth, container, obj = location.swift_parts(uri)
        if auth.rstrip('/') != self.auth_address or container != \
                self.container:
            # Never send glance's credentials to another cluster.
            raise exception.NotFound(
                'Image location %s is not in the configured Swift store'
                % location.redact(uri))
        return obj

    def _ensure_containers(self):
        if self._containers_ok:
            return
        for name in (self.container, self.segments):
            try:
                self._call('head_container', name)
            except exception.NotFound:
                if not self.conf.glance_store.\
                        swift_store_create_container_on_put:
                    raise exception.StoreError(
                        'Swift container %s does not exist; create it or '
                        'set swift_store_create_container_on_put' % name)
                self._call('put_container', name)
        self._containers_ok = True

    # -- add --------------------------------------------------------------

    def add(self, image_id, chunks, size, verify):
        self._ensure_containers()
        try:
            self._call('head_object', self.container, image_id)
        except exception.NotFound:
            pass
        else:
            raise exception.Duplicate(
                'Attempt to upload duplicate image: %s' % image_id)
        if size and size <= self.large_size:
            return self._add_single(image_id, _Source(chunks), verify)
        return self._add_segmented(image_id, _Source(chunks, checksum=True),
                                   verify)

    def _put(self, container, name, body):
        """PUT one body; the input's own error wins over Swift's."""
        try:
            etag = self._send(container, name, body)
            sent = body.digest()
        except BaseException:
            # Whatever went wrong, the hashing thread ends here.
            body.abandon()
            raise
        if sent is not None:
            self._check_etag(container, name, etag, sent)
        return etag

    @staticmethod
    def _check_etag(container, name, etag, sent):
        if etag != sent:
            raise exception.StoreError(
                'Swift stored %s/%s with md5 %s, glance sent %s'
                % (container, name, etag, sent))

    def _send(self, container, name, body):
        conn = self._connection()
        try:
            etag = conn.put_object(container, name, body,
                                   content_type='application/octet-stream')
        except Exception as e:
            if body.error is not None:
                raise body.error
            # A 404 on PUT: the container went away since we checked.
            self._containers_ok = False
            raise self._translate(e, exception.StoreError(
                'Swift container %s disappeared' % container))
        finally:
            self._keep_auth(conn)
            conn.close()
        if body.error is not None:
            raise body.error
        return etag

    def _add_single(self, image_id, source, verify):
        # The upload's own md5 of the whole image is the object's: Swift's
        # etag is checked against what verify() returns rather than
        # against a second md5 of the same bytes.
        body = _Upload(source, hashed=False)
        try:
            etag = self._put(self.container, image_id, body)
            md5 = verify(source.total)
            if md5 is not None:
                self._check_etag(self.container, image_id, etag, md5)
        except BaseException:
            self._remove(self.container, image_id)
            raise
        return self._uri(image_id), source.total

    def _add_segmented(self, image_id, source, verify):
        segments = _Segments(
            self, '%s/%s/' % (image_id, uuid.uuid4().hex),
            self.conf.glance_store.swift_store_segment_concurrency)
        try:
            while source.has_more():
                segments.write(source, self.segment_size)
            manifest = segments.finish()
            verify(source.total)
            if manifest:
                self._call('put_object', self.container, image_id,
                           json.dumps(manifest),
                           query_string='multipart-manifest=put',
                           content_type='application/octet-stream',
                           headers={_CHECKSUM_META:
                                    source.checksum.hexdigest()})
            else:
                # SLO wants a non-empty segment: an empty image is a plain
                # empty object.
                self._put(self.container, image_id, _Upload(()))
        except BaseException:
            segments.abort()
            self._remove(self.container, image_id)
            for name in segments.names:
                self._remove(self.segments, name)
            raise
        return self._uri(image_id), source.total

    def _remove(self, container, name):
        """Best-effort cleanup of something an upload wrote."""
        try:
            self._call('delete_object', container, name)
        except exception.NotFound:
            pass
        except Exception as e:
            LOG.error('Could not remove %s/%s from Swift: %s',
                      container, name, e)

    def _uri(self, image_id):
        return location.swift_uri(self.auth_address, self.container,
                                  image_id)

    # -- get --------------------------------------------------------------

    def get(self, location_uri, offset=0, length=None):
        obj = self._object_of(location_uri)
        headers = {}
        if offset or length is not None:
            end = '' if length is None else offset + length - 1
            headers['Range'] = 'bytes=%d-%s' % (offset, end)
        resp_headers, body, conn = self._open(obj, headers)
        size = int(resp_headers.get('content-length', 0))
        if 'content-range' in resp_headers:
            size = int(resp_headers['content-range'].rsplit('/', 1)[1])
        remaining = size - offset if length is None else length
        # Of the whole image: no use to a Range.
        recorded = None if headers else resp_headers.get(
            _CHECKSUM_META.lower())
        checksum = (CHECKSUM_ALGO, recorded) if recorded else None
        return _Download(self, obj, body, conn, offset, remaining,
                         checksum), size

    def _open(self, obj, headers):
        """``(headers, body, connection)`` of a GET; the connection is
        the caller's to close once done with the body."""
        conn = self._connection()
        try:
            resp_headers, body = conn.get_object(
                self.container, obj, resp_chunk_size=self.chunk_size,
                headers=headers)
        except Exception as e:
            conn.close()
            raise self._translate(e, exception.NotFound(
                'Image data %s not found in Swift' % obj))
        self._keep_auth(conn)
        return resp_headers, body, conn

    def get_size(self, location_uri):
        obj = self._object_of(location_uri)
        headers = self._call('head_object', self.container, obj)
        return int(headers.get('content-length', 0))

    # -- delete -----------------------------------------------------------

    def delete(self, location_uri):
        """Remove the object and every segment of the image, including
        those of earlier uploads that died half way."""
        obj = self._object_of(location_uri)
        try:
            self._call('delete_object', self.container, obj)
        finally:
            self._delete_segments(obj)

    def _delete_segments(self, image_id):
        for name in self._segment_names(image_id):
            self._remove(self.segments, name)

    def _segment_names(self, image_id):
        """Every segment of every upload of ``image_id``: they are all
        named ``<image id>/<upload nonce>/<number>``."""
        try:
            _h, listing = self._call('get_container', self.segments,
                                     prefix=image_id + '/',
                                     full_listing=True)
        except exception.NotFound:
            return []
        return [item['name'] for item in listing]

    def discard_staged(self, image_id):
        """Remove what an upload of ``image_id`` that never committed
        left: its object or manifest (written, but never recorded as the
        image's location) and all its segments. Raises if any of it
        stays."""
        self._discard(self.container, image_id)
        for name in self._segment_names(image_id):
            self._discard(self.segments, name)

    def _discard(self, container, name):
        try:
            self._call('delete_object', container, name)
        except exception.NotFound:
            pass

    def objects(self):
        """Names in the image and segment containers (for operators and
        tests checking that nothing was orphaned)."""
        found = []
        for name in (self.container, self.segments):
            try:
                _h, listing = self._call('get_container', name,
                                         full_listing=True)
            except exception.NotFound:
                continue
            found.extend('%s/%s' % (name, item['name']) for item in listing)
        return found
