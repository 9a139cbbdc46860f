"""glance-scrubber: delete the data of pending_delete images once
``scrub_time`` has passed, and kill uploads abandoned by dead processes.
One pass and exit, or ``--daemon``: a pass every ``wakeup_time`` seconds
until SIGTERM/SIGINT."""

import signal
import sys
import threading

from oslo_config import cfg

from glance_v1.common import config
from glance_v1.common import log
from glance_v1.image import scrubber
from glance_v1.registry import api as registry_api

CONF = config.CONF
PROG = 'glance-scrubber'

cli_opts = [
    cfg.BoolOpt('daemon', short='D', default=False,
                help='Keep running, one pass every wakeup_time seconds.'),
]
daemon_opts = [
    cfg.IntOpt('wakeup_time', default=300, min=1,
               help='Seconds between two passes of glance-scrubber '
                    '--daemon.'),
]
CONF.register_cli_opts(cli_opts)
CONF.register_opts(daemon_opts)


def main(argv=None):
    config.parse_args(PROG, sys.argv[1:] if argv is None else argv)
    log.setup(PROG)
    worker = scrubber.Scrubber(registry_api.get_registry())
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while True:
        try:
            worker.run_once()
        except Exception:
            scrubber.LOG.exception('Scrubber pass failed')
            if not CONF.daemon:
                return 1
            # The database may be back by the next pass.
        if not CONF.daemon or stop.wait(CONF.wakeup_time):
            return 0


if __name__ == '__main__':
    sys.exit(main())
