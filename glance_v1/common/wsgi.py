"""The eventlet WSGI server behind glance-api (and glance-registry).

``workers = 0`` serves from the launching process; ``workers = N`` forks N
children sharing one listening socket, respawned if they die. SIGTERM
stops accepting, lets requests in flight finish (up to
``graceful_shutdown_timeout``) and exits; SIGHUP re-reads the config files
and replaces the workers (or reloads the app in place with one process).
"""

import errno
import http
import logging
import os
import re
import signal
import socket
import ssl
import sys
import time
import warnings
import weakref

import eventlet
from eventlet.green import ssl as green_ssl
import eventlet.hubs
import eventlet.wsgi
from oslo_config import cfg

from glance_v1.common import linger
from glance_v1.common import serving

LOG = logging.getLogger(__name__)

bind_opts = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0',
                       help='Address to listen on.'),
    cfg.PortOpt('bind_port', help='Port to listen on.'),
]

socket_opts = [
    cfg.IntOpt('backlog', default=4096, min=1,
               help='Connections queued by the kernel before accept.'),
    cfg.IntOpt('tcp_keepidle', default=600, min=1,
               help='Seconds a connection idles before TCP keepalives.'),
]

eventlet_opts = [
    cfg.IntOpt('workers', min=0,
               help='Worker processes; 0 serves from the main process. '
                    'Default: the number of CPUs, at most 8.'),
    cfg.IntOpt('max_header_line', default=16384, min=1024,
               help='Longest request header line accepted, in bytes.'),
    cfg.BoolOpt('http_keepalive', default=True,
                help='Keep client connections open between requests.'),
    cfg.IntOpt('client_socket_timeout', default=900, min=0,
               help='Seconds a client connection may stay silent, and the '
                    'most the line and headers of a request may take to '
                    'arrive; 0 waits forever.'),
    cfg.IntOpt('wsgi_default_pool_size', default=1000, min=1,
               help='Concurrent requests one worker serves.'),
    cfg.IntOpt('graceful_shutdown_timeout', default=60, min=0,
               help='Seconds requests in flight get to finish on SIGTERM.'),
]

# The reference's names, so that an existing configuration carries over.
tls_opts = [
    cfg.StrOpt('cert_file',
               help='Certificate (PEM, with its chain) to serve HTTPS '
                    'with; needs key_file. Unset: plain HTTP.'),
    cfg.StrOpt('key_file', help='Private key (PEM) of cert_file.'),
    cfg.StrOpt('ca_file',
               help='CA certificates (PEM); when set, every client must '
                    'present a certificate they signed.'),
]

CONF = cfg.CONF
CONF.register_opts(bind_opts)
CONF.register_opts(tls_opts)
CONF.register_opts(socket_opts)
CONF.register_opts(eventlet_opts)


# eventlet warns once the server is told to leave header names alone.
warnings.filterwarnings('ignore', message='capitalize_response_headers',
                        category=DeprecationWarning)


def default_workers():
    return min(os.cpu_count() or 1, 8)


def bind_socket(default_port):
    host = CONF.bind_host
    port = CONF.bind_port or default_port
    info = socket.getaddrinfo(host, port, socket.AF_UNSPEC,
                              socket.SOCK_STREAM)[0]
    # No SO_REUSEPORT: a second server on a taken port must fail to
    # start, not silently share the port with the first.
    sock = eventlet.listen(info[-1], family=info[0],
                           backlog=CONF.backlog, reuse_port=False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, 'TCP_KEEPIDLE'):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE,
                        CONF.tcp_keepidle)
    return sock


def tls_context():
    """The server's TLS context from cert_file, key_file and ca_file, or
    None for plain HTTP; raises RuntimeError with one clear line."""
    if not CONF.cert_file and not CONF.key_file:
        if CONF.ca_file:
            raise RuntimeError('ca_file is set but cert_file and key_file '
                               'are not: cannot serve HTTPS')
        return None
    if not (CONF.cert_file and CONF.key_file):
        raise RuntimeError('cert_file and key_file must be set together '
                           'to serve HTTPS')
    context = green_ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(CONF.cert_file, CONF.key_file)
        if CONF.ca_file:
            context.load_verify_locations(cafile=CONF.ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as e:
        raise RuntimeError('Cannot serve HTTPS with cert_file %s, key_file '
                           '%s and ca_file %s: %s' % (
                               CONF.cert_file, CONF.key_file, CONF.ca_file,
                               e))
    return context


# RFC 9112 read strictly (decisions "further" 9): a request line is
# method SP request-target SP HTTP-version CRLF, a field line is
# field-name ":" field-value CRLF, where a value may hold HTAB, SP, VCHAR
# and obs-text but no other control character. Python's parser is
# lenient: a bare CR or LF inside a line starts a new field there, so a
# front end that passes "X-Roles: member\rX-Roles: admin" on as one value
# would hand us a role it never granted; a NUL, a space before the colon
# or a folded line is read differently by different parsers. Anything
# else is refused with 400 before a header reaches the application.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(
    rb'%s [\x21-\x7e]+ HTTP/(\d)\.\d\r\n\Z' % _TOKEN)
_FIELD_LINE = re.compile(rb'%s:[\t\x20-\x7e\x80-\xff]*\r\n\Z' % _TOKEN)
_CONTENT_LENGTH = re.compile(r'\d+\Z', re.ASCII)


class _Refused(Exception):
    """The request head is malformed; answer ``code`` and close."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class _HeadCutShort(Exception):
    """The connection ended inside the request head."""


class _StrictFieldLines:
    """The request's field lines, each checked as it is read."""

    def __init__(self, rfile):
        self.rfile = rfile

    def readline(self, size=-1):
        line = self.rfile.readline(size)
        if not line:
            raise _HeadCutShort()
        if line != b'\r\n' and not _FIELD_LINE.match(line):
            raise _Refused(400, 'Malformed header line: a header must be '
                                'a name, a colon and a value without '
                                'control characters, ending in CRLF.')
        return line


class HttpProtocol(eventlet.wsgi.HttpProtocol):
    """Strict about the request head, and keeps the v1 headers spelled
    with underscores.

    A malformed request line or header line is answered 400 (505 for an
    HTTP version other than 1.x) with ``Connection: close``, before any
    header is handed on. eventlet drops every header whose name has an
    underscore, so that ``X_Roles`` cannot pass for ``X-Roles``; v1
    clients send ``x-image-meta-disk_format`` and friends, which are let
    through (``-`` and ``_`` mean the same in them anyway). Identity
    headers with underscores are still dropped.
    """

    UNDERSCORE_PREFIXES = ('x-image-meta-', 'x-glance-')

    def get_environ(self):
        env = super().get_environ()
        # As received, for the access line (eventlet claims HTTP/1.0 in
        # SERVER_PROTOCOL whatever the client spoke).
        env['glance.request_line'] = self.requestline
        # For a reader that took the body over from eventlet and left it
        # half read (common/socket_body): the connection cannot carry
        # another request.
        env['glance.close_connection'] = self._close_after_response
        # eventlet's input decodes a chunked body and ends with it.
        env['wsgi.input_terminated'] = True
        return env

    def _close_after_response(self):
        self.close_connection = 1
        self._linger = True

    # An upload refused before its body was read ends with a lingering
    # close (common/linger), or the client may see a reset, not our answer.
    _linger = False

    def finish(self):
        if self._linger:
            self._linger = False
            try:
                self.wfile.flush()
            except OSError:
                pass
            else:
                linger.close_softly(self.connection)
        super().finish()

    def formalize_key_naming(self, k):
        if '_' in k and k.lower().startswith(self.UNDERSCORE_PREFIXES):
            return k.replace('-', '_').upper()
        return super().formalize_key_naming(k)

    # eventlet's socket timeout bounds each silence, not the whole
    # request head: a client trickling a byte a second (slow loris) would
    # hold its connection, and a green thread, forever. The request line
    # and headers must arrive within client_socket_timeout in total.
    # The hub keeps a cancelled timer until it prunes its heap, so the
    # timer holds only a weak reference to the connection's handler.

    _head_timer = None
    _head_timed_out = False

    def _read_request_line(self):
        if CONF.client_socket_timeout:
            self._head_timer = eventlet.hubs.get_hub().schedule_call_global(
                CONF.client_socket_timeout, _head_too_slow,
                weakref.ref(self))
        line = super()._read_request_line()
        if line == b'\r\n':
            # RFC 9112 2.2: an empty line before a request is ignored
            # (some clients end a POST body with an extra CRLF).
            line = super()._read_request_line()
        return line

    def parse_request(self):
        rfile = self.rfile
        try:
            self._check_request_line()
            self.rfile = _StrictFieldLines(rfile)
            parsed = super().parse_request()
            if parsed:
                self._check_body_framing()
        except _Refused as e:
            parsed = False
            if not self._head_timed_out:
                self.send_error(e.code, str(e))
        except _HeadCutShort:
            parsed = False
        finally:
            self.rfile = rfile
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
        if self._head_timed_out or not parsed:
            self.close_connection = 1
            return False
        return parsed

    def _check_request_line(self):
        # The request line of the access log, even for a refused one.
        self.requestline = self.raw_requestline.decode(
            'latin-1').rstrip('\r\n')
        match = _REQUEST_LINE.match(self.raw_requestline)
        if match is None:
            raise _Refused(400, 'Malformed request line.')
        if match.group(1) != b'1':
            raise _Refused(505, 'Only HTTP/1.0 and HTTP/1.1 are supported.')

    def _check_body_framing(self):
        """Where the body ends must be beyond doubt (RFC 9112 6): else the
        rest of it would be read as the next request on the connection,
        which a front end may not see as a request at all."""
        # eventlet reads the first Content-Length with int(), which also
        # takes "+5" and "1_0"; a front end may read another one.
        lengths = self.headers.get_all('Content-Length') or []
        if len(lengths) > 1 or not all(_CONTENT_LENGTH.match(v.strip(' \t'))
                                       for v in lengths):
            raise _Refused(400, 'Invalid Content-Length: one decimal '
                                'number expected.')
        # eventlet reads a body only for exactly "chunked"; with another
        # coding it took the body for the next request.
        codings = [c.strip(' \t').lower()
                   for v in self.headers.get_all('Transfer-Encoding') or []
                   for c in v.split(',')]
        if not codings:
            return
        if codings[-1] != 'chunked' or self.request_version == 'HTTP/1.0':
            raise _Refused(400, 'Invalid Transfer-Encoding: the body must '
                                'be chunked, last.')
        if codings != ['chunked']:
            raise _Refused(501, 'Transfer codings other than chunked are '
                                'not supported.')

    def send_error(self, code, message=None, explain=None):
        """A plain-text error with a status line (http.server leaves it
        out before it knows the HTTP version) and ``Connection: close``;
        http.server calls it for what it refuses itself (431 for too many
        header lines)."""
        reason = http.HTTPStatus(code).phrase
        body = ('%d %s\n\n%s\n' % (code, reason, message or reason)).encode(
            'latin-1', 'replace')
        # %r: a refused line may hold the very control characters that
        # would forge a log line.
        LOG.info('%s - - %r %d refused: %s', self.client_address[0],
                 self.requestline, code, message)
        try:
            self.wfile.write(
                b'HTTP/1.1 %d %s\r\nConnection: close\r\n'
                b'Content-Type: text/plain; charset=UTF-8\r\n'
                b'Content-Length: %d\r\n\r\n%s'
                % (code, reason.encode(), len(body), body))
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = 1


def _head_too_slow(handler_ref):
    handler = handler_ref()
    if handler is None:
        return
    handler._head_timed_out = True
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Server:

    def __init__(self, load_app, default_port):
        """``load_app()`` builds the WSGI app (again on reload)."""
        self.load_app = load_app
        self.default_port = default_port
        self.sock = None
        self.children = {}
        self._stopping = False
        self._reload = False

    # -- one serving process ----------------------------------------------

    def _serve(self):
        eventlet.wsgi.MAX_HEADER_LINE = CONF.max_header_line
        while True:
            app = serving.InFlight(self.load_app())
            pool = eventlet.GreenPool(CONF.wsgi_default_pool_size)
            server = eventlet.spawn(
                eventlet.wsgi.server, self.sock, app, custom_pool=pool,
                protocol=HttpProtocol, log=serving.ACCESS_LOG,
                log_output=False,
                # InFlight spells the header names as eventlet would.
                capitalize_response_headers=False,
                keepalive=CONF.http_keepalive,
                socket_timeout=CONF.client_socket_timeout or None,
                debug=False)
            while not self._stopping and not self._reload:
                eventlet.sleep(0.2)
            if self._reload and not self._stopping:
                # One process: swap the app, keep the socket.
                self._reload = False
                server.kill()
                LOG.info('Reloaded configuration and application')
                CONF.reload_config_files()
                continue
            server.kill()
            # New clients are refused (or go to a sibling worker) while
            # the requests in flight finish.
            self.sock.close()
            self._drain(app)
            return

    @staticmethod
    def _drain(app):
        deadline = time.monotonic() + CONF.graceful_shutdown_timeout
        while app.count > 0 and time.monotonic() < deadline:
            eventlet.sleep(0.1)
        if app.count > 0:
            LOG.warning('Stopping with %d requests still in flight',
                        app.count)

    def _on_term(self, signum, frame):
        self._stopping = True

    def _on_hup(self, signum, frame):
        self._reload = True

    # -- process management -----------------------------------------------

    def run(self):
        try:
            tls = tls_context()
        except RuntimeError as e:
            exit_with(str(e))
        try:
            self.sock = bind_socket(self.default_port)
        except OSError as e:
            exit_with('Cannot listen on %s:%s: %s' % (
                CONF.bind_host, CONF.bind_port or self.default_port,
                e.strerror or e))
        if tls is not None:
            # The handshake happens on the connection's first read, in
            # its own green thread: a slow client cannot stall accept().
            self.sock = tls.wrap_socket(self.sock, server_side=True,
                                        do_handshake_on_connect=False)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        signal.signal(signal.SIGHUP, self._on_hup)
        workers = CONF.workers
        if workers is None:
            workers = default_workers()
        LOG.info('Listening on %s:%s with %s', *self.sock.getsockname()[:2],
                 '%d workers' % workers if workers else 'one process')
        if workers == 0:
            self._serve()
            return
        self._supervise(workers)

    def _spawn_child(self):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            code = 0
            try:
                self._serve()
            except BaseException:
                LOG.exception('Worker failed')
                code = 1
            finally:
                os._exit(code)
        self.children[pid] = time.monotonic()

    def _supervise(self, workers):
        retiring = set()
        for _ in range(workers):
            self._spawn_child()
        while self.children:
            if self._stopping:
                self.sock.close()
                self._signal_children(signal.SIGTERM)
                self._reap(block=True)
                continue
            if self._reload:
                self._reload = False
                CONF.reload_config_files()
                retiring.update(self.children)
                for _ in range(workers):
                    self._spawn_child()
                for pid in retiring:
                    self._kill(pid, signal.SIGTERM)
            for pid in self._reap(block=False):
                if pid in retiring:
                    retiring.discard(pid)
                else:
                    LOG.error('Worker %d died; starting another', pid)
                    self._spawn_child()
            time.sleep(0.2)

    def _reap(self, block):
        """Collect exited children and return their pids."""
        died = []
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            except InterruptedError:
                continue
            if pid == 0:
                break
            self.children.pop(pid, None)
            died.append(pid)
        return died

    def _signal_children(self, signum):
        for pid in list(self.children):
            self._kill(pid, signum)

    @staticmethod
    def _kill(pid, signum):
        try:
            os.kill(pid, signum)
        except OSError as e:
            if e.errno != errno.ESRCH:
                raise


def exit_with(message):
    sys.stderr.write('ERROR: %s\n' % message)
    sys.exit(1)
