"""Which [keystone_authtoken] settings let keystonemiddleware log in to
Keystone (glance_v1.api.middleware.authtoken), read from the config file
or, as keystonemiddleware allows, from the paste section."""

from oslo_config import cfg
import testtools

from glance_v1.api.middleware import authtoken


class TestAuthProblem(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        self.conf([])

    def test_nothing(self):
        self.assertIn('[keystone_authtoken] sets no auth_type',
                      authtoken.auth_problem(self.conf, {}))

    def test_in_config(self):
        authtoken.auth_problem(self.conf, {})
        self.conf.set_override('auth_type', 'password',
                               group='keystone_authtoken')
        self.assertEqual('[keystone_authtoken] auth_type = password needs '
                         'auth_url', authtoken.auth_problem(self.conf, {}))
        self.conf.set_override('auth_url', 'http://127.0.0.1:9/v3',
                               group='keystone_authtoken')
        self.assertIsNone(authtoken.auth_problem(self.conf, {}))

    def test_in_paste_section(self):
        self.assertIsNone(authtoken.auth_problem(self.conf, {
            'auth_type': 'v3password', 'auth_url': 'http://127.0.0.1:9/v3'}))
        self.assertEqual(
            '[keystone_authtoken] auth_type = nope: no such auth plugin',
            authtoken.auth_problem(self.conf, {'auth_type': 'nope'}))
