"""Throwaway databases for the tests, on SQLite, PostgreSQL or MySQL.

``GLANCE_V1_TEST_DB`` (sqlite | postgresql | mysql) picks the backend the
functional servers use. PostgreSQL and MariaDB/MySQL are reached through
the admin URLs below (overridable with ``GLANCE_V1_TEST_POSTGRESQL_URL``
and ``GLANCE_V1_TEST_MYSQL_URL``); each fixture creates its own database
and drops it afterwards. An unreachable server skips the test with the
reason, or fails it when ``GLANCE_V1_REQUIRE_BACKENDS=1``.
"""

import os
import uuid

import fixtures
import sqlalchemy
import testtools

ADMIN_URLS = {
    'postgresql': os.environ.get(
        'GLANCE_V1_TEST_POSTGRESQL_URL',
        'postgresql+psycopg://postgres@127.0.0.1:5432/postgres'),
    'mysql': os.environ.get(
        'GLANCE_V1_TEST_MYSQL_URL',
        'mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4'),
}
BACKENDS = ('sqlite', 'postgresql', 'mysql')


def selected_backend():
    backend = os.environ.get('GLANCE_V1_TEST_DB') or 'sqlite'
    if backend not in BACKENDS:
        raise RuntimeError('GLANCE_V1_TEST_DB must be one of %s, not %r'
                           % (', '.join(BACKENDS), backend))
    return backend


def backend_required():
    return os.environ.get('GLANCE_V1_REQUIRE_BACKENDS') == '1'


def unavailable(reason):
    """Skip (or fail, on CI) because a backend is missing."""
    if backend_required():
        raise RuntimeError('%s (GLANCE_V1_REQUIRE_BACKENDS=1)' % reason)
    raise testtools.TestCase.skipException(reason)


def check_available(backend):
    """Skip (or fail) now, outside any fixture, when ``backend`` cannot
    be reached: a skip raised inside a fixture's setUp reads as an
    error."""
    if backend != 'sqlite':
        _admin_engine(backend).dispose()


def _admin_engine(backend):
    url = ADMIN_URLS[backend]
    try:
        engine = sqlalchemy.create_engine(url, isolation_level='AUTOCOMMIT',
                                          poolclass=sqlalchemy.NullPool)
        with engine.connect():
            pass
    except ImportError as e:
        unavailable('%s driver not installed: %s' % (backend, e))
    except sqlalchemy.exc.OperationalError as e:
        unavailable('%s not reachable at %s: %s' % (
            backend, engine.url.render_as_string(hide_password=True),
            str(e.orig).strip().splitlines()[0]))
    return engine


class Database(fixtures.Fixture):
    """A fresh, empty database; ``url`` is its SQLAlchemy URL."""

    def __init__(self, backend=None, directory=None):
        super().__init__()
        self.backend = backend or selected_backend()
        self.directory = directory

    def _setUp(self):
        if self.backend == 'sqlite':
            directory = self.directory or self.useFixture(
                fixtures.TempDir()).path
            self.url = 'sqlite:///%s' % os.path.join(directory,
                                                     'glance.sqlite')
            return
        engine = _admin_engine(self.backend)
        self.name = 'glance_v1_test_%s' % uuid.uuid4().hex[:12]
        with engine.connect() as conn:
            if self.backend == 'mysql':
                conn.exec_driver_sql('CREATE DATABASE %s CHARACTER SET '
                                     'utf8mb4' % self.name)
            else:
                conn.exec_driver_sql('CREATE DATABASE %s' % self.name)
        self.addCleanup(self._drop, engine)
        self.url = engine.url.set(database=self.name).render_as_string(
            hide_password=False)

    def _drop(self, engine):
        with engine.connect() as conn:
            if self.backend == 'postgresql':
                # Servers stopped uncleanly may still hold connections.
                conn.exec_driver_sql('DROP DATABASE IF EXISTS %s '
                                     'WITH (FORCE)' % self.name)
            else:
                conn.exec_driver_sql('DROP DATABASE IF EXISTS %s'
                                     % self.name)
        engine.dispose()
