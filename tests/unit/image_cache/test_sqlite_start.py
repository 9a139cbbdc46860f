"""Several workers of one node opening the cache's SQLite file at the same
moment, as uWSGI's lazy-apps workers and Apache's daemons do."""

import multiprocessing
import os

from glance_v1.image_cache.drivers import sqlite
from tests import base

WORKERS = 4
ROUNDS = 100


def _open_rounds(base_dir, barrier, results):
    for round_ in range(ROUNDS):
        barrier.wait()
        try:
            sqlite.Driver(os.path.join(base_dir, '%d.db' % round_))
        except Exception as exc:
            results.put('round %d: %r' % (round_, exc))
        else:
            results.put(None)


class TestConcurrentStart(base.TestCase):

    def test_every_worker_opens_a_new_file(self):
        # Before the WAL switch waited for its lock, about one round in
        # twenty failed here with "database is locked".
        ctx = multiprocessing.get_context('spawn')
        barrier = ctx.Barrier(WORKERS, timeout=60)
        results = ctx.Queue()
        workers = [ctx.Process(target=_open_rounds,
                               args=(self.tmp, barrier, results))
                   for _ in range(WORKERS)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120)
                    for _ in range(WORKERS * ROUNDS)]
        for worker in workers:
            worker.join(timeout=30)
            self.assertEqual(0, worker.exitcode)
        self.assertEqual([], [o for o in outcomes if o])
        driver = sqlite.Driver(os.path.join(self.tmp, '0.db'))
        self.assertEqual([], driver.entries())
