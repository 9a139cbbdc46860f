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
    return urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path,
                                    '', ''))
