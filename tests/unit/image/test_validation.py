"""Metadata conversion and validation messages (reference §2)."""

import datetime

from glance_v1.common import exception
from glance_v1.image import validation
from tests import base


class TestConvert(base.TestCase):

    def test_types(self):
        meta = validation.validate(validation.convert({
            'size': '10', 'min_disk': '1', 'is_public': 'yes',
            'protected': 'nonsense', 'virtual_size': 'None',
            'created_at': '2020-01-02T03:04:05+01:00'}))
        self.assertEqual(10, meta['size'])
        self.assertIs(True, meta['is_public'])
        self.assertIs(False, meta['protected'])
        self.assertIsNone(meta['virtual_size'])
        self.assertEqual(datetime.datetime(2020, 1, 2, 2, 4, 5),
                         meta['created_at'])

    def assert_invalid(self, meta, message, func=validation.convert):
        error = self.assertRaises(exception.Invalid, func, meta)
        self.assertEqual(message, str(error))

    def test_bad_numbers(self):
        # The reference's messages name the value and the parameter
        # (checked against Glance 15 by tests/differential).
        self.assert_invalid({'size': 'x'},
                            "Invalid value 'x' for parameter 'size': Cannot "
                            "convert image size 'x' to an integer.")
        self.assert_invalid({'size': None},
                            "Invalid value 'None' for parameter 'size': "
                            "Cannot convert image size 'None' to an "
                            "integer.")
        self.assert_invalid({'min_ram': '-1'},
                            "Invalid value '-1' for parameter 'min_ram': "
                            "Cannot be a negative value.")
        self.assert_invalid({'min_ram': str(2 ** 31)},
                            "'min_ram' value out of range, must not exceed "
                            "2147483647.")
        self.conf.config(image_size_cap=2 ** 63)
        self.assert_invalid({'size': str(2 ** 63)},
                            "'size' value out of range, must not exceed "
                            "9223372036854775807.")

    def test_size_over_the_cap_is_left_to_the_cap_check(self):
        # Glance 15 answers the image_size_cap message, after the format
        # checks, for any size over the cap.
        meta = validation.convert({'size': str(2 ** 63)})
        self.assertEqual(2 ** 63, meta['size'])
        self.assert_invalid(2 ** 63, 'Denying attempt to upload image larger '
                            'than 1099511627776 bytes.',
                            func=validation.check_size_cap)

    def test_bad_times(self):
        for value in ('yesterday', '1899-12-31T00:00:00', '2020-13-01', ''):
            self.assert_invalid({'deleted_at': value},
                                'Invalid time format for deleted_at.',
                                func=validation.validate)


class TestValidate(base.TestCase):

    def assert_invalid(self, meta, message):
        error = self.assertRaises(exception.Invalid, validation.validate,
                                  meta)
        self.assertEqual(message, str(error))

    def test_formats(self):
        self.assert_invalid({'disk_format': 'bad'},
                            "Invalid disk format 'bad' for image.")
        self.assert_invalid({'disk_format': None},
                            "Invalid disk format 'None' for image.")
        self.assert_invalid({'container_format': 'bad'},
                            "Invalid container format 'bad' for image.")
        self.conf.config(disk_formats=['raw', 'custom'],
                         group='image_format')
        validation.validate({'disk_format': 'custom'})
        self.assert_invalid({'disk_format': 'qcow2'},
                            "Invalid disk format 'qcow2' for image.")

    def test_amazon_formats_are_coupled(self):
        meta = validation.validate({'disk_format': 'aki'})
        self.assertEqual('aki', meta['container_format'])
        meta = validation.validate({'container_format': 'ari'})
        self.assertEqual('ari', meta['disk_format'])
        self.assertRaises(exception.Invalid, validation.validate,
                          {'disk_format': 'aki', 'container_format': 'ami'})
        self.assertRaises(exception.Invalid, validation.validate,
                          {'disk_format': 'raw', 'container_format': 'ami'})

    def test_order_of_checks(self):
        # Which 400 wins when several values are bad, as Glance 15 answers
        # (seen by tests/differential): formats, their mix, times, name,
        # checksum.
        for meta, message in (
                ({'created_at': 'x', 'container_format': 'zz'},
                 "Invalid container format 'zz' for image."),
                ({'created_at': 'x', 'disk_format': 'aki',
                  'container_format': 'ari'}, 'Invalid mix of disk'),
                ({'name': 'n' * 256, 'disk_format': 'aki',
                  'container_format': 'ari'}, 'Invalid mix of disk'),
                ({'created_at': 'x', 'name': 'n' * 256},
                 'Invalid time format for created_at.'),
                ({'name': 'n' * 256, 'checksum': 'c' * 40},
                 'Image name too long: 256')):
            error = self.assertRaises(exception.Invalid, validation.validate,
                                      meta)
            self.assertTrue(str(error).startswith(message), (meta, error))

    def test_name_checksum_id(self):
        self.assert_invalid({'name': 'x' * 256}, 'Image name too long: 256')
        validation.validate({'name': 'x' * 255})
        self.assert_invalid({'checksum': 'c' * 33},
                            "Invalid checksum '%s': can't exceed 32 "
                            "characters" % ('c' * 33))
        for checksum in ('c' * 31, 'g' * 32, 'c' * 31 + '\n', ''):
            self.assert_invalid({'checksum': checksum},
                                "Invalid checksum '%s': must be 32 "
                                "hexadecimal digits (an md5)" % checksum)
        validation.validate({'checksum': 'C' * 16 + 'c' * 16})
        self.assert_invalid({'id': '../../etc/passwd'},
                            'Invalid image id format')
        validation.validate({'id': '0123456789abcdef0123456789abcdef'})

    def test_empty_checksum(self):
        validation.check_empty_checksum(None)
        validation.check_empty_checksum('d41d8cd98f00b204e9800998ecf8427e')
        error = self.assertRaises(exception.Invalid,
                                  validation.check_empty_checksum, 'a' * 32)
        self.assertEqual(
            'Supplied checksum (%s) and checksum generated from uploaded '
            'image (d41d8cd98f00b204e9800998ecf8427e) did not match.'
            % ('a' * 32), str(error))

    def test_size_cap(self):
        self.conf.config(image_size_cap=100)
        validation.check_size_cap(100)
        error = self.assertRaises(exception.Invalid,
                                  validation.check_size_cap, 101)
        self.assertEqual('Denying attempt to upload image larger than 100 '
                         'bytes.', str(error))

    def test_require_formats(self):
        self.assertRaises(exception.Invalid, validation.require_formats,
                          {'container_format': 'bare'})
        self.assertRaises(exception.Invalid, validation.require_formats,
                          {'disk_format': 'raw'})
        validation.require_formats({'disk_format': 'raw',
                                    'container_format': 'bare'})
