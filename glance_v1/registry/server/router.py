"""URL map of glance-registry (glance-v1-reference §11)."""

from glance_v1.api import faults
from glance_v1.api.v1 import router
from glance_v1.common import exception
from glance_v1.registry.server import images
from glance_v1.registry import wire


class Resource:
    """Calls a controller action; an error answer names the exception
    raised, for the client to raise it again (``wire.ERROR_HEADER``)."""

    def __init__(self, controller):
        self.controller = controller

    def __call__(self, req, action, **kwargs):
        try:
            return getattr(self.controller, action)(req, **kwargs)
        except exception.GlanceException as error:
            resp = faults.from_exception(req, error)
            resp.headers[wire.ERROR_HEADER] = type(error).__name__
            return resp
        except Exception as error:
            return faults.from_exception(req, error)


class API(router.API):

    def __init__(self, registry=None):
        imgs = Resource(images.ImagesController(registry))
        members = Resource(images.MembersController(registry))
        self.table = [
            ('/images', {'GET': (imgs, 'index'),
                         'POST': (imgs, 'create')}, None),
            ('/images/detail', {'GET': (imgs, 'detail')}, None),
            ('/images/{image_id}', {'GET': (imgs, 'show'),
                                    'PUT': (imgs, 'update'),
                                    'DELETE': (imgs, 'delete')}, None),
            ('/images/{image_id}/members', {
                'GET': (members, 'index'),
                'PUT': (members, 'update_all')}, None),
            # GET answers 200 with the membership (decisions "differ" 3).
            ('/images/{image_id}/members/{member}', {
                'GET': (members, 'show'),
                'PUT': (members, 'update'),
                'DELETE': (members, 'delete')}, None),
            ('/shared-images/{member}', {
                'GET': (members, 'shared_images')}, None),
            # Quota figures, so that API nodes need no database.
            ('/storage-usage', {'GET': (imgs, 'storage_usage')}, None),
            ('/images/{image_id}/member-count', {
                'GET': (members, 'count')}, None),
        ]
        self._build()


def factory(global_conf, **local_conf):
    return API()
