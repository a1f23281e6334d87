"""A high-level, blocking API: connections, listeners and streams.

The kernel delivers data for all streams of a connection through one
``recvmsg``; :class:`QuicConnection` reads on demand and files each message
under its stream, so a :class:`QuicStream` reads like a file::

    with QuicConnection.connect("example.net", 4433, alpns=["echo"]) as conn:
        stream = conn.open_stream()
        stream.write(b"hello", fin=True)
        print(stream.read())

Messages for other streams, datagrams and events are kept until asked for;
memory is bounded by the kernel's flow control, since a stream nobody reads
stops being credited.
"""

from __future__ import annotations

import collections
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from libquic import sockopt
from libquic.cmsg import QuicMessage, quic_recvmsg, quic_sendmsg
from libquic.events import QuicEventMessage
from libquic.handshake import HandshakeResult, quic_client_handshake, quic_server_handshake
from libquic.uapi import (
    MSG_QUIC_DATAGRAM,
    QUIC_STREAM_TYPE_SERVER_MASK,
    QUIC_STREAM_TYPE_UNI_MASK,
    QuicMsgFlag,
    quic_socket,
)

DEFAULT_TIMEOUT = 30.0
RECV_SIZE = 65536


def _family_for(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@dataclass
class _StreamBuffer:
    chunks: collections.deque[bytes] = field(default_factory=collections.deque)
    fin: bool = False


class QuicStream:
    """One QUIC stream of a :class:`QuicConnection`."""

    def __init__(self, conn: QuicConnection, stream_id: int) -> None:
        self.conn = conn
        self.id = stream_id

    @property
    def is_uni(self) -> bool:
        return bool(self.id & QUIC_STREAM_TYPE_UNI_MASK)

    @property
    def is_local(self) -> bool:
        return bool(self.id & QUIC_STREAM_TYPE_SERVER_MASK) == self.conn.is_server

    @property
    def readable(self) -> bool:
        return not (self.is_uni and self.is_local)

    @property
    def writable(self) -> bool:
        return not (self.is_uni and not self.is_local)

    def write(self, data: bytes | bytearray | memoryview, fin: bool = False) -> None:
        """Send all of ``data``; with ``fin`` the stream's send side ends after it."""
        if not self.writable:
            raise OSError(f"stream {self.id} is the peer's unidirectional stream: read-only")
        self.conn._send_all(data, self.id, QuicMsgFlag.STREAM_FIN if fin else 0)

    def finish(self) -> None:
        """End the send side (a FIN with no data)."""
        self.write(b"", fin=True)

    def read(self, size: int = -1, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        """Up to ``size`` bytes (all until the end with -1); ``b""`` at the end."""
        if not self.readable:
            raise OSError(f"stream {self.id} is our unidirectional stream: write-only")
        return self.conn._read_stream(self.id, size, timeout)

    def read_all(self, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        """Everything until the peer's FIN."""
        return self.read(-1, timeout)

    def reset(self, errcode: int = 0) -> None:
        """Abort sending (RESET_STREAM) with an application error code."""
        sockopt.stream_reset(self.conn.sock, self.id, errcode)

    def stop_sending(self, errcode: int = 0) -> None:
        """Ask the peer to stop sending (STOP_SENDING)."""
        sockopt.stream_stop_sending(self.conn.sock, self.id, errcode)

    def __repr__(self) -> str:
        kind = "uni" if self.is_uni else "bidi"
        side = "local" if self.is_local else "peer"
        return f"<QuicStream {self.id} {kind} {side}>"


class QuicConnection:
    """An established QUIC connection on a kernel socket (blocking API)."""

    def __init__(self, sock: socket.socket, handshake: HandshakeResult) -> None:
        self.sock = sock
        self.handshake = handshake
        self.is_server = handshake.is_server
        self._streams: dict[int, _StreamBuffer] = {}
        self._new_streams: collections.deque[int] = collections.deque()
        self._datagrams: collections.deque[bytes] = collections.deque()
        self._events: collections.deque[QuicEventMessage] = collections.deque()

    # -- construction ---------------------------------------------------------
    @classmethod
    def connect(cls, host: str, port: int, *, alpns: Sequence[str] | None = None,
                hostname: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                **handshake_kw: Any) -> QuicConnection:
        """Connect and run the client handshake.

        ``hostname`` (default ``host``) is checked against the server
        certificate; further keywords go to :func:`quic_client_handshake`
        (``cafile``, ``pkey_file`` for PSK, ``session_data``...).
        """
        sock = quic_socket(_family_for(host))
        try:
            sock.settimeout(timeout)
            if alpns:
                sockopt.set_alpn(sock, list(alpns))
            sock.connect((host, port))
            result = quic_client_handshake(sock, hostname=hostname or host, timeout=timeout,
                                           **handshake_kw)
        except BaseException:
            sock.close()
            raise
        return cls(sock, result)

    # -- streams ---------------------------------------------------------------
    def open_stream(self, uni: bool = False) -> QuicStream:
        """Open the next local stream (bidirectional unless ``uni``)."""
        flags = QuicMsgFlag.STREAM_UNI if uni else 0
        sid = sockopt.stream_open(self.sock, -1, flags)
        self._streams.setdefault(sid, _StreamBuffer())
        return QuicStream(self, sid)

    def accept_stream(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicStream:
        """The next stream the peer opened (waits for its first data)."""
        deadline = _deadline(timeout)
        while not self._new_streams:
            self._pump(deadline, "a new stream")
        return QuicStream(self, self._new_streams.popleft())

    # -- datagrams and events ---------------------------------------------------
    def send_datagram(self, data: bytes) -> None:
        """Send one unreliable DATAGRAM frame (RFC 9221)."""
        quic_sendmsg(self.sock, data, flags=MSG_QUIC_DATAGRAM)

    def recv_datagram(self, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        deadline = _deadline(timeout)
        while not self._datagrams:
            self._pump(deadline, "a datagram")
        return self._datagrams.popleft()

    def enable_event(self, event: int, on: bool = True) -> None:
        sockopt.set_event(self.sock, event, on)  # type: ignore[arg-type]

    def next_event(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicEventMessage:
        """The next enabled event (see :func:`enable_event`)."""
        deadline = _deadline(timeout)
        while not self._events:
            self._pump(deadline, "an event")
        return self._events.popleft()

    # -- closing ---------------------------------------------------------------
    def close(self, errcode: int = 0, phrase: str = "") -> None:
        """Close the connection, telling the peer ``errcode`` and ``phrase``."""
        if self.sock.fileno() < 0:
            return
        if errcode or phrase:
            sockopt.set_connection_close(self.sock, errcode, phrase)
        self.sock.close()

    def __enter__(self) -> QuicConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------
    def _send_all(self, data: bytes | bytearray | memoryview, sid: int, flags: int) -> None:
        # A blocking send normally takes everything; after a partial one
        # (a signal), resend the rest: the kernel applies FIN only when the
        # whole buffer was taken.
        view = memoryview(data).cast("B")
        while True:
            n = quic_sendmsg(self.sock, view, sid, flags)
            if n >= len(view):
                return
            view = view[n:]

    def _read_stream(self, sid: int, size: int, timeout: float | None) -> bytes:
        deadline = _deadline(timeout)
        buf = self._streams.setdefault(sid, _StreamBuffer())
        out = bytearray()
        while size < 0 or len(out) < size:
            if buf.chunks:
                chunk = buf.chunks.popleft()
                take = len(chunk) if size < 0 else min(len(chunk), size - len(out))
                out += chunk[:take]
                if take < len(chunk):
                    buf.chunks.appendleft(chunk[take:])
                continue
            if buf.fin or (out and size >= 0):
                break
            self._pump(deadline, f"data on stream {sid}")
        return bytes(out)

    def _pump(self, deadline: float | None, waiting_for: str) -> None:
        """Receive one message and file it; TimeoutError past ``deadline``."""
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError(f"timed out waiting for {waiting_for}")
        self.sock.settimeout(remaining)
        try:
            msg = quic_recvmsg(self.sock, RECV_SIZE)
        except TimeoutError:
            raise TimeoutError(f"timed out waiting for {waiting_for}") from None
        self._file(msg, waiting_for)

    def _file(self, msg: QuicMessage, waiting_for: str) -> None:
        if msg.is_event:
            self._events.append(msg.event())
        elif msg.is_datagram:
            self._datagrams.append(msg.data)
        elif msg.stream_id is not None:
            sid = msg.stream_id
            if sid not in self._streams:
                self._streams[sid] = _StreamBuffer()
                if bool(sid & QUIC_STREAM_TYPE_SERVER_MASK) != self.is_server:
                    self._new_streams.append(sid)
            buf = self._streams[sid]
            if msg.data:
                buf.chunks.append(msg.data)
            buf.fin = buf.fin or msg.fin
        elif not msg.data:
            raise ConnectionError(f"connection closed while waiting for {waiting_for}")


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


class QuicListener:
    """A listening QUIC socket whose :meth:`accept` returns established connections."""

    def __init__(self, host: str, port: int, *, alpns: Sequence[str], cert_file: str | None,
                 key_file: str, backlog: int = 16, **handshake_kw: Any) -> None:
        """``cert_file``/``key_file`` for certificates; ``cert_file=None`` makes
        ``key_file`` a PSK file.  Further keywords go to :func:`quic_server_handshake`."""
        self.cert_file = cert_file
        self.key_file = key_file
        self.handshake_kw = handshake_kw
        self.sock = quic_socket(_family_for(host))
        try:
            sockopt.set_alpn(self.sock, list(alpns))
            self.sock.bind((host, port))
            self.sock.listen(backlog)
        except BaseException:
            self.sock.close()
            raise

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def accept(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicConnection:
        """Accept the next connection and run the server handshake on it."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        try:
            conn.settimeout(timeout)
            result = quic_server_handshake(conn, self.key_file, self.cert_file,
                                           timeout=timeout, **self.handshake_kw)
        except BaseException:
            conn.close()
            raise
        return QuicConnection(conn, result)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> QuicListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
