"""glance_v1 against the original Glance 15 (issue 14): hypothesis
generates sequences of v1 requests -- creates with and without data,
updates, lists with filters, sorting and markers, member changes,
shared images, deletes, HEAD and GET -- from several tenants, roles and
an admin, and sends each to both servers. Every answer must match the
reference's after normalisation (tests/differential/harness.py), except
where tests/differential/allowed.yaml explains the difference with a
point of doc/decisions.rst.

Sequences are isolated from each other without wiping the databases:
each has its own random tenant names, tags its images with a property
``seq=<its prefix>`` and filters every list by it, or by a
``changes-since`` of one of its own moments (sequences run one after the
other).

Runs in ``tox -e differential`` (the reference comes from
tools/reference_glance.py). ``GLANCE_V1_DIFFERENTIAL_EXAMPLES`` sets the
number of sequences (default 200, derandomised: the same ones on every
run, for CI; ``GLANCE_V1_DIFFERENTIAL_RANDOM=1`` draws new ones);
``GLANCE_V1_DIFFERENTIAL_SURVEY=FILE`` does not stop at the first
unexplained difference but writes each distinct one to FILE as a JSON
line and fails at the end (for long runs from the command line);
``GLANCE_V1_DIFFERENTIAL_ALLOWED=FILE`` adds a second allow-list (to see
past differences that are known and being fixed).
"""

import datetime
import hashlib
import json
import os
import re
import tempfile
import time
from urllib.parse import quote
import uuid

from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import stateful
from hypothesis import strategies as st
import testtools

from tests.differential import harness
from tests.functional import server

EXAMPLES = int(os.environ.get('GLANCE_V1_DIFFERENTIAL_EXAMPLES', '200'))
STEPS = int(os.environ.get('GLANCE_V1_DIFFERENTIAL_STEPS', '20'))
SURVEY = os.environ.get('GLANCE_V1_DIFFERENTIAL_SURVEY')
RANDOM = os.environ.get('GLANCE_V1_DIFFERENTIAL_RANDOM') == '1' or SURVEY
# Where to write the counts of a run (tox -e differential shows them).
SUMMARY = os.environ.get('GLANCE_V1_DIFFERENTIAL_SUMMARY')
# A further allow-list file, to survey past differences known and being
# fixed; never set in CI.
EXTRA_ALLOWED = os.environ.get('GLANCE_V1_DIFFERENTIAL_ALLOWED')
DECISIONS = os.path.join(server.REPO, 'doc', 'decisions.rst')

TENANTS = ('a', 'b', 'c')
# (tenant, X-Roles): members of three projects, an admin in its own
# project, and a member of "a" whose roles name admin in capitals (the
# reference lower-cases roles).
CALLERS = (('a', 'member'), ('a', 'member'), ('b', 'member'),
           ('c', 'reader,member'), ('adm', 'admin'), ('b', 'Admin'))
NAMES = (None, 'alpha', 'alpha', 'beta', 'Beta', 'gamma delta', '')
# Valid values weigh more: most requests should get past validation.
DISK_FORMATS = (None, 'raw', 'raw', 'raw', 'raw', 'qcow2', 'iso', 'ami',
                'aki', 'bogus', '')
CONTAINER_FORMATS = (None, 'bare', 'bare', 'bare', 'bare', 'ovf', 'ami',
                     'aki', 'bogus')
BOOLS = (None,) * 6 + ('true', 'false', 'True', 'yes', '0', 'maybe')
INTS = (None,) * 8 + ('0', '512', '-1', 'abc', '2147483648')
STORES = (None,) * 10 + ('file', 'http', 'bogus')
PROP_KEYS = ('foo', 'Bar-Baz', 'kernel_id')
PROP_VALUES = ('1', 'x', 'two words', '')
SORT_KEYS = ('name', 'status', 'container_format', 'disk_format', 'size',
             'created_at', 'updated_at', 'bogus')
RANGES = ('bytes=0-9', 'bytes=5-', 'bytes=-3', 'bytes=0-0',
          'bytes=100000-', 'bytes=abc', 'bytes=3-1')


def data_blobs():
    return st.one_of(st.binary(min_size=1, max_size=64),
                     st.integers(1000, 70000).map(
                         lambda n: (hashlib.sha256(str(n).encode()).digest()
                                    * (n // 32 + 1))[:n]))


class Image:

    def __init__(self, symbol, ref_id, our_id, supplied, creator):
        self.symbol = symbol
        self.creator = creator
        self.ids = {'ref': ref_id, 'ours': our_id}
        self.supplied = supplied


class DifferentialMachine(stateful.RuleBasedStateMachine):
    """One sequence. Class attributes ``ref_port``, ``our_port``,
    ``allowed`` and ``stats`` are set by the test before a run."""

    ref_port = None
    our_port = None
    allowed = None
    stats = None

    def __init__(self):
        super().__init__()
        self.prefix = 'd%s' % uuid.uuid4().hex[:10]
        self.images = []
        self.hidden = set()
        self.checkpoints = []
        self.ids = {'ref': harness.Ids(), 'ours': harness.Ids()}
        self.dead = False
        self.stats['sequences'] += 1

    # -- helpers ---------------------------------------------------------

    def tenant(self, name):
        return '%s-%s' % (self.prefix, name)

    def identity(self, data, owner=None):
        """Identity headers of a caller; mostly ``owner``'s when given
        (other tenants mostly get 404s)."""
        tenant, roles = data.draw(st.sampled_from(CALLERS), label='caller')
        if owner and data.draw(st.sampled_from((True, True, False)),
                               label='as owner'):
            tenant, roles = owner
        self.caller = (tenant, roles)
        headers = {'X-Identity-Status': 'Confirmed', 'X-Auth-Token': 'tok',
                   'X-Tenant-Id': self.tenant(tenant),
                   'X-User-Id': self.tenant(tenant) + '-user',
                   'X-Roles': roles}
        catalog = data.draw(st.sampled_from(
            (None,) * 30 + ('[]', 'not json')), label='service catalog')
        if catalog is not None:
            headers['X-Service-Catalog'] = catalog
        accept = data.draw(st.sampled_from(
            (None, 'application/json', 'text/plain', '*/*')), label='accept')
        if accept:
            headers['Accept'] = accept
        return headers

    @staticmethod
    def owner(image):
        return image.creator if image is not None else None

    def uuid(self, data, label):
        """A uuid of this sequence: hypothesis draws the same few values
        in every sequence, which would collide with earlier ones."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, '%s/%s' % (
            self.prefix, data.draw(st.integers(0, 20), label=label))))

    def pick_image(self, data):
        """An image of the sequence (or, now and then, an id nobody
        has): ``(Image or None, {side: id})``."""
        usable = [i for i in self.images if i.symbol not in self.hidden]
        index = data.draw(st.integers(0, len(usable)), label='image')
        if index < len(usable):
            image = usable[index]
            return image, image.ids
        missing = self.uuid(data, 'missing id')
        for side in ('ref', 'ours'):
            self.ids[side].add(missing, 'missing')
        return None, {'ref': missing, 'ours': missing}

    def meta_headers(self, data, headers, *more):
        """Random x-image-meta-* headers (core fields, ``more`` of them
        and properties), always with the sequence's tag property."""
        headers['x-image-meta-property-seq'] = self.prefix
        for field, values in (('name', NAMES), ('disk_format', DISK_FORMATS),
                              ('container_format', CONTAINER_FORMATS),
                              ('is_public', BOOLS), ('protected', BOOLS),
                              ('min_disk', INTS)) + more:
            value = data.draw(st.sampled_from(values), label=field)
            if value is not None:
                headers['x-image-meta-' + field] = value
        store = data.draw(st.sampled_from(STORES), label='store')
        if store is not None:
            headers['x-image-meta-store'] = store
        for key in data.draw(st.lists(st.sampled_from(PROP_KEYS),
                                      max_size=2, unique=True),
                             label='properties'):
            headers['x-image-meta-property-' + key] = data.draw(
                st.sampled_from(PROP_VALUES), label=key)

    def exchange(self, req, ids=None):
        """Send ``req`` to both servers (``{id}`` in its path filled in
        with each one's id); the two responses. An unexplained difference
        fails the sequence."""
        if self.dead:
            return None, None
        self.stats['requests'] += 1
        before = self.now()
        responses = {}
        for side, port in (('ref', self.ref_port), ('ours', self.our_port)):
            path = req.path.format(id=(ids or {}).get(side, ''))
            responses[side] = harness.send(port, req.method, path,
                                           req.headers, req.body,
                                           req.chunked)
        outcome = '%s %d' % (req.kind, responses['ref'].status)
        self.stats['outcomes'][outcome] = \
            self.stats['outcomes'].get(outcome, 0) + 1
        if req.kind == 'create' and all(
                r.status == 201 for r in responses.values()):
            # Named before the comparison, so the answers show the name.
            symbol = 'img%d' % (len(self.images) + 1)
            image = Image(symbol, json.loads(responses['ref'].body)[
                'image']['id'], json.loads(responses['ours'].body)[
                'image']['id'], 'x-image-meta-id' in req.headers,
                req.caller)
            self.images.append(image)
            for side in ('ref', 'ours'):
                self.ids[side].add(image.ids[side], symbol)
        compared = {}
        for side in ('ref', 'ours'):
            hidden = {'<%s>' % s for s in self.hidden}
            compared[side] = harness.fields(responses[side], req,
                                            self.ids[side], self.prefix,
                                            hidden)
        if req.kind == 'create' and all(
                r.status >= 400 for r in responses.values()):
            self.left_behind(before, compared)
        diffs = harness.differences(compared['ref'], compared['ours'])
        unexplained = {}
        for field, (a, b) in diffs.items():
            entry = self.allowed.explain(req, field, a, b,
                                         compared['ours'])
            if entry is None:
                unexplained[field] = (a, b)
                continue
            self.stats['allowed'][entry['id']] = \
                self.stats['allowed'].get(entry['id'], 0) + 1
            if entry.get('pending'):
                # Known and not fixed yet: what follows may differ
                # because of it.
                self.dead = True
        if unexplained:
            self.report(req, responses, unexplained)
        return responses['ref'], responses['ours']

    def left_behind(self, before, compared):
        """The records a refused create left on each server (the
        reference reserved one before some of its checks), as fields
        ``left.*`` of the exchange. A record only the reference left is
        kept out of later comparisons."""
        path = ('/v1/images/detail?is_public=none&property-seq=%s&'
                'changes-since=%s' % (self.prefix, before))
        headers = {'X-Identity-Status': 'Confirmed', 'X-Auth-Token': 'tok',
                   'X-Tenant-Id': self.tenant('adm'),
                   'X-User-Id': self.tenant('adm') + '-user',
                   'X-Roles': 'admin', 'Accept': 'application/json'}
        left = {}
        for side, port in (('ref', self.ref_port), ('ours', self.our_port)):
            resp = harness.send(port, 'GET', path, headers)
            left[side] = [i for i in json.loads(resp.body)['images']
                          if i['id'].lower() not in self.ids[side].names]
            compared[side]['left.records'] = len(left[side])
            compared[side]['left.status'] = ','.join(
                sorted(i['status'] for i in left[side]))
        for n, image in enumerate(left['ref']):
            symbol = 'left%d-%d' % (len(self.images), n)
            self.ids['ref'].add(image['id'], symbol)
            if n < len(left['ours']):
                self.ids['ours'].add(left['ours'][n]['id'], symbol)
            else:
                self.hidden.add(symbol)

    @staticmethod
    def now():
        return datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%S.%f')

    def report(self, req, responses, unexplained):
        text = harness.side_by_side(req, responses['ref'],
                                    responses['ours'], unexplained)
        if not SURVEY:
            raise AssertionError('glance_v1 differs from the reference:\n'
                                 + text)
        key = json.dumps([req.kind, req.method, sorted(req.tags),
                          sorted((f, str(a), str(b)) for f, (a, b) in
                                 unexplained.items())])
        if key not in self.stats['survey']:
            self.stats['survey'][key] = text
            with open(SURVEY, 'a') as f:
                f.write(json.dumps({'key': key, 'text': text}) + '\n')
        # The servers' states may now differ: the rest of this sequence
        # would only repeat the difference.
        self.dead = True

    def checkpoint(self):
        """A time between two requests, for changes-since."""
        self.checkpoints.append(self.now())

    # -- rules -----------------------------------------------------------

    @stateful.initialize(data=st.data())
    def start(self, data):
        """Valid images to work on from the first step: most random
        creates are refused."""
        self.checkpoint()
        for _ in range(data.draw(st.integers(1, 3), label='images')):
            self.create_valid(data)

    @stateful.rule(data=st.data())
    def create_valid(self, data):
        """An image that will be created, with or without data."""
        headers = self.identity(data)
        headers.update({'x-image-meta-property-seq': self.prefix,
                        'x-image-meta-disk_format': 'raw',
                        'x-image-meta-container_format': 'bare',
                        'x-image-meta-name': data.draw(
                            st.sampled_from(NAMES[1:]), label='name')})
        if 'admin' in headers['X-Roles'].lower() and data.draw(
                st.booleans(), label='public'):
            headers['x-image-meta-is_public'] = 'true'
        body, tags = None, {'valid'}
        if data.draw(st.booleans(), label='with data'):
            body = data.draw(data_blobs(), label='bytes')
            headers['Content-Type'] = 'application/octet-stream'
            tags.add('data-length')
        req = harness.Request('create', 'POST', '/v1/images', headers, body,
                              tags=tags)
        req.caller = self.caller
        self.exchange(req)
        self.checkpoint()

    @stateful.rule(data=st.data())
    def create(self, data):
        headers = self.identity(data)
        draw = data.draw
        self.meta_headers(data, headers, ('min_ram', INTS))
        if draw(st.booleans(), label='owner header'):
            headers['x-image-meta-owner'] = self.tenant(
                draw(st.sampled_from(TENANTS), label='owner'))
        if draw(st.booleans(), label='supply id'):
            headers['x-image-meta-id'] = draw(st.sampled_from(
                ('uuid',) * 8 + ('not-a-uuid',)), label='id kind')
            if headers['x-image-meta-id'] == 'uuid':
                headers['x-image-meta-id'] = self.uuid(data, 'id')
        mode = draw(st.sampled_from(('none', 'none', 'length', 'length',
                                     'chunked', 'json')), label='data')
        body, chunked, tags = None, False, {'data-' + mode}
        if mode in ('length', 'chunked'):
            body = draw(data_blobs(), label='bytes')
            chunked = mode == 'chunked'
            ctype = draw(st.sampled_from(
                ('application/octet-stream',) * 4 + (None, 'text/plain')),
                label='content type')
            if ctype:
                headers['Content-Type'] = ctype
            size = draw(st.sampled_from((None, 'right', 'wrong')),
                        label='size header')
            if size:
                headers['x-image-meta-size'] = str(
                    len(body) + (0 if size == 'right' else 1))
            checksum = draw(st.sampled_from((None, 'right', 'wrong')),
                            label='checksum header')
            if checksum:
                headers['x-image-meta-checksum'] = hashlib.md5(
                    body if checksum == 'right' else b'other').hexdigest()
        elif mode == 'json':
            body = json.dumps({'image': {'name': 'from json'}}).encode()
            headers['Content-Type'] = 'application/json'
        elif draw(st.booleans(), label='size 0'):
            headers['x-image-meta-size'] = '0'
        req = harness.Request('create', 'POST', '/v1/images', headers, body,
                              chunked, tags)
        req.caller = self.caller
        self.exchange(req)
        self.checkpoint()

    @stateful.rule(data=st.data())
    def update(self, data):
        image, ids = self.pick_image(data)
        headers = self.identity(data, self.owner(image))
        draw = data.draw
        self.meta_headers(data, headers,
                          ('status', (None,) * 6 + ('active', 'queued')),
                          ('size', (None,) * 6 + ('0', '5')))
        purge = draw(st.sampled_from((None, 'true', 'false')), label='purge')
        tags = {'purge-%s' % purge}
        if purge is not None:
            headers['x-glance-registry-purge-props'] = purge
        body, chunked = None, False
        mode = draw(st.sampled_from(('none', 'none', 'none', 'length',
                                     'chunked')), label='data')
        if mode != 'none':
            body = draw(data_blobs(), label='bytes')
            chunked = mode == 'chunked'
            headers['Content-Type'] = 'application/octet-stream'
            tags.add('data-' + mode)
        req = harness.Request('update', 'PUT', '/v1/images/{id}', headers,
                              body, chunked, tags)
        self.exchange(req, ids)
        self.checkpoint()

    @stateful.rule(data=st.data())
    def listing(self, data):
        draw = data.draw
        headers = self.identity(data)
        detail = draw(st.booleans(), label='detail')
        query = [('property-seq', self.prefix)]
        tags = set()
        filters = {
            'name': st.sampled_from(NAMES[1:] + ('foo:bar',)),
            'status': st.sampled_from(('active', 'queued', 'killed',
                                       'in:active,queued')),
            'disk_format': st.sampled_from(('raw', 'qcow2', 'bogus')),
            'container_format': st.sampled_from(('bare', 'ovf')),
            'size_min': st.sampled_from(('0', '10', '-1', 'x')),
            'size_max': st.sampled_from(('0', '100', '99999', 'x')),
            'is_public': st.sampled_from(('none', 'true', 'false', 'bogus')),
            'protected': st.sampled_from(('true', 'false', 'bogus')),
            'min_ram': st.sampled_from(('0', '512', '-1')),
            'property-foo': st.sampled_from(PROP_VALUES),
            'changes-since': st.sampled_from(('checkpoint', 'bogus')),
        }
        for key in draw(st.lists(st.sampled_from(sorted(filters)),
                                 max_size=2, unique=True), label='filters'):
            value = draw(filters[key], label=key)
            if key == 'changes-since' and value == 'checkpoint':
                if not self.checkpoints:
                    continue
                value = draw(st.sampled_from(self.checkpoints),
                             label='checkpoint')
                if draw(st.booleans(), label='without seq filter'):
                    # Sequences run one after the other: what changed
                    # since one of this sequence's moments is its own.
                    # Deleted images show up only without the filter.
                    query.remove(('property-seq', self.prefix))
                    tags.add('no-seq-filter')
            query.append((key, value))
            tags.add('filter-' + key)
        sort_keys = SORT_KEYS
        if all(i.supplied for i in self.images):
            # Server-made ids differ between the servers and so would
            # their order.
            sort_keys += ('id',)
        if draw(st.booleans(), label='sort'):
            query.append(('sort_key', draw(st.sampled_from(sort_keys),
                                           label='sort_key')))
        if draw(st.booleans(), label='sort dir'):
            query.append(('sort_dir', draw(st.sampled_from(
                ('asc', 'desc', 'up')), label='sort_dir')))
        if draw(st.booleans(), label='limit'):
            query.append(('limit', draw(st.sampled_from(
                ('0', '1', '2', '3', '-1', 'x')), label='limit')))
        marker_ids = None
        if draw(st.booleans(), label='marker'):
            _image, marker_ids = self.pick_image(data)
            query.append(('marker', '{id}'))
            tags.add('marker')
        qs = '&'.join('%s=%s' % (k, v if v == '{id}' else quote(v, safe=''))
                      for k, v in query)
        path = '/v1/images%s?%s' % ('/detail' if detail else '', qs)
        self.exchange(harness.Request('detail' if detail else 'list', 'GET',
                                      path, headers, tags=tags), marker_ids)

    @stateful.rule(data=st.data())
    def head_or_get(self, data):
        image, ids = self.pick_image(data)
        headers = self.identity(data, self.owner(image))
        method = data.draw(st.sampled_from(('HEAD', 'GET', 'GET')),
                           label='method')
        tags = set()
        if method == 'GET':
            rng = data.draw(st.sampled_from((None,) * 5 + RANGES),
                            label='range')
            if rng:
                headers['Range'] = rng
                tags.add('range')
        self.exchange(harness.Request(method.lower(), method,
                                      '/v1/images/{id}', headers, tags=tags),
                      ids)

    @stateful.rule(data=st.data())
    def delete(self, data):
        image, ids = self.pick_image(data)
        self.exchange(harness.Request(
            'delete', 'DELETE', '/v1/images/{id}',
            self.identity(data, self.owner(image))), ids)
        self.checkpoint()

    @stateful.rule(data=st.data())
    def members_list(self, data):
        image, ids = self.pick_image(data)
        self.exchange(harness.Request(
            'members-list', 'GET', '/v1/images/{id}/members',
            self.identity(data, self.owner(image))), ids)

    @stateful.rule(data=st.data())
    def member_add(self, data):
        image, ids = self.pick_image(data)
        headers = self.identity(data, self.owner(image))
        member = self.tenant(data.draw(st.sampled_from(TENANTS + ('z',)),
                                       label='member'))
        body_kind = data.draw(st.sampled_from(
            ('none', 'none', 'true', 'false', 'string-false', 'empty',
             'bad-json')), label='body')
        body, tags = None, {'body-' + body_kind}
        if body_kind in ('true', 'false'):
            body = {'member': {'can_share': body_kind == 'true'}}
        elif body_kind == 'string-false':
            body = {'member': {'can_share': 'false'}}
            # The reference stores true (decisions "differ" 2): what the
            # image's members can do differs from here on.
            self.hidden.add(image.symbol) if image else None
        elif body_kind == 'empty':
            body = {'member': {}}
        if body is not None:
            body = json.dumps(body).encode()
        elif body_kind == 'bad-json':
            body = b'{"member": '
        if body is not None:
            headers['Content-Type'] = 'application/json'
        self.exchange(harness.Request(
            'member-add', 'PUT', '/v1/images/{id}/members/' + member,
            headers, body, tags=tags), ids)

    @stateful.rule(data=st.data())
    def member_remove_or_get(self, data):
        image, ids = self.pick_image(data)
        member = self.tenant(data.draw(st.sampled_from(TENANTS),
                                       label='member'))
        kind, method = data.draw(st.sampled_from((
            ('member-remove', 'DELETE'), ('member-get', 'GET'))),
            label='request')
        self.exchange(harness.Request(
            kind, method, '/v1/images/{id}/members/' + member,
            self.identity(data, self.owner(image))), ids)

    @stateful.rule(data=st.data())
    def members_replace(self, data):
        image, ids = self.pick_image(data)
        headers = self.identity(data, self.owner(image))
        headers['Content-Type'] = 'application/json'
        entries = []
        for tenant in data.draw(st.lists(st.sampled_from(TENANTS),
                                         max_size=3, unique=True),
                                label='members'):
            entry = {'member_id': self.tenant(tenant)}
            share = data.draw(st.sampled_from((None, True, False)),
                              label='can_share')
            if share is not None:
                entry['can_share'] = share
            entries.append(entry)
        body = json.dumps({'memberships': entries}).encode()
        self.exchange(harness.Request('members-replace', 'PUT',
                                      '/v1/images/{id}/members', headers,
                                      body), ids)

    @stateful.rule(data=st.data())
    def shared_images(self, data):
        member = self.tenant(data.draw(st.sampled_from(TENANTS),
                                       label='member'))
        self.exchange(harness.Request(
            'shared-images', 'GET', '/v1/shared-images/' + member,
            self.identity(data)))

    @stateful.rule(data=st.data())
    def other_verb(self, data):
        method, path = data.draw(st.sampled_from((
            ('DELETE', '/v1/images/detail'), ('PUT', '/v1/images/detail'),
            ('HEAD', '/v1/images/detail'), ('POST', '/v1/images/{id}'),
            ('PUT', '/v1/images'), ('POST', '/v1/images/{id}/members'))),
            label='verb')
        image, ids = None, None
        if '{id}' in path:
            image, ids = self.pick_image(data)
        self.exchange(harness.Request('other-verb', method, path,
                                      self.identity(data, self.owner(image))),
                      ids)


def _sections(path):
    """Section titles and definition-list terms of a reST file."""
    with open(path) as f:
        lines = f.read().splitlines()
    found = set()
    for i, line in enumerate(lines[:-1]):
        underline = lines[i + 1]
        if line.strip() and re.fullmatch(r'([=\-~^"])\1+', underline) and \
                len(underline) >= len(line.strip()):
            found.add(line.strip().replace('``', ''))
        elif line.strip() and not line.startswith(' ') and \
                underline.startswith('   ') and underline.strip():
            found.add(line.strip().replace('``', ''))
    return found


class AllowListTest(testtools.TestCase):
    """allowed.yaml is well-formed and each entry cites a point of
    doc/decisions.rst that exists."""

    def test_every_entry_cites_a_decision(self):
        points = _sections(DECISIONS)
        entries = harness.AllowList().entries
        self.assertTrue(entries)
        seen = set()
        for entry in entries:
            self.assertNotIn(entry['id'], seen)
            seen.add(entry['id'])
            for key in ('id', 'kind', 'fields', 'decision'):
                self.assertIn(key, entry, entry.get('id'))
            self.assertIn(entry['decision'], points,
                          'allowed.yaml %s cites a point that '
                          'doc/decisions.rst does not have' % entry['id'])


    def test_when_ours_limits_an_entry_to_our_refusal(self):
        with tempfile.NamedTemporaryFile('w', suffix='.yaml') as f:
            f.write('allowed:\n'
                    '- id: x\n'
                    '  kind: update\n'
                    '  when_ours: {error.message: {re: "too big.*"}}\n'
                    '  fields: status\n'
                    '  decision: d\n')
            f.flush()
            allowed = harness.AllowList([f.name])
        req = harness.Request('update', 'PUT', '/v1/images/x', {}, b'')
        refused = {'status': 400, 'error.message': 'too big: 2**31'}
        other = {'status': 400, 'error.message': 'Invalid disk format'}
        self.assertEqual('x', allowed.explain(req, 'status', 404, 400,
                                              refused)['id'])
        self.assertIsNone(allowed.explain(req, 'status', 404, 400, other))


class DifferentialTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reference = None

    def setUp(self):
        super().setUp()
        self.reference = harness.reference_settings()
        # The sequences upload random bytes under any disk_format: content
        # inspection would refuse most of them (decisions "Image content",
        # tested on real images by test_image_formats), and the reference
        # has none; what is compared here is the API around the data.
        self.api = self.useFixture(server.ApiServer(
            flavor='trusted-auth',
            conf={'image_format': {'require_image_format_match': 'false'}}))

    def test_sequences(self):
        stats = {'sequences': 0, 'requests': 0, 'allowed': {},
                 'survey': {}, 'outcomes': {}}
        DifferentialMachine.ref_port = \
            self.reference['ports']['glance-api']
        DifferentialMachine.our_port = self.api.port
        allowed = harness.AllowList()
        if EXTRA_ALLOWED:
            extra = harness.AllowList([EXTRA_ALLOWED])
            for entry in extra.entries:
                entry['pending'] = True
            allowed.entries += extra.entries
        DifferentialMachine.allowed = allowed
        DifferentialMachine.stats = stats
        started = time.monotonic()
        try:
            stateful.run_state_machine_as_test(
                DifferentialMachine, settings=settings(
                    max_examples=EXAMPLES, stateful_step_count=STEPS,
                    derandomize=not RANDOM, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck)))
        finally:
            summary = ('%d sequences, %d requests to each server in %.0fs; '
                       'allowed differences seen: %s; the reference\'s '
                       'answers: %s'
                       % (stats['sequences'], stats['requests'],
                          time.monotonic() - started,
                          json.dumps(stats['allowed'], sort_keys=True),
                          json.dumps(stats['outcomes'], sort_keys=True)))
            self.addDetail('summary', testtools.content.text_content(
                summary))
            if SUMMARY:
                with open(SUMMARY, 'a') as f:
                    f.write(summary + '\n')
        if stats['survey']:
            self.fail('%d distinct unexplained differences (in %s):\n\n%s'
                      % (len(stats['survey']), SURVEY,
                         '\n\n'.join(stats['survey'].values())))
