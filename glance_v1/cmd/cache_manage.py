"""glance-cache-manage: the cache management API of a glance-api
(``/v1/cached_images``, ``/v1/queued_images``) from the command line."""

import argparse
import datetime
import http.client
import json
import os
import sys

COMMANDS = {
    # name: (method, path, needs an image id, asks for confirmation)
    'list-cached': ('GET', '/v1/cached_images', False, False),
    'list-queued': ('GET', '/v1/queued_images', False, False),
    'queue-image': ('PUT', '/v1/queued_images/%s', True, False),
    'delete-cached-image': ('DELETE', '/v1/cached_images/%s', True, True),
    'delete-all-cached-images': ('DELETE', '/v1/cached_images', False,
                                 True),
    'delete-queued-image': ('DELETE', '/v1/queued_images/%s', True, True),
    'delete-all-queued-images': ('DELETE', '/v1/queued_images', False,
                                 True),
}


class CommandError(Exception):
    pass


def _parser():
    p = argparse.ArgumentParser(
        prog='glance-cache-manage',
        description='Manage the image cache of a glance-api node.')
    p.add_argument('-H', '--host', default='127.0.0.1',
                   help='Address of the glance-api (default 127.0.0.1).')
    p.add_argument('-p', '--port', type=int, default=9292,
                   help='Port of the glance-api (default 9292).')
    p.add_argument('-A', '--os-auth-token', '--auth_token',
                   default=os.environ.get('OS_AUTH_TOKEN'),
                   help='Keystone token (default: env OS_AUTH_TOKEN).')
    p.add_argument('--header', action='append', default=[],
                   metavar='NAME:VALUE',
                   help='Extra request header, e.g. identity headers for '
                        'a trusted-auth deployment; repeatable.')
    p.add_argument('--timeout', type=float, default=60,
                   help='Seconds to wait for the API.')
    p.add_argument('-f', '--force', action='store_true',
                   help='Do not ask for confirmation.')
    p.add_argument('command', choices=sorted(COMMANDS))
    p.add_argument('image_id', nargs='?')
    return p


def _headers(args):
    headers = {'Accept': 'application/json'}
    if args.os_auth_token:
        headers['X-Auth-Token'] = args.os_auth_token
    for item in args.header:
        name, sep, value = item.partition(':')
        if not sep or not name.strip():
            raise CommandError('Bad --header %r: use NAME:VALUE' % item)
        headers[name.strip()] = value.strip()
    return headers


def _call(args, method, path):
    conn = http.client.HTTPConnection(args.host, args.port,
                                      timeout=args.timeout)
    try:
        conn.request(method, path, headers=_headers(args))
        resp = conn.getresponse()
        body = resp.read()
    except OSError as e:
        raise CommandError('Cannot reach glance-api at %s:%d: %s'
                           % (args.host, args.port, e))
    finally:
        conn.close()
    if resp.status >= 400:
        try:
            message = json.loads(body)['message']
        except (ValueError, KeyError, TypeError):
            message = body.decode('utf-8', 'replace').strip()
        raise CommandError('%d %s: %s' % (resp.status, resp.reason,
                                          message))
    return json.loads(body) if body else None


def _time(epoch):
    if not epoch:
        return 'N/A'
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')


def _print_images(items, noun, out, header=None, row=str):
    if not items:
        out.write('No %s images.\n' % noun)
        return
    out.write('Found %d %s images...\n' % (len(items), noun))
    if header:
        out.write(header)
    for item in items:
        out.write(row(item))


_CACHED_ROW = '%-36s  %-19s  %-19s  %14s  %6s\n'


def _cached_row(image):
    return _CACHED_ROW % (image['image_id'], _time(image['last_accessed']),
                          _time(image['last_modified']), image['size'],
                          image['hits'])


def run(args, out=sys.stdout, ask=input):
    method, path, needs_id, confirm = COMMANDS[args.command]
    if needs_id:
        if not args.image_id:
            raise CommandError('%s needs an image id' % args.command)
        path = path % args.image_id
    elif args.image_id:
        raise CommandError('%s takes no image id' % args.command)
    if confirm and not args.force:
        try:
            answer = ask('%s %s? [y/N] ' % (args.command,
                                            args.image_id or ''))
        except EOFError:
            answer = ''
        if answer.strip().lower() not in ('y', 'yes'):
            out.write('Not confirmed; nothing done.\n')
            return
    body = _call(args, method, path)
    if args.command == 'list-cached':
        _print_images(body['cached_images'], 'cached', out,
                      header=_CACHED_ROW % (
                          'ID', 'Last Accessed (UTC)', 'Last Modified (UTC)',
                          'Size', 'Hits'),
                      row=_cached_row)
    elif args.command == 'list-queued':
        _print_images(body['queued_images'], 'queued', out,
                      row=lambda image_id: image_id + '\n')
    elif isinstance(body, dict) and 'num_deleted' in body:
        out.write('Deleted %d images.\n' % body['num_deleted'])
    elif args.command == 'queue-image':
        out.write('Queued image %s for caching.\n' % args.image_id)
    else:
        out.write('Deleted image %s.\n' % args.image_id)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        run(args)
    except CommandError as e:
        sys.stderr.write('ERROR: %s\n' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
