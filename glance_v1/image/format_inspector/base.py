"""What the format modules share: how a detector talks to the driver,
what it reports and how it refuses.

A detector is a generator. It yields ``(offset, length)`` for a region of
the image it wants to see and is sent those bytes (fewer when the image
ends first); it yields ``END`` for ``(total_size, last_bytes)`` once the
whole image has passed (``last_bytes`` are its last ``TAIL`` bytes); it
yields a ``Detected`` as soon as it knows the content is its format, and
may go on asking for regions to check that format's consistency. It
returns (without having yielded a ``Detected``) when the content is not
its format, and raises ``Refused`` when it is, but unsafe or broken.

Regions must be asked for in increasing order of offset, except within
the first ``HEAD`` bytes, which the driver keeps; no region may be longer
than ``MAX_REGION``. So the driver holds at most a few hundred KiB per
upload, whatever the image's size.
"""

from glance_v1.common import exception

HEAD = 64 * 1024
MAX_REGION = 64 * 1024
TAIL = 512
END = object()


class Refused(exception.Invalid):
    """Image content that must not be stored (400, image killed)."""

    def __init__(self, reason):
        super().__init__('Image content refused: %s' % reason)


class Detected:
    """The content is ``format``, of ``virtual_size`` bytes once a
    hypervisor sees it. ``rank`` orders detections of formats that may
    overlap: 0 for a signature a hypervisor's own probe trusts, higher for
    weaker evidence (a footer at the end, a partition table)."""

    def __init__(self, format, virtual_size, rank=0, detail=None):
        self.format = format
        self.virtual_size = virtual_size
        self.rank = rank
        self.detail = detail


def c_string(data):
    """``data`` up to its first NUL."""
    end = data.find(b'\0')
    return data if end < 0 else data[:end]
