"""WSGI entry point of glance-registry for mod_wsgi, uWSGI or gunicorn:
``glance_v1.wsgi.registry:application``, config files as for
``glance_v1.wsgi.api`` (``GLANCE_CONFIG_FILES``); loading it migrates the
database as ``auto_migrate`` says."""

from glance_v1 import wsgi

application = wsgi.Prepared(wsgi.init_application('glance-registry'),
                            wsgi.prepare_database)
