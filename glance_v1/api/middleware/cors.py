"""``cors``: oslo.middleware's CORS reading the service's own [cors]
options (its paste factory would insist on options in the paste file or
load a second configuration of its own)."""

from oslo_config import cfg
from oslo_middleware import cors


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return cors.CORS(app, cfg.CONF)
    return _filter
