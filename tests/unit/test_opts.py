"""The configuration samples and the options behind them."""

import configparser
import filecmp
import glob
import os

import fixtures
from oslo_config import cfg
from oslo_config import generator
import testtools

from glance_v1.common import config
from glance_v1 import opts

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GENERATOR_FILES = sorted(glob.glob(
    os.path.join(REPO, 'etc', 'oslo-config-generator', '*.conf')))


class TestSamples(testtools.TestCase):

    def test_samples_are_fresh(self):
        """Each etc/*.conf.sample is what oslo-config-generator makes
        now; on failure run ``tox -e genconfig`` and commit the result."""
        self.assertNotEqual([], GENERATOR_FILES)
        tmp = self.useFixture(fixtures.TempDir()).path
        for gen_file in GENERATOR_FILES:
            parser = configparser.ConfigParser(strict=False)
            parser.read(gen_file)
            sample = os.path.join(REPO, parser['DEFAULT']['output_file'])
            fresh = os.path.join(tmp, os.path.basename(sample))
            generator.main(['--config-file', gen_file,
                            '--output-file', fresh])
            self.assertTrue(
                filecmp.cmp(sample, fresh, shallow=False),
                '%s is stale: run "tox -e genconfig"' % sample)


class TestOptions(testtools.TestCase):

    def test_every_option_has_help(self):
        for lister in (opts.list_api_opts, opts.list_cache_opts,
                       opts.list_scrubber_opts):
            for group, group_opts in lister():
                for opt in group_opts:
                    self.assertTrue(opt.help and len(opt.help) > 10,
                                    '[%s] %s' % (group, opt.name))

    def test_defaults_are_valid(self):
        conf = cfg.ConfigOpts()
        for group, group_opts in opts.list_api_opts():
            conf.register_opts(group_opts,
                               group=None if group == 'DEFAULT' else group)
        conf([], project='glance-v1-test', default_config_files=[])
        self.assertIsNone(config.check_values(conf))

    def test_bad_value_named(self):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.list_api_opts()[0][1])
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'x.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nworkers = -3\n')
        conf(['--config-file', path], default_config_files=[])
        error = config.check_values(conf)
        self.assertIn('[DEFAULT] workers', error)

