"""Tenant isolation through the trusted-auth pipeline: who sees and may
change which image (glance-v1-reference §5 visibility, §6, §7; decisions
"differ" 1). An image a caller may not see is a 404 to it, never a 403."""

import json

from tests.functional import base

OWNER = base.identity('iso-owner')
OTHER = base.identity('iso-other')
MEMBER = base.identity('iso-member')
ADMIN = base.identity('iso-admin', roles='admin')
ANONYMOUS = {}

CALLERS = {'owner': OWNER, 'other': OTHER, 'member': MEMBER,
           'admin': ADMIN, 'anonymous': ANONYMOUS}

# caller -> image kind -> (listed, HEAD, GET, PUT, members GET,
#                          member PUT, DELETE)
EXPECTED = {
    'owner': {'private': (True, 200, 200, 200, 200, 204, 200),
              'public': (True, 200, 200, 200, 200, 204, 200),
              'shared': (True, 200, 200, 200, 200, 204, 200)},
    'other': {'private': (False, 404, 404, 404, 404, 404, 404),
              'public': (True, 200, 200, 403, 200, 404, 403),
              'shared': (False, 404, 404, 404, 404, 404, 404)},
    'member': {'private': (False, 404, 404, 404, 404, 404, 404),
               'public': (True, 200, 200, 403, 200, 404, 403),
               'shared': (True, 200, 200, 403, 200, 404, 403)},
    # Admins list as regular users unless they ask for is_public=none.
    'admin': {'private': (False, 200, 200, 200, 200, 204, 200),
              'public': (True, 200, 200, 200, 200, 204, 200),
              'shared': (False, 200, 200, 200, 200, 204, 200)},
    'anonymous': {'private': (False, 401, 401, 401, 401, 401, 401),
                  'public': (False, 401, 401, 401, 401, 401, 401),
                  'shared': (False, 401, 401, 401, 401, 401, 401)},
}


class IsolationTest(base.FunctionalTest):

    flavor = 'trusted-auth'

    def _images(self):
        """A private, a public and a shared image of OWNER."""
        images = {}
        for kind in ('private', 'public', 'shared'):
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
            images[kind] = resp.json['image']['id']
        resp = self.request('PUT', '/v1/images/%s/members/iso-member'
                            % images['shared'], OWNER)
        self.assertEqual(204, resp.status)
        return images

    def _listed(self, headers, image_id):
        resp = self.request('GET', '/v1/images', headers)
        if resp.status != 200:
            return False
        return image_id in [i['id'] for i in resp.json['images']]

    def _observe(self, headers, image_id, delete):
        path = '/v1/images/%s' % image_id
        observed = [
            self._listed(headers, image_id),
            self.request('HEAD', path, headers).status,
            self.request('GET', path, headers).status,
            self.request('PUT', path, dict(
                headers, **{'x-image-meta-min_ram': '1'})).status,
            self.request('GET', path + '/members', headers).status,
            self.request('PUT', path + '/members/iso-extra',
                         headers).status,
        ]
        observed.append(self.request('DELETE', path, headers).status
                        if delete else None)
        return tuple(observed)

    def test_matrix(self):
        mismatches = []
        # Callers that may not delete go first, on the same images.
        images = self._images()
        for caller in ('other', 'member', 'anonymous'):
            for kind, image_id in images.items():
                got = self._observe(CALLERS[caller], image_id, True)
                if got != EXPECTED[caller][kind]:
                    mismatches.append((caller, kind, got,
                                       EXPECTED[caller][kind]))
        for caller in ('owner', 'admin'):
            for kind, image_id in self._images().items():
                got = self._observe(CALLERS[caller], image_id, True)
                if got != EXPECTED[caller][kind]:
                    mismatches.append((caller, kind, got,
                                       EXPECTED[caller][kind]))
        self.assertEqual([], mismatches)

    def test_member_views(self):
        images = self._images()
        path = '/v1/images/%s/members' % images['shared']
        # The owner sees every member, the member only itself, and a
        # tenant that sees the image but is no member sees none.
        self.assertEqual(['iso-member'], [
            m['member_id'] for m in self.request(
                'GET', path, OWNER).json['members']])
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
