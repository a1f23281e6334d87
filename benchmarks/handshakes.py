"""Handshakes per second: kernel QUIC with libquic's TLS 1.3 handshake
against Python's ssl module (OpenSSL) over TCP, on loopback.

Both are full TLS 1.3 handshakes with the same ECDSA certificate, verified
by the client against the same CA for the same name, with the same ALPN;
the server sends one session ticket in both (libquic sends one, OpenSSL is
told to).  The server is as many forked processes, each accepting and
handshaking one connection at a time on the one listening socket, as the
client has; a client process connects, completes its handshake and
closes, in a loop, for the measured time.  Processes, not threads: a
handshake in Python holds the interpreter lock where OpenSSL's releases
it, so threads would measure the lock rather than the protocols (and a
deployed handshake daemon runs its workers as processes).  Only the
client's completed handshakes count, and any failure fails the
measurement.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from benchmarks.paths import LOOPBACK
from benchmarks.quic_transport import ALPN, SERVER_NAME
from benchmarks.transports import CONNECT_TIMEOUT
from libquic.connection import QuicConnection, QuicListener
from libquic.tools.certgen import CertFiles

BACKLOG = 64


class Server(Protocol):
    port: int

    def serve_one(self) -> None: ...
    def close(self) -> None: ...


class QuicServer:
    def __init__(self, pki: CertFiles) -> None:
        self.lsk = QuicListener(LOOPBACK, 0, alpns=[ALPN], cert_file=str(pki.cert),
                                key_file=str(pki.key), backlog=BACKLOG)
        self.port = self.lsk.address[1]

    def serve_one(self) -> None:
        self.lsk.accept(None).close()

    def close(self) -> None:
        self.lsk.close()


class TlsServer:
    def __init__(self, pki: CertFiles) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = self.ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(pki.cert), str(pki.key))
        self.ctx.set_alpn_protocols([ALPN])
        self.ctx.num_tickets = 1
        self.lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsk.bind((LOOPBACK, 0))
        self.lsk.listen(BACKLOG)
        self.port = self.lsk.getsockname()[1]

    def serve_one(self) -> None:
        conn, _ = self.lsk.accept()
        # the client may close before the ticket is written
        with conn, suppress(OSError):
            self.ctx.wrap_socket(conn, server_side=True).close()

    def close(self) -> None:
        self.lsk.close()


def quic_client(pki: CertFiles) -> Callable[[int], None]:
    def one(port: int) -> None:
        QuicConnection.connect(LOOPBACK, port, alpns=[ALPN], hostname=SERVER_NAME,
                               cafile=str(pki.ca), timeout=CONNECT_TIMEOUT).close()
    return one


def tls_client(pki: CertFiles) -> Callable[[int], None]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the name
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(str(pki.ca))
    ctx.set_alpn_protocols([ALPN])

    def one(port: int) -> None:
        with socket.create_connection((LOOPBACK, port), timeout=CONNECT_TIMEOUT) as s, \
                ctx.wrap_socket(s, server_hostname=SERVER_NAME) as t:
            if t.selected_alpn_protocol() != ALPN:
                raise ssl.SSLError(f"negotiated ALPN {t.selected_alpn_protocol()!r}")
    return one


@dataclass(frozen=True)
class HandshakeKind:
    name: str
    server: Callable[[CertFiles], Server]
    client: Callable[[CertFiles], Callable[[int], None]]


QUIC = HandshakeKind("QUIC", QuicServer, quic_client)
TLS = HandshakeKind("TCP+TLS", TlsServer, tls_client)


def _fork(fn: Callable[[], None]) -> int:
    """``fn()`` in a forked process that exits with 0 when it returns."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    return pid


def _serve_forever(server: Server) -> None:
    while True:
        with suppress(OSError, ssl.SSLError):
            server.serve_one()


def warm_up(kind: HandshakeKind, pki: CertFiles) -> None:
    """A few handshakes served in this process, untimed: the first ones of a
    process are slow (lazy imports and set-up), and the forked servers
    inherit what this one has done."""
    server = kind.server(pki)
    try:
        serving = threading.Thread(target=lambda: [server.serve_one() for _ in range(2)])
        serving.start()
        one = kind.client(pki)
        for _ in range(2):
            one(server.port)
        serving.join(CONNECT_TIMEOUT)
    finally:
        server.close()


def run_clients(concurrency: int, client: Callable[[int], None]) -> float:
    """Run ``client(k)`` for k in 0..concurrency-1, each in a thread of its
    own, until all return; the seconds that took."""
    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - start


def _client_loop(one: Callable[[int], None], port: int, deadline: float, wfd: int) -> None:
    """Handshakes until ``deadline``; writes "COUNT ERROR" to ``wfd`` (one
    write under PIPE_BUF: atomic among the client processes)."""
    done, error = 0, ""
    try:
        while time.monotonic() < deadline:
            one(port)
            done += 1
    except BaseException as exc:  # reported by the parent
        error = repr(exc)[:200]
    os.write(wfd, f"{done} {error}\n".encode())


def handshake_rate(kind: HandshakeKind, pki: CertFiles, seconds: float,
                   concurrency: int) -> float:
    """Completed client handshakes per second, ``concurrency`` at a time."""
    server = kind.server(pki)
    servers = [_fork(partial(_serve_forever, server)) for _ in range(concurrency)]
    one = kind.client(pki)
    rfd, wfd = os.pipe()
    clients: list[int] = []
    try:
        start = time.monotonic()
        clients = [_fork(partial(_client_loop, one, server.port, start + seconds, wfd))
                   for _ in range(concurrency)]
        os.close(wfd)
        wfd = -1
        for pid in clients:
            os.waitpid(pid, 0)
        elapsed = time.monotonic() - start
        with os.fdopen(rfd, "r") as f:
            rfd = -1
            results = [line.split(" ", 1) for line in f.read().splitlines()]
    finally:
        for fd in (rfd, wfd):
            if fd >= 0:
                os.close(fd)
        for pid in servers:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        server.close()
    errors = [r[1] for r in results if len(r) > 1 and r[1]]
    if errors or len(results) != concurrency:
        raise RuntimeError(f"{kind.name} handshake failed: {errors[:1] or results}")
    return sum(int(r[0]) for r in results) / elapsed
