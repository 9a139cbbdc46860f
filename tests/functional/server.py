"""Start real glance-api (and glance-registry) processes on free loopback
ports for tests."""

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import fixtures
import testtools

from tests import db
from tests.functional import launchers
from tools.local_servers import free_port
from tools.local_servers import write_conf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PASTE = os.path.join(REPO, 'etc', 'glance-api-paste.ini')


# GLANCE_V1_TEST_STORE=swift runs every functional test with images in the
# Swift all-in-one of GLANCE_V1_SWIFT_AIO (tools/swift_aio.py, tox -e swift).
TEST_STORE = os.environ.get('GLANCE_V1_TEST_STORE', 'file')


# GLANCE_V1_TEST_SERVER chooses what serves glance-api in the functional
# tests: its own eventlet server (default) or another WSGI server, started
# by the launcher module of that name (tests/functional/launchers/).
TEST_SERVER = os.environ.get('GLANCE_V1_TEST_SERVER', 'eventlet')


def eventlet_only(reason):
    """Skips a test of glance-api's own server (workers, signals, its
    socket handling) when another WSGI server serves the API."""
    return testtools.skipIf(TEST_SERVER != 'eventlet',
                            'not under %s: %s' % (TEST_SERVER, reason))


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


def registry_mode():
    """``GLANCE_V1_TEST_REGISTRY=remote`` runs every ApiServer over its own
    glance-registry process (the split deployment); unset, in-process."""
    mode = os.environ.get('GLANCE_V1_TEST_REGISTRY') or 'local'
    if mode not in ('local', 'remote'):
        raise RuntimeError('GLANCE_V1_TEST_REGISTRY must be local or '
                           'remote, not %r' % mode)
    return mode


class Service(fixtures.Fixture):
    """A server process (``module``) on a free loopback port, with its
    config file and log in a temporary directory."""

    module = None
    name = None

    def __init__(self, flavor=None, conf=None, state_dir=None, workers=0,
                 database=None, tls_client=None):
        """``tls_client``: the ssl.SSLContext to reach a server that
        serves HTTPS (cert_file in ``conf``)."""
        super().__init__()
        self.tls_client = tls_client
        self.flavor = flavor
        self.extra = conf or {}
        self.state_dir = state_dir
        self.workers = workers
        self.database = database
        self.proc = None

    def _setUp(self):
        self.dir = tempfile.mkdtemp(prefix='glance-v1-test-')
        self.addCleanup(self._remove_dir)
        if self.state_dir is None:
            self.state_dir = os.path.join(self.dir, 'state')
        os.makedirs(self.state_dir, exist_ok=True)
        if self.database is None:
            # Several nodes given one state_dir share its SQLite file.
            self.database = self.useFixture(
                db.Database(directory=self.state_dir)).url
        self.port = free_port()
        sections = self.sections()
        if self.flavor:
            sections['paste_deploy']['flavor'] = self.flavor
        for section, options in self.extra.items():
            sections.setdefault(section, {}).update(options)
        self.conf_file = os.path.join(self.dir, '%s.conf' % self.name)
        write_conf(self.conf_file, sections)
        self.log_file = os.path.join(self.dir, '%s.log' % self.name)
        self.configured(sections)
        # Before the start: a front server whose application failed to
        # load keeps running (Apache, uWSGI) and must be stopped too.
        self.addCleanup(self.stop)
        self.start()

    def sections(self):
        return {
            'DEFAULT': {'bind_host': '127.0.0.1', 'bind_port': self.port,
                        'workers': self.workers,
                        'state_path': self.state_dir,
                        'graceful_shutdown_timeout': 5},
            'database': {'connection': self.database,
                         'auto_migrate': 'true'},
            'paste_deploy': {'config_file': os.path.join(
                REPO, 'etc', '%s-paste.ini' % self.name)},
        }

    def configured(self, sections):
        """Hook: the final config of the service."""

    def _remove_dir(self):
        subprocess.call(['rm', '-rf', self.dir])

    def start(self):
        self.log = open(self.log_file, 'ab')
        self.proc = subprocess.Popen(
            self.command(), stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.wait_ready()

    def command(self):
        """The argv of the server process (a test may wrap it)."""
        return [sys.executable, '-m', self.module,
                '--config-file', self.conf_file]

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s:\n%s' % (
                    self.name, self.proc.returncode, self.read_log()))
            try:
                conn = self.connection(timeout=2)
                conn.request('GET', '/healthcheck')
                status = conn.getresponse().status
                conn.close()
                if status == 200 and self.serving():
                    return
                if status == 500:
                    # A front server (Apache, uWSGI) whose application
                    # failed to load: it stays up, and answers so.
                    break
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError('%s did not start:\n%s' % (self.name,
                                                      self.read_log()))

    def serving(self):
        """Whether every process of the server is up, once one answered
        (a launcher may set its own check)."""
        return True

    def connection(self, timeout=60):
        if self.tls_client is not None:
            return http.client.HTTPSConnection(
                '127.0.0.1', self.port, timeout=timeout,
                context=self.tls_client)
        return http.client.HTTPConnection('127.0.0.1', self.port,
                                          timeout=timeout)

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
        return '%s://127.0.0.1:%d' % (
            'https' if self.tls_client is not None else 'http', self.port)


class RegistryServer(Service):
    """A glance-registry process."""

    module = 'glance_v1.cmd.registry'
    name = 'glance-registry'


class ApiServer(Service):
    """A glance-api process with its own database (SQLite unless
    GLANCE_V1_TEST_DB says otherwise) and store directory, or shared
    ones (``state_dir``, ``database``) to run several nodes over one
    state. In the remote registry mode it also starts the glance-registry
    it talks to, with the same options and a matching flavor."""

    module = 'glance_v1.cmd.api'
    name = 'glance-api'

    registry = None

    def sections(self):
        sections = super().sections()
        sections['glance_store'] = {
            'filesystem_store_datadir': os.path.join(self.state_dir,
                                                     'images')}
        self.swift = None
        if TEST_STORE == 'swift':
            self.swift = swift_settings()
            # Nodes sharing a state directory share a container too.
            sections['glance_store'].update(swift_store_conf(
                self.swift, container='glance-%s' % hashlib.md5(
                    self.state_dir.encode()).hexdigest()[:8]))
        self.registry = None
        if registry_mode() == 'remote':
            # The registry reads the same options (owner_is_tenant,
            # admin_role, policy...) as the API, as the reference asks.
            conf = {k: v for k, v in self.extra.items()
                    if k != 'paste_deploy'}
            # HTTPS is the API's own (test_tls); its registry stays plain.
            conf['DEFAULT'] = {k: v for k, v in
                               conf.get('DEFAULT', {}).items()
                               if k not in ('cert_file', 'key_file',
                                            'ca_file')}
            self.registry = self.useFixture(RegistryServer(
                flavor='trusted-auth' if self.flavor else None,
                conf=conf, state_dir=self.state_dir,
                database=self.database))
        if self.registry is not None:
            # An API node of the split deployment has no database: any
            # use of one fails instead of reaching the registry's.
            sections['database'] = dict(
                sections['database'],
                connection='sqlite:///%s' % os.path.join(
                    self.state_dir, 'no-such-directory', 'api.sqlite'))
            sections['DEFAULT'].update({
                'registry_backend': 'remote',
                'registry_host': '127.0.0.1',
                'registry_port': self.registry.port,
                'send_identity_headers': 'true' if self.flavor
                else 'false'})
        return sections

    def command(self):
        if TEST_SERVER == 'eventlet':
            return super().command()
        return launchers.command(TEST_SERVER, self)

    def configured(self, sections):
        self.store_dir = sections['glance_store']['filesystem_store_datadir']
        self.store_conf = sections['glance_store']

    def store_files(self):
        """Every file under the store directory, staging included, or
        every object and segment of this server's Swift containers."""
        if self.store_conf.get('default_store') == 'swift':
            return self.swift_objects()
        found = []
        for root, _dirs, files in os.walk(self.store_dir):
            found.extend(os.path.join(root, f) for f in files)
        return sorted(found)

    def has_image_data(self, image_id):
        """Whether the store holds data (a file, an object or segments)
        of ``image_id``, whichever store the server uses."""
        return any(image_id in f.rsplit('/', 1)[-1] or
                   '/%s/' % image_id in f for f in self.store_files())

    def remove_image_data(self, image_id):
        """Remove ``image_id``'s data behind the server's back."""
        if self.store_conf.get('default_store') == 'swift':
            conn = swift_connection(self.swift)
            conn.delete_object(self.store_conf['swift_store_container'],
                               image_id)
            conn.close()
        else:
            os.unlink(os.path.join(self.store_dir, image_id))

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
