"""Error responses: never an HTML page, never a traceback.

JSON ``{"code": 404, "title": "Not Found", "message": "..."}`` when the
client asks for JSON, plain text with the same message otherwise
(decisions "differ" 5).
"""

import json
import logging

import webob
from webob import exc as webob_exc

from glance_v1.common import exception

LOG = logging.getLogger(__name__)


def wants_json(req):
    accept = req.headers.get('Accept', '')
    return 'json' in accept.lower()


def error_response(req, code, message, headers=None):
    title = webob_exc.status_map[code].title
    resp = webob.Response(status=code, headers=headers or [])
    if req.method == 'HEAD':
        return resp
    if wants_json(req):
        resp.content_type = 'application/json'
        resp.charset = 'UTF-8'
        resp.text = json.dumps({'code': code, 'title': title,
                                'message': message})
    else:
        resp.content_type = 'text/plain'
        resp.charset = 'UTF-8'
        resp.text = '%d %s\n\n%s\n' % (code, title, message)
    return resp


def from_exception(req, error):
    if isinstance(error, exception.GlanceException):
        if error.code >= 500:
            LOG.error('%s %s: %s', req.method, req.path, error)
        return error_response(req, error.code, str(error))
    LOG.exception('Unhandled error in %s %s', req.method, req.path)
    return error_response(req, 500, 'The server has either erred or is '
                          'incapable of performing the requested operation.')
