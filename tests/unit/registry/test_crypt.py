"""metadata_encryption_key: locations encrypted at rest (§4)."""

import sqlalchemy as sa

from glance_v1.common import exception
from glance_v1.registry import api as registry_api
from glance_v1.registry import crypt
from glance_v1.registry.db import session
from tests import base

KEY = '0123456789abcdef0123456789abcdef'
URL = 'http://user:secret@example.com/image'


class TestCrypt(base.TestCase):

    def test_round_trip(self):
        for key in (KEY[:16], KEY[:24], KEY):
            sealed = crypt.encrypt(key, URL)
            self.assertNotIn('secret', sealed)
            self.assertEqual(URL, crypt.decrypt(key, sealed))

    def test_random_nonce(self):
        self.assertNotEqual(crypt.encrypt(KEY, URL), crypt.encrypt(KEY, URL))

    def test_plain_values_pass(self):
        self.assertEqual(URL, crypt.decrypt(KEY, URL))
        self.assertIsNone(crypt.decrypt(KEY, None))

    def test_tampering_detected(self):
        sealed = crypt.encrypt(KEY, URL)
        tampered = sealed[:-6] + ('A' if sealed[-6] != 'A' else 'B') + \
            sealed[-5:]
        self.assertRaises(exception.GlanceException, crypt.decrypt, KEY,
                          tampered)
        self.assertRaises(exception.GlanceException, crypt.decrypt, KEY[::-1],
                          crypt.encrypt(KEY, URL))

    def test_bad_key_length(self):
        self.assertRaises(exception.GlanceException, crypt.encrypt,
                          'short', URL)


class TestEncryptingRegistry(base.DatabaseTestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(metadata_encryption_key=KEY)
        registry_api.reset()
        self.registry = registry_api.get_registry()

    def _stored(self):
        with session.get_session() as sess:
            return [r[0] for r in sess.execute(
                sa.text('SELECT value FROM image_locations'))]

    def test_create_update_read(self):
        ctx = base.admin_ctx()
        image = self.registry.image_create(ctx, {'location': URL,
                                                 'status': 'active'})
        self.assertEqual(URL, image['location'])
        self.assertEqual(URL, image['location_data'][0]['url'])
        (stored,) = self._stored()
        self.assertNotIn('example.com', stored)
        self.assertEqual(URL, self.registry.image_get(
            ctx, image['id'])['location'])
        listed = self.registry.image_list(ctx, {'is_public': None})
        self.assertEqual([URL], [i['location'] for i in listed])
        other = URL.replace('image', 'other')
        image = self.registry.image_update(ctx, image['id'],
                                           {'location': other})
        self.assertEqual(other, image['location'])
        self.assertTrue(all('example.com' not in v for v in self._stored()))
