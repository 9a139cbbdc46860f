"""Command-line/config-file parsing and loading of the paste pipeline."""

import os

from oslo_config import cfg
from paste import deploy

paste_deploy_opts = [
    cfg.StrOpt('flavor',
               help='Pipeline flavor: "<prog>-<flavor>" in the paste file; '
                    'e.g. "keystone" or "trusted-auth". Unset: the '
                    'unauthenticated pipeline.'),
    cfg.StrOpt('config_file',
               help='Paste file; by default <prog>-paste.ini next to the '
                    'first config file.'),
]

CONF = cfg.CONF
CONF.register_opts(paste_deploy_opts, group='paste_deploy')


def parse_args(prog, argv=None, default_config_files=None):
    CONF(args=argv, project='glance', prog=prog,
         default_config_files=default_config_files)


def _paste_file(prog):
    if CONF.paste_deploy.config_file:
        path = CONF.paste_deploy.config_file
    else:
        name = '%s-paste.ini' % prog
        candidates = [os.path.join(os.path.dirname(f), name)
                      for f in CONF.config_file or []]
        candidates.append(os.path.join('/etc/glance', name))
        path = next((c for c in candidates if os.path.exists(c)),
                    candidates[0])
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise RuntimeError('Cannot find the paste file %s' % path)
    return path


def load_paste_app(prog):
    """The WSGI app of pipeline ``prog[-flavor]`` from the paste file."""
    name = prog
    if CONF.paste_deploy.flavor:
        name = '%s-%s' % (prog, CONF.paste_deploy.flavor)
    path = _paste_file(prog)
    try:
        return deploy.loadapp('config:%s' % path, name=name)
    except LookupError as e:
        raise RuntimeError('Cannot load pipeline %r from %s: %s'
                           % (name, path, e))
