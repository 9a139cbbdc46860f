"""``cache``: serve ``GET /v1/images/<id>`` from the local image cache and
fill the cache while a miss streams (glance-v1-reference §9).

A hit goes through exactly the checks of a normal GET
(``ImageService.download``: ``get_image``, visibility, status,
``download_image`` with the image as target; OSSA-2013-027) and gets the
same headers, never a location (OSSA-2013-007). Anything a hit cannot
answer -- a refused check, a range, a damaged cached copy -- is passed to
the API untouched, so errors are the API's own. A successful DELETE
drops the cached copy.
"""

import logging
import re

import webob.dec

from glance_v1.api.v1 import images
from glance_v1.common import exception
from glance_v1.image import download
from glance_v1.image import service
from glance_v1 import image_cache

LOG = logging.getLogger(__name__)

_IMAGE_PATH = re.compile(r'^/v1/images/([^/]+)$')


def _image_id(req):
    match = _IMAGE_PATH.match(req.path_info)
    if match is None or match.group(1) == 'detail':
        return None
    try:
        return image_cache.check_id(match.group(1))
    except exception.Invalid:
        return None


class CacheFilter:

    def __init__(self, app, cache=None):
        self.app = app
        self.cache = cache or image_cache.ImageCache()
        self.service = service.ImageService()

    @webob.dec.wsgify
    def __call__(self, req):
        image_id = _image_id(req)
        # Explicit method checks: nothing here may depend on assert
        # (OSSN-0048).
        if image_id is None or req.method not in ('GET', 'DELETE'):
            return req.get_response(self.app)
        if req.method == 'DELETE':
            return self._delete(req, image_id)
        if 'Range' in req.headers or 'Content-Range' in req.headers:
            return req.get_response(self.app)
        if self.cache.is_cached(image_id):
            resp = self._hit(req, image_id)
            if resp is not None:
                return resp
        return self._miss(req, image_id)

    def _hit(self, req, image_id):
        try:
            image = self.service.download(req.environ['glance.context'],
                                          image_id)
        except exception.GlanceException:
            # The API refuses the same way, with its own error body.
            return None
        if not image['size'] or not image['checksum']:
            return None
        chunks = self.cache.open_verified(image_id, image['size'],
                                          image['checksum'])
        if chunks is None:
            return None
        LOG.debug('Serving image %s from the cache', image_id)
        return images.data_response(image, download.Download(
            chunks, image, image['size'], req.environ['glance.context'],
            req.remote_addr))

    def _miss(self, req, image_id):
        resp = req.get_response(self.app)
        if resp.status_int != 200 or 'Content-Range' in resp.headers:
            return resp
        checksum = resp.headers.get('x-image-meta-checksum')
        size = resp.headers.get('x-image-meta-size')
        if not checksum or not size or not size.isdigit() or \
                not int(size):
            return resp
        length = resp.content_length
        resp.app_iter = self.cache.fill(image_id, resp.app_iter,
                                        int(size), checksum)
        # WebOb forgets the length with a new body; the client needs it.
        resp.content_length = length
        return resp

    def _delete(self, req, image_id):
        resp = req.get_response(self.app)
        if 200 <= resp.status_int < 300:
            self.cache.delete_cached_image(image_id)
            self.cache.delete_queued_image(image_id)
        return resp


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return CacheFilter(app)
    return _filter
