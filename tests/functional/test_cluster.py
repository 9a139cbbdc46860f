"""A cluster that heals itself (issue 18): glance-api nodes over one
PostgreSQL and the Swift all-in-one (tools/cluster.py), nodes killed at
every point of a segmented upload, deletions racing uploads and
downloads. No glance-scrubber runs here: the live nodes recover alone."""

import hashlib
import os
import signal
import socket
import time
import unittest

import fixtures
from testtools import content

from tests import db
from tests.functional import base
from tests.functional import server
from tools import cluster

MiB = 1024 * 1024
LEASE = 6
# The stated recovery bound (glance_v1.image.recovery): a quarter lease
# past the lease, plus a pass and slack for a loaded machine.
BOUND = LEASE * 1.25 + 3


class Cluster(fixtures.Fixture):
    """tools/cluster.py's cluster of ``nodes`` nodes over a throwaway
    PostgreSQL database and the running Swift all-in-one, with 1 MiB
    segments and a short lease."""

    def __init__(self, nodes):
        super().__init__()
        self.count = nodes

    def _setUp(self):
        database = self.useFixture(db.Database(backend='postgresql')).url
        self.cluster = cluster.Cluster(
            self.useFixture(fixtures.TempDir()).path)
        self.addCleanup(self.cluster.stop, purge=True)
        self.cluster.start(
            self.count, swift_aio=os.environ['GLANCE_V1_SWIFT_AIO'],
            database=database, overrides={
                ('DEFAULT', 'upload_lease_time'): LEASE,
                ('DEFAULT', 'upload_chunk_size'): 65536,
                ('DEFAULT', 'debug'): 'true',
                ('glance_store', 'swift_store_large_object_size'): 1,
                ('glance_store', 'swift_store_large_object_chunk_size'): 1,
                ('glance_store', 'swift_store_chunk_size'): 65536})
        self.nodes = self.cluster.nodes


def chunk(data):
    """``data`` as one chunk of the chunked transfer coding."""
    return b'%x\r\n%s\r\n' % (len(data), data)


@unittest.skipUnless(server.TEST_STORE == 'swift',
                     'runs in "tox -e swift" (GLANCE_V1_TEST_STORE=swift), '
                     'with PostgreSQL')
class TestCluster(base.FunctionalTest):

    @classmethod
    def setUpClass(cls):
        server.swift_settings()
        db.check_available('postgresql')
        super().setUpClass()

    @classmethod
    def make_server(cls):
        return Cluster(4)

    def setUp(self):
        super().setUp()
        self.cluster = self.api.cluster
        self.nodes = self.api.nodes
        self.api = self.nodes[0]

    # -- helpers ------------------------------------------------------------

    def status(self, image_id, node=None):
        return self.request('HEAD', '/v1/images/%s' % image_id,
                            api=node).header('x-image-meta-status')

    def segments(self, image_id):
        return [name for container, name in self.cluster.swift_objects()
                if container.endswith('_segments') and
                name.startswith(image_id + '/')]

    def wait_for(self, what, condition, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, what)
            time.sleep(0.05)

    def paused_upload(self, node, data, end=False):
        """An image created through ``node`` whose chunked body has sent
        ``data`` (and its end if ``end``) and then pauses: the client's
        pace, not a sleep, holds the upload where the test wants it."""
        image_id = self.create(api=node).json['image']['id']
        sock = self.raw_socket(node)
        self.addCleanup(sock.close)
        sock.sendall(('PUT /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                      'Content-Type: application/octet-stream\r\n'
                      'Transfer-Encoding: chunked\r\n\r\n'
                      % image_id).encode())
        for i in range(0, len(data), 65536):
            sock.sendall(chunk(data[i:i + 65536]))
        if end:
            sock.sendall(b'0\r\n\r\n')
        self.wait_for('%s never saving' % image_id,
                      lambda: self.status(image_id) == 'saving')
        return image_id, sock

    def deleted_mid_upload(self, uploader, deleter):
        """An upload through ``uploader`` paused after its first segment,
        then its image deleted through ``deleter``."""
        image_id, sock = self.paused_upload(uploader,
                                            os.urandom(MiB + MiB // 2))
        self.wait_for('no segment', lambda: self.segments(image_id))
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % image_id, api=deleter).status)
        return image_id, sock

    @staticmethod
    def restarted(*nodes):
        cluster.start_all([node for node in nodes if not node.running()])

    def committed(self, node, size):
        data = os.urandom(size)
        resp = self.create(body=data, api=node)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id'], hashlib.sha256(data).hexdigest()

    def assertServed(self, images, nodes):
        for image_id, digest in images:
            for node in nodes:
                got = self.request('GET', '/v1/images/%s' % image_id,
                                   api=node)
                self.assertEqual((200, digest), (
                    got.status, hashlib.sha256(got.body).hexdigest()),
                    '%s through %s' % (image_id, node.name))

    # -- tests --------------------------------------------------------------

    def test_nodes_killed_mid_upload_leave_nothing(self):
        first, victims = self.nodes[0], self.nodes[1:]
        committed = [self.committed(victims[0], 200),
                     self.committed(victims[1], 3 * MiB + 5)]
        # Each victim holds an upload at one point: the first segment
        # being written, one segment written and the second being
        # written, all segments written and the manifest not (a chunked
        # body is only known to end at its last chunk).
        before_first, _ = self.paused_upload(victims[0],
                                             os.urandom(MiB // 2))
        between, _ = self.paused_upload(victims[1],
                                        os.urandom(MiB + MiB // 2))
        before_manifest, _ = self.paused_upload(victims[2],
                                                os.urandom(2 * MiB))
        self.wait_for('segments never written', lambda: (
            len(self.segments(between)), len(self.segments(
                before_manifest))) == (1, 2))
        self.assertEqual([], self.segments(before_first))
        for node in victims:
            node.stop(signal.SIGKILL)
        # The other tests want every node, also if this one fails.
        self.addCleanup(self.restarted, *victims)
        killed_at = time.monotonic()
        uploads = (before_first, between, before_manifest)

        self.wait_for('still saving %.0f s after the kill' % BOUND,
                      lambda: all(self.status(i) == 'killed'
                                  for i in uploads), timeout=BOUND)
        # The recovering node removes the data right after the kill.
        self.wait_for('orphans left', lambda: not self.cluster.orphans(),
                      timeout=5)
        recovered = time.monotonic() - killed_at
        self.addDetail('recovered', content.text_content(
            '%.1f s after the kill (bound %.1f s)' % (recovered, BOUND)))
        self.assertIn('left in saving by a process that died; killed it '
                      'and removed its partial data', first.read_log())
        self.assertServed(committed, [first])

        self.restarted(*victims)
        self.assertServed(committed, self.nodes)
        for image_id in uploads:
            self.assertEqual(200, self.request(
                'DELETE', '/v1/images/%s' % image_id, api=victims[0]).status)
        self.assertEqual([], self.cluster.orphans())

    def test_deletion_stops_an_upload_early(self):
        image_id, sock = self.deleted_mid_upload(self.nodes[2], self.nodes[3])
        deleted_at = time.monotonic()
        # The client sends nothing more; the answer comes by the next
        # lease renewal (every LEASE / 4 s), not at the end of the body.
        sock.settimeout(LEASE)
        answer = sock.makefile('rb').read()
        self.assertTrue(answer.startswith(b'HTTP/1.1 412 '), answer[:300])
        self.assertLess(time.monotonic() - deleted_at, LEASE / 4 + 2)
        self.wait_for('segments left', lambda: not self.segments(image_id),
                      timeout=5)
        self.assertEqual([], self.cluster.orphans())

    def test_uploader_dying_after_a_deletion_leaves_nothing(self):
        # The DELETE removes the segment written so far; the uploading
        # node writes another before its next renewal and dies before it
        # learns of the deletion. A live node removes that one once the
        # dead upload's lease expired.
        uploader = self.nodes[1]
        image_id, sock = self.deleted_mid_upload(uploader, self.nodes[0])
        sock.sendall(chunk(os.urandom(MiB)))
        # Usually the segment is written first; if the renewal came
        # first, the upload stopped and cleaned up itself (412).
        sock.setblocking(False)

        def answered():
            try:
                return bool(sock.recv(1, socket.MSG_PEEK))
            except BlockingIOError:
                return False
        self.wait_for('neither a segment nor an answer', lambda: (
            self.segments(image_id) or answered()))
        uploader.stop(signal.SIGKILL)
        self.addCleanup(self.restarted, uploader)
        self.wait_for('orphans left', lambda: not self.cluster.orphans(),
                      timeout=BOUND)

    def test_download_cut_by_deletion_is_not_corruption(self):
        server_node, deleter = self.nodes[1], self.nodes[0]
        image_id, _ = self.committed(deleter, 32 * MiB)
        sock = socket.socket()
        self.addCleanup(sock.close)
        # A small window: the node (and Swift behind it) cannot send far
        # ahead of what the client read.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.settimeout(30)
        sock.connect(('127.0.0.1', server_node.port))
        sock.sendall(('GET /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                      'Connection: close\r\n\r\n' % image_id).encode())
        reader = sock.makefile('rb')
        head = b''
        while not head.endswith(b'\r\n\r\n'):
            head += reader.readline()
        self.assertTrue(head.startswith(b'HTTP/1.1 200 '), head)
        reader.read(MiB)
        errors = server_node.read_log().count(' ERROR ')
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % image_id, api=deleter).status)
        received = MiB + len(reader.read())
        self.assertLess(received, 32 * MiB)
        self.wait_for('not logged', lambda: 'was deleted meanwhile'
                      in server_node.read_log(), timeout=10)
        self.assertNotIn('Corrupt image download', server_node.read_log())
        self.assertEqual(errors, server_node.read_log().count(' ERROR '))
        self.assertEqual([], self.cluster.orphans())

    def test_zz_no_secret_in_any_log(self):
        # Runs last (alphabetical): every node has uploaded, failed and
        # recovered by now. Neither the Swift key nor a token it got
        # for it is logged, debug on.
        self.committed(self.nodes[3], 2 * MiB)
        conn = self.cluster.swift_connection()
        _url, token = conn.get_auth()
        conn.close()
        key = self.cluster.swift()['key']
        for node in self.nodes:
            text = node.read_log()
            self.assertIn(' DEBUG ', text)
            self.assertNotIn(key, text)
            self.assertNotIn(token, text)
