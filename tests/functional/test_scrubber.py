"""Delayed delete and glance-scrubber run as a process
(glance-v1-reference §10)."""

import os
import signal
import time

from tests.functional import base
from tests.functional import cli
from tests.functional import server

DATA = os.urandom(64 * 1024)


class TestDelayedDelete(base.FunctionalTest):

    conf = {'DEFAULT': {'delayed_delete': 'true'}}

    def scrubber(self, *args, **options):
        extra = os.path.join(self.api.dir, 'scrubber-extra.conf')
        server.write_conf(extra, {'DEFAULT': options})
        return ['--config-file', self.api.conf_file,
                '--config-file', extra] + list(args)

    def delete_image(self):
        resp = self.create(body=DATA)
        self.assertEqual(201, resp.status, resp)
        image_id = resp.json['image']['id']
        self.assertTrue(self.api.has_image_data(image_id))
        resp = self.request('DELETE', '/v1/images/%s' % image_id)
        self.assertEqual(200, resp.status)
        return image_id

    def test_scrubber_honours_scrub_time(self):
        image_id = self.delete_image()
        # noauth callers are admins and see deleted images (§3).
        self.assertEqual('pending_delete', self.image_status(image_id))
        self.assertTrue(self.api.has_image_data(image_id))
        self.assertEqual(404, self.request(
            'GET', '/v1/images/%s' % image_id).status)
        code, out, err = cli.run('glance-scrubber',
                                 *self.scrubber(scrub_time=3600))
        self.assertEqual(0, code, out + err)
        self.assertEqual('pending_delete', self.image_status(image_id))
        self.assertTrue(self.api.has_image_data(image_id))
        code, out, err = cli.run('glance-scrubber',
                                 *self.scrubber(scrub_time=0))
        self.assertEqual(0, code, out + err)
        self.assertEqual('deleted', self.image_status(image_id))
        self.assertFalse(self.api.has_image_data(image_id))

    def test_daemon_scrubs_every_wakeup_time_and_stops_on_sigterm(self):
        log = open(os.path.join(self.api.dir, 'scrubber.log'), 'ab')
        self.addCleanup(log.close)
        proc = cli.start('glance-scrubber',
                         *self.scrubber('--daemon', wakeup_time=1),
                         log=log)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        image_id = self.delete_image()
        # The scrubber removes the data, then marks the image deleted.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and \
                self.image_status(image_id) != 'deleted':
            time.sleep(0.2)
        self.assertEqual('deleted', self.image_status(image_id))
        self.assertFalse(self.api.has_image_data(image_id))
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(10))
