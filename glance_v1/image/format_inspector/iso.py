"""ISO 9660: volume descriptors from sector 16 (2048-byte sectors), each
with the standard identifier "CD001" at byte 1.

A hypervisor reads an ISO as a raw device, so its virtual size is the
size of the file (as ``qemu-img info`` reports it).
"""

from glance_v1.image.format_inspector import base

SECTOR = 2048
FIRST_DESCRIPTOR = 16 * SECTOR
IDENTIFIER = b'CD001'


def detect():
    descriptor = yield (FIRST_DESCRIPTOR, 8)
    if descriptor[1:6] != IDENTIFIER:
        return
    found = base.Detected('iso', None)
    yield found
    total, _tail = yield base.END
    found.virtual_size = total
