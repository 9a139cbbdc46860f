"""VMDK: a hosted sparse extent ("KDMV" header, little-endian) with its
descriptor embedded, or a text descriptor on its own.

Only a single-file VMDK is safe to hand to a converter: its descriptor's
``createType`` must be one of ``vmdk_allowed_types`` and its one extent
must be the sparse extent the file itself is. Refused:

- a text descriptor (no sparse header): every extent it lists is another
  file, which the converter would open on its host;
- a sparse header of capacity 0 whose embedded descriptor qemu would
  follow instead of the file (so again other files);
- an embedded descriptor with another ``createType``, with extents of any
  other type (FLAT, VMFS, ZERO, ...) or with more than one extent, with a
  ``parentFileNameHint`` (a delta disk), or with none;
- the old "COWD" (VMDK3) sparse format.
"""

import re
import struct

from oslo_config import cfg

from glance_v1.image.format_inspector import base

MAGIC = b'KDMV'
VMDK3_MAGIC = b'COWD'
SECTOR = 512
# magic, version, flags, capacity, grain size, descriptor offset and size
# (all in sectors).
_HEADER = struct.Struct('<4sIIQQQQ')
# qemu reads at most this much of a descriptor.
MAX_DESCRIPTOR = base.MAX_REGION
_EXTENT = re.compile(r'^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)(?:\s+(.*))?$')

CONF = cfg.CONF


def _is_text_descriptor(head):
    """qemu's probe for a descriptor file: comment and blank lines, then
    a line ``version=N`` (taken a little more loosely here)."""
    lines = head.split(b'\n')
    for line in lines[:-1]:     # the last one may be cut off
        if line.startswith(b'#') or not line.strip():
            continue
        return line.rstrip(b'\r') in (b'version=1', b'version=2',
                                      b'version=3')
    return False


def check_descriptor(text):
    """Refuse a descriptor that is not of a single-file VMDK."""
    create_type = None
    extents = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        key, sep, value = line.partition('=')
        if sep and key.strip() == 'createType':
            create_type = value.strip().strip('"')
        elif sep and key.strip() == 'parentFileNameHint':
            raise base.Refused('vmdk image is a delta of another disk')
        elif _EXTENT.match(line):
            extents.append(_EXTENT.match(line).group(3))
    allowed = CONF.image_format.vmdk_allowed_types
    if create_type not in allowed:
        raise base.Refused("vmdk createType '%s' is not allowed (allowed: "
                           "%s)" % (create_type, ', '.join(allowed)))
    if len(extents) != 1 or extents[0] != 'SPARSE':
        raise base.Refused('vmdk descriptor names extents other than the '
                           'image itself')


def detect():
    head = yield (0, 2048)
    if head[:4] == VMDK3_MAGIC:
        yield base.Detected('vmdk', None)
        raise base.Refused('vmdk (COWD) sparse format is not supported')
    if head[:4] != MAGIC:
        if _is_text_descriptor(head):
            yield base.Detected('vmdk', None)
            raise base.Refused('vmdk descriptor file names other files '
                               'as its extents')
        return
    if len(head) < _HEADER.size:
        raise base.Refused('vmdk header is truncated')
    (_m, _version, _flags, capacity, _grain, desc_offset,
     desc_size) = _HEADER.unpack_from(head)
    yield base.Detected('vmdk', capacity * SECTOR)
    if not capacity:
        raise base.Refused('vmdk sparse header of capacity 0 defers to '
                           'its descriptor\'s extents')
    if not desc_offset or not desc_size:
        raise base.Refused('vmdk image has no descriptor')
    descriptor = yield (desc_offset * SECTOR,
                        min(desc_size * SECTOR, MAX_DESCRIPTOR))
    check_descriptor(base.c_string(descriptor).decode('utf-8', 'replace'))
