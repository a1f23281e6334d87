"""Handshake interoperability with aioquic, an independent QUIC implementation
(stream and datagram interop: test_streams_interop.py).

aioquic runs in userspace on a UDP socket; our side is the kernel module
driven by libquic.  Both directions: kernel client to aioquic server, and
aioquic client to kernel server.
"""

from __future__ import annotations

import asyncio

import pytest
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted, QuicEvent

from kquictest.aiopeer import free_udp_port, kernel_client_handshake, kernel_server
from kquictest.quicpair import WAIT, Credentials
from libquic.handshake import HandshakeResult

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


@pytest.mark.parametrize("cipher", [None, "TLS_CHACHA20_POLY1305_SHA256"])
def test_kernel_client_to_aioquic_server(creds: Credentials, cipher: str | None) -> None:
    from aioquic.tls import CipherSuite

    async def run() -> tuple[HandshakeResult, HandshakeCompleted]:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN])
        config.load_cert_chain(creds.cert, creds.key)
        if cipher:
            config.cipher_suites = [CipherSuite[cipher.removeprefix("TLS_")]]
        port = free_udp_port("127.0.0.1")
        protocols: list[RecordingProtocol] = []

        def make(*args: object, **kwargs: object) -> RecordingProtocol:
            p = RecordingProtocol(*args, **kwargs)
            protocols.append(p)
            return p

        server = await serve("127.0.0.1", port, configuration=config, create_protocol=make)
        try:
            result = await kernel_client_handshake(creds, port, ALPN)
            done = await asyncio.wait_for(protocols[0].completed, WAIT)
            return result, done
        finally:
            server.close()

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
