"""Typed wrappers for the ``SOL_QUIC`` socket options.

Several QUIC options are read with an input value (``QUIC_SOCKOPT_EVENT``
passes the event type, ``STREAM_OPEN`` the wanted stream,
``TRANSPORT_PARAM`` the ``remote`` flag).  :meth:`socket.socket.getsockopt`
cannot pass input, so those go through libc's ``getsockopt`` directly.

Every function raises :class:`OSError` with the kernel's errno.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import ipaddress
import os
import socket
import struct
from typing import Any, Protocol, TypeVar

from libquic.features import module_features
from libquic.uapi import (
    SOL_QUIC,
    QuicConfig,
    QuicConnectionClose,
    QuicConnectionIdInfo,
    QuicCryptoSecret,
    QuicErrinfo,
    QuicEventOption,
    QuicEventType,
    QuicSockopt,
    QuicStreamInfo,
    QuicTransportParam,
)

__all__ = [
    "ALPN_MAX",
    "PY_GETSOCKOPT_MAX",
    "SESSION_TICKET_MAX",
    "TOKEN_MAX",
    "TRANSPORT_PARAM_EXT_MAX",
    "SockoptTarget",
    "get_alpn",
    "get_config",
    "get_connection_close",
    "get_connection_id",
    "get_event",
    "get_session_ticket",
    "get_token",
    "get_transport_param",
    "get_transport_param_ext",
    "getsockopt_bytes",
    "getsockopt_inout",
    "is_server",
    "key_update",
    "migrate",
    "set_alpn",
    "set_config",
    "set_connection_close",
    "set_connection_id",
    "set_crypto_secret",
    "set_event",
    "set_preferred_address",
    "set_session_ticket",
    "set_token",
    "set_transport_param",
    "set_transport_param_ext",
    "stream_open",
    "stream_reset",
    "stream_stop_sending",
]

_S = TypeVar("_S", bound=ctypes.Structure)


class SockoptTarget(Protocol):
    """What these functions need of a socket (a real one, or a test double)."""

    def fileno(self) -> int: ...
    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes: ...
    def setsockopt(self, level: int, optname: int, value: Any, *args: Any) -> None: ...

ALPN_MAX = 128
TRANSPORT_PARAM_EXT_MAX = 512
SESSION_TICKET_MAX = 4096
TOKEN_MAX = 120


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                ctypes.POINTER(ctypes.c_uint32)]
    libc.getsockopt.restype = ctypes.c_int
    return libc


def getsockopt_inout(sock: SockoptTarget, opt: int, value: bytes | bytearray,
                     size: int | None = None) -> bytes:
    """``getsockopt(SOL_QUIC, opt)`` with ``value`` passed in; returns what came back."""
    buf = ctypes.create_string_buffer(bytes(value).ljust(size or len(value), b"\0"))
    optlen = ctypes.c_uint32(len(buf.raw))
    if _libc().getsockopt(sock.fileno(), SOL_QUIC, opt, buf, ctypes.byref(optlen)) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"getsockopt({QuicSockopt(opt).name}): {os.strerror(err)}")
    if optlen.value > len(buf.raw):
        raise OSError(errno.EMSGSIZE, f"getsockopt({QuicSockopt(opt).name}) wants "
                      f"{optlen.value} bytes, more than the {len(buf.raw)} given")
    return buf.raw[: optlen.value]


# CPython's socket.getsockopt refuses a buflen above 1024.
PY_GETSOCKOPT_MAX = 1024


def getsockopt_bytes(sock: SockoptTarget, opt: int, size: int) -> bytes:
    """``getsockopt(SOL_QUIC, opt)`` into a buffer of up to ``size`` bytes."""
    if size <= PY_GETSOCKOPT_MAX or not isinstance(sock, socket.socket):
        return sock.getsockopt(SOL_QUIC, opt, size)
    return getsockopt_inout(sock, opt, b"", size)


def _get_struct(sock: SockoptTarget, opt: int, cls: type[_S], inval: _S | None = None) -> _S:
    size = ctypes.sizeof(cls)
    raw = (getsockopt_inout(sock, opt, bytes(inval)) if inval is not None
           else sock.getsockopt(SOL_QUIC, opt, size))
    return cls.from_buffer_copy(raw.ljust(size, b"\0")[:size])


def _set(sock: SockoptTarget, opt: int, value: bytes | ctypes.Structure | None) -> None:
    if value is None:
        sock.setsockopt(SOL_QUIC, opt, None, 0)
    else:
        sock.setsockopt(SOL_QUIC, opt, bytes(value))


# Events -------------------------------------------------------------------

def set_event(sock: SockoptTarget, event: QuicEventType, on: bool = True) -> None:
    """Enable or disable delivery of one event type."""
    _set(sock, QuicSockopt.EVENT, QuicEventOption(event, int(on)))


def get_event(sock: SockoptTarget, event: QuicEventType) -> bool:
    """Whether an event type is enabled."""
    return bool(_get_struct(sock, QuicSockopt.EVENT, QuicEventOption,
                            QuicEventOption(event, 0)).on)


# Streams ------------------------------------------------------------------

def stream_open(sock: SockoptTarget, stream_id: int = -1, flags: int = 0) -> int:
    """Open a stream (``-1``: the next one of the kind ``flags`` asks for); returns its ID."""
    info = _get_struct(sock, QuicSockopt.STREAM_OPEN, QuicStreamInfo,
                       QuicStreamInfo(stream_id, flags))
    return int(info.stream_id)


def stream_reset(sock: SockoptTarget, stream_id: int, errcode: int) -> None:
    """Reset the sending side of a stream (RESET_STREAM) with an application error code."""
    _set(sock, QuicSockopt.STREAM_RESET, QuicErrinfo(stream_id, errcode))


def stream_stop_sending(sock: SockoptTarget, stream_id: int, errcode: int) -> None:
    """Ask the peer to stop sending on a stream (STOP_SENDING)."""
    _set(sock, QuicSockopt.STREAM_STOP_SENDING, QuicErrinfo(stream_id, errcode))


# Connection ---------------------------------------------------------------

def get_connection_id(sock: SockoptTarget, dest: bool = False) -> QuicConnectionIdInfo:
    """The active and lowest valid source (or destination) connection ID numbers."""
    return _get_struct(sock, QuicSockopt.CONNECTION_ID, QuicConnectionIdInfo,
                       QuicConnectionIdInfo(dest=int(dest)))


def set_connection_id(sock: SockoptTarget, *, dest: bool = False, active: int = 0,
                      prior_to: int = 0) -> None:
    """Switch the active connection ID and/or retire those numbered below ``prior_to``."""
    _set(sock, QuicSockopt.CONNECTION_ID,
         QuicConnectionIdInfo(dest=int(dest), active=active, prior_to=prior_to))


def set_connection_close(sock: SockoptTarget, errcode: int, phrase: str = "",
                         frame: int = 0) -> None:
    """The application error code and reason phrase close() will send."""
    raw = phrase.encode()
    if len(raw) >= 64:
        raise ValueError(f"close phrase is {len(raw)} bytes; at most 63 fit")
    close = QuicConnectionClose(errcode=errcode, frame=frame)
    ctypes.memmove(close.phrase, raw, len(raw))
    _set(sock, QuicSockopt.CONNECTION_CLOSE, close)


def get_connection_close(sock: SockoptTarget) -> QuicConnectionClose:
    """The peer's close information (error code, frame type, phrase) once it
    closed; before that, ours as set (frame type 0)."""
    return _get_struct(sock, QuicSockopt.CONNECTION_CLOSE, QuicConnectionClose)


def migrate(sock: SockoptTarget, address: tuple[str, int]) -> None:
    """Move an established connection to a new local address (port 0: any).

    The kernel validates the new path and raises CONNECTION_MIGRATION when
    it is used; ``EAGAIN`` while a migration is pending, ``EPERM`` if the
    server sent disable_active_migration.  A server may migrate too (as
    with the reference module); its peer validates the new address before
    following.  On an accepted socket before its handshake the same option
    sets the preferred address instead: see :func:`set_preferred_address`.

    Port 0 lets our module choose the port; the reference module refuses
    port 0 (EINVAL), so on other modules libquic picks a free UDP port of
    that address itself.
    """
    host, port = address[0], address[1]
    if port == 0 and not module_features().is_kquic:
        port = _free_udp_port(host)
    _set(sock, QuicSockopt.CONNECTION_MIGRATION, _sockaddr((host, port)))


def _free_udp_port(host: str) -> int:
    """A UDP port of ``host`` that is free now (QUIC paths are UDP sockets)."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as udp:
        udp.bind((host, 0))
        return int(udp.getsockname()[1])


def set_preferred_address(sock: SockoptTarget, address: tuple[str, int]) -> None:
    """Offer ``address`` as the server's preferred_address (RFC 9000 9.6).

    Call it on an accepted socket before its handshake.  The kernel binds
    the address at once (with bind()'s checks: ``EADDRINUSE``, ``EACCES``),
    sends it in the transport parameters, and moves the connection there
    when the client does; the client moves after the handshake is confirmed.
    ``EINVAL`` for a wildcard address, port 0, or after the handshake began.
    """
    _set(sock, QuicSockopt.CONNECTION_MIGRATION, _sockaddr(address))


def _sockaddr(address: tuple[str, int]) -> bytes:
    """A raw sockaddr_in/sockaddr_in6 for an (IP literal, port) pair."""
    ip = ipaddress.ip_address(address[0])
    if ip.version == 4:
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", address[1]) + ip.packed
        raw = raw.ljust(16, b"\0")
    else:
        raw = (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", address[1], 0)
               + ip.packed + struct.pack("=I", 0))
    return raw


def key_update(sock: SockoptTarget) -> None:
    """Start a key update (the connection must be established)."""
    _set(sock, QuicSockopt.KEY_UPDATE, None)


# Parameters ---------------------------------------------------------------

def get_transport_param(sock: SockoptTarget, remote: bool = False) -> QuicTransportParam:
    """The local (or, with ``remote``, the peer's) transport parameters."""
    return _get_struct(sock, QuicSockopt.TRANSPORT_PARAM, QuicTransportParam,
                       QuicTransportParam(remote=int(remote)))


def set_transport_param(sock: SockoptTarget, param: QuicTransportParam) -> None:
    """Overlay the non-zero fields of ``param`` on the current parameters."""
    _set(sock, QuicSockopt.TRANSPORT_PARAM, param)


def get_config(sock: SockoptTarget) -> QuicConfig:
    return _get_struct(sock, QuicSockopt.CONFIG, QuicConfig)


def set_config(sock: SockoptTarget, config: QuicConfig) -> None:
    """Overlay the non-zero fields of ``config`` on the current configuration."""
    _set(sock, QuicSockopt.CONFIG, config)


def set_alpn(sock: SockoptTarget, alpns: list[str] | str) -> None:
    """Set the ALPN list (comma-separated on the wire, at most 128 bytes)."""
    raw = (alpns if isinstance(alpns, str) else ",".join(alpns)).encode()
    if len(raw) > ALPN_MAX:
        raise ValueError(f"ALPN list is {len(raw)} bytes; at most {ALPN_MAX} are allowed")
    _set(sock, QuicSockopt.ALPN, raw)


def get_alpn(sock: SockoptTarget) -> list[str]:
    raw = sock.getsockopt(SOL_QUIC, QuicSockopt.ALPN, ALPN_MAX + 1)
    text = raw.split(b"\0", 1)[0].decode()
    return [a for a in text.split(",") if a]


def get_token(sock: SockoptTarget) -> bytes:
    """A client's current address-validation token (EINVAL on a server)."""
    return sock.getsockopt(SOL_QUIC, QuicSockopt.TOKEN, TOKEN_MAX)


def set_token(sock: SockoptTarget, token: bytes | None) -> None:
    """Client: use a saved token.  Server (``None``): send a NEW_TOKEN frame."""
    if token is not None and len(token) > TOKEN_MAX:
        raise ValueError(f"token is {len(token)} bytes; at most {TOKEN_MAX} are allowed")
    _set(sock, QuicSockopt.TOKEN, token)


def is_server(sock: SockoptTarget) -> bool:
    """Whether the socket is a server's (``TOKEN`` get fails with EINVAL there)."""
    try:
        get_token(sock)
    except OSError as exc:
        if exc.errno == 22:
            return True
        raise
    return False


def get_session_ticket(sock: SockoptTarget) -> bytes:
    """Client: the raw NewSessionTicket; server: the 64-byte ticket key."""
    return getsockopt_bytes(sock, QuicSockopt.SESSION_TICKET, SESSION_TICKET_MAX)


def set_session_ticket(sock: SockoptTarget, data: bytes) -> None:
    _set(sock, QuicSockopt.SESSION_TICKET, data)


def set_crypto_secret(sock: SockoptTarget, level: int, send: bool, cipher: int,
                      secret: bytearray) -> None:
    """Install one direction's traffic secret at a level; zeroes ``secret`` and the copy."""
    if len(secret) > 48:
        raise ValueError(f"secret is {len(secret)} bytes; at most 48 fit")
    value = QuicCryptoSecret(send=int(send), level=level, type=cipher)
    try:
        if secret:
            src = (ctypes.c_char * len(secret)).from_buffer(secret)
            ctypes.memmove(value.secret, src, len(secret))
            del src
        sock.setsockopt(SOL_QUIC, QuicSockopt.CRYPTO_SECRET, memoryview(value).cast("B"))
    finally:
        ctypes.memset(ctypes.addressof(value), 0, ctypes.sizeof(value))
        secret[:] = bytes(len(secret))


def get_transport_param_ext(sock: SockoptTarget) -> bytes:
    """The local transport parameters encoded as the TLS extension body."""
    return sock.getsockopt(SOL_QUIC, QuicSockopt.TRANSPORT_PARAM_EXT, TRANSPORT_PARAM_EXT_MAX)


def set_transport_param_ext(sock: SockoptTarget, data: bytes) -> None:
    """Hand the peer's transport-parameters extension body to the kernel."""
    _set(sock, QuicSockopt.TRANSPORT_PARAM_EXT, data)
