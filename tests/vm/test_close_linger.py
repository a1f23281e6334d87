"""close() with and without SO_LINGER over a delayed link.

The client queues 2 MB on a stream and closes at once.  Without SO_LINGER
the CONNECTION_CLOSE follows what was sent so far and the rest is lost;
with it, close() waits until the peer acknowledged everything, so the
server reads all of it and the FIN.  A blackholed peer ends the wait when
the linger time is up.
"""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time
from dataclasses import dataclass

import pytest

from kquictest.netemlink import Link, connected_across, netem_link
from kquictest.quicpair import Credentials
from kquictest.streampair import recv_msg
from libquic import sockopt
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

pytestmark = pytest.mark.timeout(240)

SO_SNDBUFFORCE = 32  # <asm-generic/socket.h>; not in Python's socket module
PAYLOAD = bytes(range(256)) * (2 * 1024 * 1024 // 256)
DELAY_MS = 100


@dataclass
class Received:
    data: bytearray
    fin: bool = False
    error: BaseException | None = None


def read_until_end(sock: socket.socket, out: Received, timeout: float = 60.0) -> None:
    """Read stream 0 until its FIN or the connection's end."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                m = recv_msg(sock, timeout=deadline - time.monotonic())
            except OSError as exc:
                if exc.errno == errno.ENOTCONN:
                    return  # closed: the reference module's recvmsg says so
                raise
            if m.stream_id is None and not m.data:
                return  # the connection was closed (our module: EOF)
            out.data += m.data
            if m.fin:
                out.fin = True
                return
    except BaseException as exc:  # reported by the test
        out.error = exc


def queue_payload(sock: socket.socket) -> None:
    """Queue PAYLOAD and the FIN without blocking: the send buffer takes it all."""
    sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 4 * len(PAYLOAD))
    view = memoryview(PAYLOAD)
    flags = MSG_QUIC_STREAM_NEW
    while view:
        view = view[quic_sendmsg(sock, view, 0, flags):]
        flags = 0
    quic_sendmsg(sock, b"", 0, MSG_QUIC_STREAM_FIN)


def roomy_windows(lsk: socket.socket) -> None:
    """Flow-control credit for all of PAYLOAD at once: the reference module
    refuses (ENOSPC) a stream write its credit does not cover, where ours
    queues it beyond the credit."""
    tp = sockopt.get_transport_param(lsk)
    tp.max_data = tp.max_stream_data_bidi_remote = 4 * len(PAYLOAD)
    sockopt.set_transport_param(lsk, tp)


def close_while_reading(link: Link, creds: Credentials, linger: tuple[int, int] | None,
                        blackhole: bool = False) -> tuple[Received, float]:
    with connected_across(link, creds, server_setup=roomy_windows) as p:
        got = Received(bytearray())
        # a blackholed server never hears the close: it stops reading sooner
        reader = threading.Thread(target=read_until_end,
                                  args=(p.server, got, 8.0 if blackhole else 60.0))
        reader.start()
        queue_payload(p.client)
        if blackhole:
            link.loss(100)
        if linger:
            p.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", *linger))
        start = time.monotonic()
        p.client.close()
        elapsed = time.monotonic() - start
        if blackhole:
            link.loss(0)
        reader.join(90)
        assert not reader.is_alive(), "the server never saw the end of the connection"
        if got.error and not blackhole:
            raise got.error
        return got, elapsed


def test_close_without_linger_loses_unacknowledged_data(creds: Credentials) -> None:
    with netem_link(DELAY_MS) as link:
        got, elapsed = close_while_reading(link, creds, None)
    assert elapsed < 1.0
    assert not got.fin
    assert len(got.data) < len(PAYLOAD)
    assert bytes(got.data) == PAYLOAD[: len(got.data)]


def test_close_with_linger_delivers_everything(creds: Credentials) -> None:
    with netem_link(DELAY_MS) as link:
        got, elapsed = close_while_reading(link, creds, (1, 60))
    assert got.fin
    assert bytes(got.data) == PAYLOAD
    assert elapsed > 2 * DELAY_MS / 1000  # it waited for the acknowledgements


def test_linger_time_bounds_close_to_a_dead_peer(creds: Credentials) -> None:
    with netem_link(DELAY_MS) as link:
        got, elapsed = close_while_reading(link, creds, (1, 2), blackhole=True)
    assert 1.5 < elapsed < 10
    assert not got.fin
