"""``x-openstack-request-id`` on every response.

oslo.middleware's RequestId always mints a new id; like the reference, we
reuse a caller's id when it is well formed, and refuse an over-long one
with 431 rather than carrying it into logs (the reference answered 500).
"""

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_middleware import request_id
import webob.dec

from glance_v1.api import faults
from glance_v1.common import context

request_id_opts = [
    cfg.IntOpt('max_request_id_length', default=64, min=1,
               help='Longest X-Openstack-Request-ID accepted from callers.'),
]

CONF = cfg.CONF
CONF.register_opts(request_id_opts)


class RequestIdMiddleware(request_id.RequestId):

    @webob.dec.wsgify
    def __call__(self, req):
        incoming = req.headers.get(request_id.INBOUND_HEADER)
        if incoming and len(incoming) > CONF.max_request_id_length:
            resp = faults.error_response(
                req, 431, 'Request id is too long: at most %d characters.'
                % CONF.max_request_id_length)
            resp.headers[request_id.HTTP_RESP_HEADER_REQUEST_ID] = \
                oslo_context.generate_request_id()
            return resp
        self.set_global_req_id(req)
        if incoming and incoming.isprintable() and incoming.isascii():
            req_id = incoming
        else:
            req_id = oslo_context.generate_request_id()
        req.environ[request_id.ENV_REQUEST_ID] = req_id
        # The current context of this green thread until the context
        # middleware knows the caller: every log line of the request,
        # the access log line included, carries its id.
        context.RequestContext(
            request_id=req_id, overwrite=True,
            global_request_id=req.environ.get(request_id.GLOBAL_REQ_ID))
        resp = req.get_response(self.application)
        resp.headers[request_id.HTTP_RESP_HEADER_REQUEST_ID] = req_id
        return resp


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return RequestIdMiddleware(app)
    return _filter
