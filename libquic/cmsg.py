"""Send and receive on QUIC sockets with the stream and handshake cmsgs.

``quic_sendmsg``/``quic_recvmsg`` are the Python forms of the C libquic
functions of the same names: the stream ID and stream flags travel in a
``QUIC_STREAM_INFO`` cmsg; ``MSG_QUIC_DATAGRAM`` and ``MSG_QUIC_NOTIFICATION``
travel in ``msg_flags``.  The handshake variants carry the crypto level in a
``QUIC_HANDSHAKE_INFO`` cmsg.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from libquic.events import QuicEventMessage, decode_event
from libquic.uapi import (
    MSG_DONTWAIT,
    MSG_QUIC_DATAGRAM,
    MSG_QUIC_NOTIFICATION,
    QUIC_HANDSHAKE_INFO,
    QUIC_STREAM_INFO,
    SOL_QUIC,
    QuicCryptoLevel,
    QuicHandshakeInfo,
    QuicMsgFlag,
    QuicStreamInfo,
)

__all__ = [
    "ANCBUF_SIZE",
    "STREAM_FLAGS",
    "Ancillary",
    "QuicCmsgs",
    "QuicMessage",
    "handshake_cmsg",
    "parse_cmsgs",
    "quic_recvmsg",
    "quic_recvmsg_into",
    "quic_sendmsg",
    "sendmsg_direct",
    "stream_cmsg",
]

# Stream flags belong in the cmsg's stream_flags; the rest go in msg_flags.
STREAM_FLAGS = (
    QuicMsgFlag.STREAM_NEW
    | QuicMsgFlag.STREAM_FIN
    | QuicMsgFlag.STREAM_UNI
    | QuicMsgFlag.STREAM_DONTWAIT
    | QuicMsgFlag.STREAM_SNDBLOCK
)

ANCBUF_SIZE = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(8)

Ancillary = list[tuple[int, int, bytes]]


def stream_cmsg(stream_id: int, stream_flags: int = 0) -> tuple[int, int, bytes]:
    """A ``QUIC_STREAM_INFO`` cmsg for ``socket.sendmsg``."""
    return SOL_QUIC, QUIC_STREAM_INFO, bytes(QuicStreamInfo(stream_id, stream_flags))


def handshake_cmsg(level: int) -> tuple[int, int, bytes]:
    """A ``QUIC_HANDSHAKE_INFO`` cmsg for ``socket.sendmsg``."""
    return SOL_QUIC, QUIC_HANDSHAKE_INFO, bytes(QuicHandshakeInfo(QuicCryptoLevel(level)))


@dataclass(frozen=True)
class QuicCmsgs:
    """The SOL_QUIC cmsgs found in a received message (last one of a type wins)."""

    stream: QuicStreamInfo | None = None
    handshake_level: QuicCryptoLevel | None = None


def parse_cmsgs(ancdata: Ancillary) -> QuicCmsgs:
    """Pick the QUIC cmsgs out of ``recvmsg`` ancillary data.

    Raises :class:`ValueError` for a truncated QUIC cmsg.
    """
    stream: QuicStreamInfo | None = None
    level: QuicCryptoLevel | None = None
    for cmsg_level, cmsg_type, data in ancdata:
        if cmsg_level != SOL_QUIC:
            continue
        if cmsg_type == QUIC_STREAM_INFO:
            if len(data) < 12:
                raise ValueError(f"QUIC_STREAM_INFO cmsg is {len(data)} bytes, expected 16")
            stream = QuicStreamInfo.from_buffer_copy(data.ljust(16, b"\0")[:16])
        elif cmsg_type == QUIC_HANDSHAKE_INFO:
            if len(data) < 1:
                raise ValueError("QUIC_HANDSHAKE_INFO cmsg is empty")
            level = QuicCryptoLevel(data[0])
    return QuicCmsgs(stream, level)


def sendmsg_direct(sock: Any, buffers: Sequence[Any], anc: Ancillary, flags: int) -> int:
    """``sock.sendmsg`` without Python's wait for writability first.

    On a socket with a timeout, Python polls for ``POLLOUT`` before every
    send.  Not every QUIC module reports ``POLLOUT`` before the handshake
    completes (the reference module does not), so handshake messages and
    0-RTT data would wait there for nothing.  Such a socket sends
    non-blocking here instead (:class:`BlockingIOError` when the kernel
    would block); blocking and non-blocking sockets send as they are.
    """
    gettimeout = getattr(sock, "gettimeout", None)
    timeout = gettimeout() if gettimeout is not None else None
    if not timeout:
        return int(sock.sendmsg(buffers, anc, flags))
    sock.setblocking(False)
    try:
        return int(sock.sendmsg(buffers, anc, flags))
    finally:
        sock.settimeout(timeout)


def quic_sendmsg(
    sock: socket.socket,
    data: bytes | bytearray | memoryview,
    stream_id: int = -1,
    flags: int = 0,
) -> int:
    """Send ``data`` on stream ``stream_id`` (``-1``: the latest stream).

    ``flags`` may mix stream flags (``MSG_QUIC_STREAM_*``, sent in the cmsg),
    ``MSG_QUIC_DATAGRAM`` (data goes out as a DATAGRAM frame, no stream) and
    ordinary ``MSG_*`` flags.  Returns the number of bytes accepted.
    With ``MSG_DONTWAIT`` it never waits, also on a socket with a timeout
    (:func:`sendmsg_direct`).
    """
    stream_flags = flags & STREAM_FLAGS
    msg_flags = flags & ~STREAM_FLAGS
    anc: Ancillary = []
    if not msg_flags & MSG_QUIC_DATAGRAM:
        anc.append(stream_cmsg(stream_id, stream_flags))
    if msg_flags & MSG_DONTWAIT:
        return sendmsg_direct(sock, [data], anc, msg_flags)
    return sock.sendmsg([data], anc, msg_flags)


@dataclass(frozen=True)
class QuicMessage:
    """One ``recvmsg`` result on a QUIC socket (``data`` is a view of the
    caller's buffer when it came from :func:`quic_recvmsg_into`)."""

    data: bytes | memoryview
    stream_id: int | None
    stream_flags: int
    msg_flags: int
    handshake_level: QuicCryptoLevel | None = None

    @property
    def is_event(self) -> bool:
        return bool(self.msg_flags & MSG_QUIC_NOTIFICATION)

    @property
    def is_datagram(self) -> bool:
        return bool(self.msg_flags & MSG_QUIC_DATAGRAM)

    @property
    def fin(self) -> bool:
        return bool(self.stream_flags & QuicMsgFlag.STREAM_FIN)

    def event(self) -> QuicEventMessage:
        """Decode this message as an event; :class:`ValueError` if it is none."""
        if not self.is_event:
            raise ValueError("this message is not a notification (MSG_QUIC_NOTIFICATION unset)")
        return decode_event(self.data)


def _message(data: bytes | memoryview, anc: Ancillary, msg_flags: int) -> QuicMessage:
    cm = parse_cmsgs(anc)
    return QuicMessage(
        data=data,
        stream_id=cm.stream.stream_id if cm.stream else None,
        stream_flags=cm.stream.stream_flags if cm.stream else 0,
        msg_flags=msg_flags,
        handshake_level=cm.handshake_level,
    )


def quic_recvmsg(sock: socket.socket, bufsize: int = 65536, flags: int = 0) -> QuicMessage:
    """Receive one message: stream data, a datagram, an event or handshake data."""
    data, anc, msg_flags, _addr = sock.recvmsg(bufsize, ANCBUF_SIZE, flags)
    return _message(data, anc, msg_flags)


def quic_recvmsg_into(sock: socket.socket, buf: bytearray | memoryview,
                      flags: int = 0) -> QuicMessage:
    """:func:`quic_recvmsg` into ``buf``, without a copy: the message's
    ``data`` is the view of ``buf`` that was filled."""
    view = memoryview(buf)
    n, anc, msg_flags, _addr = sock.recvmsg_into([view], ANCBUF_SIZE, flags)
    return _message(view[:n], anc, msg_flags)
