"""Spans of files sent to many sockets at once by one native thread.

A download the kernel sends with sendfile(2) mostly waits for room in its
socket: a client reading at a few MiB/s takes each time a little of what
a call can send. Under eventlet every such wait registers the socket with
the hub, and every call runs in the hub's thread; with a thousand slow
downloads that thread spent its time in sendfile and in the hub's
bookkeeping, and a HEAD waited behind them for a tenth of a second.

Here one native thread owns the waiting and the calls of all of them: it
waits for room on every socket with one epoll, and sends outside the hub
(the kernel's copying then runs beside the hub, on another core). The
download's green thread sleeps until its span is sent, failed or timed
out, woken through a pipe that the hub watches.
"""

import collections
import errno
import os
import socket
import time

from glance_v1.common import threads

_sender = None


def send(sock, fd, offset, count):
    """Send ``count`` bytes of ``fd`` from ``offset`` on the green socket
    ``sock`` (its timeout applies to each wait for room); returns once
    all are sent, or raises, with ``sent`` set on the error, what went
    out before it."""
    global _sender
    if _sender is None or _sender.pid != os.getpid():
        # A thread does not survive a fork (a worker process).
        _sender = _Sender()
    return _sender.send(sock.fileno(), fd, offset, count, sock.gettimeout())


class _Job:

    __slots__ = ('out', 'fd', 'offset', 'count', 'sent', 'error', 'timeout',
                 'last', 'cancelled', 'done')

    def __init__(self, out, fd, offset, count, timeout):
        self.out = out
        self.fd = fd
        self.offset = offset
        self.count = count
        self.timeout = timeout
        self.sent = 0
        self.error = None
        self.last = time.monotonic()
        self.cancelled = False
        self.done = None


class _Sender:

    # How often jobs are checked for a timeout.
    TICK = 1.0

    def __init__(self):
        import eventlet
        from eventlet import event
        self._event = event.Event
        self.pid = os.getpid()
        self._new = collections.deque()
        self._finished = collections.deque()
        # Hub to thread: new jobs; thread to hub: finished ones.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._note_r, self._note_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # Not eventlet's select and os (green, or without epoll).
        self._os = threads.native('os')
        select = threads.native('select')
        self._writable = select.EPOLLOUT
        self._epoll = select.epoll()
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._jobs = {}
        threading = threads.native('threading')
        threading.Thread(target=self._loop, daemon=True,
                         name='sender').start()
        eventlet.spawn(self._deliver)

    # -- the green side -------------------------------------------------------

    def send(self, out, fd, offset, count, timeout):
        job = _Job(out, fd, offset, count, timeout)
        job.done = self._event()
        self._new.append(job)
        _poke(self._wake_w)
        try:
            job.done.wait()
        except BaseException:
            # The green thread is killed (a server stopping): the thread
            # must let go of the descriptors before they may be closed.
            job.cancelled = True
            _poke(self._wake_w)
            while not job.done.ready():
                try:
                    job.done.wait()
                except BaseException:
                    pass
            raise
        if job.error is not None:
            job.error.sent = job.sent
            raise job.error
        return job.sent

    def _deliver(self):
        from eventlet import hubs
        while True:
            hubs.trampoline(self._note_r, read=True)
            try:
                os.read(self._note_r, 65536)
            except BlockingIOError:
                pass
            while self._finished:
                self._finished.popleft().done.send()

    # -- the thread -----------------------------------------------------------

    def _loop(self):
        next_tick = time.monotonic() + self.TICK
        while True:
            wait = max(0.0, next_tick - time.monotonic())
            for fd, _ in self._epoll.poll(wait, 1024):
                if fd == self._wake_r:
                    self._take_new()
                else:
                    job = self._jobs.get(fd)
                    if job is not None:
                        self._pump(job)
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + self.TICK
                self._expire(now)

    def _take_new(self):
        try:
            self._os.read(self._wake_r, 65536)
        except BlockingIOError:
            pass
        while self._new:
            job = self._new.popleft()
            if job.cancelled:
                self._finish(job, None)
                continue
            self._jobs[job.out] = job
            self._epoll.register(job.out, self._writable)
            self._pump(job)
        for job in list(self._jobs.values()):
            if job.cancelled:
                self._finish(job, None)

    def _pump(self, job):
        while job.count > 0:
            try:
                n = os.sendfile(job.out, job.fd, job.offset, job.count)
            except BlockingIOError:
                return
            except OSError as e:
                self._finish(job, e)
                return
            if not n:
                self._finish(job, OSError(errno.EIO, 'file ended early'))
                return
            job.offset += n
            job.count -= n
            job.sent += n
            job.last = time.monotonic()
        self._finish(job, None)

    def _expire(self, now):
        for job in list(self._jobs.values()):
            if job.timeout is not None and now - job.last > job.timeout:
                self._finish(job, socket.timeout('timed out'))

    def _finish(self, job, error):
        if self._jobs.pop(job.out, None) is not None:
            self._epoll.unregister(job.out)
        job.error = error
        self._finished.append(job)
        _poke(self._note_w, self._os)


def _poke(fd, os=os):
    try:
        os.write(fd, b'.')
    except BlockingIOError:
        # The pipe is full of pokes already: the reader will look.
        pass
