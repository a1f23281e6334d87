"""Connected kernel QUIC socket pairs with a real TLS handshake, for VM tests.

A listener is bound on loopback, a client connects, and the two handshakes
run in threads with timeouts on every wait, so a broken kernel path fails
the test instead of hanging it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kquictest.tls_fixtures import key_pem, pem_of, server_identity, trusted_ca
from libquic import sockopt
from libquic.handshake import HandshakeResult, quic_client_handshake, quic_server_handshake
from libquic.uapi import quic_socket

if TYPE_CHECKING:
    from kquictest.netns import Namespace

WAIT = 30.0  # seconds for any single handshake step in the VM
LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}


@dataclass
class Credentials:
    """Files a handshake needs: CA, server chain and key, a PSK file."""

    ca: str
    cert: str
    key: str
    psk: str


def write_credentials(folder: Path) -> Credentials:
    chain, key = server_identity("p256", ("localhost", "127.0.0.1", "::1"))
    files = {
        "ca": trusted_ca().pem,
        "cert": pem_of(chain),
        "key": key_pem(key),
        "psk": b"client1:" + bytes(range(32)).hex().encode() + b"\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return Credentials(**{name: str(folder / name) for name in files})


@contextmanager
def listener(family: int = socket.AF_INET, alpns: list[str] | None = None,
             setup: Callable[[socket.socket], None] | None = None) -> Iterator[socket.socket]:
    lsk = quic_socket(family, socket.SOCK_STREAM)
    try:
        lsk.settimeout(WAIT)
        if alpns:
            sockopt.set_alpn(lsk, alpns)
        if setup:
            setup(lsk)
        lsk.bind((LOOPBACK[family], 0))
        lsk.listen(8)
        yield lsk
    finally:
        lsk.close()


@dataclass
class Pair:
    client: socket.socket
    server: socket.socket
    client_result: HandshakeResult
    server_result: HandshakeResult

    def close(self) -> None:
        self.client.close()
        self.server.close()

    def __enter__(self) -> Pair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HandshakeFailed(Exception):
    """At least one side failed; ``client``/``server`` hold each side's
    exception, or its result when that side succeeded."""

    def __init__(self, client: BaseException | HandshakeResult | None,
                 server: BaseException | HandshakeResult | None) -> None:
        super().__init__(f"handshake failed: client: {client!r}; server: {server!r}")
        self.client = client
        self.server = server


def _outcome(fut: Any) -> BaseException | HandshakeResult:
    try:
        return fut.result(timeout=WAIT * 2)
    except BaseException as exc:
        return exc


def handshake(lsk: socket.socket, *, client_kw: dict[str, Any], server_kw: dict[str, Any],
              client_alpns: list[str] | None = None,
              client_setup: Callable[[socket.socket], None] | None = None,
              client_family: int | None = None,
              address: tuple[Any, ...] | None = None,
              accepted_setup: Callable[[socket.socket], None] | None = None) -> Pair:
    """Connect to ``lsk`` and run both handshakes.

    ``client_setup`` tunes the client socket before it connects; the client
    is of ``client_family`` (the listener's by default) and connects to
    ``address`` (the listener's by default).  ``accepted_setup`` tunes the
    accepted socket before its handshake.

    ``client_kw``/``server_kw`` go to quic_client_handshake/quic_server_handshake
    (``pkey_file``, ``cert_file``, ``hostname``, ``cafile``, ...).  Raises
    :class:`HandshakeFailed` with both outcomes when either side fails; both
    sockets are closed then: a side that fails closes its socket at once, so
    the other sees its CONNECTION_CLOSE instead of waiting for a timeout.
    """
    cli = quic_socket(client_family or lsk.family, socket.SOCK_STREAM)
    cli.settimeout(WAIT)
    if client_alpns:
        sockopt.set_alpn(cli, client_alpns)
    if client_setup:
        client_setup(cli)
    cli.connect(address or lsk.getsockname()[:2])
    accepted: list[socket.socket] = []

    def serve() -> HandshakeResult:
        conn, _ = lsk.accept()
        conn.settimeout(WAIT)
        accepted.append(conn)
        try:
            if accepted_setup:
                accepted_setup(conn)
            return quic_server_handshake(conn, timeout=WAIT, **server_kw)
        except BaseException:
            conn.close()  # sends the CONNECTION_CLOSE the handshake set
            raise

    def client() -> HandshakeResult:
        try:
            return quic_client_handshake(cli, timeout=WAIT, **client_kw)
        except BaseException:
            cli.close()  # sends the CONNECTION_CLOSE the handshake set
            raise

    with ThreadPoolExecutor(2) as ex:
        fs = ex.submit(serve)
        fc = ex.submit(client)
        sres = _outcome(fs)
        cres = _outcome(fc)
    if isinstance(cres, HandshakeResult) and isinstance(sres, HandshakeResult):
        return Pair(cli, accepted[0], cres, sres)
    cli.close()
    for conn in accepted:
        conn.close()
    raise HandshakeFailed(cres, sres)


def psk_handshake(lsk: socket.socket, creds: Credentials, **kw: Any) -> Pair:
    """:func:`handshake` with the test PSK on both sides (``kw`` as there)."""
    return handshake(lsk, client_kw={"pkey_file": creds.psk},
                     server_kw={"pkey_file": creds.psk, "cert_file": None}, **kw)


@contextmanager
def paired(lsk: socket.socket, connect: Callable[[socket.socket], Pair]) -> Iterator[Pair]:
    """The pair ``connect(lsk)`` makes with listener ``lsk``: the listener is
    closed as soon as the pair exists (or failed), the pair when the block
    ends."""
    try:
        pair = connect(lsk)
    finally:
        lsk.close()
    with pair:
        yield pair


@contextmanager
def psk_pair_between(server_ns: Namespace, host: str, creds: Credentials, *,
                     client_ns: Namespace | None = None,
                     listener_setup: Callable[[socket.socket], None] | None = None,
                     client_setup: Callable[[socket.socket], None] | None = None,
                     ) -> Iterator[Pair]:
    """A PSK-connected pair across namespaces: the server listens at
    ``host`` (its family that of the pair) in ``server_ns``, tuned by
    ``listener_setup`` (which the accepted socket inherits); the client,
    tuned by ``client_setup``, is in ``client_ns`` (None: here).  Closed
    when the block ends."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def make() -> socket.socket:
        s = quic_socket(family, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        sockopt.set_alpn(s, ["t"])
        if listener_setup:
            listener_setup(s)
        s.bind((host, 0))
        s.listen(1)
        return s

    def connect(lsk: socket.socket) -> Pair:
        return psk_handshake(lsk, creds, client_alpns=["t"], client_setup=client_setup)

    def connect_there(lsk: socket.socket) -> Pair:
        # the client socket, and the threads handshake() starts, are in
        # the client's namespace
        assert client_ns is not None
        return client_ns.run(lambda: connect(lsk), timeout=4 * WAIT)

    with paired(server_ns.run(make), connect_there if client_ns else connect) as pair:
        yield pair
