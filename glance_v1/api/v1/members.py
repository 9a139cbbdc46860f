"""The members and shared-images resources: HTTP in, HTTP out. The
sharing rules live in ``glance_v1.image.members``."""

import json

import webob

from glance_v1.common import exception
from glance_v1.image import members


def _json_response(body):
    resp = webob.Response(status=200, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps(body)
    return resp


def _no_content():
    return webob.Response(status=204, content_type=None)


def _json_body(req):
    """The decoded JSON body, or None without one."""
    if not req.content_length and not req.headers.get('Transfer-Encoding'):
        return None
    raw = req.body
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise exception.Invalid('Malformed JSON in request body.')


class MembersController:

    def __init__(self):
        self.service = members.MemberService()

    @staticmethod
    def _ctx(req):
        return req.environ['glance.context']

    def index(self, req, image_id):
        found = self.service.list(self._ctx(req), image_id)
        return _json_response({'members': found})

    def show(self, req, image_id, member):
        found = self.service.get(self._ctx(req), image_id, member)
        return _json_response({'member': found})

    def update_all(self, req, image_id):
        self.service.replace(self._ctx(req), image_id, _json_body(req))
        return _no_content()

    def update(self, req, image_id, member):
        self.service.add(self._ctx(req), image_id, member, _json_body(req))
        return _no_content()

    def delete(self, req, image_id, member):
        self.service.delete(self._ctx(req), image_id, member)
        return _no_content()

    def index_shared_images(self, req, member):
        found = self.service.shared_images(self._ctx(req), member)
        return _json_response({'shared_images': found})
