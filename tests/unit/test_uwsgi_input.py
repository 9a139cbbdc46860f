"""glance_v1.wsgi.uwsgi_input: chunked bodies read with uWSGI's API.

uWSGI itself is exercised by the functional suite under
``tox -e uwsgi``; here its ``chunked_read`` is a list of chunks."""

import io
import socket
import sys
import threading
import types

import testtools

from glance_v1.wsgi import uwsgi_input


def reader(chunks, error=None):
    """A ``chunked_read`` giving ``chunks``, then b'' (or ``error``)."""
    chunks = list(chunks)
    calls = []

    def read_chunk():
        calls.append(1)
        if chunks:
            return chunks.pop(0)
        if error is not None:
            raise error
        return b''
    return read_chunk, calls


class TestChunkedInput(testtools.TestCase):

    def test_reads_across_chunk_boundaries(self):
        body = bytes(range(256)) * 40
        sizes = [1, 4095, 4096, 4097, 1000]
        chunks, at = [], 0
        for n in sizes:
            chunks.append(body[at:at + n])
            at += n
        for want in (1, 7, 4096, 65536):
            inp = uwsgi_input.ChunkedInput(reader(chunks)[0])
            got = []
            while True:
                part = inp.read(want)
                if not part:
                    break
                self.assertLessEqual(len(part), want)
                got.append(part)
            self.assertEqual(body[:at], b''.join(got))
            # Short only at the end.
            self.assertTrue(all(len(p) == want for p in got[:-1]))
            self.assertEqual(b'', inp.read(want))

    def test_read_all_and_zero(self):
        inp = uwsgi_input.ChunkedInput(reader([b'ab', b'cd'])[0])
        self.assertEqual(b'', inp.read(0))
        self.assertEqual(b'abcd', inp.read())
        self.assertEqual(b'', inp.read())

    def test_whole_chunk_is_not_copied(self):
        chunk = b'x' * 65536
        inp = uwsgi_input.ChunkedInput(reader([chunk])[0])
        self.assertIs(chunk, inp.read(1024 * 1024))

    def test_no_read_past_the_end(self):
        read_chunk, calls = reader([b'data'])
        inp = uwsgi_input.ChunkedInput(read_chunk)
        self.assertEqual(b'data', inp.read())
        self.assertEqual(b'', inp.read(10))
        self.assertEqual(2, len(calls))

    def test_error_is_oserror_and_stays(self):
        read_chunk, calls = reader(
            [b'partial'], OSError('unable to receive chunked part'))
        inp = uwsgi_input.ChunkedInput(read_chunk)
        self.assertEqual(b'partial', inp.read(7))
        e = self.assertRaises(OSError, inp.read, 10)
        self.assertIn('unable to receive chunked part', str(e))
        self.assertRaises(OSError, inp.read, 10)
        self.assertEqual(2, len(calls))


class TestAdapt(testtools.TestCase):

    def fake_uwsgi(self, chunks=(), **opt):
        module = types.ModuleType('uwsgi')
        module.opt = {k.replace('_', '-'): v for k, v in opt.items()}
        module.chunked_read = reader(chunks)[0]
        self.addCleanup(sys.modules.pop, 'uwsgi', None)
        sys.modules['uwsgi'] = module
        return module

    def connection(self, module):
        """``(ours, client)``: a socket pair, ours uWSGI's connection."""
        ours, client = socket.socketpair()
        self.addCleanup(ours.close)
        self.addCleanup(client.close)
        module.connection_fd = ours.fileno
        return ours, client

    @staticmethod
    def app(environ, start_response):
        return [environ]

    def call(self, app, environ):
        [seen] = app(environ, None)
        return seen

    def test_outside_uwsgi_app_unchanged(self):
        sys.modules.pop('uwsgi', None)
        self.assertIs(self.app, uwsgi_input.adapt(self.app))

    def test_switched_off(self):
        raw = object()
        for value in (b'false', b'0', [b'true', b'no']):
            self.fake_uwsgi([b'data'], glance_chunked_input=value)
            app = uwsgi_input.adapt(self.app)
            seen = self.call(app, {'HTTP_TRANSFER_ENCODING': 'chunked',
                                   'wsgi.input': raw})
            self.assertIs(raw, seen['wsgi.input'])
            self.assertNotIn('wsgi.input_terminated', seen)

    def test_client_does_not_choose_the_scheme(self):
        self.fake_uwsgi()
        app = uwsgi_input.adapt(self.app)
        for https, scheme in (('', 'http'), ('off', 'http'),
                              ('on', 'https'), ('1', 'https')):
            # uWSGI has set https from X-Forwarded-Proto.
            environ = {'HTTP_X_FORWARDED_PROTO': 'https',
                       'wsgi.url_scheme': 'https'}
            if https:
                environ['HTTPS'] = https
            self.assertEqual(scheme,
                             self.call(app, environ)['wsgi.url_scheme'])

    def test_bad_switch_refuses_to_start(self):
        self.fake_uwsgi(glance_chunked_input=b'maybe')
        self.assertRaises(ValueError, uwsgi_input.adapt, self.app)

    def test_chunked_request_reads_decoded_body(self):
        module = self.fake_uwsgi(glance_chunked_input=b'true')
        self.connection(module)
        app = uwsgi_input.adapt(self.app)
        raw = object()
        for coding in ('chunked', 'Chunked', 'gzip, chunked'):
            module.chunked_read = reader([b'img', b'data'])[0]
            seen = self.call(app, {
                'HTTP_TRANSFER_ENCODING': coding, 'CONTENT_LENGTH': '5',
                'wsgi.input': raw})
            self.assertTrue(seen['wsgi.input_terminated'])
            self.assertNotIn('CONTENT_LENGTH', seen)
            self.assertEqual(b'imgdata', seen['wsgi.input'].read())

    def test_continue_before_the_first_chunk(self):
        module = self.fake_uwsgi()
        ours, client = self.connection(module)
        ours.setblocking(False)
        client.setblocking(False)
        app = uwsgi_input.adapt(self.app)
        for protocol, expect, sent in (
                ('HTTP/1.1', '100-continue',
                 b'HTTP/1.1 100 Continue\r\n\r\n'),
                ('HTTP/1.1', '100-Continue',
                 b'HTTP/1.1 100 Continue\r\n\r\n'),
                ('HTTP/1.0', '100-continue', None),
                ('HTTP/1.1', None, None)):
            read_chunk, calls = reader([b'img'])

            def chunked_read(sent=sent, calls=calls, read_chunk=read_chunk):
                # The client sends only once it has the interim answer.
                if sent is not None and not calls:
                    self.assertEqual(sent, client.recv(100))
                return read_chunk()
            module.chunked_read = chunked_read
            environ = {'HTTP_TRANSFER_ENCODING': 'chunked',
                       'SERVER_PROTOCOL': protocol}
            if expect:
                environ['HTTP_EXPECT'] = expect
            seen = self.call(app, environ)
            self.assertEqual(b'img', seen['wsgi.input'].read())
            self.assertEqual(2, len(calls))
            self.assertRaises(BlockingIOError, client.recv, 100)

    def test_other_requests_untouched(self):
        self.fake_uwsgi()
        app = uwsgi_input.adapt(self.app)
        raw = object()
        for headers in ({}, {'CONTENT_LENGTH': '0'},
                        {'HTTP_TRANSFER_ENCODING': 'chunked, gzip'}):
            environ = dict(headers, **{'wsgi.input': raw,
                                       'wsgi.url_scheme': 'http'})
            seen = self.call(app, dict(environ))
            self.assertTrue(callable(seen.pop('glance.close_connection')))
            self.assertEqual(environ, seen)

    def test_refused_upload_lingers_after_its_answer(self):
        module = self.fake_uwsgi()
        ours, client = self.connection(module)
        # Without the lingering close both the send and the recv below
        # time out.
        client.settimeout(5)
        closed = []

        class Result(list):
            def close(self):
                closed.append(True)

        def refusing(environ, start_response):
            environ['glance.close_connection']()
            return Result([b'400 answer'])

        def served(environ, start_response):
            return Result([b'ok'])

        self.assertIsInstance(uwsgi_input.adapt(served)({}, None), Result)
        result = uwsgi_input.adapt(refusing)({}, None)
        self.assertEqual([b'400 answer'], list(result))
        # The client still sends when the answer is out, then stops.
        sender = threading.Thread(target=lambda: (
            client.sendall(b'x' * 300000), client.shutdown(socket.SHUT_WR)))
        sender.start()
        result.close()
        sender.join()
        self.assertEqual([True], closed)
        # Our side stopped sending; uWSGI's descriptor is still open.
        self.assertEqual(b'', client.recv(10))
        self.assertGreaterEqual(ours.fileno(), 0)
        ours.getsockname()

    def test_body_left_unread_lingers(self):
        # A sized body not read whole, and any chunked one (uWSGI leaves
        # the CRLF after the last chunk unread): closing with request
        # bytes unread would reset the connection under the answer.
        module = self.fake_uwsgi([b'abc'])

        def reading(amount):
            def app(environ, start_response):
                body = environ['wsgi.input']
                while amount and body.read(amount):
                    pass
                return [b'answer']
            return uwsgi_input.adapt(app)

        cases = ((0, {'CONTENT_LENGTH': '10'}, True),
                 (4, {'CONTENT_LENGTH': '10'}, False),
                 (4, {'HTTP_TRANSFER_ENCODING': 'chunked'}, True))
        for amount, headers, lingers in cases:
            ours, client = self.connection(module)
            client.settimeout(5)
            client.shutdown(socket.SHUT_WR)
            environ = dict(headers, **{'wsgi.input': io.BytesIO(b'x' * 10),
                                       'wsgi.url_scheme': 'http'})
            result = reading(amount)(environ, None)
            self.assertEqual([b'answer'], list(result))
            if hasattr(result, 'close'):
                result.close()
            if lingers:
                # Our side stopped sending once the answer was out.
                self.assertEqual(b'', client.recv(10), headers)
            else:
                self.assertEqual([b'answer'], result)
                client.setblocking(False)
                self.assertRaises(BlockingIOError, client.recv, 10)

    def test_no_linger_before_a_bodiless_head_is_out(self):
        module = self.fake_uwsgi()
        ours, client = self.connection(module)

        def refusing(environ, start_response):
            environ['glance.close_connection']()
            return [b'']
        result = uwsgi_input.adapt(refusing)({}, None)
        self.assertEqual([b''], list(result))
        result.close()
        # uWSGI can still write the head (of a HEAD answer) after this.
        ours.sendall(b'HTTP/1.1 400 Bad Request\r\n\r\n')
        self.assertEqual(b'HTTP/1.1 400', client.recv(12))
