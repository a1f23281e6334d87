"""Replayed 1-RTT packets are duplicates, never processed again.

RFC 9000 12.3 and 21.10: a receiver must not process a packet number twice.
The receiver tracks a bounded number of received ranges; everything below
the oldest range it still tracks is a duplicate too (the floor).  The
hostile peer of test_rmem (the client's keys, from the client's address)
sends a packet, then packets with gaps between their numbers so that the
packet's range is forgotten, then the very same bytes again.
"""

from __future__ import annotations

import socket

import pytest

from kquictest import quic_testdriver as qt
from kquictest.hostile import Victim, dgram_frame, drain, hostile_pair, settle, stream_frame
from libquic.cmsg import quic_recvmsg

pytestmark = pytest.mark.kquic_only(
    "hostile_pair reads socket states from kquic's /proc/net/quic/eps and counts "
    "with its QuicPktDupDrops MIB counter")

GAPS = 40  # more than the ranges the receiver tracks (32)
PING = b"\x01"


def dup_drops() -> int:
    return qt.snmp().get("QuicPktDupDrops", 0)


def datagrams(s: socket.socket) -> list[bytes]:
    out = []
    while qt.wait_readable(s, 1.0):
        m = quic_recvmsg(s, 65536, socket.MSG_DONTWAIT)
        if m.is_datagram:
            out.append(m.data)
    return out


def gapped_pings(v: Victim, n: int = GAPS) -> None:
    for _ in range(n):
        v.peer.pn += 1  # a number never sent: one more gap
        v.peer.send(PING)


def test_replay_older_than_the_tracked_ranges_is_dropped() -> None:
    with hostile_pair(server_tp={"max_datagram_frame_size": 1500}) as v:
        captured = v.peer.packet(dgram_frame(b"once"))
        v.peer.send_packet(captured)
        gapped_pings(v)
        before = dup_drops()
        v.peer.send_packet(captured)
        settle(v.server)
        assert datagrams(v.server) == [b"once"], "a replayed DATAGRAM was delivered again"
        assert dup_drops() == before + 1
        assert qt.state_of(v.server) == "ESTABLISHED"


def test_replay_inside_the_tracked_ranges_is_dropped() -> None:
    with hostile_pair(server_tp={"max_datagram_frame_size": 1500}) as v:
        captured = v.peer.packet(dgram_frame(b"once"))
        v.peer.send_packet(captured)
        gapped_pings(v, 3)
        before = dup_drops()
        v.peer.send_packet(captured)
        settle(v.server)
        assert datagrams(v.server) == [b"once"]
        assert dup_drops() == before + 1


def test_replayed_stream_data_is_neither_duplicated_nor_corrupted() -> None:
    with hostile_pair() as v:
        first = v.peer.packet(stream_frame(0, 0, b"hello "))
        v.peer.send_packet(first)
        gapped_pings(v)
        before = dup_drops()
        v.peer.send_packet(first)
        v.peer.send(stream_frame(0, 6, b"world", fin=True))
        settle(v.server)
        got: dict[int, bytearray] = {}
        drain(v.server, got)
        assert bytes(got.get(0, b"")) == b"hello world"
        assert dup_drops() == before + 1


def test_packets_after_the_gaps_still_count() -> None:
    """Raising the floor forgets gaps, not the packets above them."""
    with hostile_pair(server_tp={"max_datagram_frame_size": 1500}) as v:
        gapped_pings(v)
        v.peer.pn += 1
        v.peer.send(dgram_frame(b"after"))
        settle(v.server)
        assert datagrams(v.server) == [b"after"]
