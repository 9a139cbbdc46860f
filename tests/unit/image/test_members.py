"""Parsing of member request bodies and the sharing rules of the
registry (glance-v1-reference §6, decisions "differ" 2)."""

from glance_v1.common import exception
from glance_v1.image import members
from tests import base


class ParseTest(base.TestCase):

    def test_can_share(self):
        for value, expected in ((True, True), (False, False),
                                ('true', True), ('False', False),
                                (' TRUE ', True)):
            self.assertIs(expected, members.parse_can_share(value))
        for value in ('yes', '1', 1, 0, None, [], {}):
            self.assertRaises(exception.Invalid, members.parse_can_share,
                              value)

    def test_memberships(self):
        self.assertEqual(
            {'a': None, 'b': True, 'c': False},
            members.parse_memberships({'memberships': [
                {'member_id': 'a'}, {'member_id': 'b', 'can_share': True},
                {'member_id': 'c', 'can_share': 'false'}]}))
        for body in (None, [], {'memberships': {}}, {'memberships': [{}]},
                     {'memberships': [{'member_id': ''}]},
                     {'memberships': [{'member_id': 7}]},
                     {'memberships': ['a']}):
            e = self.assertRaises(exception.Invalid,
                                  members.parse_memberships, body)
            self.assertIn('Invalid membership association', str(e))

    def test_member(self):
        self.assertIsNone(members.parse_member(None, 'm'))
        self.assertTrue(members.parse_member(
            {'member': {'can_share': 'true'}}, 'm'))
        # Not given: the reference adds the member (or keeps its flag).
        for body in ({}, {'member': {}}, {'member': {'can_share': None}},
                     {'can_share': True}):
            self.assertIsNone(members.parse_member(body, 'm'))
        for body in ({'member': []}, {'member': 5}, [], 'x',
                     {'member': {'can_share': 'maybe'}}):
            self.assertRaises(exception.Invalid, members.parse_member,
                              body, 'm')
        self.assertRaises(exception.Invalid, members.parse_member, None,
                          'm' * 256)


class RegistryMembersTest(base.DatabaseTestCase):

    def setUp(self):
        super().setUp()
        self.owner = base.ctx(tenant='owner')
        self.image = self.registry.image_create(self.owner, {
            'status': 'active'})['id']

    def test_sharing_rules(self):
        member = base.ctx(tenant='member')
        self.registry.image_member_add(self.owner, self.image, 'member')
        self.assertRaises(exception.Forbidden,
                          self.registry.image_member_add, member,
                          self.image, 'third')
        self.registry.image_member_add(self.owner, self.image, 'member',
                                       can_share=True)
        self.registry.image_member_add(member, self.image, 'third')
        self.assertEqual(
            [{'member_id': 'member', 'can_share': True},
             {'member_id': 'third', 'can_share': False}],
            self.registry.image_members(self.owner, self.image))
        self.assertEqual([{'member_id': 'third', 'can_share': False}],
                         self.registry.image_members(
                             base.ctx(tenant='third'), self.image))
        self.assertEqual(2, self.registry.image_member_count(self.owner,
                                                             self.image))
        self.registry.image_members_replace(member, self.image,
                                            {'third': None})
        self.assertEqual(1, self.registry.image_member_count(self.owner,
                                                             self.image))
        # The member that gave up its own membership can no longer see it.
        self.assertRaises(exception.NotFound, self.registry.image_members,
                          member, self.image)

    def test_get_and_delete(self):
        self.registry.image_member_add(self.owner, self.image, 'member')
        self.assertRaises(exception.NotFound,
                          self.registry.image_member_get,
                          base.ctx(tenant='other'), self.image, 'member')
        self.assertEqual({'member_id': 'member', 'can_share': False},
                         self.registry.image_member_get(
                             base.ctx(tenant='member'), self.image,
                             'member'))
        self.registry.image_member_delete(self.owner, self.image, 'member')
        self.assertRaises(exception.NotFound,
                          self.registry.image_member_delete, self.owner,
                          self.image, 'member')

    def test_shared_images(self):
        self.registry.image_member_add(self.owner, self.image, 'member')
        expected = [{'image_id': self.image, 'can_share': False}]
        for ctx in (self.owner, base.ctx(tenant='member'),
                    base.admin_ctx()):
            self.assertEqual(expected,
                             self.registry.shared_images(ctx, 'member'))
        self.assertEqual([], self.registry.shared_images(
            base.ctx(tenant='other'), 'member'))
        self.registry.image_destroy(self.owner, self.image)
        self.assertEqual([], self.registry.shared_images(base.admin_ctx(),
                                                         'member'))
