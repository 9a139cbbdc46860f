"""A pool of native threads: at most its size, whatever is submitted."""

import threading

from glance_v1.common import threads
from tests import base


class TestPool(base.TestCase):

    def test_bounded_and_every_call_done(self):
        pool = threads.Pool(2, 'test')
        gate = threading.Event()
        seen = set()

        def work(i):
            gate.wait(10)
            seen.add(threading.current_thread().name)
            return i * 2
        jobs = [pool.submit(work, i) for i in range(10)]
        self.assertEqual(2, len(pool._threads))
        self.assertFalse(any(job.done() for job in jobs))
        gate.set()
        self.assertEqual([i * 2 for i in range(10)],
                         [job.wait() for job in jobs])
        self.assertEqual({'test-0', 'test-1'}, seen)

    def test_error_is_raised_by_wait(self):
        job = threads.Pool(1, 'test').submit(int, 'x')
        self.assertRaises(ValueError, job.wait)
