"""Property protections through the API, with the sample rule files
(glance-v1-reference §7; the reference's test_property_protections and
test_property_protections_special_chars)."""

import os

import fixtures
import testtools

from tests.functional import base
from tests.functional import server

MEMBER = base.identity('prot-t', roles='member')
BILLING = base.identity('prot-t', roles='billing')
ADMIN = base.identity('prot-admin', roles='admin')
NOBODY = base.identity('prot-t', roles='reader')


def _props(**props):
    return {'x-image-meta-property-%s' % k: v for k, v in props.items()}


class RolesProtectionsTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {
        'property_protection_file': os.path.join(
            server.REPO, 'etc', 'property-protections-roles.conf.sample'),
        'property_protection_rule_format': 'roles'}}

    def _image(self, headers=MEMBER, **props):
        resp = self.create(headers=dict(headers, **_props(**props)))
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def _put(self, image_id, headers, purge=True, **props):
        hdrs = dict(headers, **_props(**props))
        hdrs['x-glance-registry-purge-props'] = str(purge).lower()
        return self.request('PUT', '/v1/images/%s' % image_id, hdrs)

    def _head_props(self, image_id, headers):
        resp = self.request('HEAD', '/v1/images/%s' % image_id, headers)
        self.assertEqual(200, resp.status)
        prefix = 'x-image-meta-property-'
        return {k[len(prefix):]: v for k, v in resp.headers.items()
                if k.startswith(prefix)}

    def test_create(self):
        self._image(x_owner_foo='o', plain='p')
        resp = self.create(headers=dict(MEMBER, **_props(x_billing_code='1')))
        self.assertEqual(403, resp.status)
        self.assertIn(b"Property 'x_billing_code' is protected", resp.body)
        self._image(ADMIN, x_billing_code='1')
        resp = self.create(headers=dict(NOBODY, **_props(x_owner_foo='1')))
        self.assertEqual(403, resp.status)

    def test_read_protected_properties_are_hidden(self):
        image_id = self._image(x_owner_foo='o')
        self.assertEqual(200, self._put(image_id, ADMIN, purge=False,
                                        x_billing_code='42').status)
        self.assertEqual({'x_owner_foo': 'o'},
                         self._head_props(image_id, MEMBER))
        self.assertEqual({'x_billing_code': '42'},
                         self._head_props(image_id, BILLING))
        self.assertEqual({'x_owner_foo': 'o', 'x_billing_code': '42'},
                         self._head_props(image_id, ADMIN))
        detail = self.request('GET', '/v1/images/detail', MEMBER).json
        image = [i for i in detail['images'] if i['id'] == image_id][0]
        self.assertEqual({'x_owner_foo': 'o'}, image['properties'])
        resp = self._put(image_id, MEMBER, purge=False, x_owner_foo='n')
        self.assertEqual(200, resp.status, resp)
        self.assertEqual({'x_owner_foo': 'n'},
                         resp.json['image']['properties'])

    def test_purge_keeps_unreadable_properties(self):
        image_id = self._image(x_owner_foo='o', plain='p')
        self._put(image_id, ADMIN, purge=False, x_billing_code='42')
        # The member may not read x_billing_code: purging leaves it.
        resp = self._put(image_id, MEMBER, x_owner_foo='o')
        self.assertEqual(200, resp.status, resp)
        self.assertEqual({'x_owner_foo': 'o', 'x_billing_code': '42'},
                         self._head_props(image_id, ADMIN))
        # Readable but not deletable by a billing caller: 403.
        resp = self._put(image_id, BILLING, x_owner_foo='o')
        self.assertEqual(403, resp.status)

    def test_update_rules(self):
        image_id = self._image(x_frozen_a='1', x_owner_b='2')
        resp = self._put(image_id, MEMBER, x_frozen_a='changed',
                         x_owner_b='2')
        self.assertEqual(403, resp.status)
        self.assertIn(b"Property 'x_frozen_a' is protected", resp.body)
        # Same value: allowed with read only.
        self.assertEqual(200, self._put(image_id, MEMBER, x_frozen_a='1',
                                        x_owner_b='3').status)
        # Deleting it (purge) is not.
        resp = self._put(image_id, MEMBER, x_owner_b='3')
        self.assertEqual(403, resp.status)
        # A caller without read on x_owner_b may not update it.
        resp = self._put(image_id, NOBODY, purge=False, x_owner_b='4')
        self.assertEqual(403, resp.status)
        self.assertEqual({'x_frozen_a': '1', 'x_owner_b': '3'},
                         self._head_props(image_id, MEMBER))

    def test_download_headers_stripped(self):
        resp = self.create(headers=dict(ADMIN, **_props(x_billing_code='7')),
                           body=b'data',
                           extra={'x-image-meta-is_public': 'true'})
        self.assertEqual(201, resp.status, resp)
        got = self.request('GET', '/v1/images/%s' % resp.json['image']['id'],
                           MEMBER)
        self.assertEqual(200, got.status)
        self.assertIsNone(got.header('x-image-meta-property-x_billing_code'))


class PoliciesProtectionsTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {
        'property_protection_file': os.path.join(
            server.REPO, 'etc', 'property-protections-policies.conf.sample'),
        'property_protection_rule_format': 'policies'}}

    def test_policies_format(self):
        resp = self.create(headers=dict(MEMBER, **_props(x_owner_a='1')))
        self.assertEqual(403, resp.status)
        resp = self.create(headers=dict(ADMIN, **_props(
            x_owner_a='1', x_frozen_b='2'), **{
                'x-image-meta-is_public': 'true'}))
        self.assertEqual(201, resp.status, resp)
        image_id = resp.json['image']['id']
        resp = self.request('HEAD', '/v1/images/%s' % image_id, MEMBER)
        self.assertIsNone(resp.header('x-image-meta-property-x_owner_a'))
        self.assertEqual('2', resp.header('x-image-meta-property-x_frozen_b'))
        resp = self.request('PUT', '/v1/images/%s' % image_id, dict(
            ADMIN, **_props(x_owner_a='1', x_frozen_b='3')))
        self.assertEqual(403, resp.status)


class BadProtectionsFileTest(testtools.TestCase):

    def test_start_refused(self):
        api = server.ApiServer(conf={'DEFAULT': {
            'property_protection_file': '/nonexistent/protections.conf'}})
        e = self.assertRaises(fixtures.MultipleExceptions, api.setUp)
        self.assertIn('Cannot read property protection file', repr(e))
