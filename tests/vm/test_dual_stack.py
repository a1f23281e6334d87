"""Dual-stack PF_INET6 sockets, as the reference's programs use them: a
server listening on the IPv6 wildcard serves IPv4 clients (its perf and
ALPN tests listen on "::" and connect to 127.0.0.1), and an IPv6 client
reaches an IPv4 server through a v4-mapped address.  IPV6_V6ONLY turns it
off, as for UDP.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kquictest import quic_testdriver as qt
from kquictest.quic_testdriver import raw_bind
from kquictest.quicpair import Credentials, Pair, psk_handshake
from kquictest.streampair import recv_msg
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW, quic_socket

pytestmark = pytest.mark.timeout(120)

NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN
NOBODY = 65534


def bind_quic(family: int, port: int) -> int:
    """0 if a QUIC socket could bind the wildcard of ``family`` at ``port``,
    else the errno."""
    with quic_socket(family) as s:
        try:
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
        except OSError as e:
            return e.errno or -1
    return 0


@contextmanager
def wildcard_listener(family: int, v6only: bool = False) -> Iterator[socket.socket]:
    lsk = quic_socket(family, socket.SOCK_STREAM)
    try:
        lsk.settimeout(20)
        if family == socket.AF_INET6:
            lsk.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        lsk.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        lsk.listen(4)
        yield lsk
    finally:
        lsk.close()


def connect(creds: Credentials, lsk: socket.socket, family: int, host: str) -> Pair:
    return psk_handshake(lsk, creds, client_family=family, address=(host, lsk.getsockname()[1]))


def echo(p: Pair) -> None:
    quic_sendmsg(p.client, b"over v4", 0, NEW_FIN)
    m = recv_msg(p.server)
    assert (m.stream_id, m.data, m.fin) == (0, b"over v4", True)
    quic_sendmsg(p.server, b"back", 0, MSG_QUIC_STREAM_FIN)
    m = recv_msg(p.client)
    assert (m.data, m.fin) == (b"back", True)


def test_ipv6_wildcard_listener_serves_an_ipv4_client(creds: Credentials) -> None:
    with wildcard_listener(socket.AF_INET6) as lsk:
        port = lsk.getsockname()[1]
        p = connect(creds, lsk, socket.AF_INET, "127.0.0.1")
        try:
            echo(p)
            # the accepted PF_INET6 socket shows its IPv4 ends as AF_INET
            # addresses, as the reference does (not v4-mapped)
            assert p.server.family == socket.AF_INET6
            assert p.server.getsockname() == ("127.0.0.1", port)
            assert p.server.getpeername() == ("127.0.0.1", p.client.getsockname()[1])
        finally:
            p.close()
        # the IPv4 side of the port is the dual-stack UDP socket's: a plain
        # UDP socket cannot bind it, another user cannot share it, and the
        # owner's IPv4 wildcard shares it (so that an IPv4 listener there
        # can take IPv4 clients)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            with pytest.raises(OSError) as e:
                u.bind(("0.0.0.0", port))
            assert e.value.errno == errno.EADDRINUSE
        assert qt.run_as(NOBODY, lambda: bind_quic(socket.AF_INET, port)) == errno.EADDRINUSE
        with quic_socket(socket.AF_INET) as s:
            s.bind(("0.0.0.0", port))
            assert s.getsockname() == ("0.0.0.0", port)
        # a v6-only socket cannot share the dual-stack one
        with quic_socket(socket.AF_INET6) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            with pytest.raises(OSError) as e:
                s.bind(("::", port))
            assert e.value.errno == errno.EADDRINUSE


def test_ipv6_client_reaches_an_ipv4_server_v4_mapped(creds: Credentials) -> None:
    with wildcard_listener(socket.AF_INET) as lsk:
        p = connect(creds, lsk, socket.AF_INET6, "::ffff:127.0.0.1")
        try:
            echo(p)
            assert p.client.getpeername() == ("127.0.0.1", lsk.getsockname()[1])
            assert p.client.getsockname()[0] == "127.0.0.1"
            assert p.server.getpeername()[0] == "127.0.0.1"
        finally:
            p.close()


def test_v6only_listener_leaves_ipv4_alone(creds: Credentials) -> None:
    with wildcard_listener(socket.AF_INET6, v6only=True) as lsk:
        port = lsk.getsockname()[1]
        # the IPv4 port is free: an IPv4 QUIC socket may take it
        with quic_socket(socket.AF_INET) as s:
            s.bind(("0.0.0.0", port))
        # a dual-stack socket cannot share the v6-only UDP socket: it would
        # get no IPv4 (a dual-stack UDP socket would conflict too)
        with quic_socket(socket.AF_INET6) as s:
            with pytest.raises(OSError) as e:
                s.bind(("::", port))
            assert e.value.errno == errno.EADDRINUSE
        # and an IPv6 client still connects over IPv6
        p = connect(creds, lsk, socket.AF_INET6, "::1")
        p.close()
    with quic_socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        with pytest.raises(OSError) as e:
            s.connect(("::ffff:127.0.0.1", 4433))
        assert e.value.errno == errno.EAFNOSUPPORT



def sockaddr_in(host: str, port: int) -> bytes:
    return (struct.pack("<H", socket.AF_INET) + struct.pack(">H", port)
            + socket.inet_aton(host) + bytes(8))


def test_ipv6_socket_takes_an_ipv4_sockaddr(creds: Credentials) -> None:
    """The reference's ALPN test binds and connects PF_INET6 sockets with
    struct sockaddr_in addresses (0.0.0.0, 127.0.0.1), as UDP's connect()
    allows: they mean the IPv4 address, unless IPV6_V6ONLY."""
    lsk = quic_socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        lsk.settimeout(20)
        raw_bind(lsk, sockaddr_in("0.0.0.0", 0))
        port = lsk.getsockname()[1]
        assert lsk.getsockname() == ("0.0.0.0", port)
        lsk.listen(4)
        p = connect(creds, lsk, socket.AF_INET, "127.0.0.1")
        try:
            echo(p)
            assert p.server.getsockname() == ("127.0.0.1", port)
        finally:
            p.close()
    finally:
        lsk.close()
    with quic_socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        with pytest.raises(OSError) as e:
            raw_bind(s, sockaddr_in("127.0.0.1", 0))
        assert e.value.errno == errno.EAFNOSUPPORT
