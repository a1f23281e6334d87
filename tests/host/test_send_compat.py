"""Sends that work on every QUIC module: a write larger than the module
takes in one sendmsg (the reference's ENOSPC), and sends that must not wait
for a POLLOUT the module does not report before the handshake ends."""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

import pytest

from libquic.cmsg import parse_cmsgs, sendmsg_direct
from libquic.connection import QuicConnection
from libquic.handshake import HandshakeResult
from libquic.uapi import QuicMsgFlag


class LimitedSocket:
    """Takes at most ``limit`` bytes per sendmsg and refuses the first
    ``refusals`` sends whatever their size, with ENOSPC (the reference
    module out of stream credit on a non-blocking descriptor)."""

    def __init__(self, limit: int, refusals: int = 0) -> None:
        self.limit = limit
        self.refusals = refusals
        self.sent: list[tuple[int, int]] = []  # (bytes, stream flags)

    def gettimeout(self) -> float | None:
        return 5.0

    def sendmsg(self, buffers: Any, anc: Any, flags: int = 0) -> int:
        size = sum(len(b) for b in buffers)
        if size > self.limit or self.refusals > 0:
            self.refusals -= 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        stream = parse_cmsgs(anc).stream
        self.sent.append((size, stream.stream_flags if stream else 0))
        return size


def _connection(sock: Any) -> QuicConnection:
    result = HandshakeResult(sock=sock, engine=None, is_server=False, alpn=None,  # type: ignore[arg-type]
                             session_resumed=False, early_data_accepted=False,
                             peer_certificates=[])
    return QuicConnection(sock, result)


def test_large_write_is_split_with_fin_on_the_last_piece() -> None:
    sock = LimitedSocket(400_000)
    conn = _connection(sock)
    conn._send_all(b"x" * 1_000_000, 0, QuicMsgFlag.STREAM_FIN)
    assert sum(n for n, _ in sock.sent) == 1_000_000
    assert all(n <= 400_000 for n, _ in sock.sent)
    assert [bool(f & QuicMsgFlag.STREAM_FIN) for _, f in sock.sent] == \
        [False] * (len(sock.sent) - 1) + [True]
    sock.sent.clear()  # the connection remembers the size that fits
    conn._send_all(b"y" * 300_000, 0, 0)
    assert sock.sent == [(250_000, 0), (50_000, 0)]


def test_refused_small_piece_waits_and_retries() -> None:
    sock = LimitedSocket(1 << 20, refusals=3)
    conn = _connection(sock)
    conn._send_all(b"w" * 10_000, 0, QuicMsgFlag.STREAM_FIN)
    assert sock.sent == [(10_000, QuicMsgFlag.STREAM_FIN)]


def test_a_write_that_fits_is_one_sendmsg() -> None:
    sock = LimitedSocket(1 << 20)
    _connection(sock)._send_all(b"z" * 5000, 4, QuicMsgFlag.STREAM_FIN)
    assert sock.sent == [(5000, QuicMsgFlag.STREAM_FIN)]


def test_other_errors_are_not_retried() -> None:
    class Broken(LimitedSocket):
        def sendmsg(self, buffers: Any, anc: Any, flags: int = 0) -> int:
            raise OSError(errno.EPIPE, "broken")

    with pytest.raises(OSError) as info:
        _connection(Broken(10))._send_all(b"a" * 100, 0, 0)
    assert info.value.errno == errno.EPIPE


def test_sendmsg_direct_does_not_wait_for_pollout() -> None:
    # a full socketpair: Python would wait the whole timeout for POLLOUT
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        while True:
            try:
                a.send(b"\0" * 65536)
            except BlockingIOError:
                break
        a.settimeout(30.0)
        with pytest.raises(BlockingIOError):
            sendmsg_direct(a, [b"more"], [], 0)
        assert a.gettimeout() == 30.0
