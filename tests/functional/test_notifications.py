"""Image events (reference §3, end) through oslo.messaging: the ``log``
driver (needs nothing) and ``messagingv2`` over a real RabbitMQ."""

import json
import os
import queue
import re
import socket
import uuid

from oslo_config import cfg
import testtools

from tests.functional import base
from tests.functional import server

RABBIT = ('127.0.0.1', 5672)
RABBIT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'
IMAGE_KEYS = {'id', 'name', 'status', 'size', 'checksum', 'owner',
              'disk_format', 'container_format', 'is_public', 'properties',
              'created_at', 'updated_at'}
LOG_EVENT = re.compile(
    r'(?:INFO|ERROR) oslo\.messaging\.notification\.(\S+) \[[^\]]*\] '
    r'(\{.*\})')


class EventsMixin:
    """The lifecycle every test drives, and what it must announce."""

    def lifecycle(self):
        who = base.identity(tenant='t-events', user='u-events')
        resp = self.create(who, body=b'y' * 2048,
                           extra={'x-image-meta-property-k': 'v'})
        self.assertEqual(201, resp.status)
        image_id = resp.json['image']['id']
        path = '/v1/images/%s' % image_id
        self.assertEqual(200, self.request('GET', path, who).status)
        self.assertEqual(200, self.request(
            'PUT', path, dict(who, **{'x-image-meta-name': 'renamed'}),
        ).status)
        self.assertEqual(200, self.request('DELETE', path, who).status)
        # An upload that fails: declared size does not match.
        failed = self.create(who, body=b'z' * 10,
                             extra={'x-image-meta-size': '11'})
        self.assertEqual(400, failed.status)
        return image_id

    def check_events(self, events, image_id):
        """``events``: (priority, event_type, payload) in order."""
        mine = [(p.upper(), t, body) for p, t, body in events
                if isinstance(body, dict)
                and image_id in (body.get('id'), body.get('image_id'))]
        # image.send goes out once the download's last bytes are sent,
        # when the client may already have sent its next request, which
        # another worker (uWSGI, mod_wsgi) or thread can notify first.
        self.assertEqual(
            [('INFO', 'image.create'), ('INFO', 'image.prepare'),
             ('INFO', 'image.upload'), ('INFO', 'image.activate'),
             ('INFO', 'image.update'), ('INFO', 'image.update'),
             ('INFO', 'image.delete')],
            [(p, t) for p, t, _ in mine if t != 'image.send'])
        self.assertEqual([('INFO', 'image.send')],
                         [(p, t) for p, t, _ in mine if t == 'image.send'])
        payloads = {t: body for p, t, body in mine}
        for event_type in ('image.create', 'image.activate',
                           'image.delete'):
            payload = payloads[event_type]
            self.assertTrue(IMAGE_KEYS <= set(payload), payload)
            self.assertNotIn('location', payload)
            self.assertNotIn('location_data', payload)
        self.assertEqual('active', payloads['image.activate']['status'])
        self.assertEqual(2048, payloads['image.activate']['size'])
        self.assertEqual({'k': 'v'}, payloads['image.create']['properties'])
        self.assertEqual('deleted', payloads['image.delete']['status'])
        self.assertEqual({'bytes_sent': 2048, 'image_id': image_id,
                          'owner_id': 't-events',
                          'receiver_tenant_id': 't-events',
                          'receiver_user_id': 'u-events',
                          'destination_ip': '127.0.0.1'},
                         payloads['image.send'])
        errors = [body for p, t, body in events
                  if p.upper() == 'ERROR' and t == 'image.upload']
        self.assertEqual(1, len(errors), [e[:2] for e in events])
        self.assertIn('did not match', errors[0])


class TestLogDriver(EventsMixin, base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'oslo_messaging_notifications': {'driver': 'log'}}

    def test_events_in_log(self):
        image_id = self.lifecycle()
        events = []
        for line in self.api.read_log().splitlines():
            m = LOG_EVENT.search(line)
            if m:
                message = json.loads(m.group(2))
                events.append((message['priority'], message['event_type'],
                               message['payload']))
                self.assertEqual('image.localhost', message['publisher_id'])
        self.check_events(events, image_id)
        self.assertNotIn('token', self.api.read_log().lower().replace(
            'x-auth-token', ''))


class TestNoopByDefault(base.FunctionalTest):

    def test_no_events(self):
        self.assertEqual(201, self.create(body=b'x').status)
        self.assertNotIn('oslo.messaging.notification',
                         self.api.read_log())


def _rabbit_running():
    try:
        socket.create_connection(RABBIT, timeout=2).close()
        return True
    except OSError:
        return False


class _Collector:

    def __init__(self):
        self.events = queue.Queue()

    def _put(self, priority, event_type, payload):
        self.events.put((priority, event_type, payload))

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._put('INFO', event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._put('ERROR', event_type, payload)


class TestRabbitMQ(EventsMixin, base.FunctionalTest):

    flavor = 'trusted-auth'
    server_per_test = True

    def setUp(self):
        if not _rabbit_running():
            if os.environ.get('GLANCE_V1_REQUIRE_BACKENDS') == '1':
                self.fail('RabbitMQ is not running at %s:%d' % RABBIT)
            raise testtools.TestCase.skipException(
                'RabbitMQ is not running at %s:%d' % RABBIT)
        # Imported here: oslo.messaging loads oslo.service's eventlet
        # backend, which must stay out of the other tests' process.
        import oslo_messaging
        self.topic = 'glance-v1-test-%s' % uuid.uuid4().hex[:12]
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[])
        transport = oslo_messaging.get_notification_transport(
            conf, url=RABBIT_URL)
        self.addCleanup(transport.cleanup)
        self.collector = _Collector()
        listener = oslo_messaging.get_notification_listener(
            transport,
            [oslo_messaging.Target(topic=self.topic, exchange='glance')],
            [self.collector], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        super().setUp()

    def make_server(self):
        return server.ApiServer(flavor=self.flavor, conf={
            'DEFAULT': {'transport_url': RABBIT_URL},
            'oslo_messaging_notifications': {'driver': 'messagingv2',
                                             'topics': self.topic}})

    def test_events_over_rabbitmq(self):
        image_id = self.lifecycle()
        events = []
        while True:
            try:
                events.append(self.collector.events.get(timeout=5))
            except queue.Empty:
                break
            if len([e for e in events if e[1] == 'image.upload']) >= 2 \
                    and any(e[1] == 'image.delete' for e in events):
                break
        self.check_events(events, image_id)
