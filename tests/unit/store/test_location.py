"""Location URIs: swift locations and redaction (§14 LP 755916,
OSSA-2013-002)."""

from glance_v1.common import exception
from glance_v1.store import location
from tests import base


class TestLocation(base.TestCase):

    def test_swift_round_trip(self):
        uri = location.swift_uri('http://10.0.0.1:8080/auth/v1.0/',
                                 'glance', 'a b')
        self.assertEqual('swift+http://10.0.0.1:8080/auth/v1.0/glance/a%20b',
                         uri)
        self.assertEqual(('http://10.0.0.1:8080/auth/v1.0', 'glance', 'a b'),
                         location.swift_parts(uri))

    def test_swift_https_and_credentials_ignored(self):
        self.assertEqual(('https://keystone/v3', 'c', 'o'),
                         location.swift_parts(
                             'swift+https://u:k@keystone/v3/c/o'))

    def test_bad_swift_locations(self):
        for uri in ('swift+http://host/only', 'swift+http:///a/b/c',
                    'http://host/a/b/c'):
            self.assertRaises(exception.Invalid, location.swift_parts, uri)

    def test_redact(self):
        self.assertEqual('swift+https://***@host/v1/c/o',
                         location.redact('swift+https://acct:user:KEY@host'
                                         '/v1/c/o?x=KEY'))
        self.assertEqual('file:///etc/passwd',
                         location.redact('file:///etc/passwd'))
