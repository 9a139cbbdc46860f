"""python-glanceclient's v1 CLI and library against a real glance-api
(glance-v1-reference §1b)."""

import hashlib
import io
import os
import pty
import subprocess
import sys

import fixtures
from glanceclient import client as glance_client
from glanceclient import exc as glance_exc

from tests.functional import base

DATA = os.urandom(2 * 1024 * 1024 + 3)


def run_cli(test, options, args):
    """Run the v1 CLI with a terminal as stdin, as a person would:
    given a pipe or a file there, image-create and image-update upload it
    as image data."""
    cmd = [os.path.join(os.path.dirname(sys.executable), 'glance'),
           '--os-image-api-version', '1'] + options + list(args)
    primary, terminal = pty.openpty()
    test.addCleanup(os.close, primary)
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, stdin=terminal)
    finally:
        os.close(terminal)


class TestGlanceCLI(base.FunctionalTest):

    def glance(self, *args):
        proc = run_cli(self, ['--os-image-url', self.api.url,
                              '--os-auth-token', 'x'], args)
        self.assertEqual(0, proc.returncode,
                         'glance %s failed:\n%s%s' % (
                             ' '.join(args), proc.stdout, proc.stderr))
        return proc.stdout

    @staticmethod
    def table(output):
        """``| key | value |`` rows of the CLI's tables."""
        rows = {}
        for line in output.splitlines():
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) == 2 and line.startswith('|'):
                rows[cells[0]] = cells[1]
        return rows

    def test_round_trip(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        src = os.path.join(tmp, 'image.raw')
        with open(src, 'wb') as f:
            f.write(DATA)
        out = self.table(self.glance(
            'image-create', '--name', 'cli-image', '--disk-format', 'raw',
            '--container-format', 'bare', '--file', src,
            '--property', 'os_distro=debian'))
        image_id = out['id']
        self.assertEqual('active', out['status'])
        self.assertEqual(str(len(DATA)), out['size'])
        self.assertEqual(hashlib.md5(DATA).hexdigest(), out['checksum'])

        shown = self.table(self.glance('image-show', image_id))
        self.assertEqual('cli-image', shown['name'])
        self.assertEqual('debian', shown["Property 'os_distro'"])

        listing = self.glance('image-list')
        self.assertIn(image_id, listing)
        self.assertIn('cli-image', listing)

        dst = os.path.join(tmp, 'download.raw')
        # The client checks the md5 of what it downloads.
        self.glance('image-download', '--file', dst, image_id)
        with open(dst, 'rb') as f:
            self.assertEqual(DATA, f.read())

        updated = self.table(self.glance(
            'image-update', '--name', 'renamed', '--property', 'extra=1',
            image_id))
        self.assertEqual('renamed', updated['name'])
        self.assertEqual('1', updated["Property 'extra'"])
        self.assertEqual('debian', updated["Property 'os_distro'"])

        self.glance('image-delete', image_id)
        self.assertNotIn(image_id, self.glance('image-list'))


class TestGlanceLibrary(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.client = glance_client.Client('1', endpoint=self.api.url,
                                           token='x')

    def test_round_trip(self):
        image = self.client.images.create(
            name='lib-image', disk_format='raw', container_format='bare',
            data=io.BytesIO(DATA), properties={'a': 'b'})
        self.assertEqual('active', image.status)
        self.assertEqual(len(DATA), image.size)
        got = self.client.images.get(image.id)
        self.assertEqual({'a': 'b'}, got.properties)
        self.assertFalse(got.is_public)
        self.assertEqual(DATA, b''.join(self.client.images.data(image.id)))
        updated = self.client.images.update(image.id, name='lib2',
                                            properties={'c': 'd'},
                                            purge_props=True)
        self.assertEqual({'c': 'd'}, updated.properties)
        self.assertIn(image.id, [i.id for i in self.client.images.list()])
        self.client.images.delete(image.id)
        self.assertRaises(glance_exc.HTTPNotFound, self.client.images.data,
                          image.id)

    def test_queued_then_upload(self):
        image = self.client.images.create(name='q', disk_format='raw',
                                          container_format='bare')
        self.assertEqual('queued', image.status)
        image = self.client.images.update(image.id, data=io.BytesIO(DATA))
        self.assertEqual('active', image.status)
        self.assertEqual(hashlib.md5(DATA).hexdigest(), image.checksum)

    def test_error_message_reaches_client(self):
        # §15 test_exception_not_eaten_from_registry_to_api.
        error = self.assertRaises(glance_exc.HTTPBadRequest,
                                  self.client.images.create,
                                  name='bad', disk_format='bad_value',
                                  container_format='bare')
        self.assertIn("Invalid disk format 'bad_value' for image.",
                      str(error))
