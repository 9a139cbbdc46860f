"""A bad configuration value stops glance-api at start with one line
naming the option (and a non-zero exit), whichever layer owns it."""

import http.client
import os
import subprocess
import sys

import fixtures
import testtools

from tests.functional import server


class StartsGlance(testtools.TestCase):
    """Runs glance-api or glance-registry with a config to its end."""

    def start(self, sections, prog='api'):
        tmp = self.useFixture(fixtures.TempDir()).path
        base = {'DEFAULT': {'bind_host': '127.0.0.1',
                            'bind_port': server.free_port(),
                            'workers': 0},
                'database': {'connection': 'sqlite:///%s/g.sqlite' % tmp},
                'paste_deploy': {'config_file': os.path.join(
                    server.REPO, 'etc', 'glance-%s-paste.ini' % prog)}}
        for section, options in sections.items():
            base.setdefault(section, {}).update(options)
        conf = os.path.join(tmp, 'glance-%s.conf' % prog)
        server.write_conf(conf, base)
        proc = subprocess.run(
            [sys.executable, '-m', 'glance_v1.cmd.%s' % prog, '--config-file',
             conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=60)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    def assertStopsNaming(self, sections, name, prefix='ERROR: ',
                          prog='api'):
        code, output = self.start(sections, prog)
        self.assertNotEqual(0, code, output)
        lines = [line for line in output.splitlines() if name in line]
        self.assertEqual(1, len(lines), output)
        self.assertTrue(lines[0].startswith(prefix), output)
        self.assertNotIn('Traceback', output)


class TestBadValues(StartsGlance):

    def test_bad_integer(self):
        self.assertStopsNaming({'DEFAULT': {'workers': -3}},
                               '[DEFAULT] workers')

    def test_bad_logging_boolean(self):
        # A command-line option: oslo.config itself refuses it, as
        # "argument --debug: Invalid Boolean value: maybe".
        self.assertStopsNaming({'DEFAULT': {'debug': 'maybe'}},
                               '--debug: Invalid', prefix='argument')

    def test_bad_middleware_value(self):
        # Registered only when the pipeline is built.
        self.assertStopsNaming(
            {'oslo_middleware': {'enable_proxy_headers_parsing': 'maybe'}},
            '[oslo_middleware] enable_proxy_headers_parsing')


# What glance needs to log in to Keystone (doc/deployment.rst); the
# address is never reached by these tests.
AUTHTOKEN = {'www_authenticate_uri': 'http://127.0.0.1:9/v3',
             'auth_url': 'http://127.0.0.1:9/v3',
             'auth_type': 'password', 'username': 'glance',
             'password': 'not-used', 'project_name': 'service',
             'user_domain_name': 'Default',
             'project_domain_name': 'Default'}


class TestKeystoneSettings(StartsGlance):
    """The keystone flavor without a usable [keystone_authtoken] refuses to
    start (it used to answer every request with a bare 500; decisions,
    Identity)."""

    KEYSTONE = {'paste_deploy': {'flavor': 'keystone'}}

    def without(self, *names):
        return {'paste_deploy': {'flavor': 'keystone'},
                'keystone_authtoken': {k: v for k, v in AUTHTOKEN.items()
                                       if k not in names}}

    def test_no_section(self):
        self.assertStopsNaming(self.KEYSTONE,
                               '[keystone_authtoken] sets no auth_type')

    def test_registry_no_section(self):
        self.assertStopsNaming(self.KEYSTONE,
                               '[keystone_authtoken] sets no auth_type',
                               prog='registry')

    def test_no_auth_url(self):
        self.assertStopsNaming(
            self.without('auth_url'),
            '[keystone_authtoken] auth_type = password needs auth_url')

    def test_unknown_plugin(self):
        sections = self.without()
        sections['keystone_authtoken']['auth_type'] = 'pasword'
        self.assertStopsNaming(
            sections, '[keystone_authtoken] auth_type = pasword: no such')

    def test_auth_section(self):
        # The settings may live in another section that auth_section names.
        sections = {'paste_deploy': {'flavor': 'keystone'},
                    'keystone_authtoken': {'auth_section': 'glance_auth'},
                    'glance_auth': {'auth_type': 'password'}}
        self.assertStopsNaming(
            sections, '[glance_auth] auth_type = password needs auth_url')

    def test_wsgi_entry_point(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'glance-api.conf')
        server.write_conf(conf, {
            'database': {'connection': 'sqlite:///%s/g.sqlite' % tmp},
            'paste_deploy': {'config_file': server.PASTE,
                             'flavor': 'keystone'}})
        proc = subprocess.run(
            [sys.executable, '-c', 'import glance_v1.wsgi.api'],
            env=dict(os.environ, GLANCE_CONFIG_FILES=conf),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=60)
        output = proc.stdout.decode('utf-8', 'replace')
        self.assertNotEqual(0, proc.returncode, output)
        self.assertIn('RuntimeError: Cannot authenticate with Keystone: '
                      '[keystone_authtoken] sets no auth_type', output)

    def test_complete_section_starts(self):
        api = self.useFixture(server.ApiServer(
            flavor='keystone', conf={'keystone_authtoken': AUTHTOKEN}))
        conn = http.client.HTTPConnection('127.0.0.1', api.port, timeout=30)
        conn.request('GET', '/v1/images')
        resp = conn.getresponse()
        resp.read()
        # No token: refused without asking Keystone.
        self.assertEqual(401, resp.status)
        self.assertEqual('Keystone uri="http://127.0.0.1:9/v3"',
                         resp.getheader('WWW-Authenticate'))
