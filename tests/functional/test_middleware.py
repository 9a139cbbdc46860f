"""oslo.middleware in the pipeline: health check, proxy headers, CORS and
request ids (reference §1 healthcheck and request ids, §7 pipelines)."""

import http.client
import os

from tests.functional import base

FORWARDED = {'X-Forwarded-Proto': 'https',
             'X-Forwarded-Host': 'images.example.com'}
ORIGIN = 'https://dashboard.example.com'


class TestMiddleware(base.FunctionalTest):

    @classmethod
    def make_server(cls):
        cls.disable_file = os.path.join(
            os.environ.get('TMPDIR', '/tmp'),
            'glance-v1-hc-%d' % os.getpid())
        return base.server.ApiServer(
            flavor='trusted-auth',
            conf={'oslo_middleware': {'enable_proxy_headers_parsing': True},
                  'cors': {'allowed_origin': ORIGIN},
                  'healthcheck': {'disable_by_file_path':
                                  cls.disable_file}})

    def test_healthcheck_disable_by_file(self):
        self.assertEqual(200, self.request('GET', '/healthcheck').status)
        open(self.disable_file, 'w').close()
        try:
            resp = self.request('GET', '/healthcheck')
            self.assertEqual(503, resp.status)
        finally:
            os.unlink(self.disable_file)
        self.assertEqual(200, self.request('GET', '/healthcheck').status)

    def test_healthcheck_needs_no_identity(self):
        # Before authentication: a load balancer has no token.
        self.assertEqual(401, self.request('GET', '/v1/images').status)
        self.assertEqual(200, self.request('GET', '/healthcheck').status)

    def test_location_behind_tls_proxy(self):
        headers = dict(base.identity(), **FORWARDED)
        resp = self.create(headers)
        self.assertEqual(201, resp.status)
        self.assertEqual('https://images.example.com/v1/images/%s'
                         % resp.json['image']['id'], resp.header('location'))

    def test_location_behind_proxy_prefix(self):
        headers = dict(base.identity(), **FORWARDED)
        headers['X-Forwarded-Prefix'] = '/image'
        resp = self.create(headers)
        self.assertEqual('https://images.example.com/image/v1/images/%s'
                         % resp.json['image']['id'], resp.header('location'))
        resp = self.request('GET', '/', headers)
        self.assertEqual('https://images.example.com/image/v1/',
                         resp.json['versions'][0]['links'][0]['href'])

    def test_forwarded_rfc7239(self):
        resp = self.request('GET', '/', {
            'Forwarded': 'for=192.0.2.60;proto=https;host=img.example.org'})
        self.assertEqual('https://img.example.org/v1/',
                         resp.json['versions'][0]['links'][0]['href'])

    def test_versions_links_behind_tls_proxy(self):
        for path in ('/', '/versions'):
            resp = self.request('GET', path, FORWARDED)
            self.assertEqual('https://images.example.com/v1/',
                             resp.json['versions'][0]['links'][0]['href'])

    def test_cors_preflight_allowed_origin(self):
        resp = self.request('OPTIONS', '/v1/images', {
            'Origin': ORIGIN, 'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'x-auth-token'})
        self.assertEqual(200, resp.status)
        self.assertEqual(ORIGIN,
                         resp.header('access-control-allow-origin'))
        self.assertIn('POST', resp.header('access-control-allow-methods'))

    def test_cors_exposes_request_id(self):
        resp = self.request('GET', '/v1/images',
                            dict(base.identity(), Origin=ORIGIN))
        self.assertEqual(200, resp.status)
        self.assertIn('X-OpenStack-Request-ID',
                      resp.header('access-control-expose-headers'))

    def test_cors_other_origin_refused(self):
        resp = self.request('GET', '/v1/images', dict(
            base.identity(), Origin='https://evil.example.net'))
        self.assertIsNone(resp.header('access-control-allow-origin'))

    def test_overlong_request_ids_are_4xx(self):
        # The reference answered 500 to these (§1, observed on Glance 15).
        for length in (65, 1000, 20000):
            resp = self.request('GET', '/v1/images', dict(
                base.identity(), **{'X-Openstack-Request-ID': 'r' * length}))
            self.assertTrue(400 <= resp.status < 500,
                            '%d: %s' % (length, resp.status))
            self.assertNotEqual(500, resp.status)

    def test_options_without_origin(self):
        # oslo.middleware's CORS answers every OPTIONS 200, Origin or not.
        resp = self.request('OPTIONS', '/v1/images', base.identity())
        self.assertEqual(200, resp.status)

    def test_one_request_id_header(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=60)
        try:
            conn.request('GET', '/v1/images', headers=dict(
                base.identity(), **{'X-Openstack-Request-ID': 'req-mine'}))
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        self.assertEqual(['req-mine'], [
            value for name, value in resp.getheaders()
            if name.lower() == 'x-openstack-request-id'])

    def test_request_id_of_healthcheck(self):
        resp = self.request('GET', '/healthcheck')
        self.assertTrue(resp.header('x-openstack-request-id')
                        .startswith('req-'))


class TestProxyHeadersIgnoredByDefault(base.FunctionalTest):

    def test_forwarded_headers_ignored(self):
        # Without a proxy in front, callers must not steer the links.
        resp = self.request('GET', '/', FORWARDED)
        self.assertEqual(self.api.url + '/v1/',
                         resp.json['versions'][0]['links'][0]['href'])
        resp = self.create(FORWARDED)
        self.assertTrue(resp.header('location').startswith(self.api.url))
