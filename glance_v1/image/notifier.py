"""Image events for other services over oslo.messaging (glance-v1-reference
§3, end): image.create, image.prepare, image.upload, image.activate,
image.update, image.delete, image.send, and image.upload/image.send at
``error`` level when they fail.

Off unless ``[oslo_messaging_notifications] driver`` names a driver
(``log``, ``messagingv2``, ...) and the process called ``setup()`` (the
API server does); the transport is built on the first event in each
process, never before the workers fork.
"""

import datetime
import logging

from oslo_config import cfg

LOG = logging.getLogger(__name__)

notifier_opts = [
    cfg.StrOpt('default_publisher_id', default='image.localhost',
               help='Publisher id of the image events.'),
]

CONF = cfg.CONF
CONF.register_opts(notifier_opts)

_HIDDEN = ('location', 'location_data', 'properties')
_SECRET_CONTEXT = ('auth_token', 'service_token')
# None until the server calls setup(); then a Notifier, or False when no
# driver is configured.
_notifier = None
_messaging = None


def setup():
    """Make events possible in this process (glance-api calls it before
    loading its pipeline). oslo.messaging is imported here, not with this
    module: it brings eventlet along, which tools and the scrubber, whose
    threads are native, must not import."""
    global _messaging
    if _messaging is not None:
        return
    import oslo_messaging
    from oslo_messaging import opts as messaging_opts
    # Registered now (not at the first event) so that a bad value stops
    # the service at start.
    for group, opts in messaging_opts.list_opts():
        if group == 'oslo_messaging_notifications':
            CONF.register_opts(opts, group=group)
    set_defaults()
    _messaging = oslo_messaging


def configured(conf=CONF):
    """Whether the parsed configuration names a driver other than noop,
    read without importing oslo.messaging: outside glance-api's eventlet
    server (mod_wsgi, uWSGI) that import would load eventlet through
    oslo.service for nothing, so setup() is called only when this holds.
    """
    probe = cfg.ConfigOpts()
    probe.register_opt(cfg.MultiStrOpt(
        'driver', default=[], deprecated_name='notification_driver',
        deprecated_group='DEFAULT'), group='oslo_messaging_notifications')
    probe(args=[], default_config_files=list(conf.config_file or []),
          default_config_dirs=list(conf.config_dir or []))
    return any(d != 'noop' for d in probe.oslo_messaging_notifications.driver)


def set_defaults():
    """The exchange the reference's consumers bind to (also for the
    sample generator)."""
    import oslo_messaging
    oslo_messaging.set_transport_defaults('glance')


def _get():
    global _notifier
    if _messaging is None:
        return False
    if _notifier is None:
        drivers = [d for d in CONF.oslo_messaging_notifications.driver
                   if d != 'noop']
        if not drivers:
            _notifier = False
        else:
            _notifier = _messaging.Notifier(
                _messaging.get_notification_transport(CONF),
                publisher_id=CONF.default_publisher_id,
                # Bounded: a broker that is down delays, never hangs, a
                # request.
                retry=2)
    return _notifier


def _primitive(value):
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%dT%H:%M:%S.%f')
    return value


def image_payload(image):
    """The image as the API shows it: never its store location."""
    payload = {k: _primitive(v) for k, v in image.items()
               if k not in _HIDDEN}
    payload['properties'] = dict(image.get('properties') or {})
    return payload


def _context(ctx):
    values = ctx.to_dict() if ctx is not None else {}
    return {k: v for k, v in values.items() if k not in _SECRET_CONTEXT}


def _emit(level, ctx, event_type, payload):
    notifier = _get()
    if not notifier:
        return
    try:
        getattr(notifier, level)(_context(ctx), event_type, payload)
    except Exception:
        # An unreachable broker must not fail the image operation.
        LOG.exception('Could not send %s notification', event_type)


def info(ctx, event_type, image):
    _emit('info', ctx, event_type, image_payload(image))


def error(ctx, event_type, message):
    _emit('error', ctx, event_type, message)


def sent(ctx, image, bytes_sent, expected, destination_ip):
    """image.send once a download ends; ``error`` level when short."""
    payload = {'bytes_sent': bytes_sent, 'image_id': image['id'],
               'owner_id': image.get('owner'),
               'receiver_tenant_id': getattr(ctx, 'project_id', None),
               'receiver_user_id': getattr(ctx, 'user_id', None),
               'destination_ip': destination_ip}
    _emit('info' if bytes_sent >= expected else 'error', ctx, 'image.send',
          payload)
