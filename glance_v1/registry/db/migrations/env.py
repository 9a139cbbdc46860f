"""Alembic environment: migrations always run on a connection handed in
by glance_v1.registry.db.migration, never on a URL read from a file."""

from alembic import context

from glance_v1.registry.db import models

config = context.config
connection = config.attributes['connection']
context.configure(connection=connection,
                  target_metadata=models.Base.metadata,
                  render_as_batch=connection.dialect.name == 'sqlite',
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
