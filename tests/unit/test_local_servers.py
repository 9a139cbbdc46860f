"""tools/local_servers.py, what the tests' servers are started with."""

import socket
from unittest import mock

import testtools

from tools import local_servers


class TestFreePort(testtools.TestCase):

    def test_never_the_same_port_twice(self):
        # A port handed out may not be bound yet: the kernel can offer it
        # again, and two servers (a glance-api and the glance-registry
        # started after it was given its port) would share it.
        offered = iter([40001, 40001, 40002, 40001, 40003])

        class Socket:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def bind(self, address):
                self.port = next(offered)

            def getsockname(self):
                return '127.0.0.1', self.port

        self.addCleanup(setattr, local_servers, '_given',
                        set(local_servers._given))
        local_servers._given.clear()
        with mock.patch.object(socket, 'socket', Socket):
            ports = [local_servers.free_port() for _ in range(3)]
        self.assertEqual([40001, 40002, 40003], ports)
