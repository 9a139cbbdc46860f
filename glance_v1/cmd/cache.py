"""glance-cache-pruner, glance-cache-cleaner and glance-cache-prefetcher:
maintenance of a node's image cache, usually run from cron with the
node's glance-cache.conf (same image_cache_dir as its glance-api)."""

import logging
import sys

from oslo_config import cfg

from glance_v1.common import config
from glance_v1.common import context
from glance_v1.common import exception
from glance_v1.common import log
from glance_v1 import image_cache
from glance_v1.image import service
from glance_v1.image import status
# state_path, which image_cache_dir refers to.
from glance_v1.registry.db import session  # noqa: F401

CONF = config.CONF
LOG = logging.getLogger(__name__)


def _setup(prog, argv):
    files = cfg.find_config_files('glance', 'glance-cache')
    config.parse_args(prog, sys.argv[1:] if argv is None else argv,
                      default_config_files=files)
    log.setup(prog)
    return image_cache.ImageCache()


def prune(argv=None):
    """Delete least recently used images down to image_cache_max_size."""
    cache = _setup('glance-cache-pruner', argv)
    count, freed = cache.prune()
    LOG.info('Pruned %d images (%d bytes); cache holds %d bytes',
             count, freed, cache.get_cache_size())
    return 0


def clean(argv=None):
    """Remove invalid cache files and stalled incomplete ones."""
    cache = _setup('glance-cache-cleaner', argv)
    LOG.info('Removed %d invalid or stalled files', cache.clean())
    return 0


def _prefetch_one(cache, svc, ctx, image_id):
    """Cache one queued image; True when it can leave the queue."""
    try:
        image = svc.registry.image_get(ctx, image_id)
    except exception.NotFound:
        LOG.warning('Queued image %s does not exist', image_id)
        return True
    if image['deleted'] or image['status'] in (status.KILLED,
                                               status.DELETED,
                                               status.PENDING_DELETE):
        LOG.warning('Queued image %s is %s', image_id, image['status'])
        return True
    if image['status'] != status.ACTIVE or not image['checksum'] or \
            not image['size']:
        LOG.info('Queued image %s is not ready (%s); keeping it queued',
                 image_id, image['status'])
        return False
    for _ in cache.fill(image_id, svc.data(image), image['size'],
                        image['checksum']):
        pass
    return cache.is_cached(image_id)


def prefetch(argv=None):
    """Cache the images in the queue (active ones, md5-verified)."""
    cache = _setup('glance-cache-prefetcher', argv)
    svc = service.ImageService()
    ctx = context.admin_context()
    failures = 0
    for image_id in cache.get_queued_images():
        if cache.is_cached(image_id):
            cache.delete_queued_image(image_id)
            continue
        try:
            done = _prefetch_one(cache, svc, ctx, image_id)
        except Exception as e:
            LOG.error('Cannot prefetch image %s: %s', image_id, e)
            failures += 1
            continue
        if done:
            cache.delete_queued_image(image_id)
            LOG.info('Done with queued image %s', image_id)
    return 1 if failures else 0
