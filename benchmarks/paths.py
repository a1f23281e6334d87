"""The network paths the benchmark runs over.

A ``NetPath`` says where the server listens and in which network
namespaces the client's and the server's sockets are made: loopback in
the benchmark's own namespace, or a veth pair between two fresh
namespaces (tests/kquictest/netns.py, on pyroute2) at a given MTU and,
for the link benchmark, with a netem qdisc on the client's end.  A socket
made in a namespace stays there, so only its creation runs in a thread
that joined the namespace; sending and receiving happen anywhere.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from kquictest.netns import Namespace, namespace, veth_between

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
VETH_CLIENT, VETH_SERVER = "10.81.0.1", "10.81.0.2"
SETUP_WAIT = 120.0  # seconds for a connect or a handshake in a namespace


@dataclass(frozen=True)
class NetPath:
    """Client and server placement for one path (``None``: this namespace)."""

    name: str
    server_addr: str
    client_ns: Namespace | None = None
    server_ns: Namespace | None = None

    def in_client(self, fn: Callable[[], T]) -> T:
        """``fn()`` where the client's sockets live."""
        return fn() if self.client_ns is None else self.client_ns.run(fn, SETUP_WAIT)

    def in_server(self, fn: Callable[[], T]) -> T:
        """``fn()`` where the server's sockets live."""
        return fn() if self.server_ns is None else self.server_ns.run(fn, SETUP_WAIT)


def loopback() -> NetPath:
    return NetPath("loopback", LOOPBACK)


@contextmanager
def veth_path(mtu: int, name: str | None = None, netem: Sequence[str] = ()
              ) -> Iterator[NetPath]:
    """Client namespace -- veth (MTU ``mtu``) -- server namespace, with a
    netem qdisc of parameters ``netem`` (tc(8)'s words: ``delay 30ms rate
    10mbit``) on the client's end, for what the client sends; all removed
    afterwards.  (tc(8), not pyroute2: pyroute2 0.9 sends netem's ``rate``
    as a rate estimator too, which the kernel refuses.)"""
    with namespace("bc") as cli, namespace("bs") as srv, \
            veth_between(cli, srv, [f"{VETH_CLIENT}/24"], [f"{VETH_SERVER}/24"],
                         mtu=mtu, prefix="bv") as (dev, _):
        if netem:
            cmd = ["tc", "qdisc", "replace", "dev", dev, "root", "netem", *netem]
            cli.run(lambda: subprocess.run(cmd, check=True, capture_output=True),
                    SETUP_WAIT)
        yield NetPath(name or f"veth{mtu}", VETH_SERVER, cli, srv)
