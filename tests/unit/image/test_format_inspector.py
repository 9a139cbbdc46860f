"""Format inspection on crafted headers: one test per rule of each
format module, and the driver's own guarantees (chunking does not change
the outcome, refusal comes early where the header says enough, memory
stays bounded)."""

import struct
import uuid

import fixtures

from glance_v1.image import format_inspector as fi
from glance_v1.image.format_inspector import base as fi_base
from glance_v1.image.format_inspector import vhd as vhd_mod
from tests import base

MiB = 1024 * 1024


# -- builders ---------------------------------------------------------------

def qcow2(size=10 * MiB, version=3, backing=0, incompat=0, exts=b'',
          cluster_bits=16, length=3 * 65536):
    header = struct.pack('>4sIQIIQIIQQIIQ', b'QFI\xfb', version, backing,
                         4 if backing else 0, cluster_bits, size, 0, 1,
                         3 * 65536, 65536, 1, 0, 0)
    if version == 3:
        header += struct.pack('>QQQII', incompat, 0, 0, 4, 104)
    return (header + exts).ljust(length, b'\0')


def qed(size=10 * MiB, features=0):
    return struct.pack('<4sIIIQQQQQII', b'QED\0', 65536, 4, 1, features, 0,
                       0, 65536, size, 64 if features else 0,
                       4 if features else 0).ljust(65536, b'\0')


def ext(kind, payload):
    return struct.pack('>II', kind, len(payload)) + \
        payload.ljust((len(payload) + 7) // 8 * 8, b'\0')


DESCRIPTOR = '''# Disk DescriptorFile
version=1
CID=12345678
parentCID=ffffffff
createType="%s"

# Extent description
%s

ddb.adapterType = "ide"
'''


def vmdk(capacity=20480, create_type='monolithicSparse',
         extents='RW 20480 SPARSE "disk.vmdk"', desc_offset=1,
         desc_sectors=20, length=64 * 1024, extra=''):
    header = struct.pack('<4sIIQQQQ', b'KDMV', 1, 3, capacity, 128,
                         desc_offset, desc_sectors)
    data = bytearray(header.ljust(512, b'\0'))
    text = (DESCRIPTOR % (create_type, extents) + extra).encode()
    start = desc_offset * 512
    data = data.ljust(max(length, start + len(text)), b'\0')
    if desc_offset:
        data[start:start + len(text)] = text
    return bytes(data)


def vhd_footer(size=10 * MiB, disk_type=3, data_offset=512, creator=b'win ',
               chs=(20317, 16, 63)):
    footer = bytearray(struct.pack(
        '>8sIIQI4sI4sQQHBBII', b'conectix', 2, 0x10000, data_offset, 0,
        creator, 0x50003, b'Wi2k', size, size, chs[0], chs[1], chs[2],
        disk_type, 0).ljust(512, b'\0'))
    total = sum(footer)
    footer[64:68] = struct.pack('>I', ~total & 0xffffffff)
    return bytes(footer)


def vhd_dynamic(size=10 * MiB, disk_type=3, block=2 * MiB, entries=None,
                tail=True, **kw):
    footer = vhd_footer(size, disk_type, **kw)
    entries = entries if entries is not None else -(-size // block)
    header = struct.pack('>8sQQIII', b'cxsparse', 2 ** 64 - 1, 1536,
                         0x10000, entries, block).ljust(1024, b'\0')
    table = b'\xff' * (entries * 4)
    return footer + header + table.ljust(512, b'\xff') + \
        (footer if tail else b'')


def vhd_fixed(size=1 * MiB, head=b'', **kw):
    kw.setdefault('data_offset', 2 ** 64 - 1)
    kw.setdefault('disk_type', 2)
    return head.ljust(size, b'\0') + vhd_footer(size, **kw)


def guid(text):
    return uuid.UUID(text).bytes_le


def vhdx(size=10 * MiB, block=32 * MiB, flags=0, extra_items=(),
         extra_regions=(), meta_offset=3 * MiB, file_size=4 * MiB):
    data = bytearray(file_size)
    data[0:8] = b'vhdxfile'
    data[64 * 1024:64 * 1024 + 4] = b'head'
    data[128 * 1024:128 * 1024 + 4] = b'head'
    regions = [(guid('2dc27766-f623-4200-9d64-115e9bfd4a08'), 2 * MiB,
                MiB, 1),
               (guid('8b7ca206-4790-4b9a-b8fe-575f050f886e'), meta_offset,
                MiB, 1)] + list(extra_regions)
    table = struct.pack('<4sIII', b'regi', 0, len(regions), 0)
    for g, offset, length, required in regions:
        table += struct.pack('<16sQII', g, offset, length, required)
    data[192 * 1024:192 * 1024 + len(table)] = table
    items = [(guid('caa16737-fa36-4d43-b3b6-33f0aa44e76b'), 65536, 8, 4,
              struct.pack('<II', block, flags)),
             (guid('2fa54224-cd1b-4876-b211-5dbed83bf4b8'), 65536 + 8, 8, 6,
              struct.pack('<Q', size))] + list(extra_items)
    meta = struct.pack('<8sHH20x', b'metadata', 0, len(items))
    for g, offset, length, item_flags, _value in items:
        meta += struct.pack('<16sIII4x', g, offset, length, item_flags)
    data[meta_offset:meta_offset + len(meta)] = meta
    for _g, offset, _length, _f, value in items:
        data[meta_offset + offset:meta_offset + offset + len(value)] = value
    return bytes(data)


def vdi(size=10 * MiB, image_type=1, parent=b'', allocated=0,
        blocks=None, length=1024):
    blocks = blocks if blocks is not None else -(-size // MiB)
    data = bytearray(max(length, 1024 + allocated * MiB))
    data[0:40] = b'<<< Oracle VM VirtualBox Disk Image >>>\n'
    struct.pack_into('<III', data, 0x40, 0xbeda107f, 0x10001, 0x180)
    struct.pack_into('<II', data, 0x4c, image_type, 0)
    struct.pack_into('<IIIIIIIQIIII', data, 0x154, 512, 1024, 0, 0, 0, 512,
                     0, size, MiB, 0, blocks, allocated)
    data[0x1b8:0x1b8 + len(parent)] = parent
    return bytes(data)


def iso(size=400 * 1024, mbr=False):
    data = bytearray(size)
    data[32768:32768 + 8] = b'\x01CD001\x01\x00'
    if mbr:
        data[:512] = mbr_sector(0x17)
    return bytes(data)


def mbr_sector(kind=0x83, status=0x80):
    sector = bytearray(512)
    struct.pack_into('<B3sB3sII', sector, 446, status, b'\0' * 3, kind,
                     b'\0' * 3, 2048, 4096)
    sector[510:512] = b'\x55\xaa'
    return bytes(sector)


def gpt_disk(size=MiB):
    data = bytearray(size)
    data[:512] = mbr_sector(0xee, 0)
    data[512:520] = b'EFI PART'
    return bytes(data)


def ploop(sectors=20480, cluster=2048, entries=10, data_off=2048,
          magic=b'WithouFreSpacExt', version=2, length=MiB):
    header = struct.pack('<16sIIIIIQIIIQ', magic, version, 16, 40, cluster,
                         entries, sectors, 0, data_off, 0, 0)
    return header.ljust(length, b'\0')


# -- tests ------------------------------------------------------------------

class InspectorTestCase(base.TestCase):

    def inspect(self, data, declared, chunk=65536):
        inspector = fi.Inspector(declared)
        view = memoryview(data)
        for i in range(0, len(data), chunk):
            inspector.feed(view[i:i + chunk])
        inspector.finish()
        return inspector

    def assertDetects(self, data, declared, fmt, virtual_size, detail=None):
        for chunk in (1 if len(data) <= 70000 else 4099, 65536, MiB,
                      len(data) or 1):
            inspector = self.inspect(data, declared, chunk)
            self.assertEqual((fmt, virtual_size, detail),
                             (inspector.format, inspector.virtual_size,
                              inspector.detail), chunk)

    def assertRefused(self, data, declared, message, chunk=65536):
        error = self.assertRaises(fi.Refused, self.inspect, data, declared,
                                  chunk)
        self.assertIn(message, str(error))
        return error

    def assertRefusedEarly(self, data, declared, message, within=65536):
        """Refused while the first ``within`` bytes are fed."""
        inspector = fi.Inspector(declared)
        error = self.assertRaises(fi.Refused, inspector.feed,
                                  memoryview(data)[:within])
        self.assertIn(message, str(error))


class TestQcow2(InspectorTestCase):

    def test_v3_and_v2(self):
        self.assertDetects(qcow2(), 'qcow2', 'qcow2', 10 * MiB)
        self.assertDetects(qcow2(size=5 * MiB + 512, version=2), 'qcow2',
                           'qcow2', 5 * MiB + 512)

    def test_known_extensions_pass(self):
        exts = ext(0xe2792aca, b'raw') + ext(0x6803f857, b'x' * 48)
        self.assertDetects(qcow2(exts=exts), 'qcow2', 'qcow2', 10 * MiB)

    def test_backing_file_refused_early(self):
        self.assertRefusedEarly(qcow2(backing=512), 'qcow2',
                                'qcow2 image has a backing file', 512)
        self.assertRefusedEarly(qcow2(backing=512, version=2), 'qcow2',
                                'has a backing file', 512)

    def test_data_file_feature_refused(self):
        self.assertRefusedEarly(qcow2(incompat=1 << 2), 'qcow2',
                                'uses an external data file', 512)

    def test_data_file_extension_refused(self):
        exts = ext(0x6803f857, b'x' * 48) + ext(0x44415441, b'/etc/shadow')
        self.assertRefused(qcow2(exts=exts), 'qcow2',
                           'names an external data file')

    def test_unknown_incompatible_feature_refused(self):
        self.assertRefused(qcow2(incompat=1 << 20), 'qcow2',
                           'unknown incompatible features 0x100000')

    def test_bad_header_refused(self):
        self.assertRefused(qcow2(version=4), 'qcow2',
                           'qcow2 version 4 is not supported')
        self.assertRefused(qcow2(cluster_bits=30), 'qcow2',
                           'cluster size 2^30 is invalid')
        self.assertRefused(qcow2()[:40], 'qcow2', 'qcow2 header is truncated')

    def test_header_past_what_is_inspected_refused(self):
        data = bytearray(qcow2(cluster_bits=21, length=4 * 65536))
        struct.pack_into('>I', data, 100, 65536)
        self.assertRefused(bytes(data), 'qcow2', 'header length 65536')

    def test_extensions_without_end_refused(self):
        exts = ext(0x6803f857, b'x' * 48) * 3000
        self.assertRefused(qcow2(exts=exts, length=4 * 65536), 'qcow2',
                           'header extensions are malformed')

    def test_qcow2_as_raw_refused_in_the_first_chunk(self):
        self.assertRefusedEarly(qcow2(), 'raw',
                                "disk_format is 'raw' but the content is "
                                "qcow2", 512)
        self.assertRefusedEarly(qcow2(), 'ami', 'content is qcow2', 512)

    def test_mismatch_allowed_by_option_but_not_a_backing_file(self):
        self.conf.config(require_image_format_match=False,
                         group='image_format')
        self.assertDetects(qcow2(), 'raw', 'qcow2', 10 * MiB)
        self.assertRefused(qcow2(backing=512), 'raw', 'has a backing file')


class TestQed(InspectorTestCase):

    def test_backing_file_refused_whatever_declared(self):
        self.assertRefusedEarly(qed(features=1), 'raw',
                                'qed image has a backing file', 512)
        self.conf.config(require_image_format_match=False,
                         group='image_format')
        self.assertRefused(qed(features=1), 'raw',
                           'qed image has a backing file')

    def test_qed_is_no_declared_format(self):
        self.assertRefusedEarly(qed(), 'raw', 'content is qed', 512)
        self.conf.config(require_image_format_match=False,
                         group='image_format')
        self.assertDetects(qed(), 'raw', 'qed', 10 * MiB)


class TestVmdk(InspectorTestCase):

    def test_monolithic_sparse_and_stream_optimized(self):
        self.assertDetects(vmdk(), 'vmdk', 'vmdk', 20480 * 512)
        self.assertDetects(vmdk(capacity=4096, create_type='streamOptimized'),
                           'vmdk', 'vmdk', 4096 * 512)

    def test_descriptor_beyond_the_head(self):
        # Read from the stream where the header says, in any chunking.
        data = vmdk(desc_offset=400, length=300 * 1024)
        self.assertDetects(data, 'vmdk', 'vmdk', 20480 * 512)

    def test_flat_create_type_refused(self):
        self.assertRefused(
            vmdk(create_type='monolithicFlat',
                 extents='RW 20480 FLAT "/etc/passwd" 0'),
            'vmdk', "createType 'monolithicFlat' is not allowed (allowed: "
                    "streamOptimized, monolithicSparse)")

    def test_extent_of_another_type_refused(self):
        for extent in ('RW 20480 FLAT "/etc/passwd" 0',
                       'RW 20480 VMFS "/dev/sda"',
                       'RDONLY 20480 ZERO'):
            self.assertRefused(vmdk(extents=extent), 'vmdk',
                               'names extents other than the image itself')

    def test_more_extents_refused(self):
        extents = 'RW 20480 SPARSE "disk.vmdk"\nRW 20480 SPARSE "other.vmdk"'
        self.assertRefused(vmdk(extents=extents), 'vmdk',
                           'names extents other than the image itself')

    def test_no_extent_or_no_descriptor_refused(self):
        self.assertRefused(vmdk(extents=''), 'vmdk',
                           'names extents other than the image itself')
        self.assertRefused(vmdk(desc_offset=0, desc_sectors=0), 'vmdk',
                           'vmdk image has no descriptor')

    def test_delta_disk_refused(self):
        self.assertRefused(vmdk(extra='parentFileNameHint="base.vmdk"\n'),
                           'vmdk', 'vmdk image is a delta of another disk')

    def test_capacity_zero_defers_to_descriptor_refused(self):
        self.assertRefused(vmdk(capacity=0), 'vmdk', 'capacity 0')

    def test_text_descriptor_refused_whatever_declared(self):
        text = (DESCRIPTOR % ('monolithicSparse',
                              'RW 20480 SPARSE "/var/lib/x.vmdk"')).encode()
        self.assertRefused(text, 'vmdk', 'descriptor file names other files')
        self.conf.config(require_image_format_match=False,
                         group='image_format')
        self.assertRefused(text, 'raw', 'descriptor file names other files')

    def test_allowed_types_option(self):
        self.conf.config(vmdk_allowed_types=['streamOptimized'],
                         group='image_format')
        self.assertRefused(vmdk(), 'vmdk',
                           "createType 'monolithicSparse' is not allowed")

    def test_cowd_refused(self):
        self.assertRefused(b'COWD' + b'\0' * 2044, 'vmdk',
                           'COWD) sparse format is not supported')

    def test_vmdk_as_raw_refused(self):
        self.assertRefusedEarly(vmdk(), 'raw', 'content is vmdk', 2048)


class TestVhd(InspectorTestCase):

    def test_dynamic_size_from_chs_or_current_size(self):
        # qemu's rule: Virtual PC and qemu creators mean CHS geometry.
        self.assertDetects(vhd_dynamic(), 'vhd', 'vhd', 10 * MiB)
        self.assertDetects(vhd_dynamic(creator=b'qemu', chs=(20, 16, 63)),
                           'vhd', 'vhd', 20 * 16 * 63 * 512)

    def test_fixed_found_at_the_end(self):
        self.assertDetects(vhd_fixed(), 'vhd', 'vhd', MiB)
        # A fixed VHD of a partitioned disk is a VHD, not a raw MBR disk.
        self.assertDetects(vhd_fixed(head=mbr_sector()), 'vhd', 'vhd', MiB)

    def test_differencing_refused(self):
        self.assertRefusedEarly(vhd_dynamic(disk_type=4), 'vhd',
                                'differencing disk', 512)

    def test_bad_checksum_refused(self):
        data = bytearray(vhd_dynamic())
        data[64] ^= 1
        self.assertRefused(bytes(data), 'vhd', 'vhd footer checksum is wrong')

    def test_table_too_small_or_past_the_end_refused(self):
        self.assertRefused(vhd_dynamic(entries=2), 'vhd',
                           'block table is too small')
        data = vhd_dynamic(size=100 * MiB, block=4096)
        self.assertRefused(data[:3000] + data[-512:], 'vhd',
                           'tables lie past the end of the file')

    def test_dynamic_without_footer_at_the_end_refused(self):
        self.assertRefused(vhd_dynamic(tail=False), 'vhd',
                           'no matching footer at the end')

    def test_fixed_inconsistent_size_refused(self):
        data = vhd_fixed()
        self.assertRefused(b'\0' * 512 + data, 'vhd',
                           'size 1048576, file 1049600 bytes')

    def test_fixed_footer_of_a_dynamic_disk_refused(self):
        self.assertRefused(vhd_fixed(disk_type=3), 'vhd',
                           'there is no header at the start')

    def test_fixed_as_raw_refused_at_the_end(self):
        data = vhd_fixed()
        inspector = fi.Inspector('raw')
        inspector.feed(memoryview(data))
        error = self.assertRaises(fi.Refused, inspector.finish)
        self.assertIn("disk_format is 'raw' but the content is vhd",
                      str(error))

    def test_raw_as_vhd_refused(self):
        self.assertRefused(b'\0' * 4096, 'vhd',
                           "disk_format is 'vhd' but the content is raw")

    def test_footer_with_bad_checksum_at_the_end_is_raw(self):
        data = bytearray(vhd_fixed())
        data[-400] ^= 1
        self.assertDetects(bytes(data), 'raw', 'raw', len(data))

    def test_checksum_matches_qemu_rule(self):
        footer = vhd_footer()
        self.assertTrue(vhd_mod.checksum_ok(footer))


class TestVhdx(InspectorTestCase):

    def test_good(self):
        self.assertDetects(vhdx(), 'vhdx', 'vhdx', 10 * MiB)

    def test_has_parent_refused(self):
        self.assertRefused(vhdx(flags=2), 'vhdx', 'differencing disk')

    def test_parent_locator_refused(self):
        item = (guid('a8d35f2d-b30b-454d-abf7-d3d84834ab0c'), 65536 + 16,
                24, 4, b'')
        self.assertRefused(vhdx(extra_items=[item]), 'vhdx',
                           'has a parent locator')

    def test_unknown_required_region_or_item_refused(self):
        region = (uuid.uuid4().bytes_le, 2 * MiB + 512 * 1024, 4096, 1)
        self.assertRefused(vhdx(extra_regions=[region]), 'vhdx',
                           'needs an unknown region')
        item = (uuid.uuid4().bytes_le, 65536 + 16, 8, 4, b'')
        self.assertRefused(vhdx(extra_items=[item]), 'vhdx',
                           'needs an unknown metadata item')
        optional = (uuid.uuid4().bytes_le, 65536 + 16, 8, 0, b'')
        self.assertDetects(vhdx(extra_items=[optional]), 'vhdx', 'vhdx',
                           10 * MiB)

    def test_regions_past_the_end_refused(self):
        data = vhdx()
        self.assertRefused(data[:3 * MiB + 70000], 'vhdx',
                           'a region lies past the end of the file')

    def test_bad_sizes_refused(self):
        self.assertRefused(vhdx(block=3 * MiB), 'vhdx', 'block size')
        self.assertRefused(vhdx(size=0), 'vhdx', 'virtual size 0')

    def test_no_headers_refused(self):
        data = bytearray(vhdx())
        data[64 * 1024:64 * 1024 + 4] = b'xxxx'
        data[128 * 1024:128 * 1024 + 4] = b'xxxx'
        self.assertRefused(bytes(data), 'vhdx', 'no valid header')

    def test_vhdx_as_raw_refused_early(self):
        self.assertRefusedEarly(vhdx(), 'raw', 'content is vhdx', 512)


class TestVdi(InspectorTestCase):

    def test_good(self):
        self.assertDetects(vdi(), 'vdi', 'vdi', 10 * MiB)
        self.assertDetects(vdi(allocated=2), 'vdi', 'vdi', 10 * MiB)

    def test_differencing_or_parent_refused(self):
        self.assertRefused(vdi(image_type=4), 'vdi', 'undo or differencing')
        self.assertRefused(vdi(parent=b'\x01' * 16), 'vdi',
                           'refers to a parent image')

    def test_inconsistent_refused(self):
        self.assertRefused(vdi(blocks=2), 'vdi', '2 blocks for 10485760')
        self.assertRefused(vdi(allocated=3)[:1024 + 2 * MiB], 'vdi',
                           'data of 3 blocks past the end of the file')


class TestIsoAndPartitions(InspectorTestCase):

    def test_iso(self):
        self.assertDetects(iso(), 'iso', 'iso', 400 * 1024)
        # A hybrid ISO (with an MBR) is an ISO.
        self.assertDetects(iso(mbr=True), 'iso', 'iso', 400 * 1024)

    def test_iso_in_disguise_refused(self):
        self.assertRefused(iso(), 'raw', "disk_format is 'raw' but the "
                                         "content is iso")
        self.assertRefused(iso(), 'qcow2', 'content is iso')

    def test_raw_with_mbr_or_gpt_is_raw(self):
        disk = mbr_sector().ljust(MiB, b'\0')
        self.assertDetects(disk, 'raw', 'raw', MiB, 'mbr')
        self.assertDetects(gpt_disk(), 'raw', 'raw', MiB, 'gpt')
        self.assertDetects(gpt_disk(), 'aki', 'raw', MiB, 'gpt')

    def test_boot_signature_with_odd_entries_is_plain_raw(self):
        disk = mbr_sector(status=0x42).ljust(MiB, b'\0')
        self.assertDetects(disk, 'raw', 'raw', MiB)

    def test_raw_as_iso_or_qcow2_refused_early(self):
        self.assertRefusedEarly(b'\0' * MiB, 'iso',
                                "disk_format is 'iso' but the content is "
                                "not iso", MiB)
        self.assertRefusedEarly(gpt_disk(), 'qcow2', 'content is not qcow2',
                                MiB)


class TestPloop(InspectorTestCase):

    def test_good(self):
        self.assertDetects(ploop(), 'ploop', 'ploop', 20480 * 512)

    def test_inconsistent_refused(self):
        self.assertRefused(ploop(entries=1), 'ploop',
                           '1 clusters for 20480 sectors')
        self.assertRefused(ploop(version=3), 'ploop', 'version 3')
        self.assertRefused(ploop(data_off=4096), 'ploop',
                           'data offset past the end')

    def test_raw_as_ploop_refused(self):
        self.assertRefused(b'\1' * 4096, 'ploop',
                           "disk_format is 'ploop' but the content is")


class FakeModule:

    def __init__(self, detect):
        self.detect = detect


class TestDriver(InspectorTestCase):

    def test_empty_image_is_accepted(self):
        inspector = self.inspect(b'', 'qcow2')
        self.assertEqual(0, inspector.virtual_size)

    def test_unknown_declared_format_is_not_compared(self):
        self.assertDetects(qcow2(), 'custom', 'qcow2', 10 * MiB)
        self.assertRefused(qcow2(backing=512), 'custom', 'backing file')

    def test_settles_and_keeps_only_head_and_tail(self):
        inspector = fi.Inspector('raw')
        chunk = memoryview(b'\1' * MiB)
        for _ in range(64):
            inspector.feed(chunk)
        self.assertEqual([], inspector._reading)
        self.assertEqual(fi_base.HEAD, len(inspector._head))
        self.assertEqual(fi_base.TAIL, len(inspector._tail))
        inspector.finish()
        self.assertEqual(('raw', 64 * MiB),
                         (inspector.format, inspector.virtual_size))

    def test_qcow2_stops_every_other_detector(self):
        inspector = fi.Inspector('qcow2')
        inspector.feed(memoryview(qcow2())[:4096])
        self.assertEqual(1, len(inspector._candidates))

    def test_region_already_passed_is_refused(self):
        def detect():
            yield (150 * 1024, 4)
            yield fi_base.Detected('fake', 1)
            yield (70 * 1024, 4)
        self.useFixture(_Detectors((('fake', FakeModule(detect)),)))
        self.assertRefused(b'\0' * 200 * 1024, 'custom',
                           'point back to data already received')

    def test_detector_surprise_is_a_refusal(self):
        def detect():
            data = yield (0, 4)
            struct.unpack('>Q', data)
        self.useFixture(_Detectors((('fake', FakeModule(detect)),)))
        self.assertRefused(b'\0' * 1024, 'raw', 'fake header is malformed')


class _Detectors(fixtures.Fixture):

    def __init__(self, detectors):
        self.detectors = detectors

    def _setUp(self):
        self.useFixture(fixtures.MockPatchObject(
            fi, 'DETECTORS', self.detectors))
