"""The image status machine and who may change what."""

from glance_v1.common import exception

QUEUED = 'queued'
SAVING = 'saving'
ACTIVE = 'active'
KILLED = 'killed'
PENDING_DELETE = 'pending_delete'
DELETED = 'deleted'
DEACTIVATED = 'deactivated'

# Fields only an admin may change once data is in place.
ACTIVE_IMMUTABLE = ('size', 'checksum')
# Fields nobody may change to a different value.
IMMUTABLE = ('status', 'id')
# Fields the server manages; silently dropped from updates.
SERVER_MANAGED = ('created_at', 'updated_at', 'deleted_at', 'deleted',
                  'os_hash_algo', 'os_hash_value')


def check_update(ctx, image, changes):
    """403 for changes the status machine or ownership rules forbid
    (the PUT order of §1a: deleted, active-immutable, immutable)."""
    if image['status'] == DELETED:
        raise exception.Forbidden('Forbidden to update deleted image.')
    if not ctx.is_admin and image['status'] in (ACTIVE, DEACTIVATED):
        for key in ACTIVE_IMMUTABLE:
            if key in changes and changes[key] != image.get(key):
                raise exception.Forbidden(
                    "Forbidden to modify '%s' of %s image." % (
                        key, image['status']))
    for key in IMMUTABLE:
        if key in changes and changes[key] != image.get(key):
            raise exception.Forbidden(
                "Forbidden to modify '%s' of image." % key)


def check_download(image):
    if image['status'] == DEACTIVATED:
        raise exception.Forbidden('Image %s is deactivated' % image['id'])
    if image['status'] != ACTIVE:
        raise exception.NotFound('Image %s is not active' % image['id'])


def check_delete(image):
    if image['protected']:
        raise exception.Forbidden('Image is protected')
    if image['status'] == PENDING_DELETE:
        raise exception.Forbidden(
            'Forbidden to delete a pending_delete image.')
    if image['status'] == DELETED:
        # The reference's words here differ from its other 404s.
        raise exception.NotFound('Image %s not found.' % image['id'])
