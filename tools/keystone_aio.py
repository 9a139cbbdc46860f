#!/usr/bin/env python3
"""A throwaway OpenStack Keystone on loopback, for the tests.

    python tools/keystone_aio.py start [--base DIR]   # prints DIR
    python tools/keystone_aio.py stop --base DIR [--purge]
    python tools/keystone_aio.py env --base DIR       # shell exports

``start`` installs Keystone and gunicorn from PyPI into their own venv
(once; $GLANCE_V1_KEYSTONE_VENV, default /var/tmp/glance-v1-keystone-venv,
made with Python 3.11, the newest this Keystone installs on), writes a
keystone.conf (SQLite, fernet tokens, no notifications) on a free loopback
port under DIR (a new temporary directory by default), bootstraps it, starts
it under gunicorn and creates the users the tests log in as. DIR/keystone.json
then holds the URLs, names and passwords the tests read; DIR/run/gunicorn.pid
the server's pid, which ``stop`` ends (and only that one).

Started again in the same DIR, it reuses the port and the data (a warm start
of a few seconds), so a test can take Keystone away and bring it back; while
it runs, ``start`` only waits until it answers.

Only the standard library is used here, so this runs from any python3.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# The sibling module, whether this runs as a script or is imported.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import local_servers  # noqa: E402

KEYSTONE_VERSION = '30.0.0'
GUNICORN_VERSION = '27.0.1'
VENV = os.environ.get('GLANCE_V1_KEYSTONE_VENV',
                      '/var/tmp/glance-v1-keystone-venv')
PYTHONS = ('/root/.pyenv/versions/3.11.7/bin/python', 'python3.11')
REGION = 'RegionOne'
SETTINGS = 'keystone.json'

# Who the tests are. The service user is what glance-api's
# [keystone_authtoken] logs in as; keystonemiddleware needs the "service"
# role to validate tokens (and "admin" for the older default policies).
# Two projects with a member each, and an admin of the first project.
SERVICE_PROJECT = 'service'
SERVICE_USER = ('glance', ('admin', 'service'))
PROJECT_USERS = {
    'alpha': {'alpha-member': ('member',), 'alpha-admin': ('admin',)},
    'beta': {'beta-member': ('member',)},
}

# keystone parses sys.argv with oslo.config when imported, so gunicorn
# gets no arguments at all and reads this file from its working directory.
GUNICORN_CONF = '''\
wsgi_app = 'keystone.wsgi.api:application'
bind = '127.0.0.1:%(port)d'
workers = 1
threads = 4
pidfile = %(pidfile)r
accesslog = %(accesslog)r
errorlog = %(errorlog)r
# gunicorn >= 25 opens a control socket under ~/.gunicorn otherwise.
control_socket_disable = True
'''

KEYSTONE_CONF = '''\
[DEFAULT]
log_file = %(base)s/log/keystone.log

[database]
connection = sqlite:///%(base)s/keystone.sqlite

[token]
provider = fernet

[fernet_tokens]
key_repository = %(base)s/fernet-keys

[credential]
key_repository = %(base)s/credential-keys

[oslo_messaging_notifications]
driver = noop
'''


def log(msg):
    print('[keystone-aio] %s' % msg, file=sys.stderr, flush=True)


def _base_python():
    for candidate in PYTHONS:
        path = shutil.which(candidate)
        if path:
            return path
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    raise SystemExit('Keystone %s needs Python 3.11; none found in %s'
                     % (KEYSTONE_VERSION, ', '.join(PYTHONS)))


def ensure_venv():
    python = os.path.join(VENV, 'bin', 'python')
    check = [python, '-c', 'import importlib.metadata as m, sys; '
             'sys.exit((m.version("keystone"), m.version("gunicorn")) '
             '!= (%r, %r))' % (KEYSTONE_VERSION, GUNICORN_VERSION)]
    if os.path.exists(python) and subprocess.call(
            check, stderr=subprocess.DEVNULL) == 0:
        return python
    log('installing keystone==%s into %s' % (KEYSTONE_VERSION, VENV))
    started = time.monotonic()
    if not os.path.exists(python):
        subprocess.check_call([_base_python(), '-m', 'venv', VENV])
    subprocess.check_call([python, '-m', 'pip', 'install', '-q',
                           '--disable-pip-version-check',
                           'keystone==%s' % KEYSTONE_VERSION,
                           'gunicorn==%s' % GUNICORN_VERSION])
    log('installed in %.0fs' % (time.monotonic() - started))
    return python


def url(settings, path=''):
    return 'http://127.0.0.1:%d/v3%s' % (settings['port'], path)


def _run_dir(base):
    return os.path.join(base, 'run')


def configure(base, python):
    """keystone.conf and gunicorn.conf.py on a new free port, the database
    and keys made and bootstrapped; the settings (users still to come)."""
    # What a set-up that died half way left behind.
    try:
        os.unlink(os.path.join(base, 'keystone.sqlite'))
    except FileNotFoundError:
        pass
    for name in ('fernet-keys', 'credential-keys', 'run', 'log'):
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    for name in ('run', 'log'):
        os.makedirs(os.path.join(base, name))
    port = local_servers.free_port()
    conf = os.path.join(base, 'keystone.conf')
    with open(conf, 'w') as f:
        f.write(KEYSTONE_CONF % {'base': base})
    run = _run_dir(base)
    with open(os.path.join(run, 'gunicorn.conf.py'), 'w') as f:
        f.write(GUNICORN_CONF % {
            'port': port, 'pidfile': os.path.join(run, 'gunicorn.pid'),
            'accesslog': os.path.join(base, 'log', 'access.log'),
            'errorlog': os.path.join(base, 'log', 'gunicorn.log')})
    # A throwaway Keystone's passwords; the tests check that no token
    # (nor these) shows up in glance-api's log.
    settings = {
        'port': port, 'region': REGION, 'python': python,
        'admin': {'user': 'admin', 'project': 'admin',
                  'password': 'admin-' + os.urandom(8).hex()},
    }
    settings['auth_url'] = url(settings)
    manage = [os.path.join(os.path.dirname(python), 'keystone-manage'),
              '--config-file', conf]
    owner = ['--keystone-user', str(os.getuid()),
             '--keystone-group', str(os.getgid())]
    _manage(base, manage + ['db_sync'])
    _manage(base, manage + ['fernet_setup'] + owner)
    _manage(base, manage + ['credential_setup'] + owner)
    _manage(base, manage + [
        'bootstrap', '--bootstrap-password', settings['admin']['password'],
        '--bootstrap-admin-url', settings['auth_url'],
        '--bootstrap-public-url', settings['auth_url'],
        '--bootstrap-internal-url', settings['auth_url'],
        '--bootstrap-region-id', REGION])
    return settings


def _manage(base, argv):
    """Run keystone-manage, its chatter (deprecation warnings) into the
    log directory."""
    out_path = os.path.join(base, 'log', 'keystone-manage.log')
    with open(out_path, 'ab') as out:
        code = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=out)
    if code:
        raise SystemExit('keystone-manage %s failed (exit %d):\n%s' % (
            argv[3], code, local_servers.tail(out_path)))


# The server this process started, for its exit code.
_proc = None


def start_server(base, python):
    global _proc
    env = dict(os.environ,
               OS_KEYSTONE_CONFIG_FILES=os.path.join(base, 'keystone.conf'))
    with open(os.path.join(base, 'log', 'gunicorn.out'), 'ab') as out:
        _proc = subprocess.Popen(
            [os.path.join(os.path.dirname(python), 'gunicorn')],
            cwd=_run_dir(base), stdin=subprocess.DEVNULL, stdout=out,
            stderr=out, env=env, start_new_session=True)


def wait_ready(base, settings, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if _proc is not None and _proc.poll() is not None:
            raise RuntimeError('keystone died (exit %s):\n%s' % (
                _proc.returncode,
                local_servers.tail(os.path.join(base, 'log', 'gunicorn.log'))))
        try:
            urllib.request.urlopen(url(settings), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError('keystone did not answer in %ds; logs in '
                                   '%s' % (timeout,
                                           os.path.join(base, 'log')))
            time.sleep(0.2)


class Client:
    """Just enough of the identity API, as the bootstrap admin."""

    def __init__(self, settings):
        self.settings = settings
        admin = settings['admin']
        _, headers = self.call('POST', '/auth/tokens', {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': admin['user'], 'domain': {'id': 'default'},
                'password': admin['password']}}},
            'scope': {'project': {'name': admin['project'],
                                  'domain': {'id': 'default'}}}}},
            token=None)
        self.token = headers['X-Subject-Token']

    def call(self, method, path, body=None, token=''):
        req = urllib.request.Request(
            url(self.settings, path), method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'})
        if token is not None:
            req.add_header('X-Auth-Token', token or self.token)
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = resp.read()
            return (json.loads(data) if data else None), resp.headers

    def find(self, kind, name):
        found, _ = self.call('GET', '/%ss?name=%s' % (kind, name))
        return found['%ss' % kind][0]['id'] if found['%ss' % kind] else None

    def ensure(self, kind, name, **attrs):
        found = self.find(kind, name)
        if found:
            return found
        made, _ = self.call('POST', '/%ss' % kind, {kind: dict(
            attrs, name=name)})
        return made[kind]['id']

    def grant(self, project_id, user_id, role):
        self.call('PUT', '/projects/%s/users/%s/roles/%s' % (
            project_id, user_id, self.find('role', role)))


def make_users(settings):
    """The service user, the test users and the image service; adds their
    ids and passwords to ``settings``."""
    client = Client(settings)
    projects = {}
    users = {}

    def user(name, project, roles):
        project_id = projects.setdefault(project, client.ensure(
            'project', project, domain_id='default'))
        password = 'pw-' + os.urandom(8).hex()
        user_id = client.ensure('user', name, domain_id='default',
                                password=password,
                                default_project_id=project_id)
        # The password of a user found again is set anew.
        client.call('PATCH', '/users/%s' % user_id,
                    {'user': {'password': password}})
        for role in roles:
            client.grant(project_id, user_id, role)
        users[name] = {'user': name, 'user_id': user_id, 'password': password,
                       'project': project, 'project_id': project_id,
                       'roles': list(roles)}

    user(SERVICE_USER[0], SERVICE_PROJECT, SERVICE_USER[1])
    for project, members in PROJECT_USERS.items():
        for name, roles in members.items():
            user(name, project, roles)
    settings['service'] = users.pop(SERVICE_USER[0])
    settings['users'] = users
    # The catalog entry clients look the API up by; the tests add the
    # endpoint of the glance-api they start.
    settings['image_service_id'] = client.ensure(
        'service', 'glance', type='image', description='Image Service')


def pid_of(base):
    return local_servers.read_pid(os.path.join(_run_dir(base),
                                               'gunicorn.pid'))


def _ours(pid, base):
    """The pid is alive and is this Keystone's gunicorn (it has no
    arguments to tell; it runs in this base's run directory)."""
    try:
        return os.readlink('/proc/%d/cwd' % pid) == _run_dir(base)
    except OSError:
        return False


def read_settings(base):
    try:
        with open(os.path.join(base, SETTINGS)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def start(args):
    started = time.monotonic()
    python = ensure_venv()
    base = os.path.realpath(args.base or tempfile.mkdtemp(
        prefix='glance-v1-keystone-'))
    os.makedirs(base, exist_ok=True)
    pid = pid_of(base)
    settings = read_settings(base)
    if pid and _ours(pid, base):
        if settings is None:
            raise SystemExit('a Keystone being set up runs in %s' % base)
        wait_ready(base, settings, args.wait)
        log('already running at %s' % settings['auth_url'])
        print(base)
        return
    fresh = settings is None
    # The server may die at start on a busy machine (a free port taken by
    # someone else before it binds it): try again, on another port when
    # the configuration is ours to choose.
    attempts = 3
    for attempt in range(attempts):
        if settings is None or (fresh and attempt):
            settings = configure(base, python)
        start_server(base, python)
        try:
            wait_ready(base, settings, args.wait)
            break
        except RuntimeError as e:
            stop_server(base)
            log(str(e))
            if attempt == attempts - 1:
                raise SystemExit('Keystone did not start')
    if fresh:
        make_users(settings)
        # Written last: a set-up that died half way is done again.
        fd = os.open(os.path.join(base, SETTINGS),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            json.dump(settings, f, indent=1)
    log('ready in %.1fs at %s' % (time.monotonic() - started,
                                  settings['auth_url']))
    print(base)


def stop_server(base):
    global _proc
    child = _proc if _proc is not None and _proc.poll() is None else None
    _proc = None
    pid = child.pid if child else pid_of(base)
    if pid and (child or _ours(pid, base)):
        local_servers.terminate(
            [pid], lambda pid: child.poll() is None if child
            else _ours(pid, base), timeout=15)
    if child:
        child.wait()
    local_servers.remove(os.path.join(_run_dir(base), 'gunicorn.pid'))


def env(args):
    settings = read_settings(args.base)
    user = settings['users']['alpha-member']
    print('export GLANCE_V1_KEYSTONE_AIO=%s' % os.path.realpath(args.base))
    print('export OS_AUTH_URL=%s OS_USERNAME=%s OS_PASSWORD=%s '
          'OS_PROJECT_NAME=%s OS_USER_DOMAIN_NAME=Default '
          'OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=%s' % (
              settings['auth_url'], user['user'], user['password'],
              user['project'], settings['region']))


def main():
    local_servers.command_line(
        __doc__, start, stop_server, env,
        start_help='start Keystone and print its directory',
        start_options=[
            (['--base'], {'help': 'directory (default: a new temp dir)'}),
            (['--wait'], {'type': int, 'default': 120,
                          'help': 'seconds to wait for the server'})])


if __name__ == '__main__':
    main()
