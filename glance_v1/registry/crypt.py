"""Location URLs encrypted at rest (``metadata_encryption_key``, §4).

Done at the registry boundary, as the reference's registry client did: the
``EncryptingRegistry`` wraps whichever registry is configured, encrypts
``location`` on the way in and decrypts locations on the way out, so the
database (and a glance-registry service behind an HTTP client) only ever
sees ciphertext. AES-GCM (authenticated, random 96-bit nonce) from the
``cryptography`` package; the key is 16, 24 or 32 characters (AES-128/192/
256). Values written before a key was set are plain URLs (they contain
"://", which urlsafe base64 never does) and are read as they are.
"""

import base64
import os

from cryptography import exceptions
from cryptography.hazmat.primitives.ciphers import aead
from oslo_config import cfg

from glance_v1.common import exception

crypt_opts = [
    cfg.StrOpt('metadata_encryption_key', secret=True,
               help='AES key (16, 24 or 32 characters) that encrypts image '
                    'location URLs (which may hold credentials) in the '
                    'registry. Unset: stored in clear text.'),
]

CONF = cfg.CONF
CONF.register_opts(crypt_opts)

_PREFIX = 'aesgcm:'


def _cipher(key):
    if len(key.encode()) not in (16, 24, 32):
        raise exception.GlanceException(
            'metadata_encryption_key must be 16, 24 or 32 bytes long')
    return aead.AESGCM(key.encode())


def encrypt(key, url):
    nonce = os.urandom(12)
    sealed = _cipher(key).encrypt(nonce, url.encode(), None)
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(key, value):
    if not value or not value.startswith(_PREFIX):
        return value
    try:
        raw = base64.urlsafe_b64decode(value[len(_PREFIX):])
        return _cipher(key).decrypt(raw[:12], raw[12:], None).decode()
    except (ValueError, exceptions.InvalidTag):
        raise exception.GlanceException(
            'A stored image location cannot be decrypted: was '
            'metadata_encryption_key changed?')


class EncryptingRegistry:
    """A registry whose stored locations are ciphertext."""

    def __init__(self, registry, key):
        self._registry = registry
        self._key = key
        _cipher(key)

    def _values(self, values):
        if values.get('location'):
            values = dict(values, location=encrypt(self._key,
                                                   values['location']))
        return values

    def _image(self, image):
        if isinstance(image, list):
            return [self._image(i) for i in image]
        if not isinstance(image, dict) or 'location_data' not in image:
            return image
        image = dict(image)
        image['location'] = decrypt(self._key, image.get('location'))
        image['location_data'] = [
            dict(loc, url=decrypt(self._key, loc['url']))
            for loc in image['location_data']]
        return image

    def image_create(self, ctx, values):
        return self._image(self._registry.image_create(
            ctx, self._values(values)))

    def image_update(self, ctx, image_id, values, *args, **kwargs):
        return self._image(self._registry.image_update(
            ctx, image_id, self._values(values), *args, **kwargs))

    def __getattr__(self, name):
        attr = getattr(self._registry, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            return self._image(attr(*args, **kwargs))
        return call
