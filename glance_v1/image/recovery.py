"""Uploads abandoned by a process that died (decisions "further" 2).

While an upload runs, its image records who writes it (``upload_owner``:
boot id, pid and start time of the process) and renews a lease
(``upload_heartbeat``) every quarter of ``upload_lease_time``. An image
in ``saving`` is abandoned when

* its writer ran on this host since this boot and is gone (checked at
  once: the pid no longer runs, or runs another program started later);
  a writer of this host that still runs is never judged by its lease, or
* its writer ran elsewhere (or before a reboot) and its lease is older
  than ``upload_lease_time``: it died with its node, or hangs.

An upload that is alive on any node is never taken for abandoned while it
renews its lease. Abandoned images are turned ``killed`` and the store's
staged partial data of them is removed; glance-api does this at start-up
and glance-scrubber on every pass. Under mod_wsgi or uWSGI, where a daemon
restarted mid-upload (request timeout, crash) is replaced without any
glance-api start-up, each process of the application does it when it
loads and then every half ``upload_lease_time`` (``watch``).
"""

import datetime
import logging
import os
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


def owner_token():
    """Identifies this process on this host for this boot."""
    pid = os.getpid()
    return '%s:%d:%s' % (_boot_id() or 'unknown', pid,
                         _start_time(pid) or '0')


def _writer_alive(token):
    """True or False for a writer of this host and boot (its pid still
    runs the same process, or not); None when not ours to judge."""
    try:
        boot_id, pid, start = token.split(':')
        pid = int(pid)
    except (AttributeError, ValueError):
        return None
    mine = _boot_id()
    if mine is None or boot_id != mine:
        return None
    return _start_time(pid) == start


class Lease:
    """Renews the upload lease of ``image_id`` while the ``with`` block
    runs (in a thread; a green one under eventlet)."""

    def __init__(self, ctx, registry, image_id):
        self.ctx = ctx
        self.registry = registry
        self.image_id = image_id
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
                    return

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='upload-lease')
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _abandoned(image, now):
    alive = _writer_alive(image.get('upload_owner'))
    if alive is not None:
        return not alive
    last = image.get('upload_heartbeat') or image.get('updated_at')
    return last is not None and \
        (now - last).total_seconds() > CONF.upload_lease_time


def _saving_images(registry, ctx):
    marker = None
    while True:
        page = registry.image_list(ctx, {'status': status.SAVING,
                                         'is_public': None},
                                   marker=marker, limit=_PAGE,
                                   sort_key='created_at', sort_dir='asc')
        yield from page
        if len(page) < _PAGE:
            return
        marker = page[-1]['id']


def discard_staged(image_id):
    """Remove partial data of ``image_id`` from every enabled store."""
    for name in CONF.glance_store.stores:
        try:
            store = store_api.get_store(name)
        except exception.UnknownScheme:
            continue
        store.discard_staged(image_id)


def recover_abandoned_uploads(registry):
    """Kill abandoned uploads and remove their partial data; returns the
    ids of the images killed."""
    ctx = context.admin_context()
    now = _utcnow()
    killed = []
    for image in _saving_images(registry, ctx):
        if not _abandoned(image, now):
            continue
        try:
            registry.image_update(ctx, image['id'],
                                  {'status': status.KILLED},
                                  from_state=status.SAVING)
        except (exception.StateConflict, exception.NotFound):
            continue
        discard_staged(image['id'])
        LOG.warning('Image %s was left in saving by a process that died; '
                    'killed it and removed its partial data', image['id'])
        killed.append(image['id'])
    return killed


def watch(registry):
    """Recover abandoned uploads now and then every half lease time, in a
    daemon thread, for as long as the process lives."""
    def run():
        while True:
            try:
                recover_abandoned_uploads(registry)
            except Exception:
                # The next pass retries.
                LOG.exception('Cannot look for abandoned uploads')
            time.sleep(CONF.upload_lease_time / 2.0)

    threading.Thread(target=run, daemon=True, name='upload-recovery').start()
