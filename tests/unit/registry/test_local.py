"""The in-process registry: ownership, visibility, guards, paging."""

import collections
import datetime
import threading

from glance_v1.common import exception
from tests import base


class TestLocalRegistry(base.DatabaseTestCase):

    def create(self, ctx=None, **values):
        values.setdefault('status', 'active')
        return self.registry.image_create(ctx or base.ctx(), values)

    def test_create_stamps_owner(self):
        image = self.create(owner='someone-else', name='x')
        self.assertEqual('tenant1', image['owner'])
        image = self.create(base.admin_ctx(), owner='chosen')
        self.assertEqual('chosen', image['owner'])
        self.assertEqual(0, image['size'])
        self.assertFalse(image['is_public'])

    def test_visibility(self):
        private = self.create()
        public = self.create(base.admin_ctx(), is_public=True)
        other = base.ctx(tenant='tenant2')
        self.assertRaises(exception.NotFound, self.registry.image_get,
                          other, private['id'])
        self.assertEqual(public['id'],
                         self.registry.image_get(other, public['id'])['id'])
        ids = [i['id'] for i in self.registry.image_list(other)]
        self.assertIn(public['id'], ids)
        self.assertNotIn(private['id'], ids)

    def test_quota_figures_only_for_those_who_may_know(self):
        mine = self.create(size=100)
        self.create(size=20)
        other = base.ctx(tenant='tenant2')
        usage = self.registry.storage_usage
        self.assertEqual(120, usage(base.ctx(), 'tenant1'))
        self.assertEqual(20, usage(base.ctx(), 'tenant1',
                                   exclude_image_id=mine['id']))
        self.assertEqual(120, usage(base.admin_ctx(), 'tenant1'))
        self.assertRaises(exception.Forbidden, usage, other, 'tenant1')
        self.registry.image_member_add(base.ctx(), mine['id'], 'tenant3')
        count = self.registry.image_member_count
        self.assertEqual(1, count(base.ctx(), mine['id']))
        # Counting members of an image one cannot see: it does not exist.
        self.assertRaises(exception.NotFound, count, other, mine['id'])

    def test_only_owner_or_admin_mutates(self):
        public = self.create(base.admin_ctx(), is_public=True)
        self.assertRaises(exception.Forbidden, self.registry.image_update,
                          base.ctx(tenant='tenant2'), public['id'],
                          {'name': 'x'})
        self.assertRaises(exception.Forbidden, self.registry.image_destroy,
                          base.ctx(tenant='tenant2'), public['id'])
        mine = self.create()
        self.assertRaises(exception.Forbidden, self.registry.image_update,
                          base.ctx(read_only=True), mine['id'],
                          {'name': 'x'})
        updated = self.registry.image_update(base.ctx(), mine['id'],
                                             {'name': 'x', 'owner': 'evil'})
        self.assertEqual('x', updated['name'])
        self.assertEqual('tenant1', updated['owner'])

    def test_from_state_guard_holds_between_racing_writers(self):
        # Two writers read "queued" at once and both change it: on
        # SQLite, which ignores FOR UPDATE, only a write lock taken
        # before the read keeps the second from passing the guard.
        images = [self.create(status='queued')['id'] for _ in range(30)]
        won = collections.Counter()
        start = threading.Barrier(4)

        def race():
            start.wait()
            for image_id in images:
                try:
                    self.registry.image_update(
                        base.ctx(), image_id, {'status': 'saving'},
                        from_state='queued')
                except exception.StateConflict:
                    continue
                won[image_id] += 1

        workers = [threading.Thread(target=race) for _ in range(4)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(60)
        self.assertEqual({i: 1 for i in images}, dict(won))

    def test_from_state_guard(self):
        image = self.create(status='queued')
        self.registry.image_update(base.ctx(), image['id'],
                                   {'status': 'saving'}, from_state='queued')
        self.assertRaises(exception.StateConflict,
                          self.registry.image_update, base.ctx(),
                          image['id'], {'status': 'saving'},
                          from_state='queued')

    def test_properties_purge_and_revive(self):
        image = self.create(properties={'a': '1', 'b': '2'})
        ctx = base.ctx()
        got = self.registry.image_update(ctx, image['id'],
                                         {'properties': {'c': '3'}})
        self.assertEqual({'a': '1', 'b': '2', 'c': '3'}, got['properties'])
        got = self.registry.image_update(ctx, image['id'],
                                         {'properties': {'c': '4'}},
                                         purge_props=True)
        self.assertEqual({'c': '4'}, got['properties'])
        got = self.registry.image_update(ctx, image['id'],
                                         {'properties': {'a': '5'}},
                                         purge_props=True)
        self.assertEqual({'a': '5'}, got['properties'])

    def test_locations(self):
        image = self.create(location='file:///x/1')
        self.assertEqual('file:///x/1', image['location'])
        image = self.registry.image_update(base.ctx(), image['id'],
                                           {'location': 'file:///x/2'})
        self.assertEqual('file:///x/2', image['location'])
        self.assertEqual(['file:///x/2'],
                         [loc['url'] for loc in image['location_data']])

    def test_destroy_soft_deletes_and_keeps_id(self):
        image = self.create(properties={'a': '1'})
        gone = self.registry.image_destroy(base.ctx(), image['id'])
        self.assertTrue(gone['deleted'])
        self.assertEqual('deleted', gone['status'])
        self.assertEqual({}, gone['properties'])
        self.assertRaises(exception.NotFound, self.registry.image_get,
                          base.ctx(), image['id'])
        self.assertEqual('deleted', self.registry.image_get(
            base.admin_ctx(), image['id'])['status'])
        self.assertRaises(exception.Duplicate, self.create, id=image['id'])

    def test_list_hides_killed_and_deleted_unless_changes_since(self):
        killed = self.create(status='killed')
        deleted = self.create()
        self.registry.image_destroy(base.ctx(), deleted['id'])
        live = self.create()
        ids = [i['id'] for i in self.registry.image_list(base.ctx())]
        self.assertEqual([live['id']], ids)
        since = datetime.datetime(2000, 1, 1)
        ids = {i['id'] for i in self.registry.image_list(
            base.ctx(), {'changes-since': since})}
        self.assertEqual({killed['id'], deleted['id'], live['id']}, ids)

    def test_keyset_paging_covers_everything_once(self):
        names = ['b', None, 'a', 'b', None, 'c', 'a']
        created = [self.create(name=n, size=i) for i, n in
                   enumerate(names)]
        for sort_key in ('name', 'size', 'created_at', 'id'):
            for sort_dir in ('asc', 'desc'):
                seen = []
                marker = None
                while True:
                    page = self.registry.image_list(
                        base.ctx(), marker=marker, limit=2,
                        sort_key=sort_key, sort_dir=sort_dir)
                    if not page:
                        break
                    seen.extend(i['id'] for i in page)
                    marker = page[-1]['id']
                self.assertEqual(sorted(i['id'] for i in created),
                                 sorted(seen), (sort_key, sort_dir))
                self.assertEqual(len(seen), len(set(seen)))

    def test_unknown_marker(self):
        error = self.assertRaises(
            exception.Invalid, self.registry.image_list, base.ctx(),
            marker='6f1e6a5e-1c1a-4b8e-9f10-5a3a2d9b1c11')
        self.assertEqual('Invalid marker. Image could not be found.',
                         str(error))
