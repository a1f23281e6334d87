"""Handshake interoperability with aioquic, an independent QUIC implementation
(stream and datagram interop: test_streams_interop.py).

aioquic runs in userspace on a UDP socket; our side is the kernel module
driven by libquic.  Both directions: kernel client to aioquic server, and
aioquic client to kernel server.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted, QuicEvent
from quicpair import WAIT, Credentials, write_credentials

from libquic import sockopt
from libquic.handshake import HandshakeResult, quic_client_handshake, quic_server_handshake
from libquic.uapi import quic_socket

pytestmark = pytest.mark.timeout(180)

ALPN = "interop"


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return write_credentials(tmp_path_factory.mktemp("creds"))


class RecordingProtocol(QuicConnectionProtocol):
    """An aioquic connection that records its handshake outcome."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.completed: asyncio.Future[HandshakeCompleted] = (
            asyncio.get_running_loop().create_future())

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, HandshakeCompleted) and not self.completed.done():
            self.completed.set_result(event)
        super().quic_event_received(event)


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("cipher", [None, "TLS_CHACHA20_POLY1305_SHA256"])
def test_kernel_client_to_aioquic_server(creds: Credentials, cipher: str | None) -> None:
    from aioquic.tls import CipherSuite

    async def run() -> tuple[HandshakeResult, HandshakeCompleted]:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN])
        config.load_cert_chain(creds.cert, creds.key)
        if cipher:
            config.cipher_suites = [CipherSuite[cipher.removeprefix("TLS_")]]
        port = _free_udp_port("127.0.0.1")
        protocols: list[RecordingProtocol] = []

        def make(*args: object, **kwargs: object) -> RecordingProtocol:
            p = RecordingProtocol(*args, **kwargs)
            protocols.append(p)
            return p

        server = await serve("127.0.0.1", port, configuration=config, create_protocol=make)
        cli = quic_socket(socket.AF_INET)
        try:
            cli.settimeout(WAIT)
            sockopt.set_alpn(cli, [ALPN])
            cli.connect(("127.0.0.1", port))
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, lambda: quic_client_handshake(
                cli, hostname="localhost", cafile=creds.ca, timeout=WAIT))
            done = await asyncio.wait_for(protocols[0].completed, WAIT)
            return result, done
        finally:
            cli.close()
            server.close()

    result, done = asyncio.run(run())
    assert result.alpn == done.alpn_protocol == ALPN
    if cipher:
        assert result.engine.cipher_suite is not None
        assert result.engine.cipher_suite.name == cipher


def test_aioquic_client_to_kernel_server(creds: Credentials) -> None:
    lsk = quic_socket(socket.AF_INET)
    lsk.settimeout(WAIT)
    sockopt.set_alpn(lsk, [ALPN])
    lsk.bind(("127.0.0.1", 0))
    lsk.listen(1)
    port = lsk.getsockname()[1]
    outcome: dict[str, object] = {}
    accepted: list[socket.socket] = []

    def serve_one() -> None:
        try:
            conn, _ = lsk.accept()
            accepted.append(conn)
            conn.settimeout(WAIT)
            outcome["server"] = quic_server_handshake(conn, creds.key, creds.cert, timeout=WAIT)
        except BaseException as exc:  # checked below
            outcome["server"] = exc

    thread = threading.Thread(target=serve_one)
    thread.start()

    async def run() -> HandshakeCompleted:
        config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                                   server_name="localhost", cafile=creds.ca)
        async with connect("127.0.0.1", port, configuration=config,
                           create_protocol=RecordingProtocol,
                           wait_connected=True) as proto:
            assert isinstance(proto, RecordingProtocol)
            return await asyncio.wait_for(proto.completed, WAIT)

    try:
        done = asyncio.run(asyncio.wait_for(run(), WAIT * 2))
    finally:
        thread.join(WAIT * 2)
        for conn in accepted:
            conn.close()
        lsk.close()
    server = outcome.get("server")
    assert isinstance(server, HandshakeResult), repr(server)
    assert done.alpn_protocol == server.alpn == ALPN

