"""Tenant isolation through the trusted-auth pipeline: who sees and may
change which image (glance-v1-reference §5 visibility, §6, §7; decisions
"differ" 1). An image a caller may not see is a 404 to it, never a 403."""

import itertools
import json

from tests.functional import base

OWNER = base.identity('iso-owner')
OTHER = base.identity('iso-other')
MEMBER = base.identity('iso-member')
SHARER = base.identity('iso-sharer')
ADMIN = base.identity('iso-admin', roles='admin')
ANONYMOUS = {}

CALLERS = {'owner': OWNER, 'member': MEMBER, 'sharer': SHARER,
           'other': OTHER, 'admin': ADMIN, 'anonymous': ANONYMOUS}
KINDS = ('private', 'shared', 'public')
IMAGES_PER_KIND = 2

# The operations of the matrix, in the order they run on each caller's
# own images: reads first, then changes that keep what the caller may
# see, the image's deletion last.
OPERATIONS = ('list', 'detail', 'head', 'get', 'members', 'member_show',
              'shared_images', 'update', 'member_add', 'member_delete',
              'members_replace', 'delete')


def oracle(caller, kind, operation):
    """What the reference's rules (§5 visibility, §6 sharing, §7 read-only
    anonymous access, decisions "differ" 1 and 3) give ``caller`` for
    ``operation`` on an image of ``kind`` owned by "owner": a status code,
    or for the lists whether the image is in them. "shared" images have
    "member" as a member and "sharer" as a member with can_share."""
    admin = caller == 'admin'
    owner = caller == 'owner'
    anonymous = caller == 'anonymous'
    is_member = kind == 'shared' and caller in ('member', 'sharer')
    # Admins list like regular users unless they ask for is_public=none.
    listed = kind == 'public' or owner or is_member
    visible = admin or listed
    may_change = owner or admin
    may_share = may_change or (is_member and caller == 'sharer')
    if operation in ('list', 'detail'):
        return listed
    if operation == 'shared_images':
        # /v1/shared-images/iso-member: the memberships on the caller's
        # images, all of them for admins, its own for the member.
        return kind == 'shared' and (owner or admin or caller == 'member')
    if operation in ('head', 'get', 'members'):
        return 200 if visible else 404
    if operation == 'member_show':
        # GET .../members/iso-member: owner, admin or that member.
        return 200 if kind == 'shared' and (
            owner or admin or caller == 'member') else 404
    if operation in ('update', 'delete'):
        if anonymous:
            return 403          # read-only, before the image is looked up
        if not visible:
            return 404
        return 200 if may_change else 403
    # Member changes: identity first (401), then visibility, then the
    # right to share, whose refusal is a 404 as in the reference.
    if anonymous:
        return 401
    return 204 if visible and may_share else 404


class IsolationTest(base.FunctionalTest):

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'allow_anonymous_access': 'true'}}

    def _images(self, per_kind=1):
        """Images of OWNER of every kind; the shared ones have MEMBER
        and SHARER (can_share) as members."""
        images = {}
        for kind, _n in itertools.product(KINDS, range(per_kind)):
            extra = {}
            headers = OWNER
            if kind == 'public':
                # Only an admin may publicize; it gives the image away.
                headers = ADMIN
                extra = {'x-image-meta-is_public': 'true',
                         'x-image-meta-owner': 'iso-owner'}
            resp = self.create(headers=headers, body=b'isolated',
                               extra=extra)
            self.assertEqual(201, resp.status, resp)
            image_id = resp.json['image']['id']
            images[image_id] = kind
            if kind == 'shared':
                body = json.dumps({'memberships': [
                    {'member_id': 'iso-member', 'can_share': False},
                    {'member_id': 'iso-sharer', 'can_share': True}]})
                resp = self.request('PUT', '/v1/images/%s/members'
                                    % image_id, dict(OWNER, **{
                                        'Content-Type': 'application/json'}),
                                    body)
                self.assertEqual(204, resp.status, resp)
        if per_kind == 1:
            return {kind: image_id for image_id, kind in images.items()}
        return images

    def _ids(self, path, headers, key='images', field='id'):
        resp = self.request('GET', path, headers)
        self.assertEqual(200, resp.status, (path, resp))
        return {i[field] for i in resp.json[key]}

    def _observe(self, headers, image_id, operation):
        path = '/v1/images/%s' % image_id
        json_body = dict(headers, **{'Content-Type': 'application/json'})
        if operation in ('list', 'detail'):
            url = '/v1/images%s?limit=1000' % (
                '/detail' if operation == 'detail' else '')
            return image_id in self._ids(url, headers)
        if operation == 'shared_images':
            return image_id in self._ids('/v1/shared-images/iso-member',
                                         headers, 'shared_images',
                                         'image_id')
        method, url, hdrs, body = {
            'head': ('HEAD', path, headers, None),
            'get': ('GET', path, headers, None),
            'members': ('GET', path + '/members', headers, None),
            'member_show': ('GET', path + '/members/iso-member', headers,
                            None),
            'update': ('PUT', path, dict(headers, **{
                'x-image-meta-min_ram': '1',
                'x-glance-registry-purge-props': 'false'}), None),
            'member_add': ('PUT', path + '/members/iso-extra', headers,
                           None),
            'member_delete': ('DELETE', path + '/members/iso-extra',
                              headers, None),
            # The same members again, plus one: nobody loses sight.
            'members_replace': ('PUT', path + '/members', json_body,
                                json.dumps({'memberships': [
                                    {'member_id': 'iso-member'},
                                    {'member_id': 'iso-sharer'},
                                    {'member_id': 'iso-extra'}]})),
            'delete': ('DELETE', path, headers, None),
        }[operation]
        return self.request(method, url, hdrs, body).status

    def test_matrix(self):
        """Every caller x every image kind (several images each) x every
        operation, against the oracle."""
        mismatches = []
        cells = 0
        for caller, headers in CALLERS.items():
            images = self._images(IMAGES_PER_KIND)
            for operation in OPERATIONS:
                for image_id, kind in images.items():
                    got = self._observe(headers, image_id, operation)
                    expected = oracle(caller, kind, operation)
                    cells += 1
                    if got != expected:
                        mismatches.append((caller, kind, operation, got,
                                           expected))
            # What a refused caller tried changed nothing it may not.
            for image_id, kind in images.items():
                if oracle(caller, kind, 'delete') != 200:
                    resp = self.request('HEAD', '/v1/images/%s' % image_id,
                                        ADMIN)
                    self.assertEqual('active',
                                     resp.header('x-image-meta-status'))
                    self.assertEqual(
                        '0' if oracle(caller, kind, 'update') != 200
                        else '1', resp.header('x-image-meta-min_ram'))
        self.assertEqual([], mismatches)
        self.assertEqual(len(CALLERS) * len(KINDS) * IMAGES_PER_KIND *
                         len(OPERATIONS), cells)

    def test_member_views(self):
        images = self._images()
        path = '/v1/images/%s/members' % images['shared']
        # The owner sees every member, the member only itself, and a
        # tenant that sees the image but is no member sees none.
        self.assertEqual(['iso-member', 'iso-sharer'], sorted(
            m['member_id'] for m in self.request(
                'GET', path, OWNER).json['members']))
        self.assertEqual(['iso-member'], [
            m['member_id'] for m in self.request(
                'GET', path, MEMBER).json['members']])
        resp = self.request('GET', '/v1/images/%s/members' % images['public'],
                            OTHER)
        self.assertEqual([], resp.json['members'])

    def test_admin_lists_everything_with_is_public_none(self):
        images = self._images()
        resp = self.request('GET', '/v1/images?is_public=none&limit=1000',
                            ADMIN)
        listed = {i['id'] for i in resp.json['images']}
        self.assertTrue(set(images.values()) <= listed)
        resp = self.request('GET', '/v1/images?is_public=false&limit=1000',
                            ADMIN)
        listed = {i['id'] for i in resp.json['images']}
        self.assertEqual({images['private'], images['shared']},
                         listed & set(images.values()))

    def test_owner_cannot_be_forced(self):
        # §2: a non-admin's owner header is ignored on create and update.
        resp = self.create(headers=OWNER, extra={
            'x-image-meta-owner': 'iso-other'})
        self.assertEqual('iso-owner', resp.json['image']['owner'])
        image_id = resp.json['image']['id']
        resp = self.request('PUT', '/v1/images/%s' % image_id, dict(
            OWNER, **{'x-image-meta-owner': 'iso-other'}))
        self.assertEqual(200, resp.status)
        self.assertEqual('iso-owner', resp.json['image']['owner'])
        self.assertEqual(404, self.request('HEAD', '/v1/images/%s'
                                           % image_id, OTHER).status)

    def test_member_replace_by_other_is_404(self):
        images = self._images()
        body = json.dumps({'memberships': [{'member_id': 'iso-other'}]})
        headers = dict(OTHER, **{'Content-Type': 'application/json'})
        for kind in ('public', 'private'):
            resp = self.request('PUT', '/v1/images/%s/members'
                                % images[kind], headers, body)
            self.assertEqual(404, resp.status, kind)


class OwnerlessCallersTest(base.FunctionalTest):
    """Callers without an owner that are no admins (anonymous read-only
    access, an identity without project) see public images only; the
    noauth exception of doc/decisions.rst is for admins."""

    flavor = 'trusted-auth'
    conf = {'DEFAULT': {'allow_anonymous_access': 'true'}}

    def test_ownerless_images_stay_private(self):
        no_project = {k: v for k, v in base.identity('np').items()
                      if k != 'X-Tenant-Id'}
        # Such a caller cannot create images: nobody but admins could
        # use them (doc/decisions.rst).
        resp = self.create(headers=no_project, body=b'orphan')
        self.assertEqual(401, resp.status, resp)
        self.assertIn(b'No authenticated user', resp.body)
        # An admin may take the owner away.
        orphan = self.create(headers=ADMIN).json['image']['id']
        resp = self.request('PUT', '/v1/images/%s' % orphan, dict(
            ADMIN, **{'x-image-meta-owner': ''}))
        self.assertEqual(200, resp.status, resp)
        self.assertIsNone(resp.json['image']['owner'])
        public = self.create(headers=ADMIN, extra={
            'x-image-meta-is_public': 'true'}).json['image']['id']
        for headers in (ANONYMOUS, no_project):
            listed = [i['id'] for i in self.request(
                'GET', '/v1/images', headers).json['images']]
            self.assertIn(public, listed)
            self.assertNotIn(orphan, listed)
            self.assertEqual(404, self.request(
                'HEAD', '/v1/images/%s' % orphan, headers).status)
        # Anonymous access is read-only.
        resp = self.request('DELETE', '/v1/images/%s' % public, ANONYMOUS)
        self.assertEqual(403, resp.status)
        self.assertEqual(200, self.request('HEAD', '/v1/images/%s' % orphan,
                                           ADMIN).status)
