"""Run the project's console scripts as subprocesses."""

import os
import subprocess
import sys

BIN = os.path.dirname(sys.executable)


def script(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        raise RuntimeError('console script %s is not installed next to %s '
                           '(pip install -e .)' % (name, sys.executable))
    return path


def run(name, *args, timeout=60):
    """``(exit code, stdout, stderr)`` of one run of console script
    ``name``."""
    proc = subprocess.run([script(name)] + list(args), capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return (proc.returncode, proc.stdout.decode('utf-8', 'replace'),
            proc.stderr.decode('utf-8', 'replace'))


def start(name, *args, log=None):
    return subprocess.Popen([script(name)] + list(args),
                            stdin=subprocess.DEVNULL,
                            stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
