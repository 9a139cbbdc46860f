"""WSGI entry points (``api``, ``registry``) for mod_wsgi, uWSGI or
gunicorn."""

import fcntl
import logging
import os
import threading
import time

import webob.exc

from glance_v1.api.middleware import catch_errors
from glance_v1.common import config
from glance_v1.common import exception
from glance_v1.common import log
from glance_v1.wsgi import uwsgi_input

LOG = logging.getLogger(__name__)


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
    app = uwsgi_input.adapt(app)
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


class Prepared:
    """``app`` once ``prepare()`` succeeded. glance-api's own server
    refuses to start on a database it cannot use; a daemon of another
    server may (re)start during an outage, and then answers 503 as a
    running server does, and serves as soon as the database is back.
    Requests that arrive while one tries wait for that try rather than
    each making its own: an unreachable database costs one connect
    timeout at a time, not one per request."""

    def __init__(self, app, prepare):
        self.app = app
        self._prepare = prepare
        self._lock = threading.Lock()
        self._ready = False
        self._tried = None
        self._try()

    def _try(self):
        try:
            self._prepare()
        except RuntimeError as e:
            LOG.error('Not serving yet: %s', e)
        else:
            self._ready = True
        self._tried = time.monotonic()

    def __call__(self, environ, start_response):
        if not self._ready:
            arrived = time.monotonic()
            with self._lock:
                # A try that failed after this request arrived answers
                # for it too.
                if not self._ready and self._tried < arrived:
                    self._try()
            if not self._ready:
                return webob.exc.HTTPServiceUnavailable(
                    exception.DatabaseUnavailable.message)(
                        environ, start_response)
        return self.app(environ, start_response)
