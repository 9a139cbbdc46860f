"""JSON request bodies: bounded depth and size, one parser for glance-api
and glance-registry (decisions "Bad input")."""

import io
import json
import time

from oslo_config import fixture as config_fixture
import testtools
import webob

from glance_v1.common import exception
from glance_v1.common import request_json

TOO_DEEP = 'JSON in request body is nested too deeply: at most 32 levels.'


class LoadsTest(testtools.TestCase):

    def assertInvalid(self, data, message):
        error = self.assertRaises(exception.Invalid, request_json.loads,
                                  data)
        self.assertEqual(message, str(error))

    def test_depth_limit_is_exact(self):
        for depth in (1, 31, 32):
            nested = '[' * depth + ']' * depth
            self.assertEqual(json.loads(nested), request_json.loads(nested))
            objects = '{"a": ' * depth + '1' + '}' * depth
            self.assertEqual(json.loads(objects),
                             request_json.loads(objects.encode()))
        for depth in (33, 2000, 100000):
            self.assertInvalid('[' * depth + ']' * depth, TOO_DEEP)
        # Mixed and unclosed.
        self.assertInvalid('[{"a": ' * 17 + '1', TOO_DEEP)
        self.assertInvalid(b'[' * 100000, TOO_DEEP)

    def test_brackets_in_strings_do_not_count(self):
        value = {'a': '[[[[{{{{' * 20, 'b': ['\\"[[[[' * 20,
                                              '\u00e9]]]]\\\\']}
        self.assertEqual(value, request_json.loads(json.dumps(value)))
        self.assertEqual(value, request_json.loads(
            json.dumps(value, ensure_ascii=False).encode('utf-8')))
        # An escaped quote does not end a string; an escaped backslash
        # before a quote does.
        self.assertInvalid('["\\\\"' + '[' * 40 + ']' * 40 + ']', TOO_DEEP)
        self.assertEqual(['\\"' + '[' * 40], request_json.loads(
            '["\\\\\\"' + '[' * 40 + '"]'))

    def test_malformed(self):
        for data in (b'', b'{', b'{"a": 1}}', b'\xff\xfe{}', b'"\\',
                     '{}'.encode('utf-16'), b'[1,]', b'"' * 1001):
            self.assertInvalid(data, 'Malformed JSON in request body.')

    def test_linear_time_on_hostile_strings(self):
        # Unterminated strings full of escaped quotes must not make the
        # scan quadratic (minutes for 1 MiB): about 0.1 s here.
        started = time.monotonic()
        for data in (b'"\\' * 2 ** 19, b'"' * 2 ** 20,
                     b'["' + b'\\"' * 2 ** 19):
            self.assertRaises(exception.Invalid, request_json.loads, data)
        self.assertLess(time.monotonic() - started, 10)


class ReadTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config()).config(
            max_json_body_size=1024)

    def request(self, body, chunked=False):
        req = webob.Request.blank('/', method='PUT')
        req.body_file_raw = io.BytesIO(body)
        if chunked:
            req.headers['Transfer-Encoding'] = 'chunked'
        else:
            req.content_length = len(body)
        return req

    def test_limit(self):
        for chunked in (False, True):
            exactly = b'[' + b'1,' * 510 + b'1] '
            self.assertEqual(1024, len(exactly))
            req = self.request(exactly, chunked)
            self.assertEqual([1] * 511, request_json.from_request(req))
            req = self.request(exactly + b' ', chunked)
            error = self.assertRaises(exception.LimitExceeded,
                                      request_json.from_request, req)
            self.assertEqual('The request body is too large: at most 1024 '
                             'bytes of JSON.', str(error))

    def test_declared_length_over_the_limit_is_not_read(self):
        body = io.BytesIO(b'x' * 2000)
        req = webob.Request.blank('/', method='PUT')
        req.body_file_raw = body
        req.content_length = 2000
        self.assertRaises(exception.LimitExceeded, request_json.read, req)
        self.assertEqual(0, body.tell())

    def test_no_body_and_read_twice(self):
        req = webob.Request.blank('/', method='PUT')
        self.assertIsNone(request_json.from_request(req))
        req = self.request(b'{"a": 1}')
        self.assertEqual({'a': 1}, request_json.from_request(req))
        self.assertEqual({'a': 1}, request_json.from_request(req))
