"""Handshake over a lossy link: two network namespaces, veth, tc netem."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from kquictest import quic_testdriver as qt
from kquictest.netns import Namespace, Netem, veth_link


@pytest.fixture
def lossy_link() -> Iterator[tuple[Namespace, Callable[[int], None]]]:
    """Server namespace behind a veth pair; ``loss(pct)`` puts netem loss
    on both ends (0: none)."""
    with veth_link(["10.77.0.1/24", "fd77::1/64"], ["10.77.0.2/24", "fd77::2/64"],
                   prefix="qs") as link:

        def loss(pct: int) -> None:
            link.netem(Netem(loss=pct) if pct else None, here=True, there=True)

        yield link.ns, loss


def listener_in(ns: Namespace, family: int, host: str) -> socket.socket:
    def make() -> socket.socket:
        s = qt.quic_socket(family)
        s.bind((host, 0))
        s.listen(8)
        return s

    return ns.run(make)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
@pytest.mark.parametrize(
    "family,host",
    [(socket.AF_INET, "10.77.0.2"), (socket.AF_INET6, "fd77::2")],
    ids=["ipv4", "ipv6"],
)
def test_handshake_without_loss_across_namespaces(lossy_link, family, host):
    ns, _ = lossy_link
    lsk = listener_in(ns, family, host)
    _, c, s = qt.connect_pair(family, host=host, listener=lsk)
    qt.wait_for(lambda: qt.state_of(c) == "ESTABLISHED", 5, "client ESTABLISHED")
    for x in (c, s, lsk):
        x.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_retransmission_after_loss(lossy_link):
    ns, loss = lossy_link
    loss(25)
    before = qt.snmp()
    for _ in range(3):
        lsk = listener_in(ns, socket.AF_INET, "10.77.0.2")
        _, c, s = qt.connect_pair(
            socket.AF_INET,
            host="10.77.0.2",
            listener=lsk,
            timeout=120,
            ch_size=2500,
            ee_size=6000,
        )
        qt.wait_for(lambda c=c: qt.state_of(c) == "ESTABLISHED", 5, "client ESTABLISHED")
        for x in (c, s, lsk):
            x.close()
    after = qt.snmp()
    resent = (after["QuicPktLost"] - before["QuicPktLost"]) + (
        after["QuicPktProbeTimeouts"] - before["QuicPktProbeTimeouts"]
    )
    assert resent > 0, "25% loss without a single loss detection or PTO"


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_blackhole_then_recovery(lossy_link):
    """All packets dropped for a while: PTO backs off, then the handshake
    completes once the link comes back."""
    ns, loss = lossy_link
    lsk = listener_in(ns, socket.AF_INET, "10.77.0.2")
    loss(100)
    c = qt.quic_socket(socket.AF_INET)
    c.connect(lsk.getsockname())
    qt.hs_send(c, qt.QUIC_CRYPTO_INITIAL, qt.msg(b"CH", bytes(50)))
    pto0 = qt.snmp()["QuicPktProbeTimeouts"]
    time.sleep(3)
    assert qt.snmp()["QuicPktProbeTimeouts"] > pto0, "no probe while blackholed"
    loss(0)
    lsk.settimeout(30)
    s, _ = lsk.accept()
    kind, _ = qt.Reader(s).message(qt.QUIC_CRYPTO_INITIAL, time.monotonic() + 30)
    assert kind == b"CH"
    for x in (c, s, lsk):
        x.close()
