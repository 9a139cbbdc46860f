"""``x-openstack-request-id`` on every response.

oslo.middleware's RequestId always mints a new id; like the reference, we
reuse a caller's id when it is well formed, and refuse an over-long one
with 431 rather than carrying it into logs (the reference answered 500).

Coming before any filter that reads the URL (in glance-api and
glance-registry), it also refuses a URL that is not UTF-8 (400): every
later layer decodes the path and query as UTF-8, and would fail with a
500.
"""

import urllib.parse

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_middleware import request_id
import webob

from glance_v1.api import faults
from glance_v1.common import context

request_id_opts = [
    cfg.IntOpt('max_request_id_length', default=64, min=1,
               help='Longest X-Openstack-Request-ID accepted from callers.'),
]

CONF = cfg.CONF
CONF.register_opts(request_id_opts)

_INBOUND_KEY = 'HTTP_' + request_id.INBOUND_HEADER.upper().replace('-', '_')
_RESP_HEADER = request_id.HTTP_RESP_HEADER_REQUEST_ID.lower()


def _utf8_url(environ):
    """Whether the (already unquoted) path and the query are UTF-8."""
    try:
        environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
        urllib.parse.unquote_to_bytes(
            environ.get('QUERY_STRING', '')).decode('utf-8')
    except UnicodeError:
        return False
    return True


class RequestIdMiddleware(request_id.RequestId):
    """Plain WSGI on the way through: building webob request and response
    objects for every request would cost more than the rest of a HEAD."""

    def __call__(self, environ, start_response):
        incoming = environ.get(_INBOUND_KEY)
        if incoming and len(incoming) > CONF.max_request_id_length:
            resp = faults.error_response(
                webob.Request(environ), 431,
                'Request id is too long: at most %d characters.'
                % CONF.max_request_id_length)
            resp.headers[request_id.HTTP_RESP_HEADER_REQUEST_ID] = \
                oslo_context.generate_request_id()
            return resp(environ, start_response)
        if incoming:
            # A well-formed id also becomes the global request id.
            self.set_global_req_id(webob.Request(environ))
        if incoming and incoming.isprintable() and incoming.isascii():
            req_id = incoming
        else:
            req_id = oslo_context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id
        # The current context of this green thread until the context
        # middleware knows the caller: every log line of the request,
        # the access log line included, carries its id.
        context.RequestContext(
            request_id=req_id, overwrite=True,
            global_request_id=environ.get(request_id.GLOBAL_REQ_ID))
        if not _utf8_url(environ):
            resp = faults.error_response(
                webob.Request(environ), 400,
                'The request URL is not valid UTF-8.')
            resp.headers[request_id.HTTP_RESP_HEADER_REQUEST_ID] = req_id
            return resp(environ, start_response)

        def start(status, headers, exc_info=None):
            headers = [h for h in headers if h[0].lower() != _RESP_HEADER]
            headers.append((request_id.HTTP_RESP_HEADER_REQUEST_ID, req_id))
            return start_response(status, headers, exc_info)
        return self.application(environ, start)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return RequestIdMiddleware(app)
    return _filter
