"""Judging what happened against what the routing rules say."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass

from libquic.tools.alpnroute.events import ListenerEvent
from libquic.tools.alpnroute.rules import Route
from libquic.tools.alpnroute.spec import ClientSpec, ListenerSpec
from libquic.tools.alpnroute.wire import KERNEL_CONSUMER

__all__ = [
    "ClientOutcome",
    "ClientResult",
    "ListenOutcome",
    "Verdict",
    "attribute",
    "errno_name",
    "judge_client",
    "judge_listen",
    "reached_by",
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


def attribute(clients: Sequence[ClientSpec], results: Sequence[ClientResult],
              events: Sequence[ListenerEvent]
              ) -> tuple[dict[int, list[ListenerEvent]], list[ListenerEvent]]:
    """Which listener reports are whose: by the client's port, by its name
    (the kernel consumer learns it from the message), else by elimination:
    a report with a port no client had belongs to the one client whose port
    is unknown (a client program's), a report without port or name (the
    consumer's, of a failed handshake) to the one client nothing else was
    reported for.  Returns the reports by client index, and the rest."""
    by_port = {r.local_port: i for i, r in enumerate(results) if r.local_port is not None}
    by_name = {c.name: i for i, c in enumerate(clients)}
    mine: dict[int, list[ListenerEvent]] = {i: [] for i in range(len(clients))}
    unowned = []
    for e in events:
        i = by_port.get(e.peer_port) if e.peer_port is not None else None
        if i is None and e.client is not None:
            i = by_name.get(e.client)
        (mine[i] if i is not None else unowned).append(e)
    rest = []
    for known in (True, False):
        theirs = [e for e in unowned if (e.peer_port is not None) == known]
        who = [i for i in mine if not mine[i] and (not known or results[i].local_port is None)]
        if theirs and len(who) == 1:
            mine[who[0]] += theirs
        else:
            rest += theirs
    return mine, rest


def reached_by(events: Sequence[ListenerEvent], result: ClientResult,
               consumer: str | None) -> str | None:
    """The listener a client reached: the one that reported it, else the
    one that named itself in its answer (``consumer``: the kernel
    consumer's name).  A disagreement between them is recorded as the
    client's error."""
    answered = result.reply_from
    if answered == KERNEL_CONSUMER and consumer is not None:
        answered = consumer
    if not events:
        return answered
    reported = events[0].listener
    if answered is not None and answered != reported:
        result.error = f"{reported} reported it but {answered} answered"
    return reported
