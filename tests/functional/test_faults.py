"""Faults that must lose nothing and orphan nothing (glance-v1-reference §3
failure table; decisions "further" 2 and 3): a full store disk, and
damaged files in the store. Client disconnects, kill -9, database
outages and deletes racing uploads are covered elsewhere (doc/security.rst
"Faults")."""

import hashlib
import http.client
import os
import shutil
import subprocess

import testtools

from tests.functional import base
from tests.functional import server

MiB = 1024 * 1024
FILE_STORE_ONLY = testtools.skipIf(
    server.TEST_STORE != 'file',
    'damages and fills files of the filesystem store')


def _unshare():
    """The unshare(1) prefix that gives a process its own mount namespace
    (mapping the caller to root when it is not root), or None when this
    machine does not allow it."""
    if shutil.which('unshare') is None:
        return None
    prefix = ['unshare', '--mount', '--propagation', 'private']
    if os.geteuid() != 0:
        prefix.insert(1, '--map-root-user')
    try:
        probe = subprocess.run(prefix + ['mount', '-t', 'tmpfs', '-o',
                                         'size=64k', 'tmpfs', '/mnt'],
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.returncode == 0 else None


class SmallDiskServer(server.ApiServer):
    """A glance-api whose store directory is a tmpfs of ``size`` bytes,
    mounted in a mount namespace of its own: the mount disappears with
    the process, however the test ends, and nothing outside sees it."""

    def __init__(self, prefix, size, **kw):
        super().__init__(**kw)
        self.prefix = prefix
        self.size = size

    def command(self):
        os.makedirs(self.store_dir, exist_ok=True)
        return self.prefix + [
            'sh', '-c', 'mount -t tmpfs -o size=%d tmpfs "$0" && exec "$@"'
            % self.size, self.store_dir] + super().command()

    def store_files(self):
        # The process's view of its own mounts.
        root = '/proc/%d/root' % self.proc.pid
        return [f[len(root):] for f in self._walk(root + self.store_dir)]

    @staticmethod
    def _walk(top):
        found = []
        for path, _dirs, files in os.walk(top):
            found.extend(os.path.join(path, f) for f in files)
        return sorted(found)


@FILE_STORE_ONLY
class TestStoreDiskFull(base.FunctionalTest):

    @classmethod
    def make_server(cls):
        prefix = _unshare()
        if prefix is None:
            raise cls.skipException(
                'needs unshare(1) and a tmpfs mount in a private mount '
                'namespace (root, or unprivileged user namespaces)')
        return SmallDiskServer(prefix, 2 * MiB)

    def killed_since(self, before):
        resp = self.request('GET', '/v1/images/detail?is_public=none&'
                            'changes-since=2000-01-01T00:00:00')
        return [i['id'] for i in resp.json['images']
                if i['id'] not in before and i['status'] == 'killed']

    def test_storage_full_is_413_killed_and_nothing_left(self):
        first = os.urandom(MiB + MiB // 4)
        resp = self.create(body=first)
        self.assertEqual(201, resp.status, resp)
        first_id = resp.json['image']['id']
        before = {i['id'] for i in self.request(
            'GET', '/v1/images/detail?is_public=none&'
            'changes-since=2000-01-01T00:00:00').json['images']}

        def chunks():
            for _ in range(20):
                yield b'f' * (MiB // 8)
        # §3 StorageFull: 413, the image killed, no partial file; with a
        # Content-Length and chunked alike.
        for body in (os.urandom(MiB), chunks()):
            resp = self.create(body=body)
            self.assertEqual(413, resp.status, resp)
            self.assertIn(b'Image storage media is full', resp.body)
        self.assertEqual(2, len(self.killed_since(before)))
        expected = [os.path.join(self.api.store_dir, first_id)]
        self.assertEqual(expected, self.api.store_files())
        # The image already stored is intact...
        resp = self.request('GET', '/v1/images/%s' % first_id)
        self.assertEqual(first, resp.body)
        # ...and once it is deleted the space is all there again: the
        # failed uploads hold none of it.
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % first_id).status)
        resp = self.create(body=os.urandom(MiB + MiB // 2))
        self.assertEqual(201, resp.status, resp)
        self.assertEqual('active', resp.json['image']['status'])


@FILE_STORE_ONLY
class TestDamagedStoreFiles(base.FunctionalTest):
    """A file changed behind glance's back is never served as complete:
    damage seen before the first byte (a short file) gives an error
    response, damage seen later cuts the connection before Content-Length
    bytes arrive; every client sees a failed download (decisions
    "further" 3)."""

    def stored_image(self, size=3 * MiB + 5):
        data = os.urandom(size)
        resp = self.create(body=data)
        self.assertEqual(201, resp.status, resp)
        image_id = resp.json['image']['id']
        return image_id, data, os.path.join(self.api.store_dir, image_id)

    def download(self, image_id):
        """``(declared length, bytes received, complete)``."""
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=30)
        try:
            conn.request('GET', '/v1/images/%s' % image_id)
            resp = conn.getresponse()
            if resp.status != 200:
                # Damage found before the first byte went out: an error
                # response instead of a cut one.
                self.assertEqual(500, resp.status)
                body = resp.read()
                self.assertNotIn(b'Traceback', body)
                return None, b'', False
            declared = int(resp.getheader('Content-Length'))
            received = b''
            try:
                while True:
                    chunk = resp.read(65536)
                    if not chunk:
                        break
                    received += chunk
            except http.client.IncompleteRead as e:
                received += e.partial
                return declared, received, False
            return declared, received, len(received) == declared
        finally:
            conn.close()

    def test_truncated_file_is_cut_short(self):
        image_id, data, path = self.stored_image()
        os.truncate(path, 2 * MiB)
        declared, received, complete = self.download(image_id)
        self.assertIn(declared, (len(data), None))
        self.assertFalse(complete)
        self.assertLess(len(received), len(data))

    def test_same_size_corruption_is_cut_short(self):
        for size, where in ((3 * MiB + 5, MiB + 7), (3 * MiB + 5, -1),
                            (1000, 10)):
            image_id, data, path = self.stored_image(size)
            with open(path, 'r+b') as f:
                f.seek(where % size)
                byte = f.read(1)
                f.seek(where % size)
                f.write(bytes([byte[0] ^ 0xff]))
            declared, received, complete = self.download(image_id)
            self.assertIn(declared, (size, None))
            self.assertFalse(complete, (size, where))
            self.assertLess(len(received), size)
            # Whatever arrived before the cut is the stored prefix.
            self.assertEqual(data[:len(received)][:where % size],
                             received[:where % size])

    def test_intact_file_is_served_whole(self):
        image_id, data, _ = self.stored_image()
        declared, received, complete = self.download(image_id)
        self.assertTrue(complete)
        self.assertEqual(hashlib.md5(data).hexdigest(),
                         hashlib.md5(received).hexdigest())
