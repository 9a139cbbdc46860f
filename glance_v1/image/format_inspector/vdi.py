"""VDI (VirtualBox, little-endian): a 64-byte text banner, the signature
at 0x40, then the header (version 1.1 layout).

Refused: image types other than dynamic and fixed (undo and diff images
have a parent), a link or parent UUID (qemu refuses them too), and
headers that do not fit the data (sector or block size qemu does not
read, a block map too small for the disk, the map or data past the end
of the file).
"""

import struct

from glance_v1.image.format_inspector import base

SIGNATURE = 0xbeda107f
_PRE = struct.Struct('<II')          # at 0x40: signature, version
# at 0x48: header size, image type, flags; (comment) at 0x154: block map
# offset, data offset, cylinders, heads, sectors, sector size, -, disk
# size, block size, block extra, blocks, blocks allocated.
_HEAD = struct.Struct('<III')
_BODY = struct.Struct('<IIIIIIIQIIII')
DYNAMIC, FIXED = 1, 2
UUIDS = 0x188                        # create, modify, link, parent
HEADER_END = 0x1c8


def _inconsistent(what):
    return base.Refused('vdi header is inconsistent with the data: %s'
                        % what)


def detect():
    head = yield (0, 512)
    if len(head) < 0x48 or _PRE.unpack_from(head, 0x40)[0] != SIGNATURE:
        return
    found = base.Detected('vdi', None)
    yield found
    if len(head) < HEADER_END:
        raise _inconsistent('truncated header')
    _size, image_type, _flags = _HEAD.unpack_from(head, 0x48)
    (map_offset, data_offset, _c, _h, _s, sector_size, _u, disk_size,
     block_size, extra, blocks, allocated) = _BODY.unpack_from(head, 0x154)
    if image_type not in (DYNAMIC, FIXED):
        raise base.Refused('vdi image of type %d (undo or differencing) '
                           'is not supported' % image_type)
    link, parent = head[UUIDS + 32:UUIDS + 48], head[UUIDS + 48:UUIDS + 64]
    if link.strip(b'\0') or parent.strip(b'\0'):
        raise base.Refused('vdi image refers to a parent image')
    if sector_size != 512 or block_size != 1024 * 1024 or extra:
        raise _inconsistent('sector size %d, block size %d'
                            % (sector_size, block_size))
    if blocks * block_size < disk_size or allocated > blocks:
        raise _inconsistent('%d blocks for %d bytes' % (blocks, disk_size))
    if map_offset < HEADER_END or map_offset + blocks * 4 > data_offset:
        raise _inconsistent('block map at %d, data at %d'
                            % (map_offset, data_offset))
    found.virtual_size = disk_size
    total, _tail = yield base.END
    if data_offset + allocated * block_size > total:
        raise _inconsistent('data of %d blocks past the end of the file'
                            % allocated)
