"""The store driver interface."""


class Store:
    """A place image bytes live in.

    ``add`` streams ``chunks`` (an iterable of bytes-like objects; see
    ``borrows_chunks``) into the store under a name nobody else can see,
    calls ``verify(bytes_written)`` once all data is durable, and only then
    makes the data visible under the returned location. ``verify`` returns
    the md5 (hex) of the data the upload saw (None for a caller without
    one), so a store that gets an md5 back from its backend can check it
    without hashing the data again. If
    anything raises
    -- the input, ``verify`` or the store itself -- the partial data is
    removed before the exception propagates.
    """

    scheme = None
    # True when ``add`` is done with each chunk before it asks for the
    # next: the caller may then hand it views of buffers it reuses.
    # Otherwise ``add`` gets bytes objects it may keep.
    borrows_chunks = False

    def __init__(self, conf):
        self.conf = conf

    def add(self, image_id, chunks, size, verify):
        """Return ``(location, bytes_written)``."""
        raise NotImplementedError

    def get(self, location, offset=0, length=None):
        """Return ``(iterator of bytes, total size)``; ``offset`` and
        ``length`` select a byte range."""
        raise NotImplementedError

    def get_size(self, location):
        raise NotImplementedError

    def delete(self, location):
        raise NotImplementedError

    def discard_staged(self, image_id):
        """Remove partial data an interrupted ``add`` of ``image_id`` may
        have left; a store that stages nothing has nothing to do."""
