"""UDP GSO on send (net.quic.gso): the 1-RTT datagrams of one flush leave
as UDP GSO super-datagrams, so fewer skbs go down the stack than packets;
the data still arrives intact (SHA-256), on loopback and across a lossy,
reordering veth link, over IPv4 and IPv6.  ``QuicGsoSends`` counts the
super-datagrams and ``QuicGsoSegs`` the datagrams sent in them."""

from __future__ import annotations

import socket

import pytest

from kquictest import quic_testdriver as qt
from kquictest.bulk import MB, transfer
from kquictest.netemlink import HERE, THERE, connected_across
from kquictest.netns import Netem, veth_link
from kquictest.quicpair import Credentials
from kquictest.streampair import connected

pytestmark = [pytest.mark.timeout(90),
              pytest.mark.kquic_only("kquic's net.quic.gso sysctl and GSO counters")]

GSO = "/proc/sys/net/quic/gso"
HERE6, THERE6 = "fd79::1", "fd79::2"
# loss and reordering on both ends (netem sees a super-datagram as one)
LOSSY = Netem(delay_ms=3, loss=2, reorder=25, reorder_corr=50)
FAMILIES = pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6],
                                   ids=["ipv4", "ipv6"])


class Sends:
    """What this namespace sent between two readings of the MIB."""

    def __init__(self) -> None:
        self.before = qt.snmp()

    def done(self) -> dict[str, int]:
        after = qt.snmp()
        d = {k: after[k] - self.before[k]
             for k in ("QuicPktSent", "QuicGsoSends", "QuicGsoSegs", "QuicPktLost")}
        # skbs that went down the stack: a super-datagram is one
        d["skbs"] = d["QuicPktSent"] - d["QuicGsoSegs"] + d["QuicGsoSends"]
        print(f"\nsent {d}")
        return d


def assert_batched(d: dict[str, int]) -> None:
    """Batches went out: fewer skbs than packets (the packets counted
    include the receiver's ACK-only ones, sent one by one)."""
    assert d["QuicGsoSends"] > 0, "no GSO super-datagram sent"
    assert d["skbs"] < 0.8 * d["QuicPktSent"], d


@FAMILIES
def test_gso_loopback(creds: Credentials, family: int) -> None:
    with open(GSO) as f:
        assert f.read().strip() == "1"  # on by default
    sends = Sends()
    with connected(creds, family=family) as p:
        transfer(p.client, p.server, 4 * MB, 40)  # SHA-256 checked
    assert_batched(sends.done())


@FAMILIES
def test_gso_lossy_link(creds: Credentials, family: int) -> None:
    """Loss and reordering (whole super-datagrams lost or late): loss
    recovery resends, and everything arrives."""
    there = THERE if family == socket.AF_INET else THERE6
    with veth_link([f"{HERE}/24", f"{HERE6}/64"], [f"{THERE}/24", f"{THERE6}/64"],
                   netem_here=LOSSY, netem_there=LOSSY, prefix="qg") as link:
        sends = Sends()
        with connected_across(link, creds, there=there) as p:
            transfer(p.client, p.server, 3 * MB, 40)
        d = sends.done()
    assert d["QuicPktLost"] > 0, "nothing was lost: the link is not lossy"
    assert_batched(d)


def test_gso_sysctl_off(creds: Credentials) -> None:
    """net.quic.gso=0: every datagram is sent on its own; 0 and 1 only."""
    with qt.quic_sysctl("gso", 0):
        sends = Sends()
        with connected(creds) as p:
            transfer(p.client, p.server, 1 * MB, 40)
        d = sends.done()
        with pytest.raises(OSError), open(GSO, "w") as f:
            f.write("2\n")
    assert d["QuicGsoSends"] == 0 and d["QuicGsoSegs"] == 0, d
    assert d["QuicPktSent"] > 60  # the transfer did happen (1 MB)
