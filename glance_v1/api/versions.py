"""The versions document (glance-v1-reference §13)."""

import json

from oslo_config import cfg
import webob
import webob.dec

versions_opts = [
    cfg.StrOpt('public_endpoint',
               help='URL that clients use to reach this API, when it is '
                    'not the host they called (e.g. behind a proxy).'),
]

CONF = cfg.CONF
CONF.register_opts(versions_opts)

VERSIONS = (('v1.1', 'DEPRECATED'), ('v1.0', 'DEPRECATED'))


def versions_document(req):
    base = (CONF.public_endpoint or req.application_url).rstrip('/')
    return {'versions': [
        {'id': vid, 'status': state,
         'links': [{'rel': 'self', 'href': base + '/v1/'}]}
        for vid, state in VERSIONS]}


def versions_response(req, status):
    resp = webob.Response(status=status, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps(versions_document(req))
    return resp


class VersionsApp:
    """Answers 300 Multiple Choices with the versions document."""

    @webob.dec.wsgify
    def __call__(self, req):
        return versions_response(req, 300)


def factory(global_conf, **local_conf):
    return VersionsApp()
