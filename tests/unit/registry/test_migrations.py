"""The schema comes only from migrations; they must match the models."""

from alembic import autogenerate
from alembic import migration as alembic_migration

from glance_v1.registry.db import migration
from glance_v1.registry.db import models
from glance_v1.registry.db import session
from tests import base


class TestMigrations(base.DatabaseTestCase):

    def test_at_head(self):
        self.assertEqual(migration.head(), migration.current())
        self.assertFalse(migration.pending())

    def test_no_drift_between_models_and_migrations(self):
        with session.get_engine().connect() as conn:
            ctx = alembic_migration.MigrationContext.configure(
                conn, opts={'compare_type': True})
            diff = autogenerate.compare_metadata(ctx, models.Base.metadata)
        self.assertEqual([], diff)
