"""Image sharing (glance-v1-reference §6), in the reference's order of
checks: identity, policy, image visible and not deleted, member quota,
then the registry, which decides who may share."""

from glance_v1.common import exception
from glance_v1.common import policy
from glance_v1.image import quota
from glance_v1.registry import api as registry_api

MAX_MEMBER_ID = 255


def parse_can_share(value):
    """``can_share`` as a boolean: JSON true/false or the strings
    "true"/"false" (decisions "differ" 2); anything else is 400."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ('true',
                                                            'false'):
        return value.strip().lower() == 'true'
    raise exception.Invalid('Invalid value for can_share: %r; expected '
                            'true or false' % (value,))


def _member_id(value, entry):
    if not isinstance(value, str) or not value or \
            len(value) > MAX_MEMBER_ID:
        raise exception.Invalid('Invalid membership association: %s'
                                % (entry,))
    return value


def parse_memberships(body):
    """``{"memberships": [{"member_id": .., "can_share": ..}]}`` as an
    ordered dict member -> can_share (None when not given)."""
    entries = body.get('memberships') if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise exception.Invalid('Invalid membership association: %s'
                                % (body,))
    memberships = {}
    for entry in entries:
        if not isinstance(entry, dict) or 'member_id' not in entry:
            raise exception.Invalid('Invalid membership association: %s'
                                    % (entry,))
        member = _member_id(entry['member_id'], entry)
        can_share = entry.get('can_share')
        memberships[member] = (None if can_share is None
                               else parse_can_share(can_share))
    return memberships


def parse_member(body, member):
    """can_share of an optional ``{"member": {"can_share": ..}}`` body;
    None when not given (no body, ``{}``, ``{"member": {}}`` as
    tempest-lib sends, or a null value): a new member then cannot share
    and an existing one keeps its flag, as in the reference. Other keys
    are ignored, as there."""
    _member_id(member, member)
    if body is None:
        return None
    entry = body.get('member', {}) if isinstance(body, dict) else None
    if not isinstance(entry, dict):
        raise exception.Invalid('Invalid membership association: %s'
                                % (body,))
    can_share = entry.get('can_share')
    return None if can_share is None else parse_can_share(can_share)


def _check_identified(ctx):
    if ctx.owner is None and not ctx.is_admin:
        raise exception.NotAuthenticated('No authenticated user')


class _NotSharableIsNotFound:
    """The reference answers 404, not 403, to a caller who may see the
    image but not share it."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type,
                                               exception.Forbidden):
            raise exception.NotFound(str(exc)) from exc
        return False


class MemberService:

    def __init__(self, registry=None):
        self.registry = registry or registry_api.get_registry()

    def _live_image(self, ctx, image_id):
        image = self.registry.image_get(ctx, image_id)
        if image['deleted']:
            raise exception.NotFound(
                'Image with identifier %s has been deleted.' % image_id)
        return image

    def list(self, ctx, image_id):
        policy.enforce(ctx, 'get_members')
        self._live_image(ctx, image_id)
        return self.registry.image_members(ctx, image_id)

    def get(self, ctx, image_id, member):
        policy.enforce(ctx, 'get_members')
        self._live_image(ctx, image_id)
        return self.registry.image_member_get(ctx, image_id, member)

    def replace(self, ctx, image_id, body):
        _check_identified(ctx)
        policy.enforce(ctx, 'modify_member')
        self._live_image(ctx, image_id)
        memberships = parse_memberships(body)
        quota.check_members(len(memberships))
        with _NotSharableIsNotFound():
            self.registry.image_members_replace(ctx, image_id, memberships)

    def add(self, ctx, image_id, member, body=None):
        _check_identified(ctx)
        policy.enforce(ctx, 'modify_member')
        self._live_image(ctx, image_id)
        # Counted as the reference does: an existing member counts twice.
        quota.check_members(
            self.registry.image_member_count(ctx, image_id) + 1)
        can_share = parse_member(body, member)
        with _NotSharableIsNotFound():
            self.registry.image_member_add(ctx, image_id, member, can_share)

    def delete(self, ctx, image_id, member):
        _check_identified(ctx)
        policy.enforce(ctx, 'delete_member')
        self._live_image(ctx, image_id)
        with _NotSharableIsNotFound():
            self.registry.image_member_delete(ctx, image_id, member)

    def shared_images(self, ctx, member):
        # No policy check: the reference has none here.
        return self.registry.shared_images(ctx, member)
