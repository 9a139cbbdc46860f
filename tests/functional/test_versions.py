"""Version negotiation and the versions document (reference §13)."""

from tests.functional import base


class TestVersions(base.FunctionalTest):

    def test_root_is_multiple_choices(self):
        resp = self.request('GET', '/')
        self.assertEqual(300, resp.status)
        ids = [v['id'] for v in resp.json['versions']]
        self.assertEqual(['v1.1', 'v1.0'], ids)
        self.assertEqual(self.api.url + '/v1/',
                         resp.json['versions'][0]['links'][0]['href'])

    def test_versions_path_is_ok(self):
        self.assertEqual(200, self.request('GET', '/versions').status)

    def test_unknown_version_is_multiple_choices(self):
        self.assertEqual(300, self.request('GET', '/v3/images').status)
        self.assertEqual(300, self.request('GET', '/v2/images').status)

    def test_v1_aliases(self):
        for prefix in ('/v1', '/v1.0', '/v1.1'):
            resp = self.request('GET', prefix + '/images')
            self.assertEqual(200, resp.status, prefix)
            self.assertEqual({'images': []}, resp.json)

    def test_accept_header_selects_v1(self):
        resp = self.request('GET', '/images', {
            'Accept': 'application/vnd.openstack.images-v1'})
        self.assertEqual(200, resp.status)
        self.assertEqual({'images': []}, resp.json)

    def test_accept_header_unknown_version(self):
        resp = self.request('GET', '/images', {
            'Accept': 'application/vnd.openstack.images-v9'})
        self.assertEqual(300, resp.status)

    def test_every_response_has_request_id(self):
        for path in ('/', '/versions', '/v1/images', '/v1/images/nope',
                     '/healthcheck'):
            resp = self.request('GET', path)
            self.assertTrue(resp.header('x-openstack-request-id')
                            .startswith('req-'), path)

    def test_incoming_request_id_reused(self):
        rid = 'req-11111111-2222-3333-4444-555555555555'
        resp = self.request('GET', '/v1/images',
                            {'X-Openstack-Request-ID': rid})
        self.assertEqual(rid, resp.header('x-openstack-request-id'))

    def test_overlong_request_id_is_431(self):
        resp = self.request('GET', '/v1/images',
                            {'X-Openstack-Request-ID': 'r' * 65})
        self.assertEqual(431, resp.status)

    def test_url_not_utf8_is_400(self):
        # Found by tests/functional/test_fuzz.py: these were 500s.
        for path in ('/%80', '/v1/images/%ff', '/v1/images?name=%80',
                     '/v1/images/detail?property-%c3%28=1'):
            resp = self.request('GET', path)
            self.assertEqual(400, resp.status, path)
            self.assertIn(b'The request URL is not valid UTF-8.', resp.body)
            self.assertTrue(resp.header('x-openstack-request-id'))
        self.assertEqual(200, self.request('GET', '/v1/images?name=%c3%a9')
                         .status)
