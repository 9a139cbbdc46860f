"""api-ref/openapi.yaml stays in step with the router: every route and
method the service answers is described, and nothing else."""

import os

from openapi_spec_validator import validate
import testtools
import yaml

from glance_v1.api.v1 import router

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OPENAPI = os.path.join(REPO, 'api-ref', 'openapi.yaml')
HTTP_METHODS = {'get', 'head', 'post', 'put', 'delete', 'patch'}
# Served outside the v1 router (version negotiation, oslo.middleware).
OUTSIDE_ROUTER = {('/', 'GET'), ('/versions', 'GET'),
                  ('/healthcheck', 'GET')}


def load():
    with open(OPENAPI) as f:
        return yaml.safe_load(f)


class TestOpenAPI(testtools.TestCase):

    def test_valid_openapi_3(self):
        validate(load())

    def test_routes_match(self):
        described = {(path, method.upper())
                     for path, item in load()['paths'].items()
                     for method in item if method in HTTP_METHODS}
        served = set(OUTSIDE_ROUTER)
        for path, methods, _any_method in router.API().table:
            if path == '/':
                # /v1/ is an alias of GET /v1/images (reference §1).
                continue
            served.update(('/v1' + path, m)
                          for m, target in methods.items() if target)
        self.assertEqual(sorted(served), sorted(described))
