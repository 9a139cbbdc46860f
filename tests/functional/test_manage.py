"""glance-manage db sync/version/check/purge (glance-v1-reference §12;
decisions "differ" 4: purge never frees an image id)."""

import datetime
import os
import subprocess
import sys

from oslo_config import fixture as config_fixture
import sqlalchemy as sa

from glance_v1.common import exception
from glance_v1.registry.db import migration
from glance_v1.registry.db import models
from glance_v1.registry.db import session
from glance_v1.registry import local
from tests import base
from tests import db
from tests.functional import server

CONF = base.CONF
UNREACHABLE = {
    'sqlite': 'sqlite:////proc/no-such-dir/glance.sqlite',
    'postgresql': 'postgresql+psycopg://postgres:secret@127.0.0.1:1/x',
    'mysql': 'mysql+pymysql://root:secret@127.0.0.1:1/x',
}


class ManageTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = db.selected_backend()
        db.check_available(self.backend)
        self.database = self.useFixture(db.Database(self.backend)).url

    def manage(self, *args, connection=None, module='glance_v1.cmd.manage',
               extra=None):
        conf = os.path.join(self.tmp, 'glance.conf')
        sections = {'database': {'connection': connection or self.database,
                                 'connect_timeout': 3}}
        sections.update(extra or {})
        server.write_conf(conf, sections)
        proc = subprocess.run(
            [sys.executable, '-m', module,
             '--config-file', conf] + list(args),
            capture_output=True, text=True, timeout=120,
            cwd=server.REPO)
        return proc.returncode, proc.stdout, proc.stderr

    def assert_one_error_line(self, stderr, text):
        lines = [line for line in stderr.splitlines()
                 if not line.startswith(('WARNING', 'DEBUG', 'INFO'))]
        self.assertEqual(1, len(lines), stderr)
        self.assertTrue(lines[0].startswith('ERROR: '), stderr)
        self.assertIn(text, lines[0])

    def test_check_sync_version(self):
        code, out, _ = self.manage('db', 'check')
        self.assertEqual(3, code)
        self.assertIn('Migrations pending', out)
        self.assertEqual((0, 'None\n'), self.manage('db', 'version')[:2])
        code, _, err = self.manage('db', 'purge')
        self.assertEqual(1, code)
        self.assert_one_error_line(err, 'is not migrated')
        self.assertEqual(0, self.manage('db', 'sync')[0])
        code, out, _ = self.manage('db', 'check')
        self.assertEqual(0, code, out)
        self.assertEqual((0, migration.head() + '\n'),
                         self.manage('db', 'version')[:2])

    def test_unreachable_database(self):
        url = UNREACHABLE[self.backend]
        for command in (['check'], ['version'], ['sync'], ['purge']):
            code, _, err = self.manage('db', *command, connection=url)
            self.assertEqual(1, code, command)
            self.assert_one_error_line(err, 'Cannot use the database at')
            self.assertNotIn('secret', err)

    def test_servers_refuse_unusable_database(self):
        # Both servers share the check: one case each.
        def paste(prog):
            return {'paste_deploy': {'config_file': os.path.join(
                server.REPO, 'etc', '%s-paste.ini' % prog)}}
        code, _, err = self.manage(module='glance_v1.cmd.api',
                                   extra=paste('glance-api'),
                                   connection=UNREACHABLE[self.backend])
        self.assertEqual(1, code, err)
        self.assert_one_error_line(err, 'Cannot use the database at')
        code, _, err = self.manage(module='glance_v1.cmd.registry',
                                   extra=paste('glance-registry'))
        self.assertEqual(1, code, err)
        self.assert_one_error_line(err, 'is not migrated')

    def test_bad_purge_arguments(self):
        for args in (['--age_in_days', '-1'], ['--max_rows', '0']):
            code, _, err = self.manage('db', 'purge', *args)
            self.assertEqual(1, code, args)
            self.assert_one_error_line(err, args[0])


class PurgeTest(base.TestCase):

    def setUp(self):
        super().setUp()
        backend = db.selected_backend()
        db.check_available(backend)
        self.database = self.useFixture(db.Database(backend)).url
        self.useFixture(config_fixture.Config(CONF)).config(
            connection=self.database, group='database')
        self.addCleanup(session.dispose)
        migration.upgrade()
        self.registry = local.LocalRegistry()
        self.ctx = base.ctx()

    def count(self, model, **where):
        q = sa.select(sa.func.count()).select_from(model)
        for key, value in where.items():
            q = q.where(getattr(model, key) == value)
        with session.get_engine().connect() as conn:
            return conn.execute(q).scalar()

    def age_rows(self, days):
        then = models.utcnow() - datetime.timedelta(days=days)
        with session.get_engine().begin() as conn:
            for model in (models.ImageProperty, models.ImageMember,
                          models.ImageLocation, models.Image):
                conn.execute(sa.update(model).where(
                    model.deleted.is_(True)).values(deleted_at=then))

    def purge(self, *args):
        return ManageTest.manage(self, 'db', 'purge', *args)

    def test_purge_keeps_image_rows_and_ids(self):
        gone = self.registry.image_create(self.ctx, {
            'status': 'active', 'properties': {'a': '1', 'b': '2'},
            'location': 'file:///nowhere/x'})
        with session.get_engine().begin() as conn:
            conn.execute(sa.insert(models.ImageMember).values(
                image_id=gone['id'], member='t2', can_share=False,
                created_at=models.utcnow(), deleted=False))
        self.registry.image_destroy(self.ctx, gone['id'])
        self.age_rows(days=10)
        # Deleted a moment ago: too young to purge.
        live = self.registry.image_create(self.ctx, {
            'status': 'queued', 'properties': {'c': '3'}})
        self.registry.image_update(self.ctx, live['id'], {'properties': {}},
                                   purge_props=True)
        images = self.count(models.Image)

        code, out, err = self.purge('--age_in_days', '5', '--max_rows', '1')
        self.assertEqual(0, code, err)
        self.assertIn('image_properties: 1, image_members: 1, '
                      'image_locations: 1', out)
        self.assertEqual(2, self.count(models.ImageProperty))

        code, out, err = self.purge('--age_in_days', '5', '--max_rows',
                                    '-1')
        self.assertEqual(0, code, err)
        self.assertIn('image_properties: 1, image_members: 0, '
                      'image_locations: 0', out)
        # The young soft-deleted property stays, the images rows all stay.
        self.assertEqual(1, self.count(models.ImageProperty, deleted=True))
        self.assertEqual(images, self.count(models.Image))
        self.assertRaises(exception.Duplicate, self.registry.image_create,
                          self.ctx, {'id': gone['id'], 'status': 'queued'})

    def test_pending_delete_locations_stay_for_the_scrubber(self):
        image = self.registry.image_create(self.ctx, {
            'status': 'active', 'location': 'file:///nowhere/y'})
        self.registry.image_destroy(self.ctx, image['id'],
                                    status='pending_delete',
                                    location_status='pending_delete')
        self.age_rows(days=10)
        code, _, err = self.purge('--age_in_days', '0', '--max_rows', '-1')
        self.assertEqual(0, code, err)
        self.assertEqual(1, self.count(models.ImageLocation,
                                       status='pending_delete'))
