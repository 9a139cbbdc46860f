"""Logging through oslo.log, set up once per command."""

from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF
logging.register_options(CONF)


def setup(prog):
    logging.set_defaults(default_log_levels=logging.get_default_log_levels()
                         + ['routes=WARN', 'alembic=WARN',
                            'glance_v1.wsgi.access=INFO'])
    logging.setup(CONF, prog)
