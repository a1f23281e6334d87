"""Connected kernel QUIC socket pairs for the stream tests.

A PSK handshake (the quickest in the VM) connects a client and a server
socket on loopback; ``setup`` callbacks tune either side before the
handshake (transport parameters, config, events).  Helpers read whole
messages with a deadline so that no test can hang.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kquictest.quicpair import Credentials, Pair, listener, psk_handshake
from libquic import sockopt
from libquic.cmsg import QuicMessage, quic_recvmsg, quic_sendmsg
from libquic.connection import SEND_RETRY_WAIT, shrink_send_limit
from libquic.events import QuicEventMessage
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    QuicEventType,
    quic_socket,  # noqa: F401  (re-exported for tests)
)

Setup = Callable[[socket.socket], None]


@contextmanager
def connected(creds: Credentials, *, family: int = socket.AF_INET,
              server_setup: Setup | None = None,
              client_setup: Setup | None = None) -> Iterator[Pair]:
    """Yield a connected :class:`Pair`; both sockets are closed afterwards."""
    with listener(family, ["t"], server_setup) as lsk:
        pair = psk_handshake(lsk, creds, client_alpns=["t"], client_setup=client_setup)
    try:
        yield pair
    finally:
        pair.close()


def wait_readable(sock: socket.socket, timeout: float) -> bool:
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)


def recv_msg(sock: socket.socket, bufsize: int = 65536, timeout: float = 20.0) -> QuicMessage:
    """One recvmsg with a deadline (TimeoutError if nothing arrives)."""
    if not wait_readable(sock, timeout):
        raise TimeoutError("nothing to read")
    return quic_recvmsg(sock, bufsize, socket.MSG_DONTWAIT)


def recv_stream(sock: socket.socket, nstreams: int = 1, timeout: float = 30.0,
                others: list[QuicMessage] | None = None) -> dict[int, bytes]:
    """Read stream data until ``nstreams`` streams ended (FIN); events and
    datagrams read meanwhile go to ``others``."""
    data: dict[int, bytearray] = {}
    done: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(done) < nstreams:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"streams not finished: {sorted(set(data) - done)}")
        m = recv_msg(sock, timeout=left)
        if m.is_event or m.is_datagram:
            if others is not None:
                others.append(m)
            continue
        assert m.stream_id is not None
        data.setdefault(m.stream_id, bytearray()).extend(m.data)
        if m.fin:
            done.add(m.stream_id)
    return {k: bytes(v) for k, v in data.items()}


def send_stream(sock: socket.socket, data: bytes | bytearray | memoryview, stream_id: int,
                flags: int = 0, timeout: float = 60.0) -> None:
    """Write all of ``data`` on ``stream_id`` (``flags`` with the first
    piece; a FIN in them goes with the last), waiting for send space.

    Our module takes a stream write of any size on a blocking socket or one
    with a timeout; the reference module refuses one its peer's flow-control
    credit does not cover with ENOSPC on a socket with a timeout (which
    Python makes non-blocking), so pieces shrink and are retried as
    :class:`libquic.connection.QuicConnection` does.
    """
    view = memoryview(data).cast("B")
    fin = flags & MSG_QUIC_STREAM_FIN
    flags &= ~MSG_QUIC_STREAM_FIN
    limit = len(view) or 1
    deadline = time.monotonic() + timeout
    while True:
        piece = view[:limit]
        last = len(piece) == len(view)
        try:
            n = quic_sendmsg(sock, piece, stream_id, flags | (fin if last else 0))
        except OSError as exc:
            limit = shrink_send_limit(exc, len(piece))
            if limit >= len(piece):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no send space on stream {stream_id}") from exc
                time.sleep(SEND_RETRY_WAIT)
            continue
        flags &= ~MSG_QUIC_STREAM_NEW
        if last and n >= len(view):
            return
        view = view[n:]


# ---- events -----------------------------------------------------------------

def events_on(*types: QuicEventType) -> Setup:
    """A setup callback that turns on events of ``types``."""
    def setup(sk: socket.socket) -> None:
        for t in types:
            sockopt.set_event(sk, t)
    return setup


def drain_events(sk: socket.socket, want: QuicEventType, timeout: float = 10.0,
                 data: list[QuicMessage] | None = None) -> list[QuicEventMessage]:
    """Events read from ``sk`` until one of type ``want`` is; other messages
    go to ``data`` (an error if not given)."""
    out: list[QuicEventMessage] = []
    deadline = time.monotonic() + timeout
    while not any(e.type == want for e in out):
        m = recv_msg(sk, timeout=max(0.1, deadline - time.monotonic()))
        if m.is_event:
            out.append(m.event())
            continue
        assert data is not None, f"unexpected data {m!r}"
        data.append(m)
    return out


def migration_events(events: list[QuicEventMessage]) -> list[int]:
    """The payloads of the CONNECTION_MIGRATION events among ``events``."""
    return [int(e.payload) for e in events if e.type == QuicEventType.CONNECTION_MIGRATION]
