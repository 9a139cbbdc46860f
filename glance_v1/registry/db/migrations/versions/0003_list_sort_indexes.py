"""Indexes that let every list sort key page in O(page) time.

Revision ID: 0003_list_sort_indexes
Revises: 0002_upload_lease
"""

from alembic import op

revision = '0003_list_sort_indexes'
down_revision = '0002_upload_lease'
branch_labels = None
depends_on = None


def upgrade():
    # The list API's sort keys as of this revision, each followed by the
    # tie-breakers created_at and id (created_at has its index already).
    for key in ('name', 'status', 'container_format', 'disk_format', 'size',
                'updated_at'):
        op.create_index('ix_images_deleted_%s' % key, 'images',
                        ['deleted', key, 'created_at', 'id'])
    op.create_index('ix_images_deleted_id', 'images',
                    ['deleted', 'id', 'created_at'])
