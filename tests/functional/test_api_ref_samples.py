"""The api-ref samples are what a running glance-api answers today; on
failure run ``python tools/api_ref_samples.py`` and review the diff."""

import os

from tests.functional import base
from tools import api_ref_samples


class TestApiRefSamples(base.FunctionalTest):

    server_per_test = True

    def test_samples_match_the_service(self):
        fresh = api_ref_samples.generate(self.api.url)
        committed = sorted(os.listdir(api_ref_samples.SAMPLES))
        self.assertEqual(committed, sorted(fresh))
        for name, text in fresh.items():
            with open(os.path.join(api_ref_samples.SAMPLES, name)) as f:
                self.assertEqual(f.read(), text, name)
