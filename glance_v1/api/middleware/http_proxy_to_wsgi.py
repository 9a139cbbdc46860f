"""``http_proxy_to_wsgi``: oslo.middleware's HTTPProxyToWSGI, stepping
aside entirely while proxy headers parsing is off (the default): the
library's filter would still wrap every request and response in webob
objects and inspect a method signature to do nothing."""

from oslo_middleware import http_proxy_to_wsgi


class HTTPProxyToWSGI(http_proxy_to_wsgi.HTTPProxyToWSGI):

    def __call__(self, environ, start_response):
        if not self._conf_get('enable_proxy_headers_parsing'):
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


filter_factory = HTTPProxyToWSGI.factory
