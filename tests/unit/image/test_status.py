"""The status machine's guards (reference §3, §1a)."""

from glance_v1.common import exception
from glance_v1.image import status
from tests import base


class TestStatus(base.TestCase):

    def image(self, **kw):
        image = {'id': 'i', 'status': 'active', 'size': 5, 'checksum': 'c',
                 'protected': False}
        image.update(kw)
        return image

    def test_active_size_and_checksum_admin_only(self):
        user = base.ctx()
        self.assertRaises(exception.Forbidden, status.check_update, user,
                          self.image(), {'size': 6})
        self.assertRaises(exception.Forbidden, status.check_update, user,
                          self.image(status='deactivated'),
                          {'checksum': 'd'})
        status.check_update(user, self.image(), {'size': 5})
        status.check_update(user, self.image(status='queued'), {'size': 6})
        status.check_update(base.admin_ctx(), self.image(), {'size': 6})

    def test_status_and_id_immutable_even_for_admin(self):
        for change in ({'status': 'queued'}, {'id': 'other'}):
            self.assertRaises(exception.Forbidden, status.check_update,
                              base.admin_ctx(), self.image(), change)
        status.check_update(base.admin_ctx(), self.image(),
                            {'status': 'active', 'id': 'i'})

    def test_deleted_is_not_updatable(self):
        error = self.assertRaises(exception.Forbidden, status.check_update,
                                  base.admin_ctx(),
                                  self.image(status='deleted'), {})
        self.assertEqual('Forbidden to update deleted image.', str(error))

    def test_download(self):
        status.check_download(self.image())
        self.assertRaises(exception.Forbidden, status.check_download,
                          self.image(status='deactivated'))
        for state in ('queued', 'saving', 'killed', 'deleted',
                      'pending_delete'):
            self.assertRaises(exception.NotFound, status.check_download,
                              self.image(status=state))

    def test_delete(self):
        status.check_delete(self.image())
        self.assertRaises(exception.Forbidden, status.check_delete,
                          self.image(protected=True))
        self.assertRaises(exception.Forbidden, status.check_delete,
                          self.image(status='pending_delete'))
        self.assertRaises(exception.NotFound, status.check_delete,
                          self.image(status='deleted'))
