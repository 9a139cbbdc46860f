"""``unauthenticated-context``: every caller is an administrator without
identity (the reference's default pipeline, for trusted single-user
setups)."""

from oslo_middleware import request_id

from glance_v1.common import context

CONF = context.CONF
ENV_REQUEST_ID = request_id.ENV_REQUEST_ID


class UnauthenticatedContextMiddleware:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ['glance.context'] = context.RequestContext(
            is_admin=True, overwrite=True,
            owner_is_tenant=CONF.owner_is_tenant,
            request_id=environ.get(ENV_REQUEST_ID),
            global_request_id=environ.get(request_id.GLOBAL_REQ_ID))
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return UnauthenticatedContextMiddleware(app)
    return _filter
