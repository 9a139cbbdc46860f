"""glance-replicator between two (and three) running glance-api servers
(reference §12): ids, metadata, members and checksums preserved, and
``compare`` reports no differences afterwards."""

import contextlib
import hashlib
import io
import os
import subprocess
import sys

import fixtures

from glance_v1.cmd import replicator
from tests.functional import base
from tests.functional import server


class TestReplicator(base.FunctionalTest):

    server_per_test = True

    def make_server(self):
        # Unauthenticated callers are admins without the admin role, so
        # the reference's publicize_image rule would refuse them.
        policy = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'policy.json')
        with open(policy, 'w') as f:
            f.write('{"publicize_image": ""}')
        return server.ApiServer(conf={'oslo_policy': {'policy_file': policy}})

    def setUp(self):
        super().setUp()
        self.source = self.api
        self.target = self.useFixture(self.make_server())
        self.data = {}
        self.ids = {}
        for name, body, extra in (
                ('public', os.urandom(3000),
                 {'x-image-meta-is_public': 'True',
                  'x-image-meta-owner': 'tenant-a',
                  'x-image-meta-min_ram': '128',
                  'x-image-meta-property-os_distro': 'debian',
                  'x-image-meta-property-note': 'caf\xe9'.encode()}),
                ('private', b'private bytes',
                 {'x-image-meta-owner': 'tenant-b',
                  'x-image-meta-protected': 'True'}),
                ('empty', None, {'x-image-meta-size': '0'})):
            headers = dict(extra, **{'x-image-meta-name': name})
            resp = self.create(headers, body=body)
            self.assertEqual(201, resp.status, resp)
            self.ids[name] = resp.json['image']['id']
            self.data[name] = body or b''
        queued = self.create({'x-image-meta-name': 'queued'})
        self.queued_id = queued.json['image']['id']
        self.members = self.request(
            'GET', '/v1/images/%s/members' % self.ids['private'])
        if self.members.status == 200:
            self.assertEqual(204, self.request(
                'PUT', '/v1/images/%s/members/tenant-c' % self.ids['private'],
                {'Content-Type': 'application/json'},
                b'{"member": {"can_share": true}}').status)

    def replicator(self, *args):
        """(exit status, stdout, stderr) of glance-replicator, run in
        this process: it is plain HTTP and spares an interpreter start
        per call."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = replicator.main(list(args))
        return code, out.getvalue(), err.getvalue()

    def address(self, api):
        return '127.0.0.1:%d' % api.port

    def assertSameImages(self, target):
        for name, image_id in self.ids.items():
            path = '/v1/images/%s' % image_id
            mine = self.request('HEAD', path)
            theirs = self.request('HEAD', path, api=target)
            self.assertEqual(200, theirs.status, name)
            for key in ('name', 'checksum', 'size', 'owner', 'is_public',
                        'protected', 'min_ram', 'status',
                        'property-os_distro', 'property-note'):
                header = 'x-image-meta-' + key
                self.assertEqual(mine.header(header),
                                 theirs.header(header), (name, key))
            got = self.request('GET', path, api=target).body
            self.assertEqual(self.data[name], got, name)
            self.assertEqual(hashlib.md5(got).hexdigest(),
                             theirs.header('x-image-meta-checksum') or
                             hashlib.md5(b'').hexdigest())
            if self.members.status == 200:
                self.assertEqual(
                    self.request('GET', path + '/members').json,
                    self.request('GET', path + '/members',
                                 api=target).json)
        self.assertEqual(404, self.request(
            'HEAD', '/v1/images/%s' % self.queued_id, api=target).status)

    def test_livecopy_then_compare(self):
        src, dst = self.address(self.source), self.address(self.target)
        # Once through the command line, as an operator runs it.
        proc = subprocess.run(
            [sys.executable, '-m', 'glance_v1.cmd.replicator', 'size', src],
            capture_output=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn(b'Total size is 3013 bytes (2.9 KiB) across 3 images',
                      proc.stdout)

        code, out, _ = self.replicator('compare', src, dst)
        self.assertEqual(1, code)
        self.assertEqual(3, out.count('is missing'), out)

        code, out, err = self.replicator('-v', 'livecopy', src, dst)
        self.assertEqual(0, code, err)
        self.assertSameImages(self.target)
        code, out, err = self.replicator('compare', src, dst)
        self.assertEqual((0, ''), (code, out), err)

        # A metadata change on the source is carried over by livecopy.
        self.assertEqual(200, self.request(
            'PUT', '/v1/images/%s' % self.ids['public'],
            {'x-image-meta-property-os_distro': 'ubuntu',
             'x-image-meta-property-note': 'caf\xe9'.encode(),
             'x-image-meta-min_ram': '256'}).status)
        code, out, _ = self.replicator('compare', src, dst)
        self.assertEqual(1, code)
        self.assertIn('differs in min_ram', out)
        self.assertIn('differs in property-os_distro', out)
        self.assertEqual(0, self.replicator('livecopy', src, dst)[0])
        self.assertEqual((0, ''), self.replicator('compare', src, dst)[:2])
        self.assertSameImages(self.target)

    def test_dump_and_load(self):
        src, dst = self.address(self.source), self.address(self.target)
        directory = self.useFixture(fixtures.TempDir()).path
        code, _, err = self.replicator('dump', src, directory)
        self.assertEqual(0, code, err)
        self.assertEqual(
            sorted(list(self.ids.values())
                   + [i + '.img' for n, i in self.ids.items()
                      if n != 'empty']),
            sorted(os.listdir(directory)))
        code, _, err = self.replicator('load', directory, dst)
        self.assertEqual(0, code, err)
        self.assertSameImages(self.target)
        self.assertEqual((0, ''), self.replicator('compare', src, dst)[:2])
        # Loading again changes nothing.
        self.assertEqual(0, self.replicator('load', directory, dst)[0])
        self.assertEqual((0, ''), self.replicator('compare', src, dst)[:2])
