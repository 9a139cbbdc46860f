"""``versionnegotiation``: route a request to an API version by URL
prefix or by ``Accept: application/vnd.openstack.images-v1``."""

import webob

from glance_v1.api import versions

ACCEPT_PREFIX = 'application/vnd.openstack.images-'
V1_ALIASES = ('v1', 'v1.0', 'v1.1')


class VersionNegotiationFilter:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        path = req.path_info
        if path == '/versions' or path.startswith('/versions/'):
            return versions.versions_response(req, 200)(environ,
                                                        start_response)
        accept = environ.get('HTTP_ACCEPT', '')
        if accept.startswith(ACCEPT_PREFIX):
            version = accept[len(ACCEPT_PREFIX):].split(';')[0].strip()
            if version not in V1_ALIASES:
                return versions.versions_response(req, 300)(
                    environ, start_response)
            rest = path
        else:
            segment, _, remainder = path.lstrip('/').partition('/')
            if segment not in V1_ALIASES:
                return versions.versions_response(req, 300)(
                    environ, start_response)
            rest = '/' + remainder
        req.path_info = '/v1' + (
            rest if rest != '/' or path.endswith('/') else '')
        environ['api.version'] = 1
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return VersionNegotiationFilter(app)
    return _filter
