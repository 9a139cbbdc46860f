"""``authtoken``: keystonemiddleware's auth_token, refused when it could
not log in to Keystone.

With no auth_type keystonemiddleware loads anyway, and then every request
fails with a bare 500 (keystoneauth1's MissingAuthPlugin) while the service
looks healthy; with a bad one it fails with a line that names no section.
Loading the pipeline fails instead, so glance-api, glance-registry and the
WSGI entry points refuse to start with one line naming the setting.
"""

from keystoneauth1 import exceptions
from keystoneauth1 import loading
from keystonemiddleware import auth_token
from oslo_config import cfg

CONF = cfg.CONF
GROUP = 'keystone_authtoken'


def auth_problem(conf, paste_options):
    """Why no auth plugin loads from these settings, or None. Options are
    looked up as keystonemiddleware does: the paste section's first, then
    ``conf``'s."""

    def get(name, group):
        if name in paste_options:
            return paste_options[name]
        return conf[group][name]

    # As keystonemiddleware will (registering twice is harmless).
    loading.register_auth_conf_options(conf, GROUP)
    group = get('auth_section', GROUP) or GROUP
    plugin = get('auth_type', group)
    if not plugin:
        return ('[%s] sets no auth_type, so tokens cannot be validated with '
                'Keystone (e.g. auth_type = password, auth_url, username, '
                'password, project_name)' % group)
    try:
        loader = loading.get_plugin_loader(plugin)
    except exceptions.NoMatchingPlugin:
        return '[%s] auth_type = %s: no such auth plugin' % (group, plugin)
    conf.register_opts(loading.get_auth_plugin_conf_options(loader),
                       group=group)
    try:
        loader.load_from_options_getter(lambda opt: get(opt.dest, group))
    except exceptions.MissingRequiredOptions as e:
        return '[%s] auth_type = %s needs %s' % (
            group, plugin, ', '.join(o.dest for o in e.options))
    return None


def filter_factory(global_conf, **local_conf):
    make = auth_token.filter_factory(global_conf, **local_conf)
    options = dict(global_conf, **local_conf)

    def _filter(app):
        # With oslo_config_project it reads a configuration of its own.
        if 'oslo_config_project' not in options:
            problem = auth_problem(CONF, options)
            if problem:
                raise RuntimeError('Cannot authenticate with Keystone: %s'
                                   % problem)
        return make(app)
    return _filter
