"""Property protections (glance-v1-reference §7): who may create, read,
update and delete which custom properties.

The rules file is INI: each section name is a regular expression matched
(``re.search``) against a property name, in file order, the first match
deciding (OSSN-0013); a property no section matches is denied. Each
section names, per operation, either roles (``roles`` format: a comma list,
``@`` for everyone, ``!`` for nobody) or one oslo.policy rule
(``policies`` format). An operation a section does not name is denied.
"""

import configparser
import re

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from glance_v1.common import exception
from glance_v1.common import policy

protection_opts = [
    cfg.StrOpt('property_protection_file',
               help='INI file of property protection rules; unset, any '
                    'caller may manage any custom property.'),
    cfg.StrOpt('property_protection_rule_format', default='roles',
               choices=[('roles', 'sections name roles per operation'),
                        ('policies', 'sections name a policy rule per '
                                     'operation')],
               help='How the property protection file names who may act.'),
]

CONF = cfg.CONF
CONF.register_opts(protection_opts)

OPERATIONS = ('create', 'read', 'update', 'delete')
_EVERYONE = '@'
_NOBODY = '!'


class InvalidRules(Exception):
    """The property protection file cannot be used."""


class Rules:

    def __init__(self, path, rule_format):
        self.rule_format = rule_format
        parser = configparser.ConfigParser(interpolation=None,
                                           strict=True)
        try:
            with open(path) as f:
                parser.read_file(f)
        except OSError as e:
            raise InvalidRules('Cannot read property protection file %s: '
                               '%s' % (path, e))
        except configparser.Error as e:
            raise InvalidRules('Invalid property protection file %s: %s'
                               % (path, e))
        self.sections = []
        for name in parser.sections():
            try:
                regex = re.compile(name)
            except re.error as e:
                raise InvalidRules('Invalid regular expression %r in %s: '
                                   '%s' % (name, path, e))
            ops = {}
            for op in OPERATIONS:
                value = parser.get(name, op, fallback=None)
                if value is not None:
                    ops[op] = self._parse(name, op, value.strip())
            self.sections.append((name, regex, ops))
        self._matches = {}

    def _parse(self, section, op, value):
        if self.rule_format == 'policies':
            if ',' in value or not value:
                raise InvalidRules(
                    'Section %r, %s: exactly one policy rule is allowed '
                    '(combine rules in the policy file)' % (section, op))
            return value
        roles = [r.strip().lower() for r in value.split(',') if r.strip()]
        if len(roles) > 1 and (_EVERYONE in roles or _NOBODY in roles):
            raise InvalidRules(
                "Section %r, %s: '@' and '!' cannot be combined with "
                "roles" % (section, op))
        return roles

    def _section(self, prop):
        if prop not in self._matches:
            self._matches[prop] = next(
                ((name, ops) for name, regex, ops in self.sections
                 if regex.search(prop)), None)
        return self._matches[prop]

    def allowed(self, ctx, prop, op):
        section = self._section(prop)
        if section is None:
            return False
        name, ops = section
        rule = ops.get(op)
        if rule is None:
            return False
        if self.rule_format == 'policies':
            return self._policy_allows(ctx, name, op, rule)
        if rule == [_EVERYONE]:
            return True
        if rule == [_NOBODY]:
            return False
        roles = {r.lower() for r in list(ctx.roles or []) +
                 list(getattr(ctx, 'service_roles', None) or [])}
        return any(r in roles for r in rule)

    @staticmethod
    def _policy_allows(ctx, section, op, rule):
        name = '%s:%s' % (section, op)
        enforcer = policy.get_enforcer()
        if name not in enforcer.registered_rules:
            check = rule if rule in (_EVERYONE, _NOBODY) else 'rule:' + rule
            enforcer.register_default(oslo_policy.RuleDefault(name, check))
        return policy.check(ctx, name)


_RULES = None


def get_rules():
    """The loaded rules, None when protections are off."""
    global _RULES
    if _RULES is None and CONF.property_protection_file:
        _RULES = Rules(CONF.property_protection_file,
                       CONF.property_protection_rule_format)
    return _RULES


def reset():
    global _RULES
    _RULES = None


def check_config():
    """Load the rules at start-up so a bad file stops the service."""
    get_rules()


def _protected(prop):
    return exception.Forbidden("Property '%s' is protected" % prop)


def readable(ctx, image):
    """``image`` without the properties ``ctx`` may not read."""
    rules = get_rules()
    if rules is None or not image.get('properties'):
        return image
    image = dict(image)
    image['properties'] = {k: v for k, v in image['properties'].items()
                           if rules.allowed(ctx, k, 'read')}
    return image


def check_create(ctx, props):
    rules = get_rules()
    if rules is None:
        return
    for prop in props:
        if not rules.allowed(ctx, prop, 'create'):
            raise _protected(prop)


def check_update(ctx, props, current, purge):
    """403 unless ``ctx`` may turn the ``current`` properties into
    ``props`` (with ``purge``, those left out are deleted); returns the
    properties to store: left-out properties ``ctx`` may not read are
    silently kept."""
    rules = get_rules()
    if rules is None:
        return props
    props = dict(props)
    for prop, value in list(props.items()):
        if prop not in current:
            if not rules.allowed(ctx, prop, 'create'):
                raise _protected(prop)
        elif not rules.allowed(ctx, prop, 'read') or (
                value != current[prop] and
                not rules.allowed(ctx, prop, 'update')):
            raise _protected(prop)
    if purge:
        for prop, value in current.items():
            if prop in props:
                continue
            if not rules.allowed(ctx, prop, 'read'):
                props[prop] = value
            elif not rules.allowed(ctx, prop, 'delete'):
                raise _protected(prop)
    return props
