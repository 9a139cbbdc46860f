"""Advisories of the v1 security history (glance-v1-reference §14) that
are best pinned below HTTP; the others are in
tests/functional/test_security_history.py (see doc/security.rst)."""

import ast
import os

from glance_v1.common import exception
from glance_v1.image import upload
from tests import base

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'glance_v1')


class _ExpiringToken:
    """A registry whose caller's token expires during the upload: the
    final update (activation) is refused with 401."""

    def __init__(self, registry):
        self.registry = registry

    def __getattr__(self, name):
        return getattr(self.registry, name)

    def image_update(self, ctx, image_id, values, **kw):
        if values.get('status') == 'active':
            raise exception.NotAuthenticated()
        return self.registry.image_update(ctx, image_id, values, **kw)


class TestUploadAdvisories(base.StoreTestCase):

    def test_ossa_2015_020_token_expiry_deletes_data(self):
        image = self.registry.image_create(self.ctx, {
            'disk_format': 'raw', 'container_format': 'bare'})
        body = upload.Body(_BytesStream(b'z' * 10000), 10000,
                           'application/octet-stream')
        self.assertRaises(exception.NotAuthenticated, upload.upload,
                          self.ctx, _ExpiringToken(self.registry), image,
                          body)
        # The bytes were written, then removed: nothing counts against
        # the owner's quota that no image record accounts for.
        self.assertEqual([], [f for _, _, fs in os.walk(self.datadir)
                              for f in fs])
        self.assertEqual('saving', self.registry.image_get(
            self.admin, image['id'])['status'])


class _BytesStream:

    def __init__(self, data):
        self.data = data

    def read(self, n):
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


class TestNoAssert(base.TestCase):

    def test_ossn_0048_no_assert_in_the_service(self):
        # ``python -O`` strips assert statements: no check of the service
        # may rely on one (the cache middleware's method check did).
        found = []
        for root, _dirs, files in os.walk(PACKAGE):
            for name in files:
                if not name.endswith('.py'):
                    continue
                path = os.path.join(root, name)
                with open(path) as f:
                    tree = ast.parse(f.read(), path)
                found.extend('%s:%d' % (os.path.relpath(path, PACKAGE),
                                        node.lineno)
                             for node in ast.walk(tree)
                             if isinstance(node, ast.Assert))
        self.assertEqual([], found)
