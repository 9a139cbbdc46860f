"""Policy enforcement through oslo.policy.

The v1 rules are registered in code with the reference defaults, so a
missing policy file still gives the documented behaviour; a policy file
named by ``[oslo_policy] policy_file`` overrides any of them.
"""

import threading
import time

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from glance_v1.common import exception

CONF = cfg.CONF
policy_opts.set_defaults(CONF, 'policy.yaml')

_ANYONE = ''
_ADMIN = 'role:admin'

_RULES = [
    ('context_is_admin', _ADMIN, 'Callers treated as administrators.'),
    ('default', _ADMIN, 'Rule for actions without a rule of their own.'),
    ('get_images', _ANYONE,
     'List images: GET /v1/images and /v1/images/detail.'),
    ('get_image', _ANYONE,
     'Show an image: HEAD and GET /v1/images/{id}.'),
    ('download_image', _ANYONE,
     'Download image data: GET /v1/images/{id}. The target is the image '
     'with its custom properties flattened into it, e.g. '
     '"\'bare\':%(container_format)s"; checked before "not found", so '
     'a denied caller gets 403 even for a missing image.'),
    ('add_image', _ANYONE, 'Create an image: POST /v1/images.'),
    ('modify_image', _ANYONE, 'Update an image: PUT /v1/images/{id}.'),
    ('delete_image', _ANYONE, 'Delete an image: DELETE /v1/images/{id}.'),
    ('publicize_image', _ADMIN,
     'Create or update an image with x-image-meta-is_public: true.'),
    ('upload_image', _ANYONE,
     'Send image data with POST or PUT, or copy it from a URL.'),
    ('copy_from', _ANYONE,
     'Copy image data from x-glance-api-copy-from.'),
    ('set_image_location', _ANYONE,
     'Register external data with x-image-meta-location.'),
    ('get_members', _ANYONE,
     'List or show members: GET /v1/images/{id}/members[/{member}].'),
    ('modify_member', _ANYONE,
     'Add a member or replace the members: PUT '
     '/v1/images/{id}/members[/{member}].'),
    ('delete_member', _ANYONE,
     'Remove a member: DELETE /v1/images/{id}/members/{member}.'),
    ('manage_image_cache', _ADMIN,
     'Use the image cache management API (/v1/cached_images, '
     '/v1/queued_images).'),
]


def list_rules():
    return [policy.RuleDefault(name, check, description=desc)
            for name, check, desc in _RULES]


_ENFORCER = None

# How often the policy files are looked at for changes.
_RELOAD_INTERVAL = 1.0


class _Enforcer(policy.Enforcer):
    """oslo.policy's Enforcer stats the policy files on every check; once
    a second is enough to pick up an operator's edit, and saves a
    measurable part of each request.

    A (re)load replaces the rules and then adds the defaults: a check in
    another native thread (mod_wsgi, uWSGI) in between found no rule and
    was denied. Checks and loads take turns.
    """

    _checked_at = None

    def __init__(self, *args, **kwargs):
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def enforce(self, *args, **kwargs):
        with self._lock:
            return super().enforce(*args, **kwargs)

    def load_rules(self, force_reload=False):
        with self._lock:
            now = time.monotonic()
            if force_reload or self._checked_at is None or \
                    now - self._checked_at >= _RELOAD_INTERVAL:
                super().load_rules(force_reload)
                self._checked_at = now

    def register_default(self, default):
        with self._lock:
            super().register_default(default)
            # Rules registered late (property protections) must be loaded
            # by the next check, not a second later.
            self._checked_at = None


_CREATING = threading.Lock()


def get_enforcer():
    global _ENFORCER
    if _ENFORCER is None:
        with _CREATING:
            if _ENFORCER is None:
                # Published once complete: a check in another thread
                # must never meet an enforcer without its rules.
                enforcer = _Enforcer(CONF)
                enforcer.register_defaults(list_rules())
                _ENFORCER = enforcer
    return _ENFORCER


def reset():
    global _ENFORCER
    if _ENFORCER is not None:
        _ENFORCER.clear()
    _ENFORCER = None


def _creds(context):
    return {'roles': [r.lower() for r in context.roles],
            'user_id': context.user_id,
            'project_id': context.project_id,
            'tenant': context.project_id,
            'is_admin': context.is_admin}


def enforce(context, action, target=None):
    """Raise PolicyForbidden unless ``action`` is allowed for ``context``."""
    allowed = get_enforcer().enforce(action, target or {}, _creds(context))
    if not allowed:
        raise exception.PolicyForbidden(action=action)


def check(context, action, target=None):
    return get_enforcer().enforce(action, target or {}, _creds(context))


def check_is_admin(context):
    return check(context, 'context_is_admin')
