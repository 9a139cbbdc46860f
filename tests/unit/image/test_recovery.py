"""Uploads abandoned by a dead process are killed and their partial data
removed; live ones never are (decisions "further" 2)."""

import datetime
import io
import os
import subprocess
import sys
import threading
from unittest import mock

from glance_v1.image import recovery
from glance_v1.image import service
from glance_v1.image import upload
from glance_v1 import store as store_api
from tests import base


def _dead_token():
    """The owner token of a process of this host that has exited."""
    proc = subprocess.Popen([sys.executable, '-c',
                             'import sys; sys.stdin.read()'],
                            stdin=subprocess.PIPE)
    token = '%s:%d:%s' % (recovery._node(), proc.pid,
                          recovery._start_time(proc.pid))
    proc.communicate(b'')
    return token


class _Stream(io.BytesIO):
    """A request body that runs ``during`` before its first read."""

    def __init__(self, data, during):
        super().__init__(data)
        self.during = during

    def read(self, n=-1):
        if self.during is not None:
            self.during, during = None, self.during
            during()
        return super().read(n)


class TestRecovery(base.StoreTestCase):

    def setUp(self):
        super().setUp()
        self.store = store_api.default_store()

    def saving(self, owner, heartbeat_age=0):
        image = self.registry.image_create(self.ctx, {'status': 'queued'})
        beat = recovery._utcnow() - datetime.timedelta(
            seconds=heartbeat_age)
        self.registry.image_update(self.ctx, image['id'], {
            'status': 'saving', 'upload_owner': owner,
            'upload_heartbeat': beat})
        staged = os.path.join(self.store.staging,
                              '%s.0123.part' % image['id'])
        with open(staged, 'wb') as f:
            f.write(b'partial')
        return image['id'], staged

    def status(self, image_id):
        return self.registry.image_get(self.admin, image_id)['status']

    def test_owner_token_of_this_process_is_alive(self):
        self.assertTrue(recovery._writer_alive(recovery.owner_token()))

    def test_dead_process_of_this_host(self):
        self.assertFalse(recovery._writer_alive(_dead_token()))

    def test_other_nodes_are_not_judged(self):
        host, boot, pidns, rest = recovery.owner_token().split(':', 3)
        for token in ('other-host:%s:%s:%s' % (boot, pidns, rest),
                      '%s:other-boot:%s:%s' % (host, pidns, rest),
                      '%s:%s:1:%s' % (host, boot, rest),
                      # Written before nodes had names.
                      '%s:%s' % (boot, rest), None, 'garbage'):
            self.assertIsNone(recovery._writer_alive(token), token)

    def test_node_name_is_the_host_option(self):
        self.assertTrue(recovery.owner_token().startswith(
            recovery.CONF.host + ':'))
        dead = _dead_token()
        self.conf.config(host='another-node')
        # A dead process of another node is judged by its lease.
        self.assertIsNone(recovery._writer_alive(dead))

    def test_dead_writer_is_killed_and_staged_data_removed(self):
        image_id, staged = self.saving(_dead_token())
        self.assertEqual([image_id],
                         recovery.recover_abandoned_uploads(self.registry))
        self.assertEqual('killed', self.status(image_id))
        self.assertFalse(os.path.exists(staged))

    def test_live_writer_is_left_alone_even_with_an_old_lease(self):
        self.conf.config(upload_lease_time=10)
        image_id, staged = self.saving(recovery.owner_token(),
                                       heartbeat_age=3600)
        self.assertEqual([], recovery.recover_abandoned_uploads(
            self.registry))
        self.assertEqual('saving', self.status(image_id))
        self.assertTrue(os.path.exists(staged))

    def test_other_host_with_fresh_lease_is_left_alone(self):
        self.conf.config(upload_lease_time=60)
        image_id, staged = self.saving('other-boot:1:1', heartbeat_age=30)
        self.assertEqual([], recovery.recover_abandoned_uploads(
            self.registry))
        self.assertEqual('saving', self.status(image_id))
        self.assertTrue(os.path.exists(staged))

    def test_other_host_with_expired_lease_is_killed(self):
        self.conf.config(upload_lease_time=60)
        image_id, staged = self.saving('other-boot:1:1', heartbeat_age=61)
        self.assertEqual([image_id],
                         recovery.recover_abandoned_uploads(self.registry))
        self.assertEqual('killed', self.status(image_id))
        self.assertFalse(os.path.exists(staged))

    def test_upload_records_its_owner_and_renews_the_lease(self):
        self.conf.config(upload_lease_time=4)
        image = self.registry.image_create(self.ctx, {
            'disk_format': 'raw', 'container_format': 'bare'})
        seen = []

        def during_upload():
            seen.append(self.registry.image_get(self.admin, image['id']))
            # Long enough for a renewal (every 1 s here).
            threading.Event().wait(1.6)
            seen.append(self.registry.image_get(self.admin, image['id']))

        data = b'y' * 100
        upload.upload(self.ctx, self.registry, image,
                      upload.Body(_Stream(data, during_upload), len(data),
                                  'application/octet-stream'))
        first, second = seen
        self.assertEqual(recovery.owner_token(), first['upload_owner'])
        self.assertGreater(second['upload_heartbeat'],
                           first['upload_heartbeat'])
        self.assertEqual('active', self.status(image['id']))

    def test_discard_failure_still_kills_and_deleting_retries(self):
        image_id, staged = self.saving(_dead_token())
        failing = self.patch_discard(OSError('store down'))
        self.assertEqual([image_id],
                         recovery.recover_abandoned_uploads(self.registry))
        self.assertEqual('killed', self.status(image_id))
        self.assertTrue(os.path.exists(staged))
        # Deleting the killed image removes what recovery could not;
        # while the store fails, the image stays (503).
        images = service.ImageService(self.registry)
        self.assertRaises(OSError, images.delete, self.admin, image_id)
        self.assertEqual('killed', self.status(image_id))
        failing.stop()
        images.delete(self.admin, image_id)
        self.assertEqual('deleted', self.status(image_id))
        self.assertFalse(os.path.exists(staged))

    def patch_discard(self, error):
        patcher = mock.patch.object(type(self.store), 'discard_staged',
                                    side_effect=error)
        patcher.start()
        self.addCleanup(mock.patch.stopall)
        return patcher

    def test_deleting_a_saving_image_discards_what_its_writer_left(self):
        image_id, staged = self.saving(_dead_token())
        service.ImageService(self.registry).delete(self.admin, image_id)
        self.assertEqual('deleted', self.status(image_id))
        self.assertFalse(os.path.exists(staged))

    def test_data_written_after_a_delete_by_a_writer_that_died(self):
        # The DELETE removed what the writer had written; the writer
        # wrote more before it died, unaware of the deletion.
        self.conf.config(upload_lease_time=60)
        dead, dead_staged = self.saving(_dead_token())
        alive, alive_staged = self.saving('other-node:b:1:1:1')
        for image_id in (dead, alive):
            self.registry.image_destroy(self.admin, image_id)
        self.assertEqual([], recovery.recover_abandoned_uploads(
            self.registry))
        self.assertFalse(os.path.exists(dead_staged))
        # Another node's writer, within its lease, still cleans up
        # itself.
        self.assertTrue(os.path.exists(alive_staged))
