"""WSGI entry point for mod_wsgi, uWSGI or gunicorn.

Point the server at ``glance_v1.wsgi.api:application``; the config files
are taken from ``GLANCE_CONFIG_FILES`` (comma separated) or the standard
locations.
"""

import os

from glance_v1.common import config
from glance_v1.common import log
from glance_v1.image import notifier

PROG = 'glance-api'


def init_application():
    files = os.environ.get('GLANCE_CONFIG_FILES')
    argv = []
    for name in (files.split(',') if files else []):
        argv += ['--config-file', name.strip()]
    notifier.setup()
    config.parse_args(PROG, argv)
    log.setup(PROG)
    app = config.load_paste_app(PROG)
    error = config.check_values()
    if error:
        raise RuntimeError(error)
    return app


application = init_application()
