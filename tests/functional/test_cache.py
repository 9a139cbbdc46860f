"""The image cache behind a real glance-api, and the glance-cache-*
commands run as processes (glance-v1-reference §9, §14 OSSA-2013-007,
OSSA-2013-027)."""

import hashlib
import json
import os
import shutil
import tempfile
import time

from tests.functional import base
from tests.functional import cli
from tests.functional import server

DATA = os.urandom(200 * 1024 + 5)
MD5 = hashlib.md5(DATA).hexdigest()
ADMIN = base.identity(tenant='admin-tenant', roles='admin')
OWNER = base.identity(tenant='tenant1')
OTHER = base.identity(tenant='tenant2')
# The download policy refuses a role, and images by a property (the
# image is the target), so tests can be refused on a hit.
BLOCKED = base.identity(tenant='tenant1', roles='member,blocked')
POLICY = {'download_image': "role:admin or (not role:blocked and "
                            "not 'secret':%(classification)s)"}


class TestImageCache(base.FunctionalTest):

    flavor = 'trusted-auth+cachemanagement'

    @classmethod
    def setUpClass(cls):
        cls.policy_dir = tempfile.mkdtemp(prefix='glance-v1-policy-')
        policy_file = os.path.join(cls.policy_dir, 'policy.json')
        with open(policy_file, 'w') as f:
            json.dump(POLICY, f)
        cls.conf = {'oslo_policy': {'policy_file': policy_file}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.policy_dir)

    # -- helpers ------------------------------------------------------------

    @property
    def cache_dir(self):
        return os.path.join(self.api.state_dir, 'image-cache')

    def cache_path(self, image_id, sub=''):
        return os.path.join(self.cache_dir, sub, image_id)

    def store_path(self, image_id):
        return os.path.join(self.api.store_dir, image_id)

    def new_image(self, data=DATA, headers=OWNER, public=False):
        extra = {'x-image-meta-is_public': 'True'} if public else None
        resp = self.create(headers=headers, body=data, extra=extra)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def get(self, image_id, headers=OWNER, **extra):
        return self.request('GET', '/v1/images/%s' % image_id,
                            dict(headers, **extra))

    def wait_cached(self, image_id):
        # The entry appears just after the last byte is sent.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(self.cache_path(image_id)):
                return
            time.sleep(0.05)
        self.fail('image %s was not cached' % image_id)

    def cached_via_get(self, headers=OWNER):
        image_id = self.new_image(headers=headers)
        resp = self.get(image_id, headers)
        self.assertEqual(200, resp.status)
        self.assertEqual(DATA, resp.body)
        self.wait_cached(image_id)
        return image_id, resp

    def cached_ids(self):
        resp = self.request('GET', '/v1/cached_images', ADMIN)
        self.assertEqual(200, resp.status, resp)
        return {e['image_id']: e for e in resp.json['cached_images']}

    def manage(self, *args):
        headers = []
        for name, value in ADMIN.items():
            headers += ['--header', '%s:%s' % (name, value)]
        return cli.run('glance-cache-manage', '-p', str(self.api.port),
                       *headers, *args)

    def tool(self, name, **options):
        """Run a glance-cache-* command on this node's configuration,
        with ``options`` overriding [DEFAULT] ones."""
        args = ['--config-file', self.api.conf_file]
        if options:
            extra = os.path.join(self.api.dir, 'extra-%s.conf' % name)
            server.write_conf(extra, {'DEFAULT': options})
            args += ['--config-file', extra]
        return cli.run(name, *args)

    # -- hits and misses ----------------------------------------------------

    def test_miss_fills_cache_and_hit_is_served_from_it(self):
        image_id, miss = self.cached_via_get()
        with open(self.cache_path(image_id), 'rb') as f:
            self.assertEqual(DATA, f.read())
        # Without its store file, only the cache can answer.
        self.api.remove_image_data(image_id)
        hit = self.get(image_id)
        self.assertEqual(200, hit.status)
        self.assertEqual(DATA, hit.body)
        # Same headers as the normal GET, never a location (OSSA-2013-007).
        for name in set(miss.headers) | set(hit.headers):
            if name.startswith('x-image-meta-') or name in (
                    'etag', 'content-length', 'content-type',
                    'accept-ranges'):
                self.assertEqual(miss.header(name), hit.header(name), name)
        self.assertIsNone(hit.header('x-image-meta-location'))
        self.assertEqual(MD5, hit.header('etag'))
        self.assertEqual(1, self.cached_ids()[image_id]['hits'])

    def test_hit_respects_visibility(self):
        image_id, _ = self.cached_via_get()
        self.api.remove_image_data(image_id)
        self.assertEqual(404, self.get(image_id, OTHER).status)
        self.assertEqual(200, self.get(image_id, OWNER).status)

    def test_hit_enforces_download_policy(self):
        # OSSA-2013-027: download_image is checked on a hit, with the
        # image as target.
        image_id, _ = self.cached_via_get()
        resp = self.get(image_id, BLOCKED)
        self.assertEqual(403, resp.status)
        self.assertNotIn(DATA[:64], resp.body)
        self.assertEqual(200, self.get(image_id, OWNER).status)

    def test_hit_enforces_download_policy_on_image_properties(self):
        resp = self.create(headers=OWNER, body=DATA, extra={
            'x-image-meta-property-classification': 'secret'})
        image_id = resp.json['image']['id']
        self.assertEqual(403, self.get(image_id, OWNER).status)
        self.assertEqual(200, self.get(image_id, ADMIN).status)
        self.wait_cached(image_id)
        self.assertEqual(403, self.get(image_id, OWNER).status)

    def test_corrupted_cache_file_is_never_served(self):
        image_id, _ = self.cached_via_get()
        path = self.cache_path(image_id)
        with open(path, 'r+b') as f:
            f.seek(1000)
            f.write(b'\0' * 16 if DATA[1000:1016] != b'\0' * 16
                    else b'\1' * 16)
        resp = self.get(image_id)
        self.assertEqual(200, resp.status)
        self.assertEqual(DATA, resp.body)
        self.assertTrue(os.path.exists(self.cache_path(image_id,
                                                       'invalid')))
        # The store served it, and its md5 refilled the cache.
        self.wait_cached(image_id)
        with open(path, 'rb') as f:
            self.assertEqual(DATA, f.read())

    @server.eventlet_only(
        'uWSGI has sent the status line when the first chunk fails its '
        'check: the body is cut instead of a 500')
    def test_checksum_mismatch_on_fill_is_not_cached(self):
        self.require_file_store()
        image_id = self.new_image()
        # The stored bytes changed behind the registry's back.
        bad = bytes([DATA[0] ^ 1]) + DATA[1:]
        with open(self.store_path(image_id), 'wb') as f:
            f.write(bad)
        # Never served as complete (verify_download_hash): this image
        # is one chunk, so the damage is found before the first byte.
        resp = self.get(image_id)
        self.assertEqual(500, resp.status)
        self.assertNotIn(bad, resp.body)
        time.sleep(0.3)
        self.assertFalse(os.path.exists(self.cache_path(image_id)))
        self.assertNotIn(image_id, self.cached_ids())

    def test_range_requests_bypass_the_cache(self):
        image_id = self.new_image()
        resp = self.get(image_id, Range='bytes=10-19')
        self.assertEqual(206, resp.status)
        self.assertEqual(DATA[10:20], resp.body)
        time.sleep(0.2)
        self.assertFalse(os.path.exists(self.cache_path(image_id)))
        self.assertEqual(200, self.get(image_id).status)
        self.wait_cached(image_id)
        resp = self.get(image_id, Range='bytes=-5')
        self.assertEqual(206, resp.status)
        self.assertEqual(DATA[-5:], resp.body)
        self.assertEqual('bytes %d-%d/%d' % (len(DATA) - 5, len(DATA) - 1,
                                             len(DATA)),
                         resp.header('content-range'))

    def test_delete_purges_and_deleted_image_is_never_served(self):
        image_id, _ = self.cached_via_get()
        saved = os.path.join(self.api.dir, 'saved')
        shutil.copy(self.cache_path(image_id), saved)
        resp = self.request('DELETE', '/v1/images/%s' % image_id, OWNER)
        self.assertEqual(200, resp.status)
        self.assertFalse(os.path.exists(self.cache_path(image_id)))
        # Even a cache file put back is not served for a deleted image.
        shutil.copy(saved, self.cache_path(image_id))
        self.assertEqual(404, self.get(image_id).status)
        self.assertEqual(404, self.get(image_id, ADMIN).status)

    def test_failed_delete_keeps_the_entry(self):
        image_id, _ = self.cached_via_get()
        resp = self.request('DELETE', '/v1/images/%s' % image_id, OTHER)
        self.assertEqual(404, resp.status)
        self.assertTrue(os.path.exists(self.cache_path(image_id)))

    # -- management API and commands ----------------------------------------

    def test_management_api_needs_manage_image_cache(self):
        for method, path in (('GET', '/v1/cached_images'),
                             ('GET', '/v1/queued_images'),
                             ('DELETE', '/v1/cached_images'),
                             ('PUT', '/v1/queued_images/abc')):
            self.assertEqual(403, self.request(method, path, OWNER).status)
        resp = self.request('POST', '/v1/cached_images', ADMIN)
        self.assertEqual(405, resp.status)
        self.assertEqual('GET, DELETE', resp.header('allow'))
        resp = self.request('GET', '/v1/queued_images/abc', ADMIN)
        self.assertEqual(405, resp.status)
        self.assertEqual('PUT, DELETE', resp.header('allow'))

    def test_management_api_bodies(self):
        image_id, _ = self.cached_via_get()
        # Recorded just after the file is in place: a request served by
        # another worker process (uWSGI) or thread (mod_wsgi) can come in
        # between.
        deadline = time.monotonic() + 10
        while image_id not in self.cached_ids() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        entry = self.cached_ids()[image_id]
        self.assertEqual({'image_id', 'hits', 'last_accessed',
                          'last_modified', 'size'}, set(entry))
        self.assertEqual(len(DATA), entry['size'])
        resp = self.request('DELETE', '/v1/cached_images/%s' % image_id,
                            ADMIN)
        self.assertEqual((200, None), (resp.status, resp.json))
        self.assertNotIn(image_id, self.cached_ids())
        queued = self.new_image()
        resp = self.request('PUT', '/v1/queued_images/%s' % queued, ADMIN)
        self.assertEqual(200, resp.status)
        resp = self.request('GET', '/v1/queued_images', ADMIN)
        self.assertIn(queued, resp.json['queued_images'])
        resp = self.request('DELETE', '/v1/queued_images', ADMIN)
        self.assertGreaterEqual(resp.json['num_deleted'], 1)
        self.assertEqual([], self.request('GET', '/v1/queued_images',
                                          ADMIN).json['queued_images'])

    def test_glance_cache_manage_and_prefetcher(self):
        image_id = self.new_image()
        code, out, err = self.manage('queue-image', image_id)
        self.assertEqual(0, code, err)
        code, out, err = self.manage('list-queued')
        self.assertEqual(0, code, err)
        self.assertIn(image_id, out)
        # The prefetcher reads the store directly, md5-verified.
        code, out, err = self.tool('glance-cache-prefetcher')
        self.assertEqual(0, code, out + err)
        self.assertTrue(os.path.exists(self.cache_path(image_id)))
        code, out, err = self.manage('list-queued')
        self.assertNotIn(image_id, out)
        code, out, err = self.manage('list-cached')
        self.assertEqual(0, code, err)
        self.assertIn(image_id, out)
        self.assertIn(str(len(DATA)), out)
        code, out, err = self.manage('-f', 'delete-cached-image', image_id)
        self.assertEqual(0, code, err)
        self.assertFalse(os.path.exists(self.cache_path(image_id)))
        # Without -f nothing is deleted unless confirmed.
        self.assertEqual(200, self.get(image_id).status)
        self.wait_cached(image_id)
        code, out, err = self.manage('delete-all-cached-images')
        self.assertEqual(0, code, err)
        self.assertIn('Not confirmed', out)
        self.assertTrue(os.path.exists(self.cache_path(image_id)))
        code, out, err = self.manage('-f', 'delete-all-cached-images')
        self.assertEqual(0, code, err)
        self.assertRegex(out, r'Deleted [1-9]\d* images')
        self.assertFalse(os.path.exists(self.cache_path(image_id)))
        for command in ('delete-queued-image', 'delete-all-queued-images'):
            self.manage('queue-image', image_id)
            self.assertEqual([image_id], os.listdir(
                os.path.join(self.cache_dir, 'queue')))
            args = [image_id] if command == 'delete-queued-image' else []
            code, out, err = self.manage('-f', command, *args)
            self.assertEqual(0, code, err)
            self.assertEqual([], os.listdir(os.path.join(self.cache_dir,
                                                         'queue')))
        # Errors are reported, not tracebacks.
        code, out, err = cli.run('glance-cache-manage', '-p',
                                 str(self.api.port), 'list-cached')
        self.assertEqual(1, code)
        self.assertIn('401 Unauthorized', err)
        self.assertNotIn('Traceback', err)

    def test_pruner_removes_least_recently_used_first(self):
        a, _ = self.cached_via_get()
        b, _ = self.cached_via_get()
        c, _ = self.cached_via_get()
        time.sleep(0.01)
        self.assertEqual(200, self.get(a).status)  # a: most recent
        code, out, err = self.tool('glance-cache-pruner',
                                   image_cache_max_size=2 * len(DATA))
        self.assertEqual(0, code, out + err)
        cached = self.cached_ids()
        self.assertIn(a, cached)
        self.assertIn(c, cached)
        self.assertNotIn(b, cached)
        self.assertFalse(os.path.exists(self.cache_path(b)))
        self.assertLessEqual(sum(e['size'] for e in cached.values()),
                             2 * len(DATA))

    def test_cleaner_removes_invalid_and_stalled_files(self):
        stalled = self.cache_path('stalled-1', 'incomplete')
        fresh = self.cache_path('fresh-1', 'incomplete')
        invalid = self.cache_path('bad-1', 'invalid')
        for path in (stalled, fresh, invalid):
            with open(path, 'w') as f:
                f.write('x')
        old = time.time() - 7200
        os.utime(stalled, (old, old))
        code, out, err = self.tool('glance-cache-cleaner',
                                   image_cache_stall_time=3600)
        self.assertEqual(0, code, out + err)
        self.assertFalse(os.path.exists(stalled))
        self.assertFalse(os.path.exists(invalid))
        self.assertTrue(os.path.exists(fresh))
        os.unlink(fresh)
