"""Quotas on images (glance-v1-reference §8): storage per owner, properties
per image, members per image."""

import re

from oslo_config import cfg

from glance_v1.common import exception

quota_opts = [
    cfg.StrOpt('user_storage_quota', default='0',
               help='Bytes of image data one owner may keep, with an '
                    'optional unit B, KB, MB, GB or TB (1024-based), e.g. '
                    '"10GB". 0 means unlimited.'),
    cfg.IntOpt('image_property_quota', default=128,
               help='Custom properties one image may have; negative means '
                    'unlimited.'),
    cfg.IntOpt('image_member_quota', default=128,
               help='Members one image may have; negative means '
                    'unlimited.'),
]

CONF = cfg.CONF
CONF.register_opts(quota_opts)

_UNITS = {'B': 1, 'KB': 1024, 'MB': 1024 ** 2, 'GB': 1024 ** 3,
          'TB': 1024 ** 4}
_QUOTA_RE = re.compile(r'^\s*(\d+)\s*(B|KB|MB|GB|TB)?\s*$')


def storage_quota():
    """``user_storage_quota`` in bytes (0 = unlimited); ValueError with a
    readable message if the option is malformed."""
    value = CONF.user_storage_quota
    match = _QUOTA_RE.match(value or '0')
    if not match:
        raise ValueError(
            'Invalid value %r for user_storage_quota: expected an integer '
            'optionally followed by B, KB, MB, GB or TB' % value)
    return int(match.group(1)) * _UNITS[match.group(2) or 'B']


def check_config():
    """Fail at start-up, not on the first upload, on a bad quota."""
    storage_quota()


def _storage_full(size, remaining):
    return exception.LimitExceeded(
        'Denying attempt to upload image because it exceeds the quota: '
        'The size of the data %s will exceed the limit. %s bytes remaining.'
        % (size, max(remaining, 0)))


def storage_remaining(ctx, registry, image_id):
    """Bytes ``ctx``'s owner may still store in ``image_id``, None when
    unlimited. The image being uploaded does not count against it."""
    quota = storage_quota()
    if not quota:
        return None
    used = registry.storage_usage(ctx, ctx.owner,
                                  exclude_image_id=image_id)
    return quota - used


def check_storage(size, remaining):
    """413 before any byte is read when the declared size does not fit."""
    if remaining is not None and size is not None and size > remaining:
        raise _storage_full(size, remaining)


def storage_limit_error(remaining):
    """The error raised once a streamed body of unknown size passes the
    ``remaining`` bytes (the reference gave the size-cap message here)."""
    def error():
        return exception.LimitExceeded(
            'Denying attempt to upload image because it exceeds the '
            'quota: The data exceeds the limit. %s bytes remaining.'
            % max(remaining, 0))
    return error


def check_properties(count):
    quota = CONF.image_property_quota
    if quota >= 0 and count > quota:
        raise exception.LimitExceeded(
            'The limit has been exceeded on the number of allowed image '
            'properties. Attempted: %d, Maximum: %d' % (count, quota))


def check_members(count):
    quota = CONF.image_member_quota
    if quota >= 0 and count > quota:
        raise exception.LimitExceeded(
            'The limit has been exceeded on the number of allowed image '
            'members for this image. Attempted: %d, Maximum: %d'
            % (count, quota))
