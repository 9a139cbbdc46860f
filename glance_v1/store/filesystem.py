"""Filesystem store: one file per image in a local (or shared) directory.

Data is staged in ``<datadir>/.staging`` (same filesystem, so the final
rename is atomic), fsynced, verified and only then linked under the image id.
"""

import errno
import os
import re
import uuid

from oslo_config import cfg

from glance_v1.common import exception
from glance_v1.common import threads
from glance_v1.store import base
from glance_v1.store import location

filesystem_opts = [
    cfg.StrOpt('filesystem_store_datadir', default='$state_path/images',
               help='Directory that holds image files.'),
    cfg.IntOpt('filesystem_store_chunk_size', default=1024 * 1024,
               min=4096,
               help='Bytes read or written at a time.'),
]

CONF = cfg.CONF
CONF.register_opts(filesystem_opts, group='glance_store')

# Image ids are uuid-like; nothing else may name a file, so no id can
# point outside the data directory.
_SAFE_ID = re.compile(r'^[0-9A-Fa-f{}-]{1,36}$')
STAGING = '.staging'


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _check_id(image_id):
    if not image_id or not _SAFE_ID.match(image_id):
        raise exception.Invalid('Invalid image id %r for the file store'
                                % image_id)


class FilesystemStore(base.Store):
    scheme = 'file'

    def __init__(self, conf):
        super().__init__(conf)
        self.datadir = os.path.realpath(
            conf.glance_store.filesystem_store_datadir)
        self.chunk_size = conf.glance_store.filesystem_store_chunk_size
        self.staging = os.path.join(self.datadir, STAGING)
        os.makedirs(self.staging, exist_ok=True)

    def _path(self, uri):
        path = os.path.realpath(location.file_path(uri))
        if os.path.dirname(path) != self.datadir:
            raise exception.Forbidden(
                'Location is outside the file store directory')
        _check_id(os.path.basename(path))
        return path

    def staged_files(self, image_id):
        """Partial files of an upload of ``image_id`` that never finished."""
        prefix = image_id + '.'
        return [os.path.join(self.staging, n)
                for n in os.listdir(self.staging) if n.startswith(prefix)]

    def discard_staged(self, image_id):
        _check_id(image_id)
        for path in self.staged_files(image_id):
            self._remove(path)

    def add(self, image_id, chunks, size, verify):
        _check_id(image_id)
        final = os.path.join(self.datadir, image_id)
        if os.path.exists(final):
            raise exception.Duplicate(
                'Attempt to upload duplicate image: %s' % image_id)
        tmp = os.path.join(self.staging,
                           '%s.%s.part' % (image_id, uuid.uuid4().hex))
        written = 0
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            try:
                for chunk in chunks:
                    threads.run(_write_all, fd, chunk)
                    written += len(chunk)
                threads.run(os.fsync, fd)
            finally:
                os.close(fd)
            verify(written)
            # link() refuses to replace an existing file, unlike rename().
            os.link(tmp, final)
            self._fsync_dir()
        except OSError as e:
            self._remove(tmp)
            if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
                raise exception.StorageFull(reason=os.strerror(e.errno))
            if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise exception.StorageWriteDenied()
            if e.errno == errno.EEXIST:
                raise exception.Duplicate(
                    'Attempt to upload duplicate image: %s' % image_id)
            raise
        except BaseException:
            self._remove(tmp)
            raise
        self._remove(tmp)
        return location.file_uri(final), written

    def _fsync_dir(self):
        fd = os.open(self.datadir, os.O_RDONLY)
        try:
            threads.run(os.fsync, fd)
        finally:
            os.close(fd)

    @staticmethod
    def _remove(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def get(self, location_uri, offset=0, length=None):
        path = self._path(location_uri)
        try:
            f = open(path, 'rb')
        except FileNotFoundError:
            raise exception.NotFound('Image file %s not found'
                                     % os.path.basename(path))
        size = os.fstat(f.fileno()).st_size
        if offset:
            f.seek(offset)
        remaining = size - offset if length is None else length
        return self._read(f, remaining), size

    def _read(self, f, remaining):
        with f:
            while remaining > 0:
                chunk = f.read(min(self.chunk_size, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def get_size(self, location_uri):
        try:
            return os.stat(self._path(location_uri)).st_size
        except FileNotFoundError:
            raise exception.NotFound('Image file not found')

    def delete(self, location_uri):
        path = self._path(location_uri)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise exception.NotFound('Image file %s not found'
                                     % os.path.basename(path))
