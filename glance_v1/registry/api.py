"""The registry interface and the choice of its implementation.

Image records travel as plain dicts (core fields, ``properties``,
``location`` and ``location_data``) so that the in-process registry and an
HTTP registry client are interchangeable.
"""

from oslo_config import cfg

from glance_v1.registry import crypt

registry_opts = [
    cfg.StrOpt('registry_backend', default='local',
               choices=[('local', 'in-process, over [database] connection')],
               help='Where image metadata is kept.'),
]

CONF = cfg.CONF
CONF.register_opts(registry_opts)

_registry = None


def get_registry():
    global _registry
    if _registry is None:
        from glance_v1.registry import local
        _registry = local.LocalRegistry()
        if CONF.metadata_encryption_key:
            _registry = crypt.EncryptingRegistry(
                _registry, CONF.metadata_encryption_key)
    return _registry


def reset():
    global _registry
    _registry = None
