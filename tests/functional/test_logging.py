"""What glance-api logs: one access line per request with its request
id, user, tenant, status, bytes and duration; never a token nor a store
location, even with debug on."""

import os
import re

import fixtures

from tests.functional import base
from tests.functional import server

TOKEN = 'SECRET-TOKEN-0123456789'
ACCESS = re.compile(
    r' INFO glance_v1\.wsgi\.access \[\S+ (?P<req>req-[0-9a-f-]{36}) '
    r'(?P<user>\S+) (?P<tenant>\S+) [^\]]*\] \S+ - - \[[^\]]+\] '
    r'"(?P<line>[^"]+)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'(?P<seconds>\d+\.\d+)$')


class TestLogging(base.FunctionalTest):

    flavor = 'trusted-auth'
    server_per_test = True

    def make_server(self):
        self.log_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'api.log')
        return server.ApiServer(flavor=self.flavor, conf={
            'DEFAULT': {'debug': True, 'log_file': self.log_file}})

    def access_lines(self):
        """The API's access lines (a glance-registry of the remote
        registry mode shares the log file and logs its own)."""
        mine = ' %d INFO ' % self.api.proc.pid
        with open(self.log_file) as f:
            return [m for m in map(ACCESS.search, f.read().splitlines())
                    if m and mine in m.string]

    @server.eventlet_only(
        "glance-api's own server writes these access lines; uWSGI and "
        'Apache log requests themselves')
    def test_lines_and_secrets(self):
        who = dict(base.identity(tenant='t-log', user='u-log'),
                   **{'X-Auth-Token': TOKEN})
        resp = self.create(who, body=b'x' * 1000)
        self.assertEqual(201, resp.status)
        image_id = resp.json['image']['id']
        path = '/v1/images/%s' % image_id
        get = self.request('GET', path, who)
        self.assertEqual(200, get.status)
        self.assertEqual(403, self.request(
            'PUT', path, dict(who, **{'x-image-meta-status': 'queued'}),
        ).status)
        self.assertEqual(200, self.request('DELETE', path, who).status)
        self.assertEqual(401, self.request('GET', '/v1/images').status)
        self.api.stop()

        lines = self.access_lines()
        requests = [(m['line'].split()[0], m['status']) for m in lines
                    if '/healthcheck' not in m['line']]
        self.assertEqual([('POST', '201'), ('GET', '200'), ('PUT', '403'),
                          ('DELETE', '200'), ('GET', '401')], requests)
        by_request = {m['req']: m for m in lines}
        post = by_request[resp.header('x-openstack-request-id')]
        self.assertEqual(('u-log', 't-log'), (post['user'], post['tenant']))
        download = by_request[get.header('x-openstack-request-id')]
        self.assertGreaterEqual(int(download['bytes']), 1000)
        self.assertGreater(float(download['seconds']), 0)

        with open(self.log_file) as f:
            text = f.read()
        # debug on: the options in force are logged, secrets masked.
        self.assertRegex(text, r' DEBUG \S+ \[-\] bind_port +=')
        self.assertNotIn(TOKEN, text)
        self.assertNotIn(self.api.store_dir, text)
        self.assertNotIn('file://', text)

    def test_no_library_chatter(self):
        # Neither the migration check at start nor the store's expected
        # 404 (is the image's object there yet?) logs INFO lines, even
        # with debug on: the library loggers stay at WARN.
        resp = self.create(base.identity('t-quiet'), body=b'q' * 100)
        self.assertEqual(201, resp.status)
        self.api.stop()
        with open(self.log_file) as f:
            chatter = [line for line in f.read().splitlines()
                       if re.search(r' (INFO|DEBUG) (alembic|swiftclient)',
                                    line)]
        self.assertEqual([], chatter)


class TestEscapedErrors(base.FunctionalTest):
    """An exception that escapes the pipeline is answered with a 500
    that carries the request id, and logged with it (issue: eventlet runs
    with log_output off, so it used to vanish)."""

    flavor = 'trusted-auth'
    server_per_test = True

    def make_server(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        self.log_file = os.path.join(tmp, 'api.log')
        with open(server.PASTE) as f:
            paste = f.read()
        paste = paste.replace(
            'versionnegotiation context rootapp',
            'versionnegotiation context faulty rootapp', 1)
        paste += ('\n[filter:faulty]\npaste.filter_factory = '
                  'tests.functional.faulty_filter:filter_factory\n')
        paste_file = os.path.join(tmp, 'glance-api-paste.ini')
        with open(paste_file, 'w') as f:
            f.write(paste)
        return server.ApiServer(flavor=self.flavor, conf={
            'DEFAULT': {'log_file': self.log_file},
            'paste_deploy': {'config_file': paste_file}})

    def test_logged_with_request_id(self):
        who = dict(base.identity('t-err'), **{'X-Test-Raise': '1',
                                             'Accept': 'application/json'})
        resp = self.request('GET', '/v1/images', who)
        self.assertEqual(500, resp.status)
        self.assertEqual(500, resp.json['code'])
        req_id = resp.header('x-openstack-request-id')
        self.assertTrue(req_id and req_id.startswith('req-'), resp.headers)
        # The server still answers the next request.
        self.assertEqual(200, self.request('GET', '/v1/images',
                                           base.identity('t-err')).status)
        with open(self.log_file) as f:
            log = f.read()
        [line] = [ln for ln in log.splitlines()
                  if 'Unhandled error in GET /v1/images' in ln]
        self.assertIn(req_id, line)
        self.assertIn('raised on purpose by the test filter', log)
