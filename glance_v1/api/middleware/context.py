"""``context``: who is calling, from the identity headers set by
keystonemiddleware's ``authtoken`` or by a trusted front end
(``X-Identity-Status: Confirmed``); 401 without them unless anonymous
read-only access is allowed."""

import json

from oslo_middleware import request_id
import webob

from glance_v1.api import faults
from glance_v1.common import context
from glance_v1.common import exception
from glance_v1.common import policy

CONF = context.CONF
ENV_REQUEST_ID = request_id.ENV_REQUEST_ID


def _split(value):
    return [r.strip().lower() for r in (value or '').split(',')
            if r.strip()]


def _check_service_catalog(value):
    """Nothing here uses the catalog, but a front end that sends one it
    cannot encode is broken: refuse, as the reference did (with a 500)."""
    if value is None:
        return
    try:
        json.loads(value)
    except ValueError:
        raise exception.Invalid('Invalid service catalog json.')


class ContextMiddleware:

    def __init__(self, app):
        self.app = app

    def _context(self, req):
        h = req.headers
        if h.get('X-Identity-Status') != 'Confirmed':
            if not CONF.allow_anonymous_access:
                return None
            return context.RequestContext(
                read_only=True, overwrite=True,
                owner_is_tenant=CONF.owner_is_tenant,
                request_id=req.environ.get(ENV_REQUEST_ID),
                global_request_id=req.environ.get(request_id.GLOBAL_REQ_ID))
        _check_service_catalog(h.get('X-Service-Catalog'))
        roles = _split(h.get('X-Roles'))
        ctx = context.RequestContext(
            auth_token=h.get('X-Auth-Token'),
            user_id=h.get('X-User-Id') or h.get('X-User'),
            project_id=(h.get('X-Project-Id') or h.get('X-Tenant-Id')
                        or h.get('X-Tenant')),
            roles=roles,
            service_roles=_split(h.get('X-Service-Roles')),
            request_id=req.environ.get(ENV_REQUEST_ID),
            global_request_id=req.environ.get(request_id.GLOBAL_REQ_ID),
            overwrite=True,
            owner_is_tenant=CONF.owner_is_tenant)
        ctx.is_admin = (CONF.admin_role.lower() in roles
                        or policy.check_is_admin(ctx))
        return ctx

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        try:
            ctx = self._context(req)
        except exception.Invalid as error:
            return faults.from_exception(req, error)(environ,
                                                     start_response)
        if ctx is None:
            resp = faults.error_response(
                req, 401, 'This server could not verify that you are '
                'authorized to access the document you requested.')
            return resp(environ, start_response)
        environ['glance.context'] = ctx
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return ContextMiddleware(app)
    return _filter

