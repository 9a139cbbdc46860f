"""python-glanceclient's v1 CLI and openstacksdk with real Keystone users
of two projects against a glance-api under ``flavor = keystone``: tokens,
owners, members and policy as Keystone's roles say."""

import hashlib
import os

import fixtures
from openstack import connection
from openstack import exceptions as sdk_exceptions

from tests.client import test_glanceclient
from tests.functional import base as functional
from tests.keystone import base

DATA = os.urandom(1024 * 1024 + 7)


class AuthTest(base.KeystoneTest):

    def test_no_token(self):
        resp = self.request('GET', '/v1/images')
        self.assertEqual(401, resp.status)
        self.assertEqual('Keystone uri="%s"' % self.keystone['auth_url'],
                         resp.header('www-authenticate'))

    def test_bad_token(self):
        token = self.token('alpha-member')
        for bad in ('garbage', token[:-4] + 'AAAA'):
            resp = self.request('GET', '/v1/images', self.as_user(bad))
            self.assertEqual(401, resp.status, bad)

    def test_forged_identity_headers(self):
        # What a trusted front end would send: keystonemiddleware drops
        # them, so with no token, or one it cannot validate, the caller
        # is nobody.
        forged = functional.identity('forged', roles='admin')
        self.assertEqual(401, self.request('GET', '/v1/images',
                                           forged).status)
        del forged['X-Auth-Token']
        self.assertEqual(401, self.request('GET', '/v1/images',
                                           forged).status)

    def test_owner_is_project(self):
        resp = self.create(self.as_user(self.token('alpha-member')),
                           body=b'data')
        self.assertEqual(201, resp.status, resp)
        self.assertEqual(self.user('alpha-member')['project_id'],
                         resp.json['image']['owner'])


class GlanceCLITest(base.KeystoneTest):

    def glance(self, who, *args, expect_ok=True):
        """The v1 CLI as ``who``, logging in to Keystone and finding the
        API in the catalog; ``expect_ok``: its exit status, or None not to
        look at it."""
        user = self.user(who)
        proc = test_glanceclient.run_cli(self, [
            '--os-auth-url', self.keystone['auth_url'],
            '--os-username', user['user'],
            '--os-password', user['password'],
            '--os-project-name', user['project'],
            '--os-user-domain-name', 'Default',
            '--os-project-domain-name', 'Default',
            '--os-region-name', self.region], args)
        output = proc.stdout + proc.stderr
        if expect_ok:
            self.assertEqual(0, proc.returncode, 'glance %s failed:\n%s' % (
                ' '.join(args), output))
        elif expect_ok is not None:
            self.assertNotEqual(0, proc.returncode, output)
        return output

    # ``| key | value |`` rows of the CLI's tables.
    table = staticmethod(test_glanceclient.TestGlanceCLI.table)

    def make_image(self, who, *extra):
        tmp = self.useFixture(fixtures.TempDir()).path
        src = os.path.join(tmp, 'image.raw')
        with open(src, 'wb') as f:
            f.write(DATA)
        return self.table(self.glance(
            who, 'image-create', '--name', 'ks-image', '--disk-format',
            'raw', '--container-format', 'bare', '--file', src, *extra))

    def test_round_trip(self):
        made = self.make_image('alpha-member', '--property', 'k=v')
        image_id = made['id']
        self.assertEqual('active', made['status'])
        self.assertEqual(hashlib.md5(DATA).hexdigest(), made['checksum'])
        self.assertEqual(self.user('alpha-member')['project_id'],
                         made['owner'])
        self.assertIn(image_id, self.glance('alpha-member', 'image-list'))
        shown = self.table(self.glance('alpha-member', 'image-show',
                                       image_id))
        self.assertEqual('v', shown["Property 'k'"])
        dst = os.path.join(self.useFixture(fixtures.TempDir()).path, 'out')
        self.glance('alpha-member', 'image-download', '--file', dst,
                    image_id)
        with open(dst, 'rb') as f:
            self.assertEqual(DATA, f.read())
        updated = self.table(self.glance(
            'alpha-member', 'image-update', '--name', 'renamed',
            '--property', 'k2=v2', image_id))
        self.assertEqual('renamed', updated['name'])
        self.assertEqual('v', updated["Property 'k'"])
        self.glance('alpha-member', 'image-delete', image_id)
        self.assertNotIn(image_id, self.glance('alpha-member',
                                               'image-list'))

    def test_members_across_projects(self):
        image_id = self.make_image('alpha-member')['id']
        beta = self.user('beta-member')['project_id']
        # Private to alpha: beta neither lists nor sees it.
        self.assertNotIn(image_id, self.glance('beta-member', 'image-list'))
        self.glance('beta-member', 'image-show', image_id, expect_ok=False)

        self.glance('alpha-member', 'member-create', image_id, beta)
        self.assertIn(beta, self.glance('alpha-member', 'member-list',
                                        '--image-id', image_id))
        self.assertIn(image_id, self.glance('beta-member', 'image-list'))
        shown = self.table(self.glance('beta-member', 'image-show',
                                       image_id))
        self.assertEqual(self.user('alpha-member')['project_id'],
                         shown['owner'])
        dst = os.path.join(self.useFixture(fixtures.TempDir()).path, 'out')
        self.glance('beta-member', 'image-download', '--file', dst,
                    image_id)
        with open(dst, 'rb') as f:
            self.assertEqual(DATA, f.read())
        # A member may use the image, not change it.
        self.assertIn('403', self.glance(
            'beta-member', 'image-update', '--name', 'stolen', image_id,
            expect_ok=False))
        # image-delete reports a failure but exits with 0.
        self.assertIn('403', self.glance(
            'beta-member', 'image-delete', image_id, expect_ok=None))
        # Nor share it on (not being allowed to: --can-share).
        self.assertIn('No permission to share that image', self.glance(
            'beta-member', 'member-create', image_id,
            self.user('beta-member')['project_id'], expect_ok=False))
        self.assertEqual('ks-image', self.table(self.glance(
            'alpha-member', 'image-show', image_id))['name'])

        self.glance('alpha-member', 'member-delete', image_id, beta)
        self.assertNotIn(beta, self.glance('alpha-member', 'member-list',
                                           '--image-id', image_id))
        self.glance('beta-member', 'image-show', image_id, expect_ok=False)

    def test_publicize_needs_admin(self):
        out = self.glance('alpha-member', 'image-create', '--name', 'pub',
                          '--disk-format', 'raw', '--container-format',
                          'bare', '--is-public', 'True', expect_ok=False)
        self.assertIn('403', out)
        image_id = self.make_image('alpha-admin', '--is-public', 'True')[
            'id']
        self.assertIn(image_id, self.glance('beta-member', 'image-list'))
        # An admin's image still belongs to the admin's project.
        self.assertEqual(self.user('alpha-admin')['project_id'], self.table(
            self.glance('beta-member', 'image-show', image_id))['owner'])
        private = self.make_image('alpha-member')['id']
        out = self.glance('alpha-member', 'image-update', '--is-public',
                          'True', private, expect_ok=False)
        self.assertIn('403', out)
        self.glance('alpha-admin', 'image-update', '--is-public', 'True',
                    private)


class OpenStackSDKTest(base.KeystoneTest):
    """openstacksdk logs in with a password and finds the v1 API in the
    catalog (its v1 create/show/update do not speak v1's headers: images
    are made over HTTP with the user's token)."""

    def conn(self, who):
        user = self.user(who)
        return connection.Connection(
            auth_url=self.keystone['auth_url'], username=user['user'],
            password=user['password'], project_name=user['project'],
            user_domain_name='Default', project_domain_name='Default',
            region_name=self.region, image_api_version='1')

    def test_listing_members_and_delete(self):
        alpha = self.conn('alpha-member')
        beta = self.conn('beta-member')
        token = alpha.session.get_token()
        self.tokens.update([token, beta.session.get_token()])
        resp = self.create(self.as_user(token), body=b'sdk')
        self.assertEqual(201, resp.status, resp)
        image_id = resp.json['image']['id']

        self.assertIn(image_id, [i.id for i in alpha.image.images()])
        self.assertNotIn(image_id, [i.id for i in beta.image.images()])
        beta_project = self.user('beta-member')['project_id']
        resp = self.request('PUT', '/v1/images/%s/members/%s' % (
            image_id, beta_project), self.as_user(token))
        self.assertEqual(204, resp.status, resp)
        self.assertIn(image_id, [i.id for i in beta.image.images()])

        self.assertRaises(sdk_exceptions.HttpException,
                          beta.image.delete_image, image_id,
                          ignore_missing=False)
        self.assertIn(image_id, [i.id for i in alpha.image.images()])
        alpha.image.delete_image(image_id, ignore_missing=False)
        self.assertNotIn(image_id, [i.id for i in alpha.image.images()])
