"""SocketBody: a request body taken over from eventlet, over a real
socket pair (eventlet's own Input in front of it, as the server has)."""

import socket
import threading
import time

import eventlet.greenio
import eventlet.wsgi
import testtools

from glance_v1.common import exception
from glance_v1.common import socket_body


def chunked(*sizes, trailer=b''):
    out = b''
    for n in sizes:
        out += b'%x;ext=1\r\n' % n + bytes(range(256)) * (n // 256) + \
            bytes(range(n % 256)) + b'\r\n'
    return out + b'0\r\n' + trailer + b'\r\n'


def data_of(*sizes):
    return b''.join(bytes(range(256)) * (n // 256) + bytes(range(n % 256))
                    for n in sizes)


class SocketBodyTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.client, server = socket.socketpair()
        self.addCleanup(self.client.close)
        self.addCleanup(server.close)
        self.green = eventlet.greenio.GreenSocket(server)
        self.green.settimeout(5)
        self.closed = []

    def environ(self, length=None, expect=False):
        """eventlet's Input for a request whose head was read already."""
        wfile = self.green.makefile('wb') if expect else None
        inp = eventlet.wsgi.Input(
            self.green.makefile('rb'), length, self.green, wfile=wfile,
            wfile_line=b'HTTP/1.1 100 Continue\r\n' if expect else None,
            chunked_input=length is None)
        return {'eventlet.input': inp, 'wsgi.input': inp,
                'glance.close_connection': lambda: self.closed.append(1)}

    def read_all(self, body, size=65536):
        out = bytearray()
        buf = bytearray(size)
        while True:
            n = body.readinto(memoryview(buf))
            out += buf[:n]
            if n < size:
                # A short read only at the end; then nothing more.
                self.assertEqual(0, body.readinto(memoryview(buf)))
                return bytes(out)

    def send_later(self, data, delay=0.05):
        def send():
            time.sleep(delay)
            self.client.sendall(data)
        thread = threading.Thread(target=send)
        thread.start()
        self.addCleanup(thread.join)

    def test_length_body_part_buffered_part_on_socket(self):
        payload = bytes(range(256)) * 4096  # 1 MiB
        self.client.sendall(payload[:1000])
        env = self.environ(len(payload))
        body = socket_body.SocketBody.of(env)
        self.send_later(payload[1000:])
        self.assertEqual(payload, self.read_all(body, 300000))
        body.finish()
        self.assertEqual(len(payload), env['eventlet.input'].position)
        self.assertEqual([], self.closed)

    def test_length_body_leaves_the_next_request_to_eventlet(self):
        self.client.sendall(b'abcdefGET / HTTP/1.1\r\n')
        env = self.environ(6)
        body = socket_body.SocketBody.of(env)
        self.assertEqual(b'abcdef', self.read_all(body))
        body.finish()
        self.assertEqual([], self.closed)
        self.assertEqual(b'GET / HTTP/1.1\r\n',
                         env['eventlet.input'].rfile.readline())

    def test_chunked_body(self):
        sizes = (1, 7, 70000, 3, 1024 * 1024 + 1)
        wire = chunked(*sizes, trailer=b'X-Trailer: 1\r\n')
        self.client.sendall(wire[:10])
        env = self.environ()
        body = socket_body.SocketBody.of(env)
        self.send_later(wire[10:] + b'GET / HTTP/1.1\r\n')
        self.assertEqual(data_of(*sizes), self.read_all(body, 1 << 20))
        body.finish()
        self.assertEqual([], self.closed)
        self.assertEqual(0, env['eventlet.input'].chunk_length)
        # Nothing past the body was taken from the socket.
        self.assertEqual(b'GET / HTTP/1.1\r\n',
                         env['eventlet.input'].rfile.readline())

    def test_chunk_lines_arriving_byte_by_byte(self):
        wire = chunked(5, 300)
        self.client.sendall(wire[:1])
        body = socket_body.SocketBody.of(self.environ())

        def trickle():
            for i in range(1, len(wire)):
                self.client.sendall(wire[i:i + 1])
                if wire[i:i + 1] == b'\n':
                    time.sleep(0.001)
        thread = threading.Thread(target=trickle)
        thread.start()
        self.addCleanup(thread.join)
        self.assertEqual(data_of(5, 300), self.read_all(body))

    def test_pipelined_bytes_buffered_with_the_body_close_the_connection(self):
        self.client.sendall(chunked(5) + b'GET / HTTP/1.1\r\n\r\n')
        time.sleep(0.05)
        env = self.environ()
        body = socket_body.SocketBody.of(env)
        self.assertEqual(data_of(5), self.read_all(body))
        body.finish()
        self.assertEqual([1], self.closed)

    def test_bad_chunk_size(self):
        self.client.sendall(b'zz\r\nabc')
        env = self.environ()
        body = socket_body.SocketBody.of(env)
        self.assertRaises(exception.ClientDisconnected, self.read_all, body)
        body.finish()
        self.assertEqual([1], self.closed)

    def test_chunk_without_its_line_end(self):
        self.client.sendall(b'3\r\nabcXY\r\n0\r\n\r\n')
        body = socket_body.SocketBody.of(self.environ())
        self.assertRaises(exception.ClientDisconnected, self.read_all, body)

    def test_overlong_chunk_line(self):
        self.client.sendall(b'1' * 5000)
        body = socket_body.SocketBody.of(self.environ())
        start = time.monotonic()
        self.assertRaises(exception.ClientDisconnected, self.read_all, body)
        # Refused for its length, not after the socket timeout.
        self.assertLess(time.monotonic() - start, 2)

    def test_short_body(self):
        self.client.sendall(b'x' * 100)
        env = self.environ(1000)
        body = socket_body.SocketBody.of(env)
        self.client.shutdown(socket.SHUT_WR)
        self.assertRaises(exception.ClientDisconnected, self.read_all, body)
        body.finish()
        # eventlet learns how far the body got.
        self.assertEqual(100, env['eventlet.input'].position)

    def test_silent_client_before_the_body_times_out(self):
        # Taking over waits (green) for the first bytes of the body.
        self.green.settimeout(0.2)
        self.assertRaises(exception.ClientDisconnected,
                          socket_body.SocketBody.of, self.environ(10))

    def test_silent_client_times_out(self):
        self.green.settimeout(0.3)
        self.client.sendall(b'x')
        body = socket_body.SocketBody.of(self.environ(10))
        start = time.monotonic()
        self.assertRaises(exception.ClientDisconnected, self.read_all, body)
        self.assertLess(time.monotonic() - start, 3)

    def test_cancel_stops_a_waiting_reader(self):
        self.client.sendall(b'x')
        body = socket_body.SocketBody.of(self.environ(10))
        threading.Timer(0.1, body.cancel).start()
        start = time.monotonic()
        self.assertRaises(exception.ClientDisconnected, self.read_all, body)
        self.assertLess(time.monotonic() - start, 2)

    def test_hundred_continue_is_sent_when_taken_over(self):
        self.send_later(b'abc', delay=0.2)
        env = self.environ(3, expect=True)
        body = socket_body.SocketBody.of(env)
        self.assertEqual(b'HTTP/1.1 100 Continue\r\n\r\n',
                         self.client.recv(100))
        self.assertEqual(b'abc', self.read_all(body))

    def test_not_taken_over(self):
        self.client.sendall(b'abcdef')
        env = self.environ(6)
        env['eventlet.input'].read(1)
        self.assertIsNone(socket_body.SocketBody.of(env))
        env = self.environ(6)
        env['wsgi.input'] = object()
        self.assertIsNone(socket_body.SocketBody.of(env))
        self.assertIsNone(socket_body.SocketBody.of({}))
