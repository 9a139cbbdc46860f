"""A bounded schemathesis run of api-ref/openapi.yaml against a running
glance-api: no generated request may get a 500, and every response must
match the status codes, content types and schemas described."""

import os
import shutil
import subprocess
import sys

import fixtures

from tests.functional import base
from tests.functional import server

OPENAPI = os.path.join(server.REPO, 'api-ref', 'openapi.yaml')
CHECKS = ('not_a_server_error,status_code_conformance,'
          'content_type_conformance,response_schema_conformance')


def _schemathesis():
    beside = os.path.join(os.path.dirname(sys.executable), 'schemathesis')
    return beside if os.path.exists(beside) else shutil.which('schemathesis')


class TestOpenAPIConformance(base.FunctionalTest):

    def test_schemathesis(self):
        tool = _schemathesis()
        self.assertIsNotNone(tool, 'schemathesis (test-requirements.txt) '
                                   'is not installed')
        proc = subprocess.run(
            [tool, 'run', OPENAPI, '--url', self.api.url,
             '--checks', CHECKS, '--phases', 'coverage,fuzzing',
             '--max-examples', '5', '--max-time', '20', '--seed', '1',
             '--workers', '1', '--no-shrink', '--request-timeout', '10'],
            capture_output=True, text=True, timeout=180,
            # It leaves a .schemathesis/ cache where it runs.
            cwd=self.useFixture(fixtures.TempDir()).path)
        self.assertEqual(0, proc.returncode,
                         proc.stdout[-8000:] + proc.stderr[-2000:])
        self.assertNotIn('Traceback', self.api.read_log())
