"""VHD (Virtual PC / Hyper-V "vpc", big-endian).

Every VHD ends with a 512-byte footer; a dynamic or differencing one has
a copy of it at the start and a dynamic header (with the block table)
where the footer's data offset points. A fixed VHD is raw data followed by
the footer only, so it can be recognised only at the end of the upload
(from the few bytes the driver keeps).

Refused: a differencing disk (its parent is another file), a footer with a
bad checksum at the start, an unknown disk type, and headers that do not
fit the data (fixed: current size + footer != file size; dynamic: a block
table too small for the disk or past the end of the file, no matching
footer at the end).
"""

import struct

from glance_v1.image.format_inspector import base

COOKIE = b'conectix'
SPARSE_COOKIE = b'cxsparse'
FIXED, DYNAMIC, DIFFERENCING = 2, 3, 4
NO_DATA_OFFSET = 0xffffffffffffffff
# cookie, features, version, data offset, timestamp, creator application,
# creator version, creator OS, original size, current size, cylinders,
# heads, sectors per track, disk type, checksum.
_FOOTER = struct.Struct('>8sIIQI4sI4sQQHBBII')
FOOTER_SIZE = 512
_CHECKSUM_AT = 64
# cookie, data offset, table offset, header version, max table entries,
# block size.
_DYNAMIC = struct.Struct('>8sQQIII')
DYNAMIC_SIZE = 1024
# Creators whose size a hypervisor takes from the CHS geometry, as qemu
# does, unless the geometry is the largest it can express.
CHS_CREATORS = (b'vpc ', b'qemu')
MAX_CHS = 65535 * 16 * 255


def checksum_ok(footer):
    total = sum(footer[:_CHECKSUM_AT]) + sum(footer[_CHECKSUM_AT + 4:])
    return (~total & 0xffffffff) == _FOOTER.unpack_from(footer)[-1]


def _virtual_size(fields):
    creator, current = fields[5], fields[9]
    chs = fields[10] * fields[11] * fields[12]
    if creator in CHS_CREATORS and chs != MAX_CHS:
        return chs * 512
    return current


def detect():
    head = yield (0, FOOTER_SIZE)
    if head[:8] != COOKIE:
        yield from _fixed()
        return
    if len(head) < FOOTER_SIZE or not checksum_ok(head):
        raise base.Refused('vhd footer checksum is wrong')
    fields = _FOOTER.unpack_from(head)
    data_offset, disk_type = fields[3], fields[13]
    if disk_type == DIFFERENCING:
        raise base.Refused('vhd image is a differencing disk (has a '
                           'parent)')
    if disk_type != DYNAMIC:
        raise base.Refused('vhd header is inconsistent with the data: '
                           'disk type %d at the start' % disk_type)
    virtual_size = _virtual_size(fields)
    yield base.Detected('vhd', virtual_size)
    if data_offset < FOOTER_SIZE or data_offset == NO_DATA_OFFSET:
        raise base.Refused('vhd dynamic header offset %d is invalid'
                           % data_offset)
    header = yield (data_offset, DYNAMIC_SIZE)
    if len(header) < _DYNAMIC.size or header[:8] != SPARSE_COOKIE:
        raise base.Refused('vhd dynamic header is missing')
    _c, _d, table_offset, _v, entries, block_size = _DYNAMIC.unpack_from(
        header)
    if block_size < 512 or block_size & (block_size - 1):
        raise base.Refused('vhd block size %d is invalid' % block_size)
    if entries * block_size < virtual_size:
        raise base.Refused('vhd block table is too small for the disk')
    total, tail = yield base.END
    if table_offset + entries * 4 > total or \
            data_offset + DYNAMIC_SIZE > total:
        raise base.Refused('vhd header is inconsistent with the data: '
                           'its tables lie past the end of the file')
    if len(tail) < FOOTER_SIZE or tail[:8] != COOKIE or \
            _FOOTER.unpack_from(tail)[9:14] != fields[9:14]:
        raise base.Refused('vhd header is inconsistent with the data: '
                           'no matching footer at the end')


def _fixed():
    total, tail = yield base.END
    if len(tail) < FOOTER_SIZE or tail[:8] != COOKIE or \
            not checksum_ok(tail):
        return
    fields = _FOOTER.unpack_from(tail)
    data_offset, current, disk_type = fields[3], fields[9], fields[13]
    yield base.Detected('vhd', _virtual_size(fields), rank=1)
    if disk_type != FIXED or data_offset != NO_DATA_OFFSET:
        raise base.Refused('vhd footer at the end is of a disk of type %d '
                           'but there is no header at the start'
                           % disk_type)
    if current + FOOTER_SIZE != total:
        raise base.Refused('vhd header is inconsistent with the data: '
                           'size %d, file %d bytes' % (current, total))
