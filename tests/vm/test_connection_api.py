"""libquic's high-level API (QuicListener / QuicConnection / QuicStream) on the kernel."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kquictest.quicpair import WAIT, Credentials
from libquic.connection import QuicConnection, QuicListener
from libquic.uapi import QuicTransportParam

pytestmark = pytest.mark.timeout(240)

ALPN = "api-test"


@contextmanager
def connected(creds: Credentials, server: Callable[[QuicConnection], object],
              host: str = "127.0.0.1", client_kw: dict[str, Any] | None = None,
              **listener_kw: Any) -> Iterator[QuicConnection]:
    """A client connection whose server side runs ``server`` in a thread.

    The server's return value or exception is re-raised/checked on exit.
    """
    outcome: list[object] = []
    with QuicListener(host, 0, alpns=[ALPN], cert_file=creds.cert, key_file=creds.key,
                      **listener_kw) as lsk:
        def run() -> None:
            try:
                with lsk.accept(WAIT) as conn:
                    outcome.append(server(conn))
            except BaseException as exc:  # re-raised below
                outcome.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        try:
            with QuicConnection.connect(host, lsk.address[1], alpns=[ALPN], hostname="localhost",
                                        cafile=creds.ca, timeout=WAIT,
                                        **(client_kw or {})) as cli:
                yield cli
        finally:
            thread.join(WAIT * 2)
    assert outcome, "the server thread did not finish"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]


def echo_streams(n: int) -> Callable[[QuicConnection], int]:
    def serve(conn: QuicConnection) -> int:
        for _ in range(n):
            stream = conn.accept_stream(WAIT)
            data = stream.read_all(WAIT)
            stream.write(data[::-1], fin=True)
        return n
    return serve


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_echo_on_a_stream(creds: Credentials, host: str) -> None:
    with connected(creds, echo_streams(1), host) as cli:
        assert cli.handshake.alpn == ALPN
        stream = cli.open_stream()
        assert not stream.is_uni and stream.is_local and stream.id == 0
        stream.write(b"hello quic", fin=True)
        assert stream.read_all(WAIT) == b"ciuq olleh"
        assert stream.read(10, WAIT) == b""  # stays at the end


def test_interleaved_streams_keep_their_data_apart(creds: Credentials) -> None:
    count = 6
    with connected(creds, echo_streams(count)) as cli:
        streams = [cli.open_stream() for _ in range(count)]
        payloads = [os.urandom(20_000 + 1000 * i) for i in range(count)]
        # Write every stream half, then the rest, so frames interleave.
        for s, p in zip(streams, payloads, strict=True):
            s.write(p[: len(p) // 2])
        for s, p in zip(streams, payloads, strict=True):
            s.write(p[len(p) // 2:], fin=True)
        # Read in reverse order: earlier streams' data must wait, not mix.
        for s, p in reversed(list(zip(streams, payloads, strict=True))):
            assert s.read_all(WAIT) == p[::-1]


def test_unidirectional_streams_and_sides(creds: Credentials) -> None:
    def serve(conn: QuicConnection) -> bytes:
        incoming = conn.accept_stream(WAIT)
        assert incoming.is_uni and not incoming.is_local and not incoming.writable
        data = incoming.read_all(WAIT)
        reply = conn.open_stream(uni=True)
        assert reply.id & 0x3 == 0x3  # server-initiated, unidirectional
        reply.write(hashlib.sha256(data).digest(), fin=True)
        return data

    payload = os.urandom(100_000)
    with connected(creds, serve) as cli:
        out = cli.open_stream(uni=True)
        assert out.id & 0x3 == 0x2 and not out.readable
        with pytest.raises(OSError):
            out.read(1, WAIT)
        out.write(payload, fin=True)
        back = cli.accept_stream(WAIT)
        assert back.read_all(WAIT) == hashlib.sha256(payload).digest()


def test_read_times_out_cleanly(creds: Credentials) -> None:
    release = threading.Event()

    def serve(conn: QuicConnection) -> None:
        s = conn.accept_stream(WAIT)
        s.read_all(WAIT)
        release.wait(WAIT)  # never answers until the client has timed out
        s.write(b"late", fin=True)

    with connected(creds, serve) as cli:
        s = cli.open_stream()
        s.write(b"ping", fin=True)
        with pytest.raises(TimeoutError, match="stream 0"):
            s.read_all(timeout=1.0)
        release.set()
        assert s.read_all(WAIT) == b"late"


def test_datagrams(creds: Credentials) -> None:
    def serve(conn: QuicConnection) -> None:
        for _ in range(3):
            conn.send_datagram(conn.recv_datagram(WAIT).upper())

    tp = QuicTransportParam(max_datagram_frame_size=1400)
    with connected(creds, serve, transport_param=tp, client_kw={"transport_param": tp}) as cli:
        for word in (b"one", b"two", b"three"):
            cli.send_datagram(word)
            # Datagrams are unreliable, but loopback does not drop them.
            assert cli.recv_datagram(WAIT) == word.upper()


def test_asyncio_api(creds: Credentials) -> None:
    import asyncio

    from libquic.aio import AsyncQuicConnection, AsyncQuicListener

    async def run() -> None:
        async with AsyncQuicListener("127.0.0.1", 0, alpns=[ALPN], cert_file=creds.cert,
                                     key_file=creds.key) as lsk:
            async def serve() -> None:
                async with await lsk.accept(WAIT) as conn:
                    for _ in range(2):
                        s = await conn.accept_stream(WAIT)
                        await s.write((await s.read_all(WAIT)).upper(), fin=True)
                    # close when the client did: closing at once drops what
                    # is not sent yet (on the reference module, the end of
                    # the 300 kB reply)
                    with pytest.raises(ConnectionError):
                        await conn.accept_stream(WAIT)

            server = asyncio.ensure_future(serve())
            async with await AsyncQuicConnection.connect(
                    "127.0.0.1", lsk.address[1], alpns=[ALPN], hostname="localhost",
                    cafile=creds.ca, timeout=WAIT) as cli:
                a, b = await cli.open_stream(), await cli.open_stream()
                big = os.urandom(300_000)
                await asyncio.gather(a.write(b"abc", fin=True), b.write(big, fin=True))
                got_a, got_b = await asyncio.gather(a.read_all(WAIT), b.read_all(WAIT))
                assert got_a == b"ABC" and got_b == big.upper()
            await asyncio.wait_for(server, WAIT)

    asyncio.run(run())
