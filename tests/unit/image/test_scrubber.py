"""Delayed delete and the scrubber (glance-v1-reference §10)."""

import datetime
import io
import os

from glance_v1.common import exception
from glance_v1.image import scrubber
from glance_v1.image import service
from glance_v1.image import upload
from glance_v1 import store as store_api
from tests import base


class ScrubberTestBase(base.StoreTestCase):

    def setUp(self):
        super().setUp()
        self.service = service.ImageService(self.registry)
        self.scrubber = scrubber.Scrubber(self.registry)

    def make_image(self, data=b'x' * 1000):
        image = self.service.create(
            self.ctx, {'disk_format': 'raw', 'container_format': 'bare'},
            upload.Body(io.BytesIO(data), len(data),
                        'application/octet-stream'))
        return image['id'], image['location']

    def path(self, url):
        return url[len('file://'):]

    def get(self, image_id):
        return self.registry.image_get(self.admin, image_id)

    def age(self, image_id, seconds):
        """Pretend the image was deleted ``seconds`` ago."""
        from glance_v1.registry.db import models
        from glance_v1.registry.db import session
        import sqlalchemy as sa
        when = models.utcnow() - datetime.timedelta(seconds=seconds)
        with session.get_session() as sess, sess.begin():
            sess.execute(sa.update(models.Image).where(
                models.Image.id == image_id).values(deleted_at=when))


class TestDelayedDelete(ScrubberTestBase):

    def test_delete_without_delay_removes_data(self):
        image_id, url = self.make_image()
        self.service.delete(self.ctx, image_id)
        self.assertEqual('deleted', self.get(image_id)['status'])
        self.assertFalse(os.path.exists(self.path(url)))

    def test_delayed_delete_keeps_data_as_pending_delete(self):
        self.conf.config(delayed_delete=True)
        image_id, url = self.make_image()
        self.service.delete(self.ctx, image_id)
        image = self.get(image_id)
        self.assertEqual('pending_delete', image['status'])
        self.assertTrue(image['deleted'])
        self.assertEqual(['pending_delete'],
                         [loc['status'] for loc in image['location_data']])
        self.assertTrue(os.path.exists(self.path(url)))
        # The owner no longer sees it; a second DELETE is refused (§3).
        self.assertRaises(exception.NotFound, self.registry.image_get,
                          self.ctx, image_id)
        self.assertRaises(exception.Forbidden, self.service.delete,
                          self.admin, image_id)

    def test_delayed_delete_checks_ownership_first(self):
        self.conf.config(delayed_delete=True)
        image_id, url = self.make_image()
        self.registry.image_update(self.admin, image_id,
                                   {'is_public': True})
        self.assertRaises(exception.Forbidden, self.service.delete,
                          base.ctx(tenant='other'), image_id)
        self.assertEqual('active', self.get(image_id)['status'])

    def test_image_without_data_is_deleted_at_once(self):
        self.conf.config(delayed_delete=True)
        image = self.registry.image_create(self.ctx, {'status': 'queued'})
        self.service.delete(self.ctx, image['id'])
        self.assertEqual('deleted', self.get(image['id'])['status'])


class TestScrubber(ScrubberTestBase):

    def setUp(self):
        super().setUp()
        self.conf.config(delayed_delete=True)

    def test_scrub_time_is_honoured(self):
        self.conf.config(scrub_time=3600)
        image_id, url = self.make_image()
        self.service.delete(self.ctx, image_id)
        self.assertEqual([], self.scrubber.run_once())
        self.assertEqual('pending_delete', self.get(image_id)['status'])
        self.assertTrue(os.path.exists(self.path(url)))
        self.age(image_id, 3601)
        self.assertEqual([image_id], self.scrubber.run_once())
        image = self.get(image_id)
        self.assertEqual('deleted', image['status'])
        self.assertEqual([], image['location_data'])
        self.assertFalse(os.path.exists(self.path(url)))
        self.assertEqual([], self.scrubber.run_once())

    def test_only_pending_delete_images_are_scrubbed(self):
        kept, kept_url = self.make_image()
        gone, gone_url = self.make_image()
        self.service.delete(self.ctx, gone)
        self.assertEqual([gone], self.scrubber.run_once())
        self.assertTrue(os.path.exists(self.path(kept_url)))
        self.assertEqual('active', self.get(kept)['status'])

    def test_resumes_after_crash_between_data_and_record(self):
        # A previous pass deleted the data, then died before recording.
        image_id, url = self.make_image()
        self.service.delete(self.ctx, image_id)
        os.unlink(self.path(url))
        self.assertEqual([image_id], self.scrubber.run_once())
        self.assertEqual('deleted', self.get(image_id)['status'])

    def test_store_failure_leaves_pending_delete_for_next_pass(self):
        image_id, url = self.make_image()
        self.service.delete(self.ctx, image_id)
        store = store_api.get_store_for_location(url)
        real_delete = store.delete

        def broken(location):
            raise exception.StorageWriteDenied()

        store.delete = broken
        self.assertEqual([], self.scrubber.run_once())
        self.assertEqual('pending_delete', self.get(image_id)['status'])
        store.delete = real_delete
        self.assertEqual([image_id], self.scrubber.run_once())
        self.assertFalse(os.path.exists(self.path(url)))

    def test_parallel_pool(self):
        self.conf.config(scrub_pool_size=3)
        ids = []
        for _ in range(5):
            image_id, _url = self.make_image()
            self.service.delete(self.ctx, image_id)
            ids.append(image_id)
        self.assertEqual(sorted(ids), sorted(self.scrubber.run_once()))
        self.assertEqual([], os.listdir(self.datadir + '/.staging'))
        self.assertEqual(['.staging'], os.listdir(self.datadir))
