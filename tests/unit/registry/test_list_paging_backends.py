"""Keyset paging over every sort key, with NULLs among the values, on
each database: they disagree on where NULLs sort (glance-v1-reference §5;
doc/decisions.rst "Sorting and NULLs").

SQLite always runs; PostgreSQL (127.0.0.1:5432, user postgres) and
MariaDB/MySQL (127.0.0.1:3306, root) run when reachable with their
drivers installed, and are skipped otherwise unless
GLANCE_V1_REQUIRE_BACKENDS=1, which turns their absence into a failure.
"""

import datetime
import os
import uuid

import sqlalchemy as sa

from glance_v1.registry.db import bulk
from glance_v1.registry.db import migration
from glance_v1.registry.db import models
from glance_v1.registry.db import session
from glance_v1.registry import local
from tests import base

SERVERS = {
    'postgresql': ('postgresql+psycopg://postgres@127.0.0.1:5432/%s',
                   'postgresql+psycopg://postgres@127.0.0.1:5432/postgres'),
    'mysql': ('mysql+pymysql://root@127.0.0.1:3306/%s?charset=utf8mb4',
              'mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4'),
}


class PagingMixin:

    backend = 'sqlite'

    def _database(self):
        """The URL of a throwaway database, dropped after the test."""
        if self.backend == 'sqlite':
            return 'sqlite:///%s' % os.path.join(self.tmp, 'paging.sqlite')
        url, admin_url = SERVERS[self.backend]
        name = 'glance_v1_paging_%s' % uuid.uuid4().hex[:8]
        try:
            engine = sa.create_engine(admin_url,
                                      isolation_level='AUTOCOMMIT')
            with engine.connect() as conn:
                conn.exec_driver_sql('CREATE DATABASE %s' % name)
        except Exception as e:
            if os.environ.get('GLANCE_V1_REQUIRE_BACKENDS') == '1':
                raise
            self.skipTest('%s is not available: %s' % (self.backend, e))

        def drop():
            session.dispose()
            with engine.connect() as conn:
                conn.exec_driver_sql('DROP DATABASE %s' % name)
            engine.dispose()
        self.addCleanup(drop)
        return url % name

    def setUp(self):
        super().setUp()
        self.conf.config(connection=self._database(), group='database')
        session.dispose()
        self.addCleanup(session.dispose)
        migration.upgrade()
        self.registry = local.LocalRegistry()

    def test_walk_every_sort_key(self):
        admin = base.admin_ctx()
        ids = set()
        for name, size in (('b', 3), (None, 1), ('a', 3), (None, 2),
                           ('b', None), ('c', 1), (None, None)):
            ids.add(self.registry.image_create(admin, {
                'name': name, 'size': size, 'is_public': True,
                'status': 'active'})['id'])
        filters = {'is_public': None}
        for key in local.SORT_KEYS:
            for direction in ('asc', 'desc'):
                full = [i['id'] for i in self.registry.image_list(
                    admin, filters, limit=100, sort_key=key,
                    sort_dir=direction)]
                self.assertEqual(ids, set(full))
                seen, marker = [], None
                while True:
                    page = self.registry.image_list(
                        admin, filters, marker=marker, limit=2,
                        sort_key=key, sort_dir=direction)
                    if not page:
                        break
                    seen.extend(i['id'] for i in page)
                    marker = page[-1]['id']
                # Pages walk the very order of the whole list.
                self.assertEqual(full, seen, (key, direction))

    def test_walk_keys_with_nulls_and_ties(self):
        """Every sort key, with ties among its values and NULLs where it is
        nullable, a caller who sees only some images, a filter, and pages
        that end inside the NULL run, inside a run of equal values and on
        the borders between runs: each walk is the unpaged list, every
        image once."""
        nullable = {key for key in local.SORT_KEYS
                    if models.Image.__table__.c[key].nullable}
        self.assertEqual(nullable, set(local._NULLABLE_SORT))
        start = datetime.datetime(2024, 5, 1)
        # Values cycled with different periods, so every key has NULLs and
        # ties in its own pattern; three images share each created_at, so
        # the id decides between them.
        cycles = {
            'name': ('b', None, 'a', None, 'b', 'c'),
            'size': (None, 7, 7, 3, None, 12, 3),
            'disk_format': ('raw', None, 'qcow2', 'raw', None),
            'container_format': (None, None, 'bare', 'ovf', 'bare'),
            'updated_at': (None, start, None, start + datetime.timedelta(
                hours=1), start),
        }
        images, visible = [], set()
        for i in range(30):
            image = {key: cycle[i % len(cycle)]
                     for key, cycle in cycles.items()}
            image.update(
                id=str(uuid.uuid4()), created_at=start + datetime.timedelta(
                    minutes=i // 3), deleted=i % 11 == 5,
                status='queued' if i % 9 == 4 else 'active',
                is_public=i % 3 == 0, owner='tenant%d' % (i % 2 + 1))
            images.append(image)
            if image['status'] == 'active' and not image['deleted'] and (
                    image['is_public'] or image['owner'] == 'tenant1'):
                visible.add(image['id'])
        # In bulk, as image_create stores no NULL size.
        with session.get_engine().begin() as conn:
            bulk.insert_images(conn, images)
        caller = base.ctx()
        filters = {'status': 'active'}
        for key in local.SORT_KEYS:
            for direction in ('asc', 'desc'):
                listed = self.registry.image_list(
                    caller, filters, sort_key=key, sort_dir=direction)
                full = [i['id'] for i in listed]
                self.assertEqual(visible, set(full), (key, direction))
                if key in nullable:
                    self.assertIn(None, [i[key] for i in listed])
                for limit in (1, 2, 3, 4, 7):
                    seen, marker = [], None
                    while True:
                        page = self.registry.image_list(
                            caller, filters, marker=marker, limit=limit,
                            sort_key=key, sort_dir=direction)
                        self.assertLessEqual(len(page), limit)
                        if not page:
                            break
                        seen.extend(i['id'] for i in page)
                        marker = page[-1]['id']
                    self.assertEqual(full, seen, (key, direction, limit))


    def _page_queries(self, run):
        """The statements (and parameters) of the image pages that
        ``run()`` lists: the SELECTs on images that ORDER BY."""
        seen = []

        def record(_conn, _cursor, statement, parameters, _context, _many):
            if statement.lstrip().startswith('SELECT images.id') and (
                    'ORDER BY' in statement):
                seen.append((statement, parameters))
        engine = session.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', record)
        try:
            run()
        finally:
            sa.event.remove(engine, 'before_cursor_execute', record)
        return seen

    def _sorts(self, conn, statement, parameters):
        """The lines of the statement's plan that say it sorts rows
        rather than reading them in an index's order."""
        if self.backend == 'postgresql':
            # Only whether an index can give the order, not whether the
            # planner prefers one on a table of a few thousand rows.
            conn.exec_driver_sql('SET enable_sort = off')
            conn.exec_driver_sql('SET enable_incremental_sort = off')
            plan = [row[0] for row in conn.exec_driver_sql(
                'EXPLAIN ' + statement, parameters)]
            return [line for line in plan if 'Sort' in line]
        if self.backend == 'mysql':
            plan = conn.exec_driver_sql('EXPLAIN ' + statement,
                                        parameters).mappings().all()
            # After a marker the index must be read as a range: MariaDB
            # may read it by "deleted" alone, from its first row on.
            bounded = ' > ' in statement or ' < ' in statement
            return [dict(row) for row in plan
                    if 'filesort' in (row['Extra'] or '') or (
                        bounded and row['table'] == 'images'
                        and row['type'] != 'range')]
        plan = [row[-1] for row in conn.exec_driver_sql(
            'EXPLAIN QUERY PLAN ' + statement, parameters)]
        return [line for line in plan if 'ORDER BY' in line]

    def test_every_page_is_read_in_index_order(self):
        """Each list page, for every sort key both ways, with and without
        a marker, as admin and as a tenant, filtered or not, reads an
        index in the requested order: its cost must not grow with the
        number of images (MySQL/MariaDB sort every row for a "deleted IS
        FALSE" that SQLite and PostgreSQL read from the index).

        That includes a marker's run of equal keys ("name IS NULL AND
        (created_at, id) > ..."). Property filters are left out: MySQL
        may rightly start from the few images that have the value."""
        start = datetime.datetime(2024, 5, 1)
        images = [{
            'id': str(uuid.uuid4()), 'name': 'image-%04d' % (i * 7 % 3000),
            'size': i, 'status': 'active' if i % 10 else 'queued',
            'disk_format': 'raw', 'container_format': 'bare',
            'is_public': i % 2 == 0, 'owner': 'tenant%d' % (i % 5),
            'created_at': start + datetime.timedelta(seconds=i),
            'deleted': i % 50 == 0} for i in range(3000)]
        engine = session.get_engine()
        with engine.begin() as conn:
            bulk.insert_images(conn, images)
            bulk.analyze(conn)
        marker = images[1502]['id']  # public, live
        callers = (base.admin_ctx(), base.ctx(tenant='tenant3'))
        filter_sets = ({}, {'is_public': None}, {'status': 'active'})

        def run():
            for caller in callers:
                for filters in filter_sets:
                    if 'is_public' in filters and not caller.is_admin:
                        continue
                    for key in local.SORT_KEYS:
                        for direction in ('asc', 'desc'):
                            for at in (None, marker):
                                self.registry.image_list(
                                    caller, dict(filters), marker=at,
                                    limit=25, sort_key=key,
                                    sort_dir=direction)
        queries = self._page_queries(run)
        self.assertGreater(len(queries), 150)
        sorting, checked = [], 0
        with engine.connect() as conn:
            for statement, parameters in queries:
                checked += 1
                lines = self._sorts(conn, statement, parameters)
                if lines:
                    sorting.append((statement, lines))
        self.assertEqual([], sorting[:3], '%d of %d pages not read in '
                         'index order' % (len(sorting), checked))


class SQLitePagingTest(PagingMixin, base.TestCase):
    backend = 'sqlite'


class PostgreSQLPagingTest(PagingMixin, base.TestCase):
    backend = 'postgresql'


class MySQLPagingTest(PagingMixin, base.TestCase):
    backend = 'mysql'
