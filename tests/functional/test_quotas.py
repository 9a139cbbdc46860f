"""Quotas through the API (glance-v1-reference §8 and the quota rows of
§3's upload failure table)."""

import fixtures
import testtools

from tests.functional import base
from tests.functional import server

TENANT = base.identity('quota-t')
OTHER = base.identity('quota-other')


def tenant(test):
    """A tenant of the test's own: the class shares one server."""
    return base.identity('quota-' + test.id().rsplit('.', 1)[-1])


class StorageQuotaTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'user_storage_quota': '10B'}}

    def setUp(self):
        super().setUp()
        self.tenant = tenant(self)

    def _queued(self):
        resp = self.create(headers=self.tenant)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def _put_data(self, image_id, body):
        hdrs = dict(self.tenant,
                    **{'Content-Type': 'application/octet-stream'})
        return self.request('PUT', '/v1/images/%s' % image_id, hdrs, body)

    def test_declared_size_over_quota(self):
        self.assertEqual(201, self.create(headers=self.tenant,
                                          body=b'12345678').status)
        files = self.api.store_files()
        image_id = self._queued()
        resp = self._put_data(image_id, b'abcde')
        self.assertEqual(413, resp.status)
        self.assertIn(b'Denying attempt to upload image because it exceeds '
                      b'the quota: The size of the data 5 will exceed the '
                      b'limit. 2 bytes remaining.', resp.body)
        self.assertEqual('killed', self.image_status(image_id, self.tenant))
        self.assertEqual(files, self.api.store_files())
        # Another owner has a quota of its own; a fitting upload works.
        self.assertEqual(201, self.create(headers=OTHER,
                                          body=b'0123456789').status)
        self.assertEqual(201, self.create(headers=self.tenant,
                                          body=b'12').status)

    def test_streamed_over_quota(self):
        image_id = self._queued()
        files = self.api.store_files()
        resp = self._put_data(image_id, iter([b'123456', b'789012']))
        self.assertEqual(413, resp.status, resp)
        self.assertIn(b'exceeds the quota', resp.body)
        self.assertEqual('killed', self.image_status(image_id, self.tenant))
        self.assertEqual(files, self.api.store_files())

    def test_deleted_images_do_not_count(self):
        resp = self.create(headers=self.tenant, body=b'0123456789')
        self.assertEqual(201, resp.status)
        self.assertEqual(413, self.create(headers=self.tenant,
                                          body=b'x').status)
        self.request('DELETE', '/v1/images/%s' % resp.json['image']['id'],
                     self.tenant)
        self.assertEqual(201, self.create(headers=self.tenant,
                                          body=b'0123456789').status)


class PropertyQuotaTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'image_property_quota': '2'}}

    @staticmethod
    def _props(n, start=0):
        return {'x-image-meta-property-p%d' % i: 'v'
                for i in range(start, start + n)}

    def test_create_over_quota(self):
        resp = self.create(headers=dict(TENANT, **self._props(3)))
        self.assertEqual(413, resp.status)
        self.assertIn(b'The limit has been exceeded on the number of allowed '
                      b'image properties. Attempted: 3, Maximum: 2',
                      resp.body)

    def test_update_counts_kept_properties(self):
        resp = self.create(headers=dict(TENANT, **self._props(2)))
        self.assertEqual(201, resp.status)
        path = '/v1/images/%s' % resp.json['image']['id']
        no_purge = dict(TENANT, **{'x-glance-registry-purge-props': 'false'})
        resp = self.request('PUT', path, dict(no_purge, **self._props(1, 5)))
        self.assertEqual(413, resp.status)
        self.assertIn(b'Attempted: 3, Maximum: 2', resp.body)
        # Purging: only the properties sent count.
        resp = self.request('PUT', path, dict(TENANT, **self._props(2, 5)))
        self.assertEqual(200, resp.status, resp)
        self.assertEqual({'p5', 'p6'}, set(resp.json['image']['properties']))


class BadQuotaTest(testtools.TestCase):

    def test_start_refused(self):
        api = server.ApiServer(conf={'DEFAULT': {
            'user_storage_quota': '10 parsecs'}})
        e = self.assertRaises(fixtures.MultipleExceptions, api.setUp)
        self.assertIn('Invalid value', repr(e))
        self.assertIn('user_storage_quota', repr(e))
