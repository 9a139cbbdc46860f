"""Two glance-api nodes over one database and one store directory, as
behind a load balancer (decisions "further" 1; the outcomes of racing
uploads and deletes are those of glance-v1-reference §3 and
OSSA-2015-003)."""

import hashlib
import os
import threading
import time

from tests import db
from tests.functional import base
from tests.functional import server


class TwoNodes(server.fixtures.Fixture):
    """Two glance-api processes sharing one database and one store."""

    def _setUp(self):
        state = self.useFixture(server.fixtures.TempDir()).path
        database = self.useFixture(db.Database(directory=state)).url
        self.nodes = [self.useFixture(server.ApiServer(state_dir=state,
                                                       database=database))
                      for _ in range(2)]


class TestTwoNodes(base.FunctionalTest):

    @classmethod
    def make_server(cls):
        return TwoNodes()

    def setUp(self):
        super().setUp()
        self.node1, self.node2 = self.api.nodes
        self.api = self.node1

    def stored(self, image_id):
        return [f for f in self.node1.store_files() if image_id in f]

    def head(self, node, image_id):
        resp = self.request('HEAD', '/v1/images/%s' % image_id, api=node)
        return resp.status, {k: v for k, v in resp.headers.items()
                             if k.startswith('x-image-meta-')}

    def queued_image(self):
        resp = self.create(api=self.node1)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def put_data(self, node, image_id, data, results):
        resp = self.request('PUT', '/v1/images/%s' % image_id, {
            'Content-Type': 'application/octet-stream'}, data, api=node)
        results.append(resp)

    def test_created_on_one_node_served_by_the_other(self):
        data = os.urandom(3 * 1024 * 1024 + 7)
        resp = self.create(body=data, api=self.node1)
        self.assertEqual(201, resp.status, resp)
        image_id = resp.json['image']['id']

        listed = self.request('GET', '/v1/images', api=self.node2)
        self.assertIn(image_id, [i['id'] for i in listed.json['images']])
        status, meta = self.head(self.node2, image_id)
        self.assertEqual(200, status)
        self.assertEqual(self.head(self.node1, image_id)[1], meta)
        self.assertEqual('active', meta['x-image-meta-status'])
        got = self.request('GET', '/v1/images/%s' % image_id,
                           api=self.node2)
        self.assertEqual(200, got.status)
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         hashlib.sha256(got.body).hexdigest())

        self.assertEqual(200, self.request('DELETE', '/v1/images/%s'
                                           % image_id, api=self.node2).status)
        # noauth callers are admins, who still see deleted images.
        self.assertEqual('deleted', self.head(self.node1, image_id)[1][
            'x-image-meta-status'])
        self.assertEqual([], self.stored(image_id))

    def test_concurrent_uploads_one_wins_the_other_409(self):
        image_id = self.queued_image()
        bodies = [os.urandom(2 * 1024 * 1024), os.urandom(2 * 1024 * 1024)]
        results = []
        threads = [threading.Thread(target=self.put_data,
                                    args=(node, image_id, body, results))
                   for node, body in zip((self.node1, self.node2), bodies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual([200, 409], sorted(r.status for r in results),
                         results)
        winner = next(r for r in results if r.status == 200)
        checksum = winner.json['image']['checksum']
        data = bodies[[hashlib.md5(b).hexdigest()
                       for b in bodies].index(checksum)]
        for node in (self.node1, self.node2):
            got = self.request('GET', '/v1/images/%s' % image_id, api=node)
            self.assertEqual(200, got.status, got)
            # Digests, so a failure does not print megabytes.
            self.assertEqual((200, hashlib.md5(data).hexdigest()),
                             (got.status, hashlib.md5(got.body).hexdigest()))
        # Only the winner's bytes are stored; nothing staged is left.
        self.assertEqual(1, len(self.stored(image_id)),
                         self.node1.store_files())

    def test_delete_racing_an_upload_is_412_and_leaves_nothing(self):
        image_id = self.queued_image()
        data = os.urandom(1024 * 1024)
        sock = self.raw_socket(self.node1)
        self.addCleanup(sock.close)
        sock.sendall(('PUT /v1/images/%s HTTP/1.1\r\nHost: node1\r\n'
                      'Content-Type: application/octet-stream\r\n'
                      'Connection: close\r\n'
                      'Content-Length: %d\r\n\r\n'
                      % (image_id, len(data))).encode() + data[:1000])
        deadline = time.monotonic() + 30
        while self.head(self.node2, image_id)[1].get(
                'x-image-meta-status') != 'saving':
            self.assertLess(time.monotonic(), deadline, 'never saving')
            time.sleep(0.05)
        resp = self.request('DELETE', '/v1/images/%s' % image_id,
                            api=self.node2)
        self.assertEqual(200, resp.status, resp)
        sock.sendall(data[1000:])
        answer = sock.makefile('rb').read()
        self.assertTrue(answer.startswith(b'HTTP/1.1 412 '), answer[:300])
        self.assertIn(b'could not be found after upload', answer)
        self.assertEqual('deleted', self.head(self.node1, image_id)[1][
            'x-image-meta-status'])
        self.assertEqual([], self.stored(image_id))
