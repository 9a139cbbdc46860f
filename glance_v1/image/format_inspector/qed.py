"""QED (QEMU enhanced disk, little-endian header).

No ``disk_format`` names it, so with ``require_image_format_match`` it is
refused as a mismatch; it is recognised all the same so that a QED with a
backing file is refused even when the match is not required (qemu would
follow the file its header names).
"""

import struct

from glance_v1.image.format_inspector import base

MAGIC = b'QED\0'
# magic, cluster size, table size, header size (clusters), features,
# compatible features, autoclear features, L1 offset, image size.
_HEADER = struct.Struct('<4sIIIQQQQQ')
HAS_BACKING_FILE = 1 << 0


def detect():
    head = yield (0, _HEADER.size)
    if head[:4] != MAGIC:
        return
    if len(head) < _HEADER.size:
        raise base.Refused('qed header is truncated')
    fields = _HEADER.unpack(head)
    features, size = fields[4], fields[8]
    if features & HAS_BACKING_FILE:
        raise base.Refused('qed image has a backing file')
    yield base.Detected('qed', size)
