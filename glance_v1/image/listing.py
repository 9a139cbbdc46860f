"""List query parameters: validation with the reference's messages and
conversion into registry filters (glance-v1-reference §5)."""

import csv

from oslo_config import cfg
from oslo_utils import strutils
from oslo_utils import uuidutils

from glance_v1.common import exception
from glance_v1.image import validation
from glance_v1.registry import local

listing_opts = [
    cfg.IntOpt('limit_param_default', default=25, min=1,
               help='Images returned by a list call that sets no limit.'),
    cfg.IntOpt('api_limit_max', default=1000, min=1,
               help='Most images one list call returns.'),
]

CONF = cfg.CONF
CONF.register_opts(listing_opts)

STRING_FILTERS = ('name', 'status', 'container_format', 'disk_format')
PROPERTY_PREFIX = 'property-'


def _bad(key, value):
    return exception.Invalid('Bad value passed to filter %s got %s'
                             % (key, value))


# Largest value of each number filter's column: a bigger one could match
# nothing, and some databases refuse to compare with it (a 500).
_NUMBER_FILTERS = {'size_min': 2 ** 63 - 1, 'size_max': 2 ** 63 - 1,
                   'min_ram': 2 ** 31 - 1, 'min_disk': 2 ** 31 - 1}


def _non_negative(key, value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(key, value)
    if number < 0 or number > _NUMBER_FILTERS[key]:
        raise _bad(key, value)
    return number


def _string_filter(value):
    """``in:a,b,"c,d"`` selects several values, ``eq:a`` one; any other
    value, colons included, is matched literally."""
    op, sep, rest = value.partition(':')
    if sep and op == 'in':
        return [v for v in next(csv.reader([rest]))]
    if sep and op == 'eq':
        return rest
    return value


def parse(params):
    """Return ``(filters, marker, limit, sort_key, sort_dir)`` from a
    mapping of query parameters."""
    filters = {}
    properties = {}
    for key, value in params.items():
        if key.startswith(PROPERTY_PREFIX) and len(key) > len(
                PROPERTY_PREFIX):
            properties[key[len(PROPERTY_PREFIX):]] = value
        elif key in STRING_FILTERS:
            filters[key] = _string_filter(value)
        elif key in _NUMBER_FILTERS:
            filters[key] = _non_negative(key, value)
        elif key == 'protected':
            if value.lower() in ('none',):
                continue
            if value.lower() not in ('true', 'false', '1', '0'):
                raise _bad(key, value)
            filters[key] = strutils.bool_from_string(value)
        elif key == 'is_public':
            lowered = value.lower()
            if lowered == 'none':
                filters[key] = None
            elif lowered in ('true', 'false', '1', '0'):
                filters[key] = strutils.bool_from_string(value)
            else:
                raise _bad(key, value)
    if properties:
        filters['properties'] = properties

    # The reference checked the filters above in its API, then these in
    # its registry, in this order: which 400 wins follows it.
    if 'changes-since' in params:
        since = validation.parse_time(params['changes-since'])
        if since is None:
            raise exception.Invalid('Unrecognized changes-since value')
        filters['changes-since'] = since

    limit = CONF.limit_param_default
    if 'limit' in params:
        try:
            limit = int(params['limit'])
        except ValueError:
            raise exception.Invalid('limit param must be an integer')
        if limit < 0:
            raise exception.Invalid('limit param must be positive')
    limit = min(limit, CONF.api_limit_max)

    sort_key = params.get('sort_key', 'created_at')
    if sort_key not in local.SORT_KEYS:
        raise exception.Invalid('Unsupported sort_key. Acceptable values: %s'
                                % ', '.join(local.SORT_KEYS))
    sort_dir = params.get('sort_dir', 'desc')
    if sort_dir not in ('asc', 'desc'):
        raise exception.Invalid('Unsupported sort_dir. Acceptable values: '
                                'asc, desc')

    marker = params.get('marker')
    if marker is not None and not uuidutils.is_uuid_like(marker):
        raise exception.Invalid('Invalid marker format')
    return filters, marker, limit, sort_key, sort_dir
