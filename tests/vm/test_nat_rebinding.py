"""NAT rebinding (RFC 9000 9.3): the client sits behind an nftables NAT
(kquictest.natpath) whose mapping changes in the middle of a transfer, so
the server sees the same connection come from a new address or port
while the client's socket does not move.  The server validates the new
address (PATH_CHALLENGE/PATH_RESPONSE), sends it at most three times what
came from it until then (9.3.1), follows it, reports a peer migration,
restarts congestion control when the address (not only the port)
changed (9.4), and the data arrives intact in either direction."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kquictest.bulk import MB, expected_digest, recv_all, send_all, transfer_with
from kquictest.natpath import (
    CLIENT,
    FIRST,
    Mapping,
    NatPath,
    connected_via,
    nat_path,
)
from kquictest.netns import Netem
from kquictest.nftables import counter, nft
from kquictest.quicpair import Credentials, Pair
from kquictest.streampair import (
    drain_events,
    events_on,
    migration_events,
    recv_msg,
    wait_readable,
)
from libquic.cmsg import quic_sendmsg
from libquic.events import QuicEventMessage
from libquic.tools.trace import Tracer
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW, QuicEventType

pytestmark = pytest.mark.timeout(120)

TOTAL = 6 * MB
TIMEOUT = 30.0  # seconds for a transfer: a failure shows within the test's limit
NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN
# the client's next public address/port: a new port, or a new address
REBIND = {"port": Mapping(0, (30000, 30099)), "address": Mapping(1, (30000, 30099))}
EVENTS = events_on(QuicEventType.CONNECTION_MIGRATION)
INITIAL_WINDOW = 14720  # RFC 9002 7.2, kmod/cong.c
UDP_IP_HEADERS = {socket.AF_INET: 28, socket.AF_INET6: 48}


@pytest.fixture(scope="module")
def topology() -> Iterator[NatPath]:
    """The namespaces, made once (that takes seconds in the VM).  A little
    delay toward the client keeps data in flight past the router, so the
    client has something to acknowledge after a rebinding."""
    with nat_path(Netem(delay_ms=5)) as path:
        yield path


@pytest.fixture
def nat(topology: NatPath) -> NatPath:
    """The topology with the first mapping and no binding yet."""
    topology.remap(FIRST)
    topology.rebind()
    return topology


def server_follows(p: Pair, nat: NatPath, family: int,
                   events: list[QuicEventMessage]) -> None:
    """The server moved to the client's new public address and said so;
    the client did not move, reports nothing, and both directions work."""
    if not migration_events(events):
        events = events + drain_events(p.server, QuicEventType.CONNECTION_MIGRATION)
    assert migration_events(events) == [0]
    assert nat.mapping.covers(family, p.server.getpeername()), p.server.getpeername()
    assert p.client.getsockname()[0] == CLIENT[family]
    assert not wait_readable(p.client, 0.2), "the client saw an event or data"
    quic_sendmsg(p.client, b"ping", 4, NEW_FIN)
    m = recv_msg(p.server)
    assert (m.stream_id, m.data, m.fin) == (4, b"ping", True)
    quic_sendmsg(p.server, b"pong", 4, MSG_QUIC_STREAM_FIN)
    m = recv_msg(p.client)
    assert (m.stream_id, m.data, m.fin) == (4, b"pong", True)


@pytest.mark.parametrize("change", list(REBIND))
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_rebinding_mid_upload(creds: Credentials, nat: NatPath, family: int,
                              change: str) -> None:
    with connected_via(nat, creds, family, EVENTS) as p:
        assert FIRST.covers(family, p.server.getpeername()), p.server.getpeername()
        nat.remap(REBIND[change])
        events = transfer_with(p.client, p.server, TOTAL, stream_id=0, at=TOTAL // 3,
                               action=nat.rebind, timeout=TIMEOUT)
        # the server switched while data was still coming
        assert migration_events(events) == [0]
        server_follows(p, nat, family, events)


@pytest.mark.parametrize("change", list(REBIND))
def test_rebinding_mid_download(creds: Credentials, nat: NatPath, change: str) -> None:
    """The server is the one sending: the client's ACKs are all that come
    from the new address."""
    family = socket.AF_INET
    with connected_via(nat, creds, family, EVENTS) as p:
        nat.remap(REBIND[change])
        events = transfer_with(p.server, p.client, TOTAL, stream_id=1, at=TOTAL // 3,
                               action=nat.rebind, timeout=TIMEOUT)
        assert events == []
        server_follows(p, nat, family, [])


@pytest.mark.parametrize("change", list(REBIND))
def test_rebinding_while_flow_blocked(creds: Credentials, nat: NatPath, change: str) -> None:
    """The client filled the server's window, all it sent is acknowledged,
    and then its mapping changes: the server's window update goes to the
    old mapping and is lost, and the client has nothing in flight to show
    its new address.  It sends its STREAM_DATA_BLOCKED again after a while
    (RFC 9000 4.1); the server validates the new address, follows it,
    sends its update again, and the upload completes.  This stalled for
    good before (a timeout in test_rebinding_mid_upload now and then, when
    the rebinding fell in such a pause)."""
    family = socket.AF_INET
    with connected_via(nat, creds, family, EVENTS) as p:
        nat.remap(REBIND[change])
        for sk in (p.client, p.server):
            sk.settimeout(TIMEOUT)
        events: list[QuicEventMessage] = []
        # a daemon thread: a stalled upload fails here within the time
        # limit, the writer ending with the sockets
        writer = threading.Thread(target=send_all, args=(p.client, TOTAL, 0), daemon=True)
        writer.start()
        time.sleep(1.0)  # the server reads nothing: the client is held, acknowledged
        assert writer.is_alive()
        nat.rebind()
        n, digest = recv_all(p.server, time.monotonic() + TIMEOUT, events=events)
        writer.join(TIMEOUT)
        assert not writer.is_alive()
        assert (n, digest) == (TOTAL, expected_digest(TOTAL))
        server_follows(p, nat, family, events)


@pytest.mark.kquic_only("reads kquic's quic_cwnd_update and quic_path_change tracepoints")
def test_new_address_restarts_congestion_control(creds: Credentials, nat: NatPath) -> None:
    """RFC 9000 9.4: a new peer address (not only a new port) starts from
    the initial window."""
    family = socket.AF_INET
    to = REBIND["address"]
    with connected_via(nat, creds, family, EVENTS) as p:
        tracer = Tracer(ino=os.fstat(p.server.fileno()).st_ino,
                        events=("quic_cwnd_update", "quic_path_change"))
        try:
            nat.remap(to)
            transfer_with(p.server, p.client, TOTAL, stream_id=1, at=TOTAL // 3,
                          action=nat.rebind, timeout=TIMEOUT)
            trace = tracer.read()
        finally:
            tracer.close()
        server_follows(p, nat, family, [])
    changes = [i for i, ev in enumerate(trace) if ev.name == "quic_path_change"]
    assert len(changes) == 1, trace
    assert trace[changes[0]].fields["addr"].startswith(to.address(family) + ":")
    before = [int(ev.fields["cwnd"]) for ev in trace[:changes[0]] if ev.name == "quic_cwnd_update"]
    after = [int(ev.fields["cwnd"]) for ev in trace[changes[0]:] if ev.name == "quic_cwnd_update"]
    assert before and after
    assert after[0] < 4 * INITIAL_WINDOW < max(before), (max(before), after[:5])


def test_new_path_is_amplification_limited(creds: Credentials, nat: NatPath) -> None:
    """While the new address is unvalidated, the server sends it at most
    three times what it received from it (RFC 9000 8.2.1, 9.3.1).  What
    the server sends there is counted and dropped in the server's namespace
    for a while, so the path stays unvalidated; then the drop is lifted,
    the client sends again and the download completes."""
    family = socket.AF_INET
    to = REBIND["address"]
    new, (lo, hi) = to.address(family), to.ports
    nft("add table inet kqamp\n"
        "add counter inet kqamp to_new\n"
        "add counter inet kqamp from_new\n"
        "add chain inet kqamp out { type filter hook output priority 0; }\n"
        "add chain inet kqamp in { type filter hook input priority 0; }\n"
        f"add rule inet kqamp in ip saddr {new} udp sport {lo}-{hi} counter name from_new\n"
        f"add rule inet kqamp out ip daddr {new} udp dport {lo}-{hi} "
        "counter name to_new drop\n", nat.server)
    counted: dict[str, tuple[int, int]] = {}

    def blocked_rebinding() -> None:
        nat.rebind()
        time.sleep(1.5)  # the server's challenges retry every >= 300 ms
        counted["to"] = counter("kqamp", "to_new", nat.server)
        counted["from"] = counter("kqamp", "from_new", nat.server)
        nft("delete chain inet kqamp out\n", nat.server)  # lift the drop
        # the client hears nothing meanwhile, so it is silent: it speaks
        quic_sendmsg(p.client, b"nudge", 0, NEW_FIN)

    try:
        with connected_via(nat, creds, family, EVENTS) as p:
            nat.remap(to)
            transfer_with(p.server, p.client, TOTAL, stream_id=1, at=TOTAL // 3,
                          action=blocked_rebinding, timeout=TIMEOUT)
            data: list = []
            events = drain_events(p.server, QuicEventType.CONNECTION_MIGRATION, data=data)
            assert [m.data for m in data] in ([b"nudge"], [])
            if not data:
                data.append(recv_msg(p.server))
            assert (data[0].stream_id, data[0].data) == (0, b"nudge")
            server_follows(p, nat, family, events)
    finally:
        nft("delete table inet kqamp\n", nat.server)
    (tx_pkts, tx_bytes), (rx_pkts, rx_bytes) = counted["to"], counted["from"]
    hdr = UDP_IP_HEADERS[family]
    sent, received = tx_bytes - hdr * tx_pkts, rx_bytes - hdr * rx_pkts
    assert rx_pkts > 0, "the server never heard from the new address"
    assert tx_pkts > 0, "the server never challenged the new address"
    assert sent <= 3 * received, (counted, sent, received)
