"""``cachemanage``: the image cache management API under ``/v1``
(glance-v1-reference §9), for callers passing ``manage_image_cache``."""

import json
import re

import webob
import webob.dec

from glance_v1.api import faults
from glance_v1.common import policy
from glance_v1 import image_cache

_PATH = re.compile(r'^/v1/(cached_images|queued_images)(?:/([^/]+))?/?$')

# (collection, has id) -> {method: action}
_ROUTES = {
    ('cached_images', False): {'GET': 'list_cached',
                               'DELETE': 'delete_all_cached'},
    ('cached_images', True): {'DELETE': 'delete_cached'},
    ('queued_images', False): {'GET': 'list_queued',
                               'DELETE': 'delete_all_queued'},
    ('queued_images', True): {'PUT': 'queue',
                              'DELETE': 'delete_queued'},
}


def _json(body):
    resp = webob.Response(status=200, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps(body)
    return resp


class CacheManageFilter:

    def __init__(self, app, cache=None):
        self.app = app
        self.cache = cache or image_cache.ImageCache()

    @webob.dec.wsgify
    def __call__(self, req):
        match = _PATH.match(req.path_info)
        if match is None:
            return req.get_response(self.app)
        collection, image_id = match.groups()
        methods = _ROUTES[(collection, image_id is not None)]
        action = methods.get(req.method)
        if action is None:
            return faults.error_response(
                req, 405, 'The method %s is not allowed for this resource.'
                % req.method, headers=[('Allow', ', '.join(methods))])
        try:
            policy.enforce(req.environ['glance.context'],
                           'manage_image_cache')
            args = (image_cache.check_id(image_id),) if image_id else ()
            return _json(getattr(self, action)(*args))
        except Exception as error:
            return faults.from_exception(req, error)

    def list_cached(self):
        keys = ('image_id', 'hits', 'last_accessed', 'last_modified',
                'size')
        return {'cached_images': [{k: e[k] for k in keys}
                                  for e in self.cache.get_cached_images()]}

    def delete_cached(self, image_id):
        self.cache.delete_cached_image(image_id)

    def delete_all_cached(self):
        return {'num_deleted': self.cache.delete_all_cached_images()}

    def list_queued(self):
        return {'queued_images': self.cache.get_queued_images()}

    def queue(self, image_id):
        self.cache.queue_image(image_id)

    def delete_queued(self, image_id):
        self.cache.delete_queued_image(image_id)

    def delete_all_queued(self):
        return {'num_deleted': self.cache.delete_all_queued_images()}


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return CacheManageFilter(app)
    return _filter
