"""glance-api: the v1 Images API server."""

import warnings

with warnings.catch_warnings():
    # eventlet warns that it is in maintenance mode on every import.
    warnings.simplefilter('ignore')
    import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from oslo_log import log as logging  # noqa: E402

from glance_v1.common import config  # noqa: E402
from glance_v1.common import log  # noqa: E402
from glance_v1.common import wsgi  # noqa: E402
from glance_v1.registry.db import migration  # noqa: E402
from glance_v1.registry.db import session  # noqa: E402

CONF = config.CONF
LOG = logging.getLogger(__name__)
PROG = 'glance-api'
DEFAULT_PORT = 9292


def prepare_database():
    """Apply migrations when asked to; otherwise refuse to serve from an
    unmigrated database with one clear line."""
    try:
        if CONF.database.auto_migrate:
            migration.upgrade()
        elif migration.pending():
            wsgi.exit_with('The database at [database] connection is not '
                           'migrated: run "glance-manage db sync".')
    except Exception as e:
        wsgi.exit_with('Cannot use the database at [database] connection: '
                       '%s' % e)
    finally:
        # Each worker opens its own connections after the fork.
        session.dispose()


def main(argv=None):
    config.parse_args(PROG, sys.argv[1:] if argv is None else argv)
    log.setup(PROG)
    try:
        config.load_paste_app(PROG)
    except Exception as e:
        wsgi.exit_with(str(e))
    prepare_database()
    server = wsgi.Server(lambda: config.load_paste_app(PROG), DEFAULT_PORT,
                         on_worker_start=session.dispose)
    server.run()


if __name__ == '__main__':
    main()
