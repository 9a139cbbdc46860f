"""glance-manage: database administration.

Every failure ends in one line on stderr and a non-zero exit status: 1 for
an error (database unreachable, schema not migrated, bad argument), and
for ``db check`` 3 when migrations are pending.
"""

import sys

from oslo_config import cfg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance_v1.common import config
from glance_v1.common import log
from glance_v1.registry.db import migration
from glance_v1.registry.db import purge
from glance_v1.registry.db import session

CONF = config.CONF
PROG = 'glance-manage'
EXIT_PENDING = 3


class CommandError(Exception):
    """A failure reported as its one-line message."""


def _database():
    """The configured URL without its password, for messages."""
    try:
        url = sa.engine.make_url(CONF.database.connection)
    except sa_exc.ArgumentError:
        return '[database] connection'
    return url.render_as_string(hide_password=True)


def _require_migrated():
    if migration.pending():
        raise CommandError(
            'The database at %s is not migrated (at %s, code needs %s): '
            'run "glance-manage db sync".' % (
                _database(), migration.current() or 'no revision',
                migration.head()))


def db_sync():
    migration.upgrade(CONF.command.version or 'head')
    print('Database is at revision %s' % migration.current())


def db_version():
    print(migration.current() or 'None')


def db_check():
    current, head = migration.current(), migration.head()
    if current == head:
        print('Database is up to date at revision %s' % head)
        return 0
    print('Migrations pending: database at %s, code at %s; run '
          '"glance-manage db sync".' % (current or 'no revision', head))
    return EXIT_PENDING


def db_purge():
    age, max_rows = CONF.command.age_in_days, CONF.command.max_rows
    if age < 0:
        raise CommandError('--age_in_days must be 0 or more')
    if max_rows < 1 and max_rows != -1:
        raise CommandError('--max_rows must be 1 or more, or -1 for all')
    _require_migrated()
    counts = purge.purge(session.get_engine(), age,
                         None if max_rows == -1 else max_rows)
    print('Purged %s rows soft-deleted more than %d days ago; image rows '
          'are kept so that no image id is ever reused.' % (
              ', '.join('%s: %d' % item for item in counts.items()), age))


def add_command_parsers(subparsers):
    db = subparsers.add_parser('db', help='Database schema commands.')
    db_sub = db.add_subparsers(dest='db_command')
    db_sub.required = True
    sync = db_sub.add_parser('sync', help='Apply pending migrations.')
    sync.add_argument('version', nargs='?', help='Target revision.')
    sync.set_defaults(func=db_sync)
    version = db_sub.add_parser('version',
                                help='Print the current revision.')
    version.set_defaults(func=db_version)
    check = db_sub.add_parser(
        'check', help='Exit 0 when the schema is current, %d when '
                      'migrations are pending.' % EXIT_PENDING)
    check.set_defaults(func=db_check)
    purge_parser = db_sub.add_parser(
        'purge', help='Hard-delete old soft-deleted properties, members '
                      'and locations (never images).')
    purge_parser.add_argument('--age_in_days', type=int, default=30,
                              help='Only rows deleted longer ago than '
                                   'this (default 30).')
    purge_parser.add_argument('--max_rows', type=int, default=100,
                              help='Most rows purged per table; -1 for '
                                   'all (default 100).')
    purge_parser.set_defaults(func=db_purge)


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                handler=add_command_parsers)
CONF.register_cli_opt(command_opt)


def main(argv=None):
    config.parse_args(PROG, sys.argv[1:] if argv is None else argv)
    log.setup(PROG)
    try:
        return CONF.command.func() or 0
    except CommandError as e:
        sys.stderr.write('ERROR: %s\n' % e)
    except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError) as e:
        # OSError: a SQLite file whose directory cannot be made.
        sys.stderr.write('ERROR: Cannot use the database at %s: %s\n'
                         % (_database(), session.error_summary(e)))
    except Exception as e:
        sys.stderr.write('ERROR: %s\n' % session.error_summary(e))
    finally:
        session.dispose()
    return 1


if __name__ == '__main__':
    sys.exit(main())
