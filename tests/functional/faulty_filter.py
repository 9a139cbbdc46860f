"""A paste filter for tests only: raises from inside the pipeline when a
request carries ``X-Test-Raise``, as a misconfigured middleware would."""


class _Faulty:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if 'HTTP_X_TEST_RAISE' in environ:
            raise RuntimeError('raised on purpose by the test filter')
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    return _Faulty
