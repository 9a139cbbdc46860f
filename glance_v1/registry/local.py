"""The in-process registry: image records in a SQLAlchemy database.

Visibility and ownership are decided here, as the reference's registry did,
so that every caller of the registry (the API, glance-manage, the scrubber)
gets the same answers.
"""

import contextlib
import json
import uuid

from oslo_config import cfg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance_v1.common import exception
from glance_v1.registry.db import models
from glance_v1.registry.db import session as db_session

CONF = cfg.CONF

IMAGE_FIELDS = ('id', 'name', 'disk_format', 'container_format', 'size',
                'virtual_size', 'status', 'is_public', 'checksum',
                'os_hash_algo', 'os_hash_value', 'min_disk', 'min_ram',
                'owner', 'protected', 'created_at', 'updated_at',
                'deleted_at', 'deleted', 'upload_owner', 'upload_heartbeat')

# Sort keys a caller may choose, and the tie-breakers always appended.
SORT_KEYS = ('name', 'status', 'container_format', 'disk_format', 'size',
             'id', 'created_at', 'updated_at')
_NULLABLE_SORT = {'name': '', 'container_format': '', 'disk_format': '',
                  'size': -1}


@contextlib.contextmanager
def _session(write=False):
    try:
        sess = db_session.get_session()
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
        raise exception.DatabaseUnavailable() from e
    try:
        with sess:
            if write:
                with sess.begin():
                    yield sess
            else:
                yield sess
    except sa_exc.IntegrityError as e:
        raise exception.Duplicate(str(e.orig)) from e
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
        raise exception.DatabaseUnavailable() from e
    except sa_exc.DBAPIError as e:
        if e.connection_invalidated:
            raise exception.DatabaseUnavailable() from e
        raise


def _utcnow():
    return models.utcnow()


def image_to_dict(image):
    d = {f: getattr(image, f) for f in IMAGE_FIELDS}
    d['properties'] = {p.name: p.value for p in image.properties}
    locs = sorted(image.locations, key=lambda loc: loc.id)
    d['location_data'] = [
        {'id': loc.id, 'url': loc.value, 'status': loc.status,
         'metadata': json.loads(loc.meta_data) if loc.meta_data else {}}
        for loc in locs]
    active = [loc['url'] for loc in d['location_data']
              if loc['status'] == 'active']
    d['location'] = active[0] if active else None
    return d


class LocalRegistry:

    # -- visibility and ownership -------------------------------------

    @staticmethod
    def _member_subquery(owner):
        return sa.select(models.ImageMember.image_id).where(
            models.ImageMember.member == owner,
            models.ImageMember.deleted.is_(False))

    def _visible_clause(self, ctx):
        """SQL condition for images a non-admin caller may see."""
        owner = ctx.owner
        img = models.Image
        if owner is None:
            # An identity-less context (noauth) owns the owner-less images
            # it created, so they do not vanish from its own lists.
            return sa.or_(img.is_public.is_(True), img.owner.is_(None))
        return sa.or_(img.is_public.is_(True), img.owner == owner,
                      img.id.in_(self._member_subquery(owner)))

    def _is_member(self, sess, image_id, owner):
        if owner is None:
            return False
        q = sa.select(models.ImageMember.id).where(
            models.ImageMember.image_id == image_id,
            models.ImageMember.member == owner,
            models.ImageMember.deleted.is_(False))
        return sess.execute(q).first() is not None

    def _visible(self, ctx, sess, image):
        if ctx.is_admin or image.is_public:
            return True
        if image.owner is not None and image.owner == ctx.owner:
            return True
        if image.owner is None and ctx.owner is None:
            return True
        return self._is_member(sess, image.id, ctx.owner)

    def _load(self, ctx, sess, image_id, show_deleted=None, lock=False):
        if not image_id or len(image_id) > 36:
            raise exception.ImageNotFound(image_id=image_id)
        q = sa.select(models.Image).where(models.Image.id == image_id)
        if lock:
            q = q.with_for_update()
        image = sess.execute(q).scalar_one_or_none()
        if image is None:
            raise exception.ImageNotFound(image_id=image_id)
        if show_deleted is None:
            show_deleted = ctx.is_admin
        if image.deleted and not show_deleted:
            raise exception.ImageNotFound(image_id=image_id)
        if not self._visible(ctx, sess, image):
            raise exception.ImageNotFound(image_id=image_id)
        return image

    @staticmethod
    def _check_mutable(ctx, image):
        if ctx.is_admin:
            return
        if ctx.read_only:
            raise exception.Forbidden('Read-only access')
        if image.owner is None or image.owner != ctx.owner:
            raise exception.Forbidden(
                'You are not permitted to modify image %s.' % image.id)

    # -- images ---------------------------------------------------------

    def image_get(self, ctx, image_id):
        with _session() as sess:
            return image_to_dict(self._load(ctx, sess, image_id))

    def image_create(self, ctx, values):
        values = dict(values)
        props = values.pop('properties', None) or {}
        location = values.pop('location', None)
        if not ctx.is_admin or values.get('owner') is None:
            values['owner'] = ctx.owner
        image_id = values.pop('id', None) or str(uuid.uuid4())
        now = _utcnow()
        core = {k: v for k, v in values.items() if k in IMAGE_FIELDS}
        core.setdefault('created_at', now)
        core.setdefault('updated_at', core['created_at'])
        core.setdefault('status', 'queued')
        for key, default in (('size', 0), ('min_disk', 0), ('min_ram', 0),
                             ('protected', False), ('is_public', False),
                             ('deleted', False)):
            if core.get(key) is None:
                core[key] = default
        with _session(write=True) as sess:
            # Ids are never reused, whatever became of the old image
            # (OSSN-0075): the row of a deleted image stays.
            if sess.get(models.Image, image_id) is not None:
                raise exception.Duplicate(
                    'An image with identifier %s already exists' % image_id)
            image = models.Image(id=image_id, **core)
            sess.add(image)
            sess.flush()
            self._set_properties(sess, image_id, props, purge=False, now=now)
            if location:
                self._set_location(sess, image_id, location, now)
        return self._admin_get(image_id)

    def _admin_get(self, image_id):
        with _session() as sess:
            return image_to_dict(sess.get(models.Image, image_id))

    def image_update(self, ctx, image_id, values, purge_props=False,
                     from_state=None):
        values = dict(values)
        props = values.pop('properties', None)
        has_location = 'location' in values
        location = values.pop('location', None)
        now = _utcnow()
        with _session(write=True) as sess:
            image = self._load(ctx, sess, image_id, lock=True)
            self._check_mutable(ctx, image)
            if from_state is not None and image.status != from_state:
                raise exception.StateConflict(
                    'Image operation conflicts: image %s is %s, not %s'
                    % (image_id, image.status, from_state))
            if not ctx.is_admin:
                values.pop('owner', None)
            for key, value in values.items():
                if key in IMAGE_FIELDS and key not in ('id', 'created_at'):
                    setattr(image, key, value)
            image.updated_at = now
            if props is not None:
                self._set_properties(sess, image_id, props,
                                     purge=purge_props, now=now)
            if has_location:
                self._set_location(sess, image_id, location, now)
        return self._admin_get(image_id)

    def image_destroy(self, ctx, image_id, status='deleted',
                      location_status='deleted'):
        """Soft-delete an image with its properties and members; its
        locations are kept as ``location_status`` for a later scrub."""
        now = _utcnow()
        with _session(write=True) as sess:
            image = self._load(ctx, sess, image_id, lock=True)
            self._check_mutable(ctx, image)
            image.status = status
            image.deleted = True
            image.deleted_at = now
            image.updated_at = now
            for model in (models.ImageProperty, models.ImageMember):
                sess.execute(sa.update(model).where(
                    model.image_id == image_id,
                    model.deleted.is_(False)).values(
                        deleted=True, deleted_at=now))
            loc_values = {'status': location_status}
            if location_status == 'deleted':
                loc_values.update(deleted=True, deleted_at=now)
            sess.execute(sa.update(models.ImageLocation).where(
                models.ImageLocation.image_id == image_id,
                models.ImageLocation.deleted.is_(False)).values(**loc_values))
        return self._admin_get(image_id)

    @staticmethod
    def _set_properties(sess, image_id, props, purge, now):
        existing = {p.name: p for p in sess.execute(
            sa.select(models.ImageProperty).where(
                models.ImageProperty.image_id == image_id)).scalars()}
        for name, value in props.items():
            row = existing.get(name)
            if row is None:
                sess.add(models.ImageProperty(image_id=image_id, name=name,
                                              value=value, created_at=now))
            else:
                # The row of a once-deleted property is revived, since a
                # property name is unique per image.
                row.value = value
                row.deleted = False
                row.deleted_at = None
                row.updated_at = now
        if purge:
            for name, row in existing.items():
                if name not in props and not row.deleted:
                    row.deleted = True
                    row.deleted_at = now

    @staticmethod
    def _set_location(sess, image_id, url, now):
        sess.execute(sa.update(models.ImageLocation).where(
            models.ImageLocation.image_id == image_id,
            models.ImageLocation.deleted.is_(False)).values(
                deleted=True, deleted_at=now, status='deleted'))
        if url:
            sess.add(models.ImageLocation(image_id=image_id, value=url,
                                          status='active', created_at=now))

    # -- listing --------------------------------------------------------

    def image_list(self, ctx, filters=None, marker=None, limit=None,
                   sort_key='created_at', sort_dir='desc'):
        """A page of image dicts, filtered, sorted and paged in SQL.

        ``filters`` holds already validated values: ``is_public`` is True,
        False or None (None meaning all, for admins), ``changes-since`` a
        datetime, ``properties`` a dict.
        """
        filters = dict(filters or {})
        img = models.Image
        q = sa.select(img)
        changes_since = filters.pop('changes-since', None)
        if changes_since is not None:
            q = q.where(img.updated_at > changes_since)
            if not ctx.is_admin:
                q = q.where(self._visible_clause(ctx))
        else:
            q = q.where(img.deleted.is_(False), img.status != 'killed')
        is_public = filters.pop('is_public', True)
        if ctx.is_admin:
            if is_public is True:
                q = q.where(self._visible_clause(ctx))
            elif is_public is False:
                q = q.where(img.is_public.is_(False))
        elif changes_since is None:
            q = q.where(self._visible_clause(ctx))
        for name, value in (filters.pop('properties', None) or {}).items():
            prop = models.ImageProperty
            q = q.where(sa.exists().where(
                prop.image_id == img.id, prop.name == name,
                prop.value == value, prop.deleted.is_(False)))
        if 'size_min' in filters:
            q = q.where(img.size >= filters.pop('size_min'))
        if 'size_max' in filters:
            q = q.where(img.size <= filters.pop('size_max'))
        for key, value in filters.items():
            column = getattr(img, key)
            if isinstance(value, (list, tuple)):
                q = q.where(column.in_(value))
            else:
                q = q.where(column == value)

        keys = [sort_key] + [k for k in ('created_at', 'id')
                             if k != sort_key]
        columns = [self._sort_column(k) for k in keys]
        direction = sa.desc if sort_dir == 'desc' else sa.asc
        with _session() as sess:
            if marker is not None:
                q = q.where(self._after_marker(ctx, sess, marker, keys,
                                               columns, sort_dir))
            q = q.order_by(*[direction(c) for c in columns])
            if limit is not None:
                q = q.limit(limit)
            return [image_to_dict(i) for i in sess.execute(q).scalars()]

    @staticmethod
    def _sort_column(key):
        column = getattr(models.Image, key)
        if key in _NULLABLE_SORT:
            # NULLs sort the same on every database and keyset paging
            # can compare them.
            return sa.func.coalesce(column, _NULLABLE_SORT[key])
        return column

    def _after_marker(self, ctx, sess, marker, keys, columns, sort_dir):
        try:
            image = self._load(ctx, sess, marker, show_deleted=True)
        except exception.NotFound:
            raise exception.Invalid(
                'Invalid marker. Image could not be found.')
        values = []
        for key in keys:
            value = getattr(image, key)
            if value is None:
                value = _NULLABLE_SORT.get(key)
            values.append(value)
        cmp = (lambda c, v: c < v) if sort_dir == 'desc' else \
            (lambda c, v: c > v)
        # (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...
        clauses = []
        for i, column in enumerate(columns):
            eqs = [columns[j] == values[j] for j in range(i)]
            clauses.append(sa.and_(*eqs, cmp(column, values[i])))
        return sa.or_(*clauses)

    def storage_usage(self, owner, exclude_image_id=None):
        """Bytes held by ``owner``'s live images (for user_storage_quota)."""
        img = models.Image
        q = sa.select(sa.func.coalesce(sa.func.sum(img.size), 0)).where(
            img.owner == owner, img.deleted.is_(False),
            img.status.notin_(('killed', 'deleted')))
        if exclude_image_id:
            q = q.where(img.id != exclude_image_id)
        with _session() as sess:
            return int(sess.execute(q).scalar())
