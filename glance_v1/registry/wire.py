"""What travels between the HTTP registry client and glance-registry.

Image dicts go as JSON with their timestamps as strings carrying
microseconds, so that a value read back through the registry is exactly
the value stored. Exceptions go as their HTTP status plus the name of the
exception class (header ``X-Glance-Error``), so the client raises the
very class the registry raised (``StateConflict`` and ``Duplicate`` are
both 409, and the upload path tells them apart).
"""

import datetime
import json

from glance_v1.common import exception
from glance_v1.common import request_json

TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'
DATETIME_FIELDS = ('created_at', 'updated_at', 'deleted_at',
                   'upload_heartbeat')
ERROR_HEADER = 'X-Glance-Error'
PURGE_PROPS_HEADER = 'X-Glance-Registry-Purge-Props'


def _default(value):
    if isinstance(value, datetime.datetime):
        return value.strftime(TIME_FORMAT)
    raise TypeError('%r is not JSON serializable' % type(value))


def dumps(body):
    return json.dumps(body, default=_default)


def loads(data):
    """A registry answer, bounded in depth like every JSON body."""
    return request_json.loads(data)


def parse_datetime(value):
    if value is None or isinstance(value, datetime.datetime):
        return value
    try:
        return datetime.datetime.strptime(value, TIME_FORMAT)
    except (TypeError, ValueError):
        raise exception.Invalid('Invalid timestamp %r' % (value,))


def image_from_wire(image):
    """An image dict (or create/update values) with timestamps decoded."""
    image = dict(image)
    for key in DATETIME_FIELDS:
        if key in image:
            image[key] = parse_datetime(image[key])
    return image


def exception_for(status, name, message):
    """The exception the registry raised, from its status and name."""
    cls = getattr(exception, name or '', None)
    if not (isinstance(cls, type)
            and issubclass(cls, exception.GlanceException)
            and cls.code == status):
        cls = _BY_STATUS.get(status, exception.GlanceException)
    return cls(message)


_BY_STATUS = {
    400: exception.Invalid,
    401: exception.NotAuthenticated,
    403: exception.Forbidden,
    404: exception.NotFound,
    409: exception.Conflict,
    410: exception.Gone,
    412: exception.PreconditionFailed,
    413: exception.LimitExceeded,
    503: exception.ServiceUnavailable,
}


# -- members -----------------------------------------------------------------
# The registry's member list goes as the reference's
# ``{"memberships": [{"member_id": ..., "can_share": ...}]}``; the registry
# interface takes it as a dict member -> can_share (None: keep the flag).

def encode_memberships(memberships):
    encoded = []
    for member, can_share in memberships.items():
        entry = {'member_id': member}
        if can_share is not None:
            entry['can_share'] = can_share
        encoded.append(entry)
    return encoded


def decode_memberships(entries):
    if not isinstance(entries, list):
        raise exception.Invalid('"memberships" must be a list.')
    memberships = {}
    for entry in entries:
        if not (isinstance(entry, dict) and
                isinstance(entry.get('member_id'), str) and
                isinstance(entry.get('can_share'), (bool, type(None)))):
            raise exception.Invalid('Invalid membership association: %s'
                                    % (entry,))
        memberships[entry['member_id']] = entry.get('can_share')
    return memberships


# -- list queries ------------------------------------------------------------
# The client encodes the filters it was handed (already validated by
# glance_v1.image.listing.parse in glance-api) back into the query
# parameters that listing.parse reads, and glance-registry parses them with
# it again: one parser, and the registry still refuses bad input with 400.

def encode_list_query(filters, marker, limit, sort_key, sort_dir):
    params = []
    for key, value in (filters or {}).items():
        if key == 'properties':
            params.extend(('property-%s' % k, v) for k, v in value.items())
        elif key == 'is_public':
            params.append((key, str(value)))
        elif key == 'protected':
            params.append((key, 'true' if value else 'false'))
        elif key == 'changes-since':
            params.append((key, value.strftime(TIME_FORMAT)))
        elif isinstance(value, (list, tuple)):
            params.append((key, 'in:' + ','.join(_csv_quote(v)
                                                 for v in value)))
        elif isinstance(value, str):
            # "eq:" keeps a value with a colon from reading as an operator.
            params.append((key, 'eq:' + value))
        else:
            params.append((key, str(value)))
    if marker is not None:
        params.append(('marker', marker))
    if limit is not None:
        params.append(('limit', str(limit)))
    params.append(('sort_key', sort_key))
    params.append(('sort_dir', sort_dir))
    return params


def _csv_quote(value):
    if any(c in value for c in ',"\r\n') or value != value.strip():
        return '"%s"' % value.replace('"', '""')
    return value
