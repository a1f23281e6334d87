"""Helpers for interop tests against aioquic (a userspace QUIC peer).

``kernel_server`` runs one kernel QUIC server connection in a thread while
the test drives an aioquic client on its own event loop; ``free_udp_port``
finds a port for an aioquic server, and ``kernel_client_handshake`` runs a
kernel client's handshake against it from that loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.events import QuicEvent, StreamDataReceived

from kquictest.quicpair import WAIT, Credentials, listener
from libquic import sockopt
from libquic.handshake import HandshakeResult, quic_client_handshake, quic_server_handshake
from libquic.uapi import QuicTransportParam, quic_socket

T = TypeVar("T")
Serve = Callable[[socket.socket, HandshakeResult], T]
Setup = Callable[[socket.socket], None]


class StreamAnswerer(QuicConnectionProtocol):
    """aioquic server side: collect each stream and, when it ends, send back
    ``answer(data)`` with a FIN.

    Stream events are not passed on: the base class would make asyncio
    stream objects whose garbage collection ends the stream (an empty FIN).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.data: dict[int, bytearray] = {}

    def answer(self, data: bytes) -> bytes:
        return data

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            buf = self.data.setdefault(event.stream_id, bytearray())
            buf += event.data
            if event.end_stream:
                self._quic.send_stream_data(event.stream_id, self.answer(bytes(buf)),
                                            end_stream=True)
                self.transmit()
        else:
            super().quic_event_received(event)


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def kernel_client_handshake(creds: Credentials, port: int, alpn: str) -> HandshakeResult:
    """A kernel client's handshake with ``alpn`` to 127.0.0.1:``port`` (an
    aioquic server on the running loop), run in an executor thread."""
    cli = quic_socket(socket.AF_INET)
    try:
        cli.settimeout(WAIT)
        sockopt.set_alpn(cli, [alpn])
        cli.connect(("127.0.0.1", port))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: quic_client_handshake(
            cli, hostname="localhost", cafile=creds.ca, timeout=WAIT))
    finally:
        cli.close()


class KernelServer(Generic[T]):
    """``count`` kernel connections accepted and served one after another in
    a thread.

    ``outcomes()`` waits for the thread and returns what ``serve`` returned
    for each connection, or raises what the accept, a handshake or ``serve``
    raised; ``outcome()`` is the first connection's.
    """

    def __init__(self, lsk: socket.socket, creds: Credentials, serve: Serve[T],
                 count: int = 1, setup: Setup | None = None,
                 handshake_kw: dict[str, Any] | None = None) -> None:
        self.port: int = lsk.getsockname()[1]
        self._lsk = lsk
        self._creds = creds
        self._serve = serve
        self._count = count
        self._setup = setup
        self._handshake_kw = handshake_kw or {}
        self._conns: list[socket.socket] = []
        self._result: list[T] = []
        self._error: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for _ in range(self._count):
                conn, _ = self._lsk.accept()
                self._conns.append(conn)
                conn.settimeout(WAIT)
                if self._setup is not None:
                    self._setup(conn)
                res = quic_server_handshake(conn, self._creds.key, self._creds.cert,
                                            timeout=WAIT, **self._handshake_kw)
                self._result.append(self._serve(conn, res))
        except BaseException as exc:  # handed to the test by outcome()
            self._error.append(exc)

    def join(self) -> None:
        self._thread.join(WAIT * 2)
        if self._thread.is_alive():
            raise TimeoutError("the kernel server thread did not finish in time")

    def outcomes(self) -> list[T]:
        self.join()
        if self._error:
            raise self._error[0]
        return self._result

    def outcome(self) -> T:
        return self.outcomes()[0]

    def close(self) -> None:
        for conn in self._conns:
            conn.close()


@contextmanager
def kernel_server(creds: Credentials, alpn: str, serve: Serve[T], *,
                  tp: QuicTransportParam | None = None, count: int = 1,
                  setup: Setup | None = None, listen_setup: Setup | None = None,
                  handshake_kw: dict[str, Any] | None = None) -> Iterator[KernelServer[T]]:
    """Listen on 127.0.0.1 with ``alpn`` (and transport parameters ``tp``,
    and whatever ``listen_setup(lsk)`` sets before ``listen()``);
    for each of ``count`` connections: accept, ``setup(conn)`` (socket options
    and events that must precede the handshake), run the server handshake
    with the test certificate (and ``handshake_kw``, e.g. ``early_data``), then
    ``serve(conn, result)``.  Everything is closed on exit."""

    def listener_setup(lsk: socket.socket) -> None:
        if tp is not None:
            sockopt.set_transport_param(lsk, tp)
        if listen_setup is not None:
            listen_setup(lsk)

    with listener(alpns=[alpn], setup=listener_setup) as lsk:
        server: KernelServer[T] = KernelServer(lsk, creds, serve, count, setup,
                                                   handshake_kw)
        try:
            yield server
        finally:
            try:
                server.join()
            finally:
                server.close()
