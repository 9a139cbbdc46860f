"""Options of each service, for oslo-config-generator."""

import itertools

from glance_v1.api import versions
from glance_v1.api.middleware import request_id
from glance_v1.common import config
from glance_v1.common import context
from glance_v1.common import request_json
from glance_v1.common import wsgi
from glance_v1 import image_cache
from glance_v1.image import download
from glance_v1.image import format_inspector
from glance_v1.image import listing
from glance_v1.image import notifier
from glance_v1.image import protections
from glance_v1.image import quota
from glance_v1.image import recovery
from glance_v1.image import scrubber
from glance_v1.image import service
from glance_v1.image import sources
from glance_v1.image import upload
from glance_v1.image import validation
from glance_v1.registry import api as registry_api
from glance_v1.registry import crypt
from glance_v1.registry import client as registry_client
from glance_v1.registry.db import session
from glance_v1 import store
from glance_v1.store import filesystem
from glance_v1.store import http
from glance_v1.store import swift


def _store_opts():
    return ('glance_store', list(itertools.chain(
        store.store_opts, filesystem.filesystem_opts, http.http_opts,
        swift.swift_opts)))


def set_api_defaults():
    """Defaults the API overrides in libraries' options (sample
    generator hook)."""
    config.set_middleware_defaults()
    notifier.set_defaults()


def list_api_opts():
    return [
        ('DEFAULT', list(itertools.chain(
            wsgi.bind_opts, wsgi.socket_opts, wsgi.tls_opts,
            wsgi.eventlet_opts,
            context.context_opts, request_id.request_id_opts,
            request_json.json_opts, versions.versions_opts, session.state_opts,
            registry_api.registry_opts,
            registry_client.registry_client_opts, validation.size_cap_opts,
            upload.upload_opts, listing.listing_opts, quota.quota_opts,
            protections.protection_opts, notifier.notifier_opts,
            service.delete_opts, service.download_opts,
            download.verify_opts,
            recovery.recovery_opts,
            image_cache.cache_opts, service.copy_opts, sources.source_opts,
            crypt.crypt_opts))),
        ('database', session.database_opts),
        ('image_format', validation.image_format_opts
         + format_inspector.inspector_opts),
        ('paste_deploy', config.paste_deploy_opts),
        _store_opts(),
    ]


def list_cache_opts():
    return [
        ('DEFAULT', list(itertools.chain(
            session.state_opts, registry_api.registry_opts,
            image_cache.cache_opts))),
        ('database', session.database_opts),
        _store_opts(),
    ]


def list_scrubber_opts():
    from glance_v1.cmd import scrubber as scrubber_cmd
    return [
        ('DEFAULT', list(itertools.chain(
            session.state_opts, registry_api.registry_opts,
            scrubber.scrubber_opts, scrubber_cmd.cli_opts,
            scrubber_cmd.daemon_opts, recovery.recovery_opts))),
        ('database', session.database_opts),
        _store_opts(),
    ]


def list_registry_opts():
    return [
        ('DEFAULT', list(itertools.chain(
            wsgi.bind_opts, wsgi.socket_opts, wsgi.tls_opts,
            wsgi.eventlet_opts,
            context.context_opts, request_id.request_id_opts,
            request_json.json_opts, session.state_opts,
            listing.listing_opts))),
        ('database', session.database_opts),
        ('paste_deploy', config.paste_deploy_opts),
    ]
