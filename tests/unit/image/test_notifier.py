"""Image events are off unless a driver is configured, and never carry a
store location or a token (reference §3, end)."""

import datetime
import os

import fixtures
from oslo_config import cfg
import testtools

from glance_v1.common import context
from glance_v1.image import notifier


class TestNotifier(testtools.TestCase):

    def test_off_until_set_up(self):
        # Tools and the scrubber never call setup(): no oslo.messaging,
        # hence no eventlet, in their processes.
        self.assertIsNone(notifier._messaging)
        self.assertFalse(notifier._get())

    def test_configured_read_without_oslo_messaging(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        for text, expected in [
                ('', False),
                ('[oslo_messaging_notifications]\ndriver = noop\n', False),
                ('[oslo_messaging_notifications]\ndriver = log\n', True),
                ('[DEFAULT]\nnotification_driver = messagingv2\n', True)]:
            path = os.path.join(tmp, 'glance-api.conf')
            with open(path, 'w') as f:
                f.write(text)
            conf = cfg.ConfigOpts()
            conf(['--config-file', path], default_config_files=[])
            self.assertEqual(expected, notifier.configured(conf), text)

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
