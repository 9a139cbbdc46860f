"""Start real glance-api processes on free loopback ports for tests."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PASTE = os.path.join(REPO, 'etc', 'glance-api-paste.ini')


# GLANCE_V1_TEST_STORE=swift runs every functional test with images in the
# Swift all-in-one of GLANCE_V1_SWIFT_AIO (tools/swift_aio.py, tox -e swift).
TEST_STORE = os.environ.get('GLANCE_V1_TEST_STORE', 'file')


def require_backends():
    return os.environ.get('GLANCE_V1_REQUIRE_BACKENDS') == '1'


def swift_settings():
    """The auth settings of the running Swift all-in-one; skips the test
    without one (fails when GLANCE_V1_REQUIRE_BACKENDS=1)."""
    base = os.environ.get('GLANCE_V1_SWIFT_AIO')
    reason = ('Swift all-in-one not running: set GLANCE_V1_SWIFT_AIO to the '
              'directory of "python tools/swift_aio.py start" (or run '
              '"tox -e swift")')
    try:
        with open(os.path.join(base or '', 'saio.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        if require_backends():
            raise RuntimeError(reason)
        raise testtools.TestCase.skipException(reason)


def swift_store_conf(settings, container=None):
    """[glance_store] options putting images into the all-in-one, each
    server in its own container so servers running in parallel (and their
    orphan checks) never see each other's objects."""
    return {
        'stores': 'file,http,swift', 'default_store': 'swift',
        'swift_store_auth_address': settings['auth_address'],
        'swift_store_auth_version': settings['auth_version'],
        'swift_store_user': settings['user'],
        'swift_store_key': settings['key'],
        'swift_store_container': container or 'glance-%s'
                                              % os.urandom(4).hex(),
        'swift_store_create_container_on_put': 'true',
        'swift_store_retries': 1,
    }


def swift_connection(settings):
    from swiftclient import client
    return client.Connection(settings['auth_address'], settings['user'],
                             settings['key'], auth_version='1', retries=1)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_conf(path, sections):
    with open(path, 'w') as f:
        for section, options in sections.items():
            f.write('[%s]\n' % section)
            for key, value in options.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')


class ApiServer(fixtures.Fixture):
    """A glance-api process with its own SQLite database and store
    directory (or shared ones, to run several nodes over one state)."""

    def __init__(self, flavor=None, conf=None, state_dir=None, workers=0):
        super().__init__()
        self.flavor = flavor
        self.extra = conf or {}
        self.state_dir = state_dir
        self.workers = workers
        self.proc = None

    def _setUp(self):
        self.dir = tempfile.mkdtemp(prefix='glance-v1-test-')
        self.addCleanup(self._remove_dir)
        if self.state_dir is None:
            self.state_dir = os.path.join(self.dir, 'state')
        self.port = free_port()
        sections = {
            'DEFAULT': {'bind_host': '127.0.0.1', 'bind_port': self.port,
                        'workers': self.workers,
                        'state_path': self.state_dir,
                        'graceful_shutdown_timeout': 5},
            'database': {'connection': 'sqlite:///%s/glance.sqlite'
                                       % self.state_dir,
                         'auto_migrate': 'true'},
            'paste_deploy': {'config_file': PASTE},
            'glance_store': {'filesystem_store_datadir':
                             os.path.join(self.state_dir, 'images')},
        }
        self.swift = None
        if TEST_STORE == 'swift':
            self.swift = swift_settings()
            sections['glance_store'].update(swift_store_conf(self.swift))
        if self.flavor:
            sections['paste_deploy']['flavor'] = self.flavor
        for section, options in self.extra.items():
            sections.setdefault(section, {}).update(options)
        self.conf_file = os.path.join(self.dir, 'glance-api.conf')
        write_conf(self.conf_file, sections)
        self.store_dir = sections['glance_store']['filesystem_store_datadir']
        self.store_conf = sections['glance_store']
        self.log_file = os.path.join(self.dir, 'api.log')
        self.start()
        self.addCleanup(self.stop)

    def _remove_dir(self):
        subprocess.call(['rm', '-rf', self.dir])

    def start(self):
        self.log = open(self.log_file, 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'glance_v1.cmd.api',
             '--config-file', self.conf_file],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('glance-api exited with %s:\n%s' % (
                    self.proc.returncode, self.read_log()))
            try:
                conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                                  timeout=2)
                conn.request('GET', '/healthcheck')
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('glance-api did not start:\n' + self.read_log())

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def read_log(self):
        with open(self.log_file, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def store_files(self):
        """Every file under the store directory, staging included, or
        every object and segment of this server's Swift containers."""
        if self.store_conf.get('default_store') == 'swift':
            return self.swift_objects()
        found = []
        for root, _dirs, files in os.walk(self.store_dir):
            found.extend(os.path.join(root, f) for f in files)
        return sorted(found)

    def swift_objects(self):
        conn = swift_connection(self.swift)
        container = self.store_conf['swift_store_container']
        found = []
        for name in (container, container + '_segments'):
            try:
                _h, listing = conn.get_container(name, full_listing=True)
            except Exception as e:
                if getattr(e, 'http_status', None) == 404:
                    continue
                raise
            found.extend('%s/%s' % (name, o['name']) for o in listing)
        conn.close()
        return sorted(found)
