"""Migrations from an empty database on every supported backend, and no
drift between them and the models (glance-v1-reference §12)."""

import datetime
import os

from alembic import autogenerate
from alembic import migration as alembic_migration
import sqlalchemy as sa

from glance_v1.registry.db import migration
from glance_v1.registry.db import models
from glance_v1.registry.db import session
from tests import base
from tests import db


class MigrationsMixin:

    backend = None

    def setUp(self):
        super().setUp()
        db.check_available(self.backend)
        database = self.useFixture(db.Database(self.backend))
        self.engine = session.create_engine(database.url)
        self.addCleanup(self.engine.dispose)

    def test_upgrade_from_empty(self):
        self.assertIsNone(migration.current(self.engine))
        self.assertTrue(migration.pending(self.engine))
        migration.upgrade(engine=self.engine)
        self.assertEqual(migration.head(), migration.current(self.engine))
        self.assertFalse(migration.pending(self.engine))
        tables = set(sa.inspect(self.engine).get_table_names())
        self.assertTrue({'images', 'image_properties', 'image_locations',
                         'image_members'} <= tables, tables)

    def test_models_match_migrations(self):
        migration.upgrade(engine=self.engine)
        with self.engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(
                conn, opts={'compare_type': True,
                            'compare_server_default': False})
            diff = autogenerate.compare_metadata(context,
                                                 models.Base.metadata)
        self.assertEqual([], diff)

    def test_timestamps_keep_microseconds(self):
        # autogenerate does not compare MySQL's DATETIME precision.
        migration.upgrade(engine=self.engine)
        when = datetime.datetime(2020, 1, 2, 3, 4, 5, 123456)
        images = models.Image.__table__
        with self.engine.begin() as conn:
            conn.execute(images.insert().values(
                id='i1', status='queued', is_public=False, min_disk=0,
                min_ram=0, protected=False, deleted=False, created_at=when))
            self.assertEqual(when, conn.execute(
                sa.select(images.c.created_at)).scalar())

    def test_property_values_indexed_and_unbounded(self):
        migration.upgrade(engine=self.engine)
        indexes = {i['name']: i['column_names'] for i in
                   sa.inspect(self.engine).get_indexes('image_properties')}
        self.assertEqual(['value'], indexes.get('ix_image_properties_value'))
        # A value beyond what a btree entry takes on PostgreSQL (~2.7 KB,
        # after compression) is still stored.
        value = os.urandom(8192).hex()
        images = models.Image.__table__
        props = models.ImageProperty.__table__
        now = models.utcnow()
        with self.engine.begin() as conn:
            conn.execute(images.insert().values(
                id='i1', status='queued', is_public=False, min_disk=0,
                min_ram=0, protected=False, deleted=False, created_at=now))
            conn.execute(props.insert().values(
                image_id='i1', name='big', value=value, deleted=False,
                created_at=now))
            self.assertEqual(value, conn.execute(
                sa.select(props.c.value).where(
                    props.c.value == value)).scalar())


class TestSQLiteMigrations(MigrationsMixin, base.TestCase):
    backend = 'sqlite'


class TestPostgreSQLMigrations(MigrationsMixin, base.TestCase):
    backend = 'postgresql'


class TestMySQLMigrations(MigrationsMixin, base.TestCase):
    backend = 'mysql'
