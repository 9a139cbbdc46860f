"""Fixtures shared by the unit tests: fresh config, a migrated SQLite
database and a store directory per test."""

import os

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from glance_v1.common import context
from glance_v1.common import policy
from glance_v1.registry import api as registry_api
from glance_v1.registry.db import migration
from glance_v1.registry.db import session
from glance_v1 import store
# Registers the options StoreTestCase sets.
from glance_v1.store import filesystem  # noqa: F401

CONF = context.CONF


class TestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))
        CONF([], project='glance', default_config_files=[])
        self.addCleanup(CONF.reset)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf.config(state_path=self.tmp)
        for reset in (policy.reset, registry_api.reset, store.reset):
            reset()
            self.addCleanup(reset)


class DatabaseTestCase(TestCase):
    """A migrated SQLite database under the test's temporary directory."""

    def setUp(self):
        super().setUp()
        self.conf.config(connection='sqlite:///%s'
                         % os.path.join(self.tmp, 'glance.sqlite'),
                         group='database')
        session.dispose()
        self.addCleanup(session.dispose)
        migration.upgrade()
        self.registry = registry_api.get_registry()


class StoreTestCase(DatabaseTestCase):
    """A database and a filesystem store under the temporary directory,
    an owner's context and an admin's."""

    def setUp(self):
        super().setUp()
        self.datadir = os.path.join(self.tmp, 'images')
        self.conf.config(filesystem_store_datadir=self.datadir,
                         group='glance_store')
        self.ctx = ctx()
        self.admin = admin_ctx()


def ctx(tenant='tenant1', user='user1', roles=('member',), admin=False,
        read_only=False):
    return context.RequestContext(project_id=tenant, user_id=user,
                                  roles=list(roles), is_admin=admin,
                                  read_only=read_only, overwrite=False)


def admin_ctx():
    return ctx(tenant='admin-tenant', user='admin', roles=('admin',),
               admin=True)
