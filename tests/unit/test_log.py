"""A forked process gets log handler locks of its own (under eventlet,
oslo.log's pipe locks would otherwise be shared with the parent)."""

import logging
import os

import testtools

from glance_v1.common import log


class TestForkedLocks(testtools.TestCase):

    def test_every_handler_gets_a_new_lock(self):
        handlers = [logging.StreamHandler(), logging.StreamHandler()]
        root = logging.getLogger()
        named = logging.getLogger('glance_v1.test-forked-locks')
        root.addHandler(handlers[0])
        named.addHandler(handlers[1])
        self.addCleanup(root.removeHandler, handlers[0])
        self.addCleanup(named.removeHandler, handlers[1])
        before = [h.lock for h in handlers]
        log.new_handler_locks()
        for old, handler in zip(before, handlers):
            self.assertIsNot(old, handler.lock)
            self.assertTrue(handler.lock.acquire(blocking=False))
            handler.lock.release()

    def test_runs_in_forked_children(self):
        handler = logging.StreamHandler()
        logging.getLogger().addHandler(handler)
        self.addCleanup(logging.getLogger().removeHandler, handler)
        os.register_at_fork(after_in_child=log.new_handler_locks)
        parent_lock = handler.lock
        pid = os.fork()
        if pid == 0:
            os._exit(0 if handler.lock is not parent_lock else 1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(0, os.waitstatus_to_exitcode(status))
