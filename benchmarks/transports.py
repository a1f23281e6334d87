"""Connected endpoint pairs for the benchmark, one factory per transport.

Each factory takes a ``NetPath`` (benchmarks/paths.py: loopback, or a
veth pair between two namespaces) and returns ``(client, server)``: two
connected endpoints across it, ready for bulk data from client to server
and for request/response.  An endpoint sends, ends its sending side, and receives
into a buffer (0 at the end), whatever the transport.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from benchmarks.paths import NetPath

SOL_TLS = 282
TLS_TX = 1
TLS_RX = 2
TCP_ULP = 31
TLS_1_3_VERSION = 0x0304
TLS_CIPHER_AES_GCM_128 = 51

CONNECT_TIMEOUT = 30.0


class Endpoint(Protocol):
    def send(self, data: memoryview) -> None: ...
    def finish(self) -> None: ...
    def recv_into(self, buf: memoryview) -> int: ...
    def close(self) -> None: ...


Pair = tuple[Endpoint, Endpoint]
PairFactory = Callable[[NetPath], Pair]


class StreamSocket:
    """A TCP (or kTLS) socket as an endpoint."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, data: memoryview) -> None:
        self.sock.sendall(data)

    def finish(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def recv_into(self, buf: memoryview) -> int:
        return self.sock.recv_into(buf)

    def close(self) -> None:
        self.sock.close()


def _tcp_sockets(path: NetPath) -> tuple[socket.socket, socket.socket]:
    def listen() -> socket.socket:
        lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsk.bind((path.server_addr, 0))
        lsk.listen(1)
        return lsk

    with path.in_server(listen) as lsk:
        lsk.settimeout(CONNECT_TIMEOUT)
        addr = lsk.getsockname()
        cli = path.in_client(lambda: socket.create_connection(addr, timeout=CONNECT_TIMEOUT))
        srv, _ = lsk.accept()
    for s in (cli, srv):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(None)
    return cli, srv


def tcp_pair(path: NetPath) -> Pair:
    """A plain TCP connection."""
    cli, srv = _tcp_sockets(path)
    return StreamSocket(cli), StreamSocket(srv)


def _ktls_crypto_info(key: bytes, iv: bytes, salt: bytes) -> bytes:
    """``struct tls12_crypto_info_aes_gcm_128`` for TLS 1.3, sequence 0."""
    return struct.pack("=HH", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128) + iv + key + salt + bytes(8)


def ensure_ktls() -> None:
    """Load the kTLS module if it is not loaded; explain failure."""
    if Path("/sys/module/tls").exists():
        return
    res = subprocess.run(["modprobe", "tls"], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"kTLS is unavailable: modprobe tls failed: {res.stderr.strip()}")


def ktls_pair(path: NetPath) -> Pair:
    """TCP with kernel TLS (TLS 1.3, AES-128-GCM) on both directions.

    The keys are random and installed directly on both ends: the benchmark
    measures the record layer, not a handshake.
    """
    ensure_ktls()
    cli, srv = _tcp_sockets(path)
    keys = {d: (os.urandom(16), os.urandom(8), os.urandom(4)) for d in ("c2s", "s2c")}
    for s, tx, rx in ((cli, "c2s", "s2c"), (srv, "s2c", "c2s")):
        s.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls")
        s.setsockopt(SOL_TLS, TLS_TX, _ktls_crypto_info(*keys[tx]))
        s.setsockopt(SOL_TLS, TLS_RX, _ktls_crypto_info(*keys[rx]))
    return StreamSocket(cli), StreamSocket(srv)
