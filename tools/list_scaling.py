"""How list time grows with the number of images.

Fills a SQLite database with N images (glance_v1.registry.db.bulk,
two properties and one location each), starts a real glance-api on it and
prints the median time of list requests, for each N given:

    python tools/list_scaling.py            # N = 100 and 100000
    python tools/list_scaling.py 100 1000000 --requests 50

Half of the images are public, the rest belong to a few tenants and have
no owner under noauth, so both the admin path and the visibility clause
are exercised. A page must cost the same order of time for any N: the
query filters, sorts and pages in SQL on indexed columns and loads the
properties of the page only.
"""

import argparse
import datetime
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from oslo_config import cfg  # noqa: E402

from glance_v1.registry.db import bulk  # noqa: E402
from glance_v1.registry.db import migration  # noqa: E402
from glance_v1.registry.db import session  # noqa: E402
from tests.functional import server  # noqa: E402

BATCH = 10000
QUERIES = (
    ('detail, default sort', '/v1/images/detail?limit=25'),
    ('detail, sort_key=name asc', '/v1/images/detail?limit=25'
                                  '&sort_key=name&sort_dir=asc'),
    ('detail, status filter', '/v1/images/detail?limit=25&status=active'),
    ('detail, property filter', '/v1/images/detail?limit=25'
                                '&property-os_distro=distro7'),
    ('brief, default sort', '/v1/images?limit=25'),
)


def synthetic_images(first, count, total):
    """Images ``first`` .. ``first + count - 1`` of a registry of
    ``total``: a tenth queued, one in fifty deleted, half public, a
    quarter owner-less, two properties (one shared by a tenth of the
    images, one unique) and a location each."""
    start = datetime.datetime(2020, 1, 1)
    for i in range(first, first + count):
        image_id = str(uuid.uuid4())
        created = start + datetime.timedelta(seconds=i)
        yield {
            'id': image_id, 'name': 'image-%07d' % (i * 7919 % total),
            'disk_format': 'raw', 'container_format': 'bare',
            'size': i, 'status': 'active' if i % 10 else 'queued',
            'is_public': i % 2 == 0,
            'owner': None if i % 4 == 1 else 'tenant%d' % (i % 7),
            'created_at': created, 'deleted': i % 50 == 0,
            'deleted_at': created if i % 50 == 0 else None,
            'properties': {'os_distro': 'distro%d' % (i % 10),
                           'kernel_id': image_id},
            'locations': ['file:///nonexistent/%s' % image_id]}


def fill(state_dir, count):
    os.makedirs(state_dir)
    cfg.CONF([], project='glance', default_config_files=[])
    cfg.CONF.set_override('connection', 'sqlite:///%s/glance.sqlite'
                          % state_dir, group='database')
    session.dispose()
    migration.upgrade()
    engine = session.get_engine()
    middle = None
    with engine.begin() as conn:
        for first in range(0, count, BATCH):
            images = list(synthetic_images(
                first, min(BATCH, count - first), count))
            if first <= count // 2 + 1 < first + len(images):
                middle = images[count // 2 + 1 - first]['id']
            bulk.insert_images(conn, images)
        bulk.analyze(conn)
    session.dispose()
    return middle


def get(port, path):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
    try:
        began = time.perf_counter()
        conn.request('GET', path)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - began
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError('%s -> %d %r' % (path, resp.status, body[:200]))
    return elapsed


def measure(count, requests):
    work = tempfile.mkdtemp(prefix='glance-v1-scaling-')
    try:
        state = os.path.join(work, 'state')
        began = time.perf_counter()
        middle = fill(state, count)
        print('%d images inserted in %.1f s' % (count,
                                               time.perf_counter() - began))
        api = server.ApiServer(state_dir=state)
        api.setUp()
        try:
            results = {}
            queries = QUERIES + (
                ('detail, marker mid-way', '/v1/images/detail?limit=25'
                                           '&marker=' + middle),)
            for label, path in queries:
                for _ in range(3):
                    get(api.port, path)
                times = [get(api.port, path) for _ in range(requests)]
                results[label] = statistics.median(times) * 1000
            return results
        finally:
            api.cleanUp()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('counts', nargs='*', type=int,
                        default=[100, 100000])
    parser.add_argument('--requests', type=int, default=30)
    args = parser.parse_args()
    table = {count: measure(count, args.requests) for count in args.counts}
    print('\np50 in ms (%d requests each)' % args.requests)
    print('%-28s' % 'query' + ''.join('%12d' % c for c in args.counts))
    for label in table[args.counts[0]]:
        print('%-28s' % label + ''.join('%12.1f' % table[c][label]
                                        for c in args.counts))


if __name__ == '__main__':
    main()
