"""External image sources: ``x-image-meta-location`` and
``x-glance-api-copy-from`` (glance-v1-reference §4, decisions "further" 5).

Only http(s) URLs are accepted. The reference's restricted schemes (file,
filesystem, swift+config) are refused, and so are all swift locations:
this project's swift locations are read with glance's own credentials
(like swift+config), so a user-supplied one would read any image of the
account. A URL whose host resolves to a loopback, link-local, private,
multicast, reserved or unspecified address is refused unless its host is
in ``allowed_external_hosts``; the same check runs again on every redirect
hop and when the data is fetched, so the store never talks to an address
the policy refuses.
"""

import ipaddress
import socket
import urllib.parse

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1 import store as store_api
from glance_v1.store import http as http_store
from glance_v1.store import location

source_opts = [
    cfg.ListOpt('allowed_external_hosts', default=[],
                help='Hosts (names, addresses or CIDR networks) that '
                     'x-image-meta-location and x-glance-api-copy-from may '
                     'name although they resolve to a loopback, '
                     'link-local, private or multicast address. Empty: '
                     'only public addresses.'),
]

CONF = cfg.CONF
CONF.register_opts(source_opts)

SCHEMES = ('http', 'https')
# The reference's RESTRICTED_URI_SCHEMAS, plus our swift schemes (above).
RESTRICTED = ('file', 'filesystem', 'swift', 'swift+config', 'swift+http',
              'swift+https')


def _unsupported(url):
    return exception.Invalid("External sources are not supported: '%s'"
                             % location.redact(url))


def _allowed(host, addresses):
    for entry in CONF.allowed_external_hosts:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host.lower():
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(a in network for a in addresses):
            return True
    return False


def _internal(address):
    return (address.is_loopback or address.is_link_local
            or address.is_private or address.is_multicast
            or address.is_reserved or address.is_unspecified)


def check_url(url):
    """Refuse (400) a URL this service must not fetch."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == 'https' else 80)
    except ValueError:
        raise exception.Invalid('The HTTP URL is invalid')
    if parts.scheme.lower() not in SCHEMES or not host:
        raise _unsupported(url)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise exception.Invalid('The HTTP URL is invalid')
    addresses = {ipaddress.ip_address(info[4][0].split('%', 1)[0])
                 for info in infos}
    if any(_internal(a) for a in addresses) and \
            not _allowed(host, addresses):
        raise exception.Invalid(
            "External source '%s' resolves to an internal address; an "
            "operator may allow its host in allowed_external_hosts"
            % location.redact(url))


http_store.HttpStore.url_check = staticmethod(check_url)


def validate(url):
    """The checks of §4 on a location or copy-from URL, before anything is
    stored: 400 for an empty, restricted, unknown or internal URL."""
    if url is None or not url.strip():
        raise exception.Invalid('External source should not be empty')
    url = url.strip()
    scheme = url.split('://', 1)[0].lower() if '://' in url else ''
    if scheme in RESTRICTED:
        raise _unsupported(url)
    if scheme not in SCHEMES:
        raise exception.Invalid('Invalid location %s' % location.redact(url))
    if not store_api.known_store(scheme):
        raise exception.UnknownScheme(scheme=scheme)
    check_url(url)
    return url


def remote_size(url, declared_size):
    """The size the remote server announces (HEAD); 404 when it has no
    such image, 409 when it contradicts a declared size."""
    size = store_api.get_store('http').get_size(url)
    if declared_size and size and declared_size != size:
        raise exception.Conflict(
            'Provided image size must match the stored image size. '
            '(provided size: %d, stored size: %d)' % (declared_size, size))
    return size


def open_source(url):
    """``(stream, length)`` of a copy-from source."""
    return store_api.get_store('http').open(url)
