"""The caller's identity as every layer below the middleware sees it."""

from oslo_config import cfg
from oslo_context import context

context_opts = [
    cfg.BoolOpt('owner_is_tenant', default=True,
                help='Images created by a caller are owned by its project '
                     '(True) or by its user (False).'),
    cfg.StrOpt('admin_role', default='admin',
               help='Role that makes a caller an administrator.'),
    cfg.BoolOpt('allow_anonymous_access', default=False,
                help='Give unauthenticated callers a read-only context '
                     'instead of answering 401.'),
]

CONF = cfg.CONF
CONF.register_opts(context_opts)


class RequestContext(context.RequestContext):
    """oslo.context's context plus the image-service notions of owner
    and read-only access."""

    def __init__(self, owner_is_tenant=True, **kwargs):
        super().__init__(**kwargs)
        self.owner_is_tenant = owner_is_tenant

    @property
    def owner(self):
        return self.project_id if self.owner_is_tenant else self.user_id

    def to_dict(self):
        d = super().to_dict()
        d['owner_is_tenant'] = self.owner_is_tenant
        return d


def admin_context():
    """The context of the service's own tools (scrubber, cache
    prefetcher): an administrator, with the admin role so that a
    trusted-auth registry recognises it too."""
    return RequestContext(is_admin=True, roles=[CONF.admin_role],
                          overwrite=False,
                          owner_is_tenant=CONF.owner_is_tenant)
