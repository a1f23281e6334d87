"""Handshake interoperability with aioquic, an independent QUIC implementation
(stream and datagram interop: test_streams_interop.py).

aioquic runs in userspace on a UDP socket; our side is the kernel module
driven by libquic.  Both directions: kernel client to aioquic server, and
aioquic client to kernel server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted, QuicEvent
from aioquic.quic.packet import QuicProtocolVersion

from kquictest.aiopeer import free_udp_port, kernel_client_handshake, kernel_server
from kquictest.quicpair import WAIT, Credentials
from libquic import sockopt
from libquic.handshake import HandshakeResult, quic_client_handshake
from libquic.uapi import QUIC_VERSION_V1, QUIC_VERSION_V2, QuicConfig, quic_socket

pytestmark = pytest.mark.timeout(180)

ALPN = "interop"


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


@asynccontextmanager
async def recording_server(config: QuicConfiguration
                           ) -> AsyncIterator[tuple[int, list[RecordingProtocol]]]:
    """An aioquic server on 127.0.0.1: its port and its connections."""
    port = free_udp_port("127.0.0.1")
    protocols: list[RecordingProtocol] = []

    def make(*args: object, **kwargs: object) -> RecordingProtocol:
        p = RecordingProtocol(*args, **kwargs)
        protocols.append(p)
        return p

    server = await serve("127.0.0.1", port, configuration=config, create_protocol=make)
    try:
        yield port, protocols
    finally:
        server.close()


@pytest.mark.parametrize("cipher", [None, "TLS_CHACHA20_POLY1305_SHA256"])
def test_kernel_client_to_aioquic_server(creds: Credentials, cipher: str | None) -> None:
    from aioquic.tls import CipherSuite

    async def run() -> tuple[HandshakeResult, HandshakeCompleted]:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN])
        config.load_cert_chain(creds.cert, creds.key)
        if cipher:
            config.cipher_suites = [CipherSuite[cipher.removeprefix("TLS_")]]
        async with recording_server(config) as (port, protocols):
            result = await kernel_client_handshake(creds, port, ALPN)
            done = await asyncio.wait_for(protocols[0].completed, WAIT)
            return result, done

    result, done = asyncio.run(run())
    assert result.alpn == done.alpn_protocol == ALPN
    if cipher:
        assert result.engine.cipher_suite is not None
        assert result.engine.cipher_suite.name == cipher


def test_aioquic_client_to_kernel_server(creds: Credentials) -> None:
    with kernel_server(creds, ALPN, lambda conn, res: res) as server:
        async def run() -> HandshakeCompleted:
            config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                                       server_name="localhost", cafile=creds.ca)
            async with connect("127.0.0.1", server.port, configuration=config,
                               create_protocol=RecordingProtocol,
                               wait_connected=True) as proto:
                assert isinstance(proto, RecordingProtocol)
                done = await asyncio.wait_for(proto.completed, WAIT)
                # a 1-RTT round trip before closing: the close must not
                # overtake the server's handshake, whose last step (the
                # 1-RTT receive key) the reference module refuses with
                # EINVAL once the connection is closed
                await asyncio.wait_for(proto.ping(), WAIT)
                return done

        done = asyncio.run(asyncio.wait_for(run(), WAIT * 2))
        result = server.outcome()
    assert done.alpn_protocol == result.alpn == ALPN


# ---- QUIC v2 and compatible version negotiation (RFC 9368, RFC 9369) -------

def kernel_client_version(creds: Credentials, port: int, version: int) -> int:
    """A kernel client starting in ``version``: the version it ends up in."""
    cli = quic_socket(socket.AF_INET)
    try:
        cli.settimeout(WAIT)
        sockopt.set_alpn(cli, [ALPN])
        sockopt.set_config(cli, QuicConfig(version=version))
        cli.connect(("127.0.0.1", port))
        quic_client_handshake(cli, hostname="localhost", cafile=creds.ca, timeout=WAIT)
        return sockopt.get_config(cli).version
    finally:
        cli.close()


@pytest.mark.parametrize("client,server_versions,want", [
    (QUIC_VERSION_V2, [QuicProtocolVersion.VERSION_2], QUIC_VERSION_V2),
    (QUIC_VERSION_V1, [QuicProtocolVersion.VERSION_2, QuicProtocolVersion.VERSION_1],
     QUIC_VERSION_V1),
], ids=["v2", "v1-kept"])
def test_kernel_client_versions_with_aioquic_server(creds: Credentials, client: int,
                                                    server_versions: list[int],
                                                    want: int) -> None:
    """aioquic's server takes the first of the client's Available Versions
    that it speaks, and ours lists its own version first: it stays there
    (ngtcp2's server, which prefers its own order, switches our client:
    test_compatible_version)."""
    async def run() -> tuple[int, int]:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN],
                                   supported_versions=server_versions)
        config.load_cert_chain(creds.cert, creds.key)
        async with recording_server(config) as (port, protocols):
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(
                None, lambda: kernel_client_version(creds, port, client))
            await asyncio.wait_for(protocols[0].completed, WAIT)
            return got, protocols[0]._quic._version

    assert asyncio.run(run()) == (want, want)


@pytest.mark.parametrize("listener,client_versions,want", [
    (0, [QuicProtocolVersion.VERSION_2], QUIC_VERSION_V2),
    (QUIC_VERSION_V2, [QuicProtocolVersion.VERSION_1, QuicProtocolVersion.VERSION_2],
     QUIC_VERSION_V2),
    (QUIC_VERSION_V1, [QuicProtocolVersion.VERSION_2, QuicProtocolVersion.VERSION_1],
     QUIC_VERSION_V1),
], ids=["v2", "v1-switched-to-v2", "v2-switched-to-v1"])
def test_aioquic_client_versions_with_kernel_server(creds: Credentials, listener: int,
                                                    client_versions: list[int],
                                                    want: int) -> None:
    """aioquic's client starts in its first version and offers the others;
    a listener set to a version switches it there."""
    def set_version(lsk: socket.socket) -> None:
        if listener:
            sockopt.set_config(lsk, QuicConfig(version=listener))

    with kernel_server(creds, ALPN, lambda conn, res: sockopt.get_config(conn).version,
                       listen_setup=set_version) as server:
        async def run() -> int:
            config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                                       server_name="localhost", cafile=creds.ca,
                                       supported_versions=client_versions)
            async with connect("127.0.0.1", server.port, configuration=config,
                               create_protocol=RecordingProtocol,
                               wait_connected=True) as proto:
                assert isinstance(proto, RecordingProtocol)
                await asyncio.wait_for(proto.completed, WAIT)
                await asyncio.wait_for(proto.ping(), WAIT)
                return proto._quic._version

        got = asyncio.run(asyncio.wait_for(run(), WAIT * 2))
        assert (got, server.outcome()) == (want, want)
