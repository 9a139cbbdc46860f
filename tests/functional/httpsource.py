"""A loopback http server serving test images (for location and
copy-from tests), in a thread of the test process."""

# Names taken from sys.modules' http.server: once eventlet.wsgi is imported
# (tests/unit/test_socket_body.py), the attribute http.server of the http
# package is eventlet's green copy, whose locks a real thread waits on
# forever.
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
import threading

import fixtures


class _Handler(BaseHTTPRequestHandler):

    def log_message(self, *args):
        pass

    def _route(self):
        files = self.server.files
        if self.path in self.server.redirects:
            self.send_response(302)
            self.send_header('Location', self.server.redirects[self.path])
            self.send_header('Content-Length', '0')
            self.end_headers()
            return None
        if self.path not in files:
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return None
        data = files[self.path]
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        return data

    def do_HEAD(self):
        self._route()

    def do_GET(self):
        if self.path in self.server.failing:
            self.send_response(500)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        data = self._route()
        if data is not None:
            self.wfile.write(data)


class HttpSource(fixtures.Fixture):
    """``files``: path -> bytes; ``redirects``: path -> URL; ``failing``:
    paths whose GET (not HEAD) answers 500."""

    def __init__(self, host='127.0.0.1'):
        super().__init__()
        self.host = host
        self.files = {}
        self.redirects = {}
        self.failing = set()

    def _setUp(self):
        self.httpd = ThreadingHTTPServer((self.host, 0), _Handler)
        self.httpd.files = self.files
        self.httpd.redirects = self.redirects
        self.httpd.failing = self.failing
        self.httpd.daemon_threads = True
        thread = threading.Thread(target=self.httpd.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(self.httpd.server_close)
        self.addCleanup(self.httpd.shutdown)

    def url(self, path):
        return 'http://%s:%d%s' % (self.host, self.httpd.server_port, path)
