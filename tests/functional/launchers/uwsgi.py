"""glance-api under uWSGI (``GLANCE_V1_TEST_SERVER=uwsgi``, tox -e uwsgi),
with the shipped etc/uwsgi/glance-api.ini: only its lines marked EDIT
(address, config file) are set for the test."""

import functools
import os
import subprocess
import sys

from tests.functional import server

SHIPPED = os.path.join(server.REPO, 'etc', 'uwsgi', 'glance-api.ini')


def render(text, service, options=None):
    """The shipped ini for ``service``; ``options`` (name: value, None
    to drop the line) change or add other lines."""
    edits = {'http-socket': '127.0.0.1:%d' % service.port,
             'env': 'GLANCE_CONFIG_FILES=%s' % service.conf_file}
    edits.update(options or {})
    lines = []
    for line in text.splitlines():
        name, sep, value = (p.strip() for p in line.partition('='))
        if sep and name in edits and (
                name != 'env' or value.startswith('GLANCE_CONFIG_FILES=')):
            value = edits.pop(name)
            if value is None:
                continue
            line = '%s = %s' % (name, value)
        lines.append(line)
    for name in ('http-socket', 'env'):
        if name in edits:
            raise RuntimeError('%s has no %s line' % (SHIPPED, name))
    lines += ['%s = %s' % (n, v) for n, v in edits.items() if v is not None]
    # This interpreter's environment, and the repository for the paste
    # filters of the tests (tests.functional.faulty_filter).
    lines += ['virtualenv = %s' % sys.prefix,
              'pythonpath = %s' % server.REPO]
    return '\n'.join(lines) + '\n'


def command(service, options=None):
    if service.registry is None:
        # What an operator runs before starting glance-api under a WSGI
        # server (doc/deployment.rst).
        subprocess.check_call(
            [sys.executable, '-m', 'glance_v1.cmd.manage', '--config-file',
             service.conf_file, 'db', 'sync'],
            stdout=service.log, stderr=subprocess.STDOUT)
    with open(SHIPPED) as f:
        text = f.read()
    ini = os.path.join(service.dir, 'glance-api-uwsgi.ini')
    rendered = render(text, service, options)
    with open(ini, 'w') as f:
        f.write(rendered)
    binary = os.path.join(os.path.dirname(sys.executable), 'uwsgi')
    if not os.path.exists(binary):
        raise RuntimeError('%s not found: pip install uwsgi (tox -e uwsgi)'
                           % binary)
    service.serving = functools.partial(_all_loaded, service,
                                        _app_loads(rendered))
    return [binary, '--ini', ini]


def _app_loads(ini_text):
    """How many times uWSGI loads the application: once per worker with
    lazy-apps, else once in the master."""
    settings = {}
    for line in ini_text.splitlines():
        name, sep, value = (p.strip() for p in line.partition('='))
        if sep:
            settings[name] = value
    if settings.get('lazy-apps', '').lower() in ('true', '1', 'yes'):
        return int(settings.get('processes', 1))
    return 1


def _all_loaded(service, loads):
    """Whether every load of the application is done. The first worker
    answers while the others may still load it (lazy-apps), and a SIGTERM
    then holds uWSGI's graceful stop for worker-reload-mercy (60 s, uWSGI
    2.0.31): a test stopping its server at once waited that long."""
    return service.read_log().count("WSGI app 0 (mountpoint='') ready") \
        >= loads
