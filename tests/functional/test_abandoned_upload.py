"""An upload whose API process died is killed and its partial data
removed when the API starts again; an upload alive on another node is
left alone (decisions "further" 2)."""

import os
import signal
import time

from tests.functional import base
from tests.functional import server

CHUNK = 256 * 1024
TOTAL = 8 * CHUNK


class TestAbandonedUpload(base.FunctionalTest):

    server_per_test = True
    # Small reads and writes, so the partial data reaches the store at
    # once.
    conf = {'DEFAULT': {'upload_chunk_size': 65536},
            'glance_store': {'filesystem_store_chunk_size': 65536}}

    def setUp(self):
        super().setUp()
        self.require_file_store()

    def start_upload(self, api):
        image = self.create(api=api).json['image']
        sock = self.raw_socket(api)
        sock.sendall((
            'PUT /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
            'Content-Type: application/octet-stream\r\n'
            'Content-Length: %d\r\n\r\n' % (image['id'], TOTAL)).encode()
            + b'x' * CHUNK)
        staging = os.path.join(api.store_dir, '.staging')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # The store creates its staging directory on first use.
            staged = (self.staged(staging, image['id'])
                      if os.path.isdir(staging) else [])
            if staged and os.path.getsize(os.path.join(staging, staged[0])):
                return image['id'], sock, staging
            time.sleep(0.05)
        self.fail('the upload did not start')

    def staged(self, staging, image_id):
        return [n for n in os.listdir(staging) if n.startswith(image_id)]

    @server.eventlet_only(
        'kills glance-api\'s own process; Apache\'s daemons outlive a killed '
        'parent and end the cut upload themselves (test_wsgi_servers.'
        'TestCutUploadRecovered kills the daemons)')
    def test_upload_of_a_killed_api_is_recovered_on_restart(self):
        image_id, sock, staging = self.start_upload(self.api)
        self.assertEqual('saving', self.image_status(image_id))
        self.api.stop(signal.SIGKILL)
        sock.close()
        self.assertEqual(1, len(self.staged(staging, image_id)))
        self.api.start()
        self.assertEqual('killed', self.image_status(image_id))
        self.assertEqual([], self.staged(staging, image_id))
        self.assertFalse(os.path.exists(
            os.path.join(self.api.store_dir, image_id)))
        self.assertIn('left in saving by a process that died',
                      self.api.read_log())

    def test_live_upload_on_another_node_survives_a_restart(self):
        other = self.useFixture(server.ApiServer(
            state_dir=self.api.state_dir, conf=self.conf))
        image_id, sock, staging = self.start_upload(other)
        self.api.stop()
        self.api.start()
        self.assertEqual('saving', self.image_status(image_id))
        self.assertEqual(1, len(self.staged(staging, image_id)))
        sock.sendall(b'x' * (TOTAL - CHUNK))
        reply = sock.recv(200)
        sock.close()
        self.assertIn(b'200 OK', reply)
        self.assertEqual('active', self.image_status(image_id))
        self.assertEqual([], self.staged(staging, image_id))

    @server.eventlet_only(
        "kills glance-api's own process (under Apache its daemons outlive "
        'it)')
    def test_upload_of_a_dead_node_is_recovered_by_a_live_one(self):
        # Two nodes as on two machines (their own host names): the live
        # one kills and cleans the dead one's upload once its lease
        # expired (4 s) and within a quarter lease more (plus a pass),
        # with no restart and no scrubber.
        conf = dict(self.conf, DEFAULT=dict(self.conf['DEFAULT'],
                                            upload_lease_time=4))
        live = self.useFixture(server.ApiServer(
            state_dir=self.api.state_dir,
            conf=dict(conf, DEFAULT=dict(conf['DEFAULT'], host='live'))))
        dead = self.useFixture(server.ApiServer(
            state_dir=self.api.state_dir,
            conf=dict(conf, DEFAULT=dict(conf['DEFAULT'], host='dead'))))
        self.api.stop()
        image_id, sock, staging = self.start_upload(dead)
        dead.stop(signal.SIGKILL)
        sock.close()
        killed_at = time.monotonic()
        deadline = killed_at + 4 * 1.25 + 3
        def status():
            return self.request('HEAD', '/v1/images/%s' % image_id,
                                api=live).header('x-image-meta-status')
        while status() == 'saving':
            self.assertLess(time.monotonic(), deadline, 'still saving')
            time.sleep(0.1)
        self.assertEqual('killed', status())
        self.assertEqual([], self.staged(staging, image_id))
        self.assertIn('left in saving by a process that died',
                      live.read_log())
