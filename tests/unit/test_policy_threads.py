"""Policy checks from several native threads at once, as a threaded WSGI
server (uWSGI, mod_wsgi) makes them: none may see the rules half
registered (under uWSGI, callers got 403 for add_image)."""

import threading
import time
from unittest import mock

from glance_v1.common import policy
from tests import base


class TestPolicyThreads(base.TestCase):

    def checks_at_once(self, count=8):
        ctx = base.ctx()
        start = threading.Barrier(count)
        results = []

        def check():
            start.wait()
            results.append(policy.check(ctx, 'add_image'))
        threads = [threading.Thread(target=check) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def test_first_checks_see_every_rule(self):
        register = policy._Enforcer.register_default

        def slow_register(enforcer, default):
            # Widens the window in which other threads check.
            time.sleep(0.002)
            return register(enforcer, default)
        with mock.patch.object(policy._Enforcer, 'register_default',
                               slow_register):
            self.assertEqual([True] * 8, self.checks_at_once())
