"""Keystone going away under a running glance-api: tokens it has already
validated keep working from its cache, others are refused with a 401 (no
500, no traceback), and all is well again once Keystone is back.

The class stops and starts a Keystone of its own (same tool, another
directory), so that the other classes keep theirs.
"""

import shutil
import tempfile
import time

from tests.keystone import base


class KeystoneOutageTest(base.KeystoneTest):

    @classmethod
    def setUpClass(cls):
        # Only when Keystone tests run at all (skips or fails as they do).
        base.keystone_settings()
        cls.own_dir = tempfile.mkdtemp(prefix='glance-v1-keystone-outage-')
        try:
            base.keystone_tool('start', cls.own_dir)
        except Exception:
            shutil.rmtree(cls.own_dir, ignore_errors=True)
            raise
        cls.keystone_base = cls.own_dir
        try:
            super().setUpClass()
        except Exception:
            cls.drop_keystone()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.drop_keystone()

    @classmethod
    def drop_keystone(cls):
        base.keystone_tool('stop', cls.own_dir, '--purge')

    def images(self, token):
        return self.request('GET', '/v1/images', self.as_user(token))

    def test_outage(self):
        seen = self.token('alpha-member')
        unseen = self.token('beta-member')
        self.assertEqual(200, self.images(seen).status)

        base.keystone_tool('stop', self.own_dir)
        self.addCleanup(self.bring_back)
        # Validated before: from keystonemiddleware's cache.
        self.assertEqual(200, self.images(seen).status)
        started = time.monotonic()
        resp = self.images(unseen)
        took = time.monotonic() - started
        self.assertEqual(401, resp.status, resp)
        self.assertEqual('Keystone uri="%s"' % self.keystone['auth_url'],
                         resp.header('www-authenticate'))
        self.assertNotIn(b'Traceback', resp.body)
        # keystonemiddleware's retries, not a hang.
        self.assertLess(took, 30)
        self.assertIn('Unable to validate token', self.read_log_since())

        self.bring_back()
        self.assertEqual(200, self.images(unseen).status)
        self.assertEqual(200, self.images(seen).status)

    def bring_back(self):
        # Does nothing when it runs already.
        base.keystone_tool('start', self.own_dir)

    def read_log_since(self):
        with open(self.api.log_file, errors='replace') as f:
            f.seek(self.log_offset)
            return f.read()
