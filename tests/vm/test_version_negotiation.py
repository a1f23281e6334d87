"""A client and Version Negotiation (RFC 9000 6.2).

A server that does not speak the client's version answers its first
Initial with Version Negotiation.  The client acts on one only before
any other packet of the server, only if it echoes the client's connection
IDs, and not if it lists the version the client uses (a downgrade attempt
or a stale packet): then it abandons the attempt at once with
EPROTONOSUPPORT instead of retransmitting until its idle timeout.  The
server side (our Version Negotiation packets) is in test_kernel_packets.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator

import pytest

from kquictest import quic_testdriver as qt

pytestmark = pytest.mark.timeout(60)


def first_initial(u: socket.socket) -> tuple[bytes, bytes, tuple[str, int]]:
    """The client's Initial from the fake server's socket: its (DCID, SCID)
    and where it came from."""
    u.settimeout(10)
    data, addr = u.recvfrom(2048)
    assert data[0] & 0x80 and struct.unpack(">I", data[1:5])[0] == 1
    dcid = data[6 : 6 + data[5]]
    i = 6 + data[5]
    return dcid, data[i + 1 : i + 1 + data[i]], addr


def vn(dcid: bytes, scid: bytes, versions: list[int]) -> bytes:
    first = 0x80 | (os.urandom(1)[0] & 0x7F)
    return (bytes([first]) + bytes(4) + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
            + b"".join(struct.pack(">I", v) for v in versions))


def client_to(u: socket.socket) -> socket.socket:
    c = qt.quic_socket(socket.AF_INET)
    c.connect(u.getsockname())
    qt.hs_send(c, qt.QUIC_CRYPTO_INITIAL, qt.msg(b"CH", bytes(100)))
    return c


@pytest.fixture
def fake_server() -> Iterator[socket.socket]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    yield u
    u.close()


def test_client_abandons_on_version_negotiation(fake_server: socket.socket) -> None:
    c = client_to(fake_server)
    try:
        dcid, scid, addr = first_initial(fake_server)
        fake_server.sendto(vn(scid, dcid, [0x1A2A3A4A, 0xFF00001D]), addr)
        c.settimeout(5)
        with pytest.raises(OSError) as e:
            c.recv(100)
        assert e.value.errno == errno.EPROTONOSUPPORT
        assert qt.state_of(c) == "CLOSED"
    finally:
        c.close()


@pytest.mark.parametrize("case", ["lists our version", "wrong IDs"])
def test_client_ignores_a_version_negotiation_it_must_not_act_on(
        fake_server: socket.socket, case: str) -> None:
    c = client_to(fake_server)
    try:
        dcid, scid, addr = first_initial(fake_server)
        if case == "lists our version":
            pkt = vn(scid, dcid, [0x6B3343CF, 1])
        else:
            pkt = vn(scid, os.urandom(8), [0x6B3343CF])
        fake_server.sendto(pkt, addr)
        # the client goes on: it sends its Initial again, still connecting
        again, _, _ = first_initial(fake_server)
        assert again == dcid
        assert qt.state_of(c) == "ESTABLISHING"
    finally:
        c.close()
