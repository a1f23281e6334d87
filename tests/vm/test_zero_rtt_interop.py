"""0-RTT interop with aioquic, both directions: a resumed client sends its
request as early data and the server accepts it."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent, StreamDataReceived
from aioquic.tls import SessionTicket

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import StreamAnswerer, free_udp_port
from kquictest.quicpair import WAIT, Credentials
from kquictest.zerortt import ALPN, Capture, hash_server, serving, zrtt_listener
from libquic.connection import QuicConnection

pytestmark = pytest.mark.timeout(180)


class Collect(QuicConnectionProtocol):
    """Gather stream 0; the base class's stream objects are not used."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.data = bytearray()
        self.done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived) and event.stream_id == 0:
            self.data += event.data
            if event.end_stream and not self.done.done():
                self.done.set_result(bytes(self.data))
        elif not isinstance(event, StreamDataReceived):
            super().quic_event_received(event)


async def aioquic_request(port: int, creds: Credentials, payload: bytes,
                          ticket: SessionTicket | None,
                          tickets: list[SessionTicket]) -> tuple[bytes, bool]:
    """Send ``payload`` on stream 0 right away (0-RTT with ``ticket``);
    return the answer and whether the early data was accepted."""
    config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                               server_name="localhost", cafile=creds.ca,
                               session_ticket=ticket)
    async with connect("127.0.0.1", port, configuration=config, create_protocol=Collect,
                       session_ticket_handler=tickets.append,
                       wait_connected=False) as proto:
        assert isinstance(proto, Collect)
        proto._quic.send_stream_data(0, payload, end_stream=True)
        proto.transmit()
        answer = await asyncio.wait_for(proto.done, WAIT)
        accepted = bool(proto._quic.tls.early_data_accepted)
        if ticket is None:  # wait for the ticket of the first connection
            for _ in range(100):
                if tickets:
                    break
                await asyncio.sleep(0.05)
    return answer, accepted


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_aioquic_client_0rtt_to_kernel_server(creds: Credentials) -> None:
    payload = os.urandom(2500)
    tickets: list[SessionTicket] = []
    with zrtt_listener(creds, early_data=True) as lsk:
        port = lsk.address[1]
        with serving(lsk, hash_server) as first:
            answer, accepted = asyncio.run(aioquic_request(port, creds, b"one", None, tickets))
        assert not accepted and answer.decode() == hashlib.sha256(b"one").hexdigest()
        assert not isinstance(first[0], BaseException), first
        assert tickets, "aioquic got no session ticket"

        cap = Capture()
        before = qt.snmp()
        try:
            with serving(lsk, hash_server) as second:
                answer, accepted = asyncio.run(
                    aioquic_request(port, creds, payload, tickets[-1], tickets))
            lengths = cap.zero_rtt_lengths(port)
        finally:
            cap.close()
        after = qt.snmp()
    if isinstance(second[0], BaseException):
        raise second[0]
    size, digest, srv_accepted = second[0]  # type: ignore[misc]
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    assert answer.decode() == digest
    assert accepted and srv_accepted
    assert lengths, "no 0-RTT packet on the wire"
    assert after["QuicPkt0RttRcv"] > before["QuicPkt0RttRcv"]


class HashServer(StreamAnswerer):
    """aioquic server side: answer each stream with the SHA-256 of its data."""

    def answer(self, data: bytes) -> bytes:
        return hashlib.sha256(data).hexdigest().encode()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_kernel_client_0rtt_to_aioquic_server(creds: Credentials) -> None:
    payload = os.urandom(2500)
    store: dict[bytes, SessionTicket] = {}

    def kernel_client(port: int) -> tuple[str, bool, dict[str, int]]:
        kw = dict(alpns=[ALPN], hostname="localhost", cafile=creds.ca, timeout=WAIT)
        with QuicConnection.connect("127.0.0.1", port, **kw) as cli:  # type: ignore[arg-type]
            stream = cli.open_stream()
            stream.write(b"one", fin=True)
            assert stream.read_all(WAIT).decode() == hashlib.sha256(b"one").hexdigest()
            session = cli.session_data(timeout=10)
        assert session, "no session ticket from aioquic"
        before = qt.snmp()
        with QuicConnection.connect("127.0.0.1", port, session_data=session,  # type: ignore[arg-type]
                                    early_data=payload, early_fin=True, **kw) as cli:
            assert cli.early_stream is not None
            answer = cli.early_stream.read_all(WAIT).decode()
            accepted = cli.early_data_accepted
        after = qt.snmp()
        return answer, accepted, {k: after[k] - before[k] for k in after}

    async def run() -> tuple[str, bool, dict[str, int]]:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN])
        config.load_cert_chain(creds.cert, creds.key)
        port = free_udp_port("127.0.0.1")
        server = await serve("127.0.0.1", port, configuration=config,
                             create_protocol=HashServer,
                             session_ticket_fetcher=lambda t: store.pop(t, None),
                             session_ticket_handler=lambda t: store.__setitem__(t.ticket, t))
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, kernel_client, port)
        finally:
            server.close()

    answer, accepted, delta = asyncio.run(asyncio.wait_for(run(), 120))
    assert answer == hashlib.sha256(payload).hexdigest()
    # aioquic took the 0-RTT data: accepted in TLS, sent at 0-RTT, never resent
    assert accepted
    assert delta["QuicPkt0RttSent"] >= 3
    assert delta["QuicPktLost"] == 0
