"""What the ALPN-routing harness runs: listeners and clients, and the
command-line syntax that describes each of them in one word::

    NAME=[ALPN[,ALPN...]][@ADDRESS][/OPTION...]

An empty ALPN part means no ALPN list.  ADDRESS is an IPv4 or IPv6 literal
(``[::1]`` brackets are optional); a listener without one binds
127.0.0.1, a client without one goes to the harness's default target.
Listener options: ``reuseport`` (SO_REUSEPORT), ``v6only`` (IPV6_V6ONLY on
an IPv6 wildcard), ``consumer`` (the kernel consumer of
/proc/quic_consumer instead of a process of ours), ``hold`` (listen but
never accept).  Client option: ``split`` (a ClientHello large enough to
span two Initial packets).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

__all__ = [
    "CLIENT_OPTIONS",
    "LISTENER_OPTIONS",
    "ClientSpec",
    "IPAddress",
    "ListenerSpec",
    "SpecError",
    "Trust",
    "ip_of",
    "parse_client",
    "parse_listener",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LISTENER_OPTIONS = ("reuseport", "v6only", "consumer", "hold")
CLIENT_OPTIONS = ("split",)
ALPN_MAX = 128  # bytes of the comma-separated list the kernel takes
_RESERVED = set(",@/=[] \t")


@dataclass(frozen=True)
class Trust:
    """The harness's certificate: listeners present ``cert``/``key``,
    clients verify it against ``ca`` and ``hostname``."""

    ca: str
    cert: str
    key: str
    hostname: str = "localhost"


class SpecError(ValueError):
    """A listener or client description that cannot be run."""


def ip_of(address: str) -> IPAddress:
    """The address as the kernel takes it: a v4-mapped IPv6 address is IPv4."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise SpecError(f"{address!r} is not an IPv4 or IPv6 address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _check_name(what: str, name: str) -> None:
    if not name or any(c in _RESERVED for c in name):
        raise SpecError(f"{what} name {name!r}: empty or holds one of , @ / = [ ] or a blank")


def _check_alpns(what: str, alpns: tuple[str, ...]) -> None:
    for a in alpns:
        if not a or any(c in _RESERVED or not c.isprintable() or not c.isascii() for c in a):
            raise SpecError(f"{what}: ALPN {a!r} is empty or holds one of , @ / = [ ] "
                            f"or a blank")
    if len(",".join(alpns).encode()) > ALPN_MAX:
        raise SpecError(f"{what}: the ALPN list is longer than {ALPN_MAX} bytes")
    if len(set(alpns)) != len(alpns):
        raise SpecError(f"{what}: an ALPN is listed twice")


@dataclass(frozen=True)
class ListenerSpec:
    """One listener: ``kind`` "process" (ours, a process of its own) or
    "consumer" (tests/kmod/quic_consumer.ko through /proc/quic_consumer)."""

    name: str
    alpns: tuple[str, ...] = ()
    address: str = "127.0.0.1"
    reuseport: bool = False
    v6only: bool = False
    kind: str = "process"
    hold: bool = False  # listens but never accepts: requests stay queued

    def __post_init__(self) -> None:
        what = f"listener {self.name}"
        _check_name("listener", self.name)
        _check_alpns(what, self.alpns)
        ip = ip_of(self.address)
        object.__setattr__(self, "address", str(ip))
        if self.v6only and ip.version != 6:
            raise SpecError(f"{what}: v6only needs an IPv6 address, not {ip}")
        if self.kind not in ("process", "consumer"):
            raise SpecError(f"{what}: unknown kind {self.kind!r} (process or consumer)")
        if self.kind == "consumer":
            if not self.alpns:
                raise SpecError(f"{what}: the kernel consumer needs an ALPN list")
            if self.reuseport or self.v6only or self.hold:
                raise SpecError(f"{what}: the kernel consumer takes no other option")

    @property
    def ip(self) -> IPAddress:
        return ip_of(self.address)

    @property
    def dual_stack(self) -> bool:
        """An IPv6 wildcard that takes IPv4 too (IPV6_V6ONLY not set)."""
        return self.ip.version == 6 and self.ip.is_unspecified and not self.v6only


@dataclass(frozen=True)
class ClientSpec:
    """One client: its ALPN preference list, where it goes (None: the
    harness's default target), which implementation drives it ("libquic",
    or a driver registered with the harness) and whether it sends a split
    ClientHello.  ``exchange``: after the handshake, ask the listener for
    its name on a stream (HTTP/3 when "h3" was negotiated)."""

    name: str
    alpns: tuple[str, ...] = ()
    address: str | None = None
    kind: str = "libquic"
    split: bool = False
    exchange: bool = field(default=True, compare=False)

    def __post_init__(self) -> None:
        _check_name("client", self.name)
        _check_alpns(f"client {self.name}", self.alpns)
        if self.address is not None:
            ip = ip_of(self.address)
            if ip.is_unspecified:
                raise SpecError(f"client {self.name}: cannot connect to the wildcard {ip}")
            object.__setattr__(self, "address", str(ip))


def _split(what: str, text: str, known: tuple[str, ...]
           ) -> tuple[str, tuple[str, ...], str | None, set[str]]:
    name, sep, rest = text.partition("=")
    if not sep:
        raise SpecError(f"{what} {text!r}: expected NAME=[ALPN,...][@ADDRESS][/OPTION...]")
    body, *options = rest.split("/")
    alpn_text, at, address = body.partition("@")
    if at and not address:
        raise SpecError(f"{what} {text!r}: an address must follow @")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise SpecError(f"{what} {text!r}: unknown option {unknown[0]!r} "
                        f"(known: {', '.join(known)})")
    alpns = tuple(alpn_text.split(",")) if alpn_text else ()
    return name, alpns, address if at else None, set(options)


def parse_listener(text: str) -> ListenerSpec:
    """``NAME=[ALPN,...][@ADDRESS][/reuseport][/v6only][/consumer][/hold]``"""
    name, alpns, address, opts = _split("listener", text, LISTENER_OPTIONS)
    return ListenerSpec(name, alpns, address or "127.0.0.1", reuseport="reuseport" in opts,
                        v6only="v6only" in opts,
                        kind="consumer" if "consumer" in opts else "process",
                        hold="hold" in opts)


def parse_client(text: str) -> ClientSpec:
    """``NAME=[ALPN,...][@ADDRESS][/split]``"""
    name, alpns, address, opts = _split("client", text, CLIENT_OPTIONS)
    return ClientSpec(name, alpns, address, split="split" in opts)
