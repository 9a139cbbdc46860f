#!/usr/bin/env python3
"""Benchmark glance-api against this machine's own limits.

Starts glance-api on the embedded default (SQLite + filesystem store) on a
free loopback port, measures data and metadata paths together with
reference figures taken in the same run (hash rates, the store disk's
write+fsync rate, a static file server on the same bytes), prints one
table with each target's verdict and writes the results as JSON.

    python tools/bench.py            # every section, full sizes
    python tools/bench.py --quick    # smaller sizes
    python tools/bench.py --sections first,herd
    python tools/bench.py --json out.json
    python tools/bench.py --sections metadata,swift   # only those

Sections: ``base`` (uploads, downloads, metadata; under 10 minutes),
``first`` (every kind of download of a fresh 1 GiB image beside the disk,
nginx and the original Glance 15 from tools/reference_glance.py; about 6
minutes), ``herd`` (1,000 clients at 1-8 MiB/s downloading one 64 MiB
image, against nginx and then glance-api; about 5 minutes), ``metadata``
(list latency at a million images on PostgreSQL 127.0.0.1:5432 or
$GLANCE_V1_BENCH_PG; ``--meta-db mysql`` for MySQL/MariaDB at
127.0.0.1:3306 or $GLANCE_V1_BENCH_MYSQL) and ``swift`` (the Swift store
against python-swiftclient on a Swift all-in-one started by
tools/swift_aio.py). A reference that is not installed (nginx, Python 3.6
for Glance 15) is skipped with a message and its verdicts print SKIP.

Only loopback traffic; every process started here is stopped here.
"""

import argparse
import concurrent.futures
import fcntl
import hashlib
import http.client
import http.server
import json
import mmap
import os
import queue
import resource
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import uuid

MiB = 1024 * 1024
GiB = 1024 * MiB
BLOCK = MiB
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_file(path, size):
    """A file of incompressible bytes, written block by block and synced,
    so that the kernel is not still writing it back to the disk the
    store uses while a measurement runs."""
    block = os.urandom(BLOCK)
    with open(path, 'wb') as f:
        for i in range(size // BLOCK):
            # Vary each block so no layer can deduplicate.
            f.write(i.to_bytes(8, 'little') + block[8:])
        f.write(block[:size % BLOCK])
        f.flush()
        os.fsync(f.fileno())


# -- references ---------------------------------------------------------------

def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def hash_rate(name, total=512 * MiB):
    buf = os.urandom(BLOCK)
    h = hashlib.new(name)
    start = time.perf_counter()
    for _ in range(total // BLOCK):
        h.update(buf)
    return total / MiB / (time.perf_counter() - start)


def write_fsync_rate(directory, total):
    buf = os.urandom(BLOCK)
    path = os.path.join(directory, 'write-probe')
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(total // BLOCK):
            os.write(fd, buf)
        os.fsync(fd)
    finally:
        os.close(fd)
    rate = total / MiB / (time.perf_counter() - start)
    os.unlink(path)
    return rate


def receive_hash_rate(path, store_dir=None):
    """The upload floor of this machine: the file sent with sendfile over
    loopback TCP into a ring of reused page-aligned buffers, sha256
    computed by the receiving thread and md5 by a second one; no HTTP.
    With ``store_dir``, a third thread also writes each buffer into a
    file there, O_DIRECT as the store does, and fsyncs it: the least an
    upload must do. What the service adds (HTTP, the event loop, its own
    bookkeeping) shows as the distance from these figures."""
    size = os.path.getsize(path)
    listener = socket.create_server(('127.0.0.1', 0))
    port = listener.getsockname()[1]
    free = queue.Queue()
    for _ in range(16):
        free.put(mmap.mmap(-1, BLOCK))
    hashed, written = queue.Queue(), queue.Queue()
    md5 = hashlib.md5(usedforsecurity=False)
    out = _open_direct(os.path.join(store_dir, 'floor.part')) \
        if store_dir else None

    def hash_md5():
        while True:
            item = hashed.get()
            if item is None:
                written.put(None)
                return
            buf, n = item
            md5.update(memoryview(buf)[:n])
            if out is None:
                free.put(buf)
            else:
                written.put(item)

    def write():
        while True:
            item = written.get()
            if item is None:
                return
            buf, n = item
            if n % 4096:
                # O_DIRECT takes whole blocks; the tail goes through the
                # page cache.
                fcntl.fcntl(out, fcntl.F_SETFL,
                            fcntl.fcntl(out, fcntl.F_GETFL) & ~os.O_DIRECT)
            view = memoryview(buf)[:n]
            while view:
                view = view[os.write(out, view):]
            free.put(buf)

    def send():
        with socket.create_connection(('127.0.0.1', port)) as s, \
                open(path, 'rb') as f:
            s.sendfile(f)

    start = time.perf_counter()
    sender = threading.Thread(target=send)
    sender.start()
    conn, _ = listener.accept()
    workers = [threading.Thread(target=hash_md5)]
    if out is not None:
        workers.append(threading.Thread(target=write))
    for worker in workers:
        worker.start()
    sha = hashlib.sha256()
    total = 0
    with conn:
        while True:
            buf = free.get()
            view = memoryview(buf)
            n = 0
            while n < BLOCK:
                got = conn.recv_into(view[n:])
                if not got:
                    break
                n += got
            if n:
                sha.update(view[:n])
                hashed.put((buf, n))
                total += n
            if n < BLOCK:
                break
    hashed.put(None)
    for worker in workers:
        worker.join()
    if out is not None:
        os.fsync(out)
    elapsed = time.perf_counter() - start
    sender.join()
    listener.close()
    if out is not None:
        os.close(out)
        os.unlink(os.path.join(store_dir, 'floor.part'))
    if total != size:
        raise RuntimeError('floor: received %d of %d bytes' % (total, size))
    return size / MiB / elapsed


def _open_direct(path):
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        return os.open(path, flags | os.O_DIRECT, 0o600)
    except OSError:
        # A filesystem without O_DIRECT (tmpfs), as the store falls back.
        return os.open(path, flags, 0o600)


class _SendfileHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    path_to_serve = None

    def do_GET(self):
        size = os.path.getsize(self.path_to_serve)
        self.send_response(200)
        self.send_header('Content-Length', str(size))
        self.send_header('Content-Type', 'application/octet-stream')
        self.end_headers()
        with open(self.path_to_serve, 'rb') as f:
            offset = 0
            while offset < size:
                offset += os.sendfile(self.connection.fileno(), f.fileno(),
                                      offset, size - offset)

    def log_message(self, *args):
        pass


class StaticServer:
    """nginx from Debian when installed, else a sendfile server."""

    def __init__(self, path, workdir, connections=256):
        self.path = path
        self.port = free_port()
        self.proc = self.httpd = None
        nginx = shutil.which('nginx')
        if nginx:
            self.kind = 'nginx'
            conf = os.path.join(workdir, 'nginx.conf')
            with open(conf, 'w') as f:
                f.write(
                    # As root, its worker would be "nobody", which
                    # cannot read a private temporary directory.
                    '%sdaemon off; worker_processes 1; pid %s/nginx.pid;\n'
                    'error_log %s/nginx.err; worker_rlimit_nofile %d;\n'
                    'events { worker_connections %d; }\n'
                    'http { access_log off; sendfile on; server {\n'
                    ' listen 127.0.0.1:%d backlog=4096; root %s; } }\n' % (
                        'user root;\n' if os.geteuid() == 0 else '',
                        workdir, workdir, 2 * connections, connections,
                        self.port, os.path.dirname(path)))
            self.proc = subprocess.Popen([nginx, '-c', conf, '-p', workdir],
                                         stderr=subprocess.DEVNULL)
            wait_port(self.port)
        else:
            self.kind = 'python sendfile'
            handler = type('H', (_SendfileHandler,),
                           {'path_to_serve': path})
            self.httpd = socketserver.TCPServer(('127.0.0.1', self.port),
                                                handler)
            threading.Thread(target=self.httpd.serve_forever,
                             daemon=True).start()

    @property
    def url_path(self):
        return '/' + os.path.basename(self.path)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()


def wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('nothing listens on port %d' % port)


# -- the service --------------------------------------------------------------

class Api:

    def __init__(self, workdir, workers=0, extra='', conf=''):
        """``extra``: more [DEFAULT] lines of glance-api.conf; ``conf``:
        more sections, appended as is."""
        os.makedirs(workdir)
        self.port = free_port()
        self.state = os.path.join(workdir, 'state')
        self.conf = os.path.join(workdir, 'glance-api.conf')
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\n'
                    'workers = %d\nstate_path = %s\nimage_size_cap = %d\n'
                    '%s[database]\nauto_migrate = true\n'
                    '[paste_deploy]\nconfig_file = %s\n' % (
                        self.port, workers, self.state, 16 * GiB, extra,
                        os.path.join(REPO, 'etc', 'glance-api-paste.ini')))
            f.write(conf)
        self.log = open(os.path.join(workdir, 'api.log'), 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'glance_v1.cmd.api', '--config-file',
             self.conf], stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=REPO)
        wait_port(self.port)

    def reset_peak_rss(self):
        # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0).
        with open('/proc/%d/clear_refs' % self.proc.pid, 'w') as f:
            f.write('5')

    def peak_rss_mib(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
        return None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def connect(port):
    return http.client.HTTPConnection('127.0.0.1', port, timeout=600,
                                      blocksize=BLOCK)


def upload(port, path, chunked, headers=()):
    """POST the file (with extra ``headers``); return (image id, MiB/s).

    The body goes out with sendfile (Content-Length) or one sendmsg per
    chunk, so the client takes as little as it can of the CPUs the server
    needs; http.client would copy every block twice more.
    """
    size = os.path.getsize(path)
    conn = connect(port)
    conn.putrequest('POST', '/v1/images')
    for name, value in (('x-image-meta-name', 'bench'),
                        ('x-image-meta-disk_format', 'raw'),
                        ('x-image-meta-container_format', 'bare'),
                        ('Content-Type', 'application/octet-stream'),
                        *dict(headers).items()):
        conn.putheader(name, value)
    if chunked:
        conn.putheader('Transfer-Encoding', 'chunked')
    else:
        conn.putheader('Content-Length', str(size))
    start = time.perf_counter()
    conn.endheaders()
    with open(path, 'rb') as f:
        if chunked:
            buf = bytearray(BLOCK)
            view = memoryview(buf)
            while True:
                n = f.readinto(buf)
                parts = [b'%x\r\n' % n, view[:n], b'\r\n']
                sent = conn.sock.sendmsg(parts)
                if sent < n + len(parts[0]) + 2:
                    # A partial send (rare on a blocking socket).
                    conn.sock.sendall(b''.join(parts)[sent:])
                if not n:
                    break
        else:
            conn.sock.sendfile(f)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - start
    conn.close()
    if resp.status != 201:
        raise RuntimeError('upload failed: %d %s' % (resp.status, body))
    return json.loads(body)['image']['id'], size / MiB / elapsed


def download(port, path, headers=None):
    """GET ``path`` and discard it; return (bytes, MiB/s)."""
    conn = connect(port)
    buf = bytearray(BLOCK)
    start = time.perf_counter()
    conn.request('GET', path, headers=headers or {})
    resp = conn.getresponse()
    if resp.status not in (200, 206):
        raise RuntimeError('download %s failed: %d' % (path, resp.status))
    total = 0
    while True:
        n = resp.readinto(buf)
        if not n:
            break
        total += n
    elapsed = time.perf_counter() - start
    conn.close()
    return total, total / MiB / elapsed


def latency(port, method, path, count, headers=None):
    """p50 and p95 in milliseconds over one keep-alive connection."""
    conn = connect(port)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - start) * 1000)
        if resp.status >= 400:
            raise RuntimeError('%s %s: %d' % (method, path, resp.status))
    conn.close()
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95) - 1]


def create_rate(port, count):
    conn = connect(port)
    headers = {'x-image-meta-name': 'meta-only',
               'x-image-meta-disk_format': 'raw',
               'x-image-meta-container_format': 'bare'}
    start = time.perf_counter()
    for _ in range(count):
        conn.request('POST', '/v1/images', headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 201:
            raise RuntimeError('create failed: %d' % resp.status)
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def fill_images(db_url, count):
    """Bulk-insert ``count`` active images straight into the registry."""
    import sqlalchemy as sa

    from glance_v1.registry.db import models
    engine = sa.create_engine(db_url)
    now = models.utcnow()
    rows = []
    with engine.begin() as conn:
        for i in range(count):
            rows.append({'id': str(uuid.uuid4()), 'name': 'filler-%06d' % i,
                         'disk_format': 'raw', 'container_format': 'bare',
                         'size': i, 'status': 'active', 'is_public': True,
                         'min_disk': 0, 'min_ram': 0, 'protected': False,
                         'owner': None, 'deleted': False,
                         'created_at': now, 'updated_at': now})
            if len(rows) == 5000:
                conn.execute(sa.insert(models.Image), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(models.Image), rows)
        if engine.dialect.name == 'sqlite':
            # Fresh statistics, as a long-lived database would have.
            conn.exec_driver_sql('ANALYZE')
    engine.dispose()


def concurrent_downloads(port, path, streams):
    errors = 0
    total = 0

    def one(_):
        return download(port, path)[0]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(streams) as pool:
        for fut in [pool.submit(one, i) for i in range(streams)]:
            try:
                total += fut.result()
            except Exception:
                errors += 1
    return total / MiB / (time.perf_counter() - start), errors


# -- metadata at many images (issue 17 section 4) -----------------------------

PG_ADMIN_URL = os.environ.get(
    'GLANCE_V1_BENCH_PG', 'postgresql+psycopg://postgres@127.0.0.1:5432/')
MYSQL_ADMIN_URL = os.environ.get(
    'GLANCE_V1_BENCH_MYSQL', 'mysql+pymysql://root@127.0.0.1:3306/')


class _MetaDb:
    """What the metadata section does differently per server: a
    throwaway database, statistics after the fill, sizes, and dropping
    the value index."""

    def __init__(self, backend):
        import sqlalchemy as sa
        self.backend = backend
        self.name = 'glance_bench_%s' % uuid.uuid4().hex[:8]
        if backend == 'postgresql':
            self.title = 'PostgreSQL'
            admin_url, self.url = PG_ADMIN_URL + 'postgres', (
                PG_ADMIN_URL + self.name)
            create = 'CREATE DATABASE %s' % self.name
        else:
            self.title = 'MySQL/MariaDB'
            admin_url = MYSQL_ADMIN_URL + '?charset=utf8mb4'
            self.url = '%s%s?charset=utf8mb4' % (MYSQL_ADMIN_URL, self.name)
            create = 'CREATE DATABASE %s CHARACTER SET utf8mb4' % self.name
        self.admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT')
        with self.admin.connect() as conn:
            conn.exec_driver_sql(create)
        self.engine = sa.create_engine(self.url)

    def refresh_statistics(self):
        """VACUUM ANALYZE on PostgreSQL (visibility map and statistics,
        as autovacuum leaves a long-lived database); ANALYZE TABLE
        elsewhere."""
        import sqlalchemy as sa

        from glance_v1.registry.db import bulk
        if self.backend == 'postgresql':
            vacuum = sa.create_engine(self.url, isolation_level='AUTOCOMMIT')
            with vacuum.connect() as conn:
                conn.exec_driver_sql('VACUUM ANALYZE')
            vacuum.dispose()
        else:
            with self.engine.begin() as conn:
                bulk.analyze(conn)

    def sizes(self):
        """Database size and the image_properties index sizes, MiB."""
        with self.engine.connect() as conn:
            if self.backend == 'postgresql':
                total = conn.exec_driver_sql(
                    'SELECT pg_database_size(current_database())').scalar()
                indexes = conn.exec_driver_sql(
                    'SELECT indexrelname, pg_relation_size(indexrelid) '
                    'FROM pg_stat_user_indexes WHERE relname = '
                    "'image_properties'").all()
            else:
                total = conn.exec_driver_sql(
                    'SELECT SUM(data_length + index_length) FROM '
                    'information_schema.tables WHERE table_schema = '
                    'DATABASE()').scalar()
                indexes = conn.exec_driver_sql(
                    'SELECT index_name, stat_value * @@innodb_page_size '
                    'FROM mysql.innodb_index_stats WHERE database_name = '
                    "DATABASE() AND table_name = 'image_properties' AND "
                    "stat_name = 'size'").all()
        return float(total) / MiB, {row[0]: float(row[1]) / MiB
                                    for row in indexes}

    def drop_value_index(self):
        pg = self.backend == 'postgresql'
        with self.engine.begin() as conn:
            conn.exec_driver_sql('DROP INDEX ix_image_properties_value'
                                 + ('' if pg else ' ON image_properties'))
            conn.exec_driver_sql('ANALYZE %s image_properties'
                                 % ('' if pg else 'TABLE'))

    def drop(self):
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % self.name)
        self.admin.dispose()


META_BATCH = 10000


def _meta_queries(ids):
    """(label, path) of the list requests measured at each size."""
    page = '/v1/images/detail?limit=25'
    name_asc = page + '&sort_key=name&sort_dir=asc'
    name_desc = page + '&sort_key=name&sort_dir=desc'
    return (
        ('list', '/v1/images?limit=25'),
        ('detail', page),
        ('detail, status=active', page + '&status=active'),
        ('detail, property-os_distro=distro7 (1 in 10)',
         page + '&property-os_distro=distro7'),
        ('detail, property-kernel_id=<one image>',
         page + '&property-kernel_id=' + ids['unique']),
        ('detail, property-foo=bar (none)', page + '&property-foo=bar'),
        ('detail, sort_key=name asc', name_asc),
        ('detail, sort_key=size desc', page + '&sort_key=size'),
        ('detail, marker mid-way', page + '&marker=' + ids['marker']),
        ('detail, sort_key=name, marker mid-way',
         name_asc + '&marker=' + ids['marker']),
        # Nullable keys: with NULLs sorted last (PostgreSQL, ascending)
        # and first (descending), the marker on a value and on a NULL.
        ('detail, sort_key=size asc, marker mid-way',
         page + '&sort_key=size&sort_dir=asc&marker=' + ids['marker']),
        ('detail, sort_key=name desc, marker mid-way',
         name_desc + '&marker=' + ids['marker']),
        ('detail, sort_key=name asc, marker unnamed',
         name_asc + '&marker=' + ids['unnamed']),
        ('detail, sort_key=name desc, marker unnamed',
         name_desc + '&marker=' + ids['unnamed']),
    )


def _meta_fill(engine, first, count, total):
    """Bulk-insert images ``first`` .. ``first + count - 1`` in batches,
    the queued tenth of them without a name; return the ids the queries
    need: a marker half-way, an unnamed live image near it, the image of
    the one-image property filter."""
    from glance_v1.registry.db import bulk
    from tools import list_scaling
    middle = first + count // 2 + 1
    unnamed = middle + (-middle % 10)
    if unnamed % 50 == 0:  # deleted
        unnamed += 10
    wanted = {middle: 'marker', unnamed: 'unnamed',
              first + count // 3: 'unique'}
    ids = {}
    for start in range(first, first + count, META_BATCH):
        images = list(list_scaling.synthetic_images(
            start, min(META_BATCH, first + count - start), total))
        for offset, image in enumerate(images):
            if (start + offset) % 10 == 0:
                image['name'] = None
            if start + offset in wanted:
                ids[wanted[start + offset]] = image['id']
        with engine.begin() as conn:
            bulk.insert_images(conn, images)
    return ids


def _meta_latency(port, path, samples, budget=20.0):
    """p50 and p95 in ms of up to ``samples`` GETs, fewer (at least five)
    when they exceed ``budget`` seconds: a query that scans costs seconds
    at a million images, and its figure needs no hundred samples."""
    conn = connect(port)
    times = []
    began = time.perf_counter()
    while len(times) < samples and (
            len(times) < 5 or time.perf_counter() - began < budget):
        start = time.perf_counter()
        conn.request('GET', path)
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - start) * 1000)
        if resp.status != 200:
            raise RuntimeError('GET %s: %d' % (path, resp.status))
    conn.close()
    times.sort()
    return times[len(times) // 2], times[max(0, int(len(times) * 0.95) - 1)]


def _meta_measure(port, ids, samples, rounds=3):
    """p50/p95 per query: the median over ``rounds`` interleaved rounds
    of each round's figures, so that a burst of load elsewhere on the
    machine moves one round only."""
    queries = _meta_queries(ids)
    for _label, path in queries:
        _meta_latency(port, path, 5)
    per_round = [[_meta_latency(port, path, samples)
                  for _label, path in queries] for _ in range(rounds)]
    return {label: [median(r[i][0] for r in per_round),
                    median(r[i][1] for r in per_round)]
            for i, (label, _path) in enumerate(queries)}


def run_metadata(args, work):
    from glance_v1.registry.db import bulk
    from glance_v1.registry.db import migration
    r = {'meta_db': args.meta_db}
    db = _MetaDb(args.meta_db)
    engine = db.engine
    api = None
    try:
        migration.upgrade(engine=engine)
        total = args.meta_images
        print('metadata: 100 of %d images on %s ...' % (total, db.title),
              flush=True)
        ids = _meta_fill(engine, 0, 100, total)
        with engine.begin() as conn:
            bulk.analyze(conn)
        api = Api(os.path.join(work, 'api-db'),
                  conf='[database]\nconnection = %s\n' % db.url)
        n = args.meta_samples
        r['meta_100'] = _meta_measure(api.port, ids, n)
        print('metadata: filling to %d images ...' % total, flush=True)
        began = time.perf_counter()
        ids = _meta_fill(engine, 100, total - 100, total)
        r['meta_fill_s'] = time.perf_counter() - began
        began = time.perf_counter()
        db.refresh_statistics()
        r['meta_vacuum_s'] = time.perf_counter() - began
        r['meta_many'] = _meta_measure(api.port, ids, n)
        r['meta_db_mib'], r['meta_index_mib'] = db.sizes()
        with engine.connect() as conn:
            r['meta_rows'] = {t: conn.exec_driver_sql(
                'SELECT count(*) FROM %s' % t).scalar()
                for t in ('images', 'image_properties', 'image_locations')}
        # The property filters again without the value index, for the
        # record of what it buys.
        db.drop_value_index()
        without = _meta_measure(api.port, ids, max(5, n // 10), rounds=1)
        r['meta_many_no_value_index'] = {
            k: v for k, v in without.items() if 'property' in k}
    finally:
        if api is not None:
            api.stop()
        db.drop()
    return r


def metadata_rows(r, args):
    rows = [('images / properties / locations',
             '%(images)d / %(image_properties)d / %(image_locations)d'
             % r['meta_rows']),
            ('bulk fill through glance_v1.registry.db.bulk',
             '%.0f s (%.0f images/s), statistics %.0f s' % (
                 r['meta_fill_s'], (args.meta_images - 100)
                 / r['meta_fill_s'], r['meta_vacuum_s'])),
            ('database size', '%.0f MiB' % r['meta_db_mib'])]
    for index, size in sorted(r['meta_index_mib'].items()):
        rows.append(('  index %s' % index, '%.1f MiB' % size))
    for label, (p50, p95) in r['meta_many'].items():
        few = r['meta_100'][label]
        rows.append(('%s p50/p95, 100 -> %d' % (label, args.meta_images),
                     '%.2f/%.2f -> %.2f/%.2f ms' % (few[0], few[1], p50,
                                                    p95)))
    for label, (p50, p95) in r['meta_many_no_value_index'].items():
        rows.append(('%s, no value index' % label,
                     '%.2f/%.2f ms' % (p50, p95)))
    return rows


def metadata_verdicts(r, args):
    return [('%s p50 at %d <= 1.2 x at 100' % (label, args.meta_images),
             '%.2f vs %.2f ms' % (p50, 1.2 * r['meta_100'][label][0]),
             p50 <= 1.2 * r['meta_100'][label][0])
            for label, (p50, _p95) in r['meta_many'].items()]


# -- the Swift store against python-swiftclient (issue 17 section 3) --------

SEGMENT_MIB = 200  # swift_store_large_object_chunk_size's default


class _SwiftClient:
    """python-swiftclient's own transfers (``swiftclient.service``, what
    the ``swift`` CLI runs: concurrent segment PUTs, md5 checked), in
    this process, so no interpreter start-up is timed."""

    def __init__(self, settings):
        from swiftclient import service
        self.service = service
        self.swift = service.SwiftService({
            'auth': settings['auth_address'], 'user': settings['user'],
            'key': settings['key'], 'auth_version': '1'})
        self._check(self.swift.post('bench-client'))

    @staticmethod
    def _check(results):
        results = [results] if isinstance(results, dict) else list(results)
        failed = [r for r in results if not r.get('success', True)]
        if failed:
            raise RuntimeError('swiftclient: %s' % failed[0].get('error'))

    def upload(self, path, name, segment_size=None):
        options = {'segment_size': segment_size, 'use_slo': True} \
            if segment_size else {}
        start = time.perf_counter()
        self._check(self.swift.upload('bench-client', [
            self.service.SwiftUploadObject(path, object_name=name)],
            options))
        return os.path.getsize(path) / MiB / (time.perf_counter() - start)

    def close(self):
        # Ends the service's thread pools.
        self.swift.__exit__(None, None, None)

    def download(self, name, size):
        start = time.perf_counter()
        self._check(self.swift.download('bench-client', [name],
                                        {'out_file': os.devnull}))
        return size / MiB / (time.perf_counter() - start)


def run_swift(args, work):
    base = os.path.join(work, 'saio')
    aio = [sys.executable, os.path.join(REPO, 'tools', 'swift_aio.py')]
    print('swift: starting the all-in-one ...', flush=True)
    subprocess.run(aio + ['start', '--base', base], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        return _run_swift(args, work, base)
    finally:
        subprocess.run(aio + ['stop', '--base', base, '--purge'])


def _run_swift(args, work, base):
    """Each run moves the file through swiftclient and through glance-api
    back to back, so that load elsewhere on a shared machine falls on
    both sides of a ratio alike."""
    with open(os.path.join(base, 'saio.json')) as f:
        settings = json.load(f)
    size = args.swift_image
    src = os.path.join(work, 'swift.bin')
    make_file(src, size)
    store = ''.join('%s = %s\n' % item for item in (
        ('stores', 'file,http,swift'), ('default_store', 'swift'),
        ('swift_store_auth_address', settings['auth_address']),
        ('swift_store_auth_version', settings['auth_version']),
        ('swift_store_user', settings['user']),
        ('swift_store_key', settings['key']),
        ('swift_store_container', 'bench-glance'),
        ('swift_store_create_container_on_put', 'true'),
        ('swift_store_large_object_chunk_size', SEGMENT_MIB)))
    client = _SwiftClient(settings)
    api = Api(os.path.join(work, 'api-swift'),
              conf='[glance_store]\n' + store)
    runs = {key: [] for key in ('put', 'put_segmented', 'get',
                                'get_segmented')}
    mine = {key: [] for key in runs}
    try:
        warm_up(api.port, work)
        idle = api.peak_rss_mib()
        api.reset_peak_rss()
        print('swift: %d runs each way ...' % args.runs, flush=True)
        ids = {}
        for i in range(args.runs):
            for key, segment, chunked in (
                    ('put', None, False),
                    ('put_segmented', SEGMENT_MIB * MiB, True)):
                runs[key].append(client.upload(src, '%s-%d' % (key, i),
                                               segment))
                image_id, rate = upload(api.port, src, chunked=chunked)
                ids.setdefault(key, image_id)
                mine[key].append(rate)
        for _ in range(args.runs):
            for key, put in (('get', 'put'),
                             ('get_segmented', 'put_segmented')):
                runs[key].append(client.download(put + '-0', size))
                mine[key].append(download(
                    api.port, '/v1/images/%s' % ids[put])[1])
        peak = api.peak_rss_mib()
    finally:
        api.stop()
        client.close()
    r = {'swift_rss_idle_mib': idle, 'swift_rss_peak_mib': peak}
    for key in runs:
        r['swift_%s_mibs_runs' % key] = mine[key]
        r['swift_%s_mibs' % key] = median(mine[key])
        r['swift_client_%s_mibs_runs' % key] = runs[key]
        r['swift_client_%s_mibs' % key] = median(runs[key])
    return r


_SWIFT_PAIRS = (
    ('upload, Content-Length (one object)', 'swift_put_mibs',
     'swift_client_put_mibs'),
    ('upload, chunked (SLO segments)', 'swift_put_segmented_mibs',
     'swift_client_put_segmented_mibs'),
    ('download, one object', 'swift_get_mibs', 'swift_client_get_mibs'),
    ('download, SLO', 'swift_get_segmented_mibs',
     'swift_client_get_segmented_mibs'),
)


def swift_rows(r, args):
    rows = []
    for label, ours, theirs in _SWIFT_PAIRS:
        rows.append(('%s %d MiB: glance_v1 / swiftclient' % (
            label, args.swift_image // MiB), '%.0f / %.0f MiB/s' % (
                r[ours], r[theirs])))
    rows.append(('glance-api RSS idle -> peak over the transfers',
                 '%.1f -> %.1f MiB' % (r['swift_rss_idle_mib'],
                                       r['swift_rss_peak_mib'])))
    return rows


def swift_verdicts(r, args):
    checks = [('swift %s >= 0.8 x swiftclient' % label,
               '%.0f vs %.0f MiB/s' % (r[ours], 0.8 * r[theirs]),
               r[ours] >= 0.8 * r[theirs])
              for label, ours, theirs in _SWIFT_PAIRS]
    checks.append(('swift peak RSS within 32 MiB of idle',
                   '%.1f vs %.1f MiB' % (r['swift_rss_peak_mib'],
                                         r['swift_rss_idle_mib'] + 32),
                   r['swift_rss_peak_mib'] <= r['swift_rss_idle_mib'] + 32))
    return checks


# -- the run ------------------------------------------------------------------

def run_base(args, work):
    """Section "base": uploads, downloads and metadata calls against this
    machine's own limits."""
    return _run(args, work, args.small_image, args.large_image)


def _run(args, work, big, huge):
    r = {}
    runs = args.runs
    print('references ...', flush=True)
    # Every throughput, ours and the references alike, is the median of
    # ``runs`` runs: one run on a shared machine is too noisy to compare.
    r['md5_mibs'] = median(hash_rate('md5') for _ in range(runs))
    r['sha256_mibs'] = median(hash_rate('sha256') for _ in range(runs))
    r['write_fsync_mibs'] = median(write_fsync_rate(work, big)
                                   for _ in range(runs))

    src = os.path.join(work, 'image.bin')
    make_file(src, big)
    receive_hash_rate(src)  # the page cache holds the file from here on
    r['receive_hash_mibs'] = median(receive_hash_rate(src)
                                    for _ in range(runs))
    r['receive_hash_write_mibs'] = median(receive_hash_rate(src, work)
                                          for _ in range(runs))
    api = Api(os.path.join(work, 'api'))
    try:
        warm_up(api.port, work)
        print('upload %d MiB ...' % (big // MiB), flush=True)
        api.reset_peak_rss()
        ids = []
        for chunked, key in ((False, 'upload_mibs'),
                             (True, 'upload_chunked_mibs')):
            rates = []
            for _ in range(runs):
                image_id, rate = upload(api.port, src, chunked=chunked)
                ids.append(image_id)
                rates.append(rate)
            r[key] = median(rates)
            r[key + '_runs'] = rates
        image_id = ids[0]
        for other in ids[1:]:
            delete(api.port, other)
        path = '/v1/images/%s' % image_id
        print('download ...', flush=True)
        # The store wrote the image past the page cache (O_DIRECT): one
        # download first puts it there, as for the static server below.
        download(api.port, path)
        r['download_mibs_runs'] = [download(api.port, path)[1]
                                   for _ in range(runs)]
        r['download_mibs'] = median(r['download_mibs_runs'])
        r['rss_small_mib'] = api.peak_rss_mib()

        static = StaticServer(src, work)
        try:
            r['static_server'] = static.kind
            download(static.port, static.url_path)  # warm the page cache
            r['static_mibs_runs'] = [
                download(static.port, static.url_path)[1]
                for _ in range(runs)]
            r['static_mibs'] = median(r['static_mibs_runs'])
        finally:
            static.stop()

        print('%d concurrent downloads ...' % args.streams, flush=True)
        conc_src = os.path.join(work, 'concurrent.bin')
        make_file(conc_src, args.stream_image)
        conc_id, _ = upload(api.port, conc_src, chunked=False)
        download(api.port, '/v1/images/%s' % conc_id)  # into the cache
        r['one_stream_mibs'] = median(
            download(api.port, '/v1/images/%s' % conc_id)[1]
            for _ in range(runs))
        r['concurrent_mibs'], r['concurrent_errors'] = concurrent_downloads(
            api.port, '/v1/images/%s' % conc_id, args.streams)

        print('latency with few images ...', flush=True)
        small = os.path.join(work, 'small.bin')
        make_file(small, 1024)
        small_id, _ = upload(api.port, small, chunked=False)
        n = args.samples
        r['head_ms'] = latency(api.port, 'HEAD', path, n)
        r['get_1k_ms'] = latency(api.port, 'GET', '/v1/images/' + small_id,
                                 n)
        r['create_per_s'] = create_rate(api.port, n)
        db_url = 'sqlite:///%s/glance.sqlite' % api.state
        count = _count_images(api.port)
        fill_images(db_url, max(0, 100 - count))
        r['list_100_ms'] = latency(api.port, 'GET', '/v1/images?limit=25',
                                   n)
        r['detail_100_ms'] = latency(api.port, 'GET',
                                     '/v1/images/detail?limit=25', n)
        print('latency with %d images ...' % args.many, flush=True)
        fill_images(db_url, args.many - 100)
        r['list_many_ms'] = latency(api.port, 'GET', '/v1/images?limit=25',
                                    n)
        r['detail_many_ms'] = latency(api.port, 'GET',
                                      '/v1/images/detail?limit=25', n)

        print('upload and download %d MiB ...' % (huge // MiB), flush=True)
        os.unlink(src)
        make_file(src, huge)
        api.reset_peak_rss()
        huge_id, _ = upload(api.port, src, chunked=False)
        download(api.port, '/v1/images/%s' % huge_id)
        r['rss_large_mib'] = api.peak_rss_mib()
    finally:
        api.stop()
    return r


def warm_up(port, work):
    """A small upload, download and delete first: the first requests of
    a process load modules and open database connections."""
    path = os.path.join(work, 'warm.bin')
    make_file(path, 4 * MiB)
    image_id, _ = upload(port, path, chunked=False)
    download(port, '/v1/images/%s' % image_id)
    latency(port, 'HEAD', '/v1/images/%s' % image_id, 20)
    delete(port, image_id)
    os.unlink(path)


def delete(port, image_id, headers=None):
    conn = connect(port)
    conn.request('DELETE', '/v1/images/%s' % image_id, headers=headers or {})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError('delete failed: %d' % resp.status)


def _count_images(port):
    conn = connect(port)
    conn.request('GET', '/v1/images?limit=1000')
    count = len(json.loads(conn.getresponse().read())['images'])
    conn.close()
    return count


# -- section "first": the first download after an upload (issue 17, 1) --------

# The reference's trusted-auth pipeline takes the caller from headers.
REFERENCE_HEADERS = {'X-Identity-Status': 'Confirmed', 'X-Auth-Token': 'tok',
                     'X-Tenant-Id': 'bench', 'X-User-Id': 'bench-user',
                     'X-Roles': 'admin'}


def drop_cached(path):
    """Evict one file from the page cache (its pages must be clean,
    hence the fsync), leaving the rest of the cache alone."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def cold_read_rate(path, block, direct=False, advice=None):
    """MiB/s of one front-to-back read of ``path`` from the disk, in
    ``block`` reads: O_DIRECT (as dd iflag=direct) or through the page
    cache, with a posix_fadvise ``advice`` if given."""
    drop_cached(path)
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECT if direct else 0))
    buf = mmap.mmap(-1, block)
    try:
        if advice is not None:
            os.posix_fadvise(fd, 0, 0, advice)
        start = time.perf_counter()
        offset = 0
        while offset < size:
            n = os.preadv(fd, [buf], offset)
            if not n:
                break
            offset += n
        return offset / MiB / (time.perf_counter() - start)
    finally:
        os.close(fd)
        buf.close()


def with_nginx(path, work, what, measure, connections=256):
    """``measure(port, url_path)`` against nginx serving ``path`` from the
    page cache, or None (and a message) when nginx is not installed."""
    if not shutil.which('nginx'):
        print('  nginx not installed: %s is skipped (apt-get install '
              'nginx-light)' % what, flush=True)
        return None
    static = StaticServer(path, work, connections)
    try:
        download(static.port, static.url_path)  # into the page cache
        return measure(static.port, static.url_path)
    finally:
        static.stop()


def fresh_read_rate(directory, size, direct=True):
    """MiB/s of a read (1 MiB blocks) of a file right after it was written
    O_DIRECT and fsynced, as the store writes an image: O_DIRECT, what
    the disk gives the first download of a new image (on a virtual disk
    this can be well below the rate of reading the file again later,
    when the host has it in its own cache), or through the page cache
    with POSIX_FADV_SEQUENTIAL, as a download reads it (which also fills
    the page cache: new pages, not those of a file just evicted)."""
    path = os.path.join(directory, 'fresh-probe')
    buf = mmap.mmap(-1, BLOCK)
    buf.write(os.urandom(BLOCK))
    fd = _open_direct(path)
    try:
        for _ in range(size // BLOCK):
            os.write(fd, buf)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        return cold_read_rate(
            path, BLOCK, direct=direct,
            advice=None if direct else os.POSIX_FADV_SEQUENTIAL)
    finally:
        os.unlink(path)



class ReferenceGlance:
    """The original Glance 15 (tools/reference_glance.py), or ``error``
    telling why it is not there."""

    def __init__(self, workdir):
        self.base = os.path.join(workdir, 'reference-glance')
        self.port = None
        self.error = None
        tool = os.path.join(REPO, 'tools', 'reference_glance.py')
        done = subprocess.run(
            [sys.executable, tool, 'start', '--base', self.base],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            self.error = 'reference Glance did not start: %s' % (
                done.stderr.strip().splitlines() or ['?'])[-1]
            return
        with open(os.path.join(self.base, 'reference.json')) as f:
            self.port = json.load(f)['ports']['glance-api']
        self.images = os.path.join(self.base, 'images')

    def stop(self):
        tool = os.path.join(REPO, 'tools', 'reference_glance.py')
        subprocess.run([sys.executable, tool, 'stop', '--base', self.base],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def download_kinds(port, src, images, runs, headers=None):
    """For each of ``runs`` fresh uploads of ``src`` (its file lands in
    ``images``): the first GET right after the upload, the same GET
    again (page cache), a Range of half the image (page cache) and a GET
    after the file was evicted from the cache. Medians in MiB/s."""
    size = os.path.getsize(src)
    rates = {'upload': [], 'first': [], 'warm': [], 'range': [],
             'cold': [], 'upload_then_first_s': []}
    for _ in range(runs):
        image_id, up = upload(port, src, chunked=False,
                              headers=headers or ())
        path = '/v1/images/%s' % image_id
        first = download(port, path, headers)[1]
        rates['upload'].append(up)
        rates['first'].append(first)
        # What booting an image right after registering it waits for.
        rates['upload_then_first_s'].append(size / MiB * (1 / up +
                                                          1 / first))
        rates['warm'].append(download(port, path, headers)[1])
        ranged = dict(headers or {}, Range='bytes=%d-%d' % (
            size // 4, size // 4 + size // 2 - 1))
        rates['range'].append(download(port, path, ranged)[1])
        drop_cached(os.path.join(images, image_id))
        rates['cold'].append(download(port, path, headers)[1])
        delete(port, image_id, headers)
    return {kind: median(values) for kind, values in rates.items()}, rates


def run_first(args, work):
    """Section "first": every kind of download of a ``first_image``
    beside the disk's own read rates, nginx's sendfile rate and the
    original Glance in the same run."""
    r = {}
    runs = args.runs
    src = os.path.join(work, 'first.bin')
    make_file(src, args.first_image)
    print('first download: disk read rates ...', flush=True)
    # The options for a cold read, without HTTP: what the disk gives
    # O_DIRECT, and through the page cache with and without advice.
    options = (('direct_1m', MiB, True, None),
               ('direct_8m', 8 * MiB, True, None),
               ('buffered_1m', MiB, False, None),
               ('buffered_1m_sequential', MiB, False,
                os.POSIX_FADV_SEQUENTIAL),
               ('buffered_4m_sequential', 4 * MiB, False,
                os.POSIX_FADV_SEQUENTIAL))
    for name, block, direct, advice in options:
        r['disk_' + name + '_mibs'] = median(
            cold_read_rate(src, block, direct, advice) for _ in range(runs))
    r['disk_fresh_direct_1m_mibs'] = median(
        fresh_read_rate(work, args.first_image) for _ in range(runs))
    r['disk_fresh_buffered_1m_sequential_mibs'] = median(
        fresh_read_rate(work, args.first_image, direct=False)
        for _ in range(runs))

    print('first download: nginx ...', flush=True)
    r['nginx_warm_mibs'] = with_nginx(
        src, work, 'the comparison with nginx',
        lambda port, path: median(download(port, path)[1]
                                  for _ in range(runs)))

    print('first download: glance_v1 ...', flush=True)
    api = Api(os.path.join(work, 'first-api'))
    try:
        warm_up(api.port, work)
        api.reset_peak_rss()
        r['ours'], r['ours_runs'] = download_kinds(
            api.port, src, os.path.join(api.state, 'images'), runs)
        r['ours_peak_rss_mib'] = api.peak_rss_mib()
    finally:
        api.stop()

    print('first download: the original Glance ...', flush=True)
    ref = ReferenceGlance(work)
    r['reference'] = r['reference_error'] = None
    try:
        if ref.error:
            r['reference_error'] = ref.error
            print('  ' + ref.error + ': its comparison is skipped',
                  flush=True)
        else:
            r['reference'], r['reference_runs'] = download_kinds(
                ref.port, src, ref.images, runs, REFERENCE_HEADERS)
    finally:
        ref.stop()
    os.unlink(src)
    return r


def first_rows(r, args):
    ours, ref = r['ours'], r['reference'] or {}
    rows = [('disk read, evicted file, %s' % name.replace('_', ' '),
             '%.0f MiB/s' % r['disk_%s_mibs' % name])
            for name in ('direct_1m', 'direct_8m', 'buffered_1m',
                         'buffered_1m_sequential', 'buffered_4m_sequential')]
    rows.append(('disk read, file just written, direct 1m',
                 '%.0f MiB/s' % r['disk_fresh_direct_1m_mibs']))
    rows.append(('disk read, file just written, buffered 1m sequential',
                 '%.0f MiB/s' % r['disk_fresh_buffered_1m_sequential_mibs']))
    if r['nginx_warm_mibs'] is not None:
        rows.append(('nginx sendfile, page cache',
                     '%.0f MiB/s' % r['nginx_warm_mibs']))
    for kind, label in (('upload', 'upload'),
                        ('first', 'GET right after upload'),
                        ('cold', 'GET, file not cached'),
                        ('warm', 'GET, page cache'),
                        ('range', 'GET Range half, page cache')):
        rows.append(('%s %d MiB: ours / Glance 15' % (
            label, args.first_image // MiB), '%.0f / %s MiB/s' % (
                ours[kind], '%.0f' % ref[kind] if kind in ref else '-')))
    rows.append(('upload, then GET at once: ours / Glance 15',
                 '%.2f / %s s' % (ours['upload_then_first_s'], '%.2f' % ref[
                     'upload_then_first_s'] if ref else '-')))
    rows.append(('peak RSS over these (ours)',
                 '%.1f MiB' % r['ours_peak_rss_mib']))
    return rows


def first_verdicts(r):
    ours, ref = r['ours'], r['reference']
    direct = r['disk_direct_1m_mibs']
    checks = []
    for kind in ('first', 'cold', 'warm', 'range'):
        checks.append((
            '%s GET >= Glance 15 %s GET' % (kind, kind),
            '%.0f vs %.0f MiB/s' % (ours[kind], ref[kind]) if ref
            else r['reference_error'],
            ours[kind] >= ref[kind] if ref else None))
    fresh = r['disk_fresh_direct_1m_mibs']
    checks.append(('GET right after upload >= 0.9 x direct read of a '
                   'file just written',
                   '%.0f vs %.0f MiB/s' % (ours['first'], 0.9 * fresh),
                   ours['first'] >= 0.9 * fresh))
    checks.append(('cold GET >= 0.9 x disk direct read',
                   '%.0f vs %.0f MiB/s' % (ours['cold'], 0.9 * direct),
                   ours['cold'] >= 0.9 * direct))
    nginx = r['nginx_warm_mibs']
    checks.append(('page-cache GET >= 0.7 x nginx sendfile',
                   '%.0f vs %.0f MiB/s' % (ours['warm'], 0.7 * nginx)
                   if nginx else 'nginx not installed',
                   ours['warm'] >= 0.7 * nginx if nginx else None))
    checks.append(('peak RSS over the downloads < 100 MiB',
                   '%.1f MiB' % r['ours_peak_rss_mib'],
                   r['ours_peak_rss_mib'] < 100))
    return checks


# -- section "herd": a thousand slow downloads at once (issue 17, 2) ----------

def herd_client(spec):
    """The herd, run in a process of its own (``--herd-client``):
    ``clients`` connections GET ``path`` at once, client i reading at
    most its own rate (spread evenly from ``min_rate`` to ``max_rate``
    MiB/s) with a token bucket, each hashing what it receives (xxh3, far
    faster than the reading). Prints the outcome as JSON."""
    import heapq
    import resource
    import selectors

    import xxhash

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = spec['clients']
    lo, hi = spec['min_rate'] * MiB, spec['max_rate'] * MiB
    request = ('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'
               '\r\n' % spec['path']).encode()
    sel = selectors.DefaultSelector()
    buf = memoryview(bytearray(256 * 1024))
    # Each client may get this far ahead of its rate (a burst).
    burst = 256 * 1024
    least = 64 * 1024
    clients = []
    start = time.perf_counter()
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(('127.0.0.1', spec['port']))
        c = {'i': i, 'sock': s, 'rate': lo + (hi - lo) * i / max(1, n - 1),
             'head': b'', 'length': None, 'got': 0, 'status': None,
             'hash': xxhash.xxh3_128(), 'begun': None, 'ended': None,
             'error': None}
        clients.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)
    sleeping = []
    left = n

    def finish(c, error=None):
        nonlocal left
        c['ended'] = time.perf_counter()
        c['error'] = error
        sel.unregister(c['sock'])
        c['sock'].close()
        c['hash'] = c['hash'].hexdigest()
        left -= 1

    while left:
        now = time.perf_counter()
        while sleeping and sleeping[0][0] <= now:
            _, i = heapq.heappop(sleeping)
            sel.register(clients[i]['sock'], selectors.EVENT_READ,
                         clients[i])
        timeout = max(0, sleeping[0][0] - now) if sleeping else None
        for key, events in sel.select(timeout):
            c = key.data
            s = c['sock']
            if events & selectors.EVENT_WRITE:
                try:
                    s.sendall(request)
                except OSError as e:
                    finish(c, 'send: %s' % e)
                    continue
                sel.modify(s, selectors.EVENT_READ, c)
                continue
            now = time.perf_counter()
            want = len(buf)
            if c['begun'] is not None:
                allowed = int(c['rate'] * (now - c['begun'])) + burst - \
                    c['got']
                if allowed < least:
                    sel.unregister(s)
                    heapq.heappush(sleeping, (
                        c['begun'] + (c['got'] + least - burst) / c['rate'],
                        c['i']))
                    continue
                want = min(want, allowed)
            try:
                got = s.recv_into(buf, want)
            except OSError as e:
                finish(c, 'recv: %s' % e)
                continue
            if not got:
                finish(c, None if c['length'] == c['got'] else
                       'closed after %d of %s bytes' % (c['got'],
                                                        c['length']))
                continue
            data = buf[:got]
            if c['length'] is None:
                c['head'] += bytes(data)
                end = c['head'].find(b'\r\n\r\n')
                if end < 0:
                    continue
                head, data = c['head'][:end], memoryview(c['head'][end + 4:])
                c['status'] = int(head.split(b' ', 2)[1])
                for line in head.split(b'\r\n')[1:]:
                    name, _, value = line.partition(b':')
                    if name.strip().lower() == b'content-length':
                        c['length'] = int(value)
                c['begun'] = now
                if c['length'] is None:
                    finish(c, 'no Content-Length (status %d)' % c['status'])
                    continue
            c['hash'].update(data)
            c['got'] += len(data)
    elapsed = time.perf_counter() - start
    done = [c for c in clients if c['error'] is None and c['status'] == 200
            and c['got'] == spec['size'] and c['hash'] == spec['digest']]
    errors = [c['error'] or 'status %s, %d bytes, %s' % (
        c['status'], c['got'], 'hash ok' if c['hash'] == spec['digest']
        else 'hash differs') for c in clients if c not in done]
    achieved = [c['got'] / MiB / (c['ended'] - c['begun'])
                for c in done]
    nominal = [c['rate'] / MiB for c in clients]
    print(json.dumps({
        'clients': n, 'exact': len(done), 'errors': errors[:10],
        'error_count': len(errors), 'elapsed_s': elapsed,
        'bytes': sum(c['got'] for c in clients),
        'sum_achieved_mibs': sum(achieved),
        'sum_nominal_mibs': sum(nominal),
        'achieved_over_nominal_min': min(
            (c['got'] / (c['ended'] - c['begun'])) / c['rate']
            for c in done) if done else 0,
        'first_byte_s_max': max(
            (c['begun'] - start for c in clients if c['begun']),
            default=None),
    }))


class Sampler:
    """Samples a process's RSS and native threads every ``every``
    seconds while running; the maxima are kept."""

    def __init__(self, pid, every=0.2):
        self.pid = pid
        self.every = every
        self.rss_mib = self.threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                with open('/proc/%d/status' % self.pid) as f:
                    for line in f:
                        if line.startswith('VmRSS:'):
                            self.rss_mib = max(self.rss_mib,
                                               int(line.split()[1]) / 1024)
                        elif line.startswith('Threads:'):
                            self.threads = max(self.threads,
                                               int(line.split()[1]))
            except OSError:
                return
            self._stop.wait(self.every)

    def stop(self):
        self._stop.set()
        self._thread.join()


class Prober:
    """HEAD of an image and a list, alternately every ``every`` seconds
    on one keep-alive connection, while running; p50/p95 in ms."""

    def __init__(self, port, image_id, every=0.02):
        self.port = port
        self.image_id = image_id
        self.every = every
        self.times = {'HEAD': [], 'list': []}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        conn = connect(self.port)
        asks = (('HEAD', 'HEAD', '/v1/images/%s' % self.image_id),
                ('list', 'GET', '/v1/images?limit=25'))
        i = 0
        while not self._stop.is_set():
            name, method, path = asks[i % 2]
            i += 1
            begun = time.perf_counter()
            conn.request(method, path)
            resp = conn.getresponse()
            resp.read()
            self.times[name].append((time.perf_counter() - begun) * 1000)
            self._stop.wait(self.every)
        conn.close()

    def stop(self):
        self._stop.set()
        self._thread.join()
        out = {}
        for name, times in self.times.items():
            times = sorted(times)
            out[name] = (times[len(times) // 2],
                         times[max(0, int(len(times) * 0.95) - 1)],
                         len(times)) if times else (None, None, 0)
        return out


def run_herd_clients(port, path, args, size, digest):
    spec = {'port': port, 'path': path, 'clients': args.herd_clients,
            'size': size, 'digest': digest, 'min_rate': 1, 'max_rate': 8}
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--herd-client',
         json.dumps(spec)], stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(done.stdout)


def run_herd(args, work):
    """Section "herd": ``herd_clients`` downloads of one image at once
    from one glance-api process (workers = 0), by clients reading at
    1-8 MiB/s, beside the same herd served by nginx."""
    import xxhash

    r = {}
    src = os.path.join(work, 'herd.bin')
    make_file(src, args.herd_image)
    digest = xxhash.xxh3_128()
    with open(src, 'rb') as f:
        for block in iter(lambda: f.read(BLOCK), b''):
            digest.update(block)
    digest = digest.hexdigest()
    n = args.herd_clients
    print('herd of %d against nginx ...' % n, flush=True)
    r['nginx'] = with_nginx(
        src, work, 'the herd against nginx',
        lambda port, path: run_herd_clients(port, path, args,
                                            args.herd_image, digest),
        connections=n + 64)
    print('herd of %d against glance-api ...' % n, flush=True)
    # Room for the herd and the probes beside it in the one process.
    api = Api(os.path.join(work, 'herd-api'),
              extra='wsgi_default_pool_size = %d\n' % (n + 64))
    try:
        warm_up(api.port, work)
        image_id, _ = upload(api.port, src, chunked=False)
        path = '/v1/images/%s' % image_id
        download(api.port, path)  # into the page cache
        r['idle_probe'] = Prober(api.port, image_id)
        time.sleep(3)
        r['idle_probe'] = r['idle_probe'].stop()
        with open('/proc/%d/status' % api.proc.pid) as f:
            r['rss_before_mib'] = next(
                int(line.split()[1]) / 1024 for line in f
                if line.startswith('VmRSS:'))
        api.reset_peak_rss()
        sampler = Sampler(api.proc.pid)
        probe = Prober(api.port, image_id)
        try:
            r['ours'] = run_herd_clients(api.port, path, args,
                                         args.herd_image, digest)
        finally:
            r['probe'] = probe.stop()
            sampler.stop()
        r['peak_rss_mib'] = api.peak_rss_mib()
        r['max_threads'] = sampler.threads
    finally:
        api.stop()
    os.unlink(src)
    return r


def herd_rows(r, args):
    rows = []
    for name, key in (('nginx', 'nginx'), ('glance_v1', 'ours')):
        h = r[key]
        if h is None:
            continue
        rows.append(('herd %d x %d MiB at 1-8 MiB/s, %s' % (
            args.herd_clients, args.herd_image // MiB, name),
            '%d/%d exact, sum of rates %.0f of %.0f MiB/s, %.0f s' % (
                h['exact'], h['clients'], h['sum_achieved_mibs'],
                h['sum_nominal_mibs'], h['elapsed_s'])))
    rows.append(('glance-api RSS before / peak during',
                 '%.1f / %.1f MiB' % (r['rss_before_mib'],
                                      r['peak_rss_mib'])))
    rows.append(('glance-api native threads, most seen',
                 '%d' % r['max_threads']))
    for name in ('HEAD', 'list'):
        rows.append(('%s p50/p95 idle / during herd' % name,
                     '%.1f/%.1f / %.1f/%.1f ms (%d samples)' % (
                         r['idle_probe'][name][:2] + r['probe'][name])))
    return rows


def herd_verdicts(r):
    ours, nginx = r['ours'], r['nginx']
    checks = [
        ('herd: every download byte-exact and verified',
         '%d of %d' % (ours['exact'], ours['clients']),
         ours['exact'] == ours['clients']),
        ('herd: peak RSS <= 200 MiB', '%.1f MiB' % r['peak_rss_mib'],
         r['peak_rss_mib'] <= 200),
    ]
    take = nginx['sum_achieved_mibs'] if nginx else None
    checks.append((
        'herd: sum of rates >= 0.9 x what the clients take (nginx)',
        '%.0f vs %.0f MiB/s' % (ours['sum_achieved_mibs'], 0.9 * take)
        if take else 'nginx not installed',
        ours['sum_achieved_mibs'] >= 0.9 * take if take else None))
    for name in ('HEAD', 'list'):
        p95 = r['probe'][name][1]
        checks.append(('herd: %s p95 < 20 ms meanwhile' % name,
                       '%.1f ms' % p95, p95 < 20))
    return checks


def verdicts(r):
    floor = min(r['md5_mibs'], r['sha256_mibs'], r['write_fsync_mibs'])
    return [
        ('upload >= 0.9 x min(md5, sha256, write+fsync)',
         '%.0f vs %.0f MiB/s' % (r['upload_mibs'], 0.9 * floor),
         r['upload_mibs'] >= 0.9 * floor),
        ('chunked upload >= 0.9 x min(...)',
         '%.0f vs %.0f MiB/s' % (r['upload_chunked_mibs'], 0.9 * floor),
         r['upload_chunked_mibs'] >= 0.9 * floor),
        ('download >= 0.7 x static server (%s)' % r['static_server'],
         '%.0f vs %.0f MiB/s' % (r['download_mibs'], 0.7 * r['static_mibs']),
         r['download_mibs'] >= 0.7 * r['static_mibs']),
        ('detail p50 at many images <= 1.5 x at 100',
         '%.2f vs %.2f ms' % (r['detail_many_ms'][0],
                              1.5 * r['detail_100_ms'][0]),
         r['detail_many_ms'][0] <= 1.5 * r['detail_100_ms'][0]),
        ('HEAD p50 <= 5 ms', '%.2f ms' % r['head_ms'][0],
         r['head_ms'][0] <= 5),
        ('1 KiB GET p50 <= 5 ms', '%.2f ms' % r['get_1k_ms'][0],
         r['get_1k_ms'][0] <= 5),
        ('list p50 <= 5 ms (100 / many)', '%.2f / %.2f ms' % (
            r['list_100_ms'][0], r['list_many_ms'][0]),
         max(r['list_100_ms'][0], r['list_many_ms'][0]) <= 5),
        ('metadata-only create >= 200/s', '%.0f/s' % r['create_per_s'],
         r['create_per_s'] >= 200),
        ('concurrent downloads >= 0.8 x one stream, 0 errors',
         '%.0f vs %.0f MiB/s, %d errors' % (
             r['concurrent_mibs'], 0.8 * r['one_stream_mibs'],
             r['concurrent_errors']),
         r['concurrent_mibs'] >= 0.8 * r['one_stream_mibs']
         and r['concurrent_errors'] == 0),
        ('peak RSS large within 5% of small, < 100 MiB',
         '%.1f vs %.1f MiB' % (r['rss_large_mib'], r['rss_small_mib']),
         r['rss_large_mib'] <= 1.05 * r['rss_small_mib']
         and r['rss_large_mib'] < 100),
    ]


def base_rows(r, args):
    return [
        ('md5, one core', '%.0f MiB/s' % r['md5_mibs']),
        ('sha256, one core', '%.0f MiB/s' % r['sha256_mibs']),
        ('store disk write+fsync', '%.0f MiB/s' % r['write_fsync_mibs']),
        ('receive+hash floor (no HTTP, no disk)',
         '%.0f MiB/s' % r['receive_hash_mibs']),
        ('receive+hash+write floor (no HTTP)',
         '%.0f MiB/s' % r['receive_hash_write_mibs']),
        ('upload %d MiB, Content-Length' % (args.small_image // MiB),
         '%.0f MiB/s' % r['upload_mibs']),
        ('upload, chunked', '%.0f MiB/s' % r['upload_chunked_mibs']),
        ('download', '%.0f MiB/s' % r['download_mibs']),
        ('static server (%s)' % r['static_server'],
         '%.0f MiB/s' % r['static_mibs']),
        ('one stream of %d MiB' % (args.stream_image // MiB),
         '%.0f MiB/s' % r['one_stream_mibs']),
        ('%d concurrent downloads of it' % args.streams,
         '%.0f MiB/s, %d errors' % (r['concurrent_mibs'],
                                    r['concurrent_errors'])),
        ('HEAD p50/p95', '%.2f / %.2f ms' % tuple(r['head_ms'])),
        ('1 KiB GET p50/p95', '%.2f / %.2f ms' % tuple(r['get_1k_ms'])),
        ('list, 100 images p50/p95',
         '%.2f / %.2f ms' % tuple(r['list_100_ms'])),
        ('detail, 100 images p50/p95',
         '%.2f / %.2f ms' % tuple(r['detail_100_ms'])),
        ('list, %d images p50/p95' % args.many,
         '%.2f / %.2f ms' % tuple(r['list_many_ms'])),
        ('detail, %d images p50/p95' % args.many,
         '%.2f / %.2f ms' % tuple(r['detail_many_ms'])),
        ('metadata-only create', '%.0f per second' % r['create_per_s']),
        ('peak RSS, %d MiB transfers' % (args.small_image // MiB),
         '%.1f MiB' % r['rss_small_mib']),
        ('peak RSS, %d MiB transfers' % (args.large_image // MiB),
         '%.1f MiB' % r['rss_large_mib']),
    ]


# Each section: what it runs, its table and its verdicts
# ((target, value, True/False, or None when its reference is missing)).
SECTIONS = {
    'base': (run_base, base_rows, lambda r, args: verdicts(r)),
    'first': (run_first, first_rows, lambda r, args: first_verdicts(r)),
    'herd': (run_herd, herd_rows, lambda r, args: herd_verdicts(r)),
    'metadata': (run_metadata, metadata_rows, metadata_verdicts),
    'swift': (run_swift, swift_rows, swift_verdicts),
}


def print_section(name, rows, checks, args):
    print()
    print('%s: measurements (%s)' % (name, 'quick' if args.quick
                                     else 'full'))
    width = max(len(row) for row, _ in rows)
    for row, value in rows:
        print('  %-*s  %s' % (width, row, value))
    print()
    print('%s: targets' % name)
    width = max(len(target) for target, _, _ in checks)
    for target, value, ok in checks:
        print('  %-*s  %-28s %s' % (width, target, value, {
            True: 'PASS', False: 'FAIL', None: 'SKIP'}[ok]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='smaller sizes; under two minutes')
    parser.add_argument('--json', default='bench-results.json',
                        help='where to write the results')
    parser.add_argument('--workdir', default=None,
                        help='directory for the store and test files '
                             '(default: the system temp dir)')
    parser.add_argument('--sections', default=','.join(SECTIONS),
                        help='comma-separated sections to run, of: %s '
                             '(default: all)' % ', '.join(SECTIONS))
    parser.add_argument('--meta-images', type=int, default=None,
                        help='images in the registry of the metadata '
                             'section (default 1000000, 100000 with '
                             '--quick)')
    parser.add_argument('--meta-db', choices=('postgresql', 'mysql'),
                        default='postgresql',
                        help='the metadata section\'s database server: '
                             'PostgreSQL at $GLANCE_V1_BENCH_PG or '
                             'MySQL/MariaDB at $GLANCE_V1_BENCH_MYSQL')
    parser.add_argument('--herd-client', metavar='SPEC',
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.herd_client:
        herd_client(json.loads(args.herd_client))
        return 0
    sections = args.sections.split(',')
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error('unknown sections: %s' % ', '.join(sorted(unknown)))
    args.small_image = (256 if args.quick else 1024) * MiB
    args.large_image = (1024 if args.quick else 4096) * MiB
    args.many = 20000 if args.quick else 100000
    args.streams = 64
    args.stream_image = (16 if args.quick else 64) * MiB
    args.samples = 100 if args.quick else 300
    args.runs = 3
    # Issue 17: a fresh 1 GiB image; a thousand clients at once.
    args.first_image = (256 if args.quick else 1024) * MiB
    args.herd_clients = 200 if args.quick else 1000
    args.herd_image = (16 if args.quick else 64) * MiB
    args.meta_images = args.meta_images or (
        100000 if args.quick else 1000000)
    args.meta_samples = 50 if args.quick else 100
    args.swift_image = (256 if args.quick else 1024) * MiB
    # Sockets and files of a herd, in this process and its children.
    resource.setrlimit(resource.RLIMIT_NOFILE, (
        resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    results = {'config': vars(args), 'started': time.strftime('%FT%T'),
               'uptime': _load()}
    ok = True
    for name in sections:
        run_section, rows, checks = SECTIONS[name]
        work = tempfile.mkdtemp(prefix='glance-bench-', dir=args.workdir)
        try:
            r = results[name] = run_section(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        r['verdicts'] = [{'target': n, 'value': v, 'pass': p}
                         for n, v, p in checks(r, args)]
        print_section(name, rows(r, args), checks(r, args), args)
        ok = ok and all(p is not False for _, _, p in checks(r, args))
    print('\nload before and after: %s / %s' % (results['uptime'],
                                                 _load()))
    with open(args.json, 'w') as f:
        json.dump(results, f, indent=2, default=str)
    print('\nresults written to %s' % args.json)
    return 0 if ok else 1


def _load():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


if __name__ == '__main__':
    sys.exit(main())
