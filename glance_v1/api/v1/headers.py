"""``x-image-meta-*`` headers <-> image metadata, and the JSON view of an
image (glance-v1-reference §2)."""

import datetime

from glance_v1.common import exception
from glance_v1.image import validation

META_PREFIX = 'x-image-meta-'
PROPERTY_PREFIX = 'x-image-meta-property-'
COPY_FROM = 'x-glance-api-copy-from'
PURGE_PROPS = 'x-glance-registry-purge-props'

# Fields of the JSON image view, in the reference's set.
DETAIL_FIELDS = ('id', 'name', 'status', 'size', 'virtual_size',
                 'disk_format', 'container_format', 'checksum', 'min_disk',
                 'min_ram', 'is_public', 'protected', 'owner', 'created_at',
                 'updated_at', 'deleted_at', 'deleted', 'os_hash_algo',
                 'os_hash_value')
BRIEF_FIELDS = ('id', 'name', 'size', 'disk_format', 'container_format',
                'checksum')
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def _text(value):
    """A WSGI header value (latin-1 decoded bytes) as the client's UTF-8."""
    try:
        return value.encode('latin-1').decode('utf-8')
    except UnicodeError:
        raise exception.Invalid('Header values must be UTF-8 encoded')


def _wire(value):
    """A text value as a WSGI header value (UTF-8 bytes seen as latin-1)."""
    return value.encode('utf-8').decode('latin-1')


def parse(headers):
    """Raw image metadata from request headers: strings, or None for an
    empty value; custom properties under ``properties``."""
    meta = {}
    properties = {}
    for name, value in headers.items():
        key = name.lower()
        if key.startswith(PROPERTY_PREFIX):
            field = key[len(PROPERTY_PREFIX):].replace('-', '_')
            if not field:
                raise exception.BadHeader(header=key)
            properties[_text(field)] = _text(value) or None
        elif key.startswith(META_PREFIX):
            field = key[len(META_PREFIX):].replace('-', '_')
            if field not in validation.CORE_FIELDS:
                raise exception.BadHeader(header=key)
            meta[field] = _text(value) or None
    if COPY_FROM in headers:
        meta['copy_from_url'] = _text(headers[COPY_FROM]).strip()
        if not meta['copy_from_url']:
            raise exception.Invalid('External source should not be empty')
    meta['properties'] = properties
    return meta


def _format(value):
    if isinstance(value, datetime.datetime):
        return value.strftime(_TIME_FORMAT)
    return value


def image_headers(image):
    """Response headers describing ``image`` (never its location)."""
    headers = []
    for field in DETAIL_FIELDS:
        value = image.get(field)
        if value is not None:
            headers.append((META_PREFIX + field, _wire(str(_format(value)))))
    for key, value in sorted((image.get('properties') or {}).items()):
        if value is not None:
            headers.append((PROPERTY_PREFIX + _wire(key), _wire(str(value))))
    return headers + etag(image)


def etag(image):
    """``[('ETag', checksum)]``, or nothing without a checksum. The
    checksum is as the client gave it when it came with a location, so it
    goes out UTF-8 encoded like every other value."""
    if image.get('checksum'):
        return [('ETag', _wire(image['checksum']))]
    return []


def image_view(image):
    """The JSON form of an image for show/create/update/detail."""
    view = {field: _format(image.get(field)) for field in DETAIL_FIELDS}
    view['properties'] = dict(image.get('properties') or {})
    return view


def brief_view(image):
    return {field: image.get(field) for field in BRIEF_FIELDS}
