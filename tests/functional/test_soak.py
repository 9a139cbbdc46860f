"""A bounded soak of mixed concurrent operations against one glance-api
(tools/soak.py): no unexpected status, no image stuck in ``saving``, no
orphan file, no leaked descriptor and no memory growth after warm-up
(decisions "further" 2 and 6). GLANCE_V1_SOAK_SECONDS makes it longer."""

import importlib.util
import json
import os

from testtools import content

from tests.functional import base
from tests.functional import server

_spec = importlib.util.spec_from_file_location(
    'soak', os.path.join(server.REPO, 'tools', 'soak.py'))
soak = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(soak)


class SoakTest(base.FunctionalTest):

    def test_mixed_concurrent_operations(self):
        seconds = float(os.environ.get('GLANCE_V1_SOAK_SECONDS', '60'))
        run = soak.Soak(self.api.url, seconds, concurrency=6)
        # Swift segments are not named after their image: the orphan
        # check of that store is tests/functional/test_swift.py's.
        files = self.api.store_files if server.TEST_STORE == 'file' \
            else None
        report = run.run(pid=self.api.proc.pid, store_files=files)
        self.addDetail('soak-report', content.text_content(
            json.dumps(report, indent=1, sort_keys=True)))
        self.assertEqual([], report['errors'])
        self.assertEqual([], report['stuck_saving'])
        self.assertEqual([], report.get('orphan_files', []))
        self.assertLessEqual(report['fds_after'], report['fds_before'] + 4)
        self.assertLessEqual(report['rss_kib_after'],
                             report['rss_kib_before'] + 20 * 1024,
                             report['rss_kib_samples'])
        self.assertTrue(report['ok'])
        self.assertGreater(sum(report['operations'].values()), 100)
