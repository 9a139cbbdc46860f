"""Validation of image metadata, with the reference's 400 messages.

Input is the raw metadata parsed from ``x-image-meta-*`` headers (strings,
or None for an empty header); output is typed values.
"""

import datetime
import re

from oslo_config import cfg
from oslo_utils import strutils
from oslo_utils import uuidutils

from glance_v1.common import exception

image_format_opts = [
    cfg.ListOpt('disk_formats',
                default=['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw',
                         'qcow2', 'vdi', 'iso', 'ploop'],
                help='Disk formats an image may declare.'),
    cfg.ListOpt('container_formats',
                default=['ami', 'ari', 'aki', 'bare', 'ovf', 'ova',
                         'docker'],
                help='Container formats an image may declare.'),
]

size_cap_opts = [
    cfg.IntOpt('image_size_cap', default=1099511627776, min=0,
               max=9223372036854775808,
               help='Largest image, in bytes, that may be uploaded.'),
]

CONF = cfg.CONF
CONF.register_opts(image_format_opts, group='image_format')
CONF.register_opts(size_cap_opts)

# Core fields a request may name in x-image-meta-<field>. The secure-hash
# fields are server-managed but accepted, so that clients echoing every
# header they were given are not refused.
CORE_FIELDS = frozenset([
    'location', 'size', 'is_public', 'disk_format', 'container_format',
    'name', 'status', 'copy_from', 'uri', 'checksum', 'created_at',
    'updated_at', 'deleted_at', 'min_ram', 'min_disk', 'owner', 'store',
    'id', 'protected', 'deleted', 'virtual_size', 'os_hash_algo',
    'os_hash_value'])

INT_FIELDS = (('size', False, 2 ** 63 - 1), ('min_disk', False, 2 ** 31 - 1),
              ('min_ram', False, 2 ** 31 - 1),
              ('virtual_size', True, 2 ** 63 - 1))
BOOL_FIELDS = ('is_public', 'deleted', 'protected')
TIME_FIELDS = ('created_at', 'updated_at', 'deleted_at')
AMAZON_FORMATS = ('aki', 'ari', 'ami')
MAX_NAME = 255
MAX_PROPERTY_KEY = 255
_MD5_HEX = re.compile(r'[0-9a-fA-F]{32}\Z')
# The md5 of no bytes: the checksum of an image whose data is empty.
EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e'
_TIME_RE = re.compile(r'^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?'
                      r'(Z|[+-]\d\d:?\d\d)?)?$')


def parse_time(value):
    """An ISO-8601 timestamp as a naive UTC datetime, or None if invalid."""
    if not value or not _TIME_RE.match(value.strip()):
        return None
    text = value.strip().replace('Z', '+00:00')
    if re.search(r'[+-]\d\d\d\d$', text):
        text = text[:-2] + ':' + text[-2:]
    try:
        dt = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if dt.year < 1900:
        return None
    return dt


def _bad_int(key, raw, reason):
    return exception.Invalid("Invalid value '%s' for parameter '%s': %s"
                             % (raw, key, reason))


def convert(meta):
    """Turn raw integer and boolean header values into typed values (in
    place); ``validate`` parses the times."""
    for key, nullable, maximum in INT_FIELDS:
        if key not in meta:
            continue
        raw = meta[key]
        if nullable and raw in (None, 'None'):
            meta[key] = None
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise _bad_int(key, raw, "Cannot convert image %s '%s' to an "
                           "integer." % (key, raw))
        if value < 0:
            raise _bad_int(key, raw, 'Cannot be a negative value.')
        if key == 'size' and value > CONF.image_size_cap:
            # check_size_cap refuses it, after the format checks.
            meta[key] = value
            continue
        if value > maximum:
            raise exception.Invalid(
                "'%s' value out of range, must not exceed %d."
                % (key, maximum))
        meta[key] = value
    for key in BOOL_FIELDS:
        if key in meta:
            meta[key] = strutils.bool_from_string(meta[key])
    return meta


def validate(meta):
    """The reference's ``validate_image_meta`` checks (in place), in its
    order: which 400 wins follows it."""
    disk_format = meta.get('disk_format')
    container_format = meta.get('container_format')
    if 'disk_format' in meta and \
            disk_format not in CONF.image_format.disk_formats:
        raise exception.Invalid("Invalid disk format '%s' for image."
                                % disk_format)
    if 'container_format' in meta and \
            container_format not in CONF.image_format.container_formats:
        raise exception.Invalid("Invalid container format '%s' for image."
                                % container_format)
    if disk_format in AMAZON_FORMATS or container_format in AMAZON_FORMATS:
        if disk_format is None:
            meta['disk_format'] = container_format
        elif container_format is None:
            meta['container_format'] = disk_format
        elif disk_format != container_format:
            raise exception.Invalid(
                "Invalid mix of disk and container formats. When setting a "
                "disk or container format to one of 'aki', 'ari', or 'ami', "
                "the container and disk formats must match.")
    for key in TIME_FIELDS:
        if key in meta:
            value = parse_time(meta[key])
            if value is None:
                raise exception.Invalid('Invalid time format for %s.' % key)
            meta[key] = value
    name = meta.get('name')
    if name and len(name) > MAX_NAME:
        raise exception.Invalid('Image name too long: %d' % len(name))
    checksum = meta.get('checksum')
    if checksum is not None and len(checksum) > 32:
        raise exception.Invalid(
            "Invalid checksum '%s': can't exceed 32 characters" % checksum)
    if checksum is not None and not _MD5_HEX.match(checksum):
        # Stored unverified (no data yet, or an external location), any
        # other value would be an ETag no data can match.
        raise exception.Invalid(
            "Invalid checksum '%s': must be 32 hexadecimal digits (an md5)"
            % checksum)
    if 'id' in meta and not uuidutils.is_uuid_like(meta['id']):
        raise exception.Invalid('Invalid image id format')
    owner = meta.get('owner')
    if owner is not None and len(owner) > 255:
        raise exception.Invalid('Owner too long: %d' % len(owner))
    for key in meta.get('properties', {}):
        if len(key) > MAX_PROPERTY_KEY:
            raise exception.Invalid('Property key too long: %s' % key)
    return meta


def check_empty_checksum(checksum):
    """An image made active without data: its declared checksum must be
    the md5 of no bytes, as an upload's is checked against its data."""
    if checksum is not None and checksum != EMPTY_MD5:
        raise exception.Invalid(
            'Supplied checksum (%s) and checksum generated from uploaded '
            'image (%s) did not match.' % (checksum, EMPTY_MD5))


def check_size_cap(size):
    """400 when a declared size is over ``image_size_cap``."""
    cap = CONF.image_size_cap
    if size is not None and size > cap:
        raise exception.Invalid(
            'Denying attempt to upload image larger than %d bytes.' % cap)


def require_formats(image):
    """Both formats must be known before data makes an image active."""
    if not image.get('disk_format'):
        raise exception.Invalid('Disk format is not specified.')
    if not image.get('container_format'):
        raise exception.Invalid('Container format is not specified.')
