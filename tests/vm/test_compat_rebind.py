"""A fixed port can be bound again right after the socket on it closed.

The reference's test programs run one server after another on the same
fixed port; each bind() comes right after the previous server's close().
"""

from __future__ import annotations

import socket

import pytest

from kquictest.quicpair import LOOPBACK, Credentials, psk_handshake
from libquic.uapi import quic_socket

pytestmark = pytest.mark.timeout(600)

ROUNDS = 30


def free_port(family: int) -> int:
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK[family], 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_listener_rebinds_fixed_port_at_once(family: int) -> None:
    port = free_port(family)
    for i in range(ROUNDS):
        lsk = quic_socket(family, socket.SOCK_STREAM)
        try:
            try:
                lsk.bind((LOOPBACK[family], port))
            except OSError as e:
                pytest.fail(f"round {i}: bind to port {port}: {e}")
            lsk.listen(1)
        finally:
            lsk.close()


def test_server_rebinds_fixed_port_after_connection(creds: Credentials) -> None:
    """As a test program does: serve one connection, close, serve again."""
    family = socket.AF_INET
    port = free_port(family)
    for i in range(5):
        lsk = quic_socket(family, socket.SOCK_STREAM)
        try:
            lsk.settimeout(30)
            try:
                lsk.bind((LOOPBACK[family], port))
            except OSError as e:
                pytest.fail(f"round {i}: bind to port {port}: {e}")
            lsk.listen(1)
            pair = psk_handshake(lsk, creds)
            pair.close()
        finally:
            lsk.close()
