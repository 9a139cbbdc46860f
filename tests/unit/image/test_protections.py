"""Property protection rules (glance-v1-reference §7)."""

import os

from glance_v1.common import exception
from glance_v1.image import protections
from tests import base

ROLES = """
[^x_owner_.*]
create = admin,Member
read = admin,member
update = admin
delete = admin

[^x_owner_special]
create = @
read = @
update = @
delete = @

[^x_all_.*]
create = @
read = @
update = @
delete = @

[^x_none_.*]
create = !
read = !
update = !
delete = !

[^x_readonly_.*]
create = admin
read = @
"""

POLICIES = """
[^x_owner_.*]
create = context_is_admin
read = billing
update = !
delete = @
"""


class RulesTest(base.TestCase):

    def _rules(self, text, rule_format='roles'):
        path = os.path.join(self.tmp, 'protections.conf')
        with open(path, 'w') as f:
            f.write(text)
        self.conf.config(property_protection_file=path,
                         property_protection_rule_format=rule_format)
        protections.reset()
        self.addCleanup(protections.reset)
        return protections.get_rules()

    def test_roles(self):
        rules = self._rules(ROLES)
        member = base.ctx(roles=('MEMBER',))
        admin = base.ctx(roles=('admin',))
        self.assertTrue(rules.allowed(member, 'x_owner_foo', 'create'))
        self.assertTrue(rules.allowed(member, 'x_owner_foo', 'read'))
        self.assertFalse(rules.allowed(member, 'x_owner_foo', 'update'))
        self.assertTrue(rules.allowed(admin, 'x_owner_foo', 'delete'))
        self.assertFalse(rules.allowed(base.ctx(roles=()), 'x_owner_foo',
                                       'read'))

    def test_first_match_wins(self):
        rules = self._rules(ROLES)
        # x_owner_special also matches the later section, which says "@".
        self.assertFalse(rules.allowed(base.ctx(roles=('other',)),
                                       'x_owner_special', 'read'))

    def test_everyone_nobody_missing(self):
        rules = self._rules(ROLES)
        anyone = base.ctx(roles=('whatever',))
        admin = base.ctx(roles=('admin',))
        for op in protections.OPERATIONS:
            self.assertTrue(rules.allowed(anyone, 'x_all_p', op))
            self.assertFalse(rules.allowed(admin, 'x_none_p', op))
        # An operation a section leaves out is allowed to nobody.
        self.assertFalse(rules.allowed(admin, 'x_readonly_p', 'update'))
        # A property no section matches is denied.
        self.assertFalse(rules.allowed(admin, 'unmatched', 'read'))

    def test_service_roles_count(self):
        rules = self._rules(ROLES)
        ctx = base.ctx(roles=())
        ctx.service_roles = ['admin']
        self.assertTrue(rules.allowed(ctx, 'x_owner_foo', 'update'))

    def test_policies(self):
        rules = self._rules(POLICIES, 'policies')
        admin = base.admin_ctx()
        member = base.ctx()
        self.assertTrue(rules.allowed(admin, 'x_owner_a', 'create'))
        self.assertFalse(rules.allowed(member, 'x_owner_a', 'create'))
        # "billing" is no rule of the policy file: oslo.policy falls back
        # to "default" (role:admin).
        self.assertTrue(rules.allowed(admin, 'x_owner_a', 'read'))
        self.assertFalse(rules.allowed(member, 'x_owner_a', 'read'))
        self.assertFalse(rules.allowed(admin, 'x_owner_a', 'update'))
        self.assertTrue(rules.allowed(member, 'x_owner_a', 'delete'))

    def test_bad_files(self):
        for text, fmt in (('[x]\ncreate = @,admin\n', 'roles'),
                          ('[x]\nread = !,admin\n', 'roles'),
                          ('[(unclosed]\nread = @\n', 'roles'),
                          ('[x]\nread = a,b\n', 'policies'),
                          ('[x]\nread = @\n[x]\nread = @\n', 'roles'),
                          ('read = @\n', 'roles')):
            self.assertRaises(protections.InvalidRules, self._rules, text,
                              fmt)
        self.conf.config(property_protection_file='/nonexistent/file')
        protections.reset()
        self.assertRaises(protections.InvalidRules,
                          protections.check_config)

    def test_off_without_file(self):
        self.assertIsNone(protections.get_rules())
        image = {'properties': {'x_none_a': '1'}}
        self.assertIs(image, protections.readable(base.ctx(), image))

    def test_readable_strips(self):
        self._rules(ROLES)
        image = {'id': 'i', 'properties': {'x_none_a': '1', 'x_all_b': '2'}}
        self.assertEqual({'x_all_b': '2'}, protections.readable(
            base.ctx(), image)['properties'])
        self.assertEqual(2, len(image['properties']))

    def test_check_update(self):
        self._rules(ROLES)
        member = base.ctx(roles=('member',))
        current = {'x_owner_a': '1', 'x_none_b': '2', 'x_readonly_c': '3'}
        # Unchanged values need only read; unreadable ones are kept.
        self.assertEqual(
            {'x_owner_a': '1', 'x_readonly_c': '3', 'x_none_b': '2'},
            protections.check_update(
                member, {'x_owner_a': '1', 'x_readonly_c': '3'}, current,
                purge=True))
        readable = {'x_owner_a': '1', 'x_readonly_c': '3'}
        for props in ({'x_owner_a': 'changed'},
                      {'x_none_b': '2'},
                      {'x_none_new': 'v'},
                      {'x_readonly_c': 'changed'}):
            e = self.assertRaises(
                exception.Forbidden, protections.check_update, member,
                dict(readable, **props), current, purge=False)
            self.assertEqual("Property '%s' is protected" % list(props)[0],
                             str(e))
        # Readable but not deletable: purging it is refused.
        e = self.assertRaises(exception.Forbidden, protections.check_update,
                              member, {}, current, purge=True)
        self.assertIn("is protected", str(e))
        # Without purge nothing left out is touched.
        self.assertEqual({}, protections.check_update(member, {}, current,
                                                      purge=False))

    def test_check_create(self):
        self._rules(ROLES)
        protections.check_create(base.ctx(roles=('member',)),
                                 {'x_owner_a': '1', 'x_all_b': '2'})
        self.assertRaises(exception.Forbidden, protections.check_create,
                          base.ctx(roles=('member',)), {'x_none_a': '1'})
