"""ploop (Virtuozzo; the Parallels disk layout, little-endian).

We decide (doc/decisions.rst) that an image declared ``ploop`` must be a
Parallels-format image, the file a Virtuozzo host restores its ploop
disk from. The format has no backing files; refused are headers qemu
would not read (version, cluster size) or that do not fit the data.
"""

import struct

from glance_v1.image.format_inspector import base

MAGICS = (b'WithoutFreeSpace', b'WithouFreSpacExt')
# magic, version, heads, cylinders, sectors per cluster, block table
# entries, size in sectors, in-use flag, data offset (sectors), flags,
# extension offset.
_HEADER = struct.Struct('<16sIIIIIQIIIQ')
VERSION = 2
SECTOR = 512


def _inconsistent(what):
    return base.Refused('ploop header is inconsistent with the data: %s'
                        % what)


def detect():
    head = yield (0, _HEADER.size)
    if head[:16] not in MAGICS:
        return
    found = base.Detected('ploop', None)
    yield found
    if len(head) < _HEADER.size:
        raise _inconsistent('truncated header')
    (magic, version, _h, _c, cluster, entries, sectors, _inuse, data_off,
     _flags, _ext) = _HEADER.unpack(head)
    if magic == MAGICS[0]:
        sectors &= 0xffffffff     # the old layout has a 32-bit size
    if version != VERSION or not cluster:
        raise _inconsistent('version %d, cluster of %d sectors'
                            % (version, cluster))
    if entries * cluster < sectors:
        raise _inconsistent('%d clusters for %d sectors'
                            % (entries, sectors))
    found.virtual_size = sectors * SECTOR
    total, _tail = yield base.END
    if data_off * SECTOR > total:
        raise _inconsistent('data offset past the end of the file')
