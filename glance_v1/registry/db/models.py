"""SQLAlchemy models of the registry.

The schema itself is created only by the alembic migrations in
``migrations/``; a test compares the two so they cannot drift.
"""

import datetime

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.dialects import mysql
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column


# MySQL's DATETIME drops microseconds unless asked for them; timestamps
# must read back exactly as written (listing order, changes-since).
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class SoftDeleteMixin:
    created_at: Mapped[datetime.datetime] = mapped_column(
        Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        Timestamp, nullable=True, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime.datetime] = mapped_column(
        Timestamp, nullable=True)
    deleted: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False)


# Sort keys of the list API other than created_at, with the columns of
# their index (tie-breakers created_at, id).
SORT_INDEXES = (
    ('name', ('name', 'created_at', 'id')),
    ('status', ('status', 'created_at', 'id')),
    ('container_format', ('container_format', 'created_at', 'id')),
    ('disk_format', ('disk_format', 'created_at', 'id')),
    ('size', ('size', 'created_at', 'id')),
    ('updated_at', ('updated_at', 'created_at', 'id')),
    ('id', ('id', 'created_at')),
)


def sort_index(key):
    """The name of the index that reads live images in ``key`` order."""
    return 'ix_images_deleted_%s' % key


class Image(SoftDeleteMixin, Base):
    __tablename__ = 'images'
    __table_args__ = (
        # Default listing order and its tie-breaker, filtered by the
        # columns every list query constrains.
        Index(sort_index('created_at'), 'deleted', 'created_at', 'id'),
        Index('ix_images_updated_at', 'updated_at'),
        Index('ix_images_owner', 'owner'),
        Index('ix_images_is_public', 'is_public'),
        Index('ix_images_checksum', 'checksum'),
        Index('ix_images_name', 'name'),
        Index('ix_images_status', 'status'),
        # One per other sort key (0003_list_sort_indexes): the key and
        # its tie-breakers, after the deleted flag every list constrains.
        *[Index(sort_index(key), 'deleted', *columns)
          for key, columns in SORT_INDEXES],
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=True)
    disk_format: Mapped[str] = mapped_column(String(20), nullable=True)
    container_format: Mapped[str] = mapped_column(String(20), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=True)
    virtual_size: Mapped[int] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    is_public: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False)
    checksum: Mapped[str] = mapped_column(String(32), nullable=True)
    os_hash_algo: Mapped[str] = mapped_column(String(64), nullable=True)
    os_hash_value: Mapped[str] = mapped_column(String(128), nullable=True)
    min_disk: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    owner: Mapped[str] = mapped_column(String(255), nullable=True)
    protected: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False)
    # The process writing the data of a ``saving`` image and its last
    # sign of life (glance_v1.image.recovery).
    upload_owner: Mapped[str] = mapped_column(String(255), nullable=True)
    upload_heartbeat: Mapped[datetime.datetime] = mapped_column(
        DateTime, nullable=True)


class ImageProperty(SoftDeleteMixin, Base):
    __tablename__ = 'image_properties'
    __table_args__ = (
        UniqueConstraint('image_id', 'name',
                         name='uq_image_properties_image_id_name'),
        Index('ix_image_properties_name_value', 'name', 'deleted'),
        # property-<name>=<value> filters (0004_property_value_index).
        Index('ix_image_properties_value', 'value', postgresql_using='hash',
              mysql_length={'value': 255}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                    autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey('images.id'), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=True)



class ImageLocation(SoftDeleteMixin, Base):
    __tablename__ = 'image_locations'
    __table_args__ = (
        Index('ix_image_locations_image_id', 'image_id'),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                    autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey('images.id'), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    meta_data: Mapped[str] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(30), nullable=False,
                                        default='active')



class ImageMember(SoftDeleteMixin, Base):
    __tablename__ = 'image_members'
    __table_args__ = (
        Index('ix_image_members_member', 'member', 'deleted'),
        Index('ix_image_members_image_id', 'image_id'),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                    autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey('images.id'), nullable=False)
    member: Mapped[str] = mapped_column(String(255), nullable=False)
    can_share: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                            default=False)
