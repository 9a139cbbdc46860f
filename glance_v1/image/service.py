"""Image operations as the API offers them, in the reference's order of
checks (glance-v1-reference §1a). No HTTP here: callers hand in metadata
dicts and body streams and get image dicts back."""

import contextlib
import logging

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1.common import policy
from glance_v1.common import threads
from glance_v1.image import download
from glance_v1.image import notifier
from glance_v1.image import protections
from glance_v1.image import quota
from glance_v1.image import recovery
from glance_v1.image import sources
from glance_v1.image import status
from glance_v1.image import upload
from glance_v1.image import validation
from glance_v1.registry import api as registry_api
from glance_v1 import store as store_api

LOG = logging.getLogger(__name__)

delete_opts = [
    cfg.BoolOpt('delayed_delete', default=False,
                help='DELETE of an image with data only marks it '
                     'pending_delete and keeps the data; glance-scrubber '
                     'removes the data scrub_time seconds later.'),
]

download_opts = [
    cfg.BoolOpt('verify_download_hash', default=True,
                help='Hash the data of every full download while sending '
                     'it and cut the connection before its last chunk if '
                     'the hash differs from the secure hash recorded when '
                     'the data was stored (os_hash_value), so damaged '
                     'data is never received as complete. Ranged '
                     'downloads and images served from an external '
                     'location (no recorded hash) are not verified.'),
]

copy_opts = [
    cfg.IntOpt('copy_from_eventlet_pool', default=1024, min=1,
               help='Image copies (x-glance-api-copy-from) one worker '
                    'runs at the same time; more wait.'),
]

CONF = cfg.CONF
CONF.register_opts(delete_opts)
CONF.register_opts(copy_opts)
CONF.register_opts(download_opts)

_spawn = None


def _spawn_copy(func, *args):
    global _spawn
    if _spawn is None:
        _spawn = threads.spawner(CONF.copy_from_eventlet_pool, 'copy-from')
    _spawn(func, *args)


# Request-only fields: they steer the request and are never stored.
REQUEST_ONLY = ('store', 'copy_from', 'uri', 'location')


def _check_writable(ctx):
    if ctx.read_only:
        raise exception.Forbidden('Read-only access')


@contextlib.contextmanager
def _refused(action):
    """The registry's refusal to change an image, in the reference's
    words ("Forbidden to update image: ...")."""
    try:
        yield
    except exception.Forbidden as e:
        raise exception.Forbidden('Forbidden to %s image: %s' % (action, e))


def _check_store(meta):
    name = meta.get('store')
    if 'store' in meta and not store_api.known_store(name or ''):
        raise exception.Invalid('Required store %s is invalid' % name)


def _sources(meta, body):
    """The external source URL of the request (validated), or None."""
    has_location = 'location' in meta
    copy_from = meta.get('copy_from_url')
    if len([s for s in (body, has_location, copy_from) if s]) > 1:
        raise exception.Invalid(
            "It's invalid to provide multiple image sources.")
    if has_location:
        return sources.validate(meta.get('location'))
    if copy_from:
        return sources.validate(copy_from)
    return None


def _check_body(body):
    media_type = (body.content_type or '').split(';', 1)[0].strip().lower()
    if media_type != 'application/octet-stream':
        raise exception.Invalid(
            'Content-Type must be application/octet-stream')


def _download_target(image):
    target = {k: v for k, v in image.items()
              if k not in ('properties', 'location', 'location_data')}
    target.update(image.get('properties') or {})
    return target


class ImageService:

    def __init__(self, registry=None):
        self.registry = registry or registry_api.get_registry()
        # Built when the application loads: a bad quota or protection
        # setting stops the service there, not on a request.
        quota.check_config()
        protections.check_config()

    def _prepare(self, meta, body):
        """Convert and validate request metadata; enforce the size cap
        on a declared size (400, before anything is stored)."""
        validation.convert(meta)
        validation.validate(meta)
        validation.check_size_cap(meta.get('size'))
        if body is not None:
            validation.check_size_cap(body.length)
        return meta

    def _check_policies(self, ctx, action, meta, body):
        policy.enforce(ctx, action)
        if meta.get('is_public'):
            policy.enforce(ctx, 'publicize_image')
        if meta.get('copy_from_url'):
            policy.enforce(ctx, 'copy_from')
        if body is not None or meta.get('copy_from_url'):
            policy.enforce(ctx, 'upload_image')
        if meta.get('location'):
            policy.enforce(ctx, 'set_image_location')

    @staticmethod
    def _stored_values(meta):
        return {k: v for k, v in meta.items()
                if k not in REQUEST_ONLY and k != 'copy_from_url'}

    # -- create -------------------------------------------------------------

    def create(self, ctx, meta, body=None):
        meta = self._prepare(meta, body)
        _check_writable(ctx)
        if ctx.owner is None and not ctx.is_admin:
            # Its image would have no owner, hence be nobody's but the
            # admins': the caller could not even upload to it.
            raise exception.NotAuthenticated('No authenticated user')
        self._check_policies(ctx, 'add_image', meta, body)
        props = meta.get('properties') or {}
        protections.check_create(ctx, props)
        quota.check_properties(len(props))
        _check_store(meta)
        url = _sources(meta, body)
        # Formats first: the reference answers a JSON create body (as
        # openstacksdk sends) "Disk format is not specified".
        if body is not None or url:
            validation.require_formats(meta)
        if body is not None:
            _check_body(body)

        values = self._stored_values(meta)
        for key in ('status', 'deleted', 'deleted_at', 'os_hash_algo',
                    'os_hash_value'):
            values.pop(key, None)
        if 'location' in meta:
            values.update(self._location_values(url, values.get('size')))
        elif url:
            self._check_copy_source(url, values.get('size'))
            values['status'] = status.QUEUED
        elif body is None and values.get('size') == 0:
            validation.check_empty_checksum(values.get('checksum'))
            values['status'] = status.ACTIVE
        else:
            values['status'] = status.QUEUED
        image = self.registry.image_create(ctx, values)
        notifier.info(ctx, 'image.create', image)
        if body is not None:
            image = self._upload(ctx, image, body, meta.get('store'))
        elif url and 'location' not in meta:
            _spawn_copy(self._copy, ctx, image, url, meta.get('store'))
        return image

    @staticmethod
    def _location_values(url, declared_size):
        """An image served from ``url``: active at once, its size from the
        remote server (§3, §4); no checksum is computed."""
        size = sources.remote_size(url, declared_size)
        return {'location': url, 'size': declared_size or size,
                'status': status.ACTIVE}

    @staticmethod
    def _check_copy_source(url, declared_size):
        """Before the copy starts: the source exists (404), agrees with a
        declared size (409) and fits under image_size_cap (400)."""
        validation.check_size_cap(sources.remote_size(url, declared_size))

    def _upload(self, ctx, image, body, store_name):
        """Every way image data comes in (request body, copy-from) goes
        through here, so caps and quotas apply to all of them: a declared
        size over the owner's storage quota kills the image before any
        byte is read; a streamed body is cut off where the quota ends."""
        remaining = quota.storage_remaining(ctx, self.registry, image['id'])
        if remaining is None:
            return upload.upload(ctx, self.registry, image, body,
                                 store_name=store_name)
        try:
            quota.check_storage(image.get('size') or body.length, remaining)
        except exception.LimitExceeded:
            upload.kill(ctx, self.registry, image['id'], status.QUEUED)
            raise
        return upload.upload(ctx, self.registry, image, body,
                             store_name=store_name, limit=remaining,
                             limit_error=quota.storage_limit_error(remaining))

    def _copy(self, ctx, image, url, store_name):
        """Background copy of ``url`` into the store (copy-from); failures
        leave the image killed, as an upload's do."""
        try:
            stream, length = sources.open_source(url)
        except Exception as e:
            LOG.warning('Cannot copy image %s from %s: %s', image['id'],
                        store_api.location.redact(url), e)
            upload.kill(ctx, self.registry, image['id'], status.QUEUED)
            return
        try:
            self._upload(ctx, image, upload.Body(
                stream, length, 'application/octet-stream'), store_name)
        except Exception as e:
            LOG.warning('Copy of image %s from %s failed: %s', image['id'],
                        store_api.location.redact(url), e)
        finally:
            stream.close()

    # -- read ---------------------------------------------------------------

    def show(self, ctx, image_id):
        policy.enforce(ctx, 'get_image')
        return protections.readable(ctx,
                                    self.registry.image_get(ctx, image_id))

    def download(self, ctx, image_id):
        """The image whose data ``ctx`` may download (GET order of §1a);
        fetch the bytes with ``data``."""
        policy.enforce(ctx, 'get_image')
        try:
            image = self.registry.image_get(ctx, image_id)
            status.check_download(image)
        except exception.NotFound:
            policy.enforce(ctx, 'download_image')
            raise
        policy.enforce(ctx, 'download_image', _download_target(image))
        return protections.readable(ctx, image)

    @staticmethod
    def data(image, offset=0, length=None, ctx=None, destination_ip=None):
        """A Download of ``image``'s bytes (all, or ``length`` from
        ``offset``) to ``ctx`` at ``destination_ip``."""
        if not image['size']:
            return iter(())
        if not image['location']:
            raise exception.NotFound('Image %s has no data' % image['id'])
        store = store_api.get_store_for_location(image['location'])
        chunks, _ = store.get(image['location'], offset, length)
        expected = image['size'] - offset if length is None else length
        check = None
        if CONF.verify_download_hash and not offset and length is None:
            # The store's own checksum is the fast one to check.
            check = getattr(chunks, 'checksum', None)
            algo = image.get('os_hash_algo')
            if not check and image.get('os_hash_value') and \
                    download.can_check(algo):
                check = (algo, image['os_hash_value'])
        return download.Download(chunks, image, expected, ctx,
                                 destination_ip, check)

    def list(self, ctx, filters, marker, limit, sort_key, sort_dir):
        policy.enforce(ctx, 'get_images')
        images = self.registry.image_list(ctx, filters, marker=marker,
                                          limit=limit, sort_key=sort_key,
                                          sort_dir=sort_dir)
        return [protections.readable(ctx, i) for i in images]

    # -- update -------------------------------------------------------------

    def update(self, ctx, image_id, meta, body=None, purge_props=True):
        meta = self._prepare(meta, body)
        _check_writable(ctx)
        self._check_policies(ctx, 'modify_image', meta, body)
        image = self.registry.image_get(ctx, image_id)
        status.check_update(ctx, image, meta)
        if body is not None and image['status'] != status.QUEUED:
            raise exception.Conflict('Cannot upload to an unqueued image')
        if ('location' in meta or meta.get('copy_from_url')) and \
                image['status'] != status.QUEUED:
            raise exception.Invalid(
                'Attempted to update Location field for an image not in '
                'queued status.')
        _check_store(meta)
        url = _sources(meta, body)
        if body is not None or url:
            validation.require_formats(dict(image, **meta))
        if body is not None:
            _check_body(body)
            purge_props = False

        values = self._stored_values(meta)
        for key in status.IMMUTABLE + status.SERVER_MANAGED:
            values.pop(key, None)
        current = image['properties']
        props = protections.check_update(
            ctx, values.get('properties') or {}, current, purge_props)
        quota.check_properties(len(props) if purge_props
                               else len(set(current) | set(props)))
        values['properties'] = props
        if 'location' in meta:
            values.update(self._location_values(
                url, meta.get('size') or image.get('size')))
            with _refused('update'):
                image = self.registry.image_update(
                    ctx, image_id, values, purge_props=purge_props,
                    from_state=status.QUEUED)
            for event_type in ('image.activate', 'image.update'):
                notifier.info(ctx, event_type, image)
            return protections.readable(ctx, image)
        if url:
            self._check_copy_source(url,
                                    meta.get('size') or image.get('size'))
        with _refused('update'):
            image = self.registry.image_update(ctx, image_id, values,
                                               purge_props=purge_props)
        if body is not None:
            # The upload announces the update once the image is active.
            return protections.readable(
                ctx, self._upload(ctx, image, body, meta.get('store')))
        if url:
            _spawn_copy(self._copy, ctx, image, url, meta.get('store'))
        notifier.info(ctx, 'image.update', image)
        return protections.readable(ctx, image)

    # -- delete -------------------------------------------------------------

    def delete(self, ctx, image_id):
        _check_writable(ctx)
        policy.enforce(ctx, 'delete_image')
        image = self.registry.image_get(ctx, image_id)
        status.check_delete(image)
        if CONF.delayed_delete and image['location_data']:
            # The registry's ownership check happens in image_destroy;
            # the data stays for glance-scrubber.
            with _refused('delete'):
                image = self.registry.image_destroy(
                    ctx, image_id, status=status.PENDING_DELETE,
                    location_status=status.PENDING_DELETE)
            notifier.info(ctx, 'image.delete', image)
            return image
        original = image['status']
        # The status change is the authorisation check: it must pass
        # before any data is removed (OSSA-2012-017).
        with _refused('delete'):
            self.registry.image_update(ctx, image_id,
                                       {'status': status.DELETED})
        try:
            for loc in image['location_data']:
                if loc['status'] == 'active':
                    self._delete_data(loc['url'])
            if original == status.KILLED:
                # Its upload never committed: what the stores hold of it
                # is found by its id, not by a location.
                recovery.discard_staged(image_id)
        except Exception:
            self.registry.image_update(ctx, image_id, {'status': original})
            raise
        if original == status.SAVING:
            self._discard_upload(image_id)
        image = self.registry.image_destroy(ctx, image_id)
        notifier.info(ctx, 'image.delete', image)
        return image

    @staticmethod
    def _discard_upload(image_id):
        """The data of an upload in progress: a live writer stops at its
        next lease renewal and removes what it wrote, this removes what a
        writer that died left. A failure is not undone by restoring the
        image: its live writer would stop all the same."""
        try:
            recovery.discard_staged(image_id)
        except Exception as e:
            LOG.error('Image %s deleted during its upload; some of its '
                      'partial data remains: %s', image_id, e)

    @staticmethod
    def _delete_data(url):
        try:
            store_api.get_store_for_location(url).delete(url)
        except exception.NotFound:
            LOG.warning('Data of %s was already gone',
                        store_api.location.redact(url))
