"""Location URIs: parsing and redaction kept in one place."""

import urllib.parse

from glance_v1.common import exception


def scheme_of(uri):
    if not uri or '://' not in uri:
        raise exception.Invalid('Invalid location %s' % redact(uri))
    return uri.split('://', 1)[0].lower()


def file_path(uri):
    """The absolute path named by a ``file://`` location."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme not in ('file', 'filesystem') or parsed.netloc:
        raise exception.Invalid('Invalid location %s' % redact(uri))
    return urllib.parse.unquote(parsed.path)


def file_uri(path):
    return 'file://' + urllib.parse.quote(path)


def redact(uri):
    """A location safe for logs and messages: no user, password or key."""
    if not uri:
        return uri
    try:
        parsed = urllib.parse.urlsplit(uri)
    except ValueError:
        return '<unparsable location>'
    netloc = parsed.netloc
    if '@' in netloc:
        netloc = '***@' + netloc.rsplit('@', 1)[1]
    if '://' in uri:
        # urlunsplit would turn "file:///x" into "file:/x".
        return '%s://%s%s' % (parsed.scheme, netloc, parsed.path)
    return urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path,
                                    '', ''))


def swift_uri(auth_address, container, obj):
    """``swift+http(s)://<auth host and path>/<container>/<object>``: the
    Swift cluster, never the credentials (they come from the config)."""
    parsed = urllib.parse.urlsplit(auth_address)
    scheme = 'swift+' + (parsed.scheme or 'https')
    return '%s://%s%s/%s/%s' % (scheme, parsed.netloc,
                                parsed.path.rstrip('/'),
                                urllib.parse.quote(container),
                                urllib.parse.quote(obj))


def swift_parts(uri):
    """``(auth address, container, object)`` of a swift location."""
    parsed = urllib.parse.urlsplit(uri)
    scheme = parsed.scheme.lower()
    if scheme not in ('swift', 'swift+http', 'swift+https'):
        raise exception.Invalid('Invalid location %s' % redact(uri))
    netloc = parsed.netloc.rsplit('@', 1)[-1]
    parts = parsed.path.rstrip('/').split('/')
    if len(parts) < 3 or not parts[-1] or not parts[-2] or not netloc:
        raise exception.Invalid('Invalid location %s' % redact(uri))
    auth = '%s://%s%s' % ('http' if scheme == 'swift+http' else 'https',
                          netloc, '/'.join(parts[:-2]))
    return (auth, urllib.parse.unquote(parts[-2]),
            urllib.parse.unquote(parts[-1]))
