"""The in-process registry: image records in a SQLAlchemy database.

Visibility and ownership are decided here, as the reference's registry did,
so that every caller of the registry (the API, glance-manage, the scrubber)
gets the same answers.
"""

import collections
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
_NULLABLE_SORT = ('name', 'container_format', 'disk_format', 'size',
                  'updated_at')
# Sort keys whose values hardly repeat.
_DISTINCT_SORT = ('id', 'created_at')
# Databases whose NULLs sort after every value in ascending order (the
# others put them first).
_NULLS_HIGH = ('postgresql', 'oracle')


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
                    db_session.lock_for_write(sess)
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


# Read statements built once: building a statement costs more than running
# it on a small table, and prebuilt ones hit the compiled-SQL cache.
# Boolean columns are compared with "=", never "IS": MySQL/MariaDB use no
# index for "deleted IS FALSE", so a list would sort every row to find a
# page instead of walking the (deleted, <sort key>, ...) index.
_IMAGES = models.Image.__table__
_PROPS = models.ImageProperty.__table__
_LOCS = models.ImageLocation.__table__
_MEMBERS = models.ImageMember.__table__
_IMAGE_BY_ID = sa.select(_IMAGES).where(_IMAGES.c.id == sa.bindparam('id'))
_IMAGE_ID = sa.select(_IMAGES.c.id).where(_IMAGES.c.id == sa.bindparam('id'))
_PROPS_OF = sa.select(_PROPS.c.image_id, _PROPS.c.name, _PROPS.c.value).where(
    _PROPS.c.image_id.in_(sa.bindparam('ids', expanding=True)),
    _PROPS.c.deleted == sa.false())
_LOCS_OF = sa.select(
    _LOCS.c.image_id, _LOCS.c.id, _LOCS.c.value, _LOCS.c.status,
    _LOCS.c.meta_data).where(
        _LOCS.c.image_id.in_(sa.bindparam('ids', expanding=True)),
        _LOCS.c.deleted == sa.false()).order_by(_LOCS.c.id)
_IS_MEMBER = sa.select(_MEMBERS.c.id).where(
    _MEMBERS.c.image_id == sa.bindparam('image_id'),
    _MEMBERS.c.member == sa.bindparam('member'),
    _MEMBERS.c.deleted == sa.false())


def image_dicts(sess, images):
    """Dicts of image rows (ORM objects or Core rows), with the properties
    and locations of all of them fetched in two queries."""
    ids = [image.id for image in images]
    props = collections.defaultdict(dict)
    locs = collections.defaultdict(list)
    if ids:
        conn = sess.connection()
        for image_id, name, value in conn.execute(_PROPS_OF, {'ids': ids}):
            props[image_id][name] = value
        for row in conn.execute(_LOCS_OF, {'ids': ids}):
            locs[row.image_id].append({
                'id': row.id, 'url': row.value, 'status': row.status,
                'metadata': json.loads(row.meta_data) if row.meta_data
                else {}})
    result = []
    for image in images:
        mapping = getattr(image, '_mapping', None)
        if mapping is not None:
            d = {f: mapping[f] for f in IMAGE_FIELDS}
        else:
            d = {f: getattr(image, f) for f in IMAGE_FIELDS}
        d['properties'] = props[image.id]
        d['location_data'] = locs[image.id]
        active = [loc['url'] for loc in d['location_data']
                  if loc['status'] == 'active']
        d['location'] = active[0] if active else None
        result.append(d)
    return result


def image_to_dict(sess, image):
    return image_dicts(sess, [image])[0]


_NO_MEMBERSHIP = 'Membership could not be found.'


def _member_dict(row):
    return {'member_id': row.member, 'can_share': bool(row.can_share)}


def _beyond(columns, values, asc):
    """Rows after ``values`` (none of them NULL) in the order of
    ``columns``: (k1 after v1) OR (k1 = v1 AND k2 after v2) OR ..., with
    the bound on the first key alone that databases turn into an index
    range (the tie-breakers of a sort key, which are rarely equal)."""
    def after(column, value):
        return column > value if asc else column < value

    clauses = [sa.and_(*[columns[j] == values[j] for j in range(i)],
                       after(column, values[i]))
               for i, column in enumerate(columns)]
    bound = columns[0] >= values[0] if asc else columns[0] <= values[0]
    return sa.and_(bound, sa.or_(*clauses))


class LocalRegistry:

    # -- visibility and ownership -------------------------------------

    @staticmethod
    def _member_subquery(owner):
        return sa.select(models.ImageMember.image_id).where(
            models.ImageMember.member == owner,
            models.ImageMember.deleted == sa.false())

    def _visible_clause(self, ctx):
        """SQL condition for images a non-admin caller may see."""
        owner = ctx.owner
        img = models.Image
        if owner is None:
            # The noauth context (an admin without owner) owns the
            # owner-less images it created, so they do not vanish from its
            # own lists; other owner-less callers (anonymous access, an
            # identity without project) own nothing (doc/decisions.rst).
            if ctx.is_admin:
                return sa.or_(img.is_public == sa.true(), img.owner.is_(None))
            return img.is_public == sa.true()
        return sa.or_(img.is_public == sa.true(), img.owner == owner,
                      img.id.in_(self._member_subquery(owner)))

    def _is_member(self, sess, image_id, owner):
        if owner is None:
            return False
        return sess.connection().execute(_IS_MEMBER, {
            'image_id': image_id, 'member': owner}).first() is not None

    def _visible(self, ctx, sess, image):
        if ctx.is_admin or image.is_public:
            return True
        if image.owner is not None and image.owner == ctx.owner:
            return True
        return self._is_member(sess, image.id, ctx.owner)

    def _load(self, ctx, sess, image_id, show_deleted=None, lock=False):
        """The visible image ``image_id``: an ORM object to change when
        ``lock``, else a plain row (reads skip the ORM's cost)."""
        if not image_id or len(image_id) > 36:
            raise exception.ImageNotFound(image_id=image_id)
        if lock:
            q = sa.select(models.Image).where(
                models.Image.id == image_id).with_for_update()
            image = sess.execute(q).scalar_one_or_none()
        else:
            image = sess.connection().execute(
                _IMAGE_BY_ID, {'id': image_id}).first()
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
            return image_to_dict(sess, self._load(ctx, sess, image_id))

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
            conn = sess.connection()
            # Ids are never reused, whatever became of the old image
            # (OSSN-0075): the row of a deleted image stays.
            if conn.execute(_IMAGE_ID, {'id': image_id}).first() is not None:
                raise exception.Duplicate(
                    'An image with identifier %s already exists' % image_id)
            # Core inserts: the ORM's unit of work would cost a create
            # more than its SQL does.
            row = {f: core.get(f) for f in IMAGE_FIELDS}
            row['id'] = image_id
            conn.execute(_IMAGES.insert(), row)
            if props:
                conn.execute(_PROPS.insert(), [
                    {'image_id': image_id, 'name': name, 'value': value,
                     'created_at': now, 'deleted': False}
                    for name, value in props.items()])
            if location:
                self._set_location(sess, image_id, location, now)
                sess.flush()
                return image_to_dict(sess, conn.execute(
                    _IMAGE_BY_ID, {'id': image_id}).one())
            return dict(row, properties=dict(props), location_data=[],
                        location=None)

    def _admin_get(self, image_id):
        with _session() as sess:
            return image_to_dict(sess, sess.get(models.Image, image_id))

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
                    model.deleted == sa.false()).values(
                        deleted=True, deleted_at=now))
            loc_values = {'status': location_status}
            if location_status == 'deleted':
                loc_values.update(deleted=True, deleted_at=now)
            sess.execute(sa.update(models.ImageLocation).where(
                models.ImageLocation.image_id == image_id,
                models.ImageLocation.deleted == sa.false()).values(
                    **loc_values))
        return self._admin_get(image_id)

    @staticmethod
    def _set_properties(sess, image_id, props, purge, now, existing=None):
        """Set ``props``; ``existing`` (name -> row, deleted ones too) is
        looked up unless the caller knows it, e.g. for a new image."""
        if existing is None:
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
            models.ImageLocation.deleted == sa.false()).values(
                deleted=True, deleted_at=now, status='deleted'))
        if url:
            sess.add(models.ImageLocation(image_id=image_id, value=url,
                                          status='active', created_at=now))

    # -- members --------------------------------------------------------

    @staticmethod
    def _live_members(sess, image_id, member=None):
        q = sa.select(models.ImageMember).where(
            models.ImageMember.image_id == image_id,
            models.ImageMember.deleted == sa.false())
        if member is not None:
            q = q.where(models.ImageMember.member == member)
        return {m.member: m for m in sess.execute(
            q.order_by(models.ImageMember.id)).scalars()}

    def _check_sharable(self, ctx, sess, image):
        """Admins, the owner and members with can_share may share."""
        if ctx.is_admin or (image.owner is not None and
                            image.owner == ctx.owner):
            return
        row = self._live_members(sess, image.id, ctx.owner).get(ctx.owner) \
            if ctx.owner is not None else None
        if row is None or not row.can_share:
            raise exception.Forbidden('No permission to share that image')

    @staticmethod
    def _sees_all_members(ctx, image):
        return ctx.is_admin or (image.owner is not None and
                                image.owner == ctx.owner)

    def image_members(self, ctx, image_id):
        """Members of a visible image; a member that does not own the
        image sees only its own membership."""
        with _session() as sess:
            image = self._load(ctx, sess, image_id)
            rows = self._live_members(sess, image_id)
            if not self._sees_all_members(ctx, image):
                rows = {k: v for k, v in rows.items() if k == ctx.owner}
            return [_member_dict(m) for m in rows.values()]

    def image_member_get(self, ctx, image_id, member):
        with _session() as sess:
            image = self._load(ctx, sess, image_id)
            row = None
            if self._sees_all_members(ctx, image) or member == ctx.owner:
                row = self._live_members(sess, image_id, member).get(member)
            if row is None:
                raise exception.NotFound(_NO_MEMBERSHIP)
            return _member_dict(row)

    def image_member_count(self, ctx, image_id):
        """Live memberships of an image ``ctx`` can see (for
        image_member_quota)."""
        q = sa.select(sa.func.count()).select_from(models.ImageMember).where(
            models.ImageMember.image_id == image_id,
            models.ImageMember.deleted == sa.false())
        with _session() as sess:
            self._load(ctx, sess, image_id)
            return sess.execute(q).scalar()

    def image_members_replace(self, ctx, image_id, memberships):
        """Make ``memberships`` (member -> can_share, None keeping an
        existing member's flag) the image's member list."""
        now = _utcnow()
        with _session(write=True) as sess:
            image = self._load(ctx, sess, image_id, lock=True)
            self._check_sharable(ctx, sess, image)
            existing = self._live_members(sess, image_id)
            for member, row in existing.items():
                if member not in memberships:
                    row.deleted = True
                    row.deleted_at = now
            for member, can_share in memberships.items():
                self._upsert_member(sess, image_id, existing.get(member),
                                    member, can_share, now)

    def image_member_add(self, ctx, image_id, member, can_share=None):
        now = _utcnow()
        with _session(write=True) as sess:
            image = self._load(ctx, sess, image_id, lock=True)
            self._check_sharable(ctx, sess, image)
            row = self._live_members(sess, image_id, member).get(member)
            self._upsert_member(sess, image_id, row, member, can_share, now)

    @staticmethod
    def _upsert_member(sess, image_id, row, member, can_share, now):
        if row is None:
            sess.add(models.ImageMember(
                image_id=image_id, member=member, can_share=bool(can_share),
                created_at=now, updated_at=now))
        elif can_share is not None:
            row.can_share = can_share
            row.updated_at = now

    def image_member_delete(self, ctx, image_id, member):
        now = _utcnow()
        with _session(write=True) as sess:
            image = self._load(ctx, sess, image_id, lock=True)
            self._check_sharable(ctx, sess, image)
            row = self._live_members(sess, image_id, member).get(member)
            if row is None:
                raise exception.NotFound(_NO_MEMBERSHIP)
            row.deleted = True
            row.deleted_at = now

    def shared_images(self, ctx, member):
        """Memberships of ``member`` on live images: all of them for an
        admin or for ``member`` itself, else those on the caller's
        images."""
        mem, img = models.ImageMember, models.Image
        q = sa.select(mem.image_id, mem.can_share).join(
            img, img.id == mem.image_id).where(
                mem.member == member, mem.deleted == sa.false(),
                img.deleted == sa.false())
        if not ctx.is_admin and member != ctx.owner:
            if ctx.owner is None:
                return []
            q = q.where(img.owner == ctx.owner)
        with _session() as sess:
            return [{'image_id': image_id, 'can_share': bool(can_share)}
                    for image_id, can_share in sess.execute(
                        q.order_by(mem.id))]

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
        q = sa.select(img.__table__)
        changes_since = filters.pop('changes-since', None)
        if changes_since is not None:
            q = q.where(img.updated_at > changes_since)
            if not ctx.is_admin:
                q = q.where(self._visible_clause(ctx))
        else:
            q = q.where(img.deleted == sa.false(), img.status != 'killed')
        is_public = filters.pop('is_public', True)
        if ctx.is_admin:
            if is_public is True:
                q = q.where(self._visible_clause(ctx))
            elif is_public is False:
                q = q.where(img.is_public == sa.false())
        elif changes_since is None:
            q = q.where(self._visible_clause(ctx))
        properties = filters.pop('properties', None) or {}
        for name, value in properties.items():
            prop = models.ImageProperty
            q = q.where(sa.exists().where(
                prop.image_id == img.id, prop.name == name,
                prop.value == value, prop.deleted == sa.false()))
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
        columns = [getattr(img, k) for k in keys]
        direction = sa.desc if sort_dir == 'desc' else sa.asc
        # Plain columns, so that the (deleted, <key>, created_at, id)
        # indexes serve the order and the page costs the same for any
        # number of images.
        order = [direction(c) for c in columns]
        if not properties and changes_since is None:
            # MariaDB picks that index but reads it by "deleted" alone,
            # without the range after a marker: in descending order, one
            # half-way through 100,000 images walked 50,000 rows (130 ms).
            # A property filter keeps the optimizer's choice (it may start
            # from the few images that have the value), and so does
            # changes-since, which lists deleted images too and is best
            # read from updated_at.
            q = q.with_hint(models.Image, 'FORCE INDEX (%s)'
                            % models.sort_index(sort_key), 'mysql')
        with _session() as sess:
            parts = [(sa.true(), False)]
            if marker is not None:
                parts = self._after_marker(ctx, sess, marker, keys, columns,
                                           sort_dir)
            rows = []
            for part, pinned in parts:
                if limit is not None and len(rows) >= limit:
                    break
                # Where the part fixes the sort key, ordering by it too
                # makes MariaDB sort the run ("name IS NULL" is not an
                # equality to its optimizer).
                page = q.where(part).order_by(*order[pinned:])
                if limit is not None:
                    page = page.limit(limit - len(rows))
                rows.extend(sess.connection().execute(page).all())
            return image_dicts(sess, rows)

    def _after_marker(self, ctx, sess, marker, keys, columns, sort_dir):
        """Keyset conditions for the rows after ``marker`` in the order of
        ``columns`` (one direction, NULLs where the database sorts them),
        to be queried in turn: the rest of the marker's run of equal
        sort keys, then the keys beyond it, then the NULL run if it comes
        after them. Each comes with whether it fixes the sort key.

        Each is a range of the (deleted, <key>, created_at, id) index.
        One condition ORing them would leave the database no range to
        scan ("key > v OR key IS NULL", or "key = v AND created_at > c OR
        key > v" with a common key), and a deep marker would cost a walk
        over every row before it.
        """
        try:
            image = self._load(ctx, sess, marker, show_deleted=True)
        except exception.NotFound:
            raise exception.Invalid(
                'Invalid marker. Image could not be found.')
        asc = sort_dir != 'desc'
        nulls_high = sess.get_bind().dialect.name in _NULLS_HIGH
        nulls_last = asc == nulls_high
        values = [getattr(image, key) for key in keys]
        first, value = columns[0], values[0]
        if keys[0] in _DISTINCT_SORT:
            # Hardly ever a run of equal keys: one range, and no query
            # for a run of one row (which MySQL plans on the primary key).
            return [(_beyond(columns, values, asc), False)]
        same = first.is_(None) if value is None else first == value
        parts = [(sa.and_(same, _beyond(columns[1:], values[1:], asc)),
                  True)]
        if value is None:
            if not nulls_last:
                parts.append((first.isnot(None), False))
            return parts
        # A comparison with a value is never true for NULL.
        parts.append((first > value if asc else first < value, False))
        if nulls_last and keys[0] in _NULLABLE_SORT:
            parts.append((first.is_(None), True))
        return parts

    def storage_usage(self, ctx, owner, exclude_image_id=None):
        """Bytes held by ``owner``'s live images (for user_storage_quota);
        only the owner itself and admins may ask."""
        if not ctx.is_admin and owner != ctx.owner:
            raise exception.Forbidden(
                'Only an owner may know its storage usage')
        img = models.Image
        q = sa.select(sa.func.coalesce(sa.func.sum(img.size), 0)).where(
            img.owner == owner, img.deleted == sa.false(),
            img.status.notin_(('killed', 'deleted')))
        if exclude_image_id:
            q = q.where(img.id != exclude_image_id)
        with _session() as sess:
            return int(sess.execute(q).scalar())
