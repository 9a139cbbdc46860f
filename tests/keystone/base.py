"""A glance-api under ``flavor = keystone`` logging in to the real Keystone
of tools/keystone_aio.py, and the clients of that Keystone's users.

The tests run in ``tox -e keystone``, which starts Keystone and points
GLANCE_V1_KEYSTONE_AIO at its directory.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import testtools

from tests.functional import base
from tests.functional import server

TOOL = os.path.join(server.REPO, 'tools', 'keystone_aio.py')

# Every fernet token starts with these (version byte and timestamp): one
# the test never saw (the CLI's) is caught by its shape.
FERNET = re.compile(r'gAAAAA[A-Za-z0-9_=-]{20,}')


def keystone_settings(base_dir=None):
    """The settings of the running Keystone (keystone.json); skips the
    test when none is selected, and when the selected one is not there
    (which fails instead when GLANCE_V1_REQUIRE_BACKENDS=1)."""
    base_dir = base_dir or os.environ.get('GLANCE_V1_KEYSTONE_AIO')
    if not base_dir:
        raise testtools.TestCase.skipException(
            'Keystone tests run in "tox -e keystone" (or set '
            'GLANCE_V1_KEYSTONE_AIO to the directory of "python '
            'tools/keystone_aio.py start")')
    reason = ('Keystone not running in GLANCE_V1_KEYSTONE_AIO=%s: start '
              'it with "python tools/keystone_aio.py start --base %s"'
              % (base_dir, base_dir))
    try:
        with open(os.path.join(base_dir, 'keystone.json')) as f:
            settings = json.load(f)
        urllib.request.urlopen(settings['auth_url'], timeout=10).close()
    except (OSError, ValueError, KeyError):
        if server.require_backends():
            raise RuntimeError(reason)
        raise testtools.TestCase.skipException(reason)
    settings['base'] = base_dir
    return settings


def authtoken_conf(settings):
    """glance-api's [keystone_authtoken], as doc/deployment.rst shows it."""
    service = settings['service']
    return {
        'www_authenticate_uri': settings['auth_url'],
        'auth_url': settings['auth_url'],
        'auth_type': 'password',
        'username': service['user'],
        'password': service['password'],
        'project_name': service['project'],
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'region_name': settings['region'],
    }


def keystone_tool(command, base_dir, *args):
    subprocess.run([sys.executable, TOOL, command, '--base', base_dir]
                   + list(args), check=True, stdout=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, timeout=300)


def session(settings, who):
    """A keystoneauth1 session of ``who`` (a user of keystone.json, or
    'admin'), scoped to the user's project."""
    user = settings['admin'] if who == 'admin' else settings['users'][who]
    auth = v3.Password(auth_url=settings['auth_url'],
                       username=user['user'], password=user['password'],
                       project_name=user['project'],
                       user_domain_id='default', project_domain_id='default')
    return ks_session.Session(auth=auth)


class KeystoneTest(base.FunctionalTest):
    """One glance-api per class on the Keystone of ``keystone_base`` (the
    shared one by default), debug logging on, and an ``image`` endpoint
    for it in a region of its own, so that classes running in parallel
    each find their own glance-api in the catalog."""

    flavor = 'keystone'
    keystone_base = None

    @classmethod
    def make_server(cls):
        cls.keystone = keystone_settings(cls.keystone_base)
        cls.conf = {'DEFAULT': {'debug': 'true'},
                    'keystone_authtoken': authtoken_conf(cls.keystone)}
        return super().make_server()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.region = 'test-%s' % os.urandom(4).hex()
        cls.endpoint_id = None
        try:
            admin = session(cls.keystone, 'admin')
            kw = {'endpoint_filter': {'service_type': 'identity'}}
            admin.post('/regions', json={'region': {'id': cls.region}},
                       **kw)
            # The API's root: clients read the versions document there.
            made = admin.post('/endpoints', json={'endpoint': {
                'service_id': cls.keystone['image_service_id'],
                'interface': 'public', 'region_id': cls.region,
                'url': cls.shared_api.url}}, **kw)
            cls.endpoint_id = made.json()['endpoint']['id']
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            admin = session(cls.keystone, 'admin')
            kw = {'endpoint_filter': {'service_type': 'identity'}}
            if cls.endpoint_id:
                admin.delete('/endpoints/%s' % cls.endpoint_id, **kw)
            admin.delete('/regions/%s' % cls.region, **kw)
        except ks_exceptions.ClientException:
            # Not made, or Keystone is gone: nothing to tidy.
            pass
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tokens = set()
        self.log_offset = os.path.getsize(self.api.log_file)
        self.addCleanup(self.assertNoTokenLogged)

    def user(self, who):
        return self.keystone['users'][who]

    def token(self, who):
        """A new token of ``who``, remembered for the log check."""
        token = session(self.keystone, who).get_token()
        self.tokens.add(token)
        return token

    def as_user(self, token, headers=None):
        return dict(headers or {}, **{'X-Auth-Token': token})

    def assertNoTokenLogged(self):
        with open(self.api.log_file, errors='replace') as f:
            f.seek(self.log_offset)
            logged = f.read()
        passwords = [u['password'] for u in self.keystone['users'].values()]
        for secret in sorted(self.tokens) + passwords + [
                self.keystone['service']['password']]:
            self.assertNotIn(secret, logged)
        self.assertEqual([], FERNET.findall(logged))
        self.assertNotIn('Traceback', logged)
