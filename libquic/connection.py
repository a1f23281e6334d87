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
import errno
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from libquic import sockopt
from libquic.cmsg import QuicMessage, quic_recvmsg, quic_sendmsg
from libquic.events import QuicEventMessage
from libquic.handshake import (
    HandshakeResult,
    quic_client_handshake,
    quic_server_handshake,
    restore_session,
)
from libquic.tls.certs import CredentialFiles
from libquic.uapi import (
    MSG_DONTWAIT,
    MSG_QUIC_DATAGRAM,
    QUIC_STREAM_TYPE_SERVER_MASK,
    QUIC_STREAM_TYPE_UNI_MASK,
    QuicConfig,
    QuicMsgFlag,
    QuicTransportParam,
    quic_socket,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EARLY_STREAM_ID",
    "RECV_SIZE",
    "Demux",
    "ListenerBase",
    "QuicConnection",
    "QuicListener",
    "QuicStream",
    "StreamBase",
    "closed_error",
    "configure",
    "deadline_after",
    "family_for",
    "prepare_resumption",
    "shrink_send_limit",
]

DEFAULT_TIMEOUT = 30.0
RECV_SIZE = 65536


SEND_PIECE_MIN = 65536
SEND_RETRY_WAIT = 0.02  # seconds between retries of a refused piece


def shrink_send_limit(exc: OSError, size: int) -> int:
    """After a ``sendmsg`` of ``size`` bytes failed with ``exc``: the size
    to send at a time from now on (``exc`` itself is raised unless ENOSPC).

    Our module takes a stream write of any size and blocks (or gives
    EAGAIN) until it is queued.  The reference module refuses a write with
    ENOSPC when the stream's flow-control credit does not cover it on a
    non-blocking descriptor, which a socket with a timeout is.  Halving
    down to :data:`SEND_PIECE_MIN` keeps pieces within the credit; at that
    size the caller waits :data:`SEND_RETRY_WAIT` and retries until its
    timeout, like a blocked send.
    """
    if exc.errno != errno.ENOSPC:
        raise exc
    return max(SEND_PIECE_MIN, size // 2)


def closed_error(exc: OSError, waiting_for: str) -> OSError:
    """What a failed receive on an established connection means.

    When the peer closed the connection our module's recvmsg returns an
    empty message (EOF), which :class:`Demux` turns into ConnectionError;
    the reference module's fails with ENOTCONN instead.  Both become the
    same ConnectionError; any other error is returned as it is.
    """
    if exc.errno == errno.ENOTCONN:
        return ConnectionError(errno.ENOTCONN,
                               f"connection closed while waiting for {waiting_for}")
    return exc


def family_for(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def configure(sock: socket.socket, alpns: Sequence[str] | None,
              transport_param: QuicTransportParam | None, config: QuicConfig | None) -> None:
    """Apply the settings that must precede the handshake (and listen())."""
    if alpns:
        sockopt.set_alpn(sock, list(alpns))
    if transport_param is not None:
        sockopt.set_transport_param(sock, transport_param)
    if config is not None:
        sockopt.set_config(sock, config)


@dataclass
class _StreamBuffer:
    chunks: collections.deque[bytes] = field(default_factory=collections.deque)
    fin: bool = False


class Demux:
    """Files received messages by stream and kind; shared by the blocking and
    asyncio connections, which differ only in how they wait for the next one."""

    def __init__(self, is_server: bool) -> None:
        self.is_server = is_server
        self.streams: dict[int, _StreamBuffer] = {}
        self.new_streams: collections.deque[int] = collections.deque()
        self.datagrams: collections.deque[bytes] = collections.deque()
        self.events: collections.deque[QuicEventMessage] = collections.deque()

    def add_local(self, sid: int) -> None:
        self.streams.setdefault(sid, _StreamBuffer())

    def file(self, msg: QuicMessage, waiting_for: str) -> None:
        if msg.is_event:
            self.events.append(msg.event())
        elif msg.is_datagram:
            self.datagrams.append(msg.data)
        elif msg.stream_id is not None:
            sid = msg.stream_id
            if sid not in self.streams:
                self.streams[sid] = _StreamBuffer()
                if bool(sid & QUIC_STREAM_TYPE_SERVER_MASK) != self.is_server:
                    self.new_streams.append(sid)
            buf = self.streams[sid]
            if msg.data:
                buf.chunks.append(msg.data)
            buf.fin = buf.fin or msg.fin
        elif not msg.data:
            raise ConnectionError(f"connection closed while waiting for {waiting_for}")

    def take(self, sid: int, size: int, out: bytearray) -> bool:
        """Move buffered data of stream ``sid`` into ``out``; True when the read
        is satisfied (``size`` bytes, any data for a sized read, or the end)."""
        buf = self.streams.setdefault(sid, _StreamBuffer())
        while buf.chunks and (size < 0 or len(out) < size):
            chunk = buf.chunks.popleft()
            take = len(chunk) if size < 0 else min(len(chunk), size - len(out))
            out += chunk[:take]
            if take < len(chunk):
                buf.chunks.appendleft(chunk[take:])
        if size >= 0 and len(out) >= size:
            return True
        return (not buf.chunks and buf.fin) or (size >= 0 and bool(out))


class StreamBase:
    """What every stream object knows: its ID, kind and side, and the
    socket-option actions (shared by the blocking and asyncio streams)."""

    def __init__(self, sock: socket.socket, is_server: bool, stream_id: int) -> None:
        self._sock = sock
        self._is_server = is_server
        self.id = stream_id

    @property
    def is_uni(self) -> bool:
        return bool(self.id & QUIC_STREAM_TYPE_UNI_MASK)

    @property
    def is_local(self) -> bool:
        return bool(self.id & QUIC_STREAM_TYPE_SERVER_MASK) == self._is_server

    @property
    def readable(self) -> bool:
        return not (self.is_uni and self.is_local)

    @property
    def writable(self) -> bool:
        return not (self.is_uni and not self.is_local)

    def _check(self, write: bool) -> None:
        if write and not self.writable:
            raise OSError(f"stream {self.id} is the peer's unidirectional stream: read-only")
        if not write and not self.readable:
            raise OSError(f"stream {self.id} is our unidirectional stream: write-only")

    def reset(self, errcode: int = 0) -> None:
        """Abort sending (RESET_STREAM) with an application error code."""
        sockopt.stream_reset(self._sock, self.id, errcode)

    def stop_sending(self, errcode: int = 0) -> None:
        """Ask the peer to stop sending (STOP_SENDING)."""
        sockopt.stream_stop_sending(self._sock, self.id, errcode)

    def __repr__(self) -> str:
        kind = "uni" if self.is_uni else "bidi"
        side = "local" if self.is_local else "peer"
        return f"<{type(self).__name__} {self.id} {kind} {side}>"


class QuicStream(StreamBase):
    """One QUIC stream of a :class:`QuicConnection`."""

    def __init__(self, conn: QuicConnection, stream_id: int) -> None:
        super().__init__(conn.sock, conn.is_server, stream_id)
        self.conn = conn

    def write(self, data: bytes | bytearray | memoryview, fin: bool = False) -> None:
        """Send all of ``data``; with ``fin`` the stream's send side ends after it."""
        self._check(write=True)
        self.conn._send_all(data, self.id, QuicMsgFlag.STREAM_FIN if fin else 0)

    def finish(self) -> None:
        """End the send side (a FIN with no data)."""
        self.write(b"", fin=True)

    def read(self, size: int = -1, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        """Up to ``size`` bytes (all until the end with -1); ``b""`` at the end."""
        self._check(write=False)
        return self.conn._read_stream(self.id, size, timeout)

    def read_all(self, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        """Everything until the peer's FIN."""
        return self.read(-1, timeout)


class QuicConnection:
    """An established QUIC connection on a kernel socket (blocking API)."""

    def __init__(self, sock: socket.socket, handshake: HandshakeResult) -> None:
        self.sock = sock
        self.handshake = handshake
        self.is_server = handshake.is_server
        self._demux = Demux(self.is_server)
        self.early_stream: QuicStream | None = None  # connect(early_data=...)
        self._send_limit = 1 << 62  # bytes per sendmsg (see shrink_send_limit)

    @property
    def early_data_accepted(self) -> bool:
        """Whether the server took our 0-RTT data (or, on a server, we took
        the client's); refused early data was resent in 1-RTT."""
        return self.handshake.early_data_accepted

    def session_data(self, timeout: float = 5.0) -> bytes | None:
        """Client: resumption data for ``connect(session_data=...)``, with the
        server's transport parameters and token for 0-RTT (waits up to
        ``timeout`` seconds for the server's ticket)."""
        return self.handshake.get_session_data(timeout=timeout)

    # -- construction ---------------------------------------------------------
    @classmethod
    def connect(cls, host: str, port: int, *, alpns: Sequence[str] | None = None,
                hostname: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                transport_param: QuicTransportParam | None = None,
                config: QuicConfig | None = None, session_data: bytes | None = None,
                early_data: bytes | None = None, early_fin: bool = False,
                **handshake_kw: Any) -> QuicConnection:
        """Connect and run the client handshake.

        ``hostname`` (default ``host``) is checked against the server
        certificate; ``transport_param``/``config`` are overlaid on the
        socket's before the handshake; further keywords go to
        :func:`quic_client_handshake` (``cafile``, ``pkey_file`` for PSK...).

        ``session_data`` (from :meth:`session_data`) resumes a session.  With
        it, ``early_data`` is written on a new bidirectional stream
        (:attr:`early_stream`; ``early_fin`` ends it) before the handshake,
        so it goes out as 0-RTT; if the server refuses 0-RTT the kernel sends
        it again after the handshake.
        """
        sock = quic_socket(family_for(host))
        try:
            sock.settimeout(timeout)
            configure(sock, alpns, transport_param, config)
            sock.connect((host, port))
            rest = prepare_resumption(sock, session_data, early_data, early_fin, handshake_kw)
            result = quic_client_handshake(sock, hostname=hostname or host, timeout=timeout,
                                           **handshake_kw)
        except BaseException:
            sock.close()
            raise
        conn = cls(sock, result)
        if early_data is not None:
            conn.early_stream = QuicStream(conn, EARLY_STREAM_ID)
            conn._demux.add_local(EARLY_STREAM_ID)
            if rest is not None:
                conn.early_stream.write(rest, fin=early_fin)
        return conn

    # -- streams ---------------------------------------------------------------
    def open_stream(self, uni: bool = False) -> QuicStream:
        """Open the next local stream (bidirectional unless ``uni``)."""
        flags = QuicMsgFlag.STREAM_UNI if uni else 0
        sid = sockopt.stream_open(self.sock, -1, flags)
        self._demux.add_local(sid)
        return QuicStream(self, sid)

    def accept_stream(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicStream:
        """The next stream the peer opened (waits for its first data)."""
        deadline = deadline_after(timeout)
        while not self._demux.new_streams:
            self._pump(deadline, "a new stream")
        return QuicStream(self, self._demux.new_streams.popleft())

    # -- datagrams and events ---------------------------------------------------
    def send_datagram(self, data: bytes) -> None:
        """Send one unreliable DATAGRAM frame (RFC 9221)."""
        quic_sendmsg(self.sock, data, flags=MSG_QUIC_DATAGRAM)

    def recv_datagram(self, timeout: float | None = DEFAULT_TIMEOUT) -> bytes:
        deadline = deadline_after(timeout)
        while not self._demux.datagrams:
            self._pump(deadline, "a datagram")
        return self._demux.datagrams.popleft()

    def enable_event(self, event: int, on: bool = True) -> None:
        sockopt.set_event(self.sock, event, on)  # type: ignore[arg-type]

    def next_event(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicEventMessage:
        """The next enabled event (see :func:`enable_event`)."""
        deadline = deadline_after(timeout)
        while not self._demux.events:
            self._pump(deadline, "an event")
        return self._demux.events.popleft()

    # -- closing ---------------------------------------------------------------
    def close(self, errcode: int = 0, phrase: str = "", linger: int | None = None) -> None:
        """Close the connection, telling the peer ``errcode`` and ``phrase``.

        Data the peer has not acknowledged yet is lost, unless ``linger``
        gives the seconds to wait for that first (``SO_LINGER``).
        """
        if self.sock.fileno() < 0:
            return
        if errcode or phrase:
            sockopt.set_connection_close(self.sock, errcode, phrase)
        if linger is not None:
            if linger < 0:
                raise ValueError(f"linger must be 0 or more seconds, not {linger}")
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, linger))
        self.sock.close()

    def __enter__(self) -> QuicConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------
    def _send_all(self, data: bytes | bytearray | memoryview, sid: int, flags: int) -> None:
        # A blocking send normally takes everything; after a partial one
        # (a signal), resend the rest: the kernel applies FIN only when the
        # whole buffer was taken.  Writes larger than the module takes at
        # once go in pieces, with the FIN on the last.
        view = memoryview(data).cast("B")
        deadline = deadline_after(self.sock.gettimeout())
        while True:
            piece = view[:self._send_limit]
            last = len(piece) == len(view)
            try:
                n = quic_sendmsg(self.sock, piece, sid,
                                 flags if last else flags & ~QuicMsgFlag.STREAM_FIN)
            except OSError as exc:
                self._send_limit = shrink_send_limit(exc, len(piece))
                if self._send_limit >= len(piece):
                    if deadline is not None and time.monotonic() >= deadline:
                        raise TimeoutError(f"timed out waiting for send space on stream "
                                           f"{sid}") from exc
                    time.sleep(SEND_RETRY_WAIT)
                continue
            if last and n >= len(view):
                return
            view = view[n:]

    def _read_stream(self, sid: int, size: int, timeout: float | None) -> bytes:
        deadline = deadline_after(timeout)
        out = bytearray()
        while not self._demux.take(sid, size, out):
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
        except OSError as exc:
            raise closed_error(exc, waiting_for) from exc
        self._demux.file(msg, waiting_for)


EARLY_STREAM_ID = 0  # the client's first bidirectional stream


def prepare_resumption(sock: socket.socket, session_data: bytes | None,
                       early_data: bytes | None, early_fin: bool,
                       handshake_kw: dict[str, Any]) -> bytes | None:
    """Before the client handshake: restore the session's kernel state and
    queue ``early_data`` on stream 0 (0-RTT); return what is left to write
    after the handshake (None: nothing).  ``handshake_kw`` gets the
    resumption settings."""
    if early_data is not None and not session_data:
        raise ValueError("early_data needs session_data from an earlier connection")
    if not session_data:
        return None
    restore_session(sock, session_data)
    handshake_kw.update(session_data=session_data, restore_session=False)
    if early_data is None:
        return None
    handshake_kw.setdefault("early_data", True)
    return _write_early(sock, early_data, early_fin)


def _write_early(sock: socket.socket, data: bytes, fin: bool) -> bytes | None:
    """Queue what the kernel takes now of ``data`` (without waiting: the
    handshake has not run yet); return the rest, for after the handshake, or
    None if all of it (and the FIN) was taken.  Without remembered transport
    parameters (old session data) the kernel takes nothing before the
    handshake (ENOTCONN)."""
    flags = QuicMsgFlag.STREAM_NEW | QuicMsgFlag.STREAM_DONTWAIT | MSG_DONTWAIT
    try:
        n = quic_sendmsg(sock, data, EARLY_STREAM_ID,
                         flags | (QuicMsgFlag.STREAM_FIN if fin else 0))
    except BlockingIOError:
        return data
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise
        return data
    return data[n:] if n < len(data) else None


def deadline_after(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


class ListenerBase:
    """A bound, listening QUIC socket with the server handshake settings
    (shared by the blocking and asyncio listeners)."""

    def __init__(self, host: str, port: int, *, alpns: Sequence[str], cert_file: str | None,
                 key_file: str, backlog: int = 16,
                 transport_param: QuicTransportParam | None = None,
                 config: QuicConfig | None = None, **handshake_kw: Any) -> None:
        """``cert_file``/``key_file`` for certificates; ``cert_file=None`` makes
        ``key_file`` a PSK file.  Further keywords go to :func:`quic_server_handshake`."""
        self.cert_file = cert_file
        self.key_file = key_file
        self.handshake_kw = handshake_kw
        self._credentials = CredentialFiles(cert_file, key_file) if cert_file else None
        self.sock = quic_socket(family_for(host))
        try:
            configure(self.sock, alpns, transport_param, config)
            self.sock.bind((host, port))
            self.sock.listen(backlog)
        except BaseException:
            self.sock.close()
            raise

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def handshake_args(self, timeout: float | None) -> tuple[str | None, str | None,
                                                              dict[str, Any]]:
        """``quic_server_handshake()``'s arguments for the next connection:
        the certificate chain and key as parsed objects, parsed again only
        when their files change."""
        kw = dict(self.handshake_kw, timeout=timeout)
        if self._credentials is None:
            return self.key_file, None, kw
        chain, key = self._credentials.load()
        kw.update(certificate_chain=chain, private_key=key)
        return None, None, kw

    def close(self) -> None:
        self.sock.close()


class QuicListener(ListenerBase):
    """A listening QUIC socket whose :meth:`accept` returns established connections."""

    def accept(self, timeout: float | None = DEFAULT_TIMEOUT) -> QuicConnection:
        """Accept the next connection and run the server handshake on it."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        try:
            conn.settimeout(timeout)
            pkey_file, cert_file, kw = self.handshake_args(timeout)
            result = quic_server_handshake(conn, pkey_file, cert_file, **kw)
        except BaseException:
            conn.close()
            raise
        return QuicConnection(conn, result)

    def __enter__(self) -> QuicListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
