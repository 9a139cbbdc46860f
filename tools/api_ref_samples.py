"""Write api-ref/source/samples/ from the responses of a real glance-api.

    python tools/api_ref_samples.py            # starts a throwaway server

Ids, timestamps and the host are replaced by fixed example values, so the
samples change only when the API does; tests/functional/
test_api_ref_samples.py regenerates them and fails when they differ.
"""

import http.client
import json
import os
import re
import sys
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, 'api-ref', 'source', 'samples')
EXAMPLE_ID = '7c1fbb0d-5bc0-4bd3-a1b4-2b1b3e8d7a42'
EXAMPLE_TIME = '2026-01-01T12:00:00.000000'
EXAMPLE_HOST = 'http://glance.example.com:9292'
TIME = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}')


def _request(url, method, path, headers=None, body=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                      timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def _normalise(text, url, image_id):
    text = text.replace(image_id, EXAMPLE_ID).replace(url, EXAMPLE_HOST)
    return TIME.sub(EXAMPLE_TIME, text)


def generate(url):
    """{file name: content} from one scripted session against ``url``
    (an empty server)."""
    samples = {}

    def as_json(name, body):
        samples[name] = json.dumps(json.loads(body), indent=4,
                                   sort_keys=True) + '\n'

    status, _, body = _request(url, 'POST', '/v1/images', {
        'x-image-meta-name': 'cirros',
        'x-image-meta-disk_format': 'raw',
        'x-image-meta-container_format': 'bare',
        'x-image-meta-property-os_distro': 'cirros',
        'Content-Type': 'application/octet-stream'}, b'example image data')
    assert status == 201, (status, body)
    image_id = json.loads(body)['image']['id']
    as_json('image-create-response.json', body)

    status, _, body = _request(url, 'PUT', '/v1/images/' + image_id, {
        'x-image-meta-name': 'cirros-0.6',
        'x-image-meta-min_ram': '256',
        'x-image-meta-property-os_distro': 'cirros'})
    assert status == 200, (status, body)
    as_json('image-update-response.json', body)

    _, headers, _ = _request(url, 'HEAD', '/v1/images/' + image_id)
    samples['image-show-response-headers.txt'] = ''.join(
        '%s: %s\n' % (k.lower(), v) for k, v in sorted(headers)
        if k.lower().startswith('x-image-meta-') or k.lower() == 'etag')

    for name, path in (('images-list-response.json', '/v1/images'),
                       ('images-detail-response.json', '/v1/images/detail'),
                       ('versions-response.json', '/versions')):
        status, _, body = _request(url, 'GET', path)
        as_json(name, body)
    return {name: _normalise(text, url, image_id)
            for name, text in samples.items()}


def main():
    sys.path.insert(0, REPO)
    from tests.functional import server
    api = server.ApiServer()
    api.setUp()
    try:
        for name, text in generate(api.url).items():
            with open(os.path.join(SAMPLES, name), 'w') as f:
                f.write(text)
            print('wrote', os.path.join('api-ref/source/samples', name))
    finally:
        api.cleanUp()


if __name__ == '__main__':
    main()
