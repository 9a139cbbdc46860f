"""Image lists: filters, sorting, paging and their 400s
(glance-v1-reference §5; §15 test_filtered_images, test_limited_images,
test_ordered_images)."""

import urllib.parse

from tests.functional import base

CREATOR = base.identity('list-owner', roles='admin')
STRANGER = base.identity('list-stranger')
ADMIN = base.identity('list-admin', roles='admin')


class ListTestBase(base.FunctionalTest):

    flavor = 'trusted-auth'

    def list(self, headers=ADMIN, detail=True, **params):
        path = '/v1/images/detail' if detail else '/v1/images'
        if params:
            path += '?' + urllib.parse.urlencode(params)
        resp = self.request('GET', path, headers)
        self.assertEqual(200, resp.status, (path, resp))
        return resp.json['images']

    def ids(self, headers=ADMIN, **params):
        return [i['id'] for i in self.list(headers, **params)]

    def bad(self, message, **params):
        resp = self.request('GET', '/v1/images/detail?'
                            + urllib.parse.urlencode(params), ADMIN)
        self.assertEqual(400, resp.status, (params, resp))
        self.assertIn(message.encode(), resp.body)

    @classmethod
    def make(cls, headers, body, **meta):
        hdrs = dict(base.IMAGE_HEADERS, **headers)
        hdrs.update({'x-image-meta-%s' % k.replace('property_', 'property-'):
                     v for k, v in meta.items()})
        hdrs['Content-Type'] = 'application/octet-stream'
        resp = cls.request(cls, 'POST', '/v1/images', hdrs, body,
                           api=cls.shared_api)
        assert resp.status == 201, resp
        return resp.json['image']['id']


class FilteredImagesTest(ListTestBase):
    """The reference's four images: three public "My Image!" of sizes 19,
    20 and 21 (ovf/vdi, the first protected), one private ami image of
    another tenant, of size 22. Their data is not of those formats, which
    only ``require_image_format_match`` lets in."""

    conf = {'image_format': {'require_image_format_match': 'false'}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        public = {'is_public': 'true', 'name': 'My Image!',
                  'container_format': 'ovf', 'disk_format': 'vdi'}
        cls.ids_by_size = {
            19: cls.make(CREATOR, b'x' * 19, protected='true',
                         property_pants='are on', min_ram='256', **public),
            20: cls.make(CREATOR, b'x' * 20, property_pants='are on',
                         **public),
            21: cls.make(CREATOR, b'x' * 21, property_pants='are off',
                         **public),
            22: cls.make(STRANGER, b'x' * 22, name='My Private Image',
                         container_format='ami', disk_format='ami'),
        }

    def sizes(self, headers=ADMIN, **params):
        return sorted(i['size'] for i in self.list(headers, **params))

    def test_default_lists(self):
        self.assertEqual([19, 20, 21], self.sizes())
        self.assertEqual([19, 20, 21, 22], self.sizes(STRANGER))
        brief = self.list(detail=False)[0]
        self.assertEqual({'id', 'name', 'size', 'disk_format',
                          'container_format', 'checksum'}, set(brief))
        detail = self.list()[0]
        self.assertNotIn('location', detail)
        self.assertIn('properties', detail)

    def test_string_filters(self):
        self.assertEqual([19, 20, 21], self.sizes(name='My Image!'))
        self.assertEqual([], self.sizes(status='queued'))
        self.assertEqual([19, 20, 21], self.sizes(status='active'))
        self.assertEqual([19, 20, 21], self.sizes(container_format='ovf'))
        self.assertEqual([19, 20, 21], self.sizes(disk_format='vdi'))
        self.assertEqual([22], self.sizes(is_public='none',
                                          disk_format='ami'))
        self.assertEqual([19, 20, 21, 22], self.sizes(
            is_public='none', name='in:"My Image!",My Private Image'))
        self.assertEqual([19, 20, 21], self.sizes(name='eq:My Image!'))
        # A colon with another prefix is matched literally, never a 500.
        self.assertEqual([], self.sizes(name='foo:bar'))

    def test_number_filters(self):
        self.assertEqual([20, 21], self.sizes(size_min='20'))
        self.assertEqual([19, 20], self.sizes(size_max='20'))
        self.assertEqual([20], self.sizes(size_min='20', size_max='20'))
        self.assertEqual([19], self.sizes(min_ram='256'))
        self.assertEqual([20, 21], self.sizes(min_ram='0'))
        self.assertEqual([19, 20, 21], self.sizes(min_disk='0'))

    def test_is_public_admin_semantics(self):
        self.assertEqual([19, 20, 21, 22], self.sizes(is_public='None'))
        self.assertEqual([22], self.sizes(is_public='False'))
        self.assertEqual([19, 20, 21], self.sizes(is_public='True'))
        # Ignored for non-admins.
        self.assertEqual([19, 20, 21, 22], self.sizes(STRANGER,
                                                      is_public='none'))
        self.assertEqual([22], self.sizes(STRANGER, is_public='false',
                                          disk_format='ami'))

    def test_protected_and_property_filters(self):
        self.assertEqual([19], self.sizes(protected='True'))
        self.assertEqual([20, 21], self.sizes(protected='False'))
        self.assertEqual([19, 20, 21], self.sizes(protected='none'))
        self.assertEqual([19, 20], self.sizes(**{'property-pants': 'are on'}))
        self.assertEqual([21], self.sizes(**{'property-pants': 'are off'}))
        self.assertEqual([], self.sizes(**{'property-pants': 'are'}))

    def test_changes_since(self):
        self.assertEqual([19, 20, 21], self.sizes(**{
            'changes-since': '2000-01-01T00:00:00'}))
        self.assertEqual([19, 20, 21], self.sizes(**{
            'changes-since': '2000-01-01T00:00:00+01:00'}))
        self.assertEqual([19, 20, 21], self.sizes(**{
            'changes-since': '2000-01-01T00:00:00Z'}))
        self.assertEqual([], self.sizes(**{
            'changes-since': '2999-01-01T00:00:00-05:00'}))

    def test_bad_values(self):
        for key in ('size_min', 'size_max', 'min_ram'):
            self.bad('Bad value passed to filter %s got -1' % key,
                     **{key: '-1'})
            self.bad('Bad value passed to filter %s got x' % key,
                     **{key: 'x'})
        self.bad('Bad value passed to filter min_ram got 2147483648',
                 min_ram='2147483648')
        self.bad('Bad value passed to filter protected got maybe',
                 protected='maybe')
        self.bad('Bad value passed to filter is_public got maybe',
                 is_public='maybe')
        self.bad('Unrecognized changes-since value',
                 **{'changes-since': 'yesterday'})
        self.bad('Unsupported sort_key. Acceptable values: name, status, '
                 'container_format, disk_format, size, id, created_at, '
                 'updated_at', sort_key='owner')
        self.bad('Unsupported sort_dir. Acceptable values: asc, desc',
                 sort_dir='up')
        self.bad('limit param must be an integer', limit='ten')
        self.bad('limit param must be positive', limit='-1')
        self.bad('Invalid marker format', marker='nope')
        self.bad('Invalid marker. Image could not be found.',
                 marker='00000000-0000-0000-0000-000000000000')

    def test_order_of_bad_values(self):
        # Which 400 wins, as Glance 15 answers (seen by tests/differential):
        # the API's filters, then changes-since, limit, sort_key, sort_dir
        # and the marker.
        self.bad('Bad value passed to filter size_min got x',
                 **{'changes-since': 'yesterday', 'size_min': 'x'})
        self.bad('Unrecognized changes-since value',
                 **{'changes-since': 'yesterday', 'limit': 'x'})
        self.bad('limit param must be an integer', sort_key='owner',
                 limit='x')
        self.bad('limit param must be an integer', sort_dir='up',
                 limit='x')
        self.bad('Unsupported sort_key', sort_dir='up', sort_key='owner',
                 marker='nope')

    def test_invisible_marker(self):
        resp = self.request('GET', '/v1/images?marker=%s'
                            % self.ids_by_size[22], base.identity('x'))
        self.assertEqual(400, resp.status)

    def test_limited_images(self):
        newest_first = [self.ids_by_size[s] for s in (21, 20, 19)]
        self.assertEqual(newest_first, self.ids())
        self.assertEqual(newest_first[:1], self.ids(limit=1))
        self.assertEqual(newest_first[1:], self.ids(marker=newest_first[0]))
        self.assertEqual(newest_first[1:2], self.ids(limit=1,
                                                     marker=newest_first[0]))
        self.assertEqual([], self.ids(limit=0))

    def test_ordered_images(self):
        by_size = self.ids_by_size
        self.assertEqual([by_size[s] for s in (21, 20, 19)], self.ids())
        self.assertEqual([by_size[s] for s in (19, 20, 21)],
                         self.ids(sort_dir='asc'))
        self.assertEqual([by_size[s] for s in (22, 21, 20, 19)],
                         self.ids(is_public='none', sort_key='size'))
        self.assertEqual([by_size[s] for s in (19, 20, 21, 22)],
                         self.ids(is_public='none', sort_key='name',
                                  sort_dir='asc'))
        self.assertEqual([by_size[s] for s in (20, 19)],
                         self.ids(sort_key='size', marker=by_size[21]))


class HiddenImagesTest(ListTestBase):
    """Deleted and killed images leave the lists, but not changes-since."""

    def test_deleted_and_killed(self):
        owner = base.identity('hide-t')
        live = self.make(owner, b'live')
        deleted = self.make(owner, b'gone')
        self.assertEqual(200, self.request('DELETE', '/v1/images/%s'
                                           % deleted, owner).status)
        killed = self.create(headers=owner).json['image']['id']
        resp = self.request('PUT', '/v1/images/%s' % killed, dict(
            owner, **{'Content-Type': 'application/octet-stream',
                      'x-image-meta-size': '3'}), b'four')
        self.assertEqual(400, resp.status)
        self.assertEqual('killed', self.image_status(killed, owner))

        self.assertEqual([live], self.ids(owner))
        self.assertEqual({live}, set(self.ids(is_public='none')) & {
            live, deleted, killed})
        since = {'changes-since': '2000-01-01T00:00:00'}
        self.assertEqual({live, deleted, killed}, set(self.ids(owner,
                                                               **since)))
        statuses = {i['id']: i['status'] for i in self.list(
            ADMIN, is_public='none', **since)}
        self.assertEqual('deleted', statuses[deleted])
        self.assertEqual('killed', statuses[killed])
        # Properties of deleted images are deleted with them.
        self.assertEqual([], self.ids(owner, **dict(since, **{
            'property-gone': 'x'})))
        # Admins see a deleted image on HEAD.
        resp = self.request('HEAD', '/v1/images/%s' % deleted, ADMIN)
        self.assertEqual((200, 'deleted'), (resp.status, resp.header(
            'x-image-meta-status')))
        self.assertEqual(404, self.request('HEAD', '/v1/images/%s'
                                           % deleted, owner).status)


class PagingTest(ListTestBase):
    """Keyset paging visits every image once, whatever the sort key, with
    NULLs among the values."""

    conf = {'DEFAULT': {'limit_param_default': '3', 'api_limit_max': '4'}}

    def test_limits(self):
        owner = base.identity('page-t')
        for _ in range(5):
            self.make(owner, b'x')
        self.assertEqual(3, len(self.ids(owner)))
        self.assertEqual(4, len(self.ids(owner, limit=1000)))

    def test_walk_all_sort_keys(self):
        owner = base.identity('walk-t')
        for name, size in (('b', 3), ('', 1), ('a', 3), ('', 2), ('b', 0),
                           ('c', 1)):
            self.make(owner, b'x' * size, name=name)
        everything = set(self.ids(owner, limit=4) + self.ids(
            owner, limit=4, sort_dir='asc'))
        self.assertEqual(6, len(everything))
        for key in ('name', 'size', 'status', 'created_at', 'updated_at',
                    'id', 'disk_format'):
            for direction in ('asc', 'desc'):
                seen, marker = [], None
                while True:
                    params = {'sort_key': key, 'sort_dir': direction,
                              'limit': 2}
                    if marker:
                        params['marker'] = marker
                    page = self.list(owner, **params)
                    if not page:
                        break
                    seen.extend(i['id'] for i in page)
                    marker = page[-1]['id']
                self.assertEqual(sorted(everything), sorted(seen),
                                 (key, direction))
                values = [i.get(key) for i in self.list(
                    owner, sort_key=key, sort_dir=direction, limit=4)]
                self.assertEqual(4, len(values))


class NoauthOwnerlessTest(ListTestBase):
    """doc/decisions.rst: under noauth, owner-less images are the
    caller's own, so they show in its default list."""

    flavor = None

    def test_private_ownerless_listed(self):
        resp = self.create(body=b'data')
        self.assertEqual(201, resp.status)
        image = resp.json['image']
        self.assertIsNone(image['owner'])
        self.assertFalse(image['is_public'])
        self.assertIn(image['id'], self.ids({}))
        self.assertIn(image['id'], self.ids({}, is_public='false'))
