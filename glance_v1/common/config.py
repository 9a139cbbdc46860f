"""Command-line/config-file parsing and loading of the paste pipeline."""

import os

from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware.healthcheck import opts as healthcheck_opts
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


def set_middleware_defaults():
    """The reference's health check (503 while a file exists), and CORS
    defaults that let a browser client speak v1: its metadata travels in
    headers, so they must be allowed and exposed."""
    cfg.set_defaults(healthcheck_opts.HEALTHCHECK_OPTS,
                     backends=['disable_by_file'])
    cfg.set_defaults(healthcheck_opts.DISABLE_BY_FILE_OPTS,
                     disable_by_file_path='/etc/glance/healthcheck_disable')
    cors.set_defaults(
        allow_headers=['Content-MD5', 'Content-Type', 'X-Auth-Token',
                       'X-Identity-Status', 'X-Roles', 'X-Service-Catalog',
                       'X-User-Id', 'X-Tenant-Id', 'X-OpenStack-Request-ID',
                       'X-Glance-API-Copy-From',
                       'X-Glance-Registry-Purge-Props'],
        expose_headers=['ETag', 'Location', 'Content-Range',
                        'X-Image-Meta-Checksum', 'X-Auth-Token',
                        'X-OpenStack-Request-ID'],
        allow_methods=['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])


def parse_args(prog, argv=None, default_config_files=None):
    set_middleware_defaults()
    CONF(args=argv, project='glance', prog=prog,
         default_config_files=default_config_files)


def check_values(conf=None):
    """Read every registered option once, so that a bad value in a config
    file stops the service at start (not at first use) with one line
    naming it. Returns that line, or None."""
    conf = conf or CONF
    pending = [('DEFAULT', conf)]
    while pending:
        group_name, group = pending.pop(0)
        for opt_name in sorted(group):
            try:
                value = group[opt_name]
            except (ValueError, cfg.Error) as e:
                return 'Invalid value of option [%s] %s: %s' % (
                    group_name, opt_name, e)
            if isinstance(value, cfg.ConfigOpts.GroupAttr):
                pending.append((opt_name, value))
    return None


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
