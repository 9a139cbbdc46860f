"""HTTPS served by glance-api itself with the reference's ``cert_file``,
``key_file`` and ``ca_file`` (decisions "Real components": servers), with
certificates made here; image data must cross TLS byte-exact both ways
(no sendfile of plaintext, no takeover of the encrypted socket)."""

import datetime
import hashlib
import http.client
import io
import ipaddress
import os
import ssl
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import fixtures
from glanceclient import client as glanceclient
from glanceclient import exc as glanceclient_exc
import testtools

from tests.functional import base
from tests.functional import server

DATA = os.urandom(3 * 1024 * 1024 + 4097)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject, key, issuer, issuer_key, ca=False, server_ip=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                              critical=True))
    if server_ip:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(server_ip))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, cert, key):
    with open(path + '.crt', 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(path + '.key', 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return path + '.crt', path + '.key'


class Certificates(fixtures.Fixture):
    """A CA, a server certificate for 127.0.0.1 and a client
    certificate, as PEM files in a temporary directory."""

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _issue('test CA', ca_key, 'test CA', ca_key, ca=True)
        self.ca, _ = _write(os.path.join(tmp, 'ca'), ca, ca_key)
        key = ec.generate_private_key(ec.SECP256R1())
        self.cert, self.key = _write(
            os.path.join(tmp, 'server'),
            _issue('127.0.0.1', key, 'test CA', ca_key,
                   server_ip='127.0.0.1'), key)
        key = ec.generate_private_key(ec.SECP256R1())
        self.client_cert, self.client_key = _write(
            os.path.join(tmp, 'client'),
            _issue('client', key, 'test CA', ca_key), key)

    def client_context(self, with_certificate=False):
        context = ssl.create_default_context(cafile=self.ca)
        if with_certificate:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


class TLSTest(base.FunctionalTest):

    server_per_test = True
    client_ca = False

    def make_server(self):
        self.certs = self.useFixture(Certificates())
        conf = {'cert_file': self.certs.cert, 'key_file': self.certs.key}
        if self.client_ca:
            conf['ca_file'] = self.certs.ca
        return server.ApiServer(
            conf={'DEFAULT': conf},
            tls_client=self.certs.client_context(self.client_ca))


@server.eventlet_only('HTTPS is the front server\'s under mod_wsgi/uWSGI')
class TestHTTPS(TLSTest):

    def test_image_data_both_ways(self):
        # http.client sends an iterable without Content-Length chunked.
        for body in (DATA, iter([DATA[:5], DATA[5:]])):
            resp = self.create(body=body)
            self.assertEqual(201, resp.status, resp)
            self.assertEqual(hashlib.md5(DATA).hexdigest(),
                             resp.json['image']['checksum'])
            path = '/v1/images/%s' % resp.json['image']['id']
            self.assertTrue(resp.header('location').startswith('https://'))
            got = self.request('GET', path)
            self.assertEqual((200, DATA), (got.status, got.body))
            got = self.request('GET', path, {'Range': 'bytes=70000-'})
            self.assertEqual((206, DATA[70000:]), (got.status, got.body))

    def test_plain_http_gets_no_answer(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.api.port,
                                          timeout=5)
        try:
            conn.request('GET', '/v1/images')
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            status = None
        self.assertIsNone(status)
        self.assertEqual(200, self.request('GET', '/v1/images').status)

    def test_glanceclient_verifies_the_certificate(self):
        # requests prefers these to the client's own cacert.
        for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        client = glanceclient.Client('1', endpoint=self.api.url, token='t',
                                     cacert=self.certs.ca)
        image = client.images.create(name='tls', disk_format='raw',
                                     container_format='bare',
                                     data=io.BytesIO(DATA))
        self.assertEqual('active', image.status)
        self.assertEqual(DATA, b''.join(client.images.data(image.id)))
        # A client that does not trust the CA refuses the server.
        untrusting = glanceclient.Client('1', endpoint=self.api.url,
                                         token='t')
        self.assertRaises(glanceclient_exc.CommunicationError, list,
                          untrusting.images.list())


@server.eventlet_only('client certificates are the front server\'s')
class TestClientCertificates(TLSTest):

    client_ca = True

    def test_client_certificate_required(self):
        self.assertEqual(200, self.request('GET', '/v1/images').status)
        without = http.client.HTTPSConnection(
            '127.0.0.1', self.api.port, timeout=5,
            context=self.certs.client_context(with_certificate=False))
        try:
            without.request('GET', '/v1/images')
            status = without.getresponse().status
        except (OSError, ssl.SSLError):
            status = None
        self.assertIsNone(status)
        # The server still serves clients that present one.
        self.assertEqual(200, self.request('GET', '/v1/images').status)


@server.eventlet_only('glance-registry is served by eventlet only')
class TestRegistryOverTLS(base.FunctionalTest):
    """glance-api reaching a glance-registry that serves HTTPS and asks
    for a client certificate (registry_client_* options)."""

    server_per_test = True

    def make_server(self):
        certs = self.useFixture(Certificates())
        self.registry = registry = self.useFixture(server.RegistryServer(
            conf={'DEFAULT': {'cert_file': certs.cert,
                              'key_file': certs.key,
                              'ca_file': certs.ca}},
            tls_client=certs.client_context(with_certificate=True)))
        return server.ApiServer(conf={'DEFAULT': {
            'registry_backend': 'remote', 'registry_host': '127.0.0.1',
            'registry_port': registry.port,
            'registry_client_protocol': 'https',
            'registry_client_ca_file': certs.ca,
            'registry_client_cert_file': certs.client_cert,
            'registry_client_key_file': certs.client_key}})

    def test_images_through_the_registry(self):
        resp = self.create(body=DATA[:1000])
        self.assertEqual(201, resp.status, resp)
        path = '/v1/images/%s' % resp.json['image']['id']
        self.assertEqual(DATA[:1000], self.request('GET', path).body)
        self.assertEqual('active', self.request('HEAD', path).header(
            'x-image-meta-status'))
        self.assertIn('"POST /images HTTP/1.1" 200', self.registry.read_log())


class TestBadTLSSettings(testtools.TestCase):

    def start(self, options):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'glance-api.conf')
        server.write_conf(conf, {
            'DEFAULT': dict({'bind_host': '127.0.0.1',
                             'bind_port': server.free_port(),
                             'workers': 0}, **options),
            'database': {'connection': 'sqlite:///%s/g.sqlite' % tmp,
                         'auto_migrate': 'true'},
            'paste_deploy': {'config_file': server.PASTE}})
        proc = subprocess.run(
            [sys.executable, '-m', 'glance_v1.cmd.api', '--config-file',
             conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=60)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    def test_refused_with_one_line(self):
        certs = self.useFixture(Certificates())
        for options, words in (
                ({'cert_file': certs.cert}, 'must be set together'),
                ({'ca_file': certs.ca}, 'cannot serve HTTPS'),
                ({'cert_file': certs.cert, 'key_file': '/nonexistent'},
                 'Cannot serve HTTPS'),
                ({'cert_file': certs.cert, 'key_file': certs.client_key},
                 'Cannot serve HTTPS')):
            code, output = self.start(options)
            self.assertNotEqual(0, code, output)
            self.assertEqual(1, len([line for line in output.splitlines()
                                     if line.startswith('ERROR: ')]), output)
            self.assertIn(words, output)
            self.assertNotIn('Traceback', output)
