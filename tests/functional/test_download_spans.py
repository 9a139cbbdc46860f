"""A download sent with sendfile(2) whose first span of the file is
shorter than eventlet's write buffer: the headers still come first."""

import os

from tests.functional import base
from tests.functional import server

# The file store hashes the last MiB apart from the rest: an image a few
# bytes larger than that starts with a span of a few bytes.
SIZES = (1024 * 1024 + 7, 1024 * 1024 + 4095)


@server.eventlet_only('sendfile is eventlet server only')
class DownloadSpansTest(base.FunctionalTest):

    def read_response(self, image_id):
        sock = self.raw_socket()
        self.addCleanup(sock.close)
        sock.sendall(b'GET /v1/images/%s HTTP/1.1\r\nHost: x\r\n'
                     b'Connection: close\r\n\r\n' % image_id.encode())
        return self.read_until_closed(sock)

    def test_headers_before_data(self):
        for size in SIZES:
            data = os.urandom(size)
            resp = self.create(body=data)
            self.assertEqual(201, resp.status, resp)
            raw = self.read_response(resp.json['image']['id'])
            head, _, body = raw.partition(b'\r\n\r\n')
            self.assertTrue(head.startswith(b'HTTP/1.1 200 '),
                            (size, raw[:60]))
            self.assertEqual(data, body, size)
