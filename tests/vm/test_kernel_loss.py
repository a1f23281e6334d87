"""Handshake over a lossy link: two network namespaces, veth, tc netem."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid

import pytest

from kquictest import quic_testdriver as qt


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, timeout=30, capture_output=True)


@pytest.fixture
def lossy_link():
    """Server namespace behind a veth pair with netem loss both ways."""
    ns = f"qs{uuid.uuid4().hex[:8]}"
    a, b = f"va{ns[2:8]}", f"vb{ns[2:8]}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", b, "netns", ns)
        sh("ip", "addr", "add", "10.77.0.1/24", "dev", a)
        sh("ip", "-6", "addr", "add", "fd77::1/64", "dev", a, "nodad")
        sh("ip", "link", "set", a, "up")
        sh("ip", "-n", ns, "addr", "add", "10.77.0.2/24", "dev", b)
        sh("ip", "-n", ns, "-6", "addr", "add", "fd77::2/64", "dev", b, "nodad")
        sh("ip", "-n", ns, "link", "set", b, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")

        def loss(pct: int) -> None:
            for args in (["tc"], ["ip", "netns", "exec", ns, "tc"]):
                dev = a if len(args) == 1 else b
                subprocess.run(
                    [*args, "qdisc", "del", "dev", dev, "root"], capture_output=True, timeout=30
                )
                if pct:
                    sh(*args, "qdisc", "add", "dev", dev, "root", "netem", "loss", f"{pct}%")

        yield ns, loss
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def listener_in(ns: str, family: int, host: str) -> socket.socket:
    def make() -> socket.socket:
        s = qt.quic_socket(family)
        s.bind((host, 0))
        s.listen(8)
        return s

    return qt.in_netns(ns, make)  # type: ignore[return-value]


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
