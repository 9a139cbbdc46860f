"""A lingering close: the end of a connection whose request body was left
unread (an upload refused from its headers or midway).

Closing a socket while the client still sends makes the kernel answer with
a reset, which can destroy our answer before the client reads it. So such a
connection stops sending, then reads and drops what still arrives before it
closes. A silence of ``IDLE`` seconds ends it (the client read our answer
and stopped), not a total time: a client still sending on a loaded machine
must not be reset. ``SECONDS`` and ``BYTES`` bound it all the same.

Used by glance-api's eventlet server and under uWSGI; nothing of eventlet
is imported here (a green socket works the same).
"""

import socket
import time

IDLE = 2.0
SECONDS = 30.0
BYTES = 1 << 30


def drain(sock, idle=IDLE, seconds=SECONDS, limit=BYTES):
    """Read and drop what ``sock`` receives until the peer closes or is
    silent for ``idle`` seconds, for at most ``seconds`` and ``limit``
    bytes."""
    deadline = time.monotonic() + seconds
    while limit > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(min(idle, left))
        data = sock.recv(min(limit, 65536))
        if not data:
            return
        limit -= len(data)


def close_softly(sock):
    """Stop sending on ``sock`` (what was written goes first), then
    drain it; errors end it quietly."""
    try:
        sock.shutdown(socket.SHUT_WR)
        drain(sock)
    except OSError:
        pass
