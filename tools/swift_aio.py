#!/usr/bin/env python3
"""A throwaway OpenStack Swift all-in-one on loopback, for the tests.

    python tools/swift_aio.py start [--base DIR]   # prints DIR
    python tools/swift_aio.py stop --base DIR [--purge]
    python tools/swift_aio.py env --base DIR       # shell exports

``start`` installs Swift from PyPI into its own venv (once;
$GLANCE_V1_SAIO_VENV, default /var/tmp/glance-v1-swift-venv), writes a
one-replica configuration
(proxy with tempauth, account, container and object servers) on free loopback
ports under DIR (a new temporary directory by default), starts the four
servers and waits until a tempauth login works. DIR/saio.json then holds the
auth settings the tests read; DIR/run/*.pid the server pids, which ``stop``
ends (and only those).

Only the standard library is used here, so this runs from any python3.
"""

import getpass
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# The sibling module, whether this runs as a script or is imported.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import local_servers  # noqa: E402

SWIFT_VERSION = '2.38.3'
VENV = os.environ.get('GLANCE_V1_SAIO_VENV', '/var/tmp/glance-v1-swift-venv')
SERVERS = ('account', 'container', 'object', 'proxy')
USER = 'glance:glance'

# tempauth refuses to run without env['swift.cache'] and no memcached runs
# here. The proxy is one process (workers = 0), so a dict in that process
# is a faithful cache.
CACHE_MODULE = '''
import json
import time


class Cache:
    def __init__(self):
        self.data = {}

    def _live(self, key):
        value, expires = self.data.get(key, (None, 0))
        if expires and expires < time.time():
            self.data.pop(key, None)
            return None
        return value

    def get(self, key, raise_on_error=False):
        value = self._live(key)
        return None if value is None else json.loads(value)

    def set(self, key, value, serialize=True, time=0, min_compress_len=0,
            raise_on_error=False):
        expires = 0
        if time:
            expires = time if time > 2592000 else _now() + time
        self.data[key] = (json.dumps(value), expires)

    def incr(self, key, delta=1, time=0):
        value = max(0, int(self.get(key) or 0) + delta)
        self.set(key, value, time=time)
        return value

    def decr(self, key, delta=1, time=0):
        return self.incr(key, -delta, time)

    def delete(self, key, server_key=None):
        self.data.pop(key, None)

    def get_multi(self, keys, server_key):
        return [self.get(k) for k in keys]

    def set_multi(self, mapping, server_key, serialize=True, time=0,
                  min_compress_len=0):
        for key, value in mapping.items():
            self.set(key, value, time=time)


def _now():
    return time.time()


def filter_factory(global_conf, **local_conf):
    cache = Cache()

    def wrap(app):
        def middleware(env, start_response):
            env['swift.cache'] = cache
            return app(env, start_response)
        return middleware
    return wrap
'''

RING_SCRIPT = '''
import os, sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for spec in sys.argv[2:]:
    name, port = spec.split(':')
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1',
                     'port': int(port), 'device': 'd1', 'weight': 100,
                     'meta': ''})
    builder.rebalance(seed=1)
    builder.get_ring().save(os.path.join(etc, name + '.ring.gz'))
'''


def log(msg):
    print('[swift-aio] %s' % msg, file=sys.stderr, flush=True)


def ensure_venv():
    python = os.path.join(VENV, 'bin', 'python')
    check = [python, '-c', 'import importlib.metadata as m, sys; '
             'sys.exit(m.version("swift") != %r)' % SWIFT_VERSION]
    if os.path.exists(python) and subprocess.call(
            check, stderr=subprocess.DEVNULL) == 0:
        return python
    log('installing swift==%s into %s' % (SWIFT_VERSION, VENV))
    started = time.monotonic()
    if not os.path.exists(python):
        # Debian's python3 has venv but no ensurepip (python3-venv): then
        # make the venv without pip and install with this interpreter's.
        subprocess.check_call([sys.executable, '-m', 'venv',
                               '--without-pip', VENV])
    pip = [python, '-m', 'pip']
    if subprocess.call(pip + ['--version'], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL) != 0:
        pip = [sys.executable, '-m', 'pip', '--python', python]
    subprocess.check_call(pip + ['install', '-q',
                                 '--disable-pip-version-check',
                                 'swift==%s' % SWIFT_VERSION])
    log('installed in %.0fs' % (time.monotonic() - started))
    return python


def write_configs(base, ports, key):
    etc = os.path.join(base, 'etc')
    node = os.path.join(base, 'node')
    for path in (etc, os.path.join(node, 'd1'), os.path.join(base, 'run'),
                 os.path.join(base, 'log'), os.path.join(base, 'lib')):
        os.makedirs(path, exist_ok=True)
    with open(os.path.join(base, 'lib', 'aio_cache.py'), 'w') as f:
        f.write(CACHE_MODULE)
    with open(os.path.join(etc, 'swift.conf'), 'w') as f:
        f.write('[swift-hash]\nswift_hash_path_suffix = %s\n'
                'swift_hash_path_prefix = glance-v1\n\n'
                '[storage-policy:0]\nname = only\ndefault = yes\n'
                % os.urandom(8).hex())
    common = ('[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %d\n'
              'workers = 0\nuser = ' + getpass.getuser() + '\n'
              'swift_dir = ' + etc + '\n'
              'devices = ' + node + '\nmount_check = false\n'
              'disable_fallocate = true\nlog_name = %s\n\n')
    for name in ('account', 'container', 'object'):
        with open(os.path.join(etc, name + '-server.conf'), 'w') as f:
            f.write(common % (ports[name], name))
            f.write('[pipeline:main]\npipeline = %s-server\n\n'
                    '[app:%s-server]\nuse = egg:swift#%s\n'
                    % (name, name, name))
    account, user = USER.split(':')
    with open(os.path.join(etc, 'proxy-server.conf'), 'w') as f:
        f.write(common % (ports['proxy'], 'proxy'))
        f.write(
            '[pipeline:main]\npipeline = catch_errors healthcheck cache '
            'tempauth slo dlo proxy-server\n\n'
            '[app:proxy-server]\nuse = egg:swift#proxy\n'
            'account_autocreate = true\n\n'
            '[filter:tempauth]\nuse = egg:swift#tempauth\n'
            'user_%s_%s = %s .admin\n\n'
            '[filter:cache]\npaste.filter_factory = aio_cache:filter_factory'
            '\n\n'
            '[filter:catch_errors]\nuse = egg:swift#catch_errors\n\n'
            '[filter:healthcheck]\nuse = egg:swift#healthcheck\n\n'
            '[filter:slo]\nuse = egg:swift#slo\n\n'
            '[filter:dlo]\nuse = egg:swift#dlo\n' % (account, user, key))
    return etc


# name -> Popen of the servers this process started, for their exit codes.
_procs = {}


def start_servers(base, python, etc):
    env = dict(os.environ, PYTHONPATH=os.path.join(base, 'lib'))
    bindir = os.path.dirname(python)
    for name in SERVERS:
        with open(os.path.join(base, 'log', name + '.log'), 'ab') as out:
            proc = subprocess.Popen(
                [os.path.join(bindir, 'swift-%s-server' % name),
                 os.path.join(etc, name + '-server.conf'), '--verbose'],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                start_new_session=True)
        _procs[name] = proc
        with open(os.path.join(base, 'run', name + '.pid'), 'w') as f:
            f.write(str(proc.pid))


def _pid_file(base, name):
    return os.path.join(base, 'run', name + '.pid')


def pids(base):
    found = {name: local_servers.read_pid(_pid_file(base, name))
             for name in SERVERS}
    return {name: pid for name, pid in found.items() if pid is not None}


def _ours(pid, base):
    """The pid runs one of this AIO's servers (for ``stop`` from another
    process)."""
    return local_servers.runs_with(pid, (base + '/etc/').encode())


def auth_url(ports):
    return 'http://127.0.0.1:%d/auth/v1.0' % ports['proxy']


def wait_ready(base, ports, key, timeout):
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(auth_url(ports), headers={
        'X-Auth-User': USER, 'X-Auth-Key': key})
    while True:
        for name, proc in _procs.items():
            if proc.poll() is not None:
                log_file = os.path.join(base, 'log', name + '.log')
                raise RuntimeError('swift %s server died (exit %s):\n%s' % (
                    name, proc.returncode, local_servers.tail(log_file)))
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                storage = resp.headers['X-Storage-Url']
                token = resp.headers['X-Auth-Token']
            # The account exists once a container listing answers; the
            # container and object servers once an object can be written
            # (a first upload after a start got 503 while they came up).
            auth = {'X-Auth-Token': token}
            urllib.request.urlopen(urllib.request.Request(
                storage, headers=auth), timeout=5).close()
            probe = storage + '/saio-ready'
            for url, method, data in ((probe, 'PUT', None),
                                      (probe + '/probe', 'PUT', b'ready'),
                                      (probe + '/probe', 'DELETE', None)):
                urllib.request.urlopen(urllib.request.Request(
                    url, data=data, method=method, headers=auth),
                    timeout=5).close()
            return
        except (OSError, urllib.error.HTTPError):
            if time.monotonic() > deadline:
                raise RuntimeError('swift did not become ready in %ds; logs '
                                   'in %s' % (timeout,
                                              os.path.join(base, 'log')))
            time.sleep(0.2)


def start(args):
    started = time.monotonic()
    python = ensure_venv()
    base = os.path.realpath(args.base or tempfile.mkdtemp(
        prefix='glance-v1-swift-'))
    os.makedirs(base, exist_ok=True)
    if any(_ours(pid, base) for pid in pids(base).values()):
        raise SystemExit('a Swift AIO already runs in %s' % base)
    path = os.path.join(base, 'saio.json')
    try:
        # Started before in this directory: same ports, key and data, so
        # a test can take Swift away and bring it back.
        with open(path) as f:
            settings = json.load(f)
        fresh = False
    except (OSError, ValueError):
        settings = None
        fresh = True
    # A server sometimes dies at start when the machine is busy (a free
    # port taken by someone else before the server binds it, or worse):
    # try again, on other ports when the configuration is ours to choose.
    attempts = 3
    for attempt in range(attempts):
        if settings is None or (fresh and attempt):
            settings = configure(base, python)
        start_servers(base, python, os.path.join(base, 'etc'))
        try:
            wait_ready(base, settings['ports'], settings['key'], args.wait)
            break
        except RuntimeError as e:
            stop_servers(base)
            log(str(e))
            if attempt == attempts - 1:
                raise SystemExit('Swift AIO did not start')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(settings, f)
    log('ready in %.1fs at %s' % (time.monotonic() - started,
                                  settings['auth_address']))
    print(base)


def configure(base, python):
    """Configuration and rings on new free ports; the settings."""
    ports = {name: local_servers.free_port() for name in SERVERS}
    # A throwaway key of a throwaway cluster; the tests check it never
    # shows up in glance-api's responses or log.
    settings = {'auth_address': auth_url(ports), 'auth_version': '1',
                'user': USER, 'key': 'saio-key-' + os.urandom(8).hex(),
                'python': python, 'ports': ports}
    etc = write_configs(base, ports, settings['key'])
    subprocess.check_call([python, '-c', RING_SCRIPT, etc] + [
        '%s:%d' % (name, ports[name])
        for name in ('account', 'container', 'object')])
    return settings


def stop_servers(base):
    # The servers this process started are known for sure; others by
    # their pid files.
    children = {p.pid: p for p in _procs.values() if p.poll() is None}
    _procs.clear()
    others = {pid for pid in pids(base).values() if _ours(pid, base)}

    def alive(pid):
        child = children.get(pid)
        return child.poll() is None if child else _ours(pid, base)
    local_servers.terminate(set(children) | others, alive)
    for child in children.values():
        child.wait()
    local_servers.remove(*(_pid_file(base, name) for name in SERVERS))


def env(args):
    with open(os.path.join(args.base, 'saio.json')) as f:
        settings = json.load(f)
    print('export GLANCE_V1_SWIFT_AIO=%s' % os.path.realpath(args.base))
    print('export ST_AUTH=%s ST_USER=%s ST_KEY=%s' % (
        settings['auth_address'], settings['user'], settings['key']))


def main():
    local_servers.command_line(
        __doc__, start, stop_servers, env,
        start_help='start an AIO and print its directory',
        start_options=[
            (['--base'], {'help': 'directory (default: a new temp dir)'}),
            (['--wait'], {'type': int, 'default': 120,
                          'help': 'seconds to wait for the servers'})])


if __name__ == '__main__':
    main()
