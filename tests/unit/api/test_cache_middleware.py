"""The cache filter in front of the v1 app (glance-v1-reference §9)."""

import hashlib
import io
import os

import webob

from glance_v1.api.middleware import cache
from glance_v1.api import root
from glance_v1.api.v1 import router
from glance_v1 import image_cache
from glance_v1.image import service
from glance_v1.image import upload
from tests import base

DATA = os.urandom(10000)


class TestCacheFilter(base.StoreTestCase):

    def setUp(self):
        super().setUp()
        self.cache = image_cache.ImageCache()
        self.app = cache.CacheFilter(root.RootApp(router.API()), self.cache)
        self.image_id = service.ImageService(self.registry).create(
            self.ctx, {'disk_format': 'raw', 'container_format': 'bare'},
            upload.Body(io.BytesIO(DATA), len(DATA),
                        'application/octet-stream'))['id']

    def call(self, method='GET', ctx=None, **headers):
        req = webob.Request.blank('/v1/images/%s' % self.image_id,
                                  method=method, headers=headers)
        req.environ['glance.context'] = ctx or self.ctx
        return req.get_response(self.app)

    def plant(self, data):
        """Put ``data`` in the cache as the image's entry."""
        b''.join(self.cache.fill(self.image_id, iter([data]), len(data),
                                 hashlib.md5(data).hexdigest()))

    def test_deactivated_image_is_never_served_from_cache(self):
        self.assertEqual(DATA, self.call().body)
        self.assertTrue(self.cache.is_cached(self.image_id))
        self.registry.image_update(self.admin, self.image_id,
                                   {'status': 'deactivated'})
        resp = self.call()
        self.assertEqual(403, resp.status_int)
        self.assertNotIn(DATA[:100], resp.body)

    def test_entry_of_other_data_is_not_served(self):
        # A valid-looking entry whose md5 is not the image's checksum.
        self.plant(b'not the image' * 10)
        resp = self.call()
        self.assertEqual(200, resp.status_int)
        self.assertEqual(DATA, resp.body)

    def test_other_methods_pass_through(self):
        self.plant(DATA)
        self.assertEqual(200, self.call('HEAD').status_int)
        resp = self.call('PUT', **{'x-image-meta-name': 'renamed'})
        self.assertEqual(200, resp.status_int)
        self.assertTrue(self.cache.is_cached(self.image_id))
        self.assertEqual(0, self.cache.get_cached_images()[0]['hits'])

    def test_failed_delete_keeps_entry_and_success_purges(self):
        self.assertTrue(self.cache.queue_image(self.image_id))
        self.plant(DATA)
        # Filling took it off the queue; queue it again by hand.
        open(os.path.join(self.cache.queue, self.image_id), 'w').close()
        other = base.ctx(tenant='other')
        self.assertEqual(404, self.call('DELETE', ctx=other).status_int)
        self.assertTrue(self.cache.is_cached(self.image_id))
        self.assertEqual(200, self.call('DELETE').status_int)
        self.assertFalse(self.cache.is_cached(self.image_id))
        self.assertEqual([], self.cache.get_queued_images())

    def test_detail_is_not_an_image(self):
        req = webob.Request.blank('/v1/images/detail')
        req.environ['glance.context'] = self.ctx
        resp = req.get_response(self.app)
        self.assertEqual(200, resp.status_int)
        self.assertIn('images', resp.json)
