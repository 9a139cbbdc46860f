"""glance-manage: database administration."""

import sys

from oslo_config import cfg

from glance_v1.common import config
from glance_v1.common import log
from glance_v1.registry.db import migration

CONF = config.CONF
PROG = 'glance-manage'


def db_sync():
    migration.upgrade(CONF.command.version or 'head')
    print('Database is at revision %s' % migration.current())


def db_version():
    print(migration.current() or 'None')


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


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                handler=add_command_parsers)
CONF.register_cli_opt(command_opt)


def main(argv=None):
    config.parse_args(PROG, sys.argv[1:] if argv is None else argv)
    log.setup(PROG)
    try:
        CONF.command.func()
    except Exception as e:
        sys.stderr.write('ERROR: %s\n' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
