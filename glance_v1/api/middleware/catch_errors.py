"""The outermost layer of every app, put around the paste pipeline by
each entry point so that no paste file can leave it out: an exception
that escapes the pipeline is logged with its request id and answered
with a plain 500.

Every server would answer something, but eventlet's runs without output
and mod_wsgi or uWSGI log a bare traceback elsewhere: without this an
operator sees a 500 with an empty body and nothing that says why.
It wraps the call only, never the body iterable, so that a download
still reaches the server as the object it can sendfile().
"""

import logging

from oslo_middleware import request_id
import webob

from glance_v1.api import faults

LOG = logging.getLogger(__name__)


class CatchErrors:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = []

        def _start_response(status, headers, exc_info=None):
            started.append(status)
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, _start_response)
        except Exception:
            req_id = environ.get(request_id.ENV_REQUEST_ID)
            LOG.exception('Unhandled error in %s %s (request %s)',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'), req_id or '-')
            if started:
                # The status line is out; only the server can end it.
                raise
            req = webob.Request(environ)
            resp = faults.error_response(
                req, 500, 'The server has either erred or is incapable of '
                'performing the requested operation.')
            if req_id:
                resp.headers[request_id.HTTP_RESP_HEADER_REQUEST_ID] = req_id
            return resp(environ, start_response)
