"""WSGI entry points (``api``, ``registry``) for mod_wsgi, uWSGI or
gunicorn."""

import fcntl
import os

from glance_v1.api.middleware import catch_errors
from glance_v1.common import config
from glance_v1.common import log


def init_application(prog, configured=None):
    """The paste app of ``prog``, configured from ``GLANCE_CONFIG_FILES``
    (comma separated) or the standard locations; ``configured()`` runs
    once the configuration is parsed, before the pipeline loads."""
    files = os.environ.get('GLANCE_CONFIG_FILES')
    argv = []
    for name in (files.split(',') if files else []):
        argv += ['--config-file', name.strip()]
    config.parse_args(prog, argv)
    log.setup(prog)
    if configured is not None:
        configured()
    app = catch_errors.CatchErrors(config.load_paste_app(prog))
    error = config.check_values()
    if error:
        raise RuntimeError(error)
    return app


def prepare_database():
    """Migrate the database (``auto_migrate``) or check that it is
    current, as glance-api's own server does before serving. The server's
    processes load the application side by side: one migrates while the
    others wait on a lock file in ``state_path``."""
    from glance_v1.registry.db import migration
    path = os.path.join(config.CONF.state_path, 'glance-db-sync.lock')
    with open(path, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        migration.prepare(config.CONF.database.auto_migrate)
