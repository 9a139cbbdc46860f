"""Image data stores: one driver per location scheme.

The image rules (``glance_v1.image``) are the only users; drivers know
nothing of HTTP or of the registry.
"""

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1.store import location

store_opts = [
    cfg.ListOpt('stores', default=['file', 'http'],
                help='Store drivers to enable.'),
    cfg.StrOpt('default_store', default='file',
               help='Store that receives uploaded image data.'),
]

CONF = cfg.CONF
CONF.register_opts(store_opts, group='glance_store')

# scheme -> (driver module, class name); imported lazily so a deployment
# does not load drivers it has not enabled.
_DRIVERS = {
    'file': ('glance_v1.store.filesystem', 'FilesystemStore'),
    'http': ('glance_v1.store.http', 'HttpStore'),
    'swift': ('glance_v1.store.swift', 'SwiftStore'),
}
_SCHEMES = {'filesystem': 'file', 'https': 'http', 'swift+http': 'swift',
            'swift+https': 'swift'}

_stores = {}


def _driver_name(name):
    return _SCHEMES.get(name, name)


def get_store(name):
    """The configured driver for a store name or URI scheme."""
    name = _driver_name(name)
    if name not in _DRIVERS or name not in [
            _driver_name(s) for s in CONF.glance_store.stores]:
        raise exception.UnknownScheme(scheme=name)
    if name not in _stores:
        module_name, cls_name = _DRIVERS[name]
        module = __import__(module_name, fromlist=[cls_name])
        _stores[name] = getattr(module, cls_name)(CONF)
    return _stores[name]


def get_store_for_location(uri):
    return get_store(location.scheme_of(uri))


def default_store():
    return get_store(CONF.glance_store.default_store)


def known_store(name):
    try:
        get_store(name)
    except exception.UnknownScheme:
        return False
    return True


def reset():
    _stores.clear()
