"""Quota option parsing and checks (glance-v1-reference §8)."""

from glance_v1.common import exception
from glance_v1.image import quota
from tests import base


class StorageQuotaTest(base.TestCase):

    def test_units(self):
        for value, expected in (('0', 0), ('10', 10), ('10B', 10),
                                ('2KB', 2048), ('3MB', 3 * 1024 ** 2),
                                ('1GB', 1024 ** 3), (' 5 TB ', 5 * 1024 ** 4)):
            self.conf.config(user_storage_quota=value)
            self.assertEqual(expected, quota.storage_quota(), value)

    def test_bad_values(self):
        for value in ('-1', '10 PB', 'lots', '1.5GB', '10kb2'):
            self.conf.config(user_storage_quota=value)
            e = self.assertRaises(ValueError, quota.check_config)
            self.assertIn('user_storage_quota', str(e))

    def test_check_storage(self):
        quota.check_storage(10, 10)
        quota.check_storage(10, None)
        e = self.assertRaises(exception.LimitExceeded, quota.check_storage,
                              11, 10)
        self.assertEqual(
            'Denying attempt to upload image because it exceeds the quota: '
            'The size of the data 11 will exceed the limit. 10 bytes '
            'remaining.', str(e))

    def test_property_and_member_quota(self):
        self.conf.config(image_property_quota=2, image_member_quota=0)
        quota.check_properties(2)
        e = self.assertRaises(exception.LimitExceeded,
                              quota.check_properties, 3)
        self.assertIn('Attempted: 3, Maximum: 2', str(e))
        self.assertRaises(exception.LimitExceeded, quota.check_members, 1)
        self.conf.config(image_property_quota=-1)
        quota.check_properties(10 ** 6)
