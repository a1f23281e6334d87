"""What listeners tell the harness: one event per listen() and per
connection they accept and handshake, from whichever process they run in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["ListenerEvent"]


@dataclass(frozen=True)
class ListenerEvent:
    """``kind`` "listen" (``errno`` 0 or what bind()/listen() failed with),
    "accepted" (a connection from ``peer_port``) or "handshake" (its server
    handshake ended: ``ok``, ``alpn`` or ``error``).  ``client`` is the
    client's name when the listener learnt it from its message (the kernel
    consumer, which does not tell the peer's port)."""

    listener: str
    kind: str
    errno: int = 0
    peer_port: int | None = None
    client: str | None = None
    ok: bool = True
    alpn: str | None = None
    error: str = ""
    at: float = field(default_factory=time.monotonic)
