"""Handshakes per second: kernel QUIC with libquic's TLS 1.3 handshake
against Python's ssl module (OpenSSL) over TCP, on loopback.

Both are full TLS 1.3 handshakes with the same ECDSA certificate, verified
by the client against the same CA for the same name, with the same ALPN;
the server sends one session ticket in both (libquic sends one, OpenSSL is
told to).  The server is a forked process with as many threads, each
accepting and handshaking one connection at a time, as the client has
threads; a client thread connects, completes its handshake and closes, in
a loop, for the measured time.  Only the client's completed handshakes
count, and any failure fails the measurement.
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


def _fork_server(server: Server, threads: int) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            workers = [threading.Thread(target=_serve_forever, args=(server,), daemon=True)
                       for _ in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        finally:
            os._exit(1)
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


def handshake_rate(kind: HandshakeKind, pki: CertFiles, seconds: float,
                   concurrency: int) -> float:
    """Completed client handshakes per second, ``concurrency`` at a time."""
    server = kind.server(pki)
    pid = _fork_server(server, concurrency)
    done = [0] * concurrency
    errors: list[BaseException] = []
    one = kind.client(pki)
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        try:
            while time.monotonic() < deadline and not errors:
                one(server.port)
                done[k] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        elapsed = run_clients(concurrency, client)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        server.close()
    if errors:
        raise RuntimeError(f"{kind.name} handshake failed: {errors[0]!r}")
    return sum(done) / elapsed
