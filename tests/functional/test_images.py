"""The image lifecycle over HTTP against a real glance-api
(glance-v1-reference §1-§4)."""

import hashlib
import os
import time

from tests.functional import base
from tests.functional import server

DATA = os.urandom(300 * 1024 + 17)
MD5 = hashlib.md5(DATA).hexdigest()
SHA256 = hashlib.sha256(DATA).hexdigest()
EMPTY_MD5 = hashlib.md5(b'').hexdigest()


class TestImageLifecycle(base.FunctionalTest):

    def test_create_upload_show_download(self):
        # §1: POST with a body -> 201, JSON image, Location, ETag.
        resp = self.create(body=DATA, headers={
            'x-image-meta-property-Distro-Name': 'Ubuntu'})
        self.assertEqual(201, resp.status, resp)
        image = resp.json['image']
        self.assertEqual('active', image['status'])
        self.assertEqual(len(DATA), image['size'])
        self.assertEqual(MD5, image['checksum'])
        self.assertEqual('sha256', image['os_hash_algo'])
        self.assertEqual(SHA256, image['os_hash_value'])
        # §2: property keys are lower-cased with '-' -> '_'.
        self.assertEqual({'distro_name': 'Ubuntu'}, image['properties'])
        self.assertEqual(MD5, resp.header('etag'))
        self.assertEqual('%s/v1/images/%s' % (self.api.url, image['id']),
                         resp.header('location'))
        self.assertNotIn('location', image)

        path = '/v1/images/%s' % image['id']
        head = self.request('HEAD', path)
        self.assertEqual(200, head.status)
        self.assertEqual(b'', head.body)
        self.assertEqual('active', head.header('x-image-meta-status'))
        self.assertEqual('False', head.header('x-image-meta-is_public'))
        self.assertEqual('False', head.header('x-image-meta-protected'))
        self.assertEqual(str(len(DATA)), head.header('x-image-meta-size'))
        self.assertEqual('Ubuntu',
                         head.header('x-image-meta-property-distro_name'))
        self.assertEqual(MD5, head.header('etag'))
        self.assertIsNone(head.header('x-image-meta-location'))
        self.assertRegex(head.header('x-image-meta-created_at'),
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$')

        get = self.request('GET', path)
        self.assertEqual(200, get.status)
        self.assertEqual(DATA, get.body)
        self.assertEqual('application/octet-stream',
                         get.header('content-type'))
        self.assertEqual(str(len(DATA)), get.header('content-length'))
        self.assertEqual(MD5, get.header('etag'))
        self.assertEqual('bytes', get.header('accept-ranges'))
        self.assertIsNone(get.header('content-md5'))

    def test_create_without_data_is_queued_then_upload(self):
        # §15 test_queued_process_flow.
        resp = self.create()
        self.assertEqual(201, resp.status)
        image = resp.json['image']
        self.assertEqual('queued', image['status'])
        self.assertEqual(0, image['size'])
        self.assertIsNone(image['checksum'])
        path = '/v1/images/%s' % image['id']
        self.assertEqual(404, self.request('GET', path).status)
        resp = self.request('PUT', path, {
            'Content-Type': 'application/octet-stream'}, DATA)
        self.assertEqual(200, resp.status, resp)
        self.assertEqual('active', resp.json['image']['status'])
        self.assertEqual(MD5, resp.json['image']['checksum'])
        self.assertEqual(MD5, resp.header('etag'))
        self.assertEqual(DATA, self.request('GET', path).body)
        # §3: a second upload onto an active image is a conflict.
        resp = self.request('PUT', path, {
            'Content-Type': 'application/octet-stream'}, DATA)
        self.assertEqual(409, resp.status)
        self.assertIn(b'Cannot upload to an unqueued image', resp.body)

    def test_zero_size_is_active_and_empty(self):
        # §15 test_zero_initial_size.
        resp = self.create(headers={'x-image-meta-size': '0'})
        self.assertEqual(201, resp.status)
        self.assertEqual('active', resp.json['image']['status'])
        get = self.request('GET', resp.header('location')[len(
            self.api.url):])
        self.assertEqual(200, get.status)
        self.assertEqual(b'', get.body)
        self.assertEqual('0', get.header('content-length'))

    def test_chunked_upload(self):
        def chunks():
            for i in range(0, len(DATA), 65536):
                yield DATA[i:i + 65536]
        # http.client sends an iterable without Content-Length chunked.
        resp = self.create(body=chunks())
        self.assertEqual(201, resp.status, resp)
        self.assertEqual(MD5, resp.json['image']['checksum'])
        self.assertEqual(len(DATA), resp.json['image']['size'])

    def test_user_supplied_id_and_duplicate(self):
        # §2 id, §15 test_duplicate_image_upload.
        image_id = 'a1b2c3d4-0000-4000-8000-00000000abcd'
        resp = self.create(headers={'x-image-meta-id': image_id})
        self.assertEqual(201, resp.status)
        self.assertEqual(image_id, resp.json['image']['id'])
        resp = self.create(headers={'x-image-meta-id': image_id})
        self.assertEqual(409, resp.status)
        # A deleted image's id is never reused (decisions "differ" 4).
        self.assertEqual(200, self.request(
            'DELETE', '/v1/images/' + image_id).status)
        self.assertEqual(409, self.create(
            headers={'x-image-meta-id': image_id}).status)

    def test_update_metadata_and_purge_props(self):
        resp = self.create(headers={'x-image-meta-property-a': '1',
                                    'x-image-meta-property-b': '2'})
        path = '/v1/images/%s' % resp.json['image']['id']
        # glanceclient sends purge-props false: properties are merged.
        resp = self.request('PUT', path, {
            'x-image-meta-name': 'renamed', 'x-image-meta-property-c': '3',
            'x-glance-registry-purge-props': 'false'})
        self.assertEqual(200, resp.status)
        image = resp.json['image']
        self.assertEqual('renamed', image['name'])
        self.assertEqual({'a': '1', 'b': '2', 'c': '3'},
                         image['properties'])
        # §4: without the header, properties not sent are deleted.
        resp = self.request('PUT', path, {'x-image-meta-property-c': '4'})
        self.assertEqual({'c': '4'}, resp.json['image']['properties'])
        head = self.request('HEAD', path)
        self.assertIsNone(head.header('x-image-meta-property-a'))
        # A purged property can be set again.
        resp = self.request('PUT', path, {'x-image-meta-property-a': '5'})
        self.assertEqual({'a': '5'}, resp.json['image']['properties'])

    def test_status_and_id_are_immutable(self):
        # §15 test_status_cannot_be_manipulated_directly, OSSA-2015-019.
        resp = self.create(headers={'x-image-meta-status': 'active'})
        self.assertEqual('queued', resp.json['image']['status'])
        path = '/v1/images/%s' % resp.json['image']['id']
        resp = self.request('PUT', path, {'x-image-meta-status': 'active'})
        self.assertEqual(403, resp.status)
        self.assertIn(b"Forbidden to modify 'status' of image.", resp.body)
        resp = self.request('PUT', path, {'x-image-meta-status': 'queued'})
        self.assertEqual(200, resp.status)
        resp = self.request('PUT', path, {
            'x-image-meta-id': 'a1b2c3d4-0000-4000-8000-000000000000'})
        self.assertEqual(403, resp.status)
        self.assertIn(b"Forbidden to modify 'id' of image.", resp.body)

    def test_delete(self):
        resp = self.create(body=DATA)
        image_id = resp.json['image']['id']
        path = '/v1/images/%s' % image_id
        self.assertTrue(self.api.has_image_data(image_id))
        resp = self.request('DELETE', path)
        self.assertEqual(200, resp.status)
        self.assertEqual(b'', resp.body)
        self.assertFalse(self.api.has_image_data(image_id))
        # Admins still see the deleted record (§1a HEAD), but no data.
        self.assertEqual('deleted', self.image_status(image_id))
        self.assertEqual(404, self.request('GET', path).status)
        resp = self.request('DELETE', path)
        self.assertEqual(404, resp.status)
        resp = self.request('PUT', path, {'x-image-meta-name': 'x'})
        self.assertEqual(403, resp.status)
        self.assertIn(b'Forbidden to update deleted image.', resp.body)
        self.assertEqual(404, self.request(
            'DELETE', '/v1/images/1').status)

    def test_protected_image_cannot_be_deleted(self):
        resp = self.create(headers={'x-image-meta-protected': 'True'})
        path = '/v1/images/%s' % resp.json['image']['id']
        resp = self.request('DELETE', path)
        self.assertEqual(403, resp.status)
        self.assertIn(b'Image is protected', resp.body)
        self.request('PUT', path, {'x-image-meta-protected': 'False'})
        self.assertEqual(200, self.request('DELETE', path).status)

    def test_unknown_image(self):
        path = '/v1/images/%s' % 'f0f0f0f0-0000-4000-8000-000000000000'
        for method in ('GET', 'HEAD', 'PUT', 'DELETE'):
            self.assertEqual(404, self.request(method, path).status, method)

    def test_method_not_allowed(self):
        # §1: known paths answer other verbs with 405 and Allow.
        resp = self.request('HEAD', '/v1/images/detail')
        self.assertEqual(405, resp.status)
        self.assertEqual('GET', resp.header('allow'))
        # The reference routes HEAD there only to refuse it, so the other
        # verbs are told it is allowed.
        for method in ('DELETE', 'PUT', 'POST'):
            resp = self.request(method, '/v1/images/detail')
            self.assertEqual((405, 'GET, HEAD'),
                             (resp.status, resp.header('allow')), method)
        resp = self.request('DELETE', '/v1/images')
        self.assertEqual(405, resp.status)
        self.assertEqual('GET, POST', resp.header('allow'))
        resp = self.request('POST', '/v1/images/%s' % 'x')
        self.assertEqual(405, resp.status)
        self.assertEqual('GET, HEAD, PUT, DELETE', resp.header('allow'))

    def test_error_bodies_are_json_or_text(self):
        # decisions "differ" 5.
        path = '/v1/images/f0f0f0f0-0000-4000-8000-000000000000'
        resp = self.request('GET', path, {'Accept': 'application/json'})
        self.assertEqual('application/json',
                         resp.header('content-type').split(';')[0])
        self.assertEqual(404, resp.json['code'])
        self.assertEqual('Not Found', resp.json['title'])
        self.assertIn('not found', resp.json['message'])
        resp = self.request('GET', path, {'Accept': '*/*'})
        self.assertEqual('text/plain',
                         resp.header('content-type').split(';')[0])
        self.assertNotIn(b'<html', resp.body)

    def test_list_shows_new_image(self):
        resp = self.create(headers={'x-image-meta-name': 'listed'})
        image_id = resp.json['image']['id']
        brief = self.request('GET', '/v1/images').json['images']
        entry = [i for i in brief if i['id'] == image_id][0]
        self.assertEqual({'id', 'name', 'size', 'disk_format',
                          'container_format', 'checksum'}, set(entry))
        detail = self.request('GET', '/v1/images/detail').json['images']
        entry = [i for i in detail if i['id'] == image_id][0]
        self.assertEqual('listed', entry['name'])
        self.assertNotIn('location', entry)


class TestRanges(base.FunctionalTest):
    """decisions "further" 4: single-range downloads."""

    def setUp(self):
        super().setUp()
        resp = self.create(body=DATA)
        self.path = '/v1/images/%s' % resp.json['image']['id']

    def get(self, spec):
        return self.request('GET', self.path, {'Range': spec})

    def test_first_bytes(self):
        resp = self.get('bytes=0-99')
        self.assertEqual(206, resp.status)
        self.assertEqual(DATA[:100], resp.body)
        self.assertEqual('bytes 0-99/%d' % len(DATA),
                         resp.header('content-range'))
        self.assertEqual('100', resp.header('content-length'))

    def test_open_ended_and_suffix(self):
        resp = self.get('bytes=1000-')
        self.assertEqual(206, resp.status)
        self.assertEqual(DATA[1000:], resp.body)
        resp = self.get('bytes=-10')
        self.assertEqual(DATA[-10:], resp.body)

    def test_end_past_size_is_clamped(self):
        resp = self.get('bytes=%d-%d' % (len(DATA) - 5, len(DATA) + 100))
        self.assertEqual(206, resp.status)
        self.assertEqual(DATA[-5:], resp.body)

    def test_unsatisfiable(self):
        resp = self.get('bytes=%d-' % len(DATA))
        self.assertEqual(416, resp.status)
        self.assertEqual('bytes */%d' % len(DATA),
                         resp.header('content-range'))

    def test_multiple_or_malformed_ranges_get_everything(self):
        for spec in ('bytes=0-1,5-6', 'lines=0-1', 'bytes=abc'):
            resp = self.get(spec)
            self.assertEqual(200, resp.status, spec)
            self.assertEqual(DATA, resp.body)


class TestBadInput(base.FunctionalTest):
    """§2 validation messages; nothing created, nothing left in the store
    (decisions "Bad input")."""

    def assert_bad(self, headers, message, body=None):
        before = self.request('GET', '/v1/images/detail?changes-since='
                              '2000-01-01T00:00:00').json['images']
        resp = self.create(headers=headers, body=body)
        self.assertEqual(400, resp.status, resp)
        self.assertIn(message.encode(), resp.body)
        after = self.request('GET', '/v1/images/detail?changes-since='
                             '2000-01-01T00:00:00').json['images']
        self.assertEqual(len(before), len(after))
        self.assertEqual([], [f for f in self.api.store_files()
                              if '.staging' in f])

    def test_bad_header(self):
        self.assert_bad({'x-image-meta-bogus': '1'},
                        'Bad header: x-image-meta-bogus')

    def test_bad_formats(self):
        self.assert_bad({'x-image-meta-disk_format': 'bad_value'},
                        "Invalid disk format 'bad_value' for image.")
        self.assert_bad({'x-image-meta-container_format': 'bad_value'},
                        "Invalid container format 'bad_value' for image.")
        self.assert_bad({'x-image-meta-disk_format': 'aki',
                         'x-image-meta-container_format': 'ari'},
                        'Invalid mix of disk and container formats')

    def test_bad_numbers(self):
        self.assert_bad({'x-image-meta-size': 'big'},
                        "Cannot convert image size 'big' to an integer.")
        self.assert_bad({'x-image-meta-min_ram': '-1'},
                        "Invalid value '-1' for parameter 'min_ram': Cannot "
                        "be a negative value.")
        self.assert_bad({'x-image-meta-min_disk': 'x'},
                        "Invalid value 'x' for parameter 'min_disk': Cannot "
                        "convert image min_disk 'x' to an integer.")
        # Over the cap: the cap's message, as Glance 15 answers (seen by
        # tests/differential), not an out-of-range one.
        self.assert_bad({'x-image-meta-size': str(2 ** 63)},
                        'Denying attempt to upload image larger than '
                        '1099511627776 bytes.')
        # §15 test_param_int_too_large_at_create.
        self.assert_bad({'x-image-meta-min_disk': str(2 ** 31)},
                        "'min_disk' value out of range, must not exceed "
                        "2147483647.")
        self.assertEqual(201, self.create(headers={
            'x-image-meta-min_disk': str(2 ** 31 - 1)}).status)

    def test_bad_checksum_and_name(self):
        # §15 test_checksum_32_chars_at_image_create.
        self.assert_bad({'x-image-meta-checksum': 'a' * 42},
                        "Invalid checksum '%s': can't exceed 32 characters"
                        % ('a' * 42))
        self.assert_bad({'x-image-meta-name': 'n' * 256},
                        'Image name too long: 256')

    def test_bad_id_and_time(self):
        self.assert_bad({'x-image-meta-id': 'not-a-uuid'},
                        'Invalid image id format')
        self.assert_bad({'x-image-meta-created_at': 'yesterday'},
                        'Invalid time format for created_at.')
        # Formats first, as in Glance 15 (seen by tests/differential).
        self.assert_bad({'x-image-meta-created_at': 'yesterday',
                         'x-image-meta-disk_format': 'zz'},
                        "Invalid disk format 'zz' for image.")

    def test_wrong_content_type(self):
        # §15 test_traceback_not_consumed.
        self.assert_bad({'Content-Type': 'text/plain'},
                        'Content-Type must be application/octet-stream',
                        body=b'data')

    def test_formats_required_with_data(self):
        self.assert_bad({'x-image-meta-disk_format': '',
                         'Content-Type': 'application/octet-stream'},
                        "Invalid disk format 'None' for image.", body=b'x')
        headers = {'Content-Type': 'application/octet-stream'}
        resp = self.request('POST', '/v1/images',
                            dict(headers, **{'x-image-meta-name': 'n'}),
                            b'data')
        self.assertEqual(400, resp.status)
        self.assertIn(b'Disk format is not specified.', resp.body)

    def test_json_create_body_lacks_formats_first(self):
        # §1a: formats are required before the Content-Type is looked at;
        # openstacksdk's create_image sends JSON and no x-image-meta-*.
        for method, path in (('POST', '/v1/images'),
                             ('PUT', '/v1/images/%s' % self.request(
                                 'POST', '/v1/images',
                                 {'x-image-meta-name': 'q'}).json[
                                     'image']['id'])):
            resp = self.request(method, path, {
                'Content-Type': 'application/json'},
                b'{"image": {"name": "sdk"}}')
            self.assertEqual(400, resp.status, method)
            self.assertIn(b'Disk format is not specified.', resp.body)

    def test_refused_upload_still_answers_a_sending_client(self):
        # The server closes after refusing an upload it did not read, but
        # lingers: a client still sending its body reads the 409, not a
        # reset (found by the differential test's chunked updates).
        image_id = self.create(body=b'first').json['image']['id']
        data = b'x' * (4 << 20)
        for body in (data, iter([data[i:i + 65536]
                                 for i in range(0, len(data), 65536)])):
            resp = self.request('PUT', '/v1/images/%s' % image_id, {
                'Content-Type': 'application/octet-stream'}, body)
            self.assertEqual(409, resp.status, resp)
            self.assertIn(b'Cannot upload to an unqueued image', resp.body)

    def test_refused_upload_answers_a_client_slower_than_the_linger(self):
        # The lingering close ends on a silence, not after a fixed time: a
        # client that keeps sending for longer (a loaded machine, a slow
        # link) still reads the answer.
        image_id = self.create(body=b'first').json['image']['id']

        def slow_body():
            for _ in range(16):
                time.sleep(0.25)
                yield b'x' * 65536

        resp = self.request('PUT', '/v1/images/%s' % image_id, {
            'Content-Type': 'application/octet-stream'}, slow_body())
        self.assertEqual(409, resp.status, resp)

    def test_put_data_without_formats(self):
        # §15 test_put_image_content_bad_container_format.
        resp = self.request('POST', '/v1/images',
                            {'x-image-meta-disk_format': 'raw'})
        path = '/v1/images/%s' % resp.json['image']['id']
        resp = self.request('PUT', path, {
            'Content-Type': 'application/octet-stream'}, b'data')
        self.assertEqual(400, resp.status)
        self.assertIn(b'Container format is not specified.', resp.body)
        self.assertEqual('queued', self.image_status(path.split('/')[-1]))

    def test_non_utf8_header_value(self):
        resp = self.create(headers={'x-image-meta-name': 'caf\xe9'})
        self.assertEqual(400, resp.status)

    def test_utf8_values_round_trip(self):
        name = 'caf\u00e9 \u65e5\u672c'
        resp = self.create(headers={
            'x-image-meta-name': name.encode().decode('latin-1'),
            'x-image-meta-property-note': '\u2603'.encode().decode(
                'latin-1')})
        self.assertEqual(201, resp.status)
        self.assertEqual(name, resp.json['image']['name'])
        head = self.request('HEAD', '/v1/images/%s'
                            % resp.json['image']['id'])
        self.assertEqual(name, head.header('x-image-meta-name').encode(
            'latin-1').decode('utf-8'))

    def test_checksum_must_be_an_md5(self):
        # Stored unverified on an image without data, a checksum that is
        # not 32 hex digits could never match any data (the fuzzer once
        # made one whose ETag could not even be encoded). Refused before
        # anything is stored; the reference's message for one too long.
        for checksum in ('x', 'a' * 31, 'g' * 32, 'a' * 31 + ' ',
                         '\u0100\u65e5'.encode().decode('latin-1')):
            self.assert_bad({'x-image-meta-checksum': checksum},
                            "Invalid checksum '")
            self.assert_bad({'x-image-meta-checksum': checksum},
                            'must be 32 hexadecimal digits (an md5)')
        upper = 'D41D8CD98F00B204E9800998ECF8427E'
        resp = self.create(headers={'x-image-meta-checksum': upper})
        self.assertEqual(201, resp.status, resp)
        self.assertEqual(upper, resp.header('etag'))

    def test_empty_image_checksum_is_verified(self):
        # x-image-meta-size: 0 makes an image active without data
        # (reference §3); a declared checksum must be the md5 of no bytes
        # like any upload's, else 400 and no image.
        self.assert_bad({'x-image-meta-size': '0',
                         'x-image-meta-checksum': 'a' * 32},
                        'Supplied checksum (%s) and checksum generated from '
                        'uploaded image (%s) did not match.'
                        % ('a' * 32, EMPTY_MD5))
        self.assert_bad({'x-image-meta-size': '0',
                         'x-image-meta-checksum': 'x'}, "Invalid checksum 'x'")
        resp = self.create(headers={'x-image-meta-size': '0',
                                    'x-image-meta-checksum': EMPTY_MD5})
        self.assertEqual(201, resp.status, resp)
        self.assertEqual('active', resp.json['image']['status'])
        self.assertEqual(EMPTY_MD5, resp.header('etag'))
        data = self.request('GET', '/v1/images/%s' % resp.json['image']['id'])
        self.assertEqual((200, b''), (data.status, data.body))


class TestUploadFailures(base.FunctionalTest):
    """§3 failure table: every failed upload leaves the image killed and
    no file, temporary or final, in the store."""

    conf = {'DEFAULT': {'image_size_cap': 1024 * 1024}}

    def assert_killed_and_clean(self, image_id):
        self.assertEqual('killed', self.image_status(image_id))
        names = [os.path.basename(f) for f in self.api.store_files()]
        self.assertEqual([], [n for n in names if image_id in n])

    def queued(self, **headers):
        resp = self.create(headers=headers)
        return resp.json['image']['id']

    def upload(self, image_id, body, **headers):
        headers.setdefault('Content-Type', 'application/octet-stream')
        return self.request('PUT', '/v1/images/%s' % image_id, headers,
                            body)

    def test_size_mismatch(self):
        # §15 test_mismatched_size.
        image_id = self.queued(**{'x-image-meta-size': str(len(DATA) + 1)})
        resp = self.upload(image_id, DATA)
        self.assertEqual(400, resp.status)
        self.assertIn(b'Supplied size (%d) and size generated from uploaded '
                      b'image (%d) did not match.' % (len(DATA) + 1,
                                                      len(DATA)), resp.body)
        self.assert_killed_and_clean(image_id)

    def test_read_only_store(self):
        # §3 StoreAddDisabled: 410 with the reference's words (Glance 15,
        # seen by tests/differential), the image killed.
        image_id = self.queued()
        resp = self.upload(image_id, DATA, **{'x-image-meta-store': 'http'})
        self.assertEqual(410, resp.status)
        self.assertIn(b'Error in store configuration. Adding images to '
                      b'store is disabled.', resp.body)
        self.assert_killed_and_clean(image_id)

    def test_checksum_mismatch(self):
        # §15 test_mismatched_checksum.
        image_id = self.queued(**{'x-image-meta-checksum': 'f' * 32})
        resp = self.upload(image_id, DATA)
        self.assertEqual(400, resp.status)
        self.assertIn(b'Supplied checksum', resp.body)
        self.assert_killed_and_clean(image_id)

    def test_empty_upload_checksum_is_verified(self):
        # An empty (chunked) body uploads zero bytes: the declared
        # checksum is checked against their md5 as for any other data.
        image_id = self.queued()
        resp = self.upload(image_id, iter([b'']),
                           **{'x-image-meta-checksum': 'x'})
        self.assertEqual(400, resp.status)
        self.assertIn(b"Invalid checksum 'x'", resp.body)
        self.assertEqual('queued', self.image_status(image_id))
        resp = self.upload(image_id, iter([b'']),
                           **{'x-image-meta-checksum': 'a' * 32})
        self.assertEqual(400, resp.status)
        self.assertIn(b'Supplied checksum (%s) and checksum generated from '
                      b'uploaded image (%s) did not match.'
                      % (b'a' * 32, EMPTY_MD5.encode()), resp.body)
        self.assert_killed_and_clean(image_id)
        image_id = self.queued()
        resp = self.upload(image_id, iter([b'']),
                           **{'x-image-meta-checksum': EMPTY_MD5})
        self.assertEqual(200, resp.status, resp)
        self.assertEqual(('active', 0, EMPTY_MD5), tuple(
            resp.json['image'][k] for k in ('status', 'size', 'checksum')))

    def test_declared_size_over_cap_is_400(self):
        resp = self.create(headers={'x-image-meta-size': str(2 ** 20 + 1)})
        self.assertEqual(400, resp.status)
        self.assertIn(b'Denying attempt to upload image larger than 1048576 '
                      b'bytes.', resp.body)

    def test_content_length_over_cap_is_400(self):
        resp = self.create(body=b'x' * (2 ** 20 + 1))
        self.assertEqual(400, resp.status)

    def test_chunked_over_cap_is_413(self):
        image_id = self.queued()

        def chunks():
            for _ in range(20):
                yield b'x' * 65536
        resp = self.upload(image_id, chunks())
        self.assertEqual(413, resp.status)
        self.assertIn(b'Denying attempt to upload image larger than',
                      resp.body)
        self.assert_killed_and_clean(image_id)

    def _disconnect(self, image_id, chunked):
        sock = self.raw_socket()
        head = ('PUT /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                'Content-Type: application/octet-stream\r\n' % image_id)
        if chunked:
            head += 'Transfer-Encoding: chunked\r\n\r\n'
            sock.sendall(head.encode() + b'10000\r\n' + b'x' * 65536 +
                         b'\r\n10000\r\n' + b'x' * 1000)
        else:
            head += 'Content-Length: 500000\r\n\r\n'
            sock.sendall(head.encode() + b'x' * 100000)
        time.sleep(0.3)
        sock.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.image_status(image_id) == 'killed':
                break
            time.sleep(0.1)
        self.assert_killed_and_clean(image_id)

    def test_client_disconnect_with_content_length(self):
        self._disconnect(self.queued(), chunked=False)

    def test_client_disconnect_chunked(self):
        self._disconnect(self.queued(), chunked=True)


def read_response(f):
    """(status, headers, body) of one response from a socket's file."""
    status = int(f.readline().split()[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b'\r\n', b''):
            break
        name, _, value = line.decode().partition(':')
        headers[name.strip().lower()] = value.strip()
    return status, headers, f.read(int(headers.get('content-length', 0)))


class TestUploadWire(base.FunctionalTest):
    """An upload's body as clients frame it, and the connection after it
    (the server reads bodies off the socket itself: common/socket_body)."""

    HEAD = (b'POST /v1/images HTTP/1.1\r\nHost: x\r\n'
            b'Content-Type: application/octet-stream\r\n'
            b'x-image-meta-disk_format: raw\r\n'
            b'x-image-meta-container_format: bare\r\n')

    @staticmethod
    def chunked(data, sizes):
        out, at = b'', 0
        for n in sizes:
            out += b'%x;name=value\r\n' % n + data[at:at + n] + b'\r\n'
            at += n
        return out + b'0\r\nX-Trailer: yes\r\n\r\n'

    def connection(self):
        sock = self.raw_socket()
        self.addCleanup(sock.close)
        return sock, sock.makefile('rb')

    def assertUploaded(self, f):
        status, _, body = read_response(f)
        self.assertEqual(201, status, body)
        self.assertIn(MD5.encode(), body)

    @server.eventlet_only(
        "uWSGI's http-socket serves one request per connection")
    def test_one_connection_carries_uploads_and_requests(self):
        sock, f = self.connection()
        sock.sendall(self.HEAD + b'Content-Length: %d\r\n\r\n' % len(DATA)
                     + DATA)
        self.assertUploaded(f)
        sizes = (1, 4095, 70000, len(DATA) - 74096)
        sock.sendall(self.HEAD + b'Transfer-Encoding: chunked\r\n\r\n'
                     + self.chunked(DATA, sizes))
        self.assertUploaded(f)
        sock.sendall(b'GET /versions HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertEqual(200, read_response(f)[0])

    @server.eventlet_only(
        "uWSGI's http-socket serves one request per connection")
    def test_request_pipelined_after_a_chunked_upload(self):
        sock, f = self.connection()
        sock.sendall(self.HEAD + b'Transfer-Encoding: chunked\r\n\r\n'
                     + self.chunked(DATA, (len(DATA),))
                     + b'GET /versions HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertUploaded(f)
        self.assertEqual(200, read_response(f)[0])

    @server.eventlet_only(
        'uWSGI 2.0 never answers Expect: 100-continue')
    def test_expect_100_continue(self):
        sock, f = self.connection()
        sock.sendall(self.HEAD + b'Expect: 100-continue\r\n'
                     b'Content-Length: %d\r\n\r\n' % len(DATA))
        self.assertEqual(b'HTTP/1.1 100 Continue\r\n', f.readline())
        self.assertEqual(b'\r\n', f.readline())
        sock.sendall(DATA)
        self.assertUploaded(f)

    def test_malformed_chunk_is_400_and_leaves_nothing(self):
        files = self.api.store_files()
        sock, f = self.connection()
        sock.sendall(self.HEAD + b'Transfer-Encoding: chunked\r\n\r\n'
                     b'10\r\n' + b'x' * 16 + b'\r\nnot-hex\r\n')
        status, headers, body = read_response(f)
        self.assertEqual(400, status, body)
        # The body was left midway: the connection cannot go on.
        self.assertEqual('close', headers.get('connection'))
        if server.TEST_SERVER != 'modwsgi':
            # mod_wsgi writes its 500 page after Apache's 400.
            self.assertEqual(b'', f.read())
        self.assertEqual(files, self.api.store_files())


class TestTrustedAuth(base.FunctionalTest):
    """§7 trusted-auth flavor: identity headers or 401."""

    flavor = 'trusted-auth'

    def test_no_identity_is_401(self):
        self.assertEqual(401, self.request('GET', '/v1/images').status)
        resp = self.request('GET', '/v1/images', {
            'X-Auth-Token': 't', 'X-Tenant-Id': 'a', 'X-Roles': 'admin'})
        self.assertEqual(401, resp.status)

    def test_service_catalog_must_be_json(self):
        # §7: the reference refused an undecodable X-Service-Catalog (with
        # a 500); a 400 says whose fault it is. Nothing is created.
        alice = base.identity('catalog-t')
        resp = self.create(headers=dict(alice, **{
            'X-Service-Catalog': '[{"not json'}))
        self.assertEqual(400, resp.status)
        self.assertIn(b'Invalid service catalog json.', resp.body)
        self.assertEqual([], [i for i in self.request(
            'GET', '/v1/images/detail', alice).json['images']
            if i['owner'] == 'catalog-t'])
        resp = self.create(headers=dict(alice, **{
            'X-Service-Catalog': '[{"type": "image", "endpoints": []}]'}))
        self.assertEqual(201, resp.status)

    def test_owner_is_tenant_and_private(self):
        alice = base.identity('alice')
        bob = base.identity('bob')
        resp = self.create(headers=dict(alice, **{
            'x-image-meta-owner': 'someone-else'}))
        self.assertEqual(201, resp.status)
        image = resp.json['image']
        # §2 owner: a non-admin's owner header is ignored on create.
        self.assertEqual('alice', image['owner'])
        path = '/v1/images/%s' % image['id']
        self.assertEqual(200, self.request('HEAD', path, alice).status)
        self.assertEqual(404, self.request('HEAD', path, bob).status)
        self.assertEqual(404, self.request('DELETE', path, bob).status)
        ids = [i['id'] for i in self.request(
            'GET', '/v1/images', bob).json['images']]
        self.assertNotIn(image['id'], ids)

    def test_admin_deleting_a_deleted_image(self):
        # §3: an admin still sees the deleted image; Glance 15 answers
        # "Image <id> not found." (seen by tests/differential).
        admin = base.identity('admin', roles='admin')
        image = self.create(headers=admin).json['image']
        path = '/v1/images/%s' % image['id']
        self.assertEqual(200, self.request('DELETE', path, admin).status)
        resp = self.request('DELETE', path, admin)
        self.assertEqual(404, resp.status)
        self.assertIn(('Image %s not found.' % image['id']).encode(),
                      resp.body)

    def test_changing_a_public_image_of_another_tenant(self):
        # §7: the registry refuses; Glance 15 says "Forbidden to update
        # image: ..." and "Forbidden to delete image: ..." (seen by
        # tests/differential).
        admin = base.identity('admin', roles='admin')
        alice = base.identity('alice')
        image = self.create(headers=dict(admin, **{
            'x-image-meta-is_public': 'true'})).json['image']
        path = '/v1/images/%s' % image['id']
        resp = self.request('PUT', path, dict(alice, **{
            'x-image-meta-name': 'mine now'}))
        self.assertEqual(403, resp.status)
        self.assertIn(b'Forbidden to update image: ', resp.body)
        resp = self.request('DELETE', path, alice)
        self.assertEqual(403, resp.status)
        self.assertIn(b'Forbidden to delete image: ', resp.body)
        self.assertEqual('test', self.request('HEAD', path, alice).header(
            'x-image-meta-name'))

    def test_publicize_needs_admin(self):
        # §7 publicize_image: role:admin (OSSN-0015).
        resp = self.create(headers=dict(base.identity('alice'), **{
            'x-image-meta-is_public': 'true'}))
        self.assertEqual(403, resp.status)
        resp = self.create(headers=dict(base.identity('root', roles='admin'),
                                        **{'x-image-meta-is_public': 'true'}))
        self.assertEqual(201, resp.status)
        self.assertTrue(resp.json['image']['is_public'])
        # Others may read a public image but not change or delete it.
        path = '/v1/images/%s' % resp.json['image']['id']
        bob = base.identity('bob')
        self.assertEqual(200, self.request('HEAD', path, bob).status)
        self.assertEqual(403, self.request('DELETE', path, bob).status)
        self.assertEqual(403, self.request(
            'PUT', path, dict(bob, **{'x-image-meta-name': 'x'})).status)
        self.assertEqual('queued', self.image_status(
            resp.json['image']['id'], bob))
