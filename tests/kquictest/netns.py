"""Network namespaces, veth links, netem and extra addresses for the VM
tests, on pyroute2: no ``ip``/``tc``/``ip netns exec`` processes, and every
change is undone when its ``with`` block ends, however it ends.

``namespace()``
    A fresh named namespace (``/var/run/netns/NAME``, as ``ip netns add``
    makes) with lo up.  ``Namespace.run(fn)`` calls ``fn`` in a thread
    that joined it, so the sockets ``fn`` creates live there;
    ``Namespace.read()``/``write()`` reach its ``/proc/net`` and
    ``/proc/sys/net`` files.
``veth_link()``
    A namespace and a veth pair: one end here, the other in the namespace,
    with the given addresses, MTU and netem qdiscs.  ``VethLink.netem()``
    and ``VethLink.loss()`` change a qdisc with one netlink request over a
    socket kept open (an exec of ``tc`` can take a second in the VM).
``veth_between()``, ``add_default_route()``
    A veth pair between two other namespaces; a default route in one.
``netem()``, ``address()``
    A netem qdisc, or an extra address, on a device of this namespace
    (typically lo) for the duration.

The pytest fixture ``netns`` (tests/vm/conftest.py) is ``namespace()``.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2 import config as pyroute2_config
from pyroute2 import netns as pyroute2_netns
from pyroute2.ethtool import Ethtool
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import TC_H_ROOT
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD

T = TypeVar("T")

# pyroute2 forks a helper to create a namespace or to open a netlink socket
# in one, and gives it 2 s to answer by default: too short in the emulated
# VM under load.
pyroute2_config.default_communicate_timeout = 60
pyroute2_config.default_create_socket_timeout = 60

CLONE_NEWNET = 0x40000000
NETNS_DIR = pyroute2_netns.NETNS_RUN_DIR
JOIN_WAIT = 30.0  # seconds for a function run in a namespace

_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(name: str, fn: Callable[[], T], timeout: float = JOIN_WAIT) -> T:
    """``fn()`` in a thread that joined network namespace ``name``: sockets
    it creates live in that namespace.  Its exception is re-raised here."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            fd = os.open(f"{NETNS_DIR}/{name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, os.strerror(e))
            finally:
                os.close(fd)
            box["v"] = fn()
        except BaseException as e:  # reported to the caller
            box["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"a call in network namespace {name} did not return in {timeout} s")
    if "e" in box:
        raise box["e"]
    return box["v"]  # type: ignore[no-any-return]


def _thread_path(path: str) -> str:
    # /proc/net is /proc/self/net, the namespace of the process's main
    # thread; /proc/thread-self/net is the calling thread's
    if path.startswith("/proc/net/"):
        return "/proc/thread-self/net/" + path[len("/proc/net/"):]
    return path


@dataclass(frozen=True)
class Namespace:
    """A named network namespace (see ``namespace()``)."""

    name: str

    def run(self, fn: Callable[[], T], timeout: float = JOIN_WAIT) -> T:
        """``fn()`` in a thread inside this namespace (``in_netns``)."""
        return in_netns(self.name, fn, timeout)

    def read(self, path: str) -> str:
        """A ``/proc/net/...`` or ``/proc/sys/net/...`` file as this namespace
        sees it (``ip netns exec NAME cat PATH``)."""
        def read() -> str:
            with open(_thread_path(path)) as f:
                return f.read()
        return self.run(read)

    def write(self, path: str, text: str) -> None:
        """Write a ``/proc/sys/net/...`` file of this namespace (``sysctl -w``)."""
        def write() -> None:
            with open(_thread_path(path), "w") as f:
                f.write(text)
        self.run(write)


@contextmanager
def namespace(prefix: str = "kq") -> Iterator[Namespace]:
    """A new network namespace named ``prefix`` + 8 hex digits, lo up;
    removed afterwards (the kernel frees it once no socket holds it)."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    pyroute2_netns.create(name)
    try:
        with IPRoute(netns=name) as ipr:
            ipr.link("set", index=_index(ipr, "lo"), state="up")
        yield Namespace(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            pyroute2_netns.remove(name)


@dataclass(frozen=True)
class Netem:
    """The parameters of a netem qdisc, as ``tc qdisc ... netem`` takes them."""

    delay_ms: float = 0
    loss: float = 0  # percent
    limit: int = 1000  # packets queued (netem's default)
    reorder: float = 0  # percent sent at once, the rest delayed (needs a delay)
    reorder_corr: float = 0  # percent

    def tc_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"delay": round(self.delay_ms * 1000), "loss": self.loss,
                                "limit": self.limit}
        if self.reorder:
            args.update(prob_reorder=self.reorder, corr_reorder=self.reorder_corr)
        return args


def _index(ipr: IPRoute, dev: str) -> int:
    found = ipr.link_lookup(ifname=dev)
    if not found:
        raise OSError(errno.ENODEV, f"no device {dev}")
    return int(found[0])


def set_netem(ipr: IPRoute, ifindex: int, spec: Netem | None) -> None:
    """Make ``spec`` the root qdisc of device ``ifindex``, or remove the
    root qdisc (``None``; no error when there is none)."""
    if spec is not None:
        ipr.tc("replace", "netem", ifindex, **spec.tc_args())
        return
    try:
        ipr.tc("del", index=ifindex, parent=TC_H_ROOT)
    except NetlinkError as e:
        if e.code != errno.ENOENT:  # ENOENT: only the default qdisc is there
            raise


def change_netem(spec: Netem | None, dev: str = "lo") -> None:
    """Replace (``None``: remove) the netem qdisc of ``dev`` in this namespace
    at once, e.g. inside :func:`netem` to switch a blackhole on and off."""
    with IPRoute() as ipr:
        set_netem(ipr, _index(ipr, dev), spec)


def _add_address(ipr: IPRoute, ifindex: int, cidr: str) -> tuple[str, int]:
    """``ip addr add CIDR dev IFINDEX`` (IPv6: ``nodad``, usable at once)."""
    addr, _, plen = cidr.partition("/")
    prefixlen = int(plen) if plen else (128 if ":" in addr else 32)
    extra = {"flags": IFA_F_NODAD} if ":" in addr else {}
    ipr.addr("add", index=ifindex, address=addr, prefixlen=prefixlen, **extra)
    return addr, prefixlen


@contextmanager
def netem(spec: Netem, dev: str = "lo") -> Iterator[None]:
    """A netem root qdisc on ``dev`` in this namespace for the duration
    (``tc qdisc add dev DEV root netem ...``: fails if a root qdisc is there)."""
    with IPRoute() as ipr:
        ifindex = _index(ipr, dev)
        ipr.tc("add", "netem", ifindex, **spec.tc_args())
    try:
        yield
    finally:
        with IPRoute() as ipr:
            set_netem(ipr, ifindex, None)


@contextmanager
def address(cidr: str, dev: str = "lo") -> Iterator[None]:
    """An extra address on ``dev`` in this namespace for the duration."""
    with IPRoute() as ipr:
        ifindex = _index(ipr, dev)
        addr, prefixlen = _add_address(ipr, ifindex, cidr)
    try:
        yield
    finally:
        with IPRoute() as ipr, contextlib.suppress(NetlinkError):
            ipr.addr("del", index=ifindex, address=addr, prefixlen=prefixlen)


@dataclass
class VethLink:
    """A veth pair: ``dev`` here, ``peer_dev`` in namespace ``ns``."""

    ns: Namespace
    dev: str
    peer_dev: str
    ipr: IPRoute  # this namespace's, open: a change is one netlink request
    peer_ipr: IPRoute  # the namespace's
    ifindex: int = 0
    peer_ifindex: int = 0
    qdisc: dict[str, Netem | None] = dataclasses.field(
        default_factory=lambda: {"here": None, "there": None})

    def netem(self, spec: Netem | None, *, here: bool = True, there: bool = False) -> None:
        """Set (``None``: remove) the netem qdisc on this side's veth (what
        is sent from here) and/or the namespace's (what is sent from there)."""
        if here:
            set_netem(self.ipr, self.ifindex, spec)
            self.qdisc["here"] = spec
        if there:
            set_netem(self.peer_ipr, self.peer_ifindex, spec)
            self.qdisc["there"] = spec

    def loss(self, percent: float) -> None:
        """Drop ``percent`` % of what this side sends (100: a blackhole),
        keeping the netem's other parameters."""
        current = self.qdisc["here"] or Netem()
        self.netem(dataclasses.replace(current, loss=percent))


@contextmanager
def veth_link(here: Sequence[str], there: Sequence[str], *, mtu: int | None = None,
              netem_here: Netem | None = None, netem_there: Netem | None = None,
              prefix: str = "kq") -> Iterator[VethLink]:
    """A new namespace joined to this one by a veth pair: ``here`` and
    ``there`` are each end's addresses (``"10.0.0.1/24"``, ``"fd00::1/64"``),
    ``netem_here``/``netem_there`` the qdisc on each end; both ends up.
    Afterwards the pair is deleted and the namespace removed."""
    with namespace(prefix) as ns:
        suffix = ns.name[len(prefix):]
        with IPRoute() as ipr, IPRoute(netns=ns.name) as peer_ipr:
            link = VethLink(ns, f"{prefix}a{suffix}", f"{prefix}b{suffix}", ipr, peer_ipr)
            try:
                ipr.link("add", ifname=link.dev, kind="veth",
                         peer={"ifname": link.peer_dev, "net_ns_fd": ns.name})
                link.ifindex = _index(ipr, link.dev)
                link.peer_ifindex = _index(peer_ipr, link.peer_dev)
                for side, side_ipr, index, cidrs in (
                        ("here", ipr, link.ifindex, here),
                        ("there", peer_ipr, link.peer_ifindex, there)):
                    if mtu:
                        side_ipr.link("set", index=index, mtu=mtu)
                    for cidr in cidrs:
                        _add_address(side_ipr, index, cidr)
                    side_ipr.link("set", index=index, state="up")
                    spec = netem_here if side == "here" else netem_there
                    if spec is not None:
                        link.netem(spec, here=side == "here", there=side == "there")
                yield link
            finally:
                # deletes both ends; the namespace's end would go with the
                # namespace, but only once no socket holds that
                for index in ipr.link_lookup(ifname=link.dev):
                    with contextlib.suppress(NetlinkError):
                        ipr.link("del", index=index)


@contextmanager
def veth_between(a: Namespace, b: Namespace, a_addrs: Sequence[str], b_addrs: Sequence[str],
                 *, netem_a: Netem | None = None, mtu: int | None = None,
                 prefix: str = "kq") -> Iterator[tuple[str, str]]:
    """A veth pair from namespace ``a`` to namespace ``b`` with the given
    addresses on each end (``netem_a``: a qdisc on ``a``'s end, delaying
    what ``a`` sends; ``mtu``: both ends'), both up; yields the two device
    names.  The pair is deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    dev_a, dev_b = f"{prefix}a{suffix}", f"{prefix}b{suffix}"
    with IPRoute(netns=a.name) as ipr_a, IPRoute(netns=b.name) as ipr_b:
        try:
            ipr_a.link("add", ifname=dev_a, kind="veth",
                       peer={"ifname": dev_b, "net_ns_fd": b.name})
            for ipr, dev, cidrs in ((ipr_a, dev_a, a_addrs), (ipr_b, dev_b, b_addrs)):
                index = _index(ipr, dev)
                if mtu:
                    ipr.link("set", index=index, mtu=mtu)
                for cidr in cidrs:
                    _add_address(ipr, index, cidr)
                ipr.link("set", index=index, state="up")
            if netem_a is not None:
                set_netem(ipr_a, _index(ipr_a, dev_a), netem_a)
            yield dev_a, dev_b
        finally:
            for index in ipr_a.link_lookup(ifname=dev_a):
                with contextlib.suppress(NetlinkError):
                    ipr_a.link("del", index=index)


def add_default_route(ns: Namespace, gateway: str) -> None:
    """``ip route add default via GATEWAY`` in ``ns`` (IPv4 or IPv6); it
    goes with the link or the namespace."""
    dst = "::/0" if ":" in gateway else "0.0.0.0/0"
    with IPRoute(netns=ns.name) as ipr:
        ipr.route("add", dst=dst, gateway=gateway)


def set_features(dev: str, features: dict[str, bool], ns: Namespace | None = None) -> None:
    """``ethtool -K DEV NAME on|off ...`` (in ``ns``, or this namespace),
    checked: a feature the device keeps as it was is an error."""

    def apply() -> None:
        et = Ethtool()
        try:
            current = et.get_features(dev)
            for name, on in features.items():
                current.features[name].enable = on
            et.set_features(dev, current)
            now = et.get_features(dev).features
            stuck = [name for name, on in features.items() if now[name].enable != on]
            if stuck:
                raise OSError(errno.EOPNOTSUPP, f"{dev}: cannot change {', '.join(stuck)}")
        finally:
            et.close()

    if ns is None:
        apply()
    else:
        ns.run(apply)


def no_udp_gso(dev: str, ns: Namespace | None = None) -> None:
    """Turn ``dev``'s UDP segmentation offload off (``ethtool -K DEV
    tx-udp-segmentation off``; in ``ns``, or this namespace).  Kernel QUIC
    sends UDP GSO super-datagrams (net.quic.gso), which a veth passes on
    whole; so the stack cuts them into datagrams before ``dev`` instead
    (after its qdisc), and counters beyond it see datagrams as on a wire."""
    set_features(dev, {"tx-udp-segmentation": False}, ns)
