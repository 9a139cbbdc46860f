"""``rootapp``: mounts the v1 API at ``/v1``; anything else gets the
versions document with 300."""

from glance_v1.api import versions


class RootApp:

    def __init__(self, v1_app):
        self.v1_app = v1_app
        self.versions_app = versions.VersionsApp()

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path == '/v1' or path.startswith('/v1/'):
            environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME', '') + '/v1'
            environ['PATH_INFO'] = path[3:]
            return self.v1_app(environ, start_response)
        return self.versions_app(environ, start_response)


def root_app_factory(loader, global_conf, **local_conf):
    return RootApp(loader.get_app(local_conf['v1']))
