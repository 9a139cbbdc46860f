"""python-glanceclient v1 against a real server: listing with filters,
paging and --all-tenants, and sharing (glance-v1-reference §1b, §5, §6;
decisions "differ" 3 for members.get)."""

import io
import os
import subprocess
import sys

from glanceclient import client as glance_client
from glanceclient import exc as glance_exc

from tests.functional import base

OWNER = base.identity('gc-owner')
PEER = base.identity('gc-peer')
ADMIN = base.identity('gc-admin', roles='admin')


def _client(api, identity):
    return glance_client.Client('1', endpoint=api.url,
                                identity_headers=dict(identity))


class LibraryTest(base.FunctionalTest):

    flavor = 'trusted-auth'

    def _create(self, gc, name, data, **kw):
        kw.setdefault('disk_format', 'raw')
        kw.setdefault('container_format', 'bare')
        return gc.images.create(name=name, data=io.BytesIO(data), **kw)

    def test_list_filters_and_paging(self):
        gc = _client(self.api, OWNER)
        made = [self._create(gc, 'gc-list-%d' % i, b'x' * i,
                             properties={'flavour': 'odd' if i % 2
                                         else 'even'})
                for i in range(1, 6)]
        ids = {i.id for i in made}
        # page_size 2 makes the client follow markers over three pages.
        listed = list(gc.images.list(page_size=2, sort_key='size',
                                     sort_dir='asc'))
        self.assertEqual([i.id for i in made],
                         [i.id for i in listed if i.id in ids])
        odd = gc.images.list(filters={'properties': {'flavour': 'odd'}})
        self.assertEqual({made[0].id, made[2].id, made[4].id},
                         {i.id for i in odd} & ids)
        sized = gc.images.list(filters={'size_min': 2, 'size_max': 3})
        self.assertEqual({made[1].id, made[2].id}, {i.id for i in sized})
        named = list(gc.images.list(filters={'name': 'gc-list-4'}))
        self.assertEqual([made[3].id], [i.id for i in named])
        self.assertEqual({'flavour': 'even'}, named[0].properties)
        # Another tenant sees none of them.
        peer = _client(self.api, PEER)
        self.assertEqual(set(), {i.id for i in peer.images.list()} & ids)
        # An admin sees them only when asking for all tenants.
        admin = _client(self.api, ADMIN)
        self.assertEqual(set(), {i.id for i in admin.images.list()} & ids)
        self.assertEqual(ids, {i.id for i in admin.images.list(
            is_public=None)} & ids)

    def test_members(self):
        gc = _client(self.api, OWNER)
        image = self._create(gc, 'gc-shared', b'shared')
        gc.image_members.create(image, 'gc-peer', can_share=False)
        members = gc.image_members.list(image=image)
        self.assertEqual([('gc-peer', False)],
                         [(m.member_id, m.can_share) for m in members])
        member = gc.image_members.get(image, 'gc-peer')
        self.assertEqual('gc-peer', member.member_id)
        shared = gc.image_members.list(member='gc-peer')
        self.assertEqual([image.id], [m.image_id for m in shared])

        peer = _client(self.api, PEER)
        self.assertEqual(b'shared', b''.join(peer.images.data(image.id)))
        self.assertIn(image.id, [i.id for i in peer.images.list()])
        self.assertRaises(glance_exc.HTTPForbidden, peer.images.update,
                          image.id, name='stolen')

        gc.image_members.replace(image, [{'member_id': 'gc-peer',
                                          'can_share': True}])
        self.assertTrue(gc.image_members.get(image, 'gc-peer').can_share)
        gc.image_members.delete(image.id, 'gc-peer')
        self.assertEqual([], gc.image_members.list(image=image))
        self.assertNotIn(image.id, [i.id for i in peer.images.list()])
        self.assertRaises(glance_exc.HTTPNotFound, peer.images.get, image.id)


class CLITest(base.FunctionalTest):
    """The ``glance`` CLI sends only a token, so it talks to the
    unauthenticated pipeline (every caller an admin)."""

    def glance(self, *args):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        cmd = [sys.executable, '-c',
               'import sys; from glanceclient import shell; '
               'sys.exit(shell.main())',
               '--os-image-api-version', '1', '--os-image-url', self.api.url,
               '--os-auth-token', 'x'] + list(args)
        # Without a tty on stdin the CLI would read it as image data.
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        return proc.stdout

    def _image(self, name, extra=None):
        resp = self.create(headers={'x-image-meta-name': name},
                           body=b'cli', extra=extra)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def test_image_list(self):
        mine = self._image('cli-mine', {
            'x-image-meta-property-distro': 'debian'})
        other = self._image('cli-other', {'x-image-meta-owner': 'tenant-x'})
        out = self.glance('image-list')
        self.assertIn(mine, out)
        self.assertNotIn(other, out)
        out = self.glance('image-list', '--all-tenants')
        self.assertIn(mine, out)
        self.assertIn(other, out)
        out = self.glance('image-list', '--all-tenants', '--property-filter',
                          'distro=debian')
        self.assertIn(mine, out)
        self.assertNotIn(other, out)
        out = self.glance('image-list', '--all-tenants', '--name',
                          'cli-other', '--sort-key', 'size')
        self.assertNotIn(mine, out)
        self.assertIn(other, out)

    def test_members(self):
        image_id = self._image('cli-shared')
        self.glance('member-create', '--can-share', image_id, 'cli-tenant')
        out = self.glance('member-list', '--image-id', image_id)
        self.assertIn('cli-tenant', out)
        self.assertIn('True', out)
        out = self.glance('member-list', '--tenant-id', 'cli-tenant')
        self.assertIn(image_id, out)
        self.glance('member-delete', image_id, 'cli-tenant')
        out = self.glance('member-list', '--image-id', image_id)
        self.assertNotIn('cli-tenant', out)
