"""What the tools that start servers on loopback for the tests have in
common (swift_aio, keystone_aio, reference_glance, cluster) and the
functional tests' servers: ports, config files, pid checks, stopping,
and the start/stop/env command line."""

import argparse
import os
import shutil
import signal
import socket
import time


# Ports this process handed out: a server given one may not have bound it
# yet (a glance-api is given its port before its glance-registry starts),
# and the kernel may offer the same free port again.
_given = set()


def free_port():
    """A loopback port nothing listens on, not handed out before."""
    while True:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port not in _given:
            _given.add(port)
            return port


def write_conf(path, sections):
    """An ini file of ``{section: {option: value}}``."""
    with open(path, 'w') as f:
        for section, options in sections.items():
            f.write('[%s]\n' % section)
            for key, value in options.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')


def tail(path, lines=15):
    """The last ``lines`` of a log file, or '' if there is none."""
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def runs_with(pid, marker):
    """The pid is alive and its command line holds ``marker`` (bytes):
    a pid file alone may name a process that has since been replaced. A
    live process's command line has been seen to read empty now and then
    on a busy machine, hence the second looks."""
    for _attempt in range(5):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                cmdline = f.read()
        except OSError:
            return False
        if cmdline:
            return marker in cmdline
        time.sleep(0.05)
    return False


def terminate(pids, alive, timeout=10):
    """SIGTERM ``pids``, wait up to ``timeout`` seconds while ``alive(pid)``
    holds for any of them, then SIGKILL those that still run."""
    pids = set(pids)
    for pid in sorted(pids):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if alive(pid)}
        time.sleep(0.1)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def remove(*paths):
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def command_line(doc, start, stop_servers, env=None, start_help='start',
                 start_options=()):
    """Run the ``start``/``stop``/``env`` command of a tool's argv.

    ``start(args)`` and ``env(args)`` take the parsed arguments;
    ``stop_servers(base)`` stops what a state directory runs, and ``stop
    --purge`` then removes the directory. ``start_options`` are extra
    ``(flags, add_argument keywords)`` of ``start``."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('start', help=start_help)
    for flags, kwargs in start_options:
        p.add_argument(*flags, **kwargs)
    p.set_defaults(func=start)
    p = sub.add_parser('stop', help='stop the servers of a directory')
    p.add_argument('--base', required=True)
    p.add_argument('--purge', action='store_true',
                   help='also remove the directory')
    p.set_defaults(func=lambda args: _stop(args, stop_servers))
    if env is not None:
        p = sub.add_parser('env', help='shell exports for its clients')
        p.add_argument('--base', required=True)
        p.set_defaults(func=env)
    args = parser.parse_args()
    args.func(args)


def _stop(args, stop_servers):
    base = os.path.realpath(args.base)
    if not os.path.isdir(base):
        return
    stop_servers(base)
    if args.purge:
        shutil.rmtree(base, ignore_errors=True)
