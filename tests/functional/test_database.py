"""The registry database going away and coming back: 503 with a clear
message meanwhile (never 500), normal service as soon as it returns,
nothing half-written (decisions "Real components"; issue 4)."""

import sqlalchemy as sa

from tests import db
from tests.functional import base
from tests.functional import proxy
from tests.functional import server

UNAVAILABLE = ('The image registry database is unavailable; '
               'try again later.')


class OutageMixin:

    backend = None
    server_per_test = True

    def make_server(self):
        db.check_available(self.backend)
        database = self.useFixture(db.Database(self.backend))
        url = sa.engine.make_url(database.url)
        self.proxy = proxy.TcpProxy(url.host, url.port)
        self.proxy.start()
        self.addCleanup(self.proxy.stop)
        self.database_url = database.url
        proxied = url.set(host='127.0.0.1', port=self.proxy.port)
        return server.ApiServer(
            database=proxied.render_as_string(hide_password=False),
            conf={'database': {'connect_timeout': 3, 'pool_timeout': 3}})

    def count_images(self):
        engine = sa.create_engine(self.database_url,
                                  poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(
                    'SELECT COUNT(*) FROM images')).scalar()
        finally:
            engine.dispose()

    def assert_unavailable(self, resp):
        self.assertEqual(503, resp.status, resp)
        if resp.body:
            self.assertIn(UNAVAILABLE, resp.body.decode())

    def test_503_while_down_then_back(self):
        created = self.create()
        self.assertEqual(201, created.status)
        image_id = created.json['image']['id']
        path = '/v1/images/%s' % image_id

        self.proxy.cut()
        self.assert_unavailable(self.request('GET', '/v1/images'))
        self.assert_unavailable(self.request('HEAD', path))
        self.assert_unavailable(self.request('GET', '/v1/images/detail',
                                             {'Accept': 'application/json'}))
        self.assert_unavailable(self.create(body=b'data'))
        self.assert_unavailable(self.request('DELETE', path))

        self.proxy.restore()
        # The first request after the outage already gets service: the
        # pool replaces the connections the outage broke.
        resp = self.request('GET', '/v1/images')
        self.assertEqual(200, resp.status, resp)
        self.assertEqual([image_id], [i['id'] for i in resp.json['images']])
        self.assertEqual(200, self.request('HEAD', path).status)
        self.assertEqual(1, self.count_images())
        self.assertEqual([], self.api.store_files())
        self.assertEqual(201, self.create(body=b'data').status)


class TestPostgreSQLOutage(OutageMixin, base.FunctionalTest):
    backend = 'postgresql'


class TestMySQLOutage(OutageMixin, base.FunctionalTest):
    backend = 'mysql'
