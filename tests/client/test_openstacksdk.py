"""openstacksdk's v1 image proxy against a real server: listing (with its
query filters and marker paging) and deletion (glance-v1-reference §5, §1
DELETE). Its create/show/update do not speak v1 headers and are not used.
"""

from openstack import connection

from tests.functional import base


class OpenStackSDKTest(base.FunctionalTest):

    def conn(self):
        # The endpoint is the server root: the SDK reads the versions
        # document there and picks /v1.
        return connection.Connection(auth_type='none',
                                     image_endpoint_override=self.api.url,
                                     image_api_version='1')

    def _image(self, name, data):
        resp = self.create(headers={'x-image-meta-name': name}, body=data)
        self.assertEqual(201, resp.status, resp)
        return resp.json['image']['id']

    def test_images_listing(self):
        made = {self._image('sdk-%d' % i, b'x' * i): i for i in range(1, 6)}
        conn = self.conn()
        images = {i.id: i for i in conn.image.images()}
        self.assertTrue(set(made) <= set(images))
        some = images[next(iter(made))]
        self.assertEqual(('raw', 'bare', 'active'), (
            some.disk_format, some.container_format, some.status))
        self.assertEqual(made[some.id], some.size)
        # Query filters and paging (the SDK follows markers while pages
        # come back full).
        sized = {i.id for i in conn.image.images(size_min=2, size_max=3)}
        self.assertEqual({k for k, v in made.items() if 2 <= v <= 3},
                         sized & set(made))
        named = [i.id for i in conn.image.images(name='sdk-4')]
        self.assertEqual([k for k, v in made.items() if v == 4], named)
        paged = [i.id for i in conn.image.images(limit=2)]
        self.assertEqual(len(paged), len(set(paged)))
        self.assertTrue(set(made) <= set(paged))

    def test_delete_image(self):
        first = self._image('sdk-del-1', b'one')
        second = self._image('sdk-del-2', b'two')
        conn = self.conn()
        conn.image.delete_image(first, ignore_missing=False)
        self.assertTrue(conn.delete_image(second))
        listed = {i.id for i in conn.image.images()}
        self.assertEqual(set(), {first, second} & listed)
        for image_id in (first, second):
            resp = self.request('HEAD', '/v1/images/%s' % image_id)
            self.assertEqual('deleted', resp.header('x-image-meta-status'))
        # Deleting again: the SDK treats the 404 as "already gone".
        conn.image.delete_image(first)
