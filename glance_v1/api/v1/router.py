"""URL map of the v1 API: path -> {method: (controller, action)}.

A known path with another method answers 405 with ``Allow``, unless the
path takes any method (the third column names the method it acts as). A
method mapped to None is named in ``Allow`` yet refused, as the reference
does for ``HEAD /v1/images/detail`` (its ``Allow`` then names the others).
"""

import routes
import routes.middleware
import webob
import webob.dec

from glance_v1.api import faults
from glance_v1.api.v1 import images
from glance_v1.api.v1 import members


class Resource:
    """Calls a controller action and turns exceptions into responses."""

    def __init__(self, controller):
        self.controller = controller

    def __call__(self, req, action, **kwargs):
        try:
            return getattr(self.controller, action)(req, **kwargs)
        except Exception as error:
            return faults.from_exception(req, error)


def _method_not_allowed(req, allowed):
    return faults.error_response(
        req, 405, 'The method %s is not allowed for this resource.'
        % req.method, headers=[('Allow', ', '.join(allowed))])


class API:
    """WSGI app dispatching ``/v1/...`` requests (path already stripped
    of ``/v1`` by the paste urlmap)."""

    def __init__(self):
        images_resource = Resource(images.ImagesController())
        members_resource = Resource(members.MembersController())
        self.table = [
            ('/', {'GET': (images_resource, 'index')}, 'GET'),
            ('/images', {'GET': (images_resource, 'index'),
                         'POST': (images_resource, 'create')}, None),
            ('/images/detail', {'GET': (images_resource, 'detail'),
                                'HEAD': None}, None),
            ('/images/{image_id}', {
                'GET': (images_resource, 'download'),
                'HEAD': (images_resource, 'meta'),
                'PUT': (images_resource, 'update'),
                'DELETE': (images_resource, 'delete')}, None),
            ('/images/{image_id}/members', {
                'GET': (members_resource, 'index'),
                'PUT': (members_resource, 'update_all')}, None),
            ('/images/{image_id}/members/{member}', {
                'GET': (members_resource, 'show'),
                'PUT': (members_resource, 'update'),
                'DELETE': (members_resource, 'delete')}, None),
            ('/shared-images/{member}', {
                'GET': (members_resource, 'index_shared_images')}, 'GET'),
        ]
        self._build()

    def _build(self):
        """Routes for ``self.table`` (also used by glance-registry's
        router, which has its own table)."""
        self.mapper = routes.Mapper()
        for path, methods, _ in self.table:
            for method in methods:
                self.mapper.connect(path, route_method=method,
                                    conditions={'method': [method]})
            self.mapper.connect(path, route_method=None)
        self.methods = {path: (methods, any_method)
                        for path, methods, any_method in self.table}
        self._router = routes.middleware.RoutesMiddleware(self._dispatch,
                                                          self.mapper)

    def __call__(self, environ, start_response):
        if not environ.get('PATH_INFO'):
            environ['PATH_INFO'] = '/'
        return self._router(environ, start_response)

    @webob.dec.wsgify
    def _dispatch(self, req):
        match = req.environ['wsgiorg.routing_args'][1]
        if not match:
            return faults.error_response(req, 404,
                                         'The resource could not be found.')
        route = req.environ['routes.route']
        methods, any_method = self.methods[route.routepath]
        method = match.pop('route_method')
        if method is None:
            if any_method:
                method = any_method
            else:
                return _method_not_allowed(req, list(methods))
        if methods[method] is None:
            return _method_not_allowed(
                req, [m for m, target in methods.items() if target])
        resource, action = methods[method]
        kwargs = {k: v for k, v in match.items()
                  if k not in ('controller', 'action')}
        return resource(req, action, **kwargs)


def factory(global_conf, **local_conf):
    return API()
