"""glance-api: the v1 Images API server."""

import os
import warnings

# The service resolves few names (copy-from sources at most); eventlet's
# green DNS would pull in dnspython and ~8 MiB of resident memory.
os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

with warnings.catch_warnings():
    # eventlet warns that it is in maintenance mode on every import.
    warnings.simplefilter('ignore')
    import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

# Image data is hashed and written by native threads that hand the GIL
# back and forth with the hub for every chunk; a shorter switch interval
# (default 5 ms) lets them take it sooner (about 5% on uploads here).
sys.setswitchinterval(0.001)

from oslo_log import log as logging  # noqa: E402

from glance_v1.api.middleware import catch_errors  # noqa: E402
from glance_v1.common import config  # noqa: E402
from glance_v1.common import log  # noqa: E402
from glance_v1.common import wsgi  # noqa: E402
from glance_v1.registry import api as registry_api  # noqa: E402
from glance_v1.image import notifier  # noqa: E402

CONF = config.CONF
LOG = logging.getLogger(__name__)
PROG = 'glance-api'
DEFAULT_PORT = 9292


def _check_database():
    from glance_v1.registry.db import migration
    try:
        migration.prepare(CONF.database.auto_migrate)
    except RuntimeError as e:
        wsgi.exit_with(str(e))


def _recover_uploads():
    """Kill images whose upload died with a previous process, before
    this one accepts uploads of its own (decisions "further" 2)."""
    from glance_v1.image import recovery
    try:
        recovery.recover_abandoned_uploads(registry_api.get_registry())
    except Exception:
        # Serving matters more; the serving processes retry.
        LOG.exception('Cannot look for abandoned uploads')


def prepare(uses_database, recovers_uploads):
    """Check (or migrate) the database and recover abandoned uploads,
    refusing to serve with one clear line when the database is unusable.

    This runs in a short-lived child so the serving processes never load
    alembic (about 11 MiB of resident memory) nor hold a connection
    opened before the workers fork.
    """
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            if uses_database:
                _check_database()
            if recovers_uploads:
                _recover_uploads()
        except SystemExit as e:
            code = e.code
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(1)


def _exit_on_bad_value():
    error = config.check_values()
    if error:
        wsgi.exit_with(error)


def serve(prog, default_port, argv, uses_database, recovers_uploads=False):
    """Parse the config, load the paste app, prepare the database (when
    this process opens it) and serve until stopped. ``uses_database`` is
    called once the configuration is parsed."""
    config.parse_args(prog, sys.argv[1:] if argv is None else argv)
    _exit_on_bad_value()
    log.setup(prog)
    try:
        config.load_paste_app(prog)
    except Exception as e:
        wsgi.exit_with(str(e))
    # Loading the pipeline registers the options of its middleware.
    _exit_on_bad_value()
    # With debug on, the options in force (secret ones masked).
    CONF.log_opt_values(LOG, logging.DEBUG)
    prepare(uses_database(), recovers_uploads)

    def load_app():
        app = catch_errors.CatchErrors(config.load_paste_app(prog))
        if recovers_uploads:
            _watch_uploads()
        return app

    wsgi.Server(load_app, default_port).run()


def _watch_uploads():
    """Every serving process (after the fork) takes its turn at the
    uploads abandoned by a process or node that died, for as long as it
    serves: a node's death is recovered by the others."""
    from glance_v1.image import recovery
    recovery.watch(registry_api.get_registry())


def main(argv=None):
    notifier.setup()
    # With a remote registry, the database is glance-registry's business.
    serve(PROG, DEFAULT_PORT, argv,
          lambda: registry_api.CONF.registry_backend == 'local',
          recovers_uploads=True)


if __name__ == '__main__':
    main()
