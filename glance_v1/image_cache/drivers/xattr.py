"""Cache bookkeeping in ``user.`` extended attributes of the cached files
(the filesystem must support them, e.g. ext4/xfs, or tmpfs on Linux 6.6+).
Nothing outside the cache directory is needed, so there is no database
to lose, but listing the cache reads every file's attributes."""

import errno
import os
import time

from glance_v1.common import exception

_PREFIX = 'user.glance.'


class Driver:

    def __init__(self, base):
        self.base = base
        probe = os.path.join(base, '.xattr-probe')
        with open(probe, 'w'):
            pass
        try:
            os.setxattr(probe, _PREFIX + 'probe', b'1')
        except OSError as e:
            if e.errno in (errno.ENOTSUP, errno.EPERM):
                raise exception.GlanceException(
                    'The xattr image cache driver needs a filesystem with '
                    'user extended attributes at %s' % base)
            raise
        finally:
            os.unlink(probe)

    def _set(self, path, **values):
        for key, value in values.items():
            os.setxattr(path, _PREFIX + key, str(value).encode())

    @staticmethod
    def _get(path, key, default):
        try:
            return os.getxattr(path, _PREFIX + key).decode()
        except OSError:
            return default

    def record(self, image_id, size, checksum):
        now = time.time()
        self._set(os.path.join(self.base, image_id), size=size,
                  checksum=checksum, hits=0, last_accessed=now,
                  last_modified=now)

    def hit(self, image_id):
        path = os.path.join(self.base, image_id)
        # Read-modify-write: concurrent hits may count once; only the
        # statistics suffer.
        hits = int(self._get(path, 'hits', '0'))
        try:
            self._set(path, hits=hits + 1, last_accessed=time.time())
        except FileNotFoundError:
            pass

    def forget(self, image_id):
        # The attributes go with the file.
        pass

    def entries(self):
        found = []
        for name in sorted(os.listdir(self.base)):
            path = os.path.join(self.base, name)
            if not os.path.isfile(path):
                continue
            checksum = self._get(path, 'checksum', None)
            if checksum is None:
                continue
            found.append({
                'image_id': name,
                'size': int(self._get(path, 'size', '0')),
                'checksum': checksum,
                'hits': int(self._get(path, 'hits', '0')),
                'last_accessed': float(self._get(path, 'last_accessed',
                                                 '0')),
                'last_modified': float(self._get(path, 'last_modified',
                                                 '0'))})
        return found
