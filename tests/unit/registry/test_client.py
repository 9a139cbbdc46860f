"""The HTTP registry client and glance-registry's app, wire to wire: each
client call reaches the same registry method with the same arguments and
the caller's identity, and its answer or exception comes back unchanged
(glance-v1-reference §11)."""

import threading
from wsgiref import simple_server

from glance_v1.api.middleware import context as context_middleware
from glance_v1.common import exception
from glance_v1.registry import client as registry_client
from glance_v1.registry.server import router
from tests import base


class RecordingRegistry:
    """Answers member calls with canned values and records them."""

    def __init__(self):
        self.calls = []

    def _record(self, name, ctx, *args, **kwargs):
        self.calls.append((name, ctx.owner, args, kwargs))
        self.last_ctx = ctx

    def image_members(self, ctx, image_id):
        self._record('image_members', ctx, image_id)
        return [{'member_id': 't2', 'can_share': True}]

    def image_member_get(self, ctx, image_id, member):
        self._record('image_member_get', ctx, image_id, member)
        if member == 'nobody':
            raise exception.NotFound('nobody is not a member')
        return {'member_id': member, 'can_share': False}

    def image_members_replace(self, ctx, image_id, memberships):
        self._record('image_members_replace', ctx, image_id, memberships)

    def image_member_add(self, ctx, image_id, member, can_share=None):
        self._record('image_member_add', ctx, image_id, member,
                     can_share=can_share)
        if member == 'forbidden':
            raise exception.Forbidden('No permission to share that image')

    def image_member_delete(self, ctx, image_id, member):
        self._record('image_member_delete', ctx, image_id, member)

    def shared_images(self, ctx, member):
        self._record('shared_images', ctx, member)
        return [{'image_id': 'i1', 'can_share': False}]

    def image_member_count(self, ctx, image_id):
        self._record('image_member_count', ctx, image_id)
        if image_id == 'hidden':
            raise exception.ImageNotFound(image_id=image_id)
        return 3

    def storage_usage(self, ctx, owner, exclude_image_id=None):
        self._record('storage_usage', ctx, owner,
                     exclude_image_id=exclude_image_id)
        if owner != ctx.owner:
            raise exception.Forbidden('not yours')
        return 12345


class _QuietHandler(simple_server.WSGIRequestHandler):

    def log_message(self, *args):
        pass


class TestMemberCalls(base.TestCase):

    def setUp(self):
        super().setUp()
        self.registry = RecordingRegistry()
        app = context_middleware.ContextMiddleware(
            router.API(registry=self.registry))
        httpd = simple_server.make_server('127.0.0.1', 0, app,
                                          handler_class=_QuietHandler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        self.conf.config(registry_host='127.0.0.1',
                         registry_port=httpd.server_port,
                         send_identity_headers=True)
        self.client = registry_client.RegistryClient()
        self.ctx = base.ctx(tenant='owner1')

    def test_calls_reach_the_registry_unchanged(self):
        c, ctx = self.client, self.ctx
        self.assertEqual([{'member_id': 't2', 'can_share': True}],
                         c.image_members(ctx, 'i1'))
        self.assertEqual({'member_id': 't3', 'can_share': False},
                         c.image_member_get(ctx, 'i1', 't3'))
        c.image_members_replace(ctx, 'i1', {'t2': True, 't3': None})
        c.image_member_add(ctx, 'i1', 't4')
        c.image_member_add(ctx, 'i1', 't5', can_share=False)
        c.image_member_delete(ctx, 'i1', 't2')
        self.assertEqual([{'image_id': 'i1', 'can_share': False}],
                         c.shared_images(ctx, 't2'))
        self.assertEqual([
            ('image_members', 'owner1', ('i1',), {}),
            ('image_member_get', 'owner1', ('i1', 't3'), {}),
            ('image_members_replace', 'owner1',
             ('i1', {'t2': True, 't3': None}), {}),
            ('image_member_add', 'owner1', ('i1', 't4'),
             {'can_share': None}),
            ('image_member_add', 'owner1', ('i1', 't5'),
             {'can_share': False}),
            ('image_member_delete', 'owner1', ('i1', 't2'), {}),
            ('shared_images', 'owner1', ('t2',), {}),
        ], self.registry.calls)

    def test_quota_figures_come_from_the_registry(self):
        c, ctx = self.client, self.ctx
        self.assertEqual(3, c.image_member_count(ctx, 'i1'))
        self.assertRaises(exception.NotFound, c.image_member_count, ctx,
                          'hidden')
        self.assertEqual(12345, c.storage_usage(ctx, 'owner1'))
        self.assertEqual(12345, c.storage_usage(ctx, 'owner1',
                                                exclude_image_id='i2'))
        self.assertRaises(exception.Forbidden, c.storage_usage, ctx, 'other')
        self.assertEqual([
            ('image_member_count', 'owner1', ('i1',), {}),
            ('image_member_count', 'owner1', ('hidden',), {}),
            ('storage_usage', 'owner1', ('owner1',),
             {'exclude_image_id': None}),
            ('storage_usage', 'owner1', ('owner1',),
             {'exclude_image_id': 'i2'}),
            ('storage_usage', 'owner1', ('other',),
             {'exclude_image_id': None}),
        ], self.registry.calls)

    def test_identity_reaches_the_registry(self):
        ctx = base.ctx(tenant='t9', user='u9', roles=('member', 'reader'))
        ctx.auth_token = 'tok'
        self.client.image_members(ctx, 'i1')
        seen = self.registry.last_ctx
        self.assertEqual(('u9', 't9', ['member', 'reader'], 'tok', False),
                         (seen.user_id, seen.project_id, seen.roles,
                          seen.auth_token, seen.is_admin))
        self.conf.config(use_user_token=False)
        self.client.image_members(ctx, 'i1')
        self.assertIsNone(self.registry.last_ctx.auth_token)
        self.conf.config(send_identity_headers=False)
        # A trusted-auth registry refuses a caller it cannot identify.
        self.assertRaises(exception.NotAuthenticated,
                          self.client.image_members, ctx, 'i1')

    def test_admin_role_makes_an_admin_in_the_registry(self):
        self.client.image_members(base.admin_ctx(), 'i1')
        self.assertTrue(self.registry.last_ctx.is_admin)

    def test_errors_come_back_as_raised(self):
        self.assertRaises(exception.NotFound, self.client.image_member_get,
                          self.ctx, 'i1', 'nobody')
        error = self.assertRaises(exception.Forbidden,
                                  self.client.image_member_add,
                                  self.ctx, 'i1', 'forbidden')
        self.assertEqual('No permission to share that image', str(error))

    def test_bad_member_bodies_are_400(self):
        for entries in ({'x': 1}, [{'can_share': True}],
                        [{'member_id': 't2', 'can_share': 'yes'}]):
            self.assertRaises(
                exception.Invalid, self.client._call, self.ctx, 'PUT',
                '/images/i1/members', body={'memberships': entries})
        self.assertEqual([], self.registry.calls)
