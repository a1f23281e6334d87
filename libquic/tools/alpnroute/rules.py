"""The kernel's ALPN routing rules for listeners sharing a port, as pure
functions: which listen() must fail, and where each client must land.

Several listeners may share one port.  For a client datagram to address D:

* candidates are the listeners bound to D itself (rank EXACT), to the
  wildcard of D's family (WILDCARD), or, when D is IPv4, to the dual-stack
  IPv6 wildcard (DUAL_STACK: ``::`` without IPV6_V6ONLY); a lower rank wins;
* a client's ALPNs are tried in its order of preference: for the first one
  that any candidate's list holds, the best-ranked candidate holding it
  takes the client (several such listeners are a SO_REUSEPORT group, and any
  member may take it); when no candidate holds any, the best-ranked
  candidate without an ALPN list takes it; otherwise it is dropped;
* a client without ALPN goes only to a listener without an ALPN list.

listen() conflicts only with listeners on the same address: an identical
list needs SO_REUSEPORT on both, an overlapping one is refused, disjoint
lists (an empty list is disjoint from any non-empty one) share.  A specific
address may be bound after the wildcard that covers it, not before.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from libquic.tools.alpnroute.spec import ClientSpec, IPAddress, ListenerSpec, ip_of

__all__ = [
    "Rank",
    "Route",
    "candidates",
    "covers",
    "listen_errno",
    "rank",
    "route",
]


class Rank(IntEnum):
    """How well a listener's address matches a datagram's (lower wins)."""

    EXACT = 0
    WILDCARD = 1
    DUAL_STACK = 2


@dataclass(frozen=True)
class Route:
    """Where a client must land: any one of ``listeners`` (more than one
    only for a SO_REUSEPORT group), negotiating ``alpn``."""

    listeners: frozenset[str]
    alpn: str | None
    why: str


def rank(listener: ListenerSpec, dest: IPAddress) -> Rank | None:
    """The listener's rank for a datagram to ``dest``; None: not a candidate."""
    ip = listener.ip
    if ip == dest:
        return Rank.EXACT
    if ip.is_unspecified and ip.version == dest.version:
        return Rank.WILDCARD
    if dest.version == 4 and listener.dual_stack:
        return Rank.DUAL_STACK
    return None


def candidates(listeners: Sequence[ListenerSpec], dest: str) -> list[tuple[Rank, ListenerSpec]]:
    """The listeners that may take a datagram to ``dest``, best first."""
    d = ip_of(dest)
    ranked = [(r, lst) for lst in listeners if (r := rank(lst, d)) is not None]
    return sorted(ranked, key=lambda pair: pair[0])


def _best(ranked: list[tuple[Rank, ListenerSpec]]) -> frozenset[str]:
    top = min(r for r, _ in ranked)
    return frozenset(lst.name for r, lst in ranked if r == top)


def route(listeners: Sequence[ListenerSpec], client: ClientSpec, dest: str) -> Route | None:
    """Where the rules send ``client``'s datagrams to ``dest`` among the
    listening ``listeners``; None when it must be dropped.

    ``alpn`` is what the handshake must negotiate: the ALPN the client was
    routed by, or, for a listener without an ALPN list (the harness's take
    any ALPN), the client's first choice.
    """
    ranked = candidates(listeners, dest)
    for alpn in client.alpns:
        having = [(r, lst) for r, lst in ranked if alpn in lst.alpns]
        if having:
            return Route(_best(having), alpn, f"ALPN {alpn}")
    bare = [(r, lst) for r, lst in ranked if not lst.alpns]
    if not bare:
        return None
    why = "no ALPN" if not client.alpns else "no listener has its ALPNs: one without a list"
    return Route(_best(bare), client.alpns[0] if client.alpns else None, why)


def covers(wildcard: ListenerSpec, other: IPAddress) -> bool:
    """Whether ``wildcard`` is a wildcard that takes datagrams to ``other``."""
    ip = wildcard.ip
    if not ip.is_unspecified:
        return False
    return ip.version == other.version or (other.version == 4 and wildcard.dual_stack)


def _conflict(old: ListenerSpec, new: ListenerSpec) -> str | None:
    if old.ip == new.ip:
        if old.ip.is_unspecified and old.dual_stack != new.dual_stack:
            # bind(), as two UDP sockets would: a v6-only and a dual-stack ::
            return "v6-only and dual-stack on ::"
        if old.alpns == new.alpns:
            return None if old.reuseport and new.reuseport else "identical ALPN lists"
        if set(old.alpns) & set(new.alpns):
            return "overlapping ALPN lists"
        return None
    if old.ip.is_unspecified and new.ip.is_unspecified:
        # 0.0.0.0 and the dual-stack ::, in either order, as with UDP
        if covers(old, new.ip) or covers(new, old.ip):
            return "the IPv4 and the dual-stack IPv6 wildcard"
        return None
    # a wildcard after an address it covers, as with UDP; the other way
    # round the specific address shares the wildcard's UDP socket
    if covers(new, old.ip):
        return "a wildcard bound after an address it covers"
    return None


def listen_errno(listening: Sequence[ListenerSpec], new: ListenerSpec) -> tuple[int, str]:
    """What ``new``'s bind()+listen() on the port the ``listening``
    listeners hold must give: (0, "") or (errno, why)."""
    for old in listening:
        why = _conflict(old, new)
        if why:
            return errno.EADDRINUSE, f"{why} with {old.name}"
    return 0, ""
