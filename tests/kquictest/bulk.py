"""Bulk transfers on one stream of a connected pair, checked end to end
(byte count and SHA-256) with a deadline; ``transfer_with`` runs an action
(a migration, a NAT rebinding) once part of the data has arrived."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from kquictest.streampair import send_stream
from libquic.cmsg import quic_recvmsg_into
from libquic.events import QuicEventMessage
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

MB = 1 << 20
BLOCK = os.urandom(64 * 1024 + 4096)


def payload(total: int, msg: int = 64 * 1024) -> Iterator[memoryview]:
    """``total`` pseudo-random bytes in ``msg``-sized pieces."""
    view = memoryview(BLOCK)
    off = 0
    sent = 0
    while sent < total:
        n = min(msg, total - sent)
        yield view[off:off + n]
        off = (off + n + 17) % 4096
        sent += n


def expected_digest(total: int) -> str:
    h = hashlib.sha256()
    for piece in payload(total):
        h.update(piece)
    return h.hexdigest()


# the trickle of ``send_all(slow=...)``: a small message at a time, spaced
TRICKLE_MSG = 4096
TRICKLE_GAP = 0.01  # seconds


def send_all(sk: socket.socket, total: int, stream_id: int = 0, *,
             slow: tuple[int, Callable[[], bool], float] | None = None) -> None:
    """Write ``total`` bytes of :func:`payload` and the FIN on ``stream_id``.
    With ``slow = (at, until, limit)`` the data keeps flowing as a trickle
    once ``at`` bytes are written, until ``until()`` is true or ``limit``
    seconds passed, then at full speed again: a transfer that outlasts an
    event whose timing the test does not control."""
    flags = MSG_QUIC_STREAM_NEW
    sent = 0
    end = 0.0
    for piece in payload(total):
        while slow and sent >= slow[0] and len(piece):
            end = end or time.monotonic() + slow[2]
            if slow[1]() or time.monotonic() > end:
                slow = None
                break
            send_stream(sk, piece[:TRICKLE_MSG], stream_id, flags)
            flags = 0
            sent += len(piece[:TRICKLE_MSG])
            piece = piece[TRICKLE_MSG:]
            time.sleep(TRICKLE_GAP)
        if len(piece):
            send_stream(sk, piece, stream_id, flags)
            flags = 0
            sent += len(piece)
    send_stream(sk, b"", stream_id, MSG_QUIC_STREAM_FIN)


def recv_all(sk: socket.socket, deadline: float, *, at: int = 0,
             action: Callable[[], None] | None = None,
             events: list[QuicEventMessage] | None = None) -> tuple[int, str]:
    """Read one stream to its end: its length and SHA-256.  ``action`` is
    called once ``at`` bytes came; events read meanwhile go to ``events``
    (an error if not given)."""
    h = hashlib.sha256()
    buf = bytearray(256 * 1024)
    n = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {n} bytes arrived in time")
        m = quic_recvmsg_into(sk, buf)
        if m.is_event:
            assert events is not None, f"unexpected event {m.event()!r}"
            events.append(m.event())
            continue
        if action is not None and n < at <= n + len(m.data):
            action()
        h.update(m.data)
        n += len(m.data)
        if m.fin:  # the stream's end (test_streams_basic checks MSG_EOR)
            return n, h.hexdigest()


def transfer(client: socket.socket, server: socket.socket, total: int,
             timeout: float) -> float:
    for sk in (client, server):
        sk.settimeout(timeout)
    t0 = time.monotonic()
    with ThreadPoolExecutor(1) as ex:
        fut = ex.submit(send_all, client, total)
        n, digest = recv_all(server, t0 + timeout)
        fut.result(timeout=timeout)
    elapsed = time.monotonic() - t0
    assert n == total
    assert digest == expected_digest(total)
    print(f"\n{total / MB:.0f} MB in {elapsed:.1f} s: {total * 8 / elapsed / 1e6:.1f} Mbit/s")
    return elapsed


def transfer_with(sender: socket.socket, receiver: socket.socket, total: int, *,
                  stream_id: int, at: int, action: Callable[[], None],
                  timeout: float,
                  slow: tuple[int, Callable[[], bool], float] | None = None,
                  ) -> list[QuicEventMessage]:
    """``sender`` writes ``total`` bytes on ``stream_id`` while ``receiver``
    reads and checks them; ``action`` runs in a thread of its own once
    ``at`` bytes arrived, so the data keeps flowing meanwhile.  ``slow`` is
    :func:`send_all`'s.  Returns the events the receiver read.

    A failed receive is raised at once: the sending thread is left to end
    with its own timeout (or when the test closes the sockets), so that a
    broken transfer fails within the test's time limit."""
    for sk in (sender, receiver):
        sk.settimeout(timeout)
    events: list[QuicEventMessage] = []
    failed: list[BaseException] = []
    sent: list[BaseException | None] = []

    def run_action() -> None:
        try:
            action()
        except BaseException as exc:  # reported below
            failed.append(exc)

    def send() -> None:
        try:
            send_all(sender, total, stream_id, slow=slow)
            sent.append(None)
        except BaseException as exc:  # reported below
            sent.append(exc)

    worker = threading.Thread(target=run_action, daemon=True)
    writer = threading.Thread(target=send, daemon=True)
    t0 = time.monotonic()
    writer.start()
    try:
        n, digest = recv_all(receiver, t0 + timeout, at=at, action=worker.start,
                             events=events)
        writer.join(max(1.0, t0 + timeout - time.monotonic()))
    finally:
        if worker.ident is not None:
            worker.join(timeout)
    assert not failed, failed
    assert worker.ident is not None, "the action never ran"
    assert sent == [None], sent or "the sender did not finish"
    assert n == total
    assert digest == expected_digest(total)
    return events
