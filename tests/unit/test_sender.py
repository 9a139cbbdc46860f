"""Spans of a file sent by the sender thread on non-blocking sockets,
from green threads: all bytes in order, a peer that goes away or stops
reading ends the span with an error that tells what was sent."""

import errno
import os
import socket
import threading

import eventlet

from glance_v1.common import sender
from tests import base

DATA = os.urandom(3 * 1024 * 1024 + 7)


class _Green:
    """What send needs of eventlet's green socket."""

    def __init__(self, sock, timeout=None):
        self.sock = sock
        self.timeout = timeout

    def fileno(self):
        return self.sock.fileno()

    def gettimeout(self):
        return self.timeout


class TestSender(base.TestCase):

    def setUp(self):
        super().setUp()
        path = os.path.join(self.tmp, 'data')
        with open(path, 'wb') as f:
            f.write(DATA)
        self.fd = os.open(path, os.O_RDONLY)
        self.addCleanup(os.close, self.fd)
        self.ours, self.peer = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.peer.close)
        self.ours.setblocking(False)
        self.peer.settimeout(10)

    def send(self, offset, count, timeout=None):
        """send() in a green thread; its result or error."""
        def run():
            try:
                return sender.send(_Green(self.ours, timeout), self.fd,
                                   offset, count)
            except OSError as e:
                return e
        return eventlet.spawn(run).wait()

    def read(self, count, into):
        def run():
            while len(into) < count:
                data = self.peer.recv(65536)
                if not data:
                    return
                into.extend(data)
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def test_spans_arrive_whole_and_in_order(self):
        got = bytearray()
        reader = self.read(len(DATA), got)
        self.assertEqual(100, self.send(0, 100))
        self.assertEqual(len(DATA) - 100, self.send(100, len(DATA) - 100))
        reader.join(10)
        self.assertEqual(DATA, bytes(got))

    def test_peer_gone_is_an_error_with_what_was_sent(self):
        self.peer.close()
        error = self.send(0, len(DATA))
        self.assertIsInstance(error, OSError)
        self.assertIn(error.errno, (errno.EPIPE, errno.ECONNRESET))
        self.assertEqual(0, error.sent)

    def test_peer_not_reading_times_out(self):
        error = self.send(0, len(DATA), timeout=0.2)
        self.assertIsInstance(error, socket.timeout)
        self.assertGreater(error.sent, 0)
        self.assertLess(error.sent, len(DATA))
