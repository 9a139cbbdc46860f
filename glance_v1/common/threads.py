"""Blocking work off the eventlet hub.

Hashing large buffers and writing or syncing files release the GIL but
block the calling OS thread; under eventlet that thread is the hub, which
would stall every other request. When eventlet has patched threading,
such calls run in its pool of native threads; otherwise (tools, unit
tests) they simply run in place.
"""

from eventlet import patcher
from eventlet import tpool
import eventlet


def _green():
    return patcher.is_monkey_patched('thread')


def run(func, *args):
    """``func(*args)`` in a native thread, waiting for its result."""
    if _green():
        return tpool.execute(func, *args)
    return func(*args)


class _Done:

    @staticmethod
    def wait():
        return None


class _All:

    def __init__(self, threads):
        self.threads = threads

    def wait(self):
        for thread in self.threads:
            thread.wait()


def start_all(funcs, arg):
    """Start ``f(arg)`` for every ``f`` in parallel native threads; the
    returned handle's ``wait()`` returns once all have finished."""
    if not _green():
        for func in funcs:
            func(arg)
        return _Done()
    return _All([eventlet.spawn(tpool.execute, func, arg)
                 for func in funcs])
