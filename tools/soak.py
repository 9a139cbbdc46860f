#!/usr/bin/env python3
"""Soak glance-api with mixed concurrent operations and check it stays
healthy.

Workers create (with data, Content-Length or chunked, or metadata only
then upload), download and verify, list, update and delete images, and
now and then drop an upload half way. At the end: no unexpected status,
no image stuck in ``saving``, no file in the store that no active image
owns, and the API process holds no more file descriptors and not much
more memory than after the warm-up.

    python tools/soak.py                      # own server, 60 s
    python tools/soak.py --duration 1800 --concurrency 16
    python tools/soak.py --url http://127.0.0.1:9292 --pid 1234

The test suite runs a short soak (tests/functional/test_soak.py). Only
loopback traffic; a server started here is stopped here.
"""

import argparse
import collections
import hashlib
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADERS = {'x-image-meta-disk_format': 'raw',
           'x-image-meta-container_format': 'bare'}
OCTETS = {'Content-Type': 'application/octet-stream'}


def fd_count(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


_TCP_STATES = {'01': 'established', '06': 'time-wait', '08': 'close-wait',
               '0A': 'listen'}


def _tcp_sockets(pid, api_port):
    """inode -> 'tcp from clients <state>' for connections to the API's
    port, else 'tcp to <remote port> <state>', for ``pid``'s sockets."""
    found = {}
    for table in ('tcp', 'tcp6'):
        try:
            with open('/proc/%d/net/%s' % (pid, table)) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local = int(fields[1].split(':')[1], 16)
                    remote = int(fields[2].split(':')[1], 16)
                    state = _TCP_STATES.get(fields[3], fields[3])
                    found[fields[9]] = (
                        'tcp from clients %s' % state if local == api_port
                        else 'tcp to %d %s' % (remote, state))
        except OSError:
            pass
    return found


def fd_targets(pid, api_port=None):
    """What each open descriptor of ``pid`` refers to, by kind: a file's
    path, a pipe, or a TCP socket's ports and state, so that two
    snapshots compare and show where descriptors went."""
    tcp = _tcp_sockets(pid, api_port)
    targets = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:
            continue
        kind, _, inode = target.partition(':[')
        targets.append(tcp.get(inode.rstrip(']'), kind) if inode
                       else target)
    return sorted(targets)


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


class Soak:
    """``duration`` seconds of ``concurrency`` workers against ``url``
    (a glance-api whose callers are admins: noauth)."""

    def __init__(self, url, duration=60, concurrency=8, seed=None,
                 max_size=256 * 1024):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.duration = duration
        self.concurrency = concurrency
        self.seed = random.randrange(2 ** 32) if seed is None else seed
        self.max_size = max_size
        self.ops = collections.Counter()
        self.errors = []
        self.lock = threading.Lock()

    # -- http ---------------------------------------------------------------

    def call(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read(), resp
        finally:
            conn.close()

    def expect(self, op, statuses, status, detail=''):
        with self.lock:
            self.ops[op] += 1
            if status not in statuses:
                self.errors.append('%s: %s %s' % (op, status,
                                                  str(detail)[:200]))

    # -- operations (each worker touches only its own images) --------------

    def create(self, rng, mine):
        data = rng.randbytes(rng.randrange(self.max_size))
        how = rng.choice(('length', 'chunked', 'queued'))
        if how == 'queued':
            status, body, _ = self.call('POST', '/v1/images', HEADERS)
            self.expect('create-queued', (201,), status, body)
            if status != 201:
                return
            image_id = json.loads(body)['image']['id']
            status, body, _ = self.call('PUT', '/v1/images/' + image_id,
                                        OCTETS, data)
            self.expect('upload', (200,), status, body)
        else:
            payload = data if how == 'length' else iter(
                [data[i:i + 65536] for i in range(0, len(data), 65536)])
            status, body, _ = self.call('POST', '/v1/images',
                                        dict(HEADERS, **OCTETS), payload)
            self.expect('create-' + how, (201,), status, body)
            if status != 201:
                return
            image_id = json.loads(body)['image']['id']
        mine[image_id] = hashlib.md5(data).hexdigest()

    def download(self, rng, mine):
        if not mine:
            return
        image_id = rng.choice(list(mine))
        status, body, _ = self.call('GET', '/v1/images/' + image_id)
        good = status == 200 and hashlib.md5(body).hexdigest() == \
            mine[image_id]
        self.expect('download', (True,), good, (image_id, status))

    def listing(self, rng, mine):
        path = rng.choice(('/v1/images', '/v1/images/detail',
                           '/v1/images/detail?sort_key=size&limit=5',
                           '/v1/images?name=none'))
        status, body, _ = self.call('GET', path)
        self.expect('list', (200,), status, body)

    def update(self, rng, mine):
        if not mine:
            return
        image_id = rng.choice(list(mine))
        status, body, _ = self.call('PUT', '/v1/images/' + image_id, {
            'x-image-meta-name': 'soak-%d' % rng.randrange(1000),
            'x-image-meta-property-round': str(rng.randrange(10 ** 6)),
            'x-glance-registry-purge-props': rng.choice(('true',
                                                         'false'))})
        self.expect('update', (200,), status, body)

    def delete(self, rng, mine):
        if not mine:
            return
        image_id = rng.choice(list(mine))
        del mine[image_id]
        status, body, _ = self.call('DELETE', '/v1/images/' + image_id)
        self.expect('delete', (200,), status, body)

    def dropped_upload(self, rng, mine):
        """A client that goes away half way: its image ends killed."""
        sock = socket.create_connection((self.host, self.port), timeout=30)
        try:
            head = ('POST /v1/images HTTP/1.1\r\nHost: soak\r\n'
                    'Content-Type: application/octet-stream\r\n'
                    'x-image-meta-disk_format: raw\r\n'
                    'x-image-meta-container_format: bare\r\n'
                    'Content-Length: 100000\r\n\r\n')
            sock.sendall(head.encode() + b'd' * rng.randrange(1, 50000))
            time.sleep(rng.random() * 0.05)
        finally:
            sock.close()
        with self.lock:
            self.ops['dropped-upload'] += 1

    WEIGHTS = (('create', 5), ('download', 5), ('listing', 3),
               ('update', 2), ('delete', 3), ('dropped_upload', 1))

    def worker(self, index, deadline):
        rng = random.Random(self.seed + index)
        mine = {}
        names = [n for n, _ in self.WEIGHTS]
        weights = [w for _, w in self.WEIGHTS]
        while time.monotonic() < deadline:
            op = rng.choices(names, weights)[0]
            try:
                getattr(self, op)(rng, mine)
            except Exception as e:
                self.expect(op, (), type(e).__name__, e)
        for image_id in list(mine):
            self.delete(rng, {image_id: None})

    def run_workers(self, seconds, first_index=0):
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=self.worker,
                                    args=(first_index + i, deadline))
                   for i in range(self.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # -- checks -------------------------------------------------------------

    def images(self):
        status, body, _ = self.call(
            'GET', '/v1/images/detail?is_public=none&limit=1000&'
            'changes-since=2000-01-01T00:00:00')
        return json.loads(body)['images'] if status == 200 else []

    def quiesce(self, timeout=30):
        """Wait until no image is ``saving`` (dropped uploads are
        noticed asynchronously); return those still saving."""
        deadline = time.monotonic() + timeout
        while True:
            saving = [i['id'] for i in self.images()
                      if i['status'] == 'saving']
            if not saving or time.monotonic() > deadline:
                return saving
            time.sleep(0.5)

    @staticmethod
    def settled_fds(pid, before, slack=4, timeout=15):
        """The API's descriptor count once connections of dropped
        clients have been noticed and closed (or after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            count = fd_count(pid)
            if count <= before + slack or time.monotonic() > deadline:
                return count
            time.sleep(0.5)

    @staticmethod
    def sample_rss(pid, samples, stop, every=5):
        # Stops with the measured run: the API may be gone right after.
        while not stop.wait(every):
            samples.append(rss_kib(pid))

    def run(self, pid=None, store_files=None, warmup=None):
        """Soak, then return the report (``ok`` says if all checks
        passed). ``pid``: the API process to watch; ``store_files``: a
        callable listing the store's files."""
        warmup = min(self.duration / 4, 15) if warmup is None else warmup
        self.run_workers(warmup, first_index=1000)
        self.quiesce()
        before = (fd_count(pid), rss_kib(pid)) if pid else None
        kinds_before = fd_targets(pid, self.port) if pid else None
        started = time.monotonic()
        samples = []
        stop = threading.Event()
        sampler = threading.Thread(target=self.sample_rss,
                                   args=(pid, samples, stop), daemon=True)
        if pid:
            sampler.start()
        self.run_workers(self.duration - warmup)
        elapsed = time.monotonic() - started
        stop.set()
        if pid:
            sampler.join()
        report = {'seed': self.seed, 'seconds': round(elapsed + warmup, 1),
                  'concurrency': self.concurrency,
                  'operations': dict(self.ops),
                  'errors': self.errors[:50],
                  'error_count': len(self.errors),
                  'stuck_saving': self.quiesce()}
        if pid:
            after = (self.settled_fds(pid, before[0]), rss_kib(pid))
            # Which kinds of descriptor grew, to tell a leak's source.
            grown = collections.Counter(fd_targets(pid, self.port))
            grown.subtract(kinds_before)
            report.update({'fds_before': before[0], 'fds_after': after[0],
                           'fds_grown': {k: n for k, n in grown.items()
                                         if n > 0},
                           'rss_kib_before': before[1],
                           'rss_kib_after': after[1],
                           'rss_kib_samples': samples})
        if store_files is not None:
            active = {i['id'] for i in self.images()
                      if i['status'] == 'active'}
            report['orphan_files'] = [
                f for f in store_files()
                if os.path.basename(f) not in active]
        report['ok'] = self.verdict(report)
        return report

    @staticmethod
    def verdict(report, fd_slack=4, rss_slack_kib=20 * 1024):
        return (not report['error_count'] and not report['stuck_saving']
                and not report.get('orphan_files')
                and report.get('fds_after', 0) <= report.get(
                    'fds_before', 0) + fd_slack
                and report.get('rss_kib_after', 0) <= report.get(
                    'rss_kib_before', 0) + rss_slack_kib)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--duration', type=float, default=60)
    parser.add_argument('--concurrency', type=int, default=8)
    parser.add_argument('--seed', type=int)
    parser.add_argument('--url', help='soak this running glance-api '
                        '(noauth flavor) instead of starting one')
    parser.add_argument('--pid', type=int,
                        help='its process, for descriptors and memory')
    parser.add_argument('--json', help='write the report here')
    args = parser.parse_args()
    api = None
    if args.url is None:
        sys.path.insert(0, REPO)
        from tests.functional import server
        api = server.ApiServer()
        api.setUp()
        args.url, args.pid = api.url, api.proc.pid
    try:
        soak = Soak(args.url, args.duration, args.concurrency, args.seed)
        report = soak.run(pid=args.pid,
                          store_files=api.store_files if api else None)
    finally:
        if api is not None:
            api.cleanUp()
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text + '\n')
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
