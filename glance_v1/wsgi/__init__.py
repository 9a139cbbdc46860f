"""WSGI entry points (``api``, ``registry``) for mod_wsgi, uWSGI or
gunicorn."""

import os

from glance_v1.api.middleware import catch_errors
from glance_v1.common import config
from glance_v1.common import log
from glance_v1.wsgi import uwsgi_input


def init_application(prog):
    """The paste app of ``prog``, configured from ``GLANCE_CONFIG_FILES``
    (comma separated) or the standard locations."""
    files = os.environ.get('GLANCE_CONFIG_FILES')
    argv = []
    for name in (files.split(',') if files else []):
        argv += ['--config-file', name.strip()]
    config.parse_args(prog, argv)
    log.setup(prog)
    app = catch_errors.CatchErrors(config.load_paste_app(prog))
    app = uwsgi_input.adapt(app)
    error = config.check_values()
    if error:
        raise RuntimeError(error)
    return app
