"""An index on property values, so that a ``property-<name>=<value>``
filter finds its images without walking the image list.

A value is unbounded text: PostgreSQL gets a hash index (a btree entry
over ~2.7 KB would refuse the insert), MySQL/MariaDB one on the first 255
characters (a TEXT column takes a prefix index only), SQLite a btree.

Revision ID: 0004_property_value_index
Revises: 0003_list_sort_indexes
"""

from alembic import op

revision = '0004_property_value_index'
down_revision = '0003_list_sort_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_image_properties_value', 'image_properties',
                    ['value'], postgresql_using='hash',
                    mysql_length={'value': 255})
