"""glance_v1.wsgi.Prepared: a daemon loaded during a database outage
answers 503 and serves as soon as the database is back."""

import threading

import testtools
import webob

from glance_v1.wsgi import Prepared


def ok_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


class Database:
    """A prepare() that fails while ``down``; counts its calls."""

    def __init__(self, down):
        self.down = down
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def prepare(self):
        self.calls += 1
        self.entered.set()
        self.release.wait(10)
        if self.down:
            raise RuntimeError('database unavailable')


def status(app):
    return webob.Request.blank('/v1/images').get_response(app).status_int


class TestPrepared(testtools.TestCase):

    def test_serves_as_soon_as_the_database_is_back(self):
        db = Database(down=True)
        app = Prepared(ok_app, db.prepare)
        self.assertEqual(503, status(app))
        db.down = False
        # No pause between the outage and the next request.
        self.assertEqual(200, status(app))
        self.assertEqual(200, status(app))
        self.assertEqual(3, db.calls)

    def test_each_request_of_an_outage_tries_again(self):
        db = Database(down=True)
        app = Prepared(ok_app, db.prepare)
        for _ in range(3):
            self.assertEqual(503, status(app))
        self.assertEqual(4, db.calls)

    def test_requests_waiting_on_a_try_share_its_outcome(self):
        db = Database(down=True)
        app = Prepared(ok_app, db.prepare)
        db.calls = 0
        db.entered.clear()
        db.release.clear()
        results = []
        first = threading.Thread(target=lambda: results.append(status(app)))
        first.start()
        self.assertTrue(db.entered.wait(10))
        # Arrives while the first request's try is still running.
        second = threading.Thread(target=lambda: results.append(status(app)))
        second.start()
        db.release.set()
        first.join(10)
        second.join(10)
        self.assertEqual([503, 503], results)
        self.assertEqual(1, db.calls)
