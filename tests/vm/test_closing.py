"""The closing and draining periods (RFC 9000 10.2).

close() returns at once, but a connection that sent its CONNECTION_CLOSE
stays in the kernel for three probe timeouts (the socket file is gone):
a late packet from the peer, which may not have got the CONNECTION_CLOSE,
is answered with it again, so the peer learns the application's error code
instead of getting a stateless reset.  A connection the peer closed stays,
silent, until three probe timeouts after the peer's CONNECTION_CLOSE.
Then the connection goes.
"""

from __future__ import annotations

import socket
import time

import pytest

from kquictest import hostile
from kquictest import quic_testdriver as qt
from kquictest.netns import Netem, change_netem, netem
from kquictest.quicpair import WAIT, Credentials, listener, psk_handshake
from kquictest.streampair import recv_msg
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

pytestmark = pytest.mark.timeout(120)

DELAY = Netem(delay_ms=50)  # 100 ms round trips: a period of about a second


def test_late_packet_gets_the_close_again(creds: Credentials) -> None:
    with netem(DELAY), listener(socket.AF_INET, ["c"]) as lsk:
        baseline = hostile.quic_socket_count()
        p = psk_handshake(lsk, creds, client_alpns=["c"])
        try:
            quic_sendmsg(p.client, b"hello", 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
            assert recv_msg(p.server).data == b"hello"
            before = qt.snmp()
            # the server closes while everything it sends is lost
            change_netem(Netem(delay_ms=50, loss=100))
            qt.set_close_info(p.server, 42, b"bye")
            start = time.monotonic()
            p.server.close()
            assert time.monotonic() - start < 0.5, "close() does not wait"
            time.sleep(0.3)
            change_netem(DELAY)
            after = qt.snmp()
            assert after["QuicConnCloseLinger"] == before["QuicConnCloseLinger"] + 1
            # the client's next packet reaches the closing connection, which
            # sends its CONNECTION_CLOSE again: the client learns why
            quic_sendmsg(p.client, b"still there?", 4, MSG_QUIC_STREAM_NEW)
            p.client.settimeout(WAIT)
            assert p.client.recv(100) == b"", "the peer's close ends the connection"
            code, _frame, phrase = qt.close_info(p.client)
            assert (code, phrase) == (42, b"bye")
            assert qt.snmp().get("QuicPktResetSent", 0) == after.get("QuicPktResetSent", 0)
        finally:
            p.client.close()
        # and after its period the connection is gone
        qt.wait_for(lambda: hostile.quic_socket_count() <= baseline, 10,
                    "the closed connections to go")


def test_a_connection_closed_by_its_peer_drains() -> None:
    """RFC 9000 10.2.2: after the peer's CONNECTION_CLOSE the connection,
    even once close()d, stays for what is left of three probe timeouts and
    absorbs late packets without a word; only then does a late packet draw
    a stateless reset."""
    def resets() -> int:
        return qt.snmp().get("QuicPktResetSent", 0)

    late = b"\x01" + bytes(60)  # PING and PADDING: big enough for a reset
    with hostile.hostile_pair(delay_ms=100) as v:  # a period of about a second
        baseline = hostile.quic_socket_count()
        before = qt.snmp()
        v.peer.send(b"\x1c\x00\x00\x00")  # CONNECTION_CLOSE, NO_ERROR
        qt.wait_for(lambda: qt.state_of(v.server) == "CLOSED", 5, "the server to drain")
        v.server.close()
        closed_at = time.monotonic()
        after = qt.snmp()
        assert after["QuicConnCloseRcvd"] == before["QuicConnCloseRcvd"] + 1
        assert after["QuicConnCloseLinger"] == before["QuicConnCloseLinger"] + 1
        assert hostile.quic_socket_count() == baseline, "the draining connection went at once"
        v.peer.send(late)
        time.sleep(0.1)
        assert time.monotonic() - closed_at < 0.5, "too slow to test the period"
        now = qt.snmp()
        assert now["QuicPktSent"] == after["QuicPktSent"], "a draining connection sent"
        assert resets() == after.get("QuicPktResetSent", 0), "a late packet drew a reset"
        # the period ends: the connection is gone, and a late packet now
        # matches nothing and is answered with a stateless reset
        qt.wait_for(lambda: hostile.quic_socket_count() < baseline, 10,
                    "the drained connection to go")
        assert time.monotonic() - closed_at > 0.2, "no draining period"
        sent = resets()
        v.peer.send(late)
        qt.wait_for(lambda: resets() == sent + 1, 5, "a stateless reset after the period")


def test_draining_counts_from_the_peers_close(creds: Credentials) -> None:
    """The draining period runs from the peer's CONNECTION_CLOSE, not from
    close(): an application that closes later releases the connection at
    once."""
    with listener(socket.AF_INET, ["c"]) as lsk:
        before = qt.snmp()["QuicConnCloseLinger"]
        p = psk_handshake(lsk, creds, client_alpns=["c"])
        p.client.close()  # the client lingers: it sent the close
        p.server.settimeout(WAIT)
        assert p.server.recv(100) == b""
        time.sleep(3.5)  # longer than any period (at most 3 s)
        p.server.close()  # its draining period is over: released at once
        assert qt.snmp()["QuicConnCloseLinger"] == before + 1
