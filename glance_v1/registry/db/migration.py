"""Schema migrations (alembic), driven from code rather than alembic.ini."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from glance_v1.registry.db import session

_SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', _SCRIPT_LOCATION)
    cfg.attributes['connection'] = connection
    return cfg


def head():
    script = alembic_script.ScriptDirectory(_SCRIPT_LOCATION)
    return script.get_current_head()


def current(engine=None):
    engine = engine or session.get_engine()
    with engine.connect() as conn:
        return alembic_migration.MigrationContext.configure(
            conn).get_current_revision()


def upgrade(revision='head', engine=None):
    engine = engine or session.get_engine()
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def prepare(auto_migrate):
    """Migrate the database (``auto_migrate``) or check that it needs no
    migration; raises RuntimeError with one line for the operator."""
    try:
        if auto_migrate:
            upgrade()
            return
        needed = pending()
    except Exception as e:
        raise RuntimeError('Cannot use the database at [database] '
                           'connection: %s' % session.error_summary(e))
    if needed:
        raise RuntimeError('The database at [database] connection is not '
                           'migrated: run "glance-manage db sync".')


def pending(engine=None):
    """True when the database is behind the newest migration."""
    return current(engine) != head()
