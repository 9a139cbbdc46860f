"""glance-api under Apache 2.4 + mod_wsgi, from etc/apache2/glance-api.conf.

The shipped site file is rendered with the test's values in its
``Define`` lines only (the lines an operator edits) and included by a
minimal server config that loads what Debian's a2enmod would: the event
MPM, mod_setenvif and mod_reqtimeout (on by default there), mod_lua and
the mod_wsgi that ``pip install mod_wsgi`` built for this Python. Apache
runs in the foreground and stops on SIGTERM.
"""

import configparser
import os
import pwd
import re
import subprocess
import sys
import sysconfig
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SITE = os.path.join(REPO, 'etc', 'apache2', 'glance-api.conf')
MODULES = '/usr/lib/apache2/modules'
# When the tests run as root, the daemon processes run as this user (Apache
# and mod_wsgi refuse root); the test's directories are handed to it.
DAEMON_USER = 'www-data'


def apache_binary():
    for path in ('/usr/sbin/apache2', '/usr/sbin/httpd'):
        if os.path.exists(path):
            return path
    raise RuntimeError('Apache is not installed: apt-get install apache2 '
                       'apache2-dev')


def wsgi_module():
    express = os.path.join(os.path.dirname(sys.executable),
                           'mod_wsgi-express')
    try:
        return subprocess.check_output(
            [express, 'module-location'], text=True).strip()
    except OSError:
        raise RuntimeError('mod_wsgi is not installed in %s: pip install '
                           'mod_wsgi (needs apache2-dev)' % sys.prefix)


def render_site(values):
    """The shipped site file with ``values`` in its Define lines; each
    must be there, so a renamed one fails the test run."""
    with open(SITE) as f:
        text = f.read()
    for name, value in values.items():
        line = 'Define %s %s' % (name, value)
        text, n = re.subn(r'^Define %s .*$' % name, lambda _m, line=line: line,
                          text, flags=re.M)
        if n != 1:
            raise RuntimeError('%s has no "Define %s" line' % (SITE, name))
    return text


def _user():
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return entry.pw_name, entry
    return DAEMON_USER, pwd.getpwnam(DAEMON_USER)


def _hand_over(entry, paths):
    for top in paths:
        for root, dirs, files in os.walk(top):
            for name in [root] + [os.path.join(root, n)
                                  for n in dirs + files]:
                os.chown(name, entry.pw_uid, entry.pw_gid)


def _read(conf_file):
    parser = configparser.RawConfigParser()
    parser.read(conf_file)
    return parser


def _size_cap(conf):
    """image_size_cap of the test's config, or None to keep the shipped
    value (glance-api's default)."""
    return conf.defaults().get('image_size_cap')


def _temporary_dirs(conf):
    """The test's own temporary directories its config names (a policy
    file, a log file...): the daemons must use them."""
    tmp = tempfile.gettempdir()
    found = set()
    for section in ['DEFAULT'] + conf.sections():
        for _name, value in conf.items(section):
            if value.startswith(tmp + os.sep):
                top = os.path.join(
                    tmp, os.path.relpath(value, tmp).split(os.sep)[0])
                if os.path.isdir(top):
                    found.add(top)
    return found


def command(service):
    user, entry = _user()
    run_dir = os.path.join(service.dir, 'apache')
    os.makedirs(run_dir, exist_ok=True)
    site = os.path.join(run_dir, 'glance-api.conf')
    conf = _read(service.conf_file)
    values = {}
    cap = _size_cap(conf)
    if cap is not None:
        values['GLANCE_IMAGE_SIZE_CAP'] = cap
    with open(site, 'w') as f:
        f.write(render_site(dict(values, **{
            'GLANCE_API_ADDRESS': '127.0.0.1',
            'GLANCE_API_PORT': service.port,
            # The repository too, for the tests' own paste filters.
            'GLANCE_SITE_PACKAGES': '%s:%s' % (
                sysconfig.get_path('purelib'), REPO),
            'GLANCE_WSGI_SCRIPT': os.path.join(REPO, 'glance_v1', 'wsgi',
                                               'api.py'),
            'GLANCE_HEADERS_LUA': os.path.join(REPO, 'etc', 'apache2',
                                               'glance-api-headers.lua'),
            'GLANCE_USER': user,
            'GLANCE_GROUP': '#%d' % entry.pw_gid,
            'GLANCE_ERROR_LOG': service.log_file,
            'GLANCE_ACCESS_LOG': os.path.join(run_dir, 'access.log'),
        })))
    main = os.path.join(run_dir, 'httpd.conf')
    with open(main, 'w') as f:
        f.write('ServerRoot %s\n' % run_dir)
        f.write('ServerName 127.0.0.1\n')
        f.write('PidFile %s\n' % os.path.join(run_dir, 'httpd.pid'))
        f.write('DefaultRuntimeDir %s\n' % run_dir)
        f.write('Mutex file:%s default\n' % run_dir)
        f.write('ErrorLog %s\n' % service.log_file)
        f.write('LogLevel warn\n')
        if os.geteuid() == 0:
            f.write('User www-data\nGroup www-data\n')
        for name in ('mpm_event', 'authz_core', 'setenvif', 'reqtimeout',
                     'lua'):
            f.write('LoadModule %s_module %s/mod_%s.so\n'
                    % (name, MODULES, name))
        f.write('LoadModule wsgi_module %s\n' % wsgi_module())
        f.write('WSGISocketPrefix %s/wsgi\n' % run_dir)
        f.write('Include %s\n' % site)
    if os.geteuid() == 0:
        # The daemons write the database and the store; the test (root)
        # still reads everything.
        _hand_over(entry, {service.dir, service.state_dir}
                   | _temporary_dirs(conf))
    # In Apache's process environment, as /etc/apache2/envvars would
    # export it on a real host (env execs Apache: SIGTERM reaches it).
    return ['env', 'GLANCE_CONFIG_FILES=%s' % service.conf_file,
            apache_binary(), '-DFOREGROUND', '-f', main]
