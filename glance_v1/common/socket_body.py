"""A request body received straight from its socket by a native thread.

eventlet reads a body on the hub: every wait for data is a trip through
the event loop and every read a new bytes object, which for image data
cost the hub about as much CPU as hashing it. ``SocketBody`` takes over
the connection once eventlet has parsed the request head: what eventlet
already buffered is handed over first, and the rest is received with
poll() and recv_into() into the caller's buffers, by whichever native
thread calls ``readinto``. Chunked transfer coding is decoded here.

The green thread that owns the request calls ``finish()`` when done, so
that eventlet sees the body as read (or closes the connection when the
body was left in an unknown state).
"""

import _socket
import errno
import select
import socket
import sys
import time

from glance_v1.common import exception

# Chunk-size lines and trailers are short; anything longer is garbage.
_MAX_LINE = 4096
# How often a waiting reader checks whether it was cancelled.
_POLL_SLICE = 0.25
_CLOSE_HOOK = 'glance.close_connection'


def _original(module):
    # poll() must block this native thread, not switch green threads.
    # Without eventlet loaded (mod_wsgi...) nothing is patched.
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is None:
        return module
    return patcher.original(module.__name__)


class SocketBody:
    """The unread body of one request; see the module docstring.

    ``length`` is the declared Content-Length, None for a chunked body.
    """

    def __init__(self, environ, sock, length, timeout):
        self._environ = environ
        self._sock = sock
        self.length = length
        self._timeout = timeout
        self._pending = bytearray()
        self._consumed = 0
        self._chunk_left = 0
        self._done = length == 0
        self._cancelled = False
        self._poll = _original(select).poll()
        self._poll.register(sock.fileno(), select.POLLIN)

    @classmethod
    def of(cls, environ):
        """The body of the request in ``environ`` as a SocketBody, or None
        when it cannot be taken over: not served by eventlet on a plain
        socket, or already (partly) read."""
        inp = environ.get('eventlet.input')
        if inp is None or environ.get('wsgi.input') is not inp or \
                _CLOSE_HOOK not in environ:
            return None
        if inp.position or inp.chunk_length != -1:
            return None
        sock = getattr(inp.get_socket(), 'fd', None)
        # A plain socket under eventlet's green one; on a TLS socket the
        # bytes received are not the body's.
        if not isinstance(sock, _socket.socket) or \
                hasattr(sock, 'getpeercert'):
            return None
        length = None if inp.chunked_input else inp.content_length
        body = cls(environ, sock, length, inp.get_socket().gettimeout())
        if inp.should_send_hundred_continue:
            inp.send_hundred_continue_response()
            inp.is_hundred_continue_response_sent = True
        if length != 0:
            # What eventlet read past the head is ours; more only up to a
            # declared length (a pipelined next request stays eventlet's).
            try:
                buffered = inp.rfile.peek()
                if length is not None:
                    buffered = buffered[:length]
                body._pending += inp.rfile.read(len(buffered))
            except OSError as e:
                raise exception.ClientDisconnected() from e
        return body

    # -- native side ------------------------------------------------------

    def readinto(self, view):
        """Fill ``view`` from the body; fewer bytes only at its end (0
        once it is over). Raises ClientDisconnected on a short, broken or
        silent (past the socket timeout) body."""
        filled = 0
        size = len(view)
        while filled < size and not self._done:
            if self.length is not None:
                want = min(size - filled, self.length - self._consumed)
            else:
                if not self._chunk_left:
                    self._next_chunk()
                    continue
                want = min(size - filled, self._chunk_left)
            got = self._read(view[filled:filled + want])
            filled += got
            self._consumed += got
            if self.length is None:
                self._chunk_left -= got
                if not self._chunk_left:
                    self._end_of_chunk()
            elif self._consumed == self.length:
                self._done = True
        return filled

    def cancel(self):
        """Make a waiting or later ``readinto`` give up (from any thread)."""
        self._cancelled = True

    def _read(self, view):
        if self._pending:
            n = min(len(view), len(self._pending))
            view[:n] = self._pending[:n]
            del self._pending[:n]
            return n
        self._wait()
        try:
            got = self._sock.recv_into(view)
        except BlockingIOError:
            return 0
        except OSError as e:
            raise exception.ClientDisconnected() from e
        if not got:
            raise exception.ClientDisconnected()
        return got

    def _wait(self):
        deadline = None if self._timeout is None else \
            time.monotonic() + self._timeout
        while True:
            if self._cancelled:
                raise exception.ClientDisconnected()
            wait = _POLL_SLICE
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise exception.ClientDisconnected()
            try:
                if self._poll.poll(wait * 1000):
                    return
            except OSError as e:
                if e.errno != errno.EINTR:
                    raise exception.ClientDisconnected() from e

    def _readline(self):
        # Never past the line's end: bytes after the body are the next
        # request's, and eventlet's to read.
        while True:
            end = self._pending.find(b'\n')
            if end >= 0:
                line = bytes(self._pending[:end + 1])
                del self._pending[:end + 1]
                return line
            if len(self._pending) > _MAX_LINE:
                raise exception.ClientDisconnected()
            self._wait()
            try:
                peeked = self._sock.recv(_MAX_LINE, socket.MSG_PEEK)
                if not peeked:
                    raise exception.ClientDisconnected()
                end = peeked.find(b'\n')
                self._pending += self._sock.recv(
                    len(peeked) if end < 0 else end + 1)
            except BlockingIOError:
                continue
            except OSError as e:
                raise exception.ClientDisconnected() from e

    def _next_chunk(self):
        line = self._readline()
        try:
            size = int(line.split(b';', 1)[0].strip(), 16)
        except ValueError:
            raise exception.ClientDisconnected()
        if size < 0:
            raise exception.ClientDisconnected()
        if size:
            self._chunk_left = size
            return
        # The last chunk: trailers, if any, up to an empty line.
        while self._readline().strip():
            pass
        self._done = True

    def _end_of_chunk(self):
        if self._readline().strip():
            raise exception.ClientDisconnected()

    # -- green side -------------------------------------------------------

    def finish(self):
        """Tell eventlet how the body was left; call once no native
        thread reads any more."""
        self._poll.unregister(self._sock.fileno())
        inp = self._environ['eventlet.input']
        if self.length is not None and not self._pending:
            # eventlet reads and drops what is left, if anything.
            inp.position = self._consumed
            return
        if self.length is None:
            inp.chunk_length = 0
        else:
            inp.position = self.length
        if not self._done or self._pending:
            # Left midway, or what eventlet had buffered held more than
            # the body (a pipelined request): the stream is not at a
            # request's start any more.
            self._environ[_CLOSE_HOOK]()
