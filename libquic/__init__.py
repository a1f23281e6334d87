"""libquic: Python API for the Linux in-kernel QUIC socket.

* :mod:`libquic.uapi` mirrors the kernel UAPI (constants and structs);
* :mod:`libquic.cmsg` sends and receives with the stream/handshake cmsgs;
* :mod:`libquic.events` decodes notifications;
* :mod:`libquic.sockopt` wraps the ``SOL_QUIC`` socket options;
* :mod:`libquic.handshake` runs the TLS 1.3 handshake on a kernel socket,
  built on the sans-I/O engine in :mod:`libquic.tls`;
* :mod:`libquic.connection` and :mod:`libquic.aio` are the connection API
  (blocking and asyncio), exported here too;
* :mod:`libquic.tools` holds the installed commands (``quic-demo``,
  ``quic-handshaked``).
"""

from libquic.aio import AsyncQuicConnection, AsyncQuicListener, AsyncQuicStream
from libquic.cmsg import QuicMessage, quic_recvmsg, quic_recvmsg_into, quic_sendmsg
from libquic.connection import QuicConnection, QuicListener, QuicStream
from libquic.events import QuicEventMessage, decode_event
from libquic.handshake import (
    HandshakeDriver,
    HandshakeResult,
    HandshakeSession,
    quic_client_handshake,
    quic_client_handshake_async,
    quic_handshake,
    quic_handshake_async,
    quic_server_handshake,
    quic_server_handshake_async,
)
from libquic.tls import AlertDescription, ClientAuth, ExternalPSK, SessionData, TLSError
from libquic.uapi import IPPROTO_QUIC, SOL_QUIC, quic_socket

__all__ = [
    "IPPROTO_QUIC",
    "SOL_QUIC",
    "AlertDescription",
    "AsyncQuicConnection",
    "AsyncQuicListener",
    "AsyncQuicStream",
    "ClientAuth",
    "ExternalPSK",
    "HandshakeDriver",
    "HandshakeResult",
    "HandshakeSession",
    "QuicConnection",
    "QuicEventMessage",
    "QuicListener",
    "QuicMessage",
    "QuicStream",
    "SessionData",
    "TLSError",
    "decode_event",
    "quic_client_handshake",
    "quic_client_handshake_async",
    "quic_handshake",
    "quic_handshake_async",
    "quic_recvmsg",
    "quic_recvmsg_into",
    "quic_sendmsg",
    "quic_server_handshake",
    "quic_server_handshake_async",
    "quic_socket",
]
