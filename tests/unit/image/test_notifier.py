"""Image events are off unless a driver is configured, and never carry a
store location or a token (reference §3, end)."""

import datetime

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from glance_v1.common import context
from glance_v1.image import notifier


class TestNotifier(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.CONF))
        self.addCleanup(setattr, notifier, '_notifier', None)
        notifier._notifier = None

    def test_off_by_default(self):
        self.assertFalse(notifier._get())

    def test_noop_is_off(self):
        self.conf.config(driver=['noop'],
                         group='oslo_messaging_notifications')
        self.assertFalse(notifier._get())

    def test_payload_hides_location(self):
        payload = notifier.image_payload({
            'id': 'i', 'location': 'file:///secret/i',
            'location_data': [{'url': 'file:///secret/i'}],
            'created_at': datetime.datetime(2026, 1, 2, 3, 4, 5, 6),
            'properties': {'a': 'b'}})
        self.assertEqual({'id': 'i',
                          'created_at': '2026-01-02T03:04:05.000006',
                          'properties': {'a': 'b'}}, payload)

    def test_context_without_token(self):
        ctx = context.RequestContext(auth_token='secret', user_id='u',
                                     project_id='p', overwrite=False)
        values = notifier._context(ctx)
        self.assertNotIn('secret', repr(values))
        self.assertEqual(('u', 'p'), (values['user'], values['project_id']))
