"""Hard deletion of old soft-deleted rows (``glance-manage db purge``).

Rows of ``images`` are never purged, deleted or not: a purged image row
would let a caller create a new image under the old id, and whoever
trusted that id would get other bytes (OSSN-0075; decisions "differ" 4).
"""

import datetime

import sqlalchemy as sa

from glance_v1.registry.db import models

# Children of images, in the order they are purged. A location is purged
# only once its data is gone (status "deleted"); one still waiting for the
# scrubber (pending_delete) stays.
PURGEABLE = (
    (models.ImageProperty, None),
    (models.ImageMember, None),
    (models.ImageLocation, 'deleted'),
)


def purge(engine, age_in_days, max_rows):
    """Delete up to ``max_rows`` rows per table (all when None) that were
    soft-deleted more than ``age_in_days`` days ago; return
    ``{table: rows deleted}``."""
    cutoff = models.utcnow() - datetime.timedelta(days=age_in_days)
    counts = {}
    for model, status in PURGEABLE:
        query = sa.select(model.id).where(model.deleted == sa.true(),
                                          model.deleted_at < cutoff)
        if status is not None:
            query = query.where(model.status == status)
        query = query.order_by(model.id)
        if max_rows is not None:
            query = query.limit(max_rows)
        with engine.begin() as conn:
            ids = list(conn.execute(query).scalars())
            # Batches keep the statement small on every backend.
            for start in range(0, len(ids), 500):
                conn.execute(sa.delete(model).where(
                    model.id.in_(ids[start:start + 500])))
        counts[model.__tablename__] = len(ids)
    return counts
