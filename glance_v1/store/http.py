"""Read-only http(s) store: images registered by URL (x-image-meta-location)
and the sources of x-glance-api-copy-from.

Redirects are followed by hand (at most ``MAX_REDIRECTS``) so that every
hop passes ``url_check``, the address policy of ``glance_v1.image.sources``
(a redirect to a private address is refused like the address itself).
"""

import logging
import urllib.parse

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1.store import base
from glance_v1.store import location

LOG = logging.getLogger(__name__)
MAX_REDIRECTS = 5

http_opts = [
    cfg.FloatOpt('http_store_timeout', default=60.0, min=1,
                 help='Seconds to wait for a remote http server.'),
    cfg.IntOpt('http_store_chunk_size', default=1024 * 1024, min=4096,
               help='Bytes read from a remote http server at a time.'),
]

CONF = cfg.CONF
CONF.register_opts(http_opts, group='glance_store')


def _refuse_all(url):
    raise exception.Invalid('External sources are not supported: %r'
                            % location.redact(url))


class HttpStore(base.Store):
    scheme = 'http'
    # Installed by glance_v1.image.sources; refusing everything until then
    # keeps a forgotten import from opening the store to any address.
    url_check = staticmethod(_refuse_all)

    def _request(self, method, url, headers=None, stream=False):
        """The final response after redirects; raises our exceptions."""
        # Imported on first use: glance_v1.image.sources loads this module
        # in every API process, requests costs ~4.6 MiB of resident memory.
        import requests
        # Image bytes as they are: no gzip layer that would change sizes.
        headers = dict(headers or {}, **{'Accept-Encoding': 'identity'})
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ('http', 'https') or not parts.hostname:
                raise exception.Invalid('The HTTP URL is invalid')
            HttpStore.url_check(url)
            try:
                resp = requests.request(
                    method, url, headers=headers, stream=stream,
                    allow_redirects=False,
                    timeout=self.conf.glance_store.http_store_timeout)
            except requests.RequestException as e:
                raise exception.StoreUnavailable(
                    reason='cannot reach %s (%s)' % (
                        location.redact(url), type(e).__name__))
            if resp.is_redirect:
                resp.close()
                url = urllib.parse.urljoin(url, resp.headers['Location'])
                continue
            if resp.status_code == 404:
                resp.close()
                raise exception.NotFound(
                    'HTTP datastore could not find image at URI.')
            if resp.status_code >= 500:
                resp.close()
                raise exception.StoreUnavailable(
                    reason='%s answered %d' % (location.redact(url),
                                               resp.status_code))
            if resp.status_code >= 400:
                resp.close()
                raise exception.Invalid('The HTTP URL is invalid')
            return resp
        raise exception.Invalid('The HTTP URL exceeded %d maximum '
                                'redirects.' % MAX_REDIRECTS)

    def add(self, image_id, chunks, size, verify):
        raise exception.StoreAddDisabled()

    def get_size(self, location_uri):
        resp = self._request('HEAD', location_uri)
        resp.close()
        try:
            return int(resp.headers.get('Content-Length', 0))
        except ValueError:
            return 0

    def get(self, location_uri, offset=0, length=None):
        headers = {}
        if offset or length is not None:
            end = '' if length is None else offset + length - 1
            headers['Range'] = 'bytes=%d-%s' % (offset, end)
        resp = self._request('GET', location_uri, headers, stream=True)
        size = int(resp.headers.get('Content-Length') or 0)
        if resp.status_code == 206:
            size = int(resp.headers['Content-Range'].rsplit('/', 1)[1])
        elif offset:
            # The server ignored the range: skip to the offset ourselves.
            return self._read(resp, offset), size
        return self._read(resp, 0), size

    def open(self, location_uri):
        """``(file-like body, declared length or None)`` for copy-from."""
        resp = self._request('GET', location_uri, stream=True)
        length = resp.headers.get('Content-Length')
        return resp.raw, int(length) if length and length.isdigit() else None

    def _read(self, resp, skip):
        chunk_size = self.conf.glance_store.http_store_chunk_size
        with resp:
            for chunk in resp.iter_content(chunk_size):
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                if chunk:
                    yield chunk

    def delete(self, location_uri):
        # The data belongs to someone else: deleting the image only
        # forgets the URL.
        return None
