"""Policy enforcement points of v1 (glance-v1-reference §7), their
defaults and their override by ``[oslo_policy] policy_file``."""

import os
import shutil
import tempfile

from tests.functional import base

POLICY = '''
"get_images": "not role:nolist"
"get_image": "not role:noget"
"download_image": "not role:nodownload and (role:admin or not \
'yes':%(x_restricted)s)"
"add_image": "not role:noadd"
"modify_image": "not role:nomodify"
"delete_image": "not role:nodelete"
"upload_image": "not role:noupload"
"get_members": "not role:nomembers"
"modify_member": "role:admin"
"delete_member": "role:admin"
'''


def who(roles):
    return base.identity('policy-t', roles='member,' + roles)


class DefaultPolicyTest(base.FunctionalTest):

    flavor = 'trusted-auth'

    def test_publicize_needs_admin(self):
        extra = {'x-image-meta-is_public': 'true'}
        resp = self.create(headers=who('member'), extra=extra)
        self.assertEqual(403, resp.status)
        resp = self.create(headers=base.identity('a', roles='admin'),
                           extra=extra)
        self.assertEqual(201, resp.status)
        image_id = resp.json['image']['id']
        self.assertEqual('True', self.request(
            'HEAD', '/v1/images/%s' % image_id,
            who('member')).header('x-image-meta-is_public'))
        # Also on update, even with an unchanged value.
        resp = self.create(headers=who('member'))
        resp = self.request('PUT', '/v1/images/%s' % resp.json['image']['id'],
                            dict(who('member'), **extra))
        self.assertEqual(403, resp.status)

    def test_members_allowed_by_default(self):
        resp = self.create(headers=who('member'))
        path = '/v1/images/%s/members' % resp.json['image']['id']
        self.assertEqual(204, self.request('PUT', path + '/m1',
                                           who('member')).status)
        self.assertEqual(200, self.request('GET', path, who('member')).status)
        self.assertEqual(204, self.request('DELETE', path + '/m1',
                                           who('member')).status)


class PolicyFileTest(base.FunctionalTest):

    flavor = 'trusted-auth'

    @classmethod
    def make_server(cls):
        cls.policy_dir = tempfile.mkdtemp(prefix='glance-v1-policy-')
        path = os.path.join(cls.policy_dir, 'policy.yaml')
        with open(path, 'w') as f:
            f.write(POLICY)
        cls.conf = {'oslo_policy': {'policy_file': path}}
        return super().make_server()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.policy_dir, ignore_errors=True)

    def _image(self, **props):
        extra = {'x-image-meta-property-%s' % k: v for k, v in props.items()}
        resp = self.create(headers=who('member'), body=b'data', extra=extra)
        self.assertEqual(201, resp.status, resp)
        return '/v1/images/%s' % resp.json['image']['id']

    def assertDenied(self, method, path, roles, body=None, extra=None):
        headers = dict(who(roles), **(extra or {}))
        resp = self.request(method, path, headers, body)
        self.assertEqual(403, resp.status, (method, path, roles, resp))

    def test_image_enforcement_points(self):
        path = self._image()
        self.assertDenied('GET', '/v1/images', 'nolist')
        self.assertDenied('GET', '/v1/images/detail', 'nolist')
        self.assertDenied('HEAD', path, 'noget')
        self.assertDenied('GET', path, 'noget')
        self.assertDenied('GET', path, 'nodownload')
        self.assertDenied('POST', '/v1/images', 'noadd',
                          extra=base.IMAGE_HEADERS)
        self.assertDenied('PUT', path, 'nomodify')
        self.assertDenied('DELETE', path, 'nodelete')
        self.assertDenied('POST', '/v1/images', 'noupload', body=b'x',
                          extra=dict(base.IMAGE_HEADERS, **{
                              'Content-Type': 'application/octet-stream'}))
        # The same caller with none of those roles is served.
        self.assertEqual(200, self.request('HEAD', path,
                                           who('member')).status)
        self.assertEqual(200, self.request('GET', '/v1/images',
                                           who('member')).status)

    def test_policy_before_not_found(self):
        missing = '/v1/images/00000000-0000-0000-0000-000000000000'
        self.assertDenied('HEAD', missing, 'noget')
        self.assertDenied('GET', missing, 'nodownload')
        self.assertEqual(404, self.request('GET', missing,
                                           who('member')).status)

    def test_download_target_is_the_image(self):
        restricted = self._image(x_restricted='yes')
        self.assertDenied('GET', restricted, 'member')
        resp = self.request('GET', restricted,
                            dict(who('admin')))
        self.assertEqual((200, b'data'), (resp.status, resp.body))
        # HEAD is governed by get_image only.
        self.assertEqual(200, self.request('HEAD', restricted,
                                           who('member')).status)
        resp = self.request('GET', self._image(x_restricted='no'),
                            who('member'))
        self.assertEqual(200, resp.status)

    def test_member_enforcement_points(self):
        path = self._image() + '/members'
        self.assertDenied('PUT', path + '/m1', 'member')
        self.assertDenied('PUT', path, 'member', body=b'{"memberships": []}',
                          extra={'Content-Type': 'application/json'})
        self.assertDenied('GET', path, 'nomembers')
        self.assertDenied('GET', path + '/m1', 'nomembers')
        self.assertEqual(204, self.request('PUT', path + '/m1',
                                           who('admin')).status)
        self.assertDenied('DELETE', path + '/m1', 'member')
        self.assertEqual(200, self.request('GET', path, who('member')).status)
