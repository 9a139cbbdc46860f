"""Initial registry schema: images, properties, locations, members.

Revision ID: 0001_initial
Revises:
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


# Microseconds on MySQL too (DATETIME(6)).
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def _soft_delete_columns():
    return [sa.Column('created_at', TIMESTAMP, nullable=False),
            sa.Column('updated_at', TIMESTAMP, nullable=True),
            sa.Column('deleted_at', TIMESTAMP, nullable=True),
            sa.Column('deleted', sa.Boolean(), nullable=False)]


def upgrade():
    op.create_table(
        'images',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=True),
        sa.Column('disk_format', sa.String(20), nullable=True),
        sa.Column('container_format', sa.String(20), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('virtual_size', sa.BigInteger(), nullable=True),
        sa.Column('status', sa.String(30), nullable=False),
        sa.Column('is_public', sa.Boolean(), nullable=False),
        sa.Column('checksum', sa.String(32), nullable=True),
        sa.Column('os_hash_algo', sa.String(64), nullable=True),
        sa.Column('os_hash_value', sa.String(128), nullable=True),
        sa.Column('min_disk', sa.Integer(), nullable=False),
        sa.Column('min_ram', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(255), nullable=True),
        sa.Column('protected', sa.Boolean(), nullable=False),
        *_soft_delete_columns())
    op.create_index('ix_images_deleted_created_at', 'images',
                    ['deleted', 'created_at', 'id'])
    op.create_index('ix_images_updated_at', 'images', ['updated_at'])
    op.create_index('ix_images_owner', 'images', ['owner'])
    op.create_index('ix_images_is_public', 'images', ['is_public'])
    op.create_index('ix_images_checksum', 'images', ['checksum'])
    op.create_index('ix_images_name', 'images', ['name'])
    op.create_index('ix_images_status', 'images', ['status'])

    op.create_table(
        'image_properties',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('image_id', sa.String(36), sa.ForeignKey('images.id'),
                  nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('value', sa.Text(), nullable=True),
        *_soft_delete_columns(),
        sa.UniqueConstraint('image_id', 'name',
                            name='uq_image_properties_image_id_name'))
    op.create_index('ix_image_properties_name_value', 'image_properties',
                    ['name', 'deleted'])

    op.create_table(
        'image_locations',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('image_id', sa.String(36), sa.ForeignKey('images.id'),
                  nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('meta_data', sa.Text(), nullable=True),
        sa.Column('status', sa.String(30), nullable=False),
        *_soft_delete_columns())
    op.create_index('ix_image_locations_image_id', 'image_locations',
                    ['image_id'])

    op.create_table(
        'image_members',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('image_id', sa.String(36), sa.ForeignKey('images.id'),
                  nullable=False),
        sa.Column('member', sa.String(255), nullable=False),
        sa.Column('can_share', sa.Boolean(), nullable=False),
        *_soft_delete_columns())
    op.create_index('ix_image_members_member', 'image_members',
                    ['member', 'deleted'])
    op.create_index('ix_image_members_image_id', 'image_members',
                    ['image_id'])
