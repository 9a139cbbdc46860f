"""Blocking work off the eventlet hub.

Hashing large buffers and writing or syncing files release the GIL but
block the calling OS thread; under eventlet that thread is the hub, which
would stall every other request. When eventlet has patched threading,
such calls run in its pool of native threads; otherwise (the scrubber,
tools, unit tests) they simply run in place, and eventlet is not even
imported: importing it from a worker thread leaves that thread unable to
finish.
"""

import sys


def _green():
    patcher = sys.modules.get('eventlet.patcher')
    return patcher is not None and patcher.is_monkey_patched('thread')


def run(func, *args):
    """``func(*args)`` in a native thread, waiting for its result."""
    if _green():
        from eventlet import tpool
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
    import eventlet
    from eventlet import tpool
    return _All([eventlet.spawn(tpool.execute, func, arg)
                 for func in funcs])
