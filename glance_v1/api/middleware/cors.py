"""``cors``: oslo.middleware's CORS reading the service's own [cors]
options (its paste factory would insist on options in the paste file or
load a second configuration of its own)."""

from oslo_config import cfg
from oslo_middleware import cors


class CORS(cors.CORS):

    def __call__(self, environ, start_response):
        # CORS adds nothing to a request without an Origin, but for an
        # OPTIONS one (answered 200 whatever the app says): pass it on
        # without the library's webob wrapping.
        if 'HTTP_ORIGIN' not in environ and \
                environ.get('REQUEST_METHOD') != 'OPTIONS':
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return CORS(app, cfg.CONF)
    return _filter
