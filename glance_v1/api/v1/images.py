"""The images resource: HTTP in, HTTP out. The rules live in
``glance_v1.image``."""

import functools
import json

from oslo_utils import strutils
import webob

from glance_v1.api.v1 import headers
from glance_v1.common import exception
from glance_v1.common import socket_body
from glance_v1.image import listing
from glance_v1.image import service
from glance_v1.image import upload

_BODY_ENCODINGS = ('chunked', 'compress', 'deflate', 'gzip', 'identity')


def _json_response(body, status=200, extra_headers=()):
    resp = webob.Response(status=status, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps(body)
    for name, value in extra_headers:
        resp.headers[name] = value
    return resp


def _body(req):
    """The request body as an upload Body, or None without one."""
    encoding = req.headers.get('Transfer-Encoding', '').lower()
    chunked = any(e.strip() in _BODY_ENCODINGS for e in encoding.split(','))
    length = req.content_length
    if not chunked and not length:
        return None
    if chunked and not req.environ.get('wsgi.input_terminated'):
        # The server did not say it ends the input where the body ends
        # (uWSGI without its chunked API, wsgiref, ...): what we read
        # would be nothing or the raw coding, never the image.
        raise exception.LengthRequired()
    stream = req.environ['wsgi.input']
    return upload.Body(stream, None if chunked else length,
                       req.headers.get('Content-Type'),
                       direct=functools.partial(socket_body.SocketBody.of,
                                                req.environ))


def _close_after_error(req):
    """An upload refused before (or while) its body is read: the server
    closes the connection after the answer instead of waiting for the
    rest of the body, which a client may only send after reading it.
    (mod_wsgi reads every body in full before the application runs; its
    Apache hook refuses a declared size over the cap instead.)"""
    close = req.environ.get('glance.close_connection')
    if close is not None:
        close()


def _parse_range(req, size):
    """``(offset, length)`` of a single satisfiable ``bytes=`` range, None
    to serve everything; raises RangeNotSatisfiable."""
    header = req.headers.get('Range')
    if not header or not size:
        return None
    unit, _, spec = header.partition('=')
    if unit.strip().lower() != 'bytes' or ',' in spec:
        return None
    first, sep, last = spec.strip().partition('-')
    if not sep:
        return None
    try:
        if not first:
            suffix = int(last)
            if suffix <= 0:
                raise exception.RangeNotSatisfiable()
            start = max(size - suffix, 0)
            end = size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
            if start >= size:
                raise exception.RangeNotSatisfiable()
            if start < 0 or end < start:
                return None
    except ValueError:
        return None
    end = min(end, size - 1)
    return start, end - start + 1


def data_response(image, chunks, byte_range=None):
    """The response of a GET serving ``chunks`` of ``image`` (all of it,
    or the ``(offset, length)`` of ``byte_range``)."""
    resp = webob.Response(status=200, app_iter=chunks,
                          content_type='application/octet-stream')
    resp.headerlist.extend(headers.image_headers(image))
    resp.headers['Accept-Ranges'] = 'bytes'
    size = image['size'] or 0
    if byte_range:
        offset, length = byte_range
        resp.status = 206
        resp.headers['Content-Range'] = 'bytes %d-%d/%d' % (
            offset, offset + length - 1, size)
        resp.content_length = length
    else:
        resp.content_length = size
    return resp


class ImagesController:

    def __init__(self):
        self.service = service.ImageService()

    @staticmethod
    def _ctx(req):
        return req.environ['glance.context']

    def _list(self, req, view):
        filters, marker, limit, sort_key, sort_dir = listing.parse(req.GET)
        images = self.service.list(self._ctx(req), filters, marker, limit,
                                   sort_key, sort_dir)
        return _json_response({'images': [view(i) for i in images]})

    def index(self, req):
        return self._list(req, headers.brief_view)

    def detail(self, req):
        return self._list(req, headers.image_view)

    def meta(self, req, image_id):
        image = self.service.show(self._ctx(req), image_id)
        resp = webob.Response(status=200)
        resp.headerlist.extend(headers.image_headers(image))
        return resp

    def download(self, req, image_id):
        ctx = self._ctx(req)
        image = self.service.download(ctx, image_id)
        try:
            byte_range = _parse_range(req, image.get('size') or 0)
        except exception.RangeNotSatisfiable:
            resp = webob.Response(status=416)
            resp.headers['Content-Range'] = 'bytes */%d' % image['size']
            return resp
        offset, length = byte_range or (0, None)
        chunks = self.service.data(image, offset, length, ctx=ctx,
                                   destination_ip=req.remote_addr)
        return data_response(image, chunks, byte_range)

    def create(self, req):
        meta = headers.parse(req.headers)
        body = _body(req)
        try:
            image = self.service.create(self._ctx(req), meta, body)
        except Exception:
            if body is not None:
                _close_after_error(req)
            raise
        # application_url is the client's view (scheme, host and prefix)
        # once http_proxy_to_wsgi has read the proxy's headers.
        extra = [('Location', '%s/images/%s' % (req.application_url,
                                                image['id']))]
        extra += headers.etag(image)
        return _json_response({'image': headers.image_view(image)},
                              status=201, extra_headers=extra)

    def update(self, req, image_id):
        meta = headers.parse(req.headers)
        purge = strutils.bool_from_string(
            req.headers.get(headers.PURGE_PROPS, 'true'))
        body = _body(req)
        try:
            image = self.service.update(self._ctx(req), image_id, meta,
                                        body, purge_props=purge)
        except Exception:
            if body is not None:
                _close_after_error(req)
            raise
        return _json_response({'image': headers.image_view(image)},
                              extra_headers=headers.etag(image))

    def delete(self, req, image_id):
        self.service.delete(self._ctx(req), image_id)
        return webob.Response(status=200, content_type=None)
