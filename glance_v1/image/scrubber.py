"""Deleting the data of ``pending_delete`` images (glance-v1-reference
§10), and sweeping abandoned uploads on the way.

The registry keeps a pending image's locations (status pending_delete)
until its data is gone, so a pass interrupted at any point is simply
redone by the next: data already deleted is not found and that is fine,
and the image becomes ``deleted`` only after all of its data is gone.
"""

import concurrent.futures
import datetime
import logging

from oslo_config import cfg

from glance_v1.common import context
from glance_v1.common import exception
from glance_v1.image import recovery
from glance_v1.image import status
from glance_v1 import store as store_api
from glance_v1.store import location as store_location

LOG = logging.getLogger(__name__)

scrubber_opts = [
    cfg.IntOpt('scrub_time', default=0, min=0,
               help='Seconds a pending_delete image keeps its data after '
                    'the DELETE before glance-scrubber removes it.'),
    cfg.IntOpt('scrub_pool_size', default=1, min=1,
               help='Images glance-scrubber scrubs in parallel.'),
]

CONF = cfg.CONF
CONF.register_opts(scrubber_opts)

_PAGE = 200


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Scrubber:

    def __init__(self, registry):
        self.registry = registry
        self.ctx = context.admin_context()

    def _pending(self, cutoff):
        """pending_delete images deleted before ``cutoff``."""
        marker = None
        filters = {'status': status.PENDING_DELETE, 'is_public': None,
                   # changes-since lists deleted rows too (§5).
                   'changes-since': datetime.datetime(1970, 1, 1)}
        while True:
            page = self.registry.image_list(
                self.ctx, dict(filters), marker=marker, limit=_PAGE,
                sort_key='created_at', sort_dir='asc')
            for image in page:
                if image['deleted_at'] is not None and \
                        image['deleted_at'] <= cutoff:
                    yield image
            if len(page) < _PAGE:
                return
            marker = page[-1]['id']

    def scrub_image(self, image):
        """Delete the data of one image, then mark it deleted; True when
        done, False when it stays pending_delete for the next pass."""
        image_id = image['id']
        for loc in image['location_data']:
            if loc['status'] != status.PENDING_DELETE:
                continue
            url = loc['url']
            try:
                store_api.get_store_for_location(url).delete(url)
            except exception.NotFound:
                LOG.info('Data of image %s at %s was already gone',
                         image_id, store_location.redact(url))
            except Exception as e:
                LOG.error('Cannot delete data of image %s at %s: %s; '
                          'will retry on the next pass', image_id,
                          store_location.redact(url), e)
                return False
        try:
            # location None retires the location rows with the image.
            self.registry.image_update(
                self.ctx, image_id,
                {'status': status.DELETED, 'location': None},
                from_state=status.PENDING_DELETE)
        except (exception.StateConflict, exception.NotFound):
            # Another scrubber finished it first.
            return False
        LOG.info('Scrubbed image %s', image_id)
        return True

    def run_once(self):
        """One pass: abandoned uploads, then due pending_delete images.
        Returns the ids of the images scrubbed."""
        try:
            recovery.recover_abandoned_uploads(self.registry)
        except exception.GlanceException as e:
            LOG.error('Cannot look for abandoned uploads: %s', e)
        cutoff = _utcnow() - datetime.timedelta(seconds=CONF.scrub_time)
        scrubbed = []
        with concurrent.futures.ThreadPoolExecutor(
                CONF.scrub_pool_size) as pool:
            images = list(self._pending(cutoff))
            for image, done in zip(images, pool.map(self.scrub_image,
                                                    images)):
                if done:
                    scrubbed.append(image['id'])
        return scrubbed
