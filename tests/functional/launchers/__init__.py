"""How another WSGI server is started to serve a test's glance-api.

A launcher is a module here named after ``GLANCE_V1_TEST_SERVER`` with a
``command(service)`` that writes what its server needs into
``service.dir`` and returns the argv of one foreground process. That
process must serve ``glance_v1.wsgi.api`` with ``service.conf_file`` on
127.0.0.1:``service.port``, write its logs to ``service.log_file`` (or
to standard output) and stop on SIGTERM. It may also set
``service.serving``: a callable telling, once the server answered, whether
all of it is up.
"""

import importlib


def command(name, service):
    try:
        launcher = importlib.import_module('%s.%s' % (__name__, name))
    except ImportError as e:
        raise RuntimeError('No launcher for GLANCE_V1_TEST_SERVER=%s: %s'
                           % (name, e))
    return launcher.command(service)
