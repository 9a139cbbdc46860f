"""Logging through oslo.log, set up once per command."""

import logging as std_logging
import os

from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF
logging.register_options(CONF)
# Set with the options, not in setup(): a value read before then (the
# start-up check of every option reads them all) would keep the old one.
logging.set_defaults(default_log_levels=logging.get_default_log_levels()
                     + ['routes=WARN', 'alembic=WARN', 'swiftclient=WARN',
                        'glance_v1.wsgi.access=INFO'])


def setup(prog):
    logging.setup(CONF, prog)
    os.register_at_fork(after_in_child=new_handler_locks)


def new_handler_locks():
    """Give every log handler a lock of this process's own.

    Under eventlet oslo.log makes each handler's lock a pipe holding one
    token, and a forked worker inherits that pipe: the parent and all its
    workers then share one lock, and a worker killed while writing a line
    takes the token with it, so every other process hangs at its next log
    line (the parent never logged, nor replaced, the dead worker).
    """
    loggers = [std_logging.getLogger()] + [
        logger for logger in std_logging.Logger.manager.loggerDict.values()
        if isinstance(logger, std_logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            handler.createLock()
