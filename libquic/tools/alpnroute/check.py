"""Judging what happened against what the routing rules say."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from libquic.tools.alpnroute.rules import Route
from libquic.tools.alpnroute.spec import ClientSpec, ListenerSpec

__all__ = [
    "ClientOutcome",
    "ClientResult",
    "ListenOutcome",
    "Verdict",
    "errno_name",
    "judge_client",
    "judge_listen",
]


@dataclass
class ClientResult:
    """What a client driver found out.  ``reply_from``: the listener that
    named itself in the answer on a stream; ``error``: why the handshake,
    or the exchange after it, failed."""

    local_port: int | None = None
    handshake: bool = False
    alpn: str | None = None
    seconds: float | None = None
    reply_from: str | None = None
    error: str = ""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    text: str


@dataclass(frozen=True)
class ClientOutcome:
    spec: ClientSpec
    target: str
    result: ClientResult
    reached: str | None
    route: Route | None
    verdict: Verdict


@dataclass(frozen=True)
class ListenOutcome:
    spec: ListenerSpec
    errno: int
    expected: int
    why: str
    verdict: Verdict


def errno_name(code: int) -> str:
    return "ok" if not code else errno.errorcode.get(code, os.strerror(code))


def judge_listen(got: int, expected: int, why: str) -> Verdict:
    """listen() gave ``got``; the rules say ``expected`` (because ``why``)."""
    if got == expected:
        return Verdict(True, "ok")
    if expected:
        return Verdict(False, f"listen() succeeded, the rules say {errno_name(expected)} "
                              f"({why})")
    return Verdict(False, f"listen() failed with {errno_name(got)}, the rules allow it")


def judge_client(route: Route | None, reached: str | None, result: ClientResult) -> Verdict:
    """A client that the rules send along ``route`` (None: dropped) reached
    the listener ``reached`` (None: none reported it) with ``result``."""
    failure = result.error or "failed"
    if route is None:
        if reached is not None:
            return Verdict(False, f"reached {reached} although the rules drop it")
        if result.handshake:
            return Verdict(False, "completed a handshake although the rules drop it")
        return Verdict(True, "dropped")
    want = "/".join(sorted(route.listeners))
    if reached is not None and reached not in route.listeners:
        return Verdict(False, f"reached {reached}, the rules say {want} ({route.why})")
    if not result.handshake:
        where = f"at {reached}" if reached else "reaching no listener"
        return Verdict(False, f"failed {where} ({failure}) although {want} must take it")
    if reached is None:
        return Verdict(False, f"no listener reported its handshake; the rules say {want}")
    if result.alpn != route.alpn:
        return Verdict(False, f"negotiated {result.alpn or 'no ALPN'}, the rules say "
                              f"{route.alpn or 'no ALPN'}")
    if result.error:
        return Verdict(False, f"reached {reached}, then {result.error}")
    return Verdict(True, "ok")
