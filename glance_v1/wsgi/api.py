"""WSGI entry point for mod_wsgi, uWSGI or gunicorn.

Point the server at ``glance_v1.wsgi.api:application``; the config files
are taken from ``GLANCE_CONFIG_FILES`` (comma separated) or the standard
locations. Loading it migrates the database (``auto_migrate``) and starts
the recovery of uploads abandoned by a process that died
(``image.recovery.watch``). Nothing of eventlet is imported here.
"""

from glance_v1.image import notifier
from glance_v1.image import recovery
from glance_v1.registry import api as registry_api
from glance_v1 import wsgi


def _configured():
    if notifier.configured():
        notifier.setup()


application = wsgi.init_application('glance-api', _configured)
# With a remote registry, the database is glance-registry's business.
if registry_api.CONF.registry_backend == 'local':
    application = wsgi.Prepared(application, wsgi.prepare_database)
recovery.watch(registry_api.get_registry())
