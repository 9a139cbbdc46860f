"""VHDX (Hyper-V, little-endian; GUIDs in their mixed-endian form).

The file identifier is at 0, the two headers at 64 and 128 KiB, the
region table at 192 KiB. The region table locates the metadata region,
whose table locates the items: file parameters (block size, "has
parent") and the virtual disk size.

Refused: a differencing disk (has-parent flag or a parent locator item),
regions or metadata items marked required that qemu does not know (they
change how the file is read), and headers that do not fit the data (no
valid header, region table or metadata table, a virtual size or block
size out of the format's range, regions past the end of the file).
"""

import struct
import uuid

from glance_v1.image.format_inspector import base

SIGNATURE = b'vhdxfile'
HEADERS = (64 * 1024, 128 * 1024)
REGION_TABLE = 192 * 1024
REGION_TABLE_SIZE = 64 * 1024
MAX_ENTRIES = 2047
BAT = uuid.UUID('2dc27766-f623-4200-9d64-115e9bfd4a08')
METADATA = uuid.UUID('8b7ca206-4790-4b9a-b8fe-575f050f886e')
FILE_PARAMETERS = uuid.UUID('caa16737-fa36-4d43-b3b6-33f0aa44e76b')
DISK_SIZE = uuid.UUID('2fa54224-cd1b-4876-b211-5dbed83bf4b8')
PAGE_83 = uuid.UUID('beca12ab-b2e6-4523-93ef-c309e000c746')
LOGICAL_SECTOR = uuid.UUID('8141bf1d-a96f-4709-ba47-f233a8faab5f')
PHYSICAL_SECTOR = uuid.UUID('cda348c7-445d-4471-9cc9-e9885251c556')
PARENT_LOCATOR = uuid.UUID('a8d35f2d-b30b-454d-abf7-d3d84834ab0c')
KNOWN_ITEMS = (FILE_PARAMETERS, DISK_SIZE, PAGE_83, LOGICAL_SECTOR,
               PHYSICAL_SECTOR, PARENT_LOCATOR)
_TABLE = struct.Struct('<4sIII')        # signature, checksum, count, -
_REGION = struct.Struct('<16sQII')      # guid, offset, length, required
_META_TABLE = struct.Struct('<8sHH20x')  # signature, -, count
_ITEM = struct.Struct('<16sIII4x')      # guid, offset, length, flags
ITEM_REQUIRED = 1 << 2
HAS_PARENT = 1 << 1
MAX_SIZE = 64 * 1024 ** 4               # 64 TiB
MIN_BLOCK, MAX_BLOCK = 1024 ** 2, 256 * 1024 ** 2


def _inconsistent(what):
    return base.Refused('vhdx header is inconsistent with the data: %s'
                        % what)


def _entries(table, signature, header, entry, what):
    """The entries of a region or metadata table."""
    if len(table) < header.size or not table.startswith(signature):
        raise _inconsistent('no %s' % what)
    count = header.unpack_from(table)[2]
    if count > MAX_ENTRIES or header.size + count * entry.size > len(table):
        raise _inconsistent('%s of %d entries' % (what, count))
    return [entry.unpack_from(table, header.size + i * entry.size)
            for i in range(count)]


def _regions(table):
    regions = {}
    for guid, offset, length, required in _entries(
            table, b'regi', _TABLE, _REGION, 'region table'):
        guid = uuid.UUID(bytes_le=guid)
        if guid not in (BAT, METADATA):
            if required & 1:
                raise base.Refused('vhdx image needs an unknown region %s'
                                   % guid)
            continue
        regions[guid] = (offset, length)
    if BAT not in regions or METADATA not in regions:
        raise _inconsistent('no block table or metadata region')
    return regions


def _items(table):
    items = {}
    for guid, offset, length, flags in _entries(
            table, b'metadata', _META_TABLE, _ITEM, 'metadata table'):
        guid = uuid.UUID(bytes_le=guid)
        if guid == PARENT_LOCATOR:
            raise base.Refused('vhdx image is a differencing disk (has a '
                               'parent locator)')
        if guid not in KNOWN_ITEMS and flags & ITEM_REQUIRED:
            raise base.Refused('vhdx image needs an unknown metadata item '
                               '%s' % guid)
        items[guid] = (offset, length)
    if FILE_PARAMETERS not in items or DISK_SIZE not in items:
        raise _inconsistent('no file parameters or virtual disk size')
    return items


def detect():
    head = yield (0, 8)
    if head != SIGNATURE:
        return
    found = base.Detected('vhdx', None)
    yield found
    signatures = []
    for offset in HEADERS:
        signatures.append((yield (offset, 4)))
    if b'head' not in signatures:
        raise _inconsistent('no valid header')
    regions = _regions((yield (REGION_TABLE, REGION_TABLE_SIZE)))
    meta_offset, meta_length = regions[METADATA]
    if meta_offset < REGION_TABLE + REGION_TABLE_SIZE:
        raise _inconsistent('metadata region at %d' % meta_offset)
    items = _items((yield (meta_offset,
                           min(meta_length, base.MAX_REGION))))
    values = {}
    for guid, (offset, length) in sorted(items.items(),
                                         key=lambda i: i[1][0]):
        if guid in (FILE_PARAMETERS, DISK_SIZE):
            if length != 8 or offset + length > meta_length:
                raise _inconsistent('metadata item %s' % guid)
            data = yield (meta_offset + offset, 8)
            if len(data) < 8:
                raise _inconsistent('file ends in its metadata')
            values[guid] = struct.unpack('<Q', data)[0]
    block_size = values[FILE_PARAMETERS] & 0xffffffff
    if (values[FILE_PARAMETERS] >> 32) & HAS_PARENT:
        raise base.Refused('vhdx image is a differencing disk (has a '
                           'parent)')
    size = values[DISK_SIZE]
    if not MIN_BLOCK <= block_size <= MAX_BLOCK or \
            block_size & (block_size - 1):
        raise _inconsistent('block size %d' % block_size)
    if not 0 < size <= MAX_SIZE:
        raise _inconsistent('virtual size %d' % size)
    found.virtual_size = size
    total, _tail = yield base.END
    for offset, length in regions.values():
        if offset + length > total:
            raise _inconsistent('a region lies past the end of the file')
