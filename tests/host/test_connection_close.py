"""QuicConnection.close(): what it asks of the socket."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest

from libquic.connection import QuicConnection
from libquic.handshake import HandshakeResult


class RecordingSocket(socket.socket):
    """A plain socket that remembers its setsockopt calls."""

    def __init__(self) -> None:
        super().__init__(socket.AF_INET, socket.SOCK_STREAM)
        self.calls: list[tuple[Any, ...]] = []

    def setsockopt(self, *args: Any) -> None:  # type: ignore[override]
        self.calls.append(args)
        super().setsockopt(*args)


def connection(sock: socket.socket) -> QuicConnection:
    result = HandshakeResult(sock=sock, engine=None, is_server=False, alpn=None,  # type: ignore[arg-type]
                             session_resumed=False, early_data_accepted=False,
                             peer_certificates=[])
    return QuicConnection(sock, result)


def test_close_with_linger_sets_so_linger_before_closing() -> None:
    sock = RecordingSocket()
    connection(sock).close(linger=7)
    assert sock.calls == [(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 7))]
    assert sock.fileno() < 0


def test_close_without_linger_leaves_so_linger_alone() -> None:
    sock = RecordingSocket()
    connection(sock).close()
    assert sock.calls == []
    assert sock.fileno() < 0


def test_negative_linger_is_refused_and_the_socket_stays_open() -> None:
    sock = RecordingSocket()
    with pytest.raises(ValueError, match="linger"):
        connection(sock).close(linger=-1)
    assert sock.fileno() >= 0
    sock.close()
