"""``versionnegotiation``: route a request to an API version by URL
prefix or by ``Accept: application/vnd.openstack.images-v1``."""

import webob.dec

from glance_v1.api import versions

ACCEPT_PREFIX = 'application/vnd.openstack.images-'
V1_ALIASES = ('v1', 'v1.0', 'v1.1')


class VersionNegotiationFilter:

    def __init__(self, app):
        self.app = app

    @webob.dec.wsgify
    def __call__(self, req):
        path = req.path_info
        if path == '/versions' or path.startswith('/versions/'):
            return versions.versions_response(req, 200)
        accept = req.headers.get('Accept', '')
        if accept.startswith(ACCEPT_PREFIX):
            version = accept[len(ACCEPT_PREFIX):].split(';')[0].strip()
            if version not in V1_ALIASES:
                return versions.versions_response(req, 300)
            rest = path
        else:
            segment, _, remainder = path.lstrip('/').partition('/')
            if segment not in V1_ALIASES:
                return versions.versions_response(req, 300)
            rest = '/' + remainder
        req.path_info = '/v1' + (rest if rest != '/' or path.endswith('/')
                                 else '')
        req.environ['api.version'] = 1
        return req.get_response(self.app)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return VersionNegotiationFilter(app)
    return _filter
