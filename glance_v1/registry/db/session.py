"""Engine and session handling for the registry database."""

import os
import threading

from oslo_config import cfg
import sqlalchemy
from sqlalchemy import event
from sqlalchemy import orm

database_opts = [
    cfg.StrOpt('connection', secret=True,
               default='sqlite:///$state_path/glance.sqlite',
               help='SQLAlchemy URL of the registry database, e.g. '
                    'sqlite:////var/lib/glance/glance.sqlite, '
                    'postgresql+psycopg://glance:secret@db/glance or '
                    'mysql+pymysql://glance:secret@db/glance?charset=utf8mb4.'),
    cfg.BoolOpt('auto_migrate', default=False,
                help='Apply pending schema migrations when the service '
                     'starts (handy for a single-node SQLite install; run '
                     '"glance-manage db sync" instead on shared databases).'),
    cfg.IntOpt('max_pool_size', default=5, min=1,
               help='Connections kept open in the pool.'),
    cfg.IntOpt('max_overflow', default=10, min=0,
               help='Connections allowed above max_pool_size.'),
    cfg.IntOpt('pool_timeout', default=30, min=1,
               help='Seconds to wait for a pooled connection.'),
    cfg.IntOpt('connection_recycle_time', default=3600, min=1,
               help='Seconds after which a pooled connection is replaced.'),
    cfg.IntOpt('connect_timeout', default=10, min=1,
               help='Seconds to wait for a PostgreSQL or MySQL server to '
                    'accept a connection; requests meanwhile answer 503 '
                    'once it passes.'),
]

state_opts = [
    cfg.StrOpt('state_path', default='/var/lib/glance',
               help='Top directory for the service\'s local state; other '
                    'paths may refer to it as $state_path.'),
]

CONF = cfg.CONF
CONF.register_opts(state_opts)
CONF.register_opts(database_opts, group='database')

_lock = threading.Lock()
_engine = None
_sessionmaker = None


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    # WAL lets readers proceed while an upload's status update writes;
    # foreign keys are off by default in SQLite.
    cur.execute('PRAGMA journal_mode=WAL')
    cur.execute('PRAGMA foreign_keys=ON')
    cur.execute('PRAGMA busy_timeout=30000')
    cur.close()


def error_summary(error):
    """The first line of a database error, without SQLAlchemy's
    statement and background link: for one-line operator messages."""
    text = str(getattr(error, 'orig', None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def create_engine(url):
    url_obj = sqlalchemy.engine.make_url(url)
    kwargs = {'pool_pre_ping': True}
    if url_obj.get_backend_name() == 'sqlite':
        kwargs = {'connect_args': {'check_same_thread': False}}
        if url_obj.database and url_obj.database != ':memory:':
            os.makedirs(os.path.dirname(os.path.abspath(url_obj.database)),
                        exist_ok=True)
    else:
        # pool_pre_ping replaces a connection the server dropped (restart,
        # failover, idle timeout) before a request uses it.
        kwargs.update(pool_size=CONF.database.max_pool_size,
                      max_overflow=CONF.database.max_overflow,
                      pool_timeout=CONF.database.pool_timeout,
                      pool_recycle=CONF.database.connection_recycle_time,
                      connect_args={
                          'connect_timeout': CONF.database.connect_timeout})
    engine = sqlalchemy.create_engine(url_obj, **kwargs)
    if url_obj.get_backend_name() == 'sqlite':
        event.listen(engine, 'connect', _sqlite_pragmas)
    return engine


def lock_for_write(sess):
    """Take the database's write lock for ``sess``'s transaction now, on
    SQLite. SQLite ignores SELECT ... FOR UPDATE, and its driver opens a
    transaction only at the first write: without this, two writers both
    read an image as ``queued`` and both pass a guard on it. Other
    databases lock the rows the transaction reads FOR UPDATE."""
    if sess.get_bind().dialect.name == 'sqlite':
        sess.execute(sqlalchemy.text('BEGIN IMMEDIATE'))


def get_engine():
    global _engine, _sessionmaker
    with _lock:
        if _engine is None:
            _engine = create_engine(CONF.database.connection)
            _sessionmaker = orm.sessionmaker(bind=_engine,
                                             expire_on_commit=False)
    return _engine


def get_session():
    get_engine()
    return _sessionmaker()


def dispose():
    """Forget the engine, e.g. after fork or when tests reconfigure."""
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None
