"""Bulk loading for tools (glance_v1.registry.db.bulk): what it writes
reads back through the registry like images it created, on SQLite
(multi-row INSERT) and PostgreSQL (COPY)."""

import datetime

from glance_v1.registry.db import bulk
from glance_v1.registry.db import migration
from glance_v1.registry.db import session
from glance_v1.registry import local
from tests import base
from tests import db


class BulkMixin:

    backend = None

    def setUp(self):
        super().setUp()
        db.check_available(self.backend)
        database = self.useFixture(db.Database(self.backend))
        self.conf.config(connection=database.url, group='database')
        session.dispose()
        self.addCleanup(session.dispose)
        migration.upgrade()

    def test_images_read_back_through_the_registry(self):
        when = datetime.datetime(2021, 5, 6, 7, 8, 9, 123456)
        images = [{'id': 'bulk-%d' % i, 'name': 'n%d' % i, 'size': i,
                   'is_public': True, 'owner': 'tenant1',
                   'created_at': when + datetime.timedelta(seconds=i),
                   'properties': {'os_distro': 'd%d' % (i % 2),
                                  'note': "it's\ttab\\bed\n"},
                   'locations': ['file:///x/%d' % i]} for i in range(3)]
        with session.get_engine().begin() as conn:
            bulk.insert_images(conn, images)
            bulk.analyze(conn)
        registry = local.LocalRegistry()
        ctx = base.admin_ctx()
        image = registry.image_get(ctx, 'bulk-1')
        self.assertEqual(('n1', 1, 'active', when + datetime.timedelta(
            seconds=1), False), (image['name'], image['size'],
                                 image['status'], image['created_at'],
                                 image['deleted']))
        self.assertEqual({'os_distro': 'd1', 'note': "it's\ttab\\bed\n"},
                         image['properties'])
        self.assertEqual('file:///x/1', image['location'])
        found = registry.image_list(
            ctx, {'properties': {'os_distro': 'd0'}})
        self.assertEqual(['bulk-2', 'bulk-0'], [i['id'] for i in found])


class TestSQLiteBulk(BulkMixin, base.TestCase):
    backend = 'sqlite'


class TestPostgreSQLBulk(BulkMixin, base.TestCase):
    backend = 'postgresql'


class TestMySQLBulk(BulkMixin, base.TestCase):
    backend = 'mysql'
