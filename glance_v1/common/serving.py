"""The outermost layer of a served app: it counts the requests whose
response is not fully sent (for a graceful stop), writes one access line
per request and sends a body that is a span of a local file with
sendfile(2).

Kept apart from the server (glance_v1.common.wsgi) so that it can be
tested without importing eventlet.wsgi, whose import swaps eventlet's green
socket into the process's http.client.
"""

import errno
import logging
import os
import ssl
import time

from glance_v1.common import memory

# Also where eventlet reports a request it could not serve.
ACCESS_LOG = logging.getLogger('glance_v1.wsgi.access')

# A response at least this large counts as image data (for trimming).
_DATA_BYTES = 65536
# Sent with the headers, through the server, before sendfile takes over.
_HEAD_BYTES = 65536


class InFlight:
    """The outermost layer of the app: counts requests whose response has
    not been fully sent yet, and writes each one's access line once it
    has (in eventlet's format, counting bytes eventlet never sees)."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.trimmer = memory.Trimmer()
        self._moved_data = False

    def done(self, access):
        self.count -= 1
        # Only image data leaves much heap behind; trimming after every
        # metadata call would cost each of them a walk of the heap.
        if access.bytes >= _DATA_BYTES or access.has_body:
            self._moved_data = True
        if not self.count and self._moved_data:
            self._moved_data = False
            self.trimmer.idle()

    def __call__(self, environ, start_response):
        self.count += 1
        access = _Access(environ)
        direct = None

        def starting(status, headers, exc_info=None):
            nonlocal direct
            access.status = status.split(' ', 1)[0]
            write = start_response(status, [(_capitalized(name), value)
                                            for name, value in headers],
                                   exc_info)
            # Bytes written past the server must be the body as it is on
            # the wire: not without a length (the server would frame
            # what it sends in chunks) nor in answer to a HEAD.
            direct = write if environ.get('REQUEST_METHOD') != 'HEAD' and \
                any(name.lower() == 'content-length'
                    for name, _ in headers) else None
            return write

        try:
            body = self.app(environ, starting)
        except BaseException:
            self.done(access)
            # eventlet answers with a 500.
            access.status = '500'
            access.log()
            raise
        return _Closing(body, self, access, environ, direct)


_CAPITALIZED = {}


def _capitalized(name):
    """``X-Image-Meta-Disk_format`` for ``x-image-meta-disk_format``, as
    eventlet spells response headers, remembering the spellings seen (a
    HEAD carries dozens of headers; eventlet would split and join each).
    """
    spelled = _CAPITALIZED.get(name)
    if spelled is None:
        # bytes.capitalize: ASCII letters only, as eventlet does.
        spelled = '-'.join(part.encode('latin-1').capitalize().decode(
            'latin-1') for part in name.split('-'))
        # Property names are the callers' own: keep the memory bounded.
        if len(_CAPITALIZED) < 4096:
            _CAPITALIZED[name] = spelled
    return spelled


class _Access:

    def __init__(self, environ):
        self.start = time.monotonic()
        self.client = environ.get('REMOTE_ADDR', '-')
        self.line = environ.get('glance.request_line') or '%s %s %s' % (
            environ.get('REQUEST_METHOD'), environ.get('PATH_INFO'),
            environ.get('SERVER_PROTOCOL'))
        self.status = '-'
        self.bytes = 0
        self.has_body = bool(environ.get('HTTP_TRANSFER_ENCODING') or
                             environ.get('CONTENT_LENGTH', '0') not in
                             ('', '0'))

    def log(self):
        now = time.localtime()
        ACCESS_LOG.info('%s - - [%02d/%s/%04d %02d:%02d:%02d] "%s" %s %d %.6f',
                        self.client, now.tm_mday, _MONTHS[now.tm_mon],
                        now.tm_year, now.tm_hour, now.tm_min, now.tm_sec,
                        self.line, self.status, self.bytes,
                        time.monotonic() - self.start)


_MONTHS = (None, 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug',
           'Sep', 'Oct', 'Nov', 'Dec')


class _Closing:

    def __init__(self, body, counter, access, environ, write):
        self.body = body
        self.counter = counter
        self.access = access
        self.environ = environ
        # The server's write() (from start_response), which sends at
        # once; None when the body must go through the server.
        self.write = write
        self.closed = False

    def __iter__(self):
        fileno = getattr(self.body, 'fileno', None)
        sock = self.environ.get('eventlet.input')
        # Not over TLS: the kernel would send the file unencrypted.
        if fileno is not None and sock is not None and \
                self.write is not None and fileno() is not None and \
                not isinstance(sock.get_socket(), ssl.SSLSocket):
            return self._send_file(sock.get_socket(), fileno())
        return self._counted()

    def _counted(self):
        for chunk in self.body:
            yield chunk
            self.access.bytes += len(chunk)

    def _send_file(self, sock, fd):
        """Let the kernel copy the file to the socket (sendfile): no
        buffers in this process, no copies through Python.

        The headers and the first bytes go out through the server's
        write(), which returns once they are on the socket; only then
        does anything go to the socket directly. Yielding them instead
        would let eventlet hold back a piece smaller than its minimum
        chunk (4 KiB) and send it, headers and all, after the bytes
        written directly. Nothing is yielded: the server has nothing
        left to send when the iteration ends."""
        for offset, count in self.body.spans():
            if not self.access.bytes and count:
                n = self._send_head(fd, offset, count)
                offset += n
                count -= n
            if not count:
                # All of it went with the head: no round trip through
                # the sender, which would let the client see the end of
                # the response before this request has finished.
                continue
            if os.get_blocking(sock.fileno()):
                for n in _sendfile(sock, fd, offset, count):
                    self._sent(n)
            else:
                self._send_green(sock, fd, offset, count)
        yield from ()

    def _send_green(self, sock, fd, offset, count):
        # A green socket: one native thread sends for all downloads.
        from glance_v1.common import sender
        try:
            self._sent(sender.send(sock, fd, offset, count))
        except OSError as e:
            self._sent(e.sent)
            raise

    def _send_head(self, fd, offset, count):
        # Its buffer is gone once sent, not kept for the whole download
        # (a thousand slow downloads would hold 64 MiB of them).
        head = os.pread(fd, min(count, _HEAD_BYTES), offset)
        if not head:
            raise OSError(errno.EIO, 'file ended early')
        self.write(head)
        self._sent(len(head))
        return len(head)

    def _sent(self, n):
        self.access.bytes += n
        self.body.sent += n

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            close = getattr(self.body, 'close', None)
            if close is not None:
                close()
        finally:
            self.counter.done(self.access)
            self.access.log()


def _sendfile(sock, fd, offset, count):
    """Send ``count`` bytes of ``fd`` from ``offset`` on the blocking
    socket ``sock``, yielding each amount sent."""
    out = sock.fileno()
    while count > 0:
        n = os.sendfile(out, fd, offset, count)
        if not n:
            raise OSError(errno.EIO, 'file ended early')
        offset += n
        count -= n
        yield n
