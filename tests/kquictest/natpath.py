"""A client behind a NAT: three namespaces, client -- router -- server,
the router translating the client's UDP flows to a public address and
port range with nftables (the ``nft`` command, run in the router's
namespace).

``NatPath.remap()`` changes the mapping for new flows (one nft command,
slow in the VM: done ahead), ``NatPath.rebind()`` flushes the router's
conntrack table (one netlink message, quick): the client's next datagram
then leaves with the new public address or port, as when a real NAT's
binding expires mid-connection (a NAT rebinding, RFC 9000 9.3).  The
client's own socket does not change, and what the server still sends to
the old public address is lost.

``connected_via(nat, creds)`` is a PSK-connected kernel pair across it
(client socket in the client namespace, server socket in the server's).
kquictest.nftables runs other scripts (counters, drops) in any of the
namespaces.  Everything is undone afterwards: the table deleted, links
deleted, namespaces removed.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from kquictest.netns import Namespace, Netem, add_default_route, namespace, veth_between
from kquictest.nftables import NFT_WAIT, nft
from kquictest.quicpair import Credentials, Pair, psk_pair_between

# the client's private network, and the network the router and the
# server share (the router's two public addresses, the server)
CLIENT = {socket.AF_INET: "10.79.1.2", socket.AF_INET6: "fd79:1::2"}
ROUTER_INSIDE = {socket.AF_INET: "10.79.1.1", socket.AF_INET6: "fd79:1::1"}
PRIVATE_NET = {socket.AF_INET: "10.79.1.0/24", socket.AF_INET6: "fd79:1::/64"}
PUBLIC = {socket.AF_INET: ("10.79.2.1", "10.79.2.3"),
          socket.AF_INET6: ("fd79:2::1", "fd79:2::3")}
SERVER = {socket.AF_INET: "10.79.2.2", socket.AF_INET6: "fd79:2::2"}
PLEN = {socket.AF_INET: 24, socket.AF_INET6: 64}
TABLE = "kqnat"
# <linux/netlink.h>, <linux/netfilter/nfnetlink*.h>
NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_DELETE = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2


@dataclass(frozen=True)
class Mapping:
    """Where the router maps the client's flows: public address number
    ``public`` (0 or 1, of ``PUBLIC``), a source port in ``ports``."""

    public: int
    ports: tuple[int, int]

    def address(self, family: int) -> str:
        return PUBLIC[family][self.public]

    def covers(self, family: int, addr: tuple[object, ...]) -> bool:
        """Is ``addr`` (a getpeername() result) a port of this mapping?"""
        port = int(str(addr[1]))
        return addr[0] == self.address(family) and self.ports[0] <= port <= self.ports[1]


def _ctnetlink_flush() -> None:
    # IPCTNL_MSG_CT_DELETE with no tuple: the whole table (AF_UNSPEC: both
    # families), as conntrack -F sends it; the socket is the calling
    # thread's namespace's
    msg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE
    nfgenmsg = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)
    hdr = struct.pack("=IHHII", 16 + len(nfgenmsg), msg_type, NLM_F_REQUEST | NLM_F_ACK, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER) as nl:
        nl.settimeout(NFT_WAIT)
        nl.send(hdr + nfgenmsg)
        reply = nl.recv(65536)
    _, rtype, _, _, _ = struct.unpack_from("=IHHII", reply)
    (err,) = struct.unpack_from("=i", reply, 16)
    if rtype != NLMSG_ERROR or err not in (0, -errno.ENOENT):
        raise OSError(-err, f"conntrack flush: {os.strerror(-err)}")


def flush_conntrack(ns: Namespace) -> None:
    """Drop every conntrack entry of ``ns`` (``conntrack -F``)."""
    ns.run(_ctnetlink_flush)


@dataclass
class NatPath:
    """The three namespaces; ``wan`` is the router's device toward the server."""

    client: Namespace
    router: Namespace
    server: Namespace
    wan: str
    mapping: Mapping

    def _rules(self, m: Mapping) -> str:
        rules = []
        for fam, proto in ((socket.AF_INET, "ip"), (socket.AF_INET6, "ip6")):
            to = m.address(fam) if fam == socket.AF_INET else f"[{m.address(fam)}]"
            rules.append(f"add rule inet {TABLE} post oifname \"{self.wan}\" "
                         f"{proto} saddr {PRIVATE_NET[fam]} meta l4proto udp "
                         f"snat {proto} to {to}:{m.ports[0]}-{m.ports[1]}\n")
        return "".join(rules)

    def start(self) -> None:
        nft(f"add table inet {TABLE}\n"
            f"add chain inet {TABLE} post {{ type nat hook postrouting priority srcnat; }}\n"
            + self._rules(self.mapping), self.router)

    def remap(self, mapping: Mapping) -> None:
        """Map new flows to ``mapping``; a flow the router already tracks
        keeps its mapping until ``rebind()``."""
        nft(f"flush chain inet {TABLE} post\n" + self._rules(mapping), self.router)
        self.mapping = mapping

    def rebind(self) -> None:
        """The router forgets its bindings (its conntrack table is
        flushed): the client's next datagram gets the current mapping."""
        flush_conntrack(self.router)

    def stop(self) -> None:
        nft(f"delete table inet {TABLE}\n", self.router)


FIRST = Mapping(0, (20000, 20099))


@contextmanager
def nat_path(netem: Netem | None = None, mapping: Mapping = FIRST) -> Iterator[NatPath]:
    """The client, router and server namespaces, linked, with IPv4 and IPv6
    addresses and the router's NAT on (``mapping`` at first); ``netem`` on
    the router's device toward the client, delaying what reaches it."""
    with ExitStack() as stack:
        client = stack.enter_context(namespace("nc"))
        router = stack.enter_context(namespace("nr"))
        server = stack.enter_context(namespace("ns"))
        fams = (socket.AF_INET, socket.AF_INET6)
        stack.enter_context(veth_between(
            router, client, [f"{ROUTER_INSIDE[f]}/{PLEN[f]}" for f in fams],
            [f"{CLIENT[f]}/{PLEN[f]}" for f in fams], netem_a=netem, prefix="nl"))
        wan, _ = stack.enter_context(veth_between(
            router, server, [f"{a}/{PLEN[f]}" for f in fams for a in PUBLIC[f]],
            [f"{SERVER[f]}/{PLEN[f]}" for f in fams], prefix="nw"))
        for f in fams:
            add_default_route(client, ROUTER_INSIDE[f])
        router.write("/proc/sys/net/ipv4/ip_forward", "1")
        router.write("/proc/sys/net/ipv6/conf/all/forwarding", "1")
        path = NatPath(client, router, server, wan, mapping)
        path.start()
        try:
            yield path
        finally:
            path.stop()


@contextmanager
def connected_via(nat: NatPath, creds: Credentials, family: int = socket.AF_INET,
                  setup: Callable[[socket.socket], None] | None = None) -> Iterator[Pair]:
    """A PSK-connected pair: the client in ``nat.client``, the server (its
    listener tuned by ``setup``, which the accepted socket inherits) in
    ``nat.server``; closed afterwards."""
    with psk_pair_between(nat.server, SERVER[family], creds, client_ns=nat.client,
                          listener_setup=setup, client_setup=setup) as pair:
        yield pair
