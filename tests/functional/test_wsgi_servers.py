"""What every server in front of glance-api must deliver alike (run under
each GLANCE_V1_TEST_SERVER): the v1 header names with underscores,
chunked uploads, an upload over the size cap refused from its headers;
and what Apache + mod_wsgi adds: daemons restarted mid-upload recovered
without an operator, and no eventlet in its processes."""

import collections
import http.client
import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time

import fixtures
import testtools

from tests.functional import base
from tests.functional.launchers import modwsgi
from tests.functional import server

# Every v1 header name that carries "_", as clients spell them.
CORE_UNDERSCORE = {
    'x-image-meta-disk_format': 'qcow2',
    'x-image-meta-container_format': 'ovf',
    'x-image-meta-min_ram': '512',
    'x-image-meta-min_disk': '3',
    'x-image-meta-is_public': 'true',
}
# Accepted on create but never stored from the client: they must still
# answer the same under either spelling.
IGNORED_UNDERSCORE = ('x-image-meta-created_at', 'x-image-meta-updated_at',
                      'x-image-meta-deleted_at', 'x-image-meta-virtual_size')
VOLATILE = ('id', 'created_at', 'updated_at')


def modwsgi_only(reason):
    return testtools.skipIf(server.TEST_SERVER != 'modwsgi',
                            'only under mod_wsgi: %s' % reason)


def launcher_owner():
    """uid and gid the mod_wsgi daemons run as (tests run as root)."""
    entry = pwd.getpwnam(modwsgi.DAEMON_USER)
    return entry.pw_uid, entry.pw_gid


def _view(resp):
    image = dict(resp.json['image'])
    for field in VOLATILE:
        image.pop(field)
    return image


class TestHeaderNames(base.FunctionalTest):

    flavor = 'trusted-auth'
    admin = base.identity(roles='admin')

    def test_core_fields_with_underscores(self):
        resp = self.create(self.admin, extra=dict(CORE_UNDERSCORE,
                                      **{'x-image-meta-name': 'u'}))
        self.assertEqual(201, resp.status, resp)
        image = resp.json['image']
        self.assertEqual(('qcow2', 'ovf', 512, 3, True),
                         (image['disk_format'], image['container_format'],
                          image['min_ram'], image['min_disk'],
                          image['is_public']))

    def test_each_underscore_header_as_its_dashed_spelling(self):
        for name, value in list(CORE_UNDERSCORE.items()) + [
                (n, '2020-01-01T00:00:00') for n in IGNORED_UNDERSCORE
                if not n.endswith('virtual_size')] + [
                ('x-image-meta-virtual_size', '5')]:
            answers = []
            for spelling in (name, name.replace('_', '-')):
                headers = {'x-image-meta-name': 'h', **self.admin,
                           'x-image-meta-disk-format': 'raw',
                           'x-image-meta-container-format': 'bare'}
                headers.pop(name.replace('_', '-'), None)
                headers[spelling] = value
                resp = self.request('POST', '/v1/images', headers)
                answers.append((resp.status, _view(resp)
                                if resp.status == 201 else resp.body))
            self.assertEqual(answers[1], answers[0], name)

    def test_property_spellings(self):
        # v1 keys properties lower-cased with "-" as "_" (reference §2):
        # both spellings of one name are the same property, under any
        # server.
        for header in ('x-image-meta-property-os_distro',
                       'x-image-meta-property-os-distro',
                       'X-Image-Meta-Property-OS_Distro'):
            resp = self.create(self.admin, extra={header: header})
            self.assertEqual(201, resp.status, resp)
            self.assertEqual({'os_distro': header},
                             resp.json['image']['properties'])
        resp = self.create(self.admin, extra={
            'x-image-meta-property-hw_disk_bus': 'virtio',
            'x-image-meta-property-hw-vif-model': 'e1000',
            'x-image-meta-property-a_b-c': 'mixed'})
        self.assertEqual({'hw_disk_bus': 'virtio', 'hw_vif_model': 'e1000',
                          'a_b_c': 'mixed'},
                         resp.json['image']['properties'])
        image_id = resp.json['image']['id']
        update = self.request('PUT', '/v1/images/%s' % image_id, dict(
            self.admin, **{'x-image-meta-property-hw_disk_bus': 'scsi',
                           'x-glance-registry-purge-props': 'false'}))
        self.assertEqual(200, update.status, update)
        self.assertEqual('scsi', update.json['image']['properties']
                         ['hw_disk_bus'])


class TestIdentityHeaderNames(base.FunctionalTest):
    """Headers outside the v1 image ones keep being dropped when spelled
    with "_": X_Roles must not pass for X-Roles."""

    flavor = 'trusted-auth'

    @testtools.skipIf(
        server.TEST_SERVER == 'uwsgi',
        'not under uwsgi: uWSGI names X_Roles and X-Roles alike '
        '(HTTP_X_ROLES) and the last one wins; with trusted-auth the '
        'front end must remove both spellings (doc/deployment.rst, '
        '"uWSGI")')
    def test_underscored_roles_ignored(self):
        who = dict(base.identity(roles='member'), X_Roles='admin')
        resp = self.create(who, extra={'x-image-meta-is_public': 'true'})
        self.assertEqual(403, resp.status, resp)


class TestUploads(base.FunctionalTest):

    conf = {'DEFAULT': {'image_size_cap': 100000}}

    def test_chunked_upload(self):
        data = os.urandom(70000)
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=30)
        headers = dict(base.IMAGE_HEADERS,
                       **{'Content-Type': 'application/octet-stream',
                          'Transfer-Encoding': 'chunked'})
        conn.request('POST', '/v1/images', headers=headers,
                     body=iter([data[:30000], data[30000:]]),
                     encode_chunked=True)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        self.assertEqual(201, resp.status, body)
        image_id = json.loads(body)['image']['id']
        got = self.request('GET', '/v1/images/%s' % image_id)
        self.assertEqual(data, got.body)

    def assertRefusedAtOnce(self, sock):
        """The 400 of the size cap arrives before the body is sent, and
        the server closes the connection after it."""
        sock.sendall(b'x' * 10)
        sock.settimeout(10)
        started = time.monotonic()
        answer = self.read_until_closed(sock)
        sock.close()
        self.assertLess(time.monotonic() - started, 5)
        head, _, body = answer.partition(b'\r\n\r\n')
        self.assertTrue(head.startswith(b'HTTP/1.1 400 '), answer)
        self.assertIn(b'Denying attempt to upload image larger than '
                      b'100000 bytes.', body)

    def test_declared_length_over_cap(self):
        self.assertRefusedAtOnce(self.start_raw_upload(
            b'Content-Length: 100001'))

    def test_declared_size_over_cap(self):
        self.assertRefusedAtOnce(self.start_raw_upload(
            b'x-image-meta-size: 200000\r\nContent-Length: 50000'))

    def test_update_over_cap(self):
        image_id = self.create().json['image']['id']
        sock = self.raw_socket()
        sock.sendall(b'PUT /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Type: application/octet-stream\r\n'
                     b'Content-Length: 100001\r\n\r\n' % image_id.encode())
        self.assertRefusedAtOnce(sock)


class TestThreads(base.FunctionalTest):
    """Native threads (mod_wsgi's) serve requests truly side by side."""

    server_per_test = True

    def test_first_requests_in_parallel_are_authorized(self):
        # Each process builds its policy enforcer at its first check; a
        # thread that got it before its rules were registered was denied.
        statuses = collections.Counter()

        def run():
            conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                              timeout=30)
            end = time.monotonic() + 2
            while time.monotonic() < end:
                conn.request('GET', '/v1/images')
                resp = conn.getresponse()
                resp.read()
                statuses[resp.status] += 1
            conn.close()

        workers = [threading.Thread(target=run) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.assertEqual([200], list(statuses), statuses)


class TestNoEventlet(base.FunctionalTest):

    def test_wsgi_entry_point_imports_no_eventlet(self):
        code = ('import sys, glance_v1.wsgi.api; '
                'print(sorted(m for m in sys.modules '
                'if m.split(".")[0] == "eventlet"))')
        env = dict(os.environ, GLANCE_CONFIG_FILES=self.api.conf_file)
        out = subprocess.run([sys.executable, '-c', code], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual('[]', out.stdout.strip(), out.stderr)

    @modwsgi_only('the error log of Apache')
    def test_no_eventlet_warning_in_apache_log(self):
        self.assertEqual(201, self.create(body=b'data').status)
        self.assertNotIn('eventlet', self.api.read_log().lower())


class _Unready(server.ApiServer):
    """Started without waiting for a healthy answer: any answer will do."""

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                                  timeout=5)
                conn.request('GET', '/healthcheck')
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class TestDatabaseAtLoad(base.FunctionalTest):

    server_per_test = True

    def make_server(self):
        self.db_dir = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'not-yet')
        return _Unready(conf={'database': {
            'connection': 'sqlite:///%s/glance.sqlite' % self.db_dir}})

    @modwsgi_only('glance-api\'s own server refuses to start instead')
    def test_unusable_database_is_503_until_it_works(self):
        resp = self.request('GET', '/v1/images')
        self.assertEqual(503, resp.status, resp)
        self.assertIn(b'database is unavailable', resp.body)
        self.assertIn('Not serving yet: Cannot use the database',
                      self.api.read_log())
        os.mkdir(self.db_dir)
        if os.geteuid() == 0:
            for path in (os.path.dirname(self.db_dir), self.db_dir):
                os.chown(path, *launcher_owner())
        # Each daemon tries again on its next request, a second apart.
        deadline = time.monotonic() + 10
        while not all(self.create(body=b'data').status == 201
                      for _ in range(4)):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.3)


class TestCutUploadRecovered(base.FunctionalTest):

    server_per_test = True

    def daemons(self):
        """Pids of the mod_wsgi daemon processes of the test's Apache."""
        found = []
        for pid in os.listdir('/proc'):
            try:
                with open('/proc/%s/stat' % pid) as f:
                    parent = int(f.read().rsplit(')', 1)[1].split()[1])
                with open('/proc/%s/cmdline' % pid) as f:
                    name = f.read()
            except (OSError, ValueError, IndexError):
                continue
            if parent == self.api.proc.pid and \
                    name.startswith('(wsgi:glance-api)'):
                found.append(int(pid))
        return found

    @modwsgi_only('its daemons restart without glance-api starting')
    def test_restarted_daemon_recovers_the_upload(self):
        self.require_file_store()
        image_id = self.create().json['image']['id']
        sock = self.raw_socket()
        sock.sendall(b'PUT /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Type: application/octet-stream\r\n'
                     b'Content-Length: 10000000\r\n\r\n' % image_id.encode()
                     + b'x' * 200000)
        deadline = time.monotonic() + 15
        while self.image_status(image_id) != 'saving':
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        self.assertTrue(any(image_id in f for f in self.api.store_files()))
        # What a request-timeout (or a crash) does to the daemon.
        for pid in self.daemons():
            os.kill(pid, signal.SIGKILL)
        try:
            sock.sendall(b'x' * 1000)
        except OSError:
            pass
        deadline = time.monotonic() + 20
        while self.image_status(image_id) != 'killed':
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        sock.close()
        self.assertStoreBecomes([])
        self.assertIn('left in saving by a process that died',
                      self.api.read_log())

