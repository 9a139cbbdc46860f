"""Blocking work off the eventlet hub.

Hashing large buffers and writing or syncing files release the GIL but
block the calling OS thread; under eventlet that thread is the hub, which
would stall every other request. When eventlet has patched threading,
such calls run in its pool of native threads; otherwise (the scrubber,
tools, unit tests) they simply run in place, and eventlet is not even
imported: importing it from a worker thread leaves that thread unable to
finish.
"""

import os
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


def spawner(size, name):
    """``spawn(func, *args)``: runs calls in the background, ``size`` at
    most at once. Green threads under eventlet (a caller waits while all
    are busy); native threads named ``name`` otherwise, as under mod_wsgi,
    where no hub would ever run a green thread (further calls queue)."""
    if _green():
        import eventlet
        return eventlet.GreenPool(size).spawn_n
    from concurrent import futures
    return futures.ThreadPoolExecutor(size, thread_name_prefix=name).submit


def native_queue():
    """A queue native threads can block on (eventlet's would switch green
    threads in a thread without a hub)."""
    if _green():
        from eventlet import patcher
        return patcher.original('queue').Queue()
    import queue
    return queue.Queue()


def get(native):
    """The next item of a ``native_queue`` that only this thread takes
    from; in a green thread, other green threads run while it waits."""
    if not _green():
        return native.get()
    _green_wait(lambda: not native.empty())
    return native.get_nowait()


def _green_wait(ready):
    """Let other green threads run until ``ready()``: promptly while
    things move, without spinning behind a stalled one."""
    import eventlet
    pause = 0.0005
    while not ready():
        eventlet.sleep(pause)
        pause = min(pause * 2, 0.05)


def spawn(func, *args):
    """``func(*args)`` beside the caller, for work that waits on sockets
    (which are green under eventlet): a green thread under eventlet, a
    native thread otherwise. ``wait()`` on the result returns what
    ``func`` returned or raises what it raised."""
    if _green():
        import eventlet
        return eventlet.spawn(func, *args)
    return Started(func, *args)


def queue(depth):
    """A queue between the caller and threads of ``spawn``: ``put``
    waits while ``depth`` (> 0) items wait, ``get`` while none does,
    letting other green threads run under eventlet."""
    if _green():
        from eventlet import queue as green
        return green.LightQueue(depth)
    import queue
    return queue.Queue(depth)


class Feeder:
    """Calls ``func(item)`` for each item fed to it, in order, in a native
    thread of its own, so that work which releases the GIL (hashing,
    writing) runs beside the request's green thread without a round trip
    per item.

    At most ``depth`` items wait; feeding more yields to other green
    threads until one is taken, which bounds the memory held. Without
    eventlet the calls simply happen in place. Once ``func`` raises, the
    remaining items are dropped and the next ``feed`` or ``finish``
    raises that error.
    """

    def __init__(self, func, depth=4):
        self.func = func
        self.thread = None
        self.error = None
        if _green():
            from eventlet import patcher
            queue = patcher.original('queue')
            threading = patcher.original('threading')
            self._full = queue.Full
            self.queue = queue.Queue(depth)
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()

    def _loop(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.func(item)
                except BaseException as e:
                    self.error = e

    def feed(self, item):
        if self.thread is None:
            self.func(item)
            return
        if self.error is not None:
            raise self.error
        self._put(item)

    def _put(self, item):
        import eventlet
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except self._full:
                eventlet.sleep(0.0005)

    def finish(self):
        """Wait until every item fed so far has been handled; raises what
        ``func`` raised."""
        self.stop()
        if self.error is not None:
            raise self.error

    def stop(self):
        """Wait until the thread is done with the items fed so far (or
        dropped them after an error), without raising."""
        if self.thread is None:
            return
        self._put(None)
        import eventlet
        while self.thread.is_alive():
            eventlet.sleep(0.0005)


class Started:
    """``func(*args)`` running in a native thread of its own (not eventlet's
    pool, which long work would take from short file operations)."""

    def __init__(self, func, *args):
        self._func = func
        self._args = args
        self._result = self._error = None
        if _green():
            from eventlet import patcher
            threading = patcher.original('threading')
        else:
            import threading
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            self._result = self._func(*self._args)
        except BaseException as e:
            self._error = e

    def wait(self):
        """The result, once the thread is done (other green threads run
        meanwhile); re-raises what it raised."""
        if _green():
            import eventlet
            while self._thread.is_alive():
                eventlet.sleep(0.001)
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


class Pool:
    """Calls run by at most ``size`` native threads of its own, started
    as work comes and kept (not eventlet's pool, which long work would
    take from short file operations): however many requests want such
    work at once, the process holds that many threads for it and no
    more; the others' calls wait in line."""

    def __init__(self, size, name):
        self.size = size
        self.name = name
        self._threads = []
        self._pid = None
        self._queue = None

    def submit(self, func, *args):
        """A Job running ``func(*args)`` once a thread is free."""
        if self._pid != os.getpid():
            # Threads do not survive a fork (a worker process).
            self._pid = os.getpid()
            self._threads = []
            self._queue = native('queue').SimpleQueue()
        job = Job(func, args)
        self._queue.put(job)
        if len(self._threads) < self.size:
            thread = native('threading').Thread(
                target=self._loop, daemon=True,
                name='%s-%d' % (self.name, len(self._threads)))
            self._threads.append(thread)
            thread.start()
        return job

    def _loop(self):
        queue = self._queue
        while True:
            queue.get()._run()


class Job:
    """A call waiting for, or run by, a Pool thread."""

    def __init__(self, func, args):
        self._func = func
        self._args = args
        self._done = native('threading').Event()
        self._result = self._error = None

    def _run(self):
        try:
            self._result = self._func(*self._args)
        except BaseException as e:
            self._error = e
        finally:
            self._func = self._args = None
            self._done.set()

    def done(self):
        return self._done.is_set()

    def wait(self):
        """The result, once the call is done (other green threads run
        meanwhile); re-raises what it raised."""
        if _green():
            _green_wait(self._done.is_set)
        else:
            self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


def native(module):
    """``module`` as the standard library has it, even where eventlet
    patched it."""
    if _green():
        from eventlet import patcher
        return patcher.original(module)
    return __import__(module)
