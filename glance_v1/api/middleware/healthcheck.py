"""``healthcheck``: answers ``/healthcheck`` with oslo.middleware's
Healthcheck app (which can no longer sit in a pipeline as a filter), and
passes every other request on."""

from oslo_middleware import healthcheck


class HealthcheckFilter:

    PATH = '/healthcheck'

    def __init__(self, app, conf):
        self.app = app
        self.check = healthcheck.Healthcheck(None, conf)

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '').rstrip('/') == self.PATH:
            return self.check(environ, start_response)
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf or {}, **local_conf)

    def _filter(app):
        return HealthcheckFilter(app, conf)
    return _filter
