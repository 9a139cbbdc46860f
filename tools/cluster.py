#!/usr/bin/env python3
"""N glance-api nodes over one PostgreSQL database and one Swift, on
loopback, for tests and for operators trying a cluster out.

    python tools/cluster.py start --base DIR [--nodes 3] [--swift-aio AIO]
                                  [--database URL] [--set SECTION.OPT=VALUE]
    python tools/cluster.py status --base DIR
    python tools/cluster.py kill --base DIR NODE [--signal KILL]
    python tools/cluster.py restart --base DIR NODE
    python tools/cluster.py orphans --base DIR   # exit 1 if any
    python tools/cluster.py stop --base DIR [--purge]

``start`` uses the Swift all-in-one of ``--swift-aio`` (the directory of
``tools/swift_aio.py start``) or starts one under DIR/swift, and the
database of ``--database`` or a new one on the PostgreSQL of
``--postgresql`` (dropped by ``stop --purge``). It migrates the database
once (``glance-manage db sync``; the nodes run with ``auto_migrate =
false``, as nodes sharing a database should) and starts the nodes, each
with its own port, ``state_path`` and log under DIR/nodeN and its own
``host`` name: they judge each other's uploads by their leases, as nodes
on separate machines do. DIR/cluster.json records all of it; nodes are
stopped by the pids recorded there, and only those.

``orphans`` lists what the Swift containers hold that no image owns
(objects and segments named after an image that is not active,
deactivated or pending_delete): after any failure, and once the
recovery bound has passed, it should list nothing.

Run it with the Python that has glance_v1 installed (a tox env's).
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

# The sibling module, whether this runs as a script or is imported.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import local_servers  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWIFT_AIO = os.path.join(REPO, 'tools', 'swift_aio.py')
POSTGRESQL = 'postgresql+psycopg://postgres@127.0.0.1:5432/postgres'
# Image statuses whose image owns data in the store.
OWNING = ('active', 'deactivated', 'pending_delete')


def log(msg):
    print('[cluster] %s' % msg, file=sys.stderr, flush=True)


def _alive(pid):
    """Whether ``pid`` still runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


class Node:
    """One glance-api process of the cluster."""

    def __init__(self, cluster, name, port):
        self.cluster = cluster
        self.name = name
        self.port = port
        self.dir = os.path.join(cluster.base, name)
        self.conf_file = os.path.join(self.dir, 'glance-api.conf')
        self.log_file = os.path.join(self.dir, 'glance-api.log')
        self.pid = None
        self.proc = None

    def configure(self, overrides):
        state = os.path.join(self.dir, 'state')
        os.makedirs(state, exist_ok=True)
        sections = {
            'DEFAULT': {'bind_host': '127.0.0.1', 'bind_port': self.port,
                        'workers': 0, 'state_path': state,
                        'host': self.name, 'log_file': self.log_file,
                        'graceful_shutdown_timeout': 5},
            'database': {'connection': self.cluster.database,
                         'auto_migrate': 'false'},
            'paste_deploy': {'config_file': os.path.join(
                REPO, 'etc', 'glance-api-paste.ini')},
            'glance_store': dict(self.cluster.store_conf(),
                                 filesystem_store_datadir=os.path.join(
                                     state, 'images')),
        }
        for (section, option), value in overrides.items():
            sections.setdefault(section, {})[option] = value
        local_servers.write_conf(self.conf_file, sections)

    def start(self, timeout=60):
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self):
        out = open(os.path.join(self.dir, 'stdout.log'), 'ab')
        # A session of its own: it outlives this command and a Ctrl-C.
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'glance_v1.cmd.api', '--config-file',
             self.conf_file], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.pid = self.proc.pid

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s; see %s' % (
                    self.name, self.proc.returncode, self.dir))
            try:
                conn = self.connection(timeout=2)
                conn.request('GET', '/healthcheck')
                ready = conn.getresponse().status == 200
                conn.close()
                if ready:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError('%s did not start; see %s' % (self.name,
                                                         self.dir))

    def stop(self, signum=signal.SIGTERM, timeout=20):
        """Stop the node's process and wait until it is gone (SIGKILL
        after ``timeout``)."""
        if not self.pid or not self.running():
            self.pid = None
            return
        os.kill(self.pid, signum)
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                deadline = float('inf')
            time.sleep(0.05)
        self.pid = None

    def running(self):
        if self.proc is not None:
            # Ours: reap it, or it lingers as a zombie.
            return self.proc.poll() is None
        return self.pid is not None and _alive(self.pid) and \
            self._is_ours()

    def _is_ours(self):
        try:
            with open('/proc/%d/cmdline' % self.pid, 'rb') as f:
                return self.conf_file.encode() in f.read()
        except OSError:
            return False

    def connection(self, timeout=60):
        return http.client.HTTPConnection('127.0.0.1', self.port,
                                          timeout=timeout)

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def read_log(self):
        try:
            with open(self.log_file, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def record(self):
        return {'name': self.name, 'port': self.port, 'pid': self.pid}


def start_all(nodes):
    """Start ``nodes`` side by side (each takes seconds to be ready)."""
    for node in nodes:
        node.spawn()
    for node in nodes:
        node.wait_ready()


class Cluster:
    """The cluster of DIR (``base``): create it with ``start``, or load
    a started one with ``Cluster.load``."""

    def __init__(self, base):
        self.base = os.path.realpath(base)
        self.nodes = []
        self.database = None
        self.own_database = None
        self.swift_aio = None
        self.own_swift = False
        self.container = None

    @property
    def state_file(self):
        return os.path.join(self.base, 'cluster.json')

    def swift(self):
        with open(os.path.join(self.swift_aio, 'saio.json')) as f:
            return json.load(f)

    def store_conf(self):
        swift = self.swift()
        return {'stores': 'file,http,swift', 'default_store': 'swift',
                'swift_store_auth_address': swift['auth_address'],
                'swift_store_auth_version': swift['auth_version'],
                'swift_store_user': swift['user'],
                'swift_store_key': swift['key'],
                'swift_store_container': self.container,
                'swift_store_create_container_on_put': 'true'}

    # -- life cycle -------------------------------------------------------

    def start(self, nodes=3, swift_aio=None, database=None,
              postgresql=POSTGRESQL, overrides=None):
        os.makedirs(self.base, exist_ok=True)
        if os.path.exists(self.state_file):
            raise RuntimeError('a cluster was started in %s already'
                               % self.base)
        self.container = 'glance-%s' % uuid.uuid4().hex[:8]
        if swift_aio:
            self.swift_aio = os.path.realpath(swift_aio)
        else:
            self.swift_aio = os.path.join(self.base, 'swift')
            subprocess.check_call([sys.executable, SWIFT_AIO, 'start',
                                   '--base', self.swift_aio],
                                  stdout=subprocess.DEVNULL)
            self.own_swift = True
        if database:
            self.database = database
        else:
            self.own_database = self._create_database(postgresql)
        self.nodes = [Node(self, 'node%d' % (i + 1),
                           local_servers.free_port())
                      for i in range(nodes)]
        for node in self.nodes:
            node.configure(overrides or {})
        self.save()
        subprocess.check_call(
            [sys.executable, '-m', 'glance_v1.cmd.manage', '--config-file',
             self.nodes[0].conf_file, 'db', 'sync'],
            stdout=subprocess.DEVNULL)
        start_all(self.nodes)
        self.save()
        log('%d nodes up: %s' % (len(self.nodes), ' '.join(
            n.url for n in self.nodes)))

    def _create_database(self, admin_url):
        import sqlalchemy
        engine = sqlalchemy.create_engine(admin_url,
                                          isolation_level='AUTOCOMMIT',
                                          poolclass=sqlalchemy.NullPool)
        name = 'glance_cluster_%s' % uuid.uuid4().hex[:12]
        with engine.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE %s' % name)
        self.database = engine.url.set(database=name).render_as_string(
            hide_password=False)
        return {'admin': admin_url, 'name': name}

    def _drop_database(self):
        import sqlalchemy
        engine = sqlalchemy.create_engine(self.own_database['admin'],
                                          isolation_level='AUTOCOMMIT',
                                          poolclass=sqlalchemy.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                                 % self.own_database['name'])

    def stop(self, purge=False):
        for node in self.nodes:
            node.stop()
        self.save()
        if purge:
            self._remove_containers()
            if self.own_database:
                self._drop_database()
        if self.own_swift:
            subprocess.call([sys.executable, SWIFT_AIO, 'stop', '--base',
                             self.swift_aio] + (['--purge'] if purge
                                                else []))
        if purge:
            shutil.rmtree(self.base, ignore_errors=True)

    def node(self, name):
        for node in self.nodes:
            if node.name == name or str(self.nodes.index(node) + 1) == name:
                return node
        raise KeyError('no node %s in %s' % (name, self.base))

    # -- state ------------------------------------------------------------

    def save(self):
        state = {'nodes': [n.record() for n in self.nodes],
                 'database': self.database,
                 'own_database': self.own_database,
                 'swift_aio': self.swift_aio, 'own_swift': self.own_swift,
                 'container': self.container}
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.state_file)

    @classmethod
    def load(cls, base):
        cluster = cls(base)
        with open(cluster.state_file) as f:
            state = json.load(f)
        for key in ('database', 'own_database', 'swift_aio', 'own_swift',
                    'container'):
            setattr(cluster, key, state[key])
        for record in state['nodes']:
            node = Node(cluster, record['name'], record['port'])
            node.pid = record['pid']
            cluster.nodes.append(node)
        return cluster

    # -- what Swift holds -------------------------------------------------

    def swift_connection(self):
        from swiftclient import client
        swift = self.swift()
        return client.Connection(swift['auth_address'], swift['user'],
                                 swift['key'], auth_version='1', retries=1)

    def swift_objects(self):
        """``(container, name)`` of every object and segment."""
        conn = self.swift_connection()
        found = []
        try:
            for container in (self.container, self.container + '_segments'):
                try:
                    _h, listing = conn.get_container(container,
                                                     full_listing=True)
                except Exception as e:
                    if getattr(e, 'http_status', None) == 404:
                        continue
                    raise
                found.extend((container, o['name']) for o in listing)
        finally:
            conn.close()
        return found

    def image_statuses(self):
        import sqlalchemy
        engine = sqlalchemy.create_engine(self.database,
                                          poolclass=sqlalchemy.NullPool)
        try:
            with engine.connect() as conn:
                return dict(conn.exec_driver_sql(
                    'SELECT id, status FROM images').fetchall())
        finally:
            engine.dispose()

    def orphans(self):
        """Objects and segments no image owns: named after an image that
        does not exist or is not in an owning status."""
        statuses = self.image_statuses()
        return ['%s/%s' % (container, name)
                for container, name in self.swift_objects()
                if statuses.get(name.split('/', 1)[0]) not in OWNING]

    def _remove_containers(self):
        conn = self.swift_connection()
        try:
            for container, name in self.swift_objects():
                conn.delete_object(container, name)
            for container in (self.container, self.container + '_segments'):
                try:
                    conn.delete_container(container)
                except Exception as e:
                    if getattr(e, 'http_status', None) != 404:
                        raise
        finally:
            conn.close()


def _overrides(items):
    overrides = {}
    for item in items or ():
        key, sep, value = item.partition('=')
        section, dot, option = key.rpartition('.')
        if not sep or not option:
            raise SystemExit('--set wants SECTION.OPTION=VALUE, not %r'
                             % item)
        overrides[(section or 'DEFAULT', option)] = value
    return overrides


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('start', help='start a cluster in --base')
    p.add_argument('--nodes', type=int, default=3)
    p.add_argument('--swift-aio',
                   help='directory of a running tools/swift_aio.py '
                        '(default: start one under BASE/swift)')
    p.add_argument('--database',
                   help='SQLAlchemy URL of the shared database (default: '
                        'a new database on --postgresql)')
    p.add_argument('--postgresql', default=POSTGRESQL,
                   help='admin URL of the PostgreSQL to create it on')
    p.add_argument('--set', action='append', metavar='SECTION.OPT=VALUE',
                   help='an option of every node (DEFAULT.OPT for '
                        '[DEFAULT]); repeatable')
    for name in ('status', 'orphans', 'stop', 'kill', 'restart'):
        q = sub.add_parser(name)
        q.add_argument('--base', required=True)
        if name in ('kill', 'restart'):
            q.add_argument('node', help='node name (node2) or number')
    sub.choices['kill'].add_argument('--signal', default='KILL',
                                     help='signal name (default KILL)')
    sub.choices['stop'].add_argument(
        '--purge', action='store_true',
        help='also remove the containers, the database (if created here) '
             'and BASE')
    p.add_argument('--base', required=True)
    args = parser.parse_args()

    if args.command == 'start':
        Cluster(args.base).start(args.nodes, args.swift_aio, args.database,
                                 args.postgresql, _overrides(args.set))
        return
    cluster = Cluster.load(args.base)
    if args.command == 'status':
        for node in cluster.nodes:
            print('%s %s pid %s %s' % (node.name, node.url, node.pid,
                                       'running' if node.running()
                                       else 'stopped'))
    elif args.command == 'orphans':
        found = cluster.orphans()
        for name in found:
            print(name)
        sys.exit(1 if found else 0)
    elif args.command == 'kill':
        node = cluster.node(args.node)
        node.stop(getattr(signal, 'SIG' + args.signal.upper()))
        cluster.save()
    elif args.command == 'restart':
        node = cluster.node(args.node)
        node.stop()
        node.start()
        cluster.save()
    elif args.command == 'stop':
        cluster.stop(args.purge)


if __name__ == '__main__':
    main()
