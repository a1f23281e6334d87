"""PLPMTUD (RFC 8899, RFC 9000 14.3), opt-in through plpmtud_probe_interval.

A client, a router and a server namespace: client --(MTU a)-- router
--(MTU b)-- server.  The client sends; its PLPMTU is the PMTU column of
/proc/net/quic/eps (UDP payload bytes) and the quic_pmtu_update
tracepoint.  What reaches the server is counted on its device's ingress,
before any reassembly: datagrams by IP length, and fragments.

- MTU 9000 both ways: the search reaches 8972 (9000 on the wire).
- 9000 then 1500: the router's Fragmentation Needed (IPv6: Packet Too Big)
  lowers the client's route MTU, the search settles at 1472 (IPv6: 1452)
  and nothing is fragmented; with probing off (today's behaviour, IPv4)
  the datagrams are sized to the client's 9000 route and the router
  fragments them.
- A black hole: mid-transfer the router silently drops every packet longer
  than 1300 bytes; the transfer completes, the PLPMTU falls back to BASE
  and the search settles at or below 1272.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest

from kquictest.bulk import MB, transfer, transfer_with
from kquictest.netns import Namespace, add_default_route, namespace, no_udp_gso, veth_between
from kquictest.nftables import nft, prepared
from kquictest.quicpair import Credentials, Pair, psk_pair_between
from libquic import sockopt
from libquic.tools.trace import TraceEvent, Tracer
from libquic.uapi import QuicConfig

CLIENT, ROUTER_IN = "10.81.1.2", "10.81.1.1"
SERVER, ROUTER_OUT = "10.81.2.2", "10.81.2.1"
CLIENT6, ROUTER_IN6 = "fd81:1::2", "fd81:1::1"
SERVER6, ROUTER_OUT6 = "fd81:2::2", "fd81:2::1"
TABLE = "kqpmtu"
BASE = 1200
INTERVAL = 5_000_000  # us: the smallest probe interval allowed
HDR = 28  # IPv4 + UDP headers
HDR6 = 48  # IPv6 + UDP headers


@dataclass
class RoutedPath:
    client: Namespace
    router: Namespace
    server: Namespace
    server_dev: str  # the server's device, toward the router


@contextmanager
def routed_path(mtu_client: int, mtu_server: int) -> Iterator[RoutedPath]:
    """The three namespaces and their two links (IPv4 and IPv6); the
    server's ingress counts IP packets of 1400-1500 bytes (l1500),
    8900-9000 (l9000) and fragments (data packets leave room for an ACK: a
    little under the PLPMTU)."""
    with ExitStack() as stack:
        client = stack.enter_context(namespace("pc"))
        router = stack.enter_context(namespace("pr"))
        server = stack.enter_context(namespace("ps"))
        _, client_dev = stack.enter_context(
            veth_between(router, client, [f"{ROUTER_IN}/24", f"{ROUTER_IN6}/64"],
                         [f"{CLIENT}/24", f"{CLIENT6}/64"], mtu=mtu_client, prefix="pl"))
        # the server counts datagrams by size, not the client's GSO batches
        no_udp_gso(client_dev, client)
        _, dev = stack.enter_context(veth_between(router, server,
                                                  [f"{ROUTER_OUT}/24", f"{ROUTER_OUT6}/64"],
                                                  [f"{SERVER}/24", f"{SERVER6}/64"],
                                                  mtu=mtu_server,
                                                  prefix="pw"))
        add_default_route(client, ROUTER_IN)
        add_default_route(server, ROUTER_OUT)
        add_default_route(client, ROUTER_IN6)
        add_default_route(server, ROUTER_OUT6)
        router.write("/proc/sys/net/ipv4/ip_forward", "1")
        router.write("/proc/sys/net/ipv6/conf/all/forwarding", "1")
        nft(f"add table netdev {TABLE}\n"
            f"add counter netdev {TABLE} frags\n"
            f"add counter netdev {TABLE} l1500\n"
            f"add counter netdev {TABLE} l9000\n"
            f"add chain netdev {TABLE} in {{ type filter hook ingress device \"{dev}\" "
            "priority 0; }\n"
            f"add rule netdev {TABLE} in ip frag-off & 0x3fff != 0 counter name frags\n"
            f"add rule netdev {TABLE} in ip length 1400-1500 counter name l1500\n"
            f"add rule netdev {TABLE} in ip length 8900-9000 counter name l9000\n"
            # IPv6: the payload length, without the 40-byte header
            f"add rule netdev {TABLE} in exthdr frag exists counter name frags\n"
            f"add rule netdev {TABLE} in ip6 length 1360-1460 counter name l1500\n"
            f"add rule netdev {TABLE} in ip6 length 8860-8960 counter name l9000\n", server)
        nft(f"add table inet {TABLE}\n"
            f"add chain inet {TABLE} through {{ type filter hook forward priority 0; }}\n",
            router)
        yield RoutedPath(client, router, server, dev)


def arrived(path: RoutedPath, name: str) -> int:
    """Packets of the server's ingress counter ``name``."""
    def run() -> int:
        out = subprocess.run(["nft", "-j", "list", "counter", "netdev", TABLE, name],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        for item in json.loads(out)["nftables"]:
            if "counter" in item:
                return int(item["counter"]["packets"])
        raise KeyError(name)
    return path.server.run(run)


def config(probe_interval: int) -> QuicConfig:
    c = QuicConfig()
    c.plpmtud_probe_interval = probe_interval
    return c


@contextmanager
def connected(path: RoutedPath, creds: Credentials, probe_interval: int,
              server: str = SERVER) -> Iterator[Pair]:
    """A PSK-connected pair, client in ``path.client``, both with
    plpmtud_probe_interval ``probe_interval`` (0: off)."""
    def setup(s: socket.socket) -> None:
        sockopt.set_config(s, config(probe_interval))

    with psk_pair_between(path.server, server, creds, client_ns=path.client,
                          listener_setup=setup, client_setup=setup) as pair:
        yield pair


def pmtu(ns: Namespace, sk: socket.socket) -> int:
    """The PMTU column of ``sk`` in ``ns``'s /proc/net/quic/eps."""
    lines = ns.read("/proc/net/quic/eps").splitlines()
    header, ino = lines[0].split(), str(os.fstat(sk.fileno()).st_ino)
    row = next(dict(zip(header, ln.split(), strict=True))
               for ln in lines[1:] if ln.split()[0] == ino)
    return int(row["PMTU"])


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


@contextmanager
def pmtu_trace() -> Iterator[list[TraceEvent]]:
    """quic_pmtu_update events (of every socket: the client's does not
    exist yet), in the list once the block ends; see ``of()``."""
    events: list[TraceEvent] = []
    tracer = Tracer(events=("quic_pmtu_update",))
    try:
        yield events
        events.extend(tracer.read())
    finally:
        tracer.close()


def ino_of(sk: socket.socket) -> int:
    return os.fstat(sk.fileno()).st_ino


def of(trace: list[TraceEvent], ino: int) -> list[TraceEvent]:
    return [e for e in trace if e.ino == ino]


def summary(events: list[TraceEvent]) -> list[str]:
    return [f"{e.fields.get('event')}:{e.fields.get('plpmtu')}/{e.fields.get('probe')}"
            for e in events]


@pytest.mark.kquic_only("reads kquic's PMTU column and quic_pmtu_update tracepoint")
def test_search_reaches_a_9000_path(creds: Credentials) -> None:
    with routed_path(9000, 9000) as path, pmtu_trace() as trace, \
            connected(path, creds, INTERVAL) as p:
        ino = ino_of(p.client)
        assert wait_for(lambda: pmtu(path.client, p.client) == 9000 - HDR, 10), \
            pmtu(path.client, p.client)
        transfer(p.client, p.server, 4 * MB, 60)  # SHA-256 checked
        size = pmtu(path.client, p.client)
        jumbo = arrived(path, "l9000")
    events = of(trace, ino)
    print(f"\nPMTU {size}; {jumbo} datagrams of 8900-9000 bytes arrived; {summary(events)}")
    assert size == 9000 - HDR
    assert jumbo > 100  # the data went in datagrams of the path MTU
    assert any(e.fields.get("event") == "probe_acked" for e in events)


@pytest.mark.kquic_only("reads kquic's PMTU column and quic_pmtu_update tracepoint")
@pytest.mark.parametrize("server,hdr", [(SERVER, HDR), (SERVER6, HDR6)], ids=["ipv4", "ipv6"])
def test_1500_link_behind_a_9000_one_is_never_fragmented(creds: Credentials, server: str,
                                                         hdr: int) -> None:
    """IPv4: the router's Fragmentation Needed; IPv6: its Packet Too Big
    (a router never fragments IPv6)."""
    with routed_path(9000, 1500) as path, pmtu_trace() as trace, \
            connected(path, creds, INTERVAL, server) as p:
        ino = ino_of(p.client)
        assert wait_for(lambda: pmtu(path.client, p.client) == 1500 - hdr, 10), \
            pmtu(path.client, p.client)
        transfer(p.client, p.server, 4 * MB, 60)  # SHA-256 checked
        size = pmtu(path.client, p.client)
        frags, full = arrived(path, "frags"), arrived(path, "l1500")
    events = of(trace, ino)
    print(f"\nPMTU {size}; {full} datagrams of 1400-1500 bytes, {frags} fragments arrived; "
          f"{summary(events)}")
    assert size == 1500 - hdr
    assert frags == 0
    assert full > 1000  # 4 MB in datagrams of the PLPMTU


@pytest.mark.kquic_only("reads kquic's PMTU column")
def test_probing_off_keeps_the_route_mtu(creds: Credentials) -> None:
    with routed_path(9000, 1500) as path, connected(path, creds, 0) as p:
        transfer(p.client, p.server, 2 * MB, 60)  # SHA-256 checked
        size = pmtu(path.client, p.client)
        frags = arrived(path, "frags")
    print(f"\nPMTU {size}; {frags} fragments arrived")
    # as before PLPMTUD: sized to the client's route, fragmented on the way
    assert size == 9000 - HDR
    assert frags > 100


@pytest.mark.kquic_only("reads kquic's PMTU column and quic_pmtu_update tracepoint")
def test_black_hole_falls_back_and_searches_again(creds: Credentials) -> None:
    hole = 1300  # IP length: UDP payload 1272
    with routed_path(1500, 1500) as path, pmtu_trace() as trace, \
            connected(path, creds, INTERVAL) as p:
        ino = ino_of(p.client)
        assert wait_for(lambda: pmtu(path.client, p.client) == 1500 - HDR, 10), \
            pmtu(path.client, p.client)
        with prepared(f"add rule inet {TABLE} through ip length > {hole} drop\n",
                      path.router) as rule:
            transfer_with(p.client, p.server, 6 * MB, stream_id=0, at=2 * MB,
                          action=rule.commit, timeout=60)  # SHA-256 checked
        # the search goes on from BASE; probes above the hole are lost
        transfer_with(p.client, p.server, 2 * MB, stream_id=4, at=1,
                      action=lambda: None, timeout=60)
        size = pmtu(path.client, p.client)
    events = of(trace, ino)
    names = [e.fields.get("event") for e in events]
    print(f"\nPMTU {size}; {summary(events)}")
    assert "black_hole" in names
    assert size <= hole - HDR
    # the fall back happened after the search had reached 1472
    first_hole = names.index("black_hole")
    assert int(events[first_hole].fields["plpmtu"]) == BASE
    assert any(e.fields.get("event") == "probe_acked" and
               int(e.fields["plpmtu"]) == 1500 - HDR for e in events[:first_hole])
