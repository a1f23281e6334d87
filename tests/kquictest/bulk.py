"""Bulk transfers on one stream of a connected pair, checked end to end
(byte count and SHA-256) with a deadline."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from kquictest.streampair import send_stream
from libquic.cmsg import quic_recvmsg_into
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


def send_all(sk: socket.socket, total: int) -> None:
    flags = MSG_QUIC_STREAM_NEW
    for piece in payload(total):
        send_stream(sk, piece, 0, flags)
        flags = 0
    send_stream(sk, b"", 0, MSG_QUIC_STREAM_FIN)


def recv_all(sk: socket.socket, deadline: float) -> tuple[int, str]:
    h = hashlib.sha256()
    buf = bytearray(256 * 1024)
    n = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {n} bytes arrived in time")
        m = quic_recvmsg_into(sk, buf)
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
