"""Receive coalescing (UDP GRO): a burst of datagrams that a device's NAPI
poll receives is merged into one skb, which the module splits again and
processes in order under one socket lock.  A veth in NAPI mode (GRO on)
coalesces what netem releases in bursts; the
/proc/net/quic/snmp counters QuicGroRcv/QuicGroSegs show the merged skbs
and the datagrams in them, the SHA-256 of the transfer and the packet
numbers the receiver traced show nothing was lost or reordered on the way.
net.quic.gro=0 turns it off for the UDP sockets created afterwards."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kquictest.bulk import MB, transfer
from kquictest.netemlink import HERE, THERE, Link, connected_across
from kquictest.netns import Netem, set_features, veth_link
from kquictest.quicpair import Credentials
from libquic.tools.trace import Tracer

pytestmark = pytest.mark.timeout(180)

HERE6, THERE6 = "fd7a::1", "fd7a::2"
SYSCTL = "/proc/sys/net/quic/gro"


@contextmanager
def gro_link(netem: Netem, gro_sysctl: int = 1) -> Iterator[Link]:
    """HERE -- veth -- THERE, ``netem`` on HERE's end (it releases what the
    client sends in bursts), GRO on THERE's end, net.quic.gro THERE set to
    ``gro_sysctl`` before the server binds.  A veth polls its receive ring
    with NAPI (and GRO) only with GRO on, and takes a datagram from a
    kernel UDP socket that way only if its peer has TSO off.  HERE's UDP
    segmentation offload is off too: the client's UDP GSO super-datagrams
    (net.quic.gso) are cut into datagrams before its veth, as a NIC puts
    them on a wire, instead of crossing whole, which GRO leaves alone."""
    with veth_link([f"{HERE}/24", f"{HERE6}/64"], [f"{THERE}/24", f"{THERE6}/64"],
                   netem_here=netem, prefix="qg") as link:
        # veth_skb_is_eligible_for_gro(): all the TSO features off
        set_features(link.dev, {"tx-tcp-segmentation": False,
                                "tx-tcp-ecn-segmentation": False,
                                "tx-tcp-mangleid-segmentation": False,
                                "tx-tcp6-segmentation": False,
                                "tx-udp-segmentation": False})
        set_features(link.peer_dev, {"rx-gro": True}, link.ns)
        assert link.ns.read(SYSCTL).strip() == "1"  # on by default
        link.ns.write(SYSCTL, f"{gro_sysctl}\n")
        yield link


def there_snmp(link: Link) -> dict[str, int]:
    """The MIB counters of THERE's namespace."""
    text = link.ns.read("/proc/net/quic/snmp")
    return {k: int(v) for k, v in (ln.split() for ln in text.splitlines())}


def run(link: Link, creds: Credentials, there: str, total: int,
        trace: bool = False) -> tuple[dict[str, int], list[int]]:
    """Send ``total`` bytes HERE -> THERE (SHA-256 checked); return the
    change of THERE's counters and the 1-RTT packet numbers the server
    processed, in processing order (``trace``)."""
    with connected_across(link, creds, there=there) as p:
        before = there_snmp(link)
        tracer = (Tracer(ino=os.fstat(p.server.fileno()).st_ino, events=("quic_packet_recv",))
                  if trace else None)
        try:
            transfer(p.client, p.server, total, 120)
            events = tracer.read() if tracer else []
        finally:
            if tracer:
                tracer.close()
        after = there_snmp(link)
    delta = {k: after[k] - before[k] for k in after}
    pns = [int(ev.fields["pn"]) for ev in events if ev.fields.get("level") == "1rtt"]
    print(f"GRO: {delta['QuicGroRcv']} skbs carrying {delta['QuicGroSegs']} of "
          f"{delta['QuicPktRcv']} datagrams received")
    return delta, pns


@pytest.mark.kquic_only("kquic's GRO counters and quic_packet_recv tracepoint")
@pytest.mark.parametrize("there", [THERE, THERE6], ids=["ipv4", "ipv6"])
def test_bursts_arrive_coalesced_and_are_processed_in_order(creds: Credentials,
                                                            there: str) -> None:
    with gro_link(Netem(delay_ms=2)) as link:
        delta, pns = run(link, creds, there, 2 * MB, trace=True)
    assert delta["QuicGroRcv"] > 20, delta
    # a merged skb holds two datagrams at least; most of the data came so
    assert delta["QuicGroSegs"] >= 2 * delta["QuicGroRcv"], delta
    assert delta["QuicGroSegs"] >= delta["QuicPktRcv"] // 4, delta
    # nothing reorders on this link: split bursts keep the order they came in
    assert len(pns) > 800, len(pns)
    backwards = [(a, b) for a, b in itertools.pairwise(pns) if b <= a]
    assert not backwards, backwards[:10]


@pytest.mark.kquic_only("kquic's GRO counters")
def test_reordered_bursts_arrive_intact(creds: Credentials) -> None:
    # netem sends a quarter at once and delays the rest: bursts come
    # coalesced, out of order with one another
    with gro_link(Netem(delay_ms=5, reorder=25, reorder_corr=50)) as link:
        delta, _ = run(link, creds, THERE, 2 * MB)  # SHA-256 checked
    assert delta["QuicGroRcv"] > 10, delta


@pytest.mark.kquic_only("kquic's net.quic.gro sysctl and GRO counters")
def test_sysctl_off_leaves_datagrams_uncoalesced(creds: Credentials) -> None:
    with gro_link(Netem(delay_ms=2), gro_sysctl=0) as link:
        delta, _ = run(link, creds, THERE, 1 * MB)  # SHA-256 checked
    assert delta["QuicGroRcv"] == 0 and delta["QuicGroSegs"] == 0, delta
    assert delta["QuicPktRcv"] > 500, delta
