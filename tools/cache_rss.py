"""Peak resident memory of glance-api while it caches and serves a large
image: upload, GET (miss: the cache fills while streaming), GET (hit).

    python tools/cache_rss.py [MiB]   (default 512)

Prints the API process's peak RSS (VmHWM) after each step; with bounded
chunks it must not grow with the image size.
"""

import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional import server  # noqa: E402

CHUNK = 1024 * 1024


def peak_rss_mib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    return float('nan')


def body(mib):
    block = os.urandom(CHUNK)
    for _ in range(mib):
        yield block


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    api = server.ApiServer(flavor='caching')
    api.setUp()
    try:
        pid = api.proc.pid
        print('started: peak RSS %.1f MiB' % peak_rss_mib(pid))
        conn = http.client.HTTPConnection('127.0.0.1', api.port)
        conn.request('POST', '/v1/images', body=body(mib), headers={
            'x-image-meta-name': 'big', 'x-image-meta-disk_format': 'raw',
            'x-image-meta-container_format': 'bare',
            'Content-Type': 'application/octet-stream',
            'Content-Length': str(mib * CHUNK)})
        resp = conn.getresponse()
        image_id = resp.getheader('Location').rsplit('/', 1)[1]
        resp.read()
        print('uploaded %d MiB: peak RSS %.1f MiB' % (mib,
                                                     peak_rss_mib(pid)))
        for step in ('miss (fills the cache)', 'hit'):
            start = time.monotonic()
            conn.request('GET', '/v1/images/%s' % image_id)
            resp = conn.getresponse()
            total = 0
            while True:
                data = resp.read(CHUNK)
                if not data:
                    break
                total += len(data)
            elapsed = time.monotonic() - start
            print('GET %s: %d MiB in %.1f s, peak RSS %.1f MiB' % (
                step, total // CHUNK, elapsed, peak_rss_mib(pid)))
            time.sleep(0.5)
        cached = os.path.exists(os.path.join(api.state_dir, 'image-cache',
                                             image_id))
        print('cached: %s' % cached)
    finally:
        api.cleanUp()


if __name__ == '__main__':
    main()
