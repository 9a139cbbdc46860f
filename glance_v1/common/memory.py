"""Giving the memory of finished transfers back to the operating system.

Image data moves in chunks of about a megabyte. glibc serves them from its
heap, where a freed chunk is reused by the next one without new page
faults; that reuse is worth a third of the upload and download rate over
mapping a fresh block per chunk. Many concurrent transfers, though, leave
the heap fragmented and its free pages resident after they end, so each
time a serving process goes idle after moving image data its free heap
pages are returned (``malloc_trim(0)`` releases free pages anywhere in the
heap and in every thread's arena, not only at the top). The walk costs
tens of microseconds, which is why metadata calls do not trigger it.
"""

import ctypes


def _load_trim():
    try:
        # The C library the interpreter runs with.
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        # Not glibc (musl has no malloc_trim): nothing to give back.
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class Trimmer:

    def __init__(self):
        self._trim = _load_trim()

    def idle(self):
        """The process has no request in flight."""
        if self._trim is not None:
            self._trim(0)
