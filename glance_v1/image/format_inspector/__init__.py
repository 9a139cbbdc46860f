"""Image content inspection in the upload stream (decisions "further" 8;
the class of OSSA-2024-001).

An ``Inspector`` is fed every chunk of an upload as it passes (``watch``)
and told the total at the end (``finish``). It runs one detector per
format (see ``base``) over the regions each asks for and keeps, besides
those regions, only the first ``base.HEAD`` bytes and the last
``base.TAIL``: no second pass, no copy of the data. Once every detector
has decided, feeding costs a slice of the chunk's last bytes.

It raises ``base.Refused`` (400; the upload kills the image and the store
removes what it wrote) for content a converter must not be given -- a
qcow2 or qed with a backing file, a qcow2 data file, a vmdk naming other
files, a vhd/vhdx/vdi/ploop whose headers do not fit the data -- and, with
``require_image_format_match``, for content of another format than the
declared ``disk_format``. A refusal comes as early as the evidence: in
the first chunk for a header, at ``finish`` for what needs the end of the
file (a fixed VHD's footer, a table past the end).
"""

import struct

from oslo_config import cfg

from glance_v1.image.format_inspector import base
from glance_v1.image.format_inspector import gpt
from glance_v1.image.format_inspector import iso
from glance_v1.image.format_inspector import ploop
from glance_v1.image.format_inspector import qcow2
from glance_v1.image.format_inspector import qed
from glance_v1.image.format_inspector import vdi
from glance_v1.image.format_inspector import vhd
from glance_v1.image.format_inspector import vhdx
from glance_v1.image.format_inspector import vmdk

inspector_opts = [
    cfg.BoolOpt('require_image_format_match', default=True,
                help='Refuse an upload whose content is of another format '
                     'than its disk_format (raw, ami, ari and aki accept '
                     'raw content, with or without a partition table). '
                     'Content that is unsafe in its own format is refused '
                     'either way.'),
    cfg.ListOpt('vmdk_allowed_types',
                default=['streamOptimized', 'monolithicSparse'],
                help='createType values a vmdk upload may have. Only '
                     'single-file types are safe: one whose extents are '
                     'other files is refused whatever this says.'),
]

CONF = cfg.CONF
CONF.register_opts(inspector_opts, group='image_format')

Refused = base.Refused

# In the order a signature wins when two match (qemu probes this way too);
# rank (base.Detected) puts end-of-file and partition-table evidence last.
DETECTORS = (('qcow2', qcow2), ('qed', qed), ('vhdx', vhdx),
             ('vmdk', vmdk), ('vdi', vdi), ('ploop', ploop), ('vhd', vhd),
             ('iso', iso), ('gpt', gpt))
RAW_LIKE = ('raw', 'ami', 'ari', 'aki')
# Declared formats whose content we can tell; any other is not compared.
KNOWN = frozenset(['raw', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso',
                   'ploop'])
# Formats a detector recognises from the start of the file only.
HEAD_ONLY = KNOWN - {'raw', 'vhd'}


class _Candidate:

    def __init__(self, name, module):
        self.name = name
        self.gen = module.detect()
        self.want = None
        self.buf = bytearray()
        self.found = None
        self.done = False

    def send(self, value):
        """Resume the detector with ``value`` up to its next request."""
        try:
            self.want = self.gen.send(value)
            while isinstance(self.want, base.Detected):
                self.found = self.want
                self.want = self.gen.send(None)
        except StopIteration:
            self.want = None
            self.done = True
        except (struct.error, ValueError, IndexError):
            # A detector checks what it reads; this is a layout it did
            # not foresee, which must not become a 500.
            self.done = True
            raise Refused('%s header is malformed' % self.name)

    @property
    def undecided(self):
        return not self.done and self.found is None and \
            self.want is not base.END

    def close(self):
        self.gen.close()
        self.done = True


class Inspector:
    """Feed it an upload's chunks in order; after ``finish``,
    ``format``, ``virtual_size`` and ``detail`` (``gpt``/``mbr`` for a
    raw disk) describe the content."""

    def __init__(self, disk_format):
        self.declared = disk_format
        self.format = None
        self.virtual_size = None
        self.detail = None
        self._pos = 0
        self._head = bytearray()
        self._tail = b''
        self._candidates = [_Candidate(name, m) for name, m in DETECTORS]
        for candidate in self._candidates:
            candidate.send(None)
        self._settled = False
        self._reading = list(self._candidates)

    @property
    def _expected(self):
        return 'raw' if self.declared in RAW_LIKE else self.declared

    def watch(self, chunks):
        """Pass ``chunks`` through, feeding each one first."""
        for chunk in chunks:
            self.feed(chunk)
            yield chunk

    def feed(self, chunk):
        """The next ``chunk`` (bytes or a memoryview, not kept) of the
        image; raises ``Refused`` as soon as the content is refused."""
        size = len(chunk)
        if not size:
            return
        start = self._pos
        self._pos += size
        if size >= base.TAIL:
            self._tail = bytes(chunk[size - base.TAIL:])
        else:
            self._tail = (self._tail + bytes(chunk))[-base.TAIL:]
        if not self._reading:
            return
        if start < base.HEAD:
            self._head += chunk[:base.HEAD - start]
        for candidate in self._reading:
            self._serve(candidate, chunk, start)
        self._reading = [c for c in self._reading
                         if isinstance(c.want, tuple)]
        if not self._settled:
            self._settle()

    def _serve(self, candidate, chunk, start):
        end = start + len(chunk)
        while isinstance(candidate.want, tuple):
            offset, length = candidate.want
            have = offset + len(candidate.buf)
            stop = offset + length
            if have < start and have < len(self._head):
                candidate.buf += self._head[have:min(stop, len(self._head))]
            elif have < start:
                raise Refused('image headers point back to data already '
                              'received')
            elif have < end:
                candidate.buf += chunk[have - start:min(stop, end) - start]
            if len(candidate.buf) < length:
                if offset + len(candidate.buf) >= end:
                    return
                continue
            data, candidate.buf = bytes(candidate.buf), bytearray()
            candidate.send(data)

    def _settle(self):
        """Decide what can be decided before the end, and stop running
        the detectors that can no longer matter."""
        undecided = [c.undecided for c in self._candidates]
        for i, candidate in enumerate(self._candidates):
            found = candidate.found
            if found is not None and found.rank == 0 and \
                    not any(undecided[:i]):
                for other in self._candidates:
                    if other is not candidate:
                        other.close()
                self._candidates = [candidate]
                self._reading = [candidate] if isinstance(
                    candidate.want, tuple) else []
                self._settled = True
                self._check_match(found.format)
                return
        if any(undecided):
            return
        # Only end-of-file evidence is left to come.
        self._settled = True
        self._candidates = [c for c in self._candidates if not c.done]
        self._reading = []
        if self._expected in HEAD_ONLY:
            self._check_match(None)

    def _check_match(self, detected):
        """``detected`` None: not any format known by its start."""
        if not CONF.image_format.require_image_format_match:
            return
        expected = self._expected
        if expected in KNOWN and detected != expected:
            raise Refused("disk_format is '%s' but the content is %s"
                          % (self.declared, detected or
                             'not %s' % expected))

    def finish(self):
        """The whole image has passed: run what needs the end of it,
        then decide (or raise ``Refused``)."""
        total = self._pos
        for candidate in self._candidates:
            while not candidate.done:
                if candidate.want is base.END:
                    candidate.send((total, self._tail))
                elif isinstance(candidate.want, tuple):
                    offset = candidate.want[0] + len(candidate.buf)
                    data = bytes(candidate.buf) + bytes(
                        self._head[offset:offset + candidate.want[1]
                                   - len(candidate.buf)])
                    candidate.buf = bytearray()
                    candidate.send(data)
                else:
                    break
        found = [(c.found.rank, i, c.found)
                 for i, c in enumerate(self._candidates) if c.found]
        if not total:
            # Nothing a hypervisor could read: nothing to refuse.
            self.format, self.virtual_size = self._expected, 0
            return
        if found:
            result = min(found, key=lambda f: f[:2])[2]
        else:
            result = base.Detected('raw', total, rank=3)
        self._check_match(result.format)
        self.format = result.format
        self.virtual_size = result.virtual_size
        self.detail = result.detail
