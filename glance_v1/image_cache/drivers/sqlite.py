"""Cache bookkeeping in an SQLite file inside the cache directory, shared
by every process of the node (WAL, busy timeout)."""

import contextlib
import sqlite3
import time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY,
    last_accessed REAL DEFAULT 0.0,
    last_modified REAL DEFAULT 0.0,
    size INTEGER DEFAULT 0,
    hits INTEGER DEFAULT 0,
    checksum TEXT
)
"""
_COLUMNS = ('image_id', 'last_accessed', 'last_modified', 'size', 'hits',
            'checksum')
_BUSY_TIMEOUT = 30


class Driver:

    def __init__(self, db_path):
        self.db_path = db_path
        with self._connect() as conn:
            self._use_wal(conn)
            conn.execute(_SCHEMA)

    @staticmethod
    def _use_wal(conn):
        # Every worker of a node opens the file as it starts. Turning a new
        # file to WAL needs an exclusive lock, and when two connections race
        # for it SQLite answers "locked" at once instead of waiting out the
        # busy timeout; so this one step waits by itself.
        deadline = time.monotonic() + _BUSY_TIMEOUT
        while True:
            try:
                conn.execute('PRAGMA journal_mode=WAL')
                return
            except sqlite3.OperationalError as exc:
                if 'locked' not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextlib.contextmanager
    def _connect(self):
        conn = sqlite3.connect(self.db_path, timeout=_BUSY_TIMEOUT)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def record(self, image_id, size, checksum):
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                'INSERT OR REPLACE INTO cached_images (image_id, '
                'last_accessed, last_modified, size, hits, checksum) '
                'VALUES (?, ?, ?, ?, 0, ?)',
                (image_id, now, now, size, checksum))

    def hit(self, image_id):
        with self._connect() as conn:
            conn.execute('UPDATE cached_images SET hits = hits + 1, '
                         'last_accessed = ? WHERE image_id = ?',
                         (time.time(), image_id))

    def forget(self, image_id):
        with self._connect() as conn:
            conn.execute('DELETE FROM cached_images WHERE image_id = ?',
                         (image_id,))

    def entries(self):
        with self._connect() as conn:
            rows = conn.execute('SELECT %s FROM cached_images ORDER BY '
                                'image_id' % ', '.join(_COLUMNS)).fetchall()
        return [dict(zip(_COLUMNS, row)) for row in rows]
