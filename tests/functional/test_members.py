"""Image sharing through the trusted-auth pipeline (glance-v1-reference
§6, decisions "differ" 1-3)."""

import json
import uuid

from tests.functional import base

OWNER = base.identity('owner')
MEMBER = base.identity('member-t')
OTHER = base.identity('other-t')
ADMIN = base.identity('admin-t', roles='admin')
NO_TENANT = {k: v for k, v in base.identity('x').items()
             if k != 'X-Tenant-Id'}


class MembersTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'image_member_quota': '3'}}

    def _image(self, headers=OWNER, **kw):
        resp = self.create(headers=headers, body=b'shared data', **kw)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def _members(self, image_id, headers=OWNER):
        return self.request('GET', '/v1/images/%s/members' % image_id,
                            headers)

    def _put_member(self, image_id, member, headers=OWNER, body=None):
        hdrs = dict(headers)
        if body is not None:
            hdrs['Content-Type'] = 'application/json'
            body = body if isinstance(body, bytes) else json.dumps(body)
        return self.request('PUT', '/v1/images/%s/members/%s'
                            % (image_id, member), hdrs, body)

    def _replace(self, image_id, body, headers=OWNER):
        hdrs = dict(headers, **{'Content-Type': 'application/json'})
        body = body if isinstance(body, bytes) else json.dumps(body)
        return self.request('PUT', '/v1/images/%s/members' % image_id,
                            hdrs, body)

    def _listed(self, image_id, headers):
        resp = self.request('GET', '/v1/images/detail', headers)
        self.assertEqual(200, resp.status)
        return image_id in [i['id'] for i in resp.json['images']]

    def test_lists_in_the_order_memberships_were_made(self):
        # As Glance 15 lists them (seen by tests/differential): oldest
        # membership first, a replace keeping the members it names.
        image_id = self._image()
        for member in ('zz', 'yy'):
            self.assertEqual(204, self._put_member(image_id, member).status)
        self.assertEqual(204, self._replace(image_id, {'memberships': [
            {'member_id': 'aa'},
            {'member_id': 'zz', 'can_share': True}]}).status)
        self.assertEqual(204, self._put_member(image_id, 'bb').status)
        self.assertEqual(['zz', 'aa', 'bb'], [
            m['member_id'] for m in self._members(image_id).json['members']])

        # Image ids in descending order, shared in that order.
        ids = sorted((str(uuid.uuid4()) for _ in range(3)), reverse=True)
        for image_id in ids:
            self._image(extra={'x-image-meta-id': image_id})
            self.assertEqual(204, self._put_member(image_id,
                                                   'order-m').status)
        resp = self.request('GET', '/v1/shared-images/order-m', OWNER)
        self.assertEqual(ids, [s['image_id']
                               for s in resp.json['shared_images']])

    def test_member_sees_image_until_removed(self):
        image_id = self._image()
        self.assertFalse(self._listed(image_id, MEMBER))
        self.assertEqual(404, self.request(
            'HEAD', '/v1/images/%s' % image_id, MEMBER).status)

        self.assertEqual(204, self._put_member(image_id, 'member-t').status)
        self.assertTrue(self._listed(image_id, MEMBER))
        self.assertEqual(200, self.request(
            'HEAD', '/v1/images/%s' % image_id, MEMBER).status)
        got = self.request('GET', '/v1/images/%s' % image_id, MEMBER)
        self.assertEqual((200, b'shared data'), (got.status, got.body))
        self.assertFalse(self._listed(image_id, OTHER))

        resp = self.request('DELETE', '/v1/images/%s/members/member-t'
                            % image_id, OWNER)
        self.assertEqual(204, resp.status)
        self.assertFalse(self._listed(image_id, MEMBER))
        self.assertEqual(404, self.request(
            'GET', '/v1/images/%s' % image_id, MEMBER).status)
        self.assertEqual(404, self.request(
            'DELETE', '/v1/images/%s/members/member-t' % image_id,
            OWNER).status)

    def test_list_and_show_members(self):
        image_id = self._image()
        self._put_member(image_id, 'member-t')
        self._put_member(image_id, 'other-t', body={
            'member': {'can_share': True}})
        resp = self._members(image_id)
        self.assertEqual(200, resp.status)
        self.assertEqual([{'member_id': 'member-t', 'can_share': False},
                          {'member_id': 'other-t', 'can_share': True}],
                         resp.json['members'])
        # A member sees only its own membership.
        self.assertEqual([{'member_id': 'member-t', 'can_share': False}],
                         self._members(image_id, MEMBER).json['members'])
        # decisions "differ" 3: GET of one member is 200, not 405.
        for headers in (OWNER, ADMIN, MEMBER):
            resp = self.request('GET', '/v1/images/%s/members/member-t'
                                % image_id, headers)
            self.assertEqual(200, resp.status, resp)
            self.assertEqual({'member': {'member_id': 'member-t',
                                         'can_share': False}}, resp.json)
        resp = self.request('GET', '/v1/images/%s/members/member-t'
                            % image_id, OTHER)
        self.assertEqual(404, resp.status)
        resp = self.request('GET', '/v1/images/%s/members/nobody'
                            % image_id, OWNER)
        self.assertEqual(404, resp.status)
        self.assertIn(b'Membership could not be found.', resp.body)

    def test_invisible_image_members_are_404(self):
        image_id = self._image()
        self.assertEqual(404, self._members(image_id, OTHER).status)
        self.assertEqual(404, self._put_member(image_id, 'other-t',
                                               OTHER).status)
        self.assertEqual(404, self._members('no-such-image').status)

    def test_member_cannot_modify_or_delete_image(self):
        # decisions "differ" 1: 403, never 500.
        image_id = self._image()
        self._put_member(image_id, 'member-t')
        resp = self.request('PUT', '/v1/images/%s' % image_id,
                            dict(MEMBER, **{'x-image-meta-name': 'x'}))
        self.assertEqual(403, resp.status, resp)
        resp = self.request('DELETE', '/v1/images/%s' % image_id, MEMBER)
        self.assertEqual(403, resp.status, resp)
        self.assertEqual('test', self.request(
            'HEAD', '/v1/images/%s' % image_id, OWNER).header(
                'x-image-meta-name'))

    def test_can_share(self):
        image_id = self._image()
        self._put_member(image_id, 'member-t')
        # §6: a member without can_share may not share: 404, not 403.
        resp = self._put_member(image_id, 'other-t', MEMBER)
        self.assertEqual(404, resp.status)
        self.assertIn(b'No permission to share that image', resp.body)
        resp = self.request('DELETE', '/v1/images/%s/members/member-t'
                            % image_id, MEMBER)
        self.assertEqual(404, resp.status)

        self._put_member(image_id, 'member-t',
                         body={'member': {'can_share': 'true'}})
        self.assertEqual(204, self._put_member(image_id, 'other-t',
                                               MEMBER).status)
        self.assertTrue(self._listed(image_id, OTHER))
        # Such a member may replace the whole list.
        self.assertEqual(204, self._replace(image_id, {'memberships': [
            {'member_id': 'member-t'}]}, MEMBER).status)
        self.assertFalse(self._listed(image_id, OTHER))
        self.assertEqual([{'member_id': 'member-t', 'can_share': True}],
                         self._members(image_id).json['members'])

    def test_can_share_parsed_as_boolean(self):
        # decisions "differ" 2.
        image_id = self._image()
        for value, expected in (('false', False), ('TRUE', True),
                                (False, False), (True, True)):
            resp = self._put_member(image_id, 'member-t', body={
                'member': {'can_share': value}})
            self.assertEqual(204, resp.status, resp)
            self.assertEqual(expected, self._members(image_id).json[
                'members'][0]['can_share'])
        for value in ('maybe', 1, ''):
            resp = self._put_member(image_id, 'member-t', body={
                'member': {'can_share': value}})
            self.assertEqual(400, resp.status, value)
        # An existing member keeps its flag when re-added without body.
        self._put_member(image_id, 'member-t', body={
            'member': {'can_share': True}})
        self._put_member(image_id, 'member-t')
        self.assertTrue(self._members(image_id).json['members'][0][
            'can_share'])

    def test_replace_members(self):
        image_id = self._image()
        self._put_member(image_id, 'member-t',
                         body={'member': {'can_share': True}})
        resp = self._replace(image_id, {'memberships': [
            {'member_id': 'member-t'},
            {'member_id': 'other-t', 'can_share': 'false'}]})
        self.assertEqual(204, resp.status, resp)
        self.assertEqual([{'member_id': 'member-t', 'can_share': True},
                          {'member_id': 'other-t', 'can_share': False}],
                         self._members(image_id).json['members'])
        self.assertEqual(204, self._replace(
            image_id, {'memberships': []}).status)
        self.assertEqual([], self._members(image_id).json['members'])

    def test_bad_member_bodies(self):
        image_id = self._image()
        for body in ({'memberships': [{'can_share': True}]},
                     {'members': []}, [], b'{not json',
                     {'memberships': [{'member_id': 'a' * 256}]}):
            resp = self._replace(image_id, body)
            self.assertEqual(400, resp.status, body)
        resp = self.request('PUT', '/v1/images/%s/members' % image_id,
                            OWNER)
        self.assertEqual(400, resp.status)
        for body in ({'member': 5}, {'member': []}, [], b'[1'):
            resp = self._put_member(image_id, 'member-t', body=body)
            self.assertEqual(400, resp.status, body)
        self.assertEqual([], self._members(image_id).json['members'])

    def test_member_body_without_can_share(self):
        # tempest-lib's create_image_member sends {"member": {}}: §6, the
        # reference adds the member with can_share false and keeps the
        # flag of an existing one; a null or absent value is not given.
        image_id = self._image()
        resp = self._put_member(image_id, 'member-t', body={'member': {}})
        self.assertEqual(204, resp.status, resp)
        self.assertEqual([{'member_id': 'member-t', 'can_share': False}],
                         self._members(image_id).json['members'])
        self._put_member(image_id, 'member-t', body={
            'member': {'can_share': True}})
        for body in ({'member': {}}, {}, {'can_share': False},
                     {'member': {'can_share': None}}):
            resp = self._put_member(image_id, 'member-t', body=body)
            self.assertEqual(204, resp.status, body)
            self.assertEqual(
                [{'member_id': 'member-t', 'can_share': True}],
                self._members(image_id).json['members'], body)

    def test_member_quota(self):
        # §6: image_member_quota (3 here) -> 413 with the message.
        image_id = self._image()
        resp = self._replace(image_id, {'memberships': [
            {'member_id': 't%d' % i} for i in range(4)]})
        self.assertEqual(413, resp.status)
        self.assertIn(b'The limit has been exceeded on the number of '
                      b'allowed image members for this image. Attempted: '
                      b'4, Maximum: 3', resp.body)
        for i in range(3):
            self.assertEqual(204, self._put_member(image_id,
                                                   't%d' % i).status)
        resp = self._put_member(image_id, 't9')
        self.assertEqual(413, resp.status)
        self.assertIn(b'Attempted: 4, Maximum: 3', resp.body)
        self.assertEqual(3, len(self._members(image_id).json['members']))

    def test_no_tenant_is_401(self):
        image_id = self._image()
        resp = self._put_member(image_id, 'member-t', NO_TENANT)
        self.assertEqual(401, resp.status)
        self.assertIn(b'No authenticated user', resp.body)

    def test_deleted_image(self):
        image_id = self._image()
        self._put_member(image_id, 'gone-t')
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % image_id, OWNER).status)
        for headers in (OWNER, ADMIN):
            self.assertEqual(404, self._members(image_id, headers).status)
            self.assertEqual(404, self._put_member(
                image_id, 'x', headers).status)
        resp = self._members(image_id, ADMIN)
        self.assertIn(b'has been deleted', resp.body)
        self.assertEqual([], self.request(
            'GET', '/v1/shared-images/gone-t', ADMIN).json['shared_images'])

    def test_shared_images(self):
        # Tenants of their own: the server is shared by the class.
        owner, other = base.identity('sh-owner'), base.identity('sh-other')
        mine = self._image(headers=owner)
        theirs = self._image(headers=other)
        self._put_member(mine, 'sh-member', owner)
        self._put_member(theirs, 'sh-member', other,
                         body={'member': {'can_share': True}})
        path = '/v1/shared-images/sh-member'
        self.assertEqual(
            [{'image_id': mine, 'can_share': False},
             {'image_id': theirs, 'can_share': True}],
            self.request('GET', path, ADMIN).json['shared_images'])
        # The owner sees memberships on its own images only.
        self.assertEqual([{'image_id': mine, 'can_share': False}],
                         self.request('GET', path, owner).json[
                             'shared_images'])
        self.assertEqual([], self.request('GET', path, OWNER).json[
            'shared_images'])
        # The member itself sees all of its memberships.
        shared = self.request('GET', path, base.identity('sh-member')).json[
            'shared_images']
        self.assertEqual({mine, theirs}, {s['image_id'] for s in shared})
        # §1: any method answers like GET.
        resp = self.request('POST', path, owner)
        self.assertEqual(200, resp.status)
        self.assertEqual(1, len(resp.json['shared_images']))

    def test_methods_not_allowed(self):
        image_id = self._image()
        resp = self.request('POST', '/v1/images/%s/members' % image_id,
                            OWNER)
        self.assertEqual((405, 'GET, PUT'), (resp.status,
                                             resp.header('allow')))
        resp = self.request('POST', '/v1/images/%s/members/m' % image_id,
                            OWNER)
        self.assertEqual(405, resp.status)
        self.assertEqual({'GET', 'PUT', 'DELETE'},
                         set(resp.header('allow').split(', ')))
