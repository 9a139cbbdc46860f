"""Image content inspection on real images made by qemu-img and
genisoimage (decisions "further" 8; OSSA-2024-001): every format is
accepted with the virtual size ``qemu-img info`` gives, and backing
files, data files, vmdk extents naming other files and content of another
format than the declared one are refused with 400, leaving nothing in the
store -- through Content-Length and chunked uploads and through
copy-from."""

import atexit
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile

import testtools

from tests.functional import base
from tests.functional import server
from tests.functional import test_external_sources
from tests.functional import test_images

MiB = 1024 * 1024
COPY_FROM = test_external_sources.COPY_FROM

# name: (disk_format to declare, qemu-img convert arguments or a maker).
GOOD = {
    'raw': ('raw', None),
    'qcow2': ('qcow2', ['-O', 'qcow2']),
    'qcow2-v2': ('qcow2', ['-O', 'qcow2', '-o', 'compat=0.10']),
    'vmdk-sparse': ('vmdk', ['-O', 'vmdk']),
    'vmdk-stream': ('vmdk', ['-O', 'vmdk', '-o',
                             'subformat=streamOptimized']),
    'vhd': ('vhd', ['-O', 'vpc']),
    'vhd-fixed': ('vhd', ['-O', 'vpc', '-o', 'subformat=fixed']),
    'vhdx': ('vhdx', ['-O', 'vhdx']),
    'vdi': ('vdi', ['-O', 'vdi']),
    'ploop': ('ploop', ['-O', 'parallels']),
    'iso': ('iso', None),
    'raw-mbr': ('raw', None),
}
# qemu-img's name of each format, to ask it the virtual size.
QEMU_FORMAT = {'raw': 'raw', 'qcow2': 'qcow2', 'vmdk': 'vmdk', 'vhd': 'vpc',
               'vhdx': 'vhdx', 'vdi': 'vdi', 'ploop': 'parallels',
               'iso': 'raw'}

# name: (disk_format to declare, what the 400 says).
BAD = {
    'qcow2-backing': ('qcow2', 'qcow2 image has a backing file'),
    'qcow2-data-file': ('qcow2', 'qcow2 image uses an external data file'),
    'vmdk-flat': ('vmdk', 'vmdk descriptor file names other files'),
    'vmdk-two-gb': ('vmdk', 'vmdk descriptor file names other files'),
    'vmdk-delta': ('vmdk', 'vmdk image is a delta of another disk'),
    'qed-backing': ('raw', 'qed image has a backing file'),
    'qcow2-as-raw': ('raw', "disk_format is 'raw' but the content is "
                            "qcow2"),
    'raw-as-qcow2': ('qcow2', "disk_format is 'qcow2' but the content is "
                              "not qcow2"),
    'iso-as-raw': ('raw', "disk_format is 'raw' but the content is iso"),
    'vhdx-as-vhd': ('vhd', "disk_format is 'vhd' but the content is vhdx"),
    'vhd-fixed-as-raw': ('raw', "disk_format is 'raw' but the content is "
                                "vhd"),
}

_images = None


def _run(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def _tools_reason():
    missing = [t for t in ('qemu-img', 'genisoimage') if not shutil.which(t)]
    if missing:
        return ('%s not found: install qemu-utils and genisoimage '
                '(.ci/run does)' % ', '.join(missing))
    return None


def _make(tmp):
    """Every image of GOOD and BAD in ``tmp``: {name: path}."""
    paths = {}
    source = os.path.join(tmp, 'raw')
    with open(source, 'wb') as f:
        # 64 MiB, with data at both ends and in between.
        for offset in (0, 5 * MiB, 33 * MiB, 63 * MiB):
            f.seek(offset)
            f.write(os.urandom(MiB))
    paths['raw'] = source
    for name, (_fmt, args) in GOOD.items():
        if args:
            paths[name] = os.path.join(tmp, name)
            _run('qemu-img', 'convert', '-f', 'raw', *args, source,
                 paths[name])
    content = os.path.join(tmp, 'iso-content')
    os.mkdir(content)
    with open(os.path.join(content, 'data.bin'), 'wb') as f:
        f.write(os.urandom(2 * MiB))
    paths['iso'] = os.path.join(tmp, 'iso')
    _run('genisoimage', '-quiet', '-o', paths['iso'], content)
    paths['raw-mbr'] = os.path.join(tmp, 'raw-mbr')
    with open(paths['raw-mbr'], 'wb') as f:
        mbr = bytearray(512)
        struct.pack_into('<B3sB3sII', mbr, 446, 0x80, b'\0' * 3, 0x83,
                         b'\0' * 3, 2048, 14336)
        mbr[510:512] = b'\x55\xaa'
        f.write(mbr)
        f.truncate(8 * MiB)

    def bad(name, *args):
        paths[name] = os.path.join(tmp, name)
        _run('qemu-img', 'create', '-q', *args)
    bad('qcow2-backing', '-f', 'qcow2', '-b', source, '-F', 'raw',
        os.path.join(tmp, 'qcow2-backing'))
    bad('qcow2-data-file', '-f', 'qcow2', '-o',
        'data_file=%s' % os.path.join(tmp, 'data-file.raw'),
        os.path.join(tmp, 'qcow2-data-file'), '16M')
    bad('vmdk-flat', '-f', 'vmdk', '-o', 'subformat=monolithicFlat',
        os.path.join(tmp, 'vmdk-flat'), '16M')
    bad('vmdk-two-gb', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse',
        os.path.join(tmp, 'vmdk-two-gb'), '16M')
    bad('qed-backing', '-f', 'qed', '-b', source, '-F', 'raw',
        os.path.join(tmp, 'qed-backing'))
    bad('vmdk-delta', '-f', 'vmdk', '-b', paths['vmdk-sparse'], '-F', 'vmdk',
        os.path.join(tmp, 'vmdk-delta'))
    for name, good in (('qcow2-as-raw', 'qcow2'), ('raw-as-qcow2', 'raw-mbr'),
                       ('iso-as-raw', 'iso'), ('vhdx-as-vhd', 'vhdx'),
                       ('vhd-fixed-as-raw', 'vhd-fixed')):
        paths[name] = paths[good]
    return paths


def images():
    """The images, made once per test process (skips, or fails when
    GLANCE_V1_REQUIRE_BACKENDS=1, without the tools)."""
    global _images
    reason = _tools_reason()
    if reason:
        if server.require_backends():
            raise RuntimeError(reason + ' (GLANCE_V1_REQUIRE_BACKENDS=1)')
        raise testtools.TestCase.skipException(reason)
    if _images is None:
        tmp = tempfile.mkdtemp(prefix='glance-v1-formats-')
        atexit.register(shutil.rmtree, tmp, True)
        try:
            _images = _make(tmp)
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return _images


def qemu_virtual_size(path, disk_format):
    out = subprocess.run(
        ['qemu-img', 'info', '--output=json', '-f',
         QEMU_FORMAT[disk_format], path], check=True, capture_output=True,
        timeout=60).stdout
    return json.loads(out)['virtual-size']


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class FormatsTestBase(test_external_sources.ExternalSourceTest):
    conf = {'DEFAULT': {'allowed_external_hosts': '127.0.0.1'}}

    def setUp(self):
        super().setUp()
        self.images = images()

    def headers(self, disk_format):
        return {'x-image-meta-disk_format': disk_format}

    def upload(self, name, disk_format, how):
        """Create an image of ``name``'s data; (response, image id or
        None)."""
        data = read(self.images[name])
        if how == 'copy-from':
            self.source.files['/' + name] = data
            resp = self.create(extra={
                'x-image-meta-disk_format': disk_format,
                COPY_FROM: self.source.url('/' + name)})
            self.assertEqual(201, resp.status, (name, resp))
            image_id = resp.json['image']['id']
            self.wait_status(image_id, timeout=60)
            return resp, image_id
        if how == 'chunked':
            return self.upload_chunked(data, disk_format)
        resp = self.create(body=data, extra=self.headers(disk_format))
        image_id = resp.json['image']['id'] if resp.status == 201 else None
        return resp, image_id

    def upload_chunked(self, data, disk_format):
        """A chunked upload that stops sending once the server has
        answered (it refuses content early, without reading the rest)."""
        sock = self.raw_socket()
        with sock, sock.makefile('rb') as f:
            sock.sendall(b'POST /v1/images HTTP/1.1\r\nHost: x\r\n'
                         b'Content-Type: application/octet-stream\r\n'
                         b'x-image-meta-name: test\r\n'
                         b'x-image-meta-container_format: bare\r\n'
                         b'x-image-meta-disk_format: %s\r\n'
                         b'Transfer-Encoding: chunked\r\n\r\n'
                         % disk_format.encode())
            pieces = [data[i:i + 300000]
                      for i in range(0, len(data), 300000)] + [b'']
            try:
                for piece in pieces:
                    if select.select([sock], [], [], 0)[0]:
                        break
                    sock.sendall(b'%x\r\n%s\r\n' % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                pass
            status, headers, body = test_images.read_response(f)
        resp = base.Response(status, headers, body)
        image_id = resp.json['image']['id'] if status == 201 else None
        return resp, image_id

    def check_good(self, how, names=tuple(GOOD)):
        for name in names:
            disk_format = GOOD[name][0]
            _resp, image_id = self.upload(name, disk_format, how)
            self.assertIsNotNone(image_id, (name, how, _resp))
            head = self.request('HEAD', '/v1/images/%s' % image_id)
            self.assertEqual('active', head.header('x-image-meta-status'),
                             (name, how))
            expected = qemu_virtual_size(self.images[name], disk_format)
            self.assertEqual(str(expected),
                             head.header('x-image-meta-virtual_size'),
                             (name, how))
            detail = self.request('GET', '/v1/images/detail?name=test'
                                  '&disk_format=%s' % disk_format).json
            sizes = {i['id']: i['virtual_size'] for i in detail['images']}
            self.assertEqual(expected, sizes[image_id], (name, how))

    def check_bad(self, how, names=tuple(BAD)):
        for name in names:
            disk_format, message = BAD[name]
            before = self.api.store_files()
            resp, image_id = self.upload(name, disk_format, how)
            if how == 'copy-from':
                self.assertEqual('killed', self.image_status(image_id),
                                 name)
            else:
                self.assertEqual(400, resp.status, (name, how, resp))
                self.assertIn(message.encode(), resp.body, (name, how))
            self.assertEqual(before, self.api.store_files(), (name, how))


class ImageFormatsTest(FormatsTestBase):

    def test_good_images_with_content_length(self):
        self.check_good('content-length')

    def test_good_images_chunked(self):
        self.check_good('chunked')

    def test_good_images_copied_from(self):
        self.check_good('copy-from', ('raw', 'qcow2', 'vmdk-stream',
                                      'vhd-fixed', 'vhdx', 'iso'))

    def test_bad_images_with_content_length(self):
        self.check_bad('content-length')

    def test_bad_images_chunked(self):
        self.check_bad('chunked')

    def test_bad_images_copied_from(self):
        self.check_bad('copy-from')

    def test_put_onto_queued_image_refused_and_killed(self):
        for name in ('qcow2-backing', 'vhd-fixed-as-raw'):
            disk_format, message = BAD[name]
            image_id = self.create(
                extra=self.headers(disk_format)).json['image']['id']
            before = self.api.store_files()
            resp = self.request(
                'PUT', '/v1/images/%s' % image_id,
                {'Content-Type': 'application/octet-stream'},
                read(self.images[name]))
            self.assertEqual(400, resp.status, (name, resp))
            self.assertIn(message.encode(), resp.body)
            self.assertEqual('killed', self.image_status(image_id))
            self.assertEqual(before, self.api.store_files())


class MismatchAllowedTest(FormatsTestBase):
    """require_image_format_match = false lets a format through under
    another name, never an unsafe image."""
    conf = {'DEFAULT': {'allowed_external_hosts': '127.0.0.1'},
            'image_format': {'require_image_format_match': 'false'}}

    def test_mismatch_accepted_backing_file_not(self):
        resp, image_id = self.upload('qcow2', 'raw', 'content-length')
        self.assertEqual(201, resp.status, resp)
        self.assertEqual(
            qemu_virtual_size(self.images['qcow2'], 'qcow2'),
            resp.json['image']['virtual_size'])
        self.check_bad('content-length', ('qcow2-backing', 'vmdk-flat',
                                          'qed-backing'))

