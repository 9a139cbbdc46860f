"""A raw disk with a partition table: an MBR (boot signature 0x55AA,
four entries whose status is 0x00 or 0x80, at least one in use) or a GPT
(an MBR with a protective 0xEE entry and "EFI PART" in sector 1).

Either is still raw data to a hypervisor (virtual size = file size);
knowing it only tells a raw disk from an arbitrary blob. It ranks below
any signature-based format, since an ISO or a fixed VHD may carry an MBR
too.
"""

import struct

from glance_v1.image.format_inspector import base

BOOT_SIGNATURE = b'\x55\xaa'
ENTRIES = 446
_ENTRY = struct.Struct('<B3sB3sII')   # status, CHS, type, CHS, LBA, count
PROTECTIVE = 0xee
GPT_SIGNATURE = b'EFI PART'


def detect():
    head = yield (0, 1024)
    if len(head) < 512 or head[510:512] != BOOT_SIGNATURE:
        return
    entries = [_ENTRY.unpack_from(head, ENTRIES + i * _ENTRY.size)
               for i in range(4)]
    if any(e[0] not in (0, 0x80) for e in entries) or \
            not any(e[2] for e in entries):
        return
    kind = 'mbr'
    if any(e[2] == PROTECTIVE for e in entries) and \
            head[512:520] == GPT_SIGNATURE:
        kind = 'gpt'
    found = base.Detected('raw', None, rank=2, detail=kind)
    yield found
    total, _tail = yield base.END
    found.virtual_size = total
