"""The request as uWSGI hands it over, put right: chunked bodies, scheme.

uWSGI 2.0 does not decode ``Transfer-Encoding: chunked``: its
``wsgi.input`` of such a request is empty, and only the application can
read the body, chunk by chunk, with ``uwsgi.chunked_read()`` (uWSGI holds
one chunk at a time, at most ``chunked-input-limit`` bytes). ``adapt``
gives a chunked request an input that does so and ends where the body
ends, and says so with ``wsgi.input_terminated``; without it the API
refuses chunked uploads with 411 (``glance_v1.api.v1.images``).

The ini option ``glance-chunked-input = false`` turns this off. ``adapt``
also keeps a client's X-Forwarded-Proto out of ``wsgi.url_scheme``.

uWSGI closes the connection after every response (the ini's Connection:
close), and bytes of the request still unread then make the kernel answer
with a reset, which can destroy the response before the client read it.
So ``adapt`` ends with a lingering close (common/linger) a connection whose
body was left unread: an upload refused from its headers or midway
(``glance.close_connection``), any sized body not read whole (a JSON body
over its limit), and every chunked one, since ``uwsgi.chunked_read``
returns the end of the body on the last chunk's size line and leaves the
CRLF and any trailers after it unread.
"""

import os
import select
import socket

from oslo_utils import strutils

from glance_v1.common import linger

OPTION = 'glance-chunked-input'
# Seconds the interim 100 Continue may wait for room in the socket.
CONTINUE_TIMEOUT = 60


class ChunkedInput:
    """``wsgi.input`` of a chunked request: the decoded body, then b''.

    ``read_chunk`` is ``uwsgi.chunked_read``: the next chunk, b'' after
    the last one, OSError when the client went away, stalled past
    uWSGI's timeout, or sent a malformed or too large chunk. A failed body
    stays failed: every later read raises too. ``send_continue``, when
    given, runs before the first chunk is read: uWSGI answers a client's
    ``Expect: 100-continue`` when a sized body is read, never for
    ``chunked_read``, and the client would wait for it (curl waits a
    second, others the whole socket timeout).
    """

    def __init__(self, read_chunk, send_continue=None):
        self._read_chunk = read_chunk
        self._send_continue = send_continue
        self._chunk = b''
        self._pos = 0
        self._done = False
        self._error = None

    def _next(self):
        if self._error is not None:
            raise OSError(self._error)
        try:
            if self._send_continue is not None:
                send, self._send_continue = self._send_continue, None
                send()
            chunk = self._read_chunk()
        except OSError as e:
            self._error = 'chunked request body: %s' % e
            raise OSError(self._error) from e
        if not chunk:
            self._done = True
        self._chunk, self._pos = chunk, 0

    def read(self, size=-1):
        """Up to ``size`` bytes (all that is left when negative), fewer
        only at the end of the body."""
        parts = []
        want = size if size is not None and size >= 0 else None
        while want is None or want > 0:
            if self._pos == len(self._chunk):
                if self._done:
                    break
                self._next()
                continue
            if self._pos == 0 and (want is None or
                                   want >= len(self._chunk)):
                part = self._chunk
            else:
                end = len(self._chunk) if want is None else self._pos + want
                part = self._chunk[self._pos:end]
            self._pos += len(part)
            if want is not None:
                want -= len(part)
            parts.append(part)
        return parts[0] if len(parts) == 1 else b''.join(parts)


class _SizedInput:
    """uWSGI's ``wsgi.input`` of a body of ``length`` bytes; ``left`` is
    what the application has not read of it."""

    def __init__(self, stream, length):
        self._stream = stream
        self.left = length

    def read(self, *args):
        data = self._stream.read(*args)
        self.left -= len(data)
        return data

    def readline(self, *args):
        line = self._stream.readline(*args)
        self.left -= len(line)
        return line

    def readlines(self, *args):
        lines = self._stream.readlines(*args)
        self.left -= sum(map(len, lines))
        return lines

    def __iter__(self):
        return iter(self.readline, b'')


def _declared_length(environ):
    try:
        return int(environ.get('CONTENT_LENGTH') or 0)
    except ValueError:
        return 0


def _expects_continue(environ):
    return environ.get('SERVER_PROTOCOL') == 'HTTP/1.1' and \
        environ.get('HTTP_EXPECT', '').lower() == '100-continue'


def _continue_sender(fd):
    """Sends the interim ``100 Continue`` on uWSGI's connection ``fd``."""
    def send():
        data = memoryview(b'HTTP/1.1 100 Continue\r\n\r\n')
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        while data:
            # uWSGI's sockets do not block.
            if not poller.poll(CONTINUE_TIMEOUT * 1000):
                raise OSError('could not send 100 Continue')
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                pass
    return send


def _is_chunked(environ):
    # chunked is the last coding when there is one (RFC 9112 6.1).
    codings = environ.get('HTTP_TRANSFER_ENCODING', '').split(',')
    return codings[-1].strip().lower() == 'chunked'


def _enabled(options):
    value = options.get(OPTION, b'true')
    if isinstance(value, list):
        value = value[-1]
    if isinstance(value, bytes):
        value = value.decode()
    return strutils.bool_from_string(value, strict=True)


def _scheme(environ):
    # uWSGI's own reading of the HTTPS variable (set by https-socket or
    # a front end), without the client's X-Forwarded-Proto.
    https = environ.get('HTTPS', '').lower()
    return 'https' if https.startswith('on') or https.startswith('1') \
        else 'http'


class _Lingering:
    """``result`` (a response), then a lingering close of the connection
    once uWSGI sent it and calls ``close``."""

    def __init__(self, result, connection_fd):
        self._result = result
        self._fd = connection_fd
        self._sent = False

    def __iter__(self):
        for chunk in self._result:
            # uWSGI writes the head with the first bytes of the body.
            self._sent = self._sent or bool(chunk)
            yield chunk

    def close(self):
        try:
            close = getattr(self._result, 'close', None)
            if close is not None:
                close()
        finally:
            # Without a body (HEAD) uWSGI writes the head only after
            # this: shutting the connection down first would lose it.
            if self._sent:
                # A duplicate of uWSGI's descriptor: shutting it down
                # acts on the connection, closing it leaves uWSGI's own.
                with socket.socket(fileno=os.dup(self._fd)) as sock:
                    linger.close_softly(sock)


def adapt(app):
    """``app`` as uWSGI must serve it; ``app`` itself elsewhere."""
    try:
        import uwsgi
    except ImportError:
        return app
    chunked_input = _enabled(uwsgi.opt)

    def served_by_uwsgi(environ, start_response):
        # uWSGI takes any client's X-Forwarded-Proto for the scheme of
        # the links and Location headers; forwarded headers are honoured
        # only by http_proxy_to_wsgi, and only when configured.
        environ['wsgi.url_scheme'] = _scheme(environ)
        chunked = chunked_input and _is_chunked(environ)
        length = _declared_length(environ)
        sized = None
        if chunked:
            # The decoded body replaces any Content-Length (RFC 9112 6.3).
            environ.pop('CONTENT_LENGTH', None)
            environ['wsgi.input'] = ChunkedInput(
                uwsgi.chunked_read,
                _continue_sender(uwsgi.connection_fd())
                if _expects_continue(environ) else None)
            environ['wsgi.input_terminated'] = True
        elif length > 0:
            sized = environ['wsgi.input'] = _SizedInput(
                environ['wsgi.input'], length)
        # An upload refused with its body unread asks, through this hook,
        # that the connection linger before it closes. Other responses go
        # back as they are, so uWSGI still sees its own file wrapper.
        refused = []
        environ['glance.close_connection'] = lambda: refused.append(True)
        result = app(environ, start_response)
        if refused or chunked or (sized is not None and sized.left > 0):
            return _Lingering(result, uwsgi.connection_fd())
        return result
    return served_by_uwsgi
