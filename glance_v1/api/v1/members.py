"""The members and shared-images resources: HTTP in, HTTP out. The
sharing rules live in ``glance_v1.image.members``."""

import json

import webob

from glance_v1.common import request_json
from glance_v1.image import members


def _json_response(body):
    resp = webob.Response(status=200, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps(body)
    return resp


def _no_content():
    return webob.Response(status=204, content_type=None)


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
        self.service.replace(self._ctx(req), image_id,
                             request_json.from_request(req))
        return _no_content()

    def update(self, req, image_id, member):
        self.service.add(self._ctx(req), image_id, member,
                         request_json.from_request(req))
        return _no_content()

    def delete(self, req, image_id, member):
        self.service.delete(self._ctx(req), image_id, member)
        return _no_content()

    def index_shared_images(self, req, member):
        found = self.service.shared_images(self._ctx(req), member)
        return _json_response({'shared_images': found})
