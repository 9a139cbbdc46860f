"""glance-control: start, stop and signal the glance_v1 services with pid
files (glance-v1-reference §12).

    glance-control [options] <api|registry|scrubber|all> \\
        <start|status|stop|shutdown|restart|reload|force-reload> [CONFIG]

CONFIG is the service's config file (default
/etc/glance/glance-<server>.conf when it exists). ``stop`` sends SIGTERM
and, after ``--timeout`` seconds, SIGKILL; ``shutdown`` only waits for the
graceful stop; ``reload``/``force-reload`` send SIGHUP (api and registry).
``status`` exits 0 when running and 3 when not (LSB).
"""

import argparse
import errno
import importlib.util
import os
import signal
import subprocess
import sys
import time

SERVERS = ('api', 'registry', 'scrubber')
RELOADABLE = ('api', 'registry')
NOT_RUNNING = 3


class ControlError(Exception):
    pass


def _module(server):
    return 'glance_v1.cmd.%s' % server


def installed(server):
    return importlib.util.find_spec(_module(server)) is not None


def _alive(pid, server):
    """True when ``pid`` is a live process of ``server`` (a recycled pid
    of another program does not count)."""
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read().replace(b'\0', b' ').decode('utf-8',
                                                            'replace')
    except OSError:
        return True
    if 'glance-%s' % server in cmdline or _module(server) in cmdline:
        return True
    # A zombie child of ours, or a process we cannot inspect.
    return not cmdline


class Service:

    def __init__(self, server, args):
        self.server = server
        self.name = 'glance-%s' % server
        self.args = args
        if args.pid_file:
            self.pid_file = args.pid_file
        else:
            self.pid_file = os.path.join(args.pid_dir, self.name + '.pid')

    def pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def running_pid(self):
        pid = self.pid()
        return pid if pid and _alive(pid, self.server) else None

    def _config_args(self):
        config = self.args.config
        if config is None:
            default = '/etc/glance/%s.conf' % self.name
            config = default if os.path.exists(default) else None
        return ['--config-file', config] if config else []

    def start(self):
        if not installed(self.server):
            raise ControlError('%s is not installed' % self.name)
        pid = self.running_pid()
        if pid:
            print('%s is already running (pid %d)' % (self.name, pid))
            return 0
        os.makedirs(os.path.dirname(os.path.abspath(self.pid_file)),
                    exist_ok=True)
        with open(self.args.output or os.devnull, 'ab') as out:
            proc = subprocess.Popen(
                [sys.executable, '-m', _module(self.server)]
                + self._config_args(),
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, close_fds=True)
        with open(self.pid_file, 'w') as f:
            f.write('%d\n' % proc.pid)
        # A bad configuration makes the service exit at once: say so.
        deadline = time.monotonic() + self.args.wait
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self._remove_pid_file()
                raise ControlError('%s exited at start with status %d%s' % (
                    self.name, code,
                    ' (see %s)' % self.args.output if self.args.output
                    else ''))
            time.sleep(0.1)
        print('Started %s (pid %d)' % (self.name, proc.pid))
        return 0

    def _remove_pid_file(self):
        try:
            os.unlink(self.pid_file)
        except FileNotFoundError:
            pass

    def _wait_gone(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # Reap it when it is our child (restart).
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not _alive(pid, self.server):
                return True
            time.sleep(0.1)
        return False

    def stop(self, graceful=False):
        pid = self.running_pid()
        if not pid:
            self._remove_pid_file()
            print('%s is not running' % self.name)
            return 0
        os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, self.args.timeout):
            if graceful:
                raise ControlError('%s (pid %d) is still stopping'
                                   % (self.name, pid))
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 5)
        self._remove_pid_file()
        print('Stopped %s (pid %d)' % (self.name, pid))
        return 0

    def shutdown(self):
        return self.stop(graceful=True)

    def restart(self):
        self.stop()
        return self.start()

    def reload(self):
        if self.server not in RELOADABLE:
            raise ControlError('%s cannot reload' % self.name)
        pid = self.running_pid()
        if not pid:
            raise ControlError('%s is not running' % self.name)
        os.kill(pid, signal.SIGHUP)
        print('Reloading %s (pid %d)' % (self.name, pid))
        return 0

    def status(self):
        pid = self.running_pid()
        if pid:
            print('%s is running (pid %d)' % (self.name, pid))
            return 0
        print('%s is not running' % self.name)
        return NOT_RUNNING


COMMANDS = {'start': Service.start, 'stop': Service.stop,
            'shutdown': Service.shutdown, 'restart': Service.restart,
            'reload': Service.reload, 'force-reload': Service.reload,
            'status': Service.status}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='glance-control', description='Control glance_v1 services.')
    parser.add_argument('server', choices=SERVERS + ('all',))
    parser.add_argument('command', choices=sorted(COMMANDS))
    parser.add_argument('config', nargs='?',
                        help='Config file of the service.')
    parser.add_argument('--pid-dir', default='/var/run/glance',
                        help='Directory of the pid files '
                             '(glance-<server>.pid).')
    parser.add_argument('--pid-file',
                        help='Pid file (one server only).')
    parser.add_argument('--output',
                        help='File receiving the service\'s stdout and '
                             'stderr (default: discarded; set log_file).')
    parser.add_argument('--timeout', type=float, default=30,
                        help='Seconds to wait for a stop.')
    parser.add_argument('--wait', type=float, default=2,
                        help='Seconds a started service is watched for an '
                             'early exit.')
    args = parser.parse_args(argv)
    if args.server == 'all' and (args.pid_file or args.config):
        parser.error('--pid-file and CONFIG need a single server')
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.server == 'all':
        servers = [s for s in SERVERS if installed(s)]
    else:
        servers = [args.server]
    status = 0
    for server in servers:
        if args.command in ('reload', 'force-reload') and \
                args.server == 'all' and server not in RELOADABLE:
            continue
        try:
            status = max(status, COMMANDS[args.command](
                Service(server, args)))
        except (ControlError, OSError) as e:
            sys.stderr.write('ERROR: %s\n' % e)
            status = max(status, 1)
    return status


if __name__ == '__main__':
    sys.exit(main())
