"""Encoding of list queries and values between the registry client and
glance-registry: what the client sends, the registry parses back to the
very filters glance-api handed over (glance-v1-reference §5, §11)."""

import datetime

from glance_v1.common import exception
from glance_v1.image import listing
from glance_v1.registry import wire
from tests import base


class TestListQuery(base.TestCase):

    def round_trip(self, filters, marker=None, limit=10,
                   sort_key='name', sort_dir='asc'):
        params = wire.encode_list_query(filters, marker, limit, sort_key,
                                        sort_dir)
        return listing.parse(dict(params))

    def test_filters_survive_exactly(self):
        filters = {
            'name': 'a:b',  # a colon that is no operator
            'status': ['active', 'queued'],
            'disk_format': ['x,"y', ' z '],
            'container_format': 'in',
            'size_min': 0, 'size_max': 10, 'min_ram': 3, 'min_disk': 4,
            'protected': False, 'is_public': None,
            'changes-since': datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
            'properties': {'os_distro': 'debian', 'k:x': 'v,1'},
        }
        marker = '6bbe7cc2-eae7-4c0f-b50d-a7160b0c6a86'
        self.assertEqual((filters, marker, 10, 'name', 'asc'),
                         self.round_trip(filters, marker))

    def test_is_public_values(self):
        for value in (True, False, None):
            self.assertEqual({'is_public': value},
                             self.round_trip({'is_public': value})[0])

    def test_registry_caps_the_limit_itself(self):
        self.conf.config(api_limit_max=7)
        self.assertEqual(7, self.round_trip({}, limit=100)[2])


class TestValues(base.TestCase):

    def test_timestamps_keep_microseconds(self):
        when = datetime.datetime(2020, 1, 2, 3, 4, 5)
        encoded = wire.dumps({'image': {'created_at': when}})
        self.assertIn('2020-01-02T03:04:05.000000', encoded)
        decoded = wire.image_from_wire(wire.loads(encoded)['image'])
        self.assertEqual(when, decoded['created_at'])

    def test_bad_timestamp_is_invalid(self):
        self.assertRaises(exception.Invalid, wire.image_from_wire,
                          {'updated_at': '2020-01-02'})

    def test_exception_class_by_name_and_status(self):
        error = wire.exception_for(409, 'StateConflict', 'guard')
        self.assertIsInstance(error, exception.StateConflict)
        self.assertEqual('guard', str(error))
        # A name that disagrees with the status, or none: by status.
        self.assertIs(exception.Conflict,
                      type(wire.exception_for(409, 'ImageNotFound', 'x')))
        self.assertIs(exception.NotAuthenticated,
                      type(wire.exception_for(401, None, 'x')))
        self.assertIs(exception.GlanceException,
                      type(wire.exception_for(502, 'os', 'x')))
