"""An in-memory stand-in for a pair of kernel QUIC sockets in the handshake phase.

It implements just what the handshake driver uses, with the kernel's rules
(REFERENCE.md §4.1): role detection via TOKEN, TRANSPORT_PARAM_EXT get/set,
ALPN, SESSION_TICKET (server: 64-byte key; client: the raw NST collected from
APP-level CRYPTO data), CRYPTO_SECRET (APP/HANDSHAKE/EARLY only), and
handshake sendmsg/recvmsg with the HANDSHAKE_INFO cmsg.  Data at a level is
held back until the receiver installed that level's RX key, as the kernel
buffers packets it cannot decrypt yet.  ``fileno()`` is a real descriptor
that is readable exactly when a message can be received, so poll() and
asyncio's add_reader work on it.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from libquic import uapi

SOL_QUIC = int(uapi.SOL_QUIC)
INITIAL, HANDSHAKE, APP, EARLY = (uapi.QUIC_CRYPTO_INITIAL, uapi.QUIC_CRYPTO_HANDSHAKE,
                                 uapi.QUIC_CRYPTO_APP, uapi.QUIC_CRYPTO_EARLY)
CIPHERS = (uapi.TLS_CIPHER_AES_GCM_128, uapi.TLS_CIPHER_AES_GCM_256,
           uapi.TLS_CIPHER_AES_CCM_128, uapi.TLS_CIPHER_CHACHA20_POLY1305)


@dataclass
class SecretCall:
    send: bool
    level: int
    cipher: int
    secret: bytes
    buffer: Any  # the object passed to setsockopt, to check it was wiped


@dataclass
class FakeQuicSocket:
    is_server: bool
    local_tp: bytes
    alpn: str = ""
    ticket_key: bytes = bytes(range(64))
    peer: FakeQuicSocket | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    rx: list[tuple[int, bytes]] = field(default_factory=list)
    keys: dict[tuple[int, bool], SecretCall] = field(default_factory=dict)
    secret_calls: list[SecretCall] = field(default_factory=list)
    sends: list[tuple[int, bytes, int]] = field(default_factory=list)
    peer_tp: bytes | None = None
    alpn_set: bytes | None = None
    nst: bytes = b""
    close_info: tuple[int, bytes] | None = None
    blocking: bool = True
    closed: bool = False

    def __post_init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._ready = False

    # -- readiness --------------------------------------------------------------------
    def _deliverable(self) -> int | None:
        for i, (level, _) in enumerate(self.rx):
            if level == INITIAL or (level, False) in self.keys:
                return i
        return None

    def _update_ready(self) -> None:
        want = self._deliverable() is not None or self.closed
        if want and not self._ready:
            self._w.send(b"x")
            self._ready = True
        elif not want and self._ready:
            self._r.recv(16)
            self._ready = False

    def fileno(self) -> int:
        return self._r.fileno()

    def setblocking(self, flag: bool) -> None:
        self.blocking = flag

    def close(self) -> None:
        self._r.close()
        self._w.close()

    def peer_closed(self) -> None:
        with self.lock:
            self.closed = True
            self._update_ready()

    # -- sockopts ---------------------------------------------------------------------
    def getsockopt(self, level: int, opt: int, buflen: int = 0) -> bytes:
        assert level == SOL_QUIC
        if opt == uapi.QUIC_SOCKOPT_TOKEN:
            if self.is_server:
                raise OSError(errno.EINVAL, "Invalid argument")
            return b""
        if opt == uapi.QUIC_SOCKOPT_TRANSPORT_PARAM_EXT:
            assert buflen >= len(self.local_tp)
            return self.local_tp
        if opt == uapi.QUIC_SOCKOPT_ALPN:
            return self.alpn.encode()[:buflen]
        if opt == uapi.QUIC_SOCKOPT_SESSION_TICKET:
            if self.is_server:
                return self.ticket_key
            return self.nst[:buflen]
        raise OSError(errno.ENOPROTOOPT, "unknown option")

    def setsockopt(self, level: int, opt: int, value: Any) -> None:
        assert level == SOL_QUIC
        data = bytes(value)
        if len(data) > 4096:
            raise OSError(errno.EINVAL, "optlen")
        if opt == uapi.QUIC_SOCKOPT_TRANSPORT_PARAM_EXT:
            self.peer_tp = data
        elif opt == uapi.QUIC_SOCKOPT_ALPN:
            self.alpn_set = data
        elif opt == uapi.QUIC_SOCKOPT_CONNECTION_CLOSE:
            assert len(data) == ctypes.sizeof(uapi.QuicConnectionClose), len(data)
            close = uapi.QuicConnectionClose.from_buffer_copy(data)
            self.close_info = (close.errcode, bytes(close.phrase).rstrip(b"\0"))
        elif opt == uapi.QUIC_SOCKOPT_CRYPTO_SECRET:
            assert len(data) == ctypes.sizeof(uapi.QuicCryptoSecret), len(data)
            secret = uapi.QuicCryptoSecret.from_buffer_copy(data)
            lvl, cipher = secret.level, secret.type
            if lvl not in (APP, HANDSHAKE, EARLY):
                raise OSError(errno.EINVAL, "bad level")
            if cipher not in CIPHERS:
                raise OSError(errno.EINVAL, "bad cipher")
            n = 48 if cipher == uapi.TLS_CIPHER_AES_GCM_256 else 32
            call = SecretCall(bool(secret.send), lvl, cipher, bytes(secret.secret)[:n], value)
            with self.lock:
                self.secret_calls.append(call)
                self.keys[(lvl, call.send)] = call
                self._update_ready()
        else:
            raise OSError(errno.ENOPROTOOPT, "unknown option")

    # -- data -------------------------------------------------------------------------
    def sendmsg(self, buffers: Any, ancdata: Any = (), flags: int = 0) -> int:
        data = b"".join(bytes(b) for b in buffers)
        level = None
        for clevel, ctype, cdata in ancdata:
            if clevel == SOL_QUIC and ctype == uapi.QUIC_HANDSHAKE_INFO:
                level = bytes(cdata)[0]
        assert level is not None, "handshake data without HANDSHAKE_INFO"
        if level not in (INITIAL, HANDSHAKE, APP):
            raise OSError(errno.EINVAL, "bad level")
        if level != INITIAL and (level, True) not in self.keys:
            raise OSError(errno.EINVAL, f"no send key at level {level}")
        assert self.peer is not None
        self.sends.append((level, data, flags))
        peer = self.peer
        with peer.lock:
            if level == APP and not peer.is_server:
                peer.nst += data  # the kernel keeps it in the ticket buffer
            else:
                peer.rx.append((level, data))
            peer._update_ready()
        return len(data)

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0) -> Any:
        with self.lock:
            i = self._deliverable()
            if i is None:
                if self.closed:
                    return b"", [], 0, None
                raise BlockingIOError(errno.EAGAIN, "would block")
            level, data = self.rx[i]
            if len(data) > bufsize:
                self.rx[i] = (level, data[bufsize:])
                data = data[:bufsize]
            else:
                del self.rx[i]
            self._update_ready()
        return data, [(SOL_QUIC, int(uapi.QUIC_HANDSHAKE_INFO), bytes([level]))], \
            int(uapi.MSG_EOR), None


def fake_pair(client_alpn: str = "", server_alpn: str = "") -> tuple[FakeQuicSocket,
                                                                    FakeQuicSocket]:
    c = FakeQuicSocket(is_server=False, local_tp=b"\x01\x02kernel-client-tp", alpn=client_alpn)
    s = FakeQuicSocket(is_server=True, local_tp=b"\x03\x04kernel-server-tp", alpn=server_alpn)
    c.peer, s.peer = s, c
    return c, s
