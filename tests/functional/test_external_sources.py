"""x-image-meta-location and x-glance-api-copy-from against a real loopback
http server (glance-v1-reference §3, §4, §14 LP 942118; decisions
"further" 5: internal addresses only when allow-listed)."""

import hashlib
import json
import os
import time

from tests.functional import base
from tests.functional import httpsource

COPY_FROM = 'x-glance-api-copy-from'
LOCATION = 'x-image-meta-location'


class ExternalSourceTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.source = self.useFixture(httpsource.HttpSource())
        self.data = os.urandom(2 * 1024 * 1024 + 3)
        self.source.files['/image.img'] = self.data

    def wait_status(self, image_id, wanted=('active', 'killed'),
                    timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.image_status(image_id)
            if current in wanted:
                return current
            time.sleep(0.1)
        self.fail('image %s stayed %s' % (image_id, current))

    def assertNoUrl(self, resp, url):
        self.assertNotIn(url.encode(), resp.body)
        self.assertNotIn(url, json.dumps(resp.headers))


class TestAllowListed(ExternalSourceTest):
    conf = {'DEFAULT': {'allowed_external_hosts': '127.0.0.1',
                        'image_size_cap': 4 * 1024 * 1024}}

    def test_copy_from(self):
        # §3: copy-from answers queued, then saving -> active.
        url = self.source.url('/image.img')
        resp = self.create(extra={COPY_FROM: url})
        self.assertEqual(201, resp.status, resp)
        image = resp.json['image']
        self.assertEqual('queued', image['status'])
        self.assertNoUrl(resp, url)
        self.assertEqual('active', self.wait_status(image['id']))
        # The copy does not depend on the source any more.
        del self.source.files['/image.img']
        resp = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertEqual(self.data, resp.body)
        self.assertEqual(hashlib.md5(self.data).hexdigest(),
                         resp.header('x-image-meta-checksum'))
        self.assertNoUrl(resp, url)

    def test_copy_from_put_on_queued_image(self):
        image = self.create().json['image']
        resp = self.request('PUT', '/v1/images/%s' % image['id'],
                            {COPY_FROM: self.source.url('/image.img')})
        self.assertEqual(200, resp.status, resp)
        self.assertEqual('active', self.wait_status(image['id']))
        resp = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(self.data, resp.body)

    def test_copy_from_checksum_mismatch_kills(self):
        before = self.api.store_files()
        resp = self.create(extra={COPY_FROM: self.source.url('/image.img'),
                                  'x-image-meta-checksum': '0' * 32})
        self.assertEqual(201, resp.status, resp)
        image_id = resp.json['image']['id']
        self.assertEqual('killed', self.wait_status(image_id))
        self.assertEqual(before, self.api.store_files())

    def test_copy_from_source_fails_later(self):
        # HEAD passes, the background GET fails: the image ends killed.
        before = self.api.store_files()
        self.source.failing.add('/image.img')
        resp = self.create(extra={COPY_FROM: self.source.url('/image.img')})
        self.assertEqual(201, resp.status, resp)
        self.assertEqual('killed', self.wait_status(resp.json['image']['id']))
        self.assertEqual(before, self.api.store_files())

    def test_copy_from_over_size_cap(self):
        # §3/§4: the cap holds for copies too, before anything is created.
        self.source.files['/big.img'] = b'b' * (4 * 1024 * 1024 + 1)
        before = self.request('GET', '/v1/images').json['images']
        resp = self.create(extra={COPY_FROM: self.source.url('/big.img')})
        self.assertEqual(400, resp.status)
        self.assertIn(b'Denying attempt to upload image larger than',
                      resp.body)
        self.assertEqual(before,
                         self.request('GET', '/v1/images').json['images'])

    def test_copy_from_not_found(self):
        # §15 test_copy_from_http_nonexistent_location_url
        resp = self.create(extra={COPY_FROM: self.source.url('/missing')})
        self.assertEqual(404, resp.status)
        self.assertIn(b'HTTP datastore could not find image at URI.',
                      resp.body)

    def test_location(self):
        # §3: location -> active at once, size from the remote HEAD.
        url = self.source.url('/image.img')
        resp = self.create(extra={LOCATION: url})
        self.assertEqual(201, resp.status, resp)
        image = resp.json['image']
        self.assertEqual('active', image['status'])
        self.assertEqual(len(self.data), image['size'])
        self.assertNoUrl(resp, url)
        resp = self.request('GET', '/v1/images/%s' % image['id'])
        self.assertEqual(200, resp.status)
        self.assertEqual(self.data, resp.body)
        resp = self.request('HEAD', '/v1/images/%s' % image['id'])
        self.assertNoUrl(resp, url)
        resp = self.request('GET', '/v1/images/detail')
        self.assertNoUrl(resp, url)
        # Deleting the image leaves the remote data alone.
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/%s' % image['id']).status)
        self.assertIn('/image.img', self.source.files)

    def test_location_size_conflict(self):
        # §4: a declared size the remote server contradicts -> 409.
        resp = self.create(extra={LOCATION: self.source.url('/image.img'),
                                  'x-image-meta-size': '10'})
        self.assertEqual(409, resp.status)
        self.assertIn(b'Provided image size must match the stored image '
                      b'size. (provided size: 10, stored size: %d)'
                      % len(self.data), resp.body)

    def test_location_only_while_queued(self):
        image = self.create(body=b'abc').json['image']
        resp = self.request('PUT', '/v1/images/%s' % image['id'],
                            {LOCATION: self.source.url('/image.img')})
        self.assertEqual(400, resp.status)
        self.assertIn(b'Attempted to update Location field for an image '
                      b'not in queued status.', resp.body)

    def test_restricted_schemes(self):
        # §15 test_copy_from_file / test_copy_from_swift_config; LP 942118
        for header in (COPY_FROM, LOCATION):
            for url in ('file:///etc/passwd', 'filesystem:///etc/passwd',
                        'swift+config://ref1/glance/abc',
                        'swift+http://127.0.0.1/auth/v1.0/glance/abc'):
                resp = self.create(extra={header: url})
                self.assertEqual(400, resp.status, (header, url))
                self.assertIn(("External sources are not supported: '%s'"
                               % url).encode(), resp.body)

    def test_empty_source(self):
        for header in (COPY_FROM, LOCATION):
            resp = self.create(extra={header: ''})
            self.assertEqual(400, resp.status, header)
            self.assertIn(b'External source should not be empty', resp.body)

    def test_redirect_to_internal_address_refused(self):
        # The allow-list names 127.0.0.1 only: a hop to 127.0.0.2 is
        # another host and refused like a first request would be.
        other = self.useFixture(httpsource.HttpSource('127.0.0.2'))
        other.files['/image.img'] = self.data
        self.source.redirects['/jump'] = other.url('/image.img')
        resp = self.create(extra={COPY_FROM: self.source.url('/jump')})
        self.assertEqual(400, resp.status)
        self.assertIn(b'internal address', resp.body)

    def test_redirects_followed(self):
        self.source.redirects['/jump'] = self.source.url('/image.img')
        resp = self.create(extra={LOCATION: self.source.url('/jump')})
        self.assertEqual(201, resp.status, resp)
        self.assertEqual(len(self.data), resp.json['image']['size'])


class TestNotAllowListed(ExternalSourceTest):
    """The default: loopback sources are refused (decisions "further" 5,
    OSSN-0078)."""

    def test_loopback_refused(self):
        for header in (COPY_FROM, LOCATION):
            for host in ('127.0.0.1', 'localhost'):
                url = self.source.url('/image.img').replace('127.0.0.1',
                                                            host)
                resp = self.create(extra={header: url})
                self.assertEqual(400, resp.status, (header, url))
                self.assertIn(b'internal address', resp.body)
        # Nothing was fetched, nothing was created.
        resp = self.request('GET', '/v1/images')
        self.assertEqual([], resp.json['images'])

    def test_private_and_link_local_refused(self):
        for url in ('http://10.1.2.3/x', 'http://169.254.169.254/latest',
                    'http://[::1]:80/x', 'http://224.0.0.1/x',
                    'http://0.0.0.0/x'):
            resp = self.create(extra={COPY_FROM: url})
            self.assertEqual(400, resp.status, url)
