"""glance-registry and the HTTP registry client (glance-v1-reference §11;
decisions "further" 1)."""

import datetime
import json

from oslo_config import fixture as config_fixture

from glance_v1.common import context
from glance_v1.common import exception
from glance_v1.registry import client as registry_client
from glance_v1.registry import local
from glance_v1.registry.db import session
from tests import base as unit_base
from tests.functional import base
from tests.functional import server

CONF = context.CONF


class RegistryTest(base.FunctionalTest):
    """The registry REST API itself, trusted-auth flavor."""

    @classmethod
    def make_server(cls):
        return server.RegistryServer(flavor='trusted-auth')

    def call(self, method, path, body=None, tenant='tenant1', roles='member',
             headers=None):
        hdrs = base.identity(tenant, roles=roles)
        hdrs['Accept'] = 'application/json'
        hdrs.update(headers or {})
        if body is not None:
            body = json.dumps(body)
            hdrs['Content-Type'] = 'application/json'
        return self.request(method, path, hdrs, body)

    def make_image(self, **values):
        image = {'name': 'reg', 'disk_format': 'raw',
                 'container_format': 'bare', 'status': 'queued',
                 'properties': {'a': '1', 'b': '2'}}
        image.update(values)
        resp = self.call('POST', '/images', {'image': image})
        self.assertEqual(200, resp.status, resp)
        return resp.json['image']

    def test_create_stamps_owner_and_answers_200(self):
        image = self.make_image(owner='someone-else')
        self.assertEqual('tenant1', image['owner'])
        resp = self.call('GET', '/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertEqual(image, resp.json['image'])

    def test_timestamps_have_microseconds(self):
        image = self.make_image(created_at='2020-01-02T03:04:05.000000')
        self.assertEqual('2020-01-02T03:04:05.000000', image['created_at'])
        self.assertRegex(image['updated_at'],
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$')

    def test_invisible_image_is_404(self):
        image = self.make_image()
        resp = self.call('GET', '/images/%s' % image['id'], tenant='other')
        self.assertEqual(404, resp.status)
        self.assertEqual('ImageNotFound', resp.header('x-glance-error'))

    def test_from_state_guard_is_409(self):
        image = self.make_image()
        resp = self.call('PUT', '/images/%s' % image['id'],
                         {'image': {'status': 'active'},
                          'from_state': 'saving'})
        self.assertEqual(409, resp.status)
        self.assertIn('Image operation conflicts', resp.json['message'])
        self.assertEqual('StateConflict', resp.header('x-glance-error'))
        resp = self.call('PUT', '/images/%s' % image['id'],
                         {'image': {'status': 'saving'},
                          'from_state': 'queued'})
        self.assertEqual(200, resp.status)
        self.assertEqual('saving', resp.json['image']['status'])

    def test_purge_props_header(self):
        image = self.make_image()
        path = '/images/%s' % image['id']
        resp = self.call('PUT', path, {'image': {'properties': {'c': '3'}}})
        self.assertEqual({'a': '1', 'b': '2', 'c': '3'},
                         resp.json['image']['properties'])
        resp = self.call('PUT', path, {'image': {'properties': {'c': '3'}}},
                         headers={'X-Glance-Registry-Purge-Props': 'true'})
        self.assertEqual({'c': '3'}, resp.json['image']['properties'])

    def test_other_tenant_cannot_modify_public_image(self):
        image = self.make_image(is_public=True)
        resp = self.call('PUT', '/images/%s' % image['id'],
                         {'image': {'name': 'x'}}, tenant='other')
        self.assertEqual(403, resp.status)
        resp = self.call('DELETE', '/images/%s' % image['id'],
                         tenant='other')
        self.assertEqual(403, resp.status)

    def test_delete_answers_the_deleted_image(self):
        image = self.make_image()
        resp = self.call('DELETE', '/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertTrue(resp.json['image']['deleted'])
        self.assertEqual('deleted', resp.json['image']['status'])
        self.assertEqual(404, self.call('GET', '/images/%s'
                                        % image['id']).status)

    def test_brief_and_detail_lists(self):
        image = self.make_image(name='listed', size=7)
        brief = self.call('GET', '/images?name=listed').json['images']
        self.assertEqual([{'id': image['id'], 'name': 'listed', 'size': 7,
                           'disk_format': 'raw', 'container_format': 'bare',
                           'checksum': None}], brief)
        detail = self.call('GET', '/images/detail?name=listed')
        self.assertEqual([image], detail.json['images'])
        resp = self.call('GET', '/images/detail?sort_key=bogus')
        self.assertEqual(400, resp.status)

    def test_member_path_methods(self):
        resp = self.call('POST', '/images/x/members/y')
        self.assertEqual(405, resp.status)
        self.assertEqual('GET, PUT, DELETE', resp.header('allow'))

    def test_bad_bodies_are_400(self):
        for body in ('nope', '[]', '{"image": 1}',
                     '{"image": {"size": "big"}}',
                     '{"image": {"properties": {"a": 1}}}',
                     '{"image": {"created_at": "yesterday"}}'):
            resp = self.request('POST', '/images', dict(
                base.identity(), **{'Content-Type': 'application/json'}),
                body)
            self.assertEqual(400, resp.status, body)

    def test_unauthenticated_caller_is_401(self):
        self.assertEqual(401, self.request('GET', '/images').status)


class ClientTest(base.FunctionalTest):
    """The HTTP client against a real glance-registry answers exactly
    what the in-process registry answers over the same database."""

    @classmethod
    def make_server(cls):
        return server.RegistryServer(flavor='trusted-auth')

    def setUp(self):
        super().setUp()
        conf = self.useFixture(config_fixture.Config(CONF))
        CONF([], project='glance', default_config_files=[])
        self.addCleanup(CONF.reset)
        conf.config(registry_host='127.0.0.1', registry_port=self.api.port,
                    send_identity_headers=True)
        conf.config(connection=self.api.database, group='database')
        self.addCleanup(session.dispose)
        self.client = registry_client.RegistryClient()
        self.local = local.LocalRegistry()
        self.ctx = unit_base.ctx(tenant='tenant1')

    def test_images_round_trip_exactly(self):
        when = datetime.datetime(2021, 5, 6, 7, 8, 9, 123456)
        image = self.client.image_create(self.ctx, {
            'name': 'c', 'status': 'queued', 'created_at': when,
            'properties': {'k': 'v'}, 'size': 3})
        self.assertEqual(when, image['created_at'])
        self.assertEqual(self.local.image_get(self.ctx, image['id']), image)
        updated = self.client.image_update(
            self.ctx, image['id'], {'status': 'saving'},
            from_state='queued')
        self.assertEqual(self.local.image_get(self.ctx, image['id']),
                         updated)
        listed = self.client.image_list(
            self.ctx, {'name': ['c', 'x,"y'], 'properties': {'k': 'v'},
                       'changes-since': when - datetime.timedelta(1)},
            limit=5, sort_key='name', sort_dir='asc')
        self.assertIn(updated, listed)
        gone = self.client.image_destroy(self.ctx, image['id'])
        self.assertTrue(gone['deleted'])

    def test_exceptions_keep_their_class(self):
        image = self.client.image_create(self.ctx, {'status': 'queued'})
        self.assertRaises(exception.StateConflict, self.client.image_update,
                          self.ctx, image['id'], {'status': 'active'},
                          from_state='saving')
        self.assertRaises(exception.Duplicate, self.client.image_create,
                          self.ctx, {'id': image['id'], 'status': 'queued'})
        self.assertRaises(exception.ImageNotFound, self.client.image_get,
                          unit_base.ctx(tenant='other'), image['id'])
        self.assertRaises(exception.Invalid, self.client.image_list,
                          self.ctx, marker='0' * 8 + '-0000-0000-0000-' +
                          '0' * 12)

    def test_registry_down_is_503(self):
        self.api.stop()
        self.addCleanup(self.api.start)
        error = self.assertRaises(exception.ServiceUnavailable,
                                  self.client.image_get, self.ctx, 'x')
        self.assertIn('registry service is unavailable', str(error))
