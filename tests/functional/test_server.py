"""The glance-api process: port, workers, graceful stop
(glance-v1-reference §12, §15 test_multiprocessing)."""

import hashlib
import http.client
import os
import signal
import subprocess
import sys
import time

from tests.functional import base
from tests.functional import server


def children(pid):
    with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


class TestProcess(base.FunctionalTest):

    server_per_test = True

    def test_taken_port_is_refused_with_one_line(self):
        proc = subprocess.run(
            [sys.executable, '-m', 'glance_v1.cmd.api',
             '--config-file', self.api.conf_file],
            capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL)
        self.assertEqual(1, proc.returncode)
        self.assertIn('Cannot listen on 127.0.0.1:%d' % self.api.port,
                      proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
        # The first server still answers alone.
        self.assertEqual(200, self.request('GET', '/v1/images').status)

    @server.eventlet_only(
        'a stopping uWSGI keeps its socket: new clients wait instead of being '
        'refused (test_uwsgi.TestStop); Apache stops at once on SIGTERM '
        '(graceful-stop is SIGWINCH)')
    def test_sigterm_lets_a_download_in_flight_finish(self):
        data = os.urandom(32 * 1024 * 1024)
        image_id = self.create(body=data).json['image']['id']
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=30)
        conn.request('GET', '/v1/images/%s' % image_id)
        resp = conn.getresponse()
        first = resp.read(1024 * 1024)
        self.api.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # No new clients once stopping...
        self.assertRaises(ConnectionRefusedError, self.request, 'GET',
                          '/v1/images')
        rest = resp.read()
        conn.close()
        # ...but the transfer under way completes, byte for byte.
        self.assertEqual(hashlib.md5(data).hexdigest(),
                         hashlib.md5(first + rest).hexdigest())
        self.assertEqual(0, self.api.proc.wait(30))


@server.eventlet_only('workers are glance-api\'s own server\'s; Apache '
                      'runs its processes (WSGIDaemonProcess)')
class TestWorkers(base.FunctionalTest):

    @classmethod
    def make_server(cls):
        return server.ApiServer(workers=2)

    def test_workers_serve_and_a_dead_one_is_replaced(self):
        # §15 test_multiprocessing.
        self.assertEqual(200, self.request('GET', '/v1/images').status)
        workers = children(self.api.proc.pid)
        self.assertEqual(2, len(workers))
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = children(self.api.proc.pid)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.2)
        self.assertEqual((2, False), (len(now), workers[0] in now),
                         'workers before %s, now %s; the log ends:\n%s' % (
                             workers, now, self.api.read_log()[-3000:]))
        for _ in range(10):
            self.assertEqual(200, self.request('GET', '/v1/images').status)
