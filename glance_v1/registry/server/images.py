"""Registry images and members resources: JSON in, JSON out, answered by
the in-process registry (which decides visibility and ownership)."""

from oslo_utils import strutils
import webob

from glance_v1.common import exception
from glance_v1.common import request_json
from glance_v1.image import listing
from glance_v1.registry import local
from glance_v1.registry import wire

BRIEF_FIELDS = ('id', 'name', 'size', 'disk_format', 'container_format',
                'checksum')
_STR_FIELDS = ('id', 'name', 'disk_format', 'container_format', 'status',
               'checksum', 'os_hash_algo', 'os_hash_value', 'owner',
               'location')
_INT_FIELDS = ('size', 'virtual_size', 'min_disk', 'min_ram')
_BOOL_FIELDS = ('is_public', 'protected', 'deleted')
# glance-v1-reference §3.
STATUSES = ('queued', 'saving', 'active', 'killed', 'pending_delete',
            'deleted', 'deactivated', 'importing', 'uploading')


def json_response(body, status=200):
    resp = webob.Response(status=status, content_type='application/json',
                          charset='UTF-8')
    resp.text = wire.dumps(body)
    return resp


def no_content():
    return webob.Response(status=204, content_type=None)


def json_body(req, key=None, required=True):
    """The request's JSON object (or its ``key`` member); 400 when it is
    malformed."""
    data = request_json.read(req)
    if not data:
        if required:
            raise exception.Invalid('Missing request body')
        return None
    body = request_json.loads(data)
    if not isinstance(body, dict):
        raise exception.Invalid('The request body must be a JSON object.')
    if key is None:
        return body
    if not isinstance(body.get(key), (dict, list)):
        raise exception.Invalid('Missing "%s" in request body.' % key)
    return body[key]


def _check_types(values):
    def bad(key):
        return exception.Invalid('Invalid value for %s' % key)
    for key, value in values.items():
        if value is None:
            continue
        if key in _STR_FIELDS and not isinstance(value, str):
            raise bad(key)
        if key in _INT_FIELDS and (isinstance(value, bool) or
                                   not isinstance(value, int)):
            raise bad(key)
        if key in _BOOL_FIELDS and not isinstance(value, bool):
            raise bad(key)
    props = values.get('properties')
    if props is not None and not (
            isinstance(props, dict) and all(
                isinstance(v, str) or v is None for v in props.values())):
        raise bad('properties')


def _image_values(req):
    values = json_body(req, 'image')
    if not isinstance(values, dict):
        raise exception.Invalid('Missing "image" in request body.')
    values = wire.image_from_wire(values)
    _check_types(values)
    return values


class ImagesController:

    def __init__(self, registry=None):
        self.registry = registry or local.LocalRegistry()

    @staticmethod
    def _ctx(req):
        return req.environ['glance.context']

    def _list(self, req):
        filters, marker, limit, sort_key, sort_dir = listing.parse(req.GET)
        return self.registry.image_list(self._ctx(req), filters,
                                        marker=marker, limit=limit,
                                        sort_key=sort_key,
                                        sort_dir=sort_dir)

    def index(self, req):
        images = [{k: i[k] for k in BRIEF_FIELDS} for i in self._list(req)]
        return json_response({'images': images})

    def detail(self, req):
        return json_response({'images': self._list(req)})

    def show(self, req, image_id):
        return json_response(
            {'image': self.registry.image_get(self._ctx(req), image_id)})

    def create(self, req):
        image = self.registry.image_create(self._ctx(req),
                                           _image_values(req))
        return json_response({'image': image})

    def update(self, req, image_id):
        values = _image_values(req)
        from_state = json_body(req).get('from_state')
        if from_state is not None and \
                from_state not in STATUSES:
            raise exception.Invalid('Invalid from_state %r' % (from_state,))
        purge = strutils.bool_from_string(
            req.headers.get(wire.PURGE_PROPS_HEADER, 'false'))
        image = self.registry.image_update(
            self._ctx(req), image_id, values, purge_props=purge,
            from_state=from_state)
        return json_response({'image': image})

    def delete(self, req, image_id):
        kwargs = {}
        for key in ('status', 'location_status'):
            if key in req.GET:
                if req.GET[key] not in STATUSES:
                    raise exception.Invalid('Invalid %s' % key)
                kwargs[key] = req.GET[key]
        image = self.registry.image_destroy(self._ctx(req), image_id,
                                            **kwargs)
        return json_response({'image': image})


    def storage_usage(self, req):
        return json_response({'usage': self.registry.storage_usage(
            self._ctx(req), req.GET.get('owner'),
            exclude_image_id=req.GET.get('exclude_image_id'))})


class MembersController:
    """Member calls go to the registry as they are: who may share is the
    registry's decision, and can_share was validated by glance-api."""

    def __init__(self, registry=None):
        self.registry = registry or local.LocalRegistry()

    @staticmethod
    def _ctx(req):
        return req.environ['glance.context']

    def index(self, req, image_id):
        return json_response({'members': self.registry.image_members(
            self._ctx(req), image_id)})

    def show(self, req, image_id, member):
        return json_response({'member': self.registry.image_member_get(
            self._ctx(req), image_id, member)})

    def update_all(self, req, image_id):
        memberships = wire.decode_memberships(json_body(req, 'memberships'))
        self.registry.image_members_replace(self._ctx(req), image_id,
                                            memberships)
        return no_content()

    def update(self, req, image_id, member):
        body = json_body(req, 'member', required=False)
        can_share = body.get('can_share') if isinstance(body, dict) \
            else None
        if not isinstance(can_share, (bool, type(None))):
            raise exception.Invalid('can_share must be a boolean')
        self.registry.image_member_add(self._ctx(req), image_id, member,
                                       can_share=can_share)
        return no_content()

    def delete(self, req, image_id, member):
        self.registry.image_member_delete(self._ctx(req), image_id, member)
        return no_content()

    def shared_images(self, req, member):
        return json_response({'shared_images': self.registry.shared_images(
            self._ctx(req), member)})

    def count(self, req, image_id):
        return json_response({'count': self.registry.image_member_count(
            self._ctx(req), image_id)})
