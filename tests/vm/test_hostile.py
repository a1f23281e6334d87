"""A hostile peer: random and extreme frames inside correctly protected
1-RTT packets (so the frame parser is reached), and Initial floods from many
source ports.  The kernel must survive (vm-run checks dmesg), close a
connection it cannot accept with a transport error, free everything it held,
and keep serving.

KQUIC_HOSTILE_PACKETS sets the number of packets (CI: 3000; ``make soak``:
60000); QUIC_FUZZ_SEED repeats a run.
"""

from __future__ import annotations

import socket
import time

import pytest

from kquictest import hostile
from kquictest import quic_testdriver as qt

pytestmark = pytest.mark.timeout(1800)

PACKETS = hostile.PACKETS


def wait_sockets(baseline: int, timeout: float = 60) -> None:
    qt.wait_for(lambda: hostile.quic_socket_count() <= baseline, timeout,
                f"the QUIC sockets to return to {baseline}")


@pytest.mark.kquic_only("counts sockets in kquic's /proc/net/quic/eps and its MIB")
def test_random_frames_in_protected_packets() -> None:
    r = hostile.rng()
    baseline = hostile.quic_socket_count()
    per_pair = max(PACKETS // 10, 50)
    sent = pairs = closed = peer_closed = 0
    while sent < PACKETS:
        before = qt.snmp()
        with hostile.hostile_pair(server_tp={"max_datagram_frame_size": 1500}) as v:
            pairs += 1
            for frames in hostile.random_frames(r, per_pair):
                v.peer.send(frames)
                sent += 1
            time.sleep(0.3)
            state = qt.state_of(v.server)
            assert state in ("ESTABLISHED", "CLOSED"), state
            after = qt.snmp()
            if state == "CLOSED" and after["QuicConnCloseRcvd"] > before["QuicConnCloseRcvd"]:
                # a well-formed CONNECTION_CLOSE among the random frames:
                # the server drains, and sends nothing (RFC 9000 10.2.2)
                peer_closed += 1
                assert after["QuicConnProtocolErrors"] == before["QuicConnProtocolErrors"]
            elif state == "CLOSED":
                closed += 1
                assert after["QuicConnCloseSent"] > before["QuicConnCloseSent"], (
                    "closed without telling the peer why")
                assert after["QuicConnProtocolErrors"] > before["QuicConnProtocolErrors"]
    print(f"{sent} hostile packets over {pairs} connections, {closed} closed with an error, "
          f"{peer_closed} closed by a CONNECTION_CLOSE")
    assert closed >= 1, "random frames never closed a connection: were they parsed?"
    wait_sockets(baseline)
    # still serving
    lsk, c, s = qt.connect_pair()
    for x in (c, s, lsk):
        x.close()


@pytest.mark.kquic_only("counts sockets in kquic's /proc/net/quic/eps and its MIB")
def test_initial_flood_from_many_ports() -> None:
    r = hostile.rng()
    baseline = hostile.quic_socket_count()
    lsk = qt.quic_socket(socket.AF_INET)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    try:
        lsk.bind(("127.0.0.1", 0))
        lsk.listen(16)
        before = qt.snmp()
        n = max(PACKETS // 2, 100)
        for sport, pkt in hostile.initial_flood(r, n):
            hostile.raw_udp(raw, sport, lsk.getsockname(), pkt)
        time.sleep(0.5)
        after = qt.snmp()
        queued = after["QuicConnRequests"] - before["QuicConnRequests"]
        dropped = after["QuicConnRequestDrops"] - before["QuicConnRequestDrops"]
        print(f"{n} Initials: {queued} queued, {dropped} refused")
        assert queued <= 16 + 1, "the backlog did not bound the flood"
        # what the flood queued is accepted and closed; then a real client
        accepted = qt.accept_all(lsk)
        lsk.settimeout(30)
        assert accepted <= 17
        _, c, s = qt.connect_pair(listener=lsk, timeout=60)
        c.close()
        s.close()
    finally:
        raw.close()
        lsk.close()
    wait_sockets(baseline)
