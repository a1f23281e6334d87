"""The high-level API for asyncio: the same objects as :mod:`libquic.connection`
with coroutine methods, never blocking the event loop::

    async with await AsyncQuicConnection.connect("example.net", 4433,
                                                 alpns=["echo"]) as conn:
        stream = await conn.open_stream()
        await stream.write(b"hello", fin=True)
        print(await stream.read())
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from typing import Any

from libquic import sockopt
from libquic.aioutil import wait_fd
from libquic.cmsg import quic_recvmsg, quic_sendmsg
from libquic.connection import (
    DEFAULT_TIMEOUT,
    EARLY_STREAM_ID,
    RECV_SIZE,
    SEND_RETRY_WAIT,
    Demux,
    ListenerBase,
    StreamBase,
    closed_error,
    configure,
    deadline_after,
    family_for,
    prepare_resumption,
    shrink_send_limit,
)
from libquic.events import QuicEventMessage
from libquic.handshake import (
    HandshakeResult,
    quic_client_handshake_async,
    quic_server_handshake_async,
)
from libquic.uapi import (
    MSG_DONTWAIT,
    MSG_QUIC_DATAGRAM,
    QuicConfig,
    QuicMsgFlag,
    QuicTransportParam,
    quic_socket,
)

__all__ = [
    "AsyncQuicConnection",
    "AsyncQuicListener",
    "AsyncQuicStream",
]


class AsyncQuicStream(StreamBase):
    """A stream of an :class:`AsyncQuicConnection` (coroutine read/write)."""

    def __init__(self, conn: AsyncQuicConnection, stream_id: int) -> None:
        super().__init__(conn.sock, conn.is_server, stream_id)
        self.conn = conn

    async def write(self, data: bytes | bytearray | memoryview, fin: bool = False) -> None:
        """Send all of ``data``; with ``fin`` the stream's send side ends after it."""
        self._check(write=True)
        await self.conn._send_all(data, self.id, QuicMsgFlag.STREAM_FIN if fin else 0)

    async def finish(self) -> None:
        await self.write(b"", fin=True)

    async def read(self, size: int = -1, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        """Up to ``size`` bytes (all until the end with -1); ``b""`` at the end."""
        self._check(write=False)
        return await self.conn._read_stream(self.id, size, timeout)

    async def read_all(self, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        return await self.read(-1, timeout)


class AsyncQuicConnection:
    """An established QUIC connection driven from asyncio."""

    def __init__(self, sock: socket.socket, handshake: HandshakeResult) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.handshake = handshake
        self.is_server = handshake.is_server
        self._demux = Demux(self.is_server)
        self._loop = asyncio.get_running_loop()
        self.early_stream: AsyncQuicStream | None = None  # connect(early_data=...)
        self._send_limit = 1 << 62  # bytes per sendmsg (see shrink_send_limit)

    @classmethod
    async def connect(cls, host: str, port: int, *, alpns: Sequence[str] | None = None,
                      hostname: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                      transport_param: QuicTransportParam | None = None,
                      config: QuicConfig | None = None, session_data: bytes | None = None,
                      early_data: bytes | None = None, early_fin: bool = False,
                      **handshake_kw: Any) -> AsyncQuicConnection:
        """Connect and run the client handshake (see ``QuicConnection.connect``,
        also for resuming with ``session_data`` and 0-RTT ``early_data``)."""
        sock = quic_socket(family_for(host))
        try:
            sock.setblocking(False)
            configure(sock, alpns, transport_param, config)
            sock.connect((host, port))  # QUIC's connect sends nothing and never blocks
            rest = prepare_resumption(sock, session_data, early_data, early_fin, handshake_kw)
            result = await quic_client_handshake_async(sock, hostname=hostname or host,
                                                       timeout=timeout, **handshake_kw)
        except BaseException:
            sock.close()
            raise
        conn = cls(sock, result)
        if early_data is not None:
            conn.early_stream = AsyncQuicStream(conn, EARLY_STREAM_ID)
            conn._demux.add_local(EARLY_STREAM_ID)
            if rest is not None:
                await conn.early_stream.write(rest, fin=early_fin)
        return conn

    @property
    def early_data_accepted(self) -> bool:
        """See ``QuicConnection.early_data_accepted``."""
        return self.handshake.early_data_accepted

    async def session_data(self, timeout: float = 5.0) -> bytes | None:
        """Client: resumption data for ``connect(session_data=...)``."""
        return await self.handshake.get_session_data_async(timeout=timeout)

    async def open_stream(self, uni: bool = False) -> AsyncQuicStream:
        sid = sockopt.stream_open(self.sock, -1, QuicMsgFlag.STREAM_UNI if uni else 0)
        self._demux.add_local(sid)
        return AsyncQuicStream(self, sid)

    async def accept_stream(self, timeout: float | None = DEFAULT_TIMEOUT) -> AsyncQuicStream:
        deadline = deadline_after(timeout)
        while not self._demux.new_streams:
            await self._pump(deadline, "a new stream")
        return AsyncQuicStream(self, self._demux.new_streams.popleft())

    async def send_datagram(self, data: bytes) -> None:
        await self._send(data, -1, MSG_QUIC_DATAGRAM)

    async def recv_datagram(self, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        deadline = deadline_after(timeout)
        while not self._demux.datagrams:
            await self._pump(deadline, "a datagram")
        return self._demux.datagrams.popleft()

    async def next_event(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicEventMessage:
        deadline = deadline_after(timeout)
        while not self._demux.events:
            await self._pump(deadline, "an event")
        return self._demux.events.popleft()

    def close(self, errcode: int = 0, phrase: str = "") -> None:
        if self.sock.fileno() < 0:
            return
        if errcode or phrase:
            sockopt.set_connection_close(self.sock, errcode, phrase)
        self.sock.close()

    async def __aenter__(self) -> AsyncQuicConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------
    async def _wait(self, write: bool, deadline: float | None, what: str) -> None:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            await asyncio.wait_for(wait_fd(self._loop, self.sock.fileno(), write), remaining)
        except TimeoutError:
            raise TimeoutError(f"timed out waiting for {what}") from None

    async def _send(self, data: bytes | memoryview, sid: int, flags: int) -> int:
        while True:
            try:
                return quic_sendmsg(self.sock, data, sid, flags | MSG_DONTWAIT)
            except BlockingIOError:
                await self._wait(True, None, f"send space on stream {sid}")

    async def _send_all(self, data: bytes | bytearray | memoryview, sid: int,
                        flags: int) -> None:
        view = memoryview(data).cast("B")
        while True:
            piece = view[:self._send_limit]
            last = len(piece) == len(view)
            try:
                n = await self._send(piece, sid,
                                     flags if last else flags & ~QuicMsgFlag.STREAM_FIN)
            except OSError as exc:
                self._send_limit = shrink_send_limit(exc, len(piece))
                if self._send_limit >= len(piece):
                    await asyncio.sleep(SEND_RETRY_WAIT)
                continue
            if last and n >= len(view):
                return
            view = view[n:]

    async def _read_stream(self, sid: int, size: int, timeout: float | None) -> bytes:
        deadline = deadline_after(timeout)
        out = bytearray()
        while not self._demux.take(sid, size, out):
            await self._pump(deadline, f"data on stream {sid}")
        return bytes(out)

    async def _pump(self, deadline: float | None, waiting_for: str) -> None:
        while True:
            try:
                msg = quic_recvmsg(self.sock, RECV_SIZE, MSG_DONTWAIT)
            except BlockingIOError:
                await self._wait(False, deadline, waiting_for)
                continue
            except OSError as exc:
                raise closed_error(exc, waiting_for) from exc
            self._demux.file(msg, waiting_for)
            return


class AsyncQuicListener(ListenerBase):
    """A listening socket whose :meth:`accept` coroutine returns established
    connections (arguments as for ``QuicListener``)."""

    def __init__(self, host: str, port: int, **kw: Any) -> None:
        super().__init__(host, port, **kw)
        self.sock.setblocking(False)

    async def accept(self, timeout: float | None = DEFAULT_TIMEOUT) -> AsyncQuicConnection:
        loop = asyncio.get_running_loop()
        conn, _ = await asyncio.wait_for(loop.sock_accept(self.sock), timeout)
        try:
            pkey_file, cert_file, kw = self.handshake_args(timeout)
            result = await quic_server_handshake_async(conn, pkey_file, cert_file, **kw)
        except BaseException:
            conn.close()
            raise
        return AsyncQuicConnection(conn, result)

    async def __aenter__(self) -> AsyncQuicListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
