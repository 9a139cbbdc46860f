"""WSGI entry point for mod_wsgi, uWSGI or gunicorn.

Point the server at ``glance_v1.wsgi.api:application``; the config files
are taken from ``GLANCE_CONFIG_FILES`` (comma separated) or the standard
locations.
"""

from glance_v1 import wsgi

from glance_v1.image import notifier

notifier.setup()
application = wsgi.init_application('glance-api')
