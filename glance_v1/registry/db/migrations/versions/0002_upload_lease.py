"""Upload lease: which process is writing an image in ``saving`` and when
it last said so, to tell abandoned uploads from live ones.

Revision ID: 0002_upload_lease
Revises: 0001_initial
"""

from alembic import op
import sqlalchemy as sa

revision = '0002_upload_lease'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('images') as batch:
        batch.add_column(sa.Column('upload_owner', sa.String(255),
                                   nullable=True))
        batch.add_column(sa.Column('upload_heartbeat', sa.DateTime(),
                                   nullable=True))
