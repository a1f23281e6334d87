"""A veth link to a second network namespace delayed with tc netem, and a
kernel QUIC connection across it: the client (the sender in these tests)
here, the server in the namespace.

The netem qdisc sits on this side's veth, so it delays the data the client
sends; ACKs come back undelayed.  ``Link.loss`` changes its loss rate with
one netlink request (kquictest.netns), so a blackhole can be switched on
and off quickly.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kquictest import quic_testdriver as qt
from kquictest.netns import Netem, VethLink, veth_link
from kquictest.quicpair import Credentials, Pair, psk_pair_between
from libquic import sockopt
from libquic.uapi import QuicConfig

HERE, THERE = "10.78.0.1", "10.78.0.2"
QUEUE_LIMIT = 100_000  # packets: a long delay holds a whole window

Link = VethLink  # what netem_link yields


@contextmanager
def netem_link(delay_ms: int) -> Iterator[Link]:
    """HERE on a veth, THERE in a new namespace, ``delay_ms`` HERE->THERE."""
    with veth_link([f"{HERE}/24"], [f"{THERE}/24"], prefix="qc",
                   netem_here=Netem(delay_ms=delay_ms, limit=QUEUE_LIMIT)) as link:
        yield link


@contextmanager
def connected_across(link: Link, creds: Credentials, config: QuicConfig | None = None,
                     server_setup: Callable[[socket.socket], None] | None = None,
                     there: str = THERE) -> Iterator[Pair]:
    """A PSK-connected pair: client HERE, server THERE (or at ``there``,
    an IPv6 address of the link's far end for an IPv6 pair), both with
    ``config`` if given, the listener (whose settings the server inherits)
    tuned by ``server_setup``; closed afterwards."""
    def listener_setup(s: socket.socket) -> None:
        client_setup(s)  # accepted sockets inherit it
        if server_setup:
            server_setup(s)

    def client_setup(s: socket.socket) -> None:
        if config:
            sockopt.set_config(s, config)

    with psk_pair_between(link.ns, there, creds, listener_setup=listener_setup,
                          client_setup=client_setup) as pair:
        yield pair


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
