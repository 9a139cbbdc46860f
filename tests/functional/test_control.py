"""glance-control driving a real glance-api through its pid file
(reference §12)."""

import http.client
import os
import subprocess
import sys
import time

import fixtures
import testtools

from glance_v1.cmd import control
from tests.functional import server


class TestControl(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = server.free_port()
        self.conf = os.path.join(self.dir, 'glance-api.conf')
        server.write_conf(self.conf, {
            'DEFAULT': {'bind_host': '127.0.0.1', 'bind_port': self.port,
                        'workers': 1, 'state_path': self.dir,
                        'graceful_shutdown_timeout': 5},
            'database': {'connection': 'sqlite:///%s/g.sqlite' % self.dir,
                         'auto_migrate': 'true'},
            'paste_deploy': {'config_file': server.PASTE},
            'glance_store': {'filesystem_store_datadir':
                             os.path.join(self.dir, 'images')}})
        self.pid_dir = os.path.join(self.dir, 'run')
        self.addCleanup(self.control, 'api', 'stop')

    def control(self, *args):
        proc = subprocess.run(
            [sys.executable, '-m', 'glance_v1.cmd.control',
             '--pid-dir', self.pid_dir, '--timeout', '15',
             '--output', os.path.join(self.dir, 'out.log')] + list(args),
            capture_output=True, timeout=90)
        return proc.returncode, proc.stdout.decode() + proc.stderr.decode()

    def pid(self):
        with open(os.path.join(self.pid_dir, 'glance-api.pid')) as f:
            return int(f.read())

    def healthy(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                                  timeout=2)
                conn.request('GET', '/healthcheck')
                if conn.getresponse().status == 200:
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def test_lifecycle(self):
        self.assertEqual(control.NOT_RUNNING,
                         self.control('api', 'status', self.conf)[0])
        code, out = self.control('api', 'start', self.conf)
        self.assertEqual(0, code, out)
        self.assertTrue(self.healthy())
        first = self.pid()
        self.assertIn('running (pid %d)' % first,
                      self.control('api', 'status')[1])
        self.assertIn('already running',
                      self.control('api', 'start', self.conf)[1])

        self.assertEqual(0, self.control('api', 'reload')[0])
        self.assertTrue(self.healthy())
        self.assertEqual(first, self.pid())

        code, out = self.control('api', 'restart', self.conf)
        self.assertEqual(0, code, out)
        self.assertTrue(self.healthy())
        second = self.pid()
        self.assertNotEqual(first, second)
        self.assertFalse(control._alive(first, 'api'))

        code, out = self.control('api', 'stop')
        self.assertEqual(0, code, out)
        self.assertFalse(control._alive(second, 'api'))
        self.assertFalse(os.path.exists(
            os.path.join(self.pid_dir, 'glance-api.pid')))
        self.assertEqual(control.NOT_RUNNING,
                         self.control('api', 'status')[0])

    def test_start_with_bad_config_fails(self):
        with open(self.conf, 'a') as f:
            f.write('[DEFAULT]\nworkers = -1\n')
        # Watched until it exits, however long a loaded machine takes to
        # get there (a started service would be watched as long).
        code, out = self.control('--wait', '60', 'api', 'start', self.conf)
        self.assertEqual(1, code, out)
        self.assertIn('exited at start', out)
        self.assertEqual(control.NOT_RUNNING,
                         self.control('api', 'status')[0])

    def test_stale_pid_file(self):
        os.makedirs(self.pid_dir)
        with open(os.path.join(self.pid_dir, 'glance-api.pid'), 'w') as f:
            # Our own pid: alive, but not a glance-api.
            f.write('%d\n' % os.getpid())
        self.assertEqual(control.NOT_RUNNING,
                         self.control('api', 'status')[0])

    def test_all_skips_missing_services(self):
        code, out = self.control('all', 'status')
        self.assertEqual(control.NOT_RUNNING, code)
        for name in control.SERVERS:
            self.assertEqual(control.installed(name),
                             'glance-%s is not running' % name in out)
