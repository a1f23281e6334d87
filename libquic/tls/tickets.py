"""Session tickets, client session data and 0-RTT anti-replay.

Server: a ticket is the AES-256-GCM sealed server state (suite, resumption
PSK, issue time, age_add, ALPN, SNI, max_early_data).  The 64-byte ticket key
is an input; in the kernel flow it comes from
``getsockopt(QUIC_SOCKOPT_SESSION_TICKET)`` on the accepted socket, which the
kernel derives from the listener's secret and the peer address.

Anti-replay (RFC 8446 §8): resumption without early data is not replay
sensitive.  Early data is accepted only when the ticket is fresh (the
client-reported age is within :data:`REPLAY_WINDOW_MS` of the age computed
from the issue time, §8.3) *and* the ticket has not been used for early data
before within that window (a strike register keyed by the ticket, i.e.
single-use tickets for 0-RTT, §8.1).  Entries expire with the window, since an
older replay fails the freshness check anyway.  The register lives in the
process (:data:`DEFAULT_REPLAY_REGISTER`); servers that share a ticket key
across processes must share a register or disable 0-RTT.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .codec import Reader, Writer
from .errors import TLSError
from .keyschedule import hkdf_expand

__all__ = [
    "DEFAULT_REPLAY_REGISTER",
    "MAX_TICKET_LIFETIME",
    "QUIC_MAX_EARLY_DATA",
    "REPLAY_WINDOW_MS",
    "TICKET_KEY_SIZE",
    "ReplayRegister",
    "SessionData",
    "TicketKey",
    "TicketState",
    "now_ms",
]

TICKET_KEY_SIZE = 64
REPLAY_WINDOW_MS = 10_000
MAX_TICKET_LIFETIME = 7 * 24 * 3600
QUIC_MAX_EARLY_DATA = 0xFFFFFFFF

_TICKET_VERSION = 1
_SESSION_VERSION_V1 = 1  # without transport_param and token
_SESSION_VERSION = 2


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class TicketState:
    """What the server seals into a ticket."""

    suite: int
    psk: bytes
    issued_ms: int
    age_add: int
    lifetime: int
    max_early_data: int
    alpn: bytes
    server_name: bytes

    def encode(self) -> bytes:
        w = Writer()
        w.u8(_TICKET_VERSION)
        w.u16(self.suite)
        w.uint(self.issued_ms, 8)
        w.u32(self.age_add)
        w.u32(self.lifetime)
        w.u32(self.max_early_data)
        w.vec(1, self.psk)
        w.vec(1, self.alpn)
        w.vec(2, self.server_name)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> TicketState:
        r = Reader(data, "ticket")
        if r.u8() != _TICKET_VERSION:
            raise ValueError("unknown ticket version")
        suite = r.u16()
        issued = r.uint(8)
        age_add = r.u32()
        lifetime = r.u32()
        max_early = r.u32()
        psk = r.vec(1)
        alpn = r.vec(1)
        sni = r.vec(2)
        r.expect_end()
        return cls(suite, psk, issued, age_add, lifetime, max_early, alpn, sni)


class TicketKey:
    """Seals and opens tickets with a 64-byte key."""

    def __init__(self, key: bytes | bytearray) -> None:
        if len(key) != TICKET_KEY_SIZE:
            raise ValueError(f"session ticket key must be {TICKET_KEY_SIZE} bytes, "
                             f"got {len(key)}")
        self.name = hashlib.sha256(b"libquic ticket key name" + bytes(key)).digest()[:8]
        k = hkdf_expand("sha256", key, b"libquic ticket aead", 32)
        self._aead = AESGCM(bytes(k))
        k[:] = bytes(len(k))

    def seal(self, state: TicketState) -> bytes:
        nonce = os.urandom(12)
        return self.name + nonce + self._aead.encrypt(nonce, state.encode(), self.name)

    def open(self, ticket: bytes) -> TicketState | None:
        """Decrypt a ticket; None if it is not ours or damaged."""
        if len(ticket) < 8 + 12 + 16 or ticket[:8] != self.name:
            return None
        try:
            plain = self._aead.decrypt(ticket[8:20], ticket[20:], self.name)
            return TicketState.decode(plain)
        except (InvalidTag, ValueError, TLSError):
            return None


class ReplayRegister:
    """Strike register for tickets used with early data (see module doc)."""

    def __init__(self, window_ms: int = REPLAY_WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._seen: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def is_fresh(self, expected_age_ms: int, reported_age_ms: int) -> bool:
        return abs(expected_age_ms - reported_age_ms) <= self.window_ms

    def first_use(self, ticket: bytes, now: int | None = None) -> bool:
        """Record a ticket; True only the first time within the window."""
        now = now_ms() if now is None else now
        key = hashlib.sha256(ticket).digest()
        with self._lock:
            for k in [k for k, exp in self._seen.items() if exp <= now]:
                del self._seen[k]
            if key in self._seen:
                return False
            self._seen[key] = now + 2 * self.window_ms
            return True


DEFAULT_REPLAY_REGISTER = ReplayRegister()


@dataclass
class SessionData:
    """Everything a client needs to resume (serialise with :meth:`to_bytes`)."""

    suite: int
    psk: bytes
    ticket: bytes
    lifetime: int
    age_add: int
    max_early_data: int
    received_ms: int
    alpn: bytes = b""
    server_name: str = ""
    peer_transport_parameters: bytes = b""
    # kernel flow (0-RTT): the server's limits as ``struct
    # quic_transport_param`` (getsockopt TRANSPORT_PARAM, remote=1) and the
    # NEW_TOKEN address-validation token
    transport_param: bytes = b""
    token: bytes = b""

    def __repr__(self) -> str:
        return (f"SessionData(suite=0x{self.suite:04x}, alpn={self.alpn!r}, "
                f"server_name={self.server_name!r}, lifetime={self.lifetime}, "
                f"max_early_data={self.max_early_data}, psk=<hidden>)")

    def is_expired(self, now: int | None = None) -> bool:
        now = now_ms() if now is None else now
        return now - self.received_ms > self.lifetime * 1000

    def obfuscated_age(self, now: int | None = None) -> int:
        now = now_ms() if now is None else now
        return (max(0, now - self.received_ms) + self.age_add) & 0xFFFFFFFF

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(b"LQS")
        w.u8(_SESSION_VERSION)
        w.u16(self.suite)
        w.vec(1, self.psk)
        w.vec(2, self.ticket)
        w.u32(self.lifetime)
        w.u32(self.age_add)
        w.u32(self.max_early_data)
        w.uint(self.received_ms, 8)
        w.vec(1, self.alpn)
        w.vec(2, self.server_name.encode())
        w.vec(2, self.peer_transport_parameters)
        w.vec(1, self.transport_param)
        w.vec(1, self.token)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionData:
        r = Reader(data, "session data")
        version = r.u8() if r.raw(3) == b"LQS" else 0
        if version not in (_SESSION_VERSION_V1, _SESSION_VERSION):
            raise ValueError("not libquic session data (or an unknown version)")
        suite = r.u16()
        psk = r.vec(1)
        ticket = r.vec(2)
        lifetime = r.u32()
        age_add = r.u32()
        max_early = r.u32()
        received = r.uint(8)
        alpn = r.vec(1)
        sni = r.vec(2).decode()
        tp = r.vec(2)
        kernel_tp = r.vec(1) if version >= 2 else b""
        token = r.vec(1) if version >= 2 else b""
        r.expect_end()
        return cls(suite, psk, ticket, lifetime, age_add, max_early, received, alpn, sni, tp,
                   kernel_tp, token)
