#!/usr/bin/env python3
"""The original OpenStack Glance v1 (15.0.2, Pike) on loopback, for the
differential tests (tests/differential).

    python tools/reference_glance.py start --base DIR [--venv VENV]
    python tools/reference_glance.py stop --base DIR [--purge]

``start`` installs glance==15.0.2 into its own virtualenv (once; Glance 15
runs on Python 3.6 only: ``--python``, $GLANCE_V1_REFERENCE_PYTHON, default
pyenv's 3.6.15) with the dependency set pinned in
tools/reference_glance_constraints.txt, writes a configuration under DIR
(trusted-auth pipelines, glance-registry plus glance-api, SQLite, file
store, the original's default policy), migrates the database and starts
both servers on free loopback ports. DIR/reference.json then holds the
API's address, which the tests read; DIR/run/*.pid the server pids, which
``stop`` ends (and only those).

Only the standard library is used here, so this runs from any python3.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

# The sibling module, whether this runs as a script or is imported.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import local_servers  # noqa: E402

GLANCE_VERSION = '15.0.2'
HERE = os.path.dirname(os.path.abspath(__file__))
CONSTRAINTS = os.path.join(HERE, 'reference_glance_constraints.txt')
PYTHON = os.environ.get('GLANCE_V1_REFERENCE_PYTHON',
                        '/root/.pyenv/versions/3.6.15/bin/python')
VENV = os.environ.get('GLANCE_V1_REFERENCE_VENV',
                      '/var/tmp/glance-v1-reference-venv')
# The python 3.6 wheel of pip 18 cannot install manylinux2014 wheels;
# these are the last releases that still run on 3.6.
BOOTSTRAP = ('pip==21.3.1', 'setuptools<60', 'wheel<0.38')
SERVERS = ('glance-registry', 'glance-api')

# Glance 15's own etc/policy.json had no policy in code: every rule it
# names is open to anyone except these, and whatever it does not name
# falls to "default".
ADMIN_RULES = ('context_is_admin', 'default', 'publicize_image',
               'manage_image_cache', 'tasks_api_access')
OPEN_RULES = (
    'add_image', 'delete_image', 'get_image', 'get_images', 'modify_image',
    'communitize_image', 'copy_from', 'download_image', 'upload_image',
    'delete_image_location', 'get_image_location', 'set_image_location',
    'add_member', 'delete_member', 'get_member', 'get_members',
    'modify_member', 'get_task', 'get_tasks', 'add_task', 'modify_task',
    'deactivate', 'reactivate')

# The original's paste applications and filters, by entry point. Only
# the filters that shape a v1 exchange are in the pipelines (no cors or
# osprofiler: they act on headers the tests never send).
API_PASTE = '''[pipeline:glance-api-trusted-auth]
pipeline = healthcheck http_proxy_to_wsgi versionnegotiation context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v1: apiv1app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv1app]
paste.app_factory = glance.api.v1.router:API.factory

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = {base}/run/healthcheck_disable

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:\
VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
'''

REGISTRY_PASTE = '''[pipeline:glance-registry-trusted-auth]
pipeline = healthcheck context registryapp

[app:registryapp]
paste.app_factory = glance.registry.api:API.factory

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = {base}/run/healthcheck_disable

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
'''


def log(msg):
    print('[reference-glance] %s' % msg, file=sys.stderr, flush=True)


def _installed(python):
    check = [python, '-c', 'import pkg_resources, sys; sys.exit(pkg_resources'
             '.get_distribution("glance").version != %r)' % GLANCE_VERSION]
    return os.path.exists(python) and subprocess.call(
        check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def ensure_venv(venv, base_python):
    python = os.path.join(venv, 'bin', 'python')
    if _installed(python):
        return python
    if not os.path.exists(base_python):
        raise SystemExit('Python 3.6 not found at %s (set --python or '
                         'GLANCE_V1_REFERENCE_PYTHON): Glance %s needs it'
                         % (base_python, GLANCE_VERSION))
    log('installing glance==%s into %s' % (GLANCE_VERSION, venv))
    started = time.monotonic()
    if not os.path.exists(python):
        subprocess.check_call([base_python, '-m', 'venv', venv])
    pip = [python, '-m', 'pip', '-q', '--disable-pip-version-check']
    subprocess.check_call(pip + ['install'] + list(BOOTSTRAP))
    subprocess.check_call(pip + ['install', '-c', CONSTRAINTS,
                                 'glance==%s' % GLANCE_VERSION])
    log('installed in %.0fs' % (time.monotonic() - started))
    return python


def configure(base, ports):
    """Configuration files under ``base`` for servers on ``ports``."""
    etc = os.path.join(base, 'etc')
    state = os.path.join(base, 'state')
    for path in (etc, state, os.path.join(base, 'images'),
                 os.path.join(base, 'run', 'lock'), os.path.join(base, 'log')):
        os.makedirs(path, exist_ok=True)
    policy = dict.fromkeys(OPEN_RULES, '')
    policy.update(dict.fromkeys(ADMIN_RULES, 'role:admin'))
    with open(os.path.join(etc, 'policy.json'), 'w') as f:
        json.dump(policy, f, indent=1, sort_keys=True)
    for name, text in (('glance-api-paste.ini', API_PASTE),
                       ('glance-registry-paste.ini', REGISTRY_PASTE)):
        with open(os.path.join(etc, name), 'w') as f:
            f.write(text.format(base=base))
    database = {'connection': 'sqlite:///%s' % os.path.join(
        state, 'glance.sqlite')}
    # Identity is evaluated on both services (the registry stamps the
    # owner), so both read the same identity options.
    common = {'bind_host': '127.0.0.1', 'workers': 0,
              'owner_is_tenant': True, 'admin_role': 'admin',
              'allow_anonymous_access': False, 'debug': False,
              'use_stderr': False}
    shared = {
        'database': database,
        'oslo_policy': {'policy_file': os.path.join(etc, 'policy.json')},
        'oslo_messaging_notifications': {'driver': 'noop'},
        'oslo_concurrency': {'lock_path': os.path.join(base, 'run', 'lock')},
    }
    local_servers.write_conf(os.path.join(etc, 'glance-registry.conf'), dict(
        DEFAULT=dict(common, bind_port=ports['glance-registry'],
                     enable_v1_registry=True, enable_v2_registry=False),
        paste_deploy={'config_file': os.path.join(
            etc, 'glance-registry-paste.ini'), 'flavor': 'trusted-auth'},
        **shared))
    local_servers.write_conf(os.path.join(etc, 'glance-api.conf'), dict(
        DEFAULT=dict(common, bind_port=ports['glance-api'],
                     enable_v1_api=True, enable_v2_api=False,
                     enable_v1_registry=True, enable_v2_registry=False,
                     registry_host='127.0.0.1',
                     registry_port=ports['glance-registry'],
                     registry_client_protocol='http',
                     # The caller's identity travels to the registry's
                     # trusted-auth pipeline.
                     use_user_token=True, send_identity_headers=True),
        glance_store={'stores': 'file,http', 'default_store': 'file',
                      'filesystem_store_datadir':
                          os.path.join(base, 'images') + '/'},
        paste_deploy={'config_file': os.path.join(
            etc, 'glance-api-paste.ini'), 'flavor': 'trusted-auth'},
        **shared))
    local_servers.write_conf(os.path.join(etc, 'glance-manage.conf'),
              {'DEFAULT': {'debug': False}, 'database': database})
    return etc


def migrate(python, base, etc):
    manage = os.path.join(os.path.dirname(python), 'glance-manage')
    subprocess.check_call(
        [manage, '--config-file', os.path.join(etc, 'glance-manage.conf'),
         '--log-file', os.path.join(base, 'log', 'glance-manage.log'),
         'db_sync'], stdout=subprocess.DEVNULL)


def pid_file(base, name):
    return os.path.join(base, 'run', name + '.pid')


def _ours(pid, base):
    """The pid is one of this directory's servers."""
    return local_servers.runs_with(pid, (base + '/etc/').encode())


def running(base):
    found = {name: local_servers.read_pid(pid_file(base, name))
             for name in SERVERS}
    return {name: pid for name, pid in found.items()
            if pid is not None and _ours(pid, base)}


def launch(python, base, etc, name, port, timeout):
    logs = os.path.join(base, 'log')
    out = open(os.path.join(logs, name + '.out'), 'ab')
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(python), name),
         '--config-file', os.path.join(etc, name + '.conf'),
         '--log-file', os.path.join(logs, name + '.log')],
        stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        start_new_session=True)
    out.close()
    with open(pid_file(base, name), 'w') as f:
        f.write(str(proc.pid))
    url = 'http://127.0.0.1:%d/healthcheck' % port
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError('%s exited with %s:\n%s%s' % (
                name, proc.returncode,
                local_servers.tail(os.path.join(logs, name + '.out')),
                local_servers.tail(os.path.join(logs, name + '.log'))))
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (OSError, urllib.error.HTTPError):
            if time.monotonic() > deadline:
                raise RuntimeError('%s did not answer %s in %ds' % (
                    name, url, timeout))
            time.sleep(0.2)


def start(args):
    started = time.monotonic()
    base = os.path.realpath(args.base)
    os.makedirs(base, exist_ok=True)
    if running(base):
        raise SystemExit('a reference Glance already runs in %s' % base)
    python = ensure_venv(os.path.realpath(args.venv), args.python)
    # A free port may be taken by someone else before the server binds
    # it: then try again on other ports.
    attempts = 3
    for attempt in range(attempts):
        ports = {name: local_servers.free_port() for name in SERVERS}
        etc = configure(base, ports)
        migrate(python, base, etc)
        try:
            for name in SERVERS:
                launch(python, base, etc, name, ports[name], args.wait)
            break
        except RuntimeError as e:
            stop_servers(base)
            log(str(e))
            if attempt == attempts - 1:
                raise SystemExit('the reference Glance did not start')
    settings = {'url': 'http://127.0.0.1:%d' % ports['glance-api'],
                'ports': ports, 'version': GLANCE_VERSION,
                'flavor': 'trusted-auth', 'base': base}
    with open(os.path.join(base, 'reference.json'), 'w') as f:
        json.dump(settings, f, indent=1)
    log('ready in %.1fs at %s' % (time.monotonic() - started,
                                  settings['url']))
    print(base)


def stop_servers(base):
    local_servers.terminate(running(base).values(),
                            lambda pid: _ours(pid, base))
    local_servers.remove(*[pid_file(base, name) for name in SERVERS],
                         os.path.join(base, 'reference.json'))


def main():
    local_servers.command_line(
        __doc__, start, stop_servers,
        start_help='install if needed, configure, start',
        start_options=[
            (['--base'], {'required': True, 'help': 'state directory'}),
            (['--venv'], {'default': VENV, 'help': 'virtualenv of Glance '
                          '(default %(default)s)'}),
            (['--python'], {'default': PYTHON, 'help': 'Python 3.6 '
                            'interpreter (default %(default)s)'}),
            (['--wait'], {'type': int, 'default': 60,
                          'help': 'seconds to wait for each server'})])


if __name__ == '__main__':
    main()
