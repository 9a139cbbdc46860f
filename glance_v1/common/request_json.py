"""JSON request bodies, bounded in size and in nesting depth.

Python's decoder recurses once per nesting level: a body of a few
thousand ``[`` ends in RecursionError, which no caller expects (a 500),
and a body of any size is read whole. Every JSON body glance-api and
glance-registry parse comes through here: more than ``max_json_body_size``
bytes is 413, deeper than MAX_DEPTH levels or not UTF-8 JSON is 400.
"""

import itertools
import json
import re

from oslo_config import cfg

from glance_v1.common import exception

json_opts = [
    cfg.IntOpt('max_json_body_size', default=1024 ** 2, min=1024,
               help='Largest JSON request body accepted, in bytes: member '
                    'lists, and on glance-registry image records with all '
                    'their properties (raise it with image_property_quota '
                    'if images carry many large properties).'),
]

CONF = cfg.CONF
CONF.register_opts(json_opts)

# The bodies of this API nest five levels at most (an image record's
# location metadata); the rest is margin.
MAX_DEPTH = 32

MALFORMED = 'Malformed JSON in request body.'

# Strings go first: a bracket inside one does not nest. An unterminated
# string runs to the end (the decoder refuses it anyway), so that no
# quote is scanned twice.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_NOT_BRACKET = re.compile(r'[^\[\]{}]+')
_STEP = {'[': 1, '{': 1, ']': -1, '}': -1}
_READ_KEY = 'glance.json_body'


def _depth(text):
    """The deepest nesting of ``text`` (exact for valid JSON), found
    without recursion."""
    brackets = _NOT_BRACKET.sub('', _STRING.sub('', text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)),
               default=0)


def loads(data):
    """The value of the JSON document ``data`` (bytes or text); 400
    when it is malformed or nested deeper than MAX_DEPTH."""
    try:
        text = data.decode('utf-8') if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise exception.Invalid(MALFORMED)
    if _depth(text) > MAX_DEPTH:
        raise exception.Invalid(
            'JSON in request body is nested too deeply: at most %d levels.'
            % MAX_DEPTH)
    try:
        return json.loads(text)
    except ValueError:
        raise exception.Invalid(MALFORMED)


def read(req):
    """The raw body of webob request ``req``, at most max_json_body_size
    bytes (413 beyond, before reading when Content-Length says so)."""
    # A controller may look at the body more than once.
    if _READ_KEY not in req.environ:
        req.environ[_READ_KEY] = _read(req)
    return req.environ[_READ_KEY]


def _read(req):
    limit = CONF.max_json_body_size
    too_large = exception.LimitExceeded(
        'The request body is too large: at most %d bytes of JSON.' % limit)
    if req.content_length is not None:
        if req.content_length > limit:
            raise too_large
        stream = req.body_file
    elif req.headers.get('Transfer-Encoding'):
        # webob reads no body without a length unless the server flags
        # its input as terminated (eventlet's is, but does not say so).
        stream = req.body_file_raw
    else:
        return b''
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(limit + 1 - len(data))
        if not chunk:
            return bytes(data)
        data += chunk
    raise too_large


def from_request(req):
    """The decoded JSON body of ``req``, or None when it has none."""
    data = read(req)
    return loads(data) if data else None
