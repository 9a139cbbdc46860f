"""One exception hierarchy for the whole service.

Every exception carries the HTTP status it maps to, so the API translates
them in one place (``glance_v1.api.v1.faults``) and no layer below the API
needs to know about HTTP.
"""


class GlanceException(Exception):
    code = 500
    message = 'An unknown exception occurred.'

    def __init__(self, message=None, **kwargs):
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        self.msg = message
        super().__init__(message)

    def __str__(self):
        return self.msg


class Invalid(GlanceException):
    code = 400
    message = 'Data supplied was not valid.'


class BadHeader(Invalid):
    message = 'Bad header: %(header)s'


class NotAuthenticated(GlanceException):
    code = 401
    message = 'You are not authenticated.'


class Forbidden(GlanceException):
    code = 403
    message = 'You are not authorized to complete this action.'


class PolicyForbidden(Forbidden):
    message = 'You are not authorized to complete %(action)s action.'


class NotFound(GlanceException):
    code = 404
    message = 'An object with the specified identifier was not found.'


class ImageNotFound(NotFound):
    message = 'Image with identifier %(image_id)s not found'


class Conflict(GlanceException):
    code = 409
    message = 'The request conflicts with the current state of the image.'


class Duplicate(Conflict):
    message = 'An object with the same identifier already exists.'


class StateConflict(Conflict):
    """A registry update whose ``from_state`` guard did not hold."""
    message = 'Image operation conflicts'


class Gone(GlanceException):
    code = 410
    message = 'The requested resource is no longer available.'


class PreconditionFailed(GlanceException):
    code = 412
    message = 'A precondition of the request was not met.'


class LengthRequired(GlanceException):
    code = 411
    message = ('This server cannot read a chunked request body; send '
               'Content-Length instead.')


class LimitExceeded(GlanceException):
    code = 413
    message = 'The request returned a 413 Request Entity Too Large.'


class StorageFull(LimitExceeded):
    message = 'Image storage media is full: %(reason)s'


class RangeNotSatisfiable(GlanceException):
    code = 416
    message = 'Requested range not satisfiable.'


class ClientDisconnected(Invalid):
    message = 'Client disconnected before sending all data to backend'


class ServiceUnavailable(GlanceException):
    code = 503
    message = 'The service is unavailable.'


class StorageWriteDenied(ServiceUnavailable):
    message = 'Permission to write image storage media denied.'


class StoreUnavailable(ServiceUnavailable):
    """A store's backend cannot be reached or refuses glance; the message
    never carries credentials."""
    message = 'The image store is unavailable: %(reason)s'


class StoreError(GlanceException):
    """Base of failures raised by store drivers."""


class UnknownScheme(Invalid):
    message = 'Unknown scheme %(scheme)s found in URI'


class StoreAddDisabled(Gone):
    message = ('Error in store configuration. Adding images to store is '
               'disabled.')


class DataCorrupted(GlanceException):
    """Stored bytes disagree with the recorded size or checksum."""
    message = 'Corrupt image data for %(image_id)s'


class DataDeleted(GlanceException):
    """The image was deleted while its bytes were being sent."""
    message = 'Image %(image_id)s was deleted during its download'


class DatabaseUnavailable(ServiceUnavailable):
    message = ('The image registry database is unavailable; '
               'try again later.')
