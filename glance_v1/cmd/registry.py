"""glance-registry: the registry REST API server."""

# Importing cmd.api monkey-patches for eventlet first.
from glance_v1.cmd import api

PROG = 'glance-registry'
DEFAULT_PORT = 9191


def main(argv=None):
    api.serve(PROG, DEFAULT_PORT, argv, lambda: True)


if __name__ == '__main__':
    main()
