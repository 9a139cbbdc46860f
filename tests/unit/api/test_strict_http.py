"""The stricthttp filter: what the eventlet server refuses in the request
head is refused in the environ too, for WSGI servers that let it through
(decisions "further" 9)."""

import configparser
import os

import testtools
import webob

from glance_v1.api.middleware import strict_http

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'reached']


class StrictHttpTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.closed = []
        self.app = strict_http.filter_factory({})(_app)

    def call(self, **environ):
        req = webob.Request.blank('/v1/images', environ=environ)
        req.environ['glance.close_connection'] = lambda: self.closed.append(1)
        return req.get_response(self.app)

    def test_control_characters_are_400(self):
        for ctl in [chr(c) for c in range(0x20) if c != 0x09] + ['\x7f']:
            for key in ('HTTP_X_ROLES', 'HTTP_HOST', 'CONTENT_TYPE',
                        'QUERY_STRING', 'REQUEST_URI', 'HTTP_X_ANYTHING'):
                resp = self.call(**{key: 'a' + ctl + 'b'})
                self.assertEqual(400, resp.status_int, (key, ctl))
                self.assertIn(b'A header field holds a control character.',
                              resp.body)
        self.assertEqual(400, self.call(**{'HTTP_X_A\rB': 'c'}).status_int)
        # The eventlet server is told to close the connection.
        self.assertNotEqual([], self.closed)

    def test_the_bare_cr_of_a_smuggled_role(self):
        resp = self.call(HTTP_X_ROLES='member\rX-Roles: admin',
                         HTTP_ACCEPT='application/json')
        self.assertEqual(400, resp.status_int)
        self.assertEqual('application/json', resp.content_type)

    def test_htab_and_obs_text_pass(self):
        resp = self.call(HTTP_X_A='a\tb \xe9\xff', HTTP_ACCEPT='*/*',
                         QUERY_STRING='name=%00%0d')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(b'reached', resp.body)
        # Other environ values are not header fields: PATH_INFO is
        # already percent-decoded, and the URL filters judge it.
        self.assertEqual(200, self.call(PATH_INFO='/v1/images/a\x00').
                         status_int)
        self.assertEqual([], self.closed)

    def test_malformed_request_lines(self):
        # What uWSGI passes on of a request line the eventlet server
        # refuses itself.
        for protocol in ('HTTP/1.1.1', 'HTTP/1', 'http/1.1', 'HTTP/11.1',
                         'HTTP/1.x', '', 'HTTP/1.1 x'):
            resp = self.call(SERVER_PROTOCOL=protocol)
            self.assertEqual(400, resp.status_int, protocol)
            self.assertIn(b'Malformed request line.', resp.body)
        for method in ('GE T', 'GET\x00', '', 'G\xe9T', 'GET/'):
            resp = self.call(REQUEST_METHOD=method)
            self.assertEqual(400, resp.status_int, method)
        # uWSGI reads "GET  /v1/images HTTP/1.1" as an empty target.
        for target in ('', '/v1/images x', '/v1/\xe9'):
            resp = self.call(REQUEST_URI=target)
            self.assertEqual(400, resp.status_int, target)
        for protocol in ('HTTP/2.0', 'HTTP/3.0', 'HTTP/0.9'):
            resp = self.call(SERVER_PROTOCOL=protocol)
            self.assertEqual(505, resp.status_int, protocol)
            self.assertIn(b'Only HTTP/1.0 and HTTP/1.1 are supported.',
                          resp.body)
        self.assertEqual(18, len(self.closed))
        for protocol in ('HTTP/1.0', 'HTTP/1.1'):
            for method in ('GET', 'PATCH', 'X-CUSTOM'):
                resp = self.call(SERVER_PROTOCOL=protocol,
                                 REQUEST_METHOD=method,
                                 REQUEST_URI='/v1/images?name=%C3%A9')
                self.assertEqual(200, resp.status_int, (protocol, method))

    def test_first_filter_of_every_pipeline(self):
        for name in ('glance-api-paste.ini', 'glance-registry-paste.ini'):
            paste = configparser.ConfigParser()
            paste.read(os.path.join(REPO, 'etc', name))
            pipelines = [s for s in paste.sections()
                         if s.startswith('pipeline:')]
            self.assertNotEqual([], pipelines)
            for section in pipelines:
                self.assertEqual('stricthttp',
                                 paste[section]['pipeline'].split()[0],
                                 (name, section))
