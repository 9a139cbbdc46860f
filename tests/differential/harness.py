"""Sending one request to the reference Glance and to glance_v1, and
comparing the answers field by field after normalisation.

A response becomes a flat dict of fields (``status``,
``header.<name>``, ``body.<json path>``, ``error.message``,
``error.format``, ``data.*``); ids become symbolic names (each server
its own mapping), timestamps ``<ts>`` and a sequence's random tenant
prefix ``<seq>``. A differing field is fine only when an entry of
allowed.yaml explains it (see ``AllowList``).
"""

import fnmatch
import hashlib
import html
import http.client
import json
import os
import re

import testtools
from webob import exc as webob_exc
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOWED = os.path.join(HERE, 'allowed.yaml')
ABSENT = '<absent>'
UUID_RE = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                     r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
TIME_RE = re.compile(r'\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?')
REQUEST_ID_RE = re.compile(r'req-[0-9a-f-]{36}')
# Headers compared besides x-image-meta-*; the rest (Date, Server,
# request ids, Connection...) say nothing about the API.
COMPARED_HEADERS = ('etag', 'location', 'allow', 'content-range',
                    'accept-ranges')


def require_reference():
    return os.environ.get('GLANCE_V1_REQUIRE_BACKENDS') == '1'


def reference_settings():
    """reference.json of the running reference (tools/reference_glance.py,
    directory in GLANCE_V1_REFERENCE_GLANCE); skips without one, fails
    when GLANCE_V1_REQUIRE_BACKENDS=1 and the directory was named."""
    base = os.environ.get('GLANCE_V1_REFERENCE_GLANCE')
    if not base:
        raise testtools.TestCase.skipException(
            'the differential tests run in "tox -e differential" '
            '(GLANCE_V1_REFERENCE_GLANCE names the directory of '
            '"python tools/reference_glance.py start")')
    try:
        with open(os.path.join(base, 'reference.json')) as f:
            settings = json.load(f)
        conn = http.client.HTTPConnection('127.0.0.1',
                                          settings['ports']['glance-api'],
                                          timeout=10)
        conn.request('GET', '/healthcheck')
        conn.getresponse().read()
        conn.close()
        return settings
    except (OSError, ValueError, KeyError) as e:
        reason = 'reference Glance not running in %s: %s' % (base, e)
        if require_reference():
            raise RuntimeError(reason)
        raise testtools.TestCase.skipException(reason)


class Request:
    """One request of a sequence, as sent to both servers: ``kind``
    names its shape for the allow-list, ``tags`` add what the shape
    alone does not say (a Range header, the caller being a member...).
    Paths and bodies hold ``{id}`` placeholders, filled in per server."""

    def __init__(self, kind, method, path, headers=None, body=None,
                 chunked=False, tags=()):
        self.kind = kind
        self.method = method
        self.path = path
        self.headers = dict(headers or {})
        self.body = body
        self.chunked = chunked
        self.tags = set(tags)

    def describe(self):
        lines = ['%s %s  [%s%s]' % (self.method, self.path, self.kind,
                                    ''.join(' +' + t for t in
                                            sorted(self.tags)))]
        for name, value in sorted(self.headers.items()):
            lines.append('  %s: %s' % (name, value))
        if self.chunked:
            lines.append('  (chunked body)')
        if self.body:
            body = self.body if isinstance(self.body, bytes) else \
                self.body.encode()
            lines.append('  body: %r' % (body[:200],))
        return '\n'.join(lines)


class Response:

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


def send(port, method, path, headers, body=None, chunked=False):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    try:
        if chunked:
            data = body or b''
            pieces = [data[i:i + 7000] for i in range(0, len(data), 7000)]
            conn.request(method, path, body=iter(pieces), headers=headers,
                         encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in
                                      resp.getheaders()}, data)
    finally:
        conn.close()


class Ids:
    """One server's ids as symbolic names: known images by their name in
    the sequence, others (records a failed request left behind) by order
    of first appearance."""

    def __init__(self):
        self.names = {}
        self.unknown = 0

    def add(self, real, symbol):
        self.names[real.lower()] = symbol

    def symbol(self, real):
        key = real.lower()
        if key not in self.names:
            self.unknown += 1
            self.names[key] = 'other%d' % self.unknown
        return self.names[key]


def normalise_text(text, ids, prefix):
    text = REQUEST_ID_RE.sub('<req>', text)
    text = TIME_RE.sub('<ts>', text)
    text = UUID_RE.sub(lambda m: '<%s>' % ids.symbol(m.group(0)), text)
    if prefix:
        text = text.replace(prefix, '<seq>')
    return text


def _normalise_json(value, ids, prefix, hidden):
    if isinstance(value, dict):
        return {normalise_text(k, ids, prefix):
                _normalise_json(v, ids, prefix, hidden)
                for k, v in value.items()}
    if isinstance(value, list):
        items = [_normalise_json(v, ids, prefix, hidden) for v in value]
        return [v for v in items if not _mentions(v, hidden)]
    if isinstance(value, str):
        return normalise_text(value, ids, prefix)
    return value


def _mentions(item, hidden):
    """A list item about an image left out of comparisons."""
    if not hidden or not isinstance(item, dict):
        return False
    return any(item.get(k) in hidden for k in ('id', 'image_id'))


def _flatten(value, path, out):
    if isinstance(value, dict):
        if not value:
            out[path] = '{}'
        for k, v in value.items():
            _flatten(v, '%s.%s' % (path, k), out)
    elif isinstance(value, list):
        out[path + '.length'] = len(value)
        for i, v in enumerate(value):
            _flatten(v, '%s[%d]' % (path, i), out)
    else:
        out[path] = value


def error_message(resp):
    """(format, message) of an error body. The reference wraps its
    message in a WebOb page (HTML, JSON or text) with the status line and
    the status's fixed explanation; glance_v1 gives the message alone.
    Both sides lose those, so only what the server said remains."""
    ctype = resp.headers.get('content-type', '').split(';')[0].strip()
    text = resp.body.decode('utf-8', 'replace')
    if not text:
        return 'none', ''
    fmt = {'text/html': 'html', 'application/json': 'json'}.get(ctype,
                                                                'plain')
    if fmt == 'json':
        try:
            text = json.loads(text)['message']
        except (ValueError, KeyError, TypeError):
            pass
    if fmt == 'html':
        text = text.split('</h1>', 1)[-1]
    text = html.unescape(re.sub(r'<[^>]+>', ' ', text))
    text = STATUS_LINE_RE.sub(' ', text)
    for explanation in GENERIC_EXPLANATIONS:
        text = explanation.sub(' ', text)
    return fmt, ' '.join(text.split())


# The status line, also where the reference nests the registry's error
# page in its own ("Got error: 400 Bad Request ...").
STATUS_LINE_RE = re.compile(r'\b\d{3} (%s)\b' % '|'.join(
    re.escape(cls.title) for cls in webob_exc.status_map.values()))
# WebOb's fixed explanation of each status, which the reference puts
# before the message.
GENERIC_EXPLANATIONS = [
    re.compile(re.escape(cls.explanation).replace('%s', r'\S+'))
    for cls in webob_exc.status_map.values()
    if getattr(cls, 'explanation', '')]


def fields(resp, req, ids, prefix, hidden=()):
    """The comparable fields of ``resp`` to ``req``."""
    out = {'status': resp.status}
    for name, value in resp.headers.items():
        if name.startswith('x-image-meta-') or name in COMPARED_HEADERS:
            if name == 'location':
                value = re.sub(r'^https?://[^/]+', '', value)
            out['header.' + name] = normalise_text(value, ids, prefix)
    if req.method == 'HEAD':
        return out
    ctype = resp.headers.get('content-type', '').split(';')[0].strip()
    if resp.status >= 400:
        fmt, message = error_message(resp)
        out['error.format'] = fmt
        out['error.message'] = normalise_text(message, ids, prefix)
    elif req.kind == 'get' and resp.status in (200, 206):
        out['header.content-type'] = ctype
        out['data.length'] = len(resp.body)
        out['data.sha256'] = hashlib.sha256(resp.body).hexdigest()[:16]
    elif resp.body:
        try:
            body = json.loads(resp.body)
        except ValueError:
            out['body'] = normalise_text(resp.body.decode('utf-8', 'replace'),
                                         ids, prefix)
        else:
            _flatten(_normalise_json(body, ids, prefix, hidden), 'body',
                     out)
    return out


def differences(ref, ours):
    """{field: (reference value, our value)} of the fields that differ."""
    found = {}
    for key in sorted(set(ref) | set(ours)):
        a, b = ref.get(key, ABSENT), ours.get(key, ABSENT)
        if a != b:
            found[key] = (a, b)
    return found


class AllowList:
    """The expected differences (allowed.yaml). An entry matches a
    request shape -- ``kind`` (one or a list), optional ``method``,
    ``tags`` (all present), ``headers`` (request headers present) -- and
    explains ``fields`` (fnmatch patterns) of the answer, optionally only
    with the given ``reference`` and ``ours`` values (``<absent>`` for
    a field one side lacks, ``{re: ...}`` for a pattern), and only when
    our whole answer has the values of ``when_ours`` ({field: value}):
    a refusal of ours explains a status only together with its message.
    ``decision`` cites doc/decisions.rst."""

    def __init__(self, paths=(ALLOWED,)):
        self.entries = []
        for path in paths:
            with open(path) as f:
                self.entries.extend(yaml.safe_load(f)['allowed'])

    @staticmethod
    def _as_list(value):
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def _matches_request(self, entry, req):
        if not any(fnmatch.fnmatchcase(req.kind, k)
                   for k in self._as_list(entry['kind'])):
            return False
        if entry.get('method') and req.method not in self._as_list(
                entry['method']):
            return False
        if not set(self._as_list(entry.get('tags'))) <= req.tags:
            return False
        names = {h.lower() for h in req.headers}
        return all(h.lower() in names
                   for h in self._as_list(entry.get('headers')))

    @staticmethod
    def _value_ok(expected, actual):
        """``actual`` is ``expected``, one of a list of values, or matches
        ``{re: <regular expression>}``."""
        if expected is None:
            return True
        options = expected if isinstance(expected, list) else [expected]
        return any(re.fullmatch(o['re'], str(actual)) if isinstance(o, dict)
                   else str(o) == str(actual) for o in options)

    def explain(self, req, field, ref_value, our_value, ours):
        """The entry that explains this difference (in ``ours``, our
        normalised answer), or None."""
        for entry in self.entries:
            if not self._matches_request(entry, req):
                continue
            if not all(self._value_ok(v, ours.get(k, ABSENT))
                       for k, v in (entry.get('when_ours') or {}).items()):
                continue
            if not any(fnmatch.fnmatchcase(field, p)
                       for p in self._as_list(entry['fields'])):
                continue
            if self._value_ok(entry.get('reference'), ref_value) and \
                    self._value_ok(entry.get('ours'), our_value):
                return entry
        return None


def side_by_side(req, ref_resp, our_resp, diffs):
    def show(resp):
        lines = ['%d' % resp.status]
        for k, v in sorted(resp.headers.items()):
            lines.append('%s: %s' % (k, v))
        lines.append('')
        lines.append(repr(resp.body[:600]))
        return lines

    out = ['request:', req.describe(), '', 'unexplained differences:']
    for field, (a, b) in diffs.items():
        out.append('  %-40s reference=%r  ours=%r' % (field, a, b))
    left, right = show(ref_resp), show(our_resp)
    width = 60
    out.append('')
    out.append('%-*s | %s' % (width, 'reference', 'glance_v1'))
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ''
        b = right[i] if i < len(right) else ''
        while a or b:
            out.append('%-*s | %s' % (width, a[:width], b[:width]))
            a, b = a[width:], b[width:]
    return '\n'.join(out)
