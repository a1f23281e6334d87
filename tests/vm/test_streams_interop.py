"""Stream data between the kernel module and aioquic, both directions,
several streams at once (and a datagram each way)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import DatagramFrameReceived, QuicEvent, StreamDataReceived

from kquictest.aiopeer import StreamAnswerer, free_udp_port, kernel_server
from kquictest.quicpair import WAIT, Credentials
from kquictest.streampair import recv_msg, recv_stream
from libquic import sockopt
from libquic.cmsg import quic_sendmsg
from libquic.handshake import quic_client_handshake
from libquic.uapi import (
    MSG_QUIC_DATAGRAM,
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    QuicTransportParam,
    quic_socket,
)

pytestmark = pytest.mark.timeout(180)

ALPN = "interop"
BLOBS = {sid: bytes([sid % 251 + 1]) * (150_000 + sid * 1000) for sid in (0, 4, 8, 12)}


class EchoProtocol(StreamAnswerer):
    """Echo every stream back when it ends, and every datagram."""

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, DatagramFrameReceived):
            self._quic.send_datagram_frame(b"echo:" + event.data)
            self.transmit()
        else:
            super().quic_event_received(event)


def test_kernel_client_streams_to_aioquic_server(creds: Credentials) -> None:
    async def run() -> tuple[dict[int, bytes], bytes]:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN],
                                   max_datagram_frame_size=1400)
        config.load_cert_chain(creds.cert, creds.key)
        port = free_udp_port("127.0.0.1")
        server = await serve("127.0.0.1", port, configuration=config,
                             create_protocol=EchoProtocol)
        cli = quic_socket(socket.AF_INET)
        loop = asyncio.get_running_loop()
        try:
            cli.settimeout(WAIT)
            sockopt.set_alpn(cli, [ALPN])
            sockopt.set_transport_param(cli, QuicTransportParam(max_datagram_frame_size=1400))
            cli.connect(("127.0.0.1", port))
            await loop.run_in_executor(None, lambda: quic_client_handshake(
                cli, hostname="localhost", cafile=creds.ca, timeout=WAIT))

            def talk() -> tuple[dict[int, bytes], bytes]:
                for sid, blob in BLOBS.items():
                    quic_sendmsg(cli, blob, sid, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
                quic_sendmsg(cli, b"dg", flags=MSG_QUIC_DATAGRAM)
                others: list = []
                got = recv_stream(cli, len(BLOBS), timeout=60, others=others)
                dgs = [m.data for m in others if m.is_datagram]
                if not dgs:
                    m = recv_msg(cli)
                    assert m.is_datagram
                    dgs = [m.data]
                return got, dgs[0]

            return await loop.run_in_executor(None, talk)
        finally:
            cli.close()
            server.close()

    got, dg = asyncio.run(run())
    assert got == BLOBS
    assert dg == b"echo:dg"


def test_aioquic_client_streams_to_kernel_server(creds: Credentials) -> None:
    def serve_one(conn: socket.socket, _res: object) -> dict[int, bytes]:
        others: list = []
        got = recv_stream(conn, 3, timeout=60, others=others)
        for sid, data in got.items():
            quic_sendmsg(conn, data[::-1], sid, MSG_QUIC_STREAM_FIN)
        dgs = [m for m in others if m.is_datagram]
        m = dgs[0] if dgs else recv_msg(conn)
        assert m.is_datagram
        quic_sendmsg(conn, b"echo:" + m.data, flags=MSG_QUIC_DATAGRAM)
        return got

    blobs = [bytes([i + 1]) * (120_000 + 7 * i) for i in range(3)]

    async def run(port: int) -> tuple[dict[int, bytes], bytes]:
        config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                                   server_name="localhost", cafile=creds.ca,
                                   max_datagram_frame_size=1400)
        got: dict[int, bytearray] = {}
        ended: set[int] = set()
        done = asyncio.get_running_loop().create_future()
        dgram = asyncio.get_running_loop().create_future()

        class Client(QuicConnectionProtocol):
            def quic_event_received(self, event: QuicEvent) -> None:
                if isinstance(event, StreamDataReceived):
                    got.setdefault(event.stream_id, bytearray()).extend(event.data)
                    if event.end_stream:
                        ended.add(event.stream_id)
                    if len(ended) == 3 and not done.done():
                        done.set_result(None)
                elif isinstance(event, DatagramFrameReceived) and not dgram.done():
                    dgram.set_result(event.data)

        async with connect("127.0.0.1", port, configuration=config,
                           create_protocol=Client, wait_connected=True) as proto:
            for blob in blobs:
                sid = proto._quic.get_next_available_stream_id()
                proto._quic.send_stream_data(sid, blob, end_stream=True)
            proto._quic.send_datagram_frame(b"hi")
            proto.transmit()
            await asyncio.wait_for(done, 60)
            d = await asyncio.wait_for(dgram, 30)
        return {k: bytes(v) for k, v in got.items()}, d

    tp = QuicTransportParam(max_datagram_frame_size=1400)
    with kernel_server(creds, ALPN, serve_one, tp=tp) as server:
        echoed, d = asyncio.run(asyncio.wait_for(run(server.port), 120))
        got = server.outcome()
    assert got == {4 * i: blobs[i] for i in range(3)}
    assert echoed == {4 * i: blobs[i][::-1] for i in range(3)}
    assert d == b"echo:hi"
