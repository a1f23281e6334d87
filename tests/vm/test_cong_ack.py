"""Delayed ACKs (RFC 9000 13.2.1): a lone ack-eliciting 1-RTT packet is
acknowledged after max_ack_delay, every second one at once.

The server sits in another network namespace, so the MIB counter
QuicPktRcv of this namespace counts only what the client receives: the
server's ACKs.
"""

from __future__ import annotations

import socket
import time

import pytest

from kquictest import quic_testdriver as qt
from kquictest.netemlink import connected_across, netem_link
from kquictest.quicpair import Credentials
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.kquic_only("counts packets with kquic's QuicPktRcv MIB counter")]

MAX_ACK_DELAY = 0.2  # s, the server's transport parameter
NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN


def slow_acker(s: socket.socket) -> None:
    qt.set_tp(s, max_ack_delay=int(MAX_ACK_DELAY * 1e6))


def client_rcvd() -> int:
    return qt.snmp()["QuicPktRcv"]


def wait_for_ack(before: int, timeout: float = 5.0) -> float:
    """Seconds until the client received a packet."""
    t0 = time.monotonic()
    qt.wait_for(lambda: client_rcvd() > before, timeout, "an ACK from the server")
    return time.monotonic() - t0


def quiet(client: socket.socket) -> int:
    """Let the handshake's last ACKs pass; the count after them."""
    time.sleep(3 * MAX_ACK_DELAY)
    return client_rcvd()


def test_lone_packet_is_acked_after_max_ack_delay(creds: Credentials) -> None:
    with netem_link(1) as link, connected_across(link, creds, server_setup=slow_acker) as p:
        before = quiet(p.client)
        assert quic_sendmsg(p.client, b"x", 0, NEW_FIN) == 1
        waited = wait_for_ack(before)
        assert 0.75 * MAX_ACK_DELAY <= waited < 5 * MAX_ACK_DELAY, waited


def test_second_packet_is_acked_at_once(creds: Credentials) -> None:
    with netem_link(1) as link, connected_across(link, creds, server_setup=slow_acker) as p:
        before = quiet(p.client)
        assert quic_sendmsg(p.client, b"x", 0, NEW_FIN) == 1
        assert quic_sendmsg(p.client, b"y", 4, NEW_FIN) == 1
        waited = wait_for_ack(before)
        assert waited < 0.5 * MAX_ACK_DELAY, waited
