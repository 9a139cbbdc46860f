"""qcow2 (QEMU copy-on-write v2/v3, big-endian header).

Refused: a backing file (header field), an external data file
(incompatible feature bit 2, or its header extension), a header qemu
would not accept (version, cluster size), incompatible features qemu
does not know, and header extensions without an end marker within the
first cluster (capped at HEAD), since we could not see all of them.
"""

import struct

from glance_v1.image.format_inspector import base

MAGIC = b'QFI\xfb'
# magic, version, backing_file_offset, backing_file_size, cluster_bits,
# size (virtual, bytes), crypt_method.
_V2 = struct.Struct('>4sIQIIQI')
V2_HEADER_LENGTH = 72
_V3 = struct.Struct('>QQQII')     # at 72: incompatible, compatible,
#                                   autoclear features, refcount_order,
#                                   header_length
INCOMPAT_DATA_FILE = 1 << 2
KNOWN_INCOMPAT = 0x1f             # dirty, corrupt, data file,
#                                   compression type, extended L2
EXT_END = 0
EXT_DATA_FILE = 0x44415441        # external data file name ("DATA")
_EXT = struct.Struct('>II')


def detect():
    head = yield (0, 512)
    if head[:4] != MAGIC:
        return
    if len(head) < V2_HEADER_LENGTH:
        raise base.Refused('qcow2 header is truncated')
    (_magic, version, backing_offset, _backing_size, cluster_bits,
     size, _crypt) = _V2.unpack_from(head)
    if version not in (2, 3):
        raise base.Refused('qcow2 version %d is not supported' % version)
    if not 9 <= cluster_bits <= 21:
        raise base.Refused('qcow2 cluster size 2^%d is invalid'
                           % cluster_bits)
    if backing_offset:
        raise base.Refused('qcow2 image has a backing file')
    header_length = V2_HEADER_LENGTH
    if version == 3:
        if len(head) < V2_HEADER_LENGTH + _V3.size:
            raise base.Refused('qcow2 header is truncated')
        incompat, _c, _a, _order, header_length = _V3.unpack_from(
            head, V2_HEADER_LENGTH)
        if incompat & INCOMPAT_DATA_FILE:
            raise base.Refused('qcow2 image uses an external data file')
        if incompat & ~KNOWN_INCOMPAT:
            raise base.Refused('qcow2 image has unknown incompatible '
                               'features 0x%x' % (incompat & ~KNOWN_INCOMPAT))
        if header_length < V2_HEADER_LENGTH + _V3.size or \
                header_length % 8:
            raise base.Refused('qcow2 header length %d is invalid'
                               % header_length)
    yield base.Detected('qcow2', size)
    # Header extensions follow the header, within the first cluster.
    end = min(1 << cluster_bits, base.HEAD)
    if header_length >= end:
        raise base.Refused('qcow2 header length %d is invalid'
                           % header_length)
    exts = yield (header_length, end - header_length)
    offset = 0
    while offset + _EXT.size <= len(exts):
        kind, length = _EXT.unpack_from(exts, offset)
        if kind == EXT_END:
            return
        if kind == EXT_DATA_FILE:
            raise base.Refused('qcow2 image names an external data file')
        offset += _EXT.size + (length + 7) // 8 * 8
    # No end marker where qemu's reading of them would stop.
    raise base.Refused('qcow2 header extensions are malformed')
