"""A bad configuration value stops glance-api at start with one line
naming the option (and a non-zero exit), whichever layer owns it."""

import os
import subprocess
import sys

import fixtures
import testtools

from tests.functional import server


class TestBadValues(testtools.TestCase):

    def start(self, sections):
        tmp = self.useFixture(fixtures.TempDir()).path
        base = {'DEFAULT': {'bind_host': '127.0.0.1',
                            'bind_port': server.free_port(),
                            'workers': 0},
                'database': {'connection': 'sqlite:///%s/g.sqlite' % tmp},
                'paste_deploy': {'config_file': server.PASTE}}
        for section, options in sections.items():
            base.setdefault(section, {}).update(options)
        conf = os.path.join(tmp, 'glance-api.conf')
        server.write_conf(conf, base)
        proc = subprocess.run(
            [sys.executable, '-m', 'glance_v1.cmd.api', '--config-file',
             conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=60)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    def assertStopsNaming(self, sections, name, prefix='ERROR: '):
        code, output = self.start(sections)
        self.assertNotEqual(0, code, output)
        lines = [line for line in output.splitlines() if name in line]
        self.assertEqual(1, len(lines), output)
        self.assertTrue(lines[0].startswith(prefix), output)
        self.assertNotIn('Traceback', output)

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
