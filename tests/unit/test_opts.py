"""The configuration samples and the options behind them.

Everything here runs in a child process: importing every option module
(glance_v1.opts pulls in eventlet.wsgi) into the test runner's process
next to swiftclient makes the threaded HTTP source of the copy-from tests
hang.
"""

import configparser
import filecmp
import glob
import os
import subprocess
import sys
import textwrap

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GENERATOR_FILES = sorted(glob.glob(
    os.path.join(REPO, 'etc', 'oslo-config-generator', '*.conf')))


def _python(code, *args):
    """(exit status, stdout) of ``code``; stderr only when it failed."""
    proc = subprocess.run(
        [sys.executable, '-W', 'ignore', '-c', textwrap.dedent(code)]
        + list(args), capture_output=True, text=True, timeout=120,
        cwd=REPO)
    return proc.returncode, proc.stdout + (proc.stderr if proc.returncode
                                           else '')


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
            code, out = _python(
                'import sys; from oslo_config import generator; '
                'generator.main(sys.argv[1:])',
                '--config-file', gen_file, '--output-file', fresh)
            self.assertEqual(0, code, out)
            self.assertTrue(
                filecmp.cmp(sample, fresh, shallow=False),
                '%s is stale: run "tox -e genconfig"' % sample)


class TestOptions(testtools.TestCase):

    def test_every_option_has_help(self):
        code, out = _python('''
            from glance_v1 import opts
            for lister in (opts.list_api_opts, opts.list_cache_opts,
                           opts.list_scrubber_opts):
                for group, group_opts in lister():
                    for opt in group_opts:
                        if not opt.help or len(opt.help) <= 10:
                            print('no help: [%s] %s' % (group, opt.name))
            ''')
        self.assertEqual((0, ''), (code, out))

    def test_defaults_are_valid(self):
        code, out = _python('''
            from oslo_config import cfg
            from glance_v1.common import config
            from glance_v1 import opts
            conf = cfg.ConfigOpts()
            for group, group_opts in opts.list_api_opts():
                conf.register_opts(
                    group_opts, group=None if group == 'DEFAULT' else group)
            conf([], project='glance-v1-test', default_config_files=[])
            print(config.check_values(conf) or '', end='')
            ''')
        self.assertEqual((0, ''), (code, out))

    def test_bad_value_named(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'x.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nworkers = -3\n')
        code, out = _python('''
            import sys
            from oslo_config import cfg
            from glance_v1.common import config
            from glance_v1 import opts
            conf = cfg.ConfigOpts()
            conf.register_opts(opts.list_api_opts()[0][1])
            conf(['--config-file', sys.argv[1]], default_config_files=[])
            print(config.check_values(conf))
            ''', path)
        self.assertEqual(0, code, out)
        self.assertIn('Invalid value of option [DEFAULT] workers', out)
