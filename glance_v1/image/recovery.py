"""Uploads abandoned by a process that died (decisions "further" 2).

While an upload runs, its image records who writes it (``upload_owner``:
node name, boot id, PID namespace, pid and start time of the process) and
renews a lease (``upload_heartbeat``) every quarter of
``upload_lease_time``. An image in ``saving`` is abandoned when

* its writer ran on this node (same name, boot and PID namespace) and is
  gone (checked at once: the pid no longer runs, or runs another program
  started later); a writer of this node that still runs is never judged
  by its lease, or
* its writer ran elsewhere (or before a reboot) and its lease is older
  than ``upload_lease_time``: it died with its node, or hangs.

An upload that is alive on any node is never taken for abandoned while it
renews its lease; one that finds at a renewal that its image was deleted
(or given up for abandoned) stops there (``Lease.lost``). Abandoned images
are turned ``killed`` by a guarded update (from ``saving``: of several
processes racing, one wins) and the winner removes the partial data the
stores hold under the image's id; the same is done for images deleted
while their upload ran, once that upload is abandoned (its writer may have
written more after the DELETE removed the rest, then died before it
learnt of the deletion). Every process serving the API does this
when it starts and then every ``upload_lease_time / 8`` to ``/ 4`` seconds
(``watch``; random, so the nodes of a cluster take turns): an upload whose
node died is killed and cleaned within ``upload_lease_time * 1.25`` after
its last renewal, plus the time of one pass and any clock difference
between the nodes. glance-scrubber does it on every pass too.
"""

import datetime
import logging
import os
import random
import socket
import threading
import time

from oslo_config import cfg

from glance_v1.common import context
from glance_v1.common import exception
from glance_v1.image import status
from glance_v1 import store as store_api

LOG = logging.getLogger(__name__)

recovery_opts = [
    cfg.IntOpt('upload_lease_time', default=300, min=4,
               help='Seconds without a sign of life after which an image '
                    'in saving is considered abandoned by its uploader '
                    '(which renews its lease every quarter of this). '
                    'Needs clocks of all API nodes in sync to well under '
                    'this.'),
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this node, recorded as the writer of its '
                    'uploads: uploads written on this node (same name, '
                    'boot and PID namespace) are judged dead as soon as '
                    'their process is, those of other nodes by their '
                    'lease. Nodes sharing a machine must have distinct '
                    'names unless they share their processes too.'),
]

CONF = cfg.CONF
CONF.register_opts(recovery_opts)

_PAGE = 200


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _boot_id():
    try:
        with open('/proc/sys/kernel/random/boot_id') as f:
            return f.read().strip()
    except OSError:
        return None


def _start_time(pid):
    """Start time of process ``pid`` in clock ticks since boot, or None
    if it does not run."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the parenthesised command name; starttime is field 22.
    return stat.rsplit(')', 1)[1].split()[19]


def _pid_namespace():
    try:
        return str(os.stat('/proc/self/ns/pid').st_ino)
    except OSError:
        return '0'


def _node():
    """This node: its name, boot and PID namespace (the pids of one node
    are those of one namespace)."""
    return '%s:%s:%s' % (CONF.host.replace(':', '_'),
                         _boot_id() or 'unknown', _pid_namespace())


def owner_token():
    """Identifies this process on this node for this boot."""
    pid = os.getpid()
    return '%s:%d:%s' % (_node(), pid, _start_time(pid) or '0')


def _writer_alive(token):
    """True or False for a writer of this node (its pid still runs the
    same process, or not); None when not ours to judge."""
    try:
        node, pid, start = token.rsplit(':', 2)
        pid = int(pid)
    except (AttributeError, ValueError):
        return None
    if node != _node() or _boot_id() is None:
        return None
    return _start_time(pid) == start


class Lease:
    """Renews the upload lease of ``image_id`` while the ``with`` block
    runs (in a thread; a green one under eventlet).

    A renewal that finds the image deleted, or no longer ``saving``
    (killed as abandoned), sets ``lost`` and calls ``on_lost()``: the
    upload is to stop and remove what it wrote, not to go on for as long
    as the client sends.
    """

    def __init__(self, ctx, registry, image_id, on_lost=None):
        self.ctx = ctx
        self.registry = registry
        self.image_id = image_id
        self.on_lost = on_lost
        self.lost = False
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def start_values():
        return {'upload_owner': owner_token(),
                'upload_heartbeat': _utcnow()}

    def _run(self):
        interval = CONF.upload_lease_time / 4.0
        while not self._stop.wait(interval):
            try:
                self.registry.image_update(
                    self.ctx, self.image_id,
                    {'upload_heartbeat': _utcnow()},
                    from_state=status.SAVING)
            except exception.GlanceException as e:
                LOG.warning('Cannot renew the upload lease of %s: %s',
                            self.image_id, e)
                if isinstance(e, (exception.NotFound,
                                  exception.StateConflict)):
                    self.lost = True
                    if self.on_lost is not None:
                        self.on_lost()
                    return

    def guard(self, chunks):
        """``chunks`` until the lease is lost; then the image is gone
        (412)."""
        for chunk in chunks:
            if self.lost:
                raise gone_error(self.image_id)
            yield chunk

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='upload-lease')
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def gone_error(image_id):
    """What the uploader of ``image_id`` is told when it was deleted (or
    killed as abandoned) during its upload."""
    return exception.PreconditionFailed(
        'Image %s could not be found after upload. The image may have '
        'been deleted during the upload.' % image_id)


def _abandoned(image, now):
    alive = _writer_alive(image.get('upload_owner'))
    if alive is not None:
        return not alive
    last = image.get('upload_heartbeat') or image.get('updated_at')
    return last is not None and \
        (now - last).total_seconds() > CONF.upload_lease_time


def _images(registry, ctx, filters):
    marker = None
    while True:
        page = registry.image_list(ctx, dict(filters, is_public=None),
                                   marker=marker, limit=_PAGE,
                                   sort_key='created_at', sort_dir='asc')
        yield from page
        if len(page) < _PAGE:
            return
        marker = page[-1]['id']


def _deleted_while_saving(registry, ctx, now):
    """Images deleted lately while (or just after) being uploaded: their
    writer may have written more after the DELETE removed what it had
    written, and died before it learnt of the deletion."""
    lease = CONF.upload_lease_time
    since = now - datetime.timedelta(seconds=3 * lease)
    # changes-since lists deleted images too.
    for image in _images(registry, ctx, {'status': status.DELETED,
                                         'changes-since': since}):
        beat = image.get('upload_heartbeat')
        if beat is not None and image.get('deleted_at') is not None and \
                (image['deleted_at'] - beat).total_seconds() < lease:
            yield image


def discard_staged(image_id):
    """Remove the data an upload of ``image_id`` that never committed may
    have left in any enabled store (stores name all of it after the
    image). Tries every store; raises the first failure."""
    failure = None
    for name in CONF.glance_store.stores:
        try:
            store_api.get_store(name).discard_staged(image_id)
        except exception.UnknownScheme:
            continue
        except Exception as e:
            LOG.warning('Cannot remove partial data of image %s from the '
                        '%s store: %s', image_id, name, e)
            failure = failure or e
    if failure is not None:
        raise failure


def recover_abandoned_uploads(registry):
    """Kill abandoned uploads and remove their partial data; returns the
    ids of the images killed."""
    ctx = context.admin_context()
    now = _utcnow()
    killed = []
    for image in _images(registry, ctx, {'status': status.SAVING}):
        if not _abandoned(image, now):
            continue
        try:
            registry.image_update(ctx, image['id'],
                                  {'status': status.KILLED},
                                  from_state=status.SAVING)
        except (exception.StateConflict, exception.NotFound):
            # Another process recovered it first, or the upload ended.
            continue
        try:
            discard_staged(image['id'])
        except Exception:
            # Deleting the killed image tries again.
            LOG.warning('Image %s was left in saving by a process that '
                        'died; killed it, but some of its partial data '
                        'remains', image['id'])
        else:
            LOG.warning('Image %s was left in saving by a process that '
                        'died; killed it and removed its partial data',
                        image['id'])
        killed.append(image['id'])
    for image in _deleted_while_saving(registry, ctx, now):
        # Once its writer is surely stopped; a few passes do this again
        # (nothing records it done), finding nothing more.
        if _abandoned(image, now):
            try:
                discard_staged(image['id'])
            except Exception:
                # Logged; the next pass retries.
                continue
    return killed


_watching = set()


def watch(registry):
    """Recover abandoned uploads now and then every eighth to quarter
    lease time, in a daemon thread, for as long as the process lives
    (once per process)."""
    if os.getpid() in _watching:
        return
    _watching.add(os.getpid())

    def run():
        while True:
            try:
                recover_abandoned_uploads(registry)
            except Exception:
                # The next pass retries.
                LOG.exception('Cannot look for abandoned uploads')
            time.sleep(CONF.upload_lease_time / 4.0 *
                      random.uniform(0.5, 1.0))

    threading.Thread(target=run, daemon=True, name='upload-recovery').start()
