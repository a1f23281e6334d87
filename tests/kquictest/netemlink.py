"""A veth link to a second network namespace delayed with tc netem, and a
kernel QUIC connection across it: the client (the sender in these tests)
here, the server in the namespace.

The netem qdisc sits on this side's veth, so it delays the data the client
sends; ACKs come back undelayed.  ``Link.loss`` changes its loss rate over
netlink in this process (an exec of tc can take a second in the VM), so a
blackhole can be switched on and off quickly.
"""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyroute2 import IPRoute

from kquictest import quic_testdriver as qt
from kquictest.quicpair import WAIT, Credentials, Pair, handshake
from libquic import sockopt
from libquic.uapi import QuicConfig, quic_socket

HERE, THERE = "10.78.0.1", "10.78.0.2"
QUEUE_LIMIT = 100_000  # packets: a long delay holds a whole window


def sh(*args: str) -> None:
    subprocess.run(args, check=True, timeout=30, capture_output=True)


@dataclass
class Link:
    ns: str
    dev: str  # this side's veth: its root qdisc is the netem one
    peer_dev: str  # the namespace's veth
    delay_ms: int
    ipr: IPRoute  # open, so that a change is one netlink request
    ifindex: int = 0  # of dev

    def loss(self, percent: int) -> None:
        """Drop ``percent`` % of what the client sends (100: a blackhole)."""
        self.ipr.tc("change", "netem", self.ifindex, delay=self.delay_ms * 1000,
                    loss=percent, limit=QUEUE_LIMIT)


@contextmanager
def netem_link(delay_ms: int) -> Iterator[Link]:
    """HERE on a veth, THERE in a new namespace, ``delay_ms`` HERE->THERE."""
    ns = f"qc{uuid.uuid4().hex[:8]}"
    link = Link(ns, f"ca{ns[2:8]}", f"cb{ns[2:8]}", delay_ms, IPRoute())
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", link.dev, "type", "veth", "peer", "name", link.peer_dev)
        sh("ip", "link", "set", link.peer_dev, "netns", ns)
        sh("ip", "addr", "add", f"{HERE}/24", "dev", link.dev)
        sh("ip", "link", "set", link.dev, "up")
        sh("ip", "-n", ns, "addr", "add", f"{THERE}/24", "dev", link.peer_dev)
        sh("ip", "-n", ns, "link", "set", link.peer_dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("tc", "qdisc", "add", "dev", link.dev, "root", "netem",
           "delay", f"{delay_ms}ms", "limit", str(QUEUE_LIMIT))
        link.ifindex = link.ipr.link_lookup(ifname=link.dev)[0]
        yield link
    finally:
        link.ipr.close()
        subprocess.run(["ip", "link", "del", link.dev], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


@contextmanager
def connected_across(link: Link, creds: Credentials, config: QuicConfig | None = None,
                     server_setup: Callable[[socket.socket], None] | None = None
                     ) -> Iterator[Pair]:
    """A PSK-connected pair: client HERE, server THERE, both with ``config``
    if given, the listener (whose settings the server inherits) tuned by
    ``server_setup``; closed afterwards."""
    def make() -> socket.socket:
        s = quic_socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        sockopt.set_alpn(s, ["t"])
        if config:
            sockopt.set_config(s, config)  # accepted sockets inherit it
        if server_setup:
            server_setup(s)
        s.bind((THERE, 0))
        s.listen(1)
        return s

    def client_setup(s: socket.socket) -> None:
        if config:
            sockopt.set_config(s, config)

    lsk: socket.socket = qt.in_netns(link.ns, make)  # type: ignore[assignment]
    try:
        pair = handshake(lsk, client_kw={"pkey_file": creds.psk},
                         server_kw={"pkey_file": creds.psk, "cert_file": None},
                         client_alpns=["t"], client_setup=client_setup)
    finally:
        lsk.close()
    try:
        yield pair
    finally:
        pair.close()


@dataclass(frozen=True)
class CongInfo:
    """The congestion columns of /proc/net/quic/eps."""

    cwnd: int  # bytes
    srtt: int  # us
    pacing_rate: int  # bytes/s
    persistent: int  # persistent congestion declared


def cong_info(sk: socket.socket) -> CongInfo:
    row = qt.eps_row(sk)
    cwnd, srtt, rate, pc = (int(row[k]) for k in ("CWND", "SRTT", "PACING_RATE", "PERSISTENT"))
    return CongInfo(cwnd, srtt, rate, pc)
