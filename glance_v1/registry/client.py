"""The HTTP registry client: the registry interface of ``local.py``, served
by a glance-registry process (``registry_backend = remote``).

The caller's identity travels as in the reference: its token
(``use_user_token``) and, for a trusted-auth registry, the identity
headers (``send_identity_headers``). The registry decides visibility and
ownership from them; this client decides nothing.
"""

import http.client
import logging
import ssl
import urllib.parse

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1.registry import wire

LOG = logging.getLogger(__name__)

registry_client_opts = [
    cfg.HostAddressOpt('registry_host', default='0.0.0.0',
                       help='Address of the glance-registry service.'),
    cfg.PortOpt('registry_port', default=9191,
                help='Port of the glance-registry service.'),
    cfg.StrOpt('registry_client_protocol', default='http',
               choices=('http', 'https'),
               help='Protocol spoken to glance-registry.'),
    cfg.StrOpt('registry_client_key_file',
               help='Client private key (PEM) for https.'),
    cfg.StrOpt('registry_client_cert_file',
               help='Client certificate (PEM) for https.'),
    cfg.StrOpt('registry_client_ca_file',
               help='CA bundle that verifies the registry\'s certificate; '
                    'the system CAs when unset.'),
    cfg.BoolOpt('registry_client_insecure', default=False,
                help='Do not verify the registry\'s certificate.'),
    cfg.IntOpt('registry_client_timeout', default=600, min=0,
               help='Seconds to wait for glance-registry; 0 waits '
                    'forever.'),
    cfg.BoolOpt('use_user_token', default=True,
                help='Forward the caller\'s X-Auth-Token to the registry.'),
    cfg.BoolOpt('send_identity_headers', default=False,
                help='Send X-Identity-Status/X-User-Id/X-Tenant-Id/X-Roles '
                     'so that a trusted-auth registry knows the caller.'),
]

CONF = cfg.CONF
CONF.register_opts(registry_client_opts)


def identity_headers(ctx):
    headers = {}
    if ctx.request_id:
        headers['X-Openstack-Request-ID'] = ctx.request_id
    if CONF.use_user_token and ctx.auth_token:
        headers['X-Auth-Token'] = ctx.auth_token
    if CONF.send_identity_headers and (ctx.user_id or ctx.project_id
                                       or ctx.roles):
        # An anonymous (read-only, identity-less) caller sends nothing,
        # so the registry cannot mistake it for a confirmed one.
        headers.update({
            'X-Identity-Status': 'Confirmed',
            'X-User-Id': ctx.user_id or '',
            'X-Tenant-Id': ctx.project_id or '',
            'X-Roles': ','.join(ctx.roles or ()),
        })
    return headers


def _quote(value):
    return urllib.parse.quote(value or '', safe='')


class RegistryClient:

    def __init__(self):
        self.host = CONF.registry_host
        self.port = CONF.registry_port
        self.timeout = CONF.registry_client_timeout or None
        self.ssl_context = None
        if CONF.registry_client_protocol == 'https':
            self.ssl_context = self._ssl_context()

    @staticmethod
    def _ssl_context():
        context = ssl.create_default_context(
            cafile=CONF.registry_client_ca_file)
        if CONF.registry_client_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if CONF.registry_client_cert_file:
            context.load_cert_chain(CONF.registry_client_cert_file,
                                    CONF.registry_client_key_file)
        return context

    def _connection(self):
        if self.ssl_context is not None:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout,
                context=self.ssl_context)
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.timeout)

    def _call(self, ctx, method, path, body=None, params=None,
              headers=None):
        """The decoded JSON answer (None for an empty one); an error
        answer raises the exception the registry raised."""
        if params:
            path += '?' + urllib.parse.urlencode(params)
        hdrs = {'Accept': 'application/json'}
        hdrs.update(identity_headers(ctx))
        hdrs.update(headers or {})
        data = None
        if body is not None:
            data = wire.dumps(body).encode('utf-8')
            hdrs['Content-Type'] = 'application/json'
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as e:
            LOG.error('Registry %s %s failed: %s', method, path, e)
            raise exception.ServiceUnavailable(
                'The image registry service is unavailable; try again '
                'later.')
        finally:
            conn.close()
        if resp.status >= 400:
            raise self._error(resp, payload)
        if not payload:
            return None
        try:
            return wire.loads(payload)
        except exception.Invalid:
            LOG.error('Registry %s %s answered malformed JSON', method, path)
            raise exception.GlanceException(
                'The image registry answered malformed JSON.')

    @staticmethod
    def _error(resp, payload):
        message = None
        try:
            message = wire.loads(payload).get('message')
        except (exception.Invalid, AttributeError):
            pass
        if not message:
            message = 'Registry answered %d' % resp.status
        return wire.exception_for(resp.status,
                                  resp.getheader(wire.ERROR_HEADER),
                                  message)

    def _image(self, answer):
        return wire.image_from_wire(answer['image'])

    # -- images ---------------------------------------------------------

    def image_get(self, ctx, image_id):
        return self._image(self._call(ctx, 'GET',
                                      '/images/%s' % _quote(image_id)))

    def image_create(self, ctx, values):
        return self._image(self._call(ctx, 'POST', '/images',
                                      body={'image': values}))

    def image_update(self, ctx, image_id, values, purge_props=False,
                     from_state=None):
        headers = {}
        if purge_props:
            headers[wire.PURGE_PROPS_HEADER] = 'true'
        return self._image(self._call(
            ctx, 'PUT', '/images/%s' % _quote(image_id),
            body={'image': values, 'from_state': from_state},
            headers=headers))

    def image_destroy(self, ctx, image_id, status='deleted',
                      location_status='deleted'):
        return self._image(self._call(
            ctx, 'DELETE', '/images/%s' % _quote(image_id),
            params={'status': status, 'location_status': location_status}))

    def image_list(self, ctx, filters=None, marker=None, limit=None,
                   sort_key='created_at', sort_dir='desc'):
        params = wire.encode_list_query(filters, marker, limit, sort_key,
                                        sort_dir)
        answer = self._call(ctx, 'GET', '/images/detail', params=params)
        return [wire.image_from_wire(i) for i in answer['images']]

    # -- quota figures ----------------------------------------------------
    # The reference's API node read these from the database itself; here
    # they come from the registry, so an API node needs no database.

    def storage_usage(self, ctx, owner, exclude_image_id=None):
        params = {}
        if owner is not None:
            params['owner'] = owner
        if exclude_image_id:
            params['exclude_image_id'] = exclude_image_id
        return self._call(ctx, 'GET', '/storage-usage',
                          params=params)['usage']

    def image_member_count(self, ctx, image_id):
        return self._call(ctx, 'GET', '/images/%s/member-count'
                          % _quote(image_id))['count']

    # -- members --------------------------------------------------------

    def image_members(self, ctx, image_id):
        return self._call(ctx, 'GET', '/images/%s/members'
                          % _quote(image_id))['members']

    def image_member_get(self, ctx, image_id, member):
        return self._call(ctx, 'GET', '/images/%s/members/%s'
                          % (_quote(image_id), _quote(member)))['member']

    def image_members_replace(self, ctx, image_id, memberships):
        """``memberships``: member -> can_share (None keeps the flag)."""
        self._call(ctx, 'PUT', '/images/%s/members' % _quote(image_id),
                   body={'memberships': wire.encode_memberships(
                       memberships)})

    def image_member_add(self, ctx, image_id, member, can_share=None):
        body = None
        if can_share is not None:
            body = {'member': {'can_share': can_share}}
        self._call(ctx, 'PUT', '/images/%s/members/%s'
                   % (_quote(image_id), _quote(member)), body=body)

    def image_member_delete(self, ctx, image_id, member):
        self._call(ctx, 'DELETE', '/images/%s/members/%s'
                   % (_quote(image_id), _quote(member)))

    def shared_images(self, ctx, member):
        return self._call(ctx, 'GET', '/shared-images/%s'
                          % _quote(member))['shared_images']
