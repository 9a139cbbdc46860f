"""``stricthttp``: refuse a request whose header fields carry a control
character, or whose request line is malformed (decisions "further" 9).

glance-api's own eventlet server refuses such a request head before it is
parsed (``glance_v1.common.wsgi.HttpProtocol``). Under mod_wsgi, uWSGI or
gunicorn the front end's parser decides, and a bare CR, NUL or other
control character can reach the environ, where a later layer would read
the value differently from the front end that let it through (a bare CR
in ``X-Roles`` split into a second role). RFC 9112 2.2 and RFC 9110 5.5:
a field value may hold HTAB, SP, visible characters and obs-text, nothing
else. Being the first filter of every pipeline, this refuses the rest
with 400 before any other layer has seen the headers. A request line the
eventlet server refuses (a method that is not a token, a version other
than HTTP/1.x) is refused here too: uWSGI passes ``HTTP/1.1.1`` on.
"""

import re

import webob

from glance_v1.api import faults

# C0 controls but HTAB, and DEL; environ values are latin-1 text
# (PEP 3333), so obs-text (0x80-0xff) passes.
_CONTROL = re.compile('[\x00-\x08\x0a-\x1f\x7f]')
# Besides the header fields, the raw request target some servers keep.
_RAW_KEYS = ('CONTENT_TYPE', 'CONTENT_LENGTH', 'QUERY_STRING',
             'REQUEST_URI', 'RAW_URI')
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(r'HTTP/(\d)\.\d\Z')
# The raw request target, where the server keeps it (uWSGI, mod_wsgi).
_TARGET = re.compile(r'[\x21-\x7e]+\Z')
# Set by the eventlet server and under uWSGI: ends the connection after
# this response.
_CLOSE_HOOK = 'glance.close_connection'


def _has_control(environ):
    for key, value in environ.items():
        if (key.startswith('HTTP_') or key in _RAW_KEYS) and \
                isinstance(value, str) and (_CONTROL.search(value) or
                                            _CONTROL.search(key)):
            return True
    return False


def _request_line_error(environ):
    """``(status, message)`` refusing a malformed request line, or
    None."""
    version = _VERSION.match(environ.get('SERVER_PROTOCOL', ''))
    target = environ.get('REQUEST_URI')
    if version is None or \
            not _TOKEN.match(environ.get('REQUEST_METHOD', '')) or \
            (target is not None and not _TARGET.match(target)):
        return 400, 'Malformed request line.'
    if version.group(1) != '1':
        return 505, 'Only HTTP/1.0 and HTTP/1.1 are supported.'
    return None


class StrictHttpMiddleware:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if _has_control(environ):
            error = 400, 'A header field holds a control character.'
        else:
            error = _request_line_error(environ)
        if error is None:
            return self.app(environ, start_response)
        close = environ.get(_CLOSE_HOOK)
        if close is not None:
            close()
        resp = faults.error_response(webob.Request(environ), *error)
        return resp(environ, start_response)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return StrictHttpMiddleware(app)
    return _filter
