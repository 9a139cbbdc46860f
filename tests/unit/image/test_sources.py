"""Rules for external sources (glance-v1-reference §4, §14 LP 942118;
decisions "further" 5)."""

from glance_v1.common import exception
from glance_v1.image import sources
from tests import base


class TestValidate(base.TestCase):

    def assertRefused(self, url, message):
        e = self.assertRaises(exception.Invalid, sources.validate, url)
        self.assertIn(message, str(e))

    def test_empty(self):
        for url in (None, '', '   '):
            self.assertRefused(url, 'External source should not be empty')

    def test_restricted_schemes(self):
        for url in ('file:///etc/passwd', 'filesystem:///etc/passwd',
                    'swift+config://ref1/glance/id',
                    'swift+https://user:key@host/v1/glance/id',
                    'swift://host/glance/id'):
            e = self.assertRaises(exception.Invalid, sources.validate, url)
            self.assertIn('External sources are not supported', str(e))
            # The credentials of a swift URL never reach the message.
            self.assertNotIn('key', str(e))

    def test_unknown_scheme(self):
        self.assertRefused('ftp://example.com/x', 'Invalid location')
        self.assertRefused('no-scheme', 'Invalid location')

    def test_internal_addresses_refused(self):
        for url in ('http://127.0.0.1/x', 'http://localhost:8080/x',
                    'http://10.0.0.1/x', 'http://192.168.1.1/x',
                    'http://172.16.0.1/x', 'http://169.254.169.254/x',
                    'http://[::1]/x', 'http://[fe80::1]/x',
                    'http://224.0.0.1/x', 'http://0.0.0.0/x',
                    'https://127.1/x'):
            self.assertRefused(url, 'resolves to an internal address')

    def test_public_address_accepted(self):
        self.assertEqual('http://8.8.8.8/image',
                         sources.validate(' http://8.8.8.8/image '))

    def test_allow_list(self):
        self.conf.config(allowed_external_hosts=['127.0.0.1', 'localhost',
                                                 '10.0.0.0/8'])
        for url in ('http://127.0.0.1:99/x', 'http://localhost/x',
                    'http://10.2.3.4/x'):
            self.assertEqual(url, sources.validate(url))
        self.assertRefused('http://192.168.0.1/x', 'internal address')
        self.assertRefused('http://127.0.0.2/x', 'internal address')

    def test_http_store_disabled(self):
        self.conf.config(stores=['file'], group='glance_store')
        self.assertRaises(exception.UnknownScheme, sources.validate,
                          'http://8.8.8.8/x')

    def test_bad_port(self):
        self.assertRefused('http://8.8.8.8:99999/x', 'The HTTP URL is invalid')
