"""glance-replicator: copy images between two servers speaking the v1 API
(glance-v1-reference §12), e.g. from a legacy Glance into glance_v1, with
ids, metadata, members and checksums preserved.

    glance-replicator size <server>
    glance-replicator dump <server> <directory>
    glance-replicator load <directory> <server>
    glance-replicator livecopy <source> <target>
    glance-replicator compare <source> <target>

A server is ``host:port`` or a URL (``https://host:port/prefix``). The
caller should be an administrator on both sides (``--sourcetoken``,
``--targettoken`` or ``--token`` for keystone flavors), so that private
images are seen and ids and owners can be set. Only ``active`` images are
copied; an image already on the target only has its metadata brought in
line. Exit status: 0, or 1 when ``compare`` found differences or a copy
failed.
"""

import argparse
import http.client
import json
import logging
import os
import sys
import urllib.parse

LOG = logging.getLogger('glance-replicator')

# Metadata that each server keeps for itself, not copied nor compared.
DONT_REPLICATE = 'created_at date deleted_at location updated_at'
META = 'x-image-meta-'
PROPERTY = 'x-image-meta-property-'
# Never sent: the target computes them from the data it receives.
SERVER_SIDE = ('status', 'deleted', 'os_hash_algo', 'os_hash_value',
               'virtual_size')
PAGE = 100


class ReplicationError(Exception):
    pass


class Server:
    """A v1 API endpoint."""

    def __init__(self, address, token=None, chunk_size=65536, timeout=600,
                 headers=()):
        if '://' not in address:
            address = 'http://' + address
        url = urllib.parse.urlsplit(address)
        self.https = url.scheme == 'https'
        self.host = url.hostname
        self.port = url.port or (443 if self.https else 80)
        self.prefix = url.path.rstrip('/')
        self.token = token
        self.headers = dict(headers)
        self.chunk_size = chunk_size
        self.timeout = timeout
        self.members_api = None

    def __str__(self):
        return '%s:%d%s' % (self.host, self.port, self.prefix)

    def _connection(self):
        cls = (http.client.HTTPSConnection if self.https
               else http.client.HTTPConnection)
        return cls(self.host, self.port, timeout=self.timeout,
                   blocksize=self.chunk_size)

    def request(self, method, path, headers=None, body=None,
                expect=(200,)):
        """The response (body unread) of ``method path``; raises
        ReplicationError on a status outside ``expect``."""
        headers = dict(self.headers, **(headers or {}))
        if self.token:
            headers['X-Auth-Token'] = self.token
        conn = self._connection()
        conn.request(method, self.prefix + path, body=body, headers=headers)
        resp = conn.getresponse()
        if resp.status not in expect:
            text = resp.read(2000).decode('utf-8', 'replace').strip()
            conn.close()
            raise ReplicationError('%s %s on %s: %d %s' % (
                method, path, self, resp.status, text))
        return resp

    def json(self, method, path, body=None, expect=(200,)):
        headers = {}
        if body is not None:
            body = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        resp = self.request(method, path, headers, body, expect)
        data = resp.read()
        return resp.status, (json.loads(data) if data else None)

    def images(self):
        """Every image the caller sees, public or not, page by page."""
        marker = None
        while True:
            query = {'is_public': 'None', 'limit': PAGE,
                     'sort_key': 'id', 'sort_dir': 'asc'}
            if marker:
                query['marker'] = marker
            _, body = self.json('GET', '/v1/images/detail?'
                                + urllib.parse.urlencode(query))
            yield from body['images']
            if len(body['images']) < PAGE:
                return
            marker = body['images'][-1]['id']

    def images_by_id(self):
        return {image['id']: image for image in self.images()}

    def members(self, image_id):
        """[{member_id, can_share}] or None when the server has no
        members API."""
        if self.members_api is False:
            return None
        resp = self.request('GET', '/v1/images/%s/members' % image_id,
                            headers={'Accept': 'application/json'},
                            expect=(200, 404, 405))
        data = resp.read()
        body = json.loads(data) if resp.status == 200 else {}
        if 'members' not in body:
            # 405 (the reference's route without the action) or 404 on
            # every image: this server has no members API.
            if resp.status == 405 or self.members_api is None:
                self.members_api = False
            return None
        self.members_api = True
        return sorted(({'member_id': m['member_id'],
                        'can_share': bool(m.get('can_share'))}
                       for m in body['members']),
                      key=lambda m: m['member_id'])

    def set_members(self, image_id, members):
        self.json('PUT', '/v1/images/%s/members' % image_id,
                  {'memberships': members}, expect=(200, 204))


def _header_value(value):
    return str(value).encode('utf-8')


def meta_headers(image, dont_replicate):
    """x-image-meta-* headers that recreate ``image`` elsewhere."""
    headers = {}
    for key, value in image.items():
        if key in dont_replicate or key in SERVER_SIDE or value is None \
                or key == 'properties':
            continue
        headers[META + key] = _header_value(value)
    for key, value in (image.get('properties') or {}).items():
        if key not in dont_replicate and value is not None:
            headers[PROPERTY + key] = _header_value(value)
    return headers


def differences(source, target, dont_replicate):
    """Keys whose values differ, as ``(key, source value, target value)``."""
    keys = (set(source) | set(target)) - set(dont_replicate) - set(
        SERVER_SIDE) - {'properties'}
    found = [(k, source.get(k), target.get(k)) for k in sorted(keys)
             if source.get(k) != target.get(k)]
    sprops = {k: v for k, v in (source.get('properties') or {}).items()
              if k not in dont_replicate}
    tprops = {k: v for k, v in (target.get('properties') or {}).items()
              if k not in dont_replicate}
    found += [('property-' + k, sprops.get(k), tprops.get(k))
              for k in sorted(set(sprops) | set(tprops))
              if sprops.get(k) != tprops.get(k)]
    return found


class Replicator:

    def __init__(self, args):
        self.args = args
        self.dont = set(args.dontreplicate.split())
        self.failures = 0

    # -- helpers --------------------------------------------------------

    def _create(self, target, image, body, size):
        headers = meta_headers(image, self.dont)
        headers['Content-Type'] = 'application/octet-stream'
        if body is not None:
            headers['Content-Length'] = str(size)
        elif image.get('size'):
            # Metadata only: a queued image with the same id (an empty
            # image keeps size 0 and so is active at once).
            headers.pop(META + 'size', None)
            headers.pop(META + 'checksum', None)
        resp = target.request('POST', '/v1/images', headers, body,
                              expect=(201,))
        resp.read()

    def _update(self, target, image, current):
        changed = differences(image, current, self.dont)
        if not changed:
            return False
        headers = meta_headers(image, self.dont)
        for key in ('id', 'size', 'checksum'):
            headers.pop(META + key, None)
        headers['x-glance-registry-purge-props'] = 'true'
        target.request('PUT', '/v1/images/%s' % image['id'], headers,
                       expect=(200,)).read()
        LOG.info('Updated metadata of %s: %s', image['id'],
                 ', '.join(k for k, _, _ in changed))
        return True

    def _copy_members(self, source, target, image_id):
        members = source.members(image_id)
        if members is None:
            return
        if target.members(image_id) != members:
            if target.members_api:
                target.set_members(image_id, members)
                LOG.info('Copied %d members of %s', len(members), image_id)
            elif members:
                LOG.warning('Target %s has no members API: members of %s '
                            'not copied', target, image_id)

    def _replicate(self, source_image, target, current, data):
        """Bring one image onto ``target`` (where it is ``current`` or
        None); ``data()`` opens its bytes as (stream, size)."""
        image_id = source_image['id']
        if current is not None:
            self._update(target, source_image, current)
            return
        if self.args.metaonly or not source_image.get('size'):
            self._create(target, source_image, None, 0)
        else:
            stream, size = data()
            try:
                self._create(target, source_image, stream, size)
            finally:
                stream.close()
        LOG.info('Copied %s (%s, %s bytes)', image_id,
                 source_image.get('name'), source_image.get('size'))

    def _each_active(self, images):
        for image in images:
            if image.get('status') != 'active':
                LOG.debug('Skipping %s: %s', image['id'], image['status'])
                continue
            yield image

    def _guarded(self, image_id, action):
        try:
            action()
        except (ReplicationError, OSError) as e:
            self.failures += 1
            LOG.error('Image %s: %s', image_id, e)

    # -- commands -------------------------------------------------------

    def size(self, server):
        images = list(self._each_active(server.images()))
        total = sum(i.get('size') or 0 for i in images)
        print('Total size is %d bytes (%s) across %d images'
              % (total, _human(total), len(images)))

    def dump(self, server, directory):
        os.makedirs(directory, exist_ok=True)
        for image in self._each_active(server.images()):
            def action(image=image):
                self._dump_one(server, image, directory)
            self._guarded(image['id'], action)

    def _dump_one(self, server, image, directory):
        image_id = image['id']
        record = dict(image, members=server.members(image_id))
        path = os.path.join(directory, image_id)
        if image.get('size') and not self.args.metaonly:
            resp = server.request('GET', '/v1/images/%s' % image_id)
            partial = path + '.img.part'
            with open(partial, 'wb') as f:
                while True:
                    chunk = resp.read(self.args.chunksize)
                    if not chunk:
                        break
                    f.write(chunk)
            os.rename(partial, path + '.img')
        with open(path + '.part', 'w') as f:
            json.dump(record, f, indent=1, sort_keys=True)
        os.rename(path + '.part', path)
        LOG.info('Dumped %s', image_id)

    def load(self, directory, target):
        present = target.images_by_id()
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if '.' in name or not os.path.isfile(path):
                continue
            with open(path) as f:
                record = json.load(f)
            members = record.pop('members', None)

            def action(record=record, members=members, path=path):
                self._replicate(
                    record, target, present.get(record['id']),
                    lambda: (open(path + '.img', 'rb'),
                             os.path.getsize(path + '.img')))
                if members is not None and target.members_api is not False:
                    if target.members(record['id']) != members:
                        target.set_members(record['id'], members)
            self._guarded(record.get('id', name), action)

    def livecopy(self, source, target):
        present = target.images_by_id()
        for image in self._each_active(source.images()):
            def open_data(image=image):
                resp = source.request('GET', '/v1/images/%s' % image['id'])
                return resp, int(resp.getheader('Content-Length'))

            def action(image=image, open_data=open_data):
                self._replicate(image, target, present.get(image['id']),
                                open_data)
                self._copy_members(source, target, image['id'])
            self._guarded(image['id'], action)

    def compare(self, source, target):
        target_images = target.images_by_id()
        differ = 0
        for image in self._each_active(source.images()):
            current = target_images.get(image['id'])
            if current is None:
                print('Image %s (%s) is missing on %s'
                      % (image['id'], image.get('name'), target))
                differ += 1
                continue
            changed = differences(image, current, self.dont)
            members = source.members(image['id'])
            if members is not None and target.members_api is not False:
                theirs = target.members(image['id'])
                if theirs is not None and theirs != members:
                    changed.append(('members', members, theirs))
            for key, mine, theirs in changed:
                print('Image %s differs in %s: %r on %s, %r on %s'
                      % (image['id'], key, mine, source, theirs, target))
            differ += bool(changed)
        if differ:
            self.failures += differ
            LOG.info('%d images differ', differ)


def _human(size):
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if size < 1024 or unit == 'TiB':
            return ('%d %s' if unit == 'B' else '%.1f %s') % (size, unit)
        size /= 1024.0


def _header(text):
    name, sep, value = text.partition(':')
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError('expected "NAME: VALUE"')
    return name.strip(), value.strip()


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='glance-replicator',
        description='Copy images between servers speaking the Images v1 '
                    'API.')
    parser.add_argument('--token', help='X-Auth-Token for both servers.')
    parser.add_argument('--sourcetoken', '-M',
                        help='X-Auth-Token for the source server.')
    parser.add_argument('--targettoken', '-S',
                        help='X-Auth-Token for the target server.')
    parser.add_argument('--sourceheader', action='append', default=[],
                        type=_header, metavar='"NAME: VALUE"',
                        help='Extra header for the source server '
                             '(repeatable), e.g. the identity headers of a '
                             'trusted-auth flavor.')
    parser.add_argument('--targetheader', action='append', default=[],
                        type=_header, metavar='"NAME: VALUE"',
                        help='Extra header for the target server '
                             '(repeatable).')
    parser.add_argument('--metaonly', '-m', action='store_true',
                        help='Copy metadata only, not image data.')
    parser.add_argument('--dontreplicate', default=DONT_REPLICATE,
                        help='Space-separated metadata keys neither copied '
                             'nor compared (default: "%(default)s").')
    parser.add_argument('--chunksize', '-c', type=int, default=65536,
                        help='Bytes read and sent at a time.')
    parser.add_argument('--timeout', type=int, default=600,
                        help='Seconds a server may stay silent.')
    parser.add_argument('--verbose', '-v', action='store_true')
    parser.add_argument('--debug', '-d', action='store_true')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('size', help='Total size of the active images.') \
        .add_argument('server')
    p = sub.add_parser('dump', help='Write metadata and data to a '
                                    'directory.')
    p.add_argument('server')
    p.add_argument('directory')
    p = sub.add_parser('load', help='Load a dump into a server.')
    p.add_argument('directory')
    p.add_argument('server')
    for name, text in (('livecopy', 'Copy images from source to target.'),
                       ('compare', 'Report how target differs from '
                                   'source.')):
        p = sub.add_parser(name, help=text)
        p.add_argument('source')
        p.add_argument('target')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else
        logging.INFO if args.verbose else logging.WARNING,
        format='%(asctime)s %(levelname)s %(message)s')

    def server(address, token, headers):
        return Server(address, token or args.token, args.chunksize,
                      args.timeout, headers)

    replicator = Replicator(args)
    try:
        if args.command == 'size':
            replicator.size(server(args.server, args.sourcetoken,
                                   args.sourceheader))
        elif args.command == 'dump':
            replicator.dump(server(args.server, args.sourcetoken,
                                   args.sourceheader), args.directory)
        elif args.command == 'load':
            replicator.load(args.directory, server(
                args.server, args.targettoken, args.targetheader))
        else:
            getattr(replicator, args.command)(
                server(args.source, args.sourcetoken, args.sourceheader),
                server(args.target, args.targettoken, args.targetheader))
    except (ReplicationError, OSError) as e:
        sys.stderr.write('ERROR: %s\n' % e)
        return 1
    return 1 if replicator.failures else 0


if __name__ == '__main__':
    sys.exit(main())
